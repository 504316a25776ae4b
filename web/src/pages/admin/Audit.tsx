// Audit log viewer: filters (actor, action, object, outcome, time range), cursor pages, and
// the server's CSV export of the same filters (GET /audit/events.csv, itself audited).
import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, fetchRaw, unwrap, type Schemas } from "../../api/client";
import { useAuth } from "../../app/auth";
import { ErrorLine, useDepartmentName, useFormat } from "./shared";

type Outcome = Schemas["Outcome"];
const OUTCOMES: Outcome[] = ["success", "failure", "denied"];
const PAGE = 50;

interface Filters {
  actor: string;
  action: string;
  objectType: string;
  objectId: string;
  outcome: "" | Outcome;
  since: string;
  until: string;
}

const EMPTY: Filters = { actor: "", action: "", objectType: "", objectId: "", outcome: "", since: "", until: "" };

/** The API's query for these filters (datetime-local values are the browser's local time). */
function toQuery(filters: Filters): Record<string, string> {
  const query: Record<string, string> = {};
  if (filters.actor) query["actor_user_id"] = filters.actor;
  if (filters.action) query["action_prefix"] = filters.action;
  if (filters.objectType) query["object_type"] = filters.objectType;
  if (filters.objectId) query["object_id"] = filters.objectId;
  if (filters.outcome) query["outcome"] = filters.outcome;
  if (filters.since) query["since"] = new Date(filters.since).toISOString();
  if (filters.until) query["until"] = new Date(filters.until).toISOString();
  return query;
}

function useActors() {
  const { can } = useAuth();
  return useQuery({
    queryKey: ["admin", "users", "actors"],
    enabled: can("users:read"),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/users", { params: { query: { limit: 200 } } })).items,
  });
}

export default function Audit() {
  const { t } = useTranslation("admin");
  const format = useFormat();
  const departmentName = useDepartmentName();
  const { can } = useAuth();
  const actors = useActors();
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [exportError, setExportError] = useState<unknown>(null);
  const [exporting, setExporting] = useState(false);
  const cursor = cursors[cursors.length - 1] ?? null;
  const page = useQuery({
    queryKey: ["admin", "audit", filters, cursor],
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/audit/events", {
          params: { query: { ...toQuery(filters), limit: PAGE, ...(cursor ? { cursor } : {}) } },
        }),
      ),
  });
  const actorName = (id: string | null) => {
    if (!id) return "—";
    return actors.data?.find((u) => u.id === id)?.username ?? id.slice(0, 8);
  };
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilters(draft);
    setCursors([null]);
  };
  const exportCsv = async () => {
    setExportError(null);
    setExporting(true);
    try {
      const response = await fetchRaw(
        `/api/v1/audit/events.csv?${new URLSearchParams(toQuery(filters)).toString()}`,
      );
      const url = URL.createObjectURL(await response.blob());
      const link = document.createElement("a");
      link.href = url;
      link.download = `audit-events-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, "")}.csv`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      setExportError(error);
    } finally {
      setExporting(false);
    }
  };
  const field = (key: keyof Filters) => ({
    value: draft[key],
    onChange: (e: { target: { value: string } }) => setDraft({ ...draft, [key]: e.target.value }),
  });
  return (
    <div>
      <form className="toolbar panel" role="search" aria-label={t("audit.filters")} onSubmit={apply}>
        <label>
          {t("audit.actor")}
          {can("users:read") ? (
            <select {...field("actor")}>
              <option value="">{t("any")}</option>
              {(actors.data ?? []).map((u) => (
                <option key={u.id} value={u.id}>
                  {u.username}
                </option>
              ))}
            </select>
          ) : (
            <input {...field("actor")} placeholder={t("audit.actorId")} />
          )}
        </label>
        <label>
          {t("audit.action")}
          <input {...field("action")} placeholder="evidence." />
        </label>
        <label>
          {t("audit.objectType")}
          <input {...field("objectType")} />
        </label>
        <label>
          {t("audit.objectId")}
          <input {...field("objectId")} />
        </label>
        <label>
          {t("audit.outcome")}
          <select {...field("outcome")}>
            <option value="">{t("any")}</option>
            {OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {t(`audit.outcomes.${o}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("audit.since")}
          <input type="datetime-local" {...field("since")} />
        </label>
        <label>
          {t("audit.until")}
          <input type="datetime-local" {...field("until")} />
        </label>
        <button type="submit">{t("audit.apply")}</button>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setDraft(EMPTY);
            setFilters(EMPTY);
            setCursors([null]);
          }}
        >
          {t("audit.clear")}
        </button>
        <button type="button" className="secondary" disabled={exporting} onClick={() => void exportCsv()}>
          {t("audit.export")}
        </button>
      </form>
      <ErrorLine error={page.error ?? exportError} />
      <table aria-label={t("tab.audit")} className="audit">
        <thead>
          <tr>
            <th scope="col">{t("audit.when")}</th>
            <th scope="col">{t("audit.actor")}</th>
            <th scope="col">{t("audit.action")}</th>
            <th scope="col">{t("audit.object")}</th>
            <th scope="col">{t("audit.outcome")}</th>
            <th scope="col">{t("users.department")}</th>
            <th scope="col">{t("audit.details")}</th>
          </tr>
        </thead>
        <tbody>
          {(page.data?.items ?? []).map((e) => (
            <tr key={e.id} data-testid="audit-row">
              <td>{format.date(e.occurred_at)}</td>
              <td>{e.actor_kind === "user" ? actorName(e.actor_user_id) : e.actor_kind}</td>
              <td>
                <code>{e.action}</code>
              </td>
              <td>
                {e.object_type ?? "—"}
                {e.object_id ? <small className="muted"> {e.object_id}</small> : null}
              </td>
              <td className={`outcome-${e.outcome}`}>{t(`audit.outcomes.${e.outcome}`, e.outcome)}</td>
              <td>{e.department_id ? departmentName(e.department_id) : "—"}</td>
              <td className="details">
                {e.reason ? <div>{e.reason}</div> : null}
                {Object.keys(e.details).length > 0 ? <code>{JSON.stringify(e.details)}</code> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {page.data && page.data.items.length === 0 ? <p>{t("common:common.none")}</p> : null}
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
          disabled={!page.data?.next_cursor}
          onClick={() => setCursors([...cursors, page.data?.next_cursor ?? null])}
        >
          {t("common:common.next")}
        </button>
      </div>
    </div>
  );
}
