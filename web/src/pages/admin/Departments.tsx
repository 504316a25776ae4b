// Departments: list, create (platform admins), edit name / Chinese name / kind / whether
// playback needs a reason (departments:manage in that department).
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap, type Schemas } from "../../api/client";
import { useAuth } from "../../app/auth";
import { ErrorLine, useDepartments, type Department } from "./shared";

const KINDS: Schemas["DepartmentKind"][] = [
  "public_security",
  "traffic_police",
  "urban_management",
  "emergency_management",
  "other",
];

interface Fields {
  name: string;
  name_zh: string;
  kind: Schemas["DepartmentKind"];
  reason: boolean;
}

function DepartmentFields({ value, onChange }: { value: Fields; onChange: (v: Fields) => void }) {
  const { t } = useTranslation("admin");
  return (
    <>
      <label>
        {t("departments.name")}
        <input
          value={value.name}
          required
          onChange={(e) => onChange({ ...value, name: e.target.value })}
        />
      </label>
      <label>
        {t("departments.nameZh")}
        <input value={value.name_zh} onChange={(e) => onChange({ ...value, name_zh: e.target.value })} />
      </label>
      <label>
        {t("departments.kind")}
        <select
          value={value.kind}
          onChange={(e) => onChange({ ...value, kind: e.target.value as Fields["kind"] })}
        >
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {t(`kind.${k}`)}
            </option>
          ))}
        </select>
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={value.reason}
          onChange={(e) => onChange({ ...value, reason: e.target.checked })}
        />
        {t("departments.reasonRequired")}
      </label>
    </>
  );
}

function EditRow({ department, onDone }: { department: Department; onDone: () => void }) {
  const { t } = useTranslation("admin");
  const queries = useQueryClient();
  const [value, setValue] = useState<Fields>({
    name: department.name,
    name_zh: department.name_zh ?? "",
    kind: department.kind,
    reason: department.reason_required_for_playback,
  });
  const save = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.PATCH("/api/v1/departments/{department_id}", {
          params: { path: { department_id: department.id } },
          body: {
            name: value.name,
            name_zh: value.name_zh || null,
            kind: value.kind,
            reason_required_for_playback: value.reason,
          },
        }),
      ),
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: ["admin", "departments"] });
      onDone();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  return (
    <tr>
      <td>{department.code}</td>
      <td colSpan={4}>
        <form className="inline" onSubmit={submit} aria-label={t("departments.edit", { code: department.code })}>
          <DepartmentFields value={value} onChange={setValue} />
          <button type="submit" disabled={save.isPending}>
            {t("common:common.save")}
          </button>
          <button type="button" className="secondary" onClick={onDone}>
            {t("common:common.cancel")}
          </button>
        </form>
        <ErrorLine error={save.error} />
      </td>
    </tr>
  );
}

function CreateDepartment() {
  const { t } = useTranslation("admin");
  const queries = useQueryClient();
  const [code, setCode] = useState("");
  const [value, setValue] = useState<Fields>({ name: "", name_zh: "", kind: "other", reason: false });
  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/departments", {
          body: {
            code,
            name: value.name,
            name_zh: value.name_zh || null,
            kind: value.kind,
            reason_required_for_playback: value.reason,
          },
        }),
      ),
    onSuccess: () => {
      setCode("");
      setValue({ name: "", name_zh: "", kind: "other", reason: false });
      void queries.invalidateQueries({ queryKey: ["admin", "departments"] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <section className="panel" aria-labelledby="department-create">
      <h2 id="department-create">{t("departments.create")}</h2>
      <form className="inline" onSubmit={submit}>
        <label>
          {t("departments.code")}
          <input value={code} required pattern="[a-z0-9-]+" onChange={(e) => setCode(e.target.value)} />
        </label>
        <DepartmentFields value={value} onChange={setValue} />
        <button type="submit" disabled={create.isPending}>
          {t("departments.createButton")}
        </button>
      </form>
      <ErrorLine error={create.error} />
    </section>
  );
}

export default function Departments() {
  const { t } = useTranslation("admin");
  const { me } = useAuth();
  const list = useDepartments();
  const [editing, setEditing] = useState<string | null>(null);
  return (
    <div>
      {me?.platform_admin ? <CreateDepartment /> : null}
      <ErrorLine error={list.error} />
      <table aria-label={t("tab.departments")}>
        <thead>
          <tr>
            <th scope="col">{t("departments.code")}</th>
            <th scope="col">{t("departments.name")}</th>
            <th scope="col">{t("departments.nameZh")}</th>
            <th scope="col">{t("departments.kind")}</th>
            <th scope="col">{t("actions")}</th>
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((d) =>
            editing === d.id ? (
              <EditRow key={d.id} department={d} onDone={() => setEditing(null)} />
            ) : (
              <tr key={d.id}>
                <td>{d.code}</td>
                <td>{d.name}</td>
                <td lang="zh-CN">{d.name_zh ?? "—"}</td>
                <td>
                  {t(`kind.${d.kind}`)}
                  {d.reason_required_for_playback ? (
                    <span className="pill">{t("departments.reasonRequired")}</span>
                  ) : null}
                </td>
                <td>
                  <button
                    type="button"
                    className="secondary"
                    aria-label={t("departments.edit", { code: d.code })}
                    onClick={() => setEditing(d.id)}
                  >
                    {t("common:common.edit")}
                  </button>
                </td>
              </tr>
            ),
          )}
        </tbody>
      </table>
    </div>
  );
}
