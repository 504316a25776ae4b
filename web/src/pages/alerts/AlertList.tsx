// The list of alerts: the open ones live (useLive().alerts, most severe then newest first)
// or the history (GET /api/v1/alerts with the filters, newest first, paged by cursor and
// refreshed when a live change arrives).
import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router-dom";
import { api, ApiError, unwrap } from "../../api/client";
import { useLive } from "../../app/live";
import { bySeverityThenNewest, OPEN_STATES, useFormat, type AnyAlert } from "./format";

export interface Filters {
  view: "open" | "history";
  state: string;
  kind: string;
  severity: string;
  department: string;
}

const PAGE = 50;

function matches(alert: AnyAlert, filters: Filters): boolean {
  return (
    (!filters.state || alert.state === filters.state) &&
    (!filters.kind || alert.kind === filters.kind) &&
    (!filters.severity || alert.severity === filters.severity) &&
    (!filters.department || alert.department_id === filters.department)
  );
}

function useHistory(filters: Filters) {
  const queries = useQueryClient();
  const { onAlert } = useLive();
  useEffect(() => onAlert(() => void queries.invalidateQueries({ queryKey: ["alerts", "history"] })), [onAlert, queries]);
  return useInfiniteQuery({
    queryKey: ["alerts", "history", filters.state, filters.kind, filters.severity, filters.department],
    enabled: filters.view === "history",
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) =>
      unwrap(
        await api.GET("/api/v1/alerts", {
          params: {
            query: {
              state: (filters.state || undefined) as never,
              kind: filters.kind || undefined,
              severity: (filters.severity || undefined) as never,
              department_id: filters.department || undefined,
              cursor: pageParam,
              limit: PAGE,
            },
          },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

function Row({ alert, selected }: { alert: AnyAlert; selected: boolean }) {
  const { t } = useTranslation("alerts");
  const format = useFormat();
  return (
    <tr
      className={`alert-row state-${alert.state}${selected ? " selected" : ""}`}
      data-testid={`alert-row-${alert.id}`}
      data-kind={alert.kind}
      data-state={alert.state}
    >
      <td>
        <span className={`severity-${alert.severity}`}>{t(`severity.${alert.severity}`)}</span>
      </td>
      <td>
        <Link to={`/alerts/${alert.id}`} aria-current={selected ? "true" : undefined}>
          {alert.title}
        </Link>
        <div className="muted small">{t(`kind.${alert.kind}`, { defaultValue: alert.kind })}</div>
      </td>
      <td>
        <span className={`pill state-pill state-${alert.state}`}>{t(`state.${alert.state}`)}</span>
      </td>
      <td>
        <time dateTime={alert.last_occurred_at}>{format.dateTime(alert.last_occurred_at)}</time>
        {alert.occurrences > 1 ? (
          <div className="muted small">{t("list.occurrences", { count: alert.occurrences, n: format.number(alert.occurrences) })}</div>
        ) : null}
      </td>
    </tr>
  );
}

export function AlertList({ filters }: { filters: Filters }) {
  const { t } = useTranslation("alerts");
  const { alertId } = useParams();
  const live = useLive();
  const history = useHistory(filters);
  const rows: AnyAlert[] = useMemo(() => {
    if (filters.view === "history") return history.data?.pages.flatMap((page) => page.items) ?? [];
    return [...live.alerts.values()].filter((a) => OPEN_STATES.includes(a.state) && matches(a, filters)).sort(bySeverityThenNewest);
  }, [filters, history.data, live.alerts]);

  return (
    <section className="panel alert-list" aria-label={t("list.label")} data-testid="alert-list" data-view={filters.view}>
      {history.error ? (
        <p role="alert" className="error">
          {t("list.failed", { detail: history.error instanceof ApiError ? history.error.detail : String(history.error) })}
        </p>
      ) : null}
      {filters.view === "history" && history.isLoading ? <p className="muted">{t("list.loading")}</p> : null}
      {rows.length === 0 && !(filters.view === "history" && history.isLoading) ? (
        <p className="muted">{filters.view === "open" ? t("list.noneOpen") : t("list.none")}</p>
      ) : (
        <table>
          <caption className="sr-only">{filters.view === "open" ? t("filters.open") : t("filters.history")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("list.severity")}</th>
              <th scope="col">{t("list.alert")}</th>
              <th scope="col">{t("list.state")}</th>
              <th scope="col">{t("list.when")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((alert) => (
              <Row key={alert.id} alert={alert} selected={alert.id === alertId} />
            ))}
          </tbody>
        </table>
      )}
      {filters.view === "history" && history.hasNextPage ? (
        <button type="button" className="secondary" disabled={history.isFetchingNextPage} onClick={() => void history.fetchNextPage()}>
          {t("list.more")}
        </button>
      ) : null}
    </section>
  );
}
