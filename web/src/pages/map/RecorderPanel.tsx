// The selected recorder: its officer (open binding -> GET /officers/{id}), the live state
// (battery, signal, storage, last seen), its last events, and the actions the caller may
// take: open the live view on the wall, send a command.
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";
import { api, unwrap } from "../../api/client";
import { useAuth } from "../../app/auth";
import type { RecorderState } from "../../app/live";
import { CommandForm } from "./CommandForm";
import { formatters, type RecorderStatus } from "./status";

interface Props {
  state: RecorderState;
  status: RecorderStatus;
  onClose: () => void;
}

const EVENTS_SHOWN = 6;

function useRecorderDetails(recorderId: string, canOfficers: boolean) {
  const device = useQuery({
    queryKey: ["devices", recorderId],
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/devices/{recorder_id}", { params: { path: { recorder_id: recorderId } } })),
  });
  const officerId = device.data?.binding?.officer_id ?? null;
  const officer = useQuery({
    queryKey: ["officers", officerId],
    enabled: officerId !== null && canOfficers,
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/officers/{officer_id}", { params: { path: { officer_id: officerId ?? "" } } })),
    staleTime: 60_000,
  });
  const events = useQuery({
    queryKey: ["devices", recorderId, "events"],
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/devices/{recorder_id}/events", {
          params: { path: { recorder_id: recorderId }, query: { limit: EVENTS_SHOWN } },
        }),
      ),
    refetchInterval: 10_000,
  });
  return { device, officerId, officer, events };
}

export function RecorderPanel({ state, status, onClose }: Props) {
  const { t, i18n } = useTranslation("map");
  const { can } = useAuth();
  const format = formatters(i18n.language);
  const { device, officerId, officer, events } = useRecorderDetails(state.recorder_id, can("officers:read"));

  let officerText: string = t("panel.noOfficer");
  if (officer.data) officerText = `${officer.data.display_name} (${officer.data.badge_number})`;
  else if (officerId) officerText = t("panel.officerBound");
  else if (device.isLoading) officerText = t("panel.loading");

  return (
    <aside className="map-panel panel" aria-labelledby="recorder-heading" data-testid="recorder-panel">
      <div className="map-panel-head">
        <h2 id="recorder-heading">{state.serial}</h2>
        <button type="button" className="secondary" onClick={onClose}>
          {t("panel.close")}
        </button>
      </div>
      <dl className="facts">
        <dt>{t("panel.status")}</dt>
        <dd>
          <span className={`legend-dot rec-${status}`} aria-hidden="true" /> {t(`status.${status}`)}
        </dd>
        <dt>{t("panel.officer")}</dt>
        <dd data-testid="panel-officer">{officerText}</dd>
        <dt>{t("panel.battery")}</dt>
        <dd data-testid="panel-battery">
          {state.battery_pct == null ? "—" : t("panel.percent", { value: format.number(state.battery_pct) })}
        </dd>
        <dt>{t("panel.signal")}</dt>
        <dd>{state.signal_dbm == null ? "—" : t("panel.dbm", { value: format.number(state.signal_dbm) })}</dd>
        <dt>{t("panel.storage")}</dt>
        <dd>
          {state.storage_free_mb == null ? "—" : t("panel.megabytes", { value: format.number(state.storage_free_mb) })}
        </dd>
        <dt>{t("panel.lastSeen")}</dt>
        <dd>{format.date(state.last_seen_at)}</dd>
        <dt>{t("panel.position")}</dt>
        <dd>
          {state.lat == null || state.lon == null
            ? "—"
            : `${format.coordinate(state.lat)}, ${format.coordinate(state.lon)}`}
        </dd>
      </dl>
      {device.error ? (
        <p role="alert" className="error">
          {t("panel.loadFailed")}
        </p>
      ) : null}
      <h3>{t("panel.events")}</h3>
      {events.data && events.data.items.length > 0 ? (
        <ol className="map-events" data-testid="panel-events">
          {events.data.items.map((event) => (
            <li key={event.id}>
              <span>{t(`events.${event.kind}`, { defaultValue: event.kind })}</span>{" "}
              <time dateTime={event.at} className="muted">
                {format.date(event.at)}
              </time>
            </li>
          ))}
        </ol>
      ) : (
        <p className="muted">{events.isLoading ? t("panel.loading") : t("panel.noEvents")}</p>
      )}
      <div className="toolbar">
        {can("media:live") ? (
          <Link className="button" to={`/wall?recorder=${encodeURIComponent(state.recorder_id)}`}>
            {t("panel.openLive")}
          </Link>
        ) : null}
      </div>
      {can("devices:command") ? <CommandForm key={state.recorder_id} recorderId={state.recorder_id} /> : null}
    </aside>
  );
}
