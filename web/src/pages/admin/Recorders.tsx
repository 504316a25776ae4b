// Recorders: filter (department, state, online, serial prefix), register, and per recorder
// the enrollment code, officer binding and credential revocation (RecorderRow).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap, type Schemas } from "../../api/client";
import { RecorderRow } from "./RecorderRow";
import { DepartmentSelect, ErrorLine } from "./shared";

const PAGE = 100;

function RegisterRecorder() {
  const { t } = useTranslation("admin");
  const queries = useQueryClient();
  const [serial, setSerial] = useState("");
  const [department, setDepartment] = useState("");
  const [model, setModel] = useState("");
  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/devices", {
          body: { serial, department_id: department, model: model || null },
        }),
      ),
    onSuccess: () => {
      setSerial("");
      setModel("");
      void queries.invalidateQueries({ queryKey: ["admin", "recorders"] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <section className="panel" aria-labelledby="recorder-create">
      <h2 id="recorder-create">{t("recorders.register")}</h2>
      <form className="inline" onSubmit={submit}>
        <label>
          {t("recorders.serial")}
          <input value={serial} required pattern="[A-Za-z0-9._\-]+" onChange={(e) => setSerial(e.target.value)} />
        </label>
        <DepartmentSelect label={t("users.department")} value={department} onChange={setDepartment} />
        <label>
          {t("recorders.model")}
          <input value={model} onChange={(e) => setModel(e.target.value)} />
        </label>
        <button type="submit" disabled={!department || create.isPending}>
          {t("recorders.registerButton")}
        </button>
      </form>
      <ErrorLine error={create.error} />
    </section>
  );
}

export default function Recorders() {
  const { t } = useTranslation("admin");
  const [department, setDepartment] = useState("");
  const [state, setState] = useState<"" | Schemas["RecorderState"]>("active");
  const [online, setOnline] = useState("");
  const [q, setQ] = useState("");
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const query = {
    limit: PAGE,
    ...(department ? { department_id: department } : {}),
    ...(state ? { state } : {}),
    ...(online ? { online: online === "yes" } : {}),
    ...(q ? { q } : {}),
    ...(cursor ? { cursor } : {}),
  };
  const list = useQuery({
    queryKey: ["admin", "recorders", query],
    queryFn: async () => unwrap(await api.GET("/api/v1/devices", { params: { query } })),
  });
  const officers = useQuery({
    queryKey: ["admin", "officers", department],
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/officers", {
          params: { query: { limit: 200, active: true, ...(department ? { department_id: department } : {}) } },
        }),
      ).items,
  });
  const filter = (apply: () => void) => {
    apply();
    setCursors([null]);
  };
  return (
    <div>
      <RegisterRecorder />
      <form className="toolbar" role="search" aria-label={t("recorders.filters")} onSubmit={(e) => e.preventDefault()}>
        <DepartmentSelect
          label={t("users.department")}
          value={department}
          allowAll
          onChange={(v) => filter(() => setDepartment(v))}
        />
        <label>
          {t("recorders.stateLabel")}
          <select value={state} onChange={(e) => filter(() => setState(e.target.value as typeof state))}>
            <option value="">{t("any")}</option>
            <option value="active">{t("recorders.state.active")}</option>
            <option value="retired">{t("recorders.state.retired")}</option>
          </select>
        </label>
        <label>
          {t("recorders.connection")}
          <select value={online} onChange={(e) => filter(() => setOnline(e.target.value))}>
            <option value="">{t("any")}</option>
            <option value="yes">{t("recorders.online")}</option>
            <option value="no">{t("recorders.offline")}</option>
          </select>
        </label>
        <label>
          {t("recorders.serialPrefix")}
          <input type="search" value={q} onChange={(e) => filter(() => setQ(e.target.value))} />
        </label>
      </form>
      <ErrorLine error={list.error ?? officers.error} />
      <table aria-label={t("tab.recorders")}>
        <thead>
          <tr>
            <th scope="col">{t("recorders.serial")}</th>
            <th scope="col">{t("users.department")}</th>
            <th scope="col">{t("recorders.model")}</th>
            <th scope="col">{t("recorders.status")}</th>
            <th scope="col">{t("recorders.officer")}</th>
            <th scope="col">{t("actions")}</th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.items ?? []).map((r) => (
            <RecorderRow key={r.id} recorder={r} officers={officers.data ?? []} />
          ))}
        </tbody>
      </table>
      {list.data && list.data.items.length === 0 ? <p>{t("common:common.none")}</p> : null}
      <div className="toolbar pager">
        <button
          type="button"
          className="secondary"
          disabled={cursors.length < 2}
          onClick={() => setCursors(cursors.slice(0, -1))}
        >
          {t("common:common.previous")}
        </button>
        <button
          type="button"
          className="secondary"
          disabled={!list.data?.next_cursor}
          onClick={() => setCursors([...cursors, list.data?.next_cursor ?? null])}
        >
          {t("common:common.next")}
        </button>
      </div>
    </div>
  );
}
