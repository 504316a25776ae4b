// One alert (GET /api/v1/alerts/{id}): what, how bad, its state and times, the recorder and
// officer, the snapshot, evidence, location, matched watch-list entry, the actions and the
// event history. Refreshed whenever a live change of this alert arrives.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router-dom";
import { api, ApiError, unwrap } from "../../api/client";
import { useAuth } from "../../app/auth";
import { useLive } from "../../app/live";
import { AlertActions } from "./AlertActions";
import { AlertMiniMap, WatchlistMatch } from "./AlertContext";
import { shortId, useFormat, type AlertDetail } from "./format";

export function alertKey(id: string) {
  return ["alerts", "detail", id];
}

function Officer({ id }: { id: string }) {
  const { can } = useAuth();
  const officer = useQuery({
    queryKey: ["officers", id],
    queryFn: async () => unwrap(await api.GET("/api/v1/officers/{officer_id}", { params: { path: { officer_id: id } } })),
    enabled: can("officers:read"),
    staleTime: 300_000,
    retry: false,
  });
  if (!officer.data) return <span title={id}>{shortId(id)}</span>;
  return (
    <span>
      {officer.data.display_name} ({officer.data.badge_number})
    </span>
  );
}

function Facts({ alert }: { alert: AlertDetail }) {
  const { t } = useTranslation("alerts");
  const format = useFormat();
  const { recorders } = useLive();
  const recorder = alert.recorder_id ? recorders.get(alert.recorder_id) : undefined;
  return (
    <dl className="facts">
      <dt>{t("detail.kind")}</dt>
      <dd data-testid="alert-kind">{t(`kind.${alert.kind}`, { defaultValue: alert.kind })}</dd>
      <dt>{t("detail.severity")}</dt>
      <dd className={`severity-${alert.severity}`}>{t(`severity.${alert.severity}`)}</dd>
      <dt>{t("detail.state")}</dt>
      <dd data-testid="alert-state" data-state={alert.state}>
        {t(`state.${alert.state}`)}
      </dd>
      <dt>{t("detail.occurredAt")}</dt>
      <dd>{format.dateTime(alert.occurred_at)}</dd>
      <dt>{t("detail.lastOccurredAt")}</dt>
      <dd>{format.dateTime(alert.last_occurred_at)}</dd>
      <dt>{t("detail.occurrences")}</dt>
      <dd>{format.number(alert.occurrences)}</dd>
      <dt>{t("detail.recorder")}</dt>
      <dd>{alert.recorder_id ? <span title={alert.recorder_id}>{recorder?.serial ?? shortId(alert.recorder_id)}</span> : t("detail.nobody")}</dd>
      <dt>{t("detail.officer")}</dt>
      <dd>{alert.officer_id ? <Officer id={alert.officer_id} /> : t("detail.nobody")}</dd>
      <dt>{t("detail.evidence")}</dt>
      <dd>
        {alert.evidence_ids.length === 0 ? (
          t("detail.noEvidence")
        ) : (
          <ul className="plain">
            {alert.evidence_ids.map((id) => (
              <li key={id}>
                <Link to={`/evidence/${id}`} data-testid="alert-evidence-link">
                  {t("detail.openEvidence", { id: shortId(id) })}
                </Link>
              </li>
            ))}
          </ul>
        )}
      </dd>
    </dl>
  );
}

function History({ alert }: { alert: AlertDetail }) {
  const { t } = useTranslation("alerts");
  const format = useFormat();
  const { me } = useAuth();
  const actor = (id: string | null) => {
    if (id === null) return t("history.system");
    if (id === me?.user.id) return me.user.display_name || me.user.username;
    return shortId(id);
  };
  return (
    <section aria-labelledby="alert-history">
      <h3 id="alert-history">{t("history.title")}</h3>
      <table className="compact" data-testid="alert-history">
        <thead>
          <tr>
            <th scope="col">{t("history.when")}</th>
            <th scope="col">{t("history.action")}</th>
            <th scope="col">{t("history.by")}</th>
            <th scope="col">{t("history.note")}</th>
          </tr>
        </thead>
        <tbody>
          {alert.events.map((event) => (
            <tr key={event.id} data-action={event.action}>
              <td>
                <time dateTime={event.at}>{format.dateTime(event.at)}</time>
              </td>
              <td>
                {t(`history.actions.${event.action}`, { defaultValue: event.action })}
                {event.from_state && event.from_state !== event.to_state ? (
                  <span className="muted small">
                    {" "}
                    ({t(`state.${event.from_state}`)} → {t(`state.${event.to_state}`)})
                  </span>
                ) : null}
              </td>
              <td>{actor(event.actor_user_id)}</td>
              <td>{event.note ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function AlertDetailPanel() {
  const { t } = useTranslation("alerts");
  const { alertId = "" } = useParams();
  const queries = useQueryClient();
  const { onAlert } = useLive();
  const detail = useQuery({
    queryKey: alertKey(alertId),
    queryFn: async () => unwrap(await api.GET("/api/v1/alerts/{alert_id}", { params: { path: { alert_id: alertId } } })),
    retry: false,
  });
  useEffect(
    () =>
      onAlert(({ alert }) => {
        if (alert.id === alertId) void queries.invalidateQueries({ queryKey: alertKey(alertId) });
      }),
    [onAlert, queries, alertId],
  );

  if (detail.isLoading) {
    return (
      <section className="panel alert-detail" aria-label={t("detail.label")}>
        <p className="muted">{t("list.loading")}</p>
      </section>
    );
  }
  if (detail.error || !detail.data) {
    const error = detail.error;
    return (
      <section className="panel alert-detail" aria-label={t("detail.label")}>
        <p role="alert" className="error">
          {error instanceof ApiError && error.status === 404
            ? t("detail.notFound")
            : t("detail.failed", { detail: error instanceof ApiError ? error.detail : String(error) })}
        </p>
      </section>
    );
  }
  const alert = detail.data;
  return (
    <section className="panel alert-detail" aria-labelledby="alert-title" data-testid="alert-detail" data-alert-id={alert.id}>
      <h2 id="alert-title">{alert.title}</h2>
      <div className="alert-detail-top">
        <Facts alert={alert} />
        {alert.snapshot_sha256 ? (
          <figure className="alert-snapshot">
            <img
              src={`/api/v1/alerts/${alert.id}/snapshot`}
              alt={t("detail.snapshotAlt", { title: alert.title })}
              data-testid="alert-snapshot"
            />
            <figcaption className="muted small">{t("detail.snapshot")}</figcaption>
          </figure>
        ) : null}
      </div>
      <AlertActions alert={alert} />
      <WatchlistMatch alert={alert} />
      <AlertMiniMap alert={alert} />
      <History alert={alert} />
    </section>
  );
}
