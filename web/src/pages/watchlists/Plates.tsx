// Plate watch lists of a department: the lists, a new list, CSV import; a list's entries
// (add with reason and expiry, take off) and each entry's hits (findings, linked to the
// evidence at their time).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, Route, Routes, useParams } from "react-router-dom";
import { api, fetchRaw, unwrap, type Schemas } from "../../api/client";
import { useAuth } from "../../app/auth";
import { useDepartmentsWith } from "../../app/departments";
import { DepartmentPicker, ErrorLine, useDate } from "./common";
import { PlateListDetail } from "./PlateListDetail";

type ListKind = Schemas["ListCreate"]["kind"];
const KINDS: ListKind[] = ["stolen", "wanted", "unpaid_violation"];

export function Plates() {
  return (
    <Routes>
      <Route index element={<PlateLists />} />
      <Route path=":listId" element={<PlateListRoute />} />
    </Routes>
  );
}

function PlateListRoute() {
  const { listId = "" } = useParams();
  return <PlateListDetail listId={listId} />;
}

function PlateLists() {
  const { t } = useTranslation("watchlists");
  const { can } = useAuth();
  const departments = useDepartmentsWith("watchlists:read");
  const [department, setDepartment] = useState("");
  const departmentId = department || departments[0]?.id || "";
  const date = useDate();
  const lists = useQuery({
    queryKey: ["watchlists", "plates", departmentId],
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/watchlists/plates", { params: { query: { department_id: departmentId } } }))
        .items,
    enabled: departmentId !== "",
  });
  return (
    <div>
      <div className="toolbar">
        <DepartmentPicker departments={departments} value={departmentId} onChange={setDepartment} />
      </div>
      <ErrorLine error={lists.error} />
      <table aria-label={t("plates.lists")}>
        <thead>
          <tr>
            <th scope="col">{t("plates.name")}</th>
            <th scope="col">{t("plates.kind")}</th>
            <th scope="col">{t("plates.activeEntries")}</th>
            <th scope="col">{t("plates.created")}</th>
          </tr>
        </thead>
        <tbody>
          {(lists.data ?? []).map((list) => (
            <tr key={list.id}>
              <td>
                <Link to={`/watchlists/plates/${list.id}`}>{list.name}</Link>
                {list.description ? <div className="muted">{list.description}</div> : null}
              </td>
              <td>{t(`kinds.${list.kind}`)}</td>
              <td>{list.active_entries ?? 0}</td>
              <td>{date(list.created_at)}</td>
            </tr>
          ))}
          {lists.data?.length === 0 ? (
            <tr>
              <td colSpan={4} className="muted">
                {t("plates.noLists")}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      {can("watchlists:manage") && departmentId ? (
        <div className="watchlists-forms">
          <NewList departmentId={departmentId} />
          <ImportCsv departmentId={departmentId} />
        </div>
      ) : null}
    </div>
  );
}

function NewList({ departmentId }: { departmentId: string }) {
  const { t } = useTranslation("watchlists");
  const queries = useQueryClient();
  const [name, setName] = useState("");
  const [kind, setKind] = useState<ListKind>("stolen");
  const [description, setDescription] = useState("");
  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/watchlists/plates", {
          body: { department_id: departmentId, name, kind, description },
        }),
      ),
    onSuccess: () => {
      setName("");
      setDescription("");
      void queries.invalidateQueries({ queryKey: ["watchlists", "plates"] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <form className="panel inline" onSubmit={submit} aria-label={t("plates.newList")}>
      <h2>{t("plates.newList")}</h2>
      <label>
        {t("plates.name")}
        <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={80} />
      </label>
      <label>
        {t("plates.kind")}
        <select value={kind} onChange={(e) => setKind(e.target.value as ListKind)}>
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {t(`kinds.${k}`)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("plates.description")}
        <input value={description} onChange={(e) => setDescription(e.target.value)} maxLength={2000} />
      </label>
      <button type="submit" disabled={create.isPending}>
        {t("plates.create")}
      </button>
      <ErrorLine error={create.error} />
    </form>
  );
}

function ImportCsv({ departmentId }: { departmentId: string }) {
  const { t } = useTranslation("watchlists");
  const queries = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const upload = useMutation({
    mutationFn: async () => {
      const body = await file!.text();
      const answer = await fetchRaw(
        `/api/v1/watchlists/plates/import?department_id=${encodeURIComponent(departmentId)}`,
        { method: "POST", body, headers: { "Content-Type": "text/csv" } },
      );
      return (await answer.json()) as Schemas["ImportOut"];
    },
    onSuccess: () => void queries.invalidateQueries({ queryKey: ["watchlists", "plates"] }),
  });
  return (
    <form
      className="panel inline"
      aria-label={t("import.title")}
      onSubmit={(event) => {
        event.preventDefault();
        if (file) upload.mutate();
      }}
    >
      <h2>{t("import.title")}</h2>
      <p className="muted">{t("import.help")}</p>
      <label>
        {t("import.file")}
        <input type="file" accept=".csv,text/csv" onChange={(e) => setFile(e.target.files?.[0] ?? null)} required />
      </label>
      <button type="submit" disabled={!file || upload.isPending}>
        {t("import.submit")}
      </button>
      {upload.data ? (
        <p role="status" data-testid="import-result">
          {t("import.result", {
            lists: upload.data.lists_created,
            entries: upload.data.entries_added,
            duplicates: upload.data.duplicates_skipped,
          })}
        </p>
      ) : null}
      <ErrorLine error={upload.error} />
    </form>
  );
}
