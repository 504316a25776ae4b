// The side list for keyboard users: the legend of colours and every recorder as a button;
// choosing one is the same as clicking its marker.
import { useTranslation } from "react-i18next";
import type { MapRecorder } from "./MapView";
import { formatters, STATUSES } from "./status";

interface Props {
  recorders: MapRecorder[];
  selectedId: string | null;
  onSelect: (recorderId: string) => void;
}

export function RecorderList({ recorders, selectedId, onSelect }: Props) {
  const { t, i18n } = useTranslation("map");
  const format = formatters(i18n.language);
  return (
    <section className="map-list panel" aria-labelledby="recorders-heading">
      <h2 id="recorders-heading">{t("list.title", { count: recorders.length })}</h2>
      <ul className="map-legend" aria-label={t("legend")}>
        {STATUSES.map((status) => (
          <li key={status}>
            <span className={`legend-dot rec-${status}`} aria-hidden="true" /> {t(`status.${status}`)}
          </li>
        ))}
      </ul>
      {recorders.length === 0 ? <p className="muted">{t("list.empty")}</p> : null}
      <ul className="map-recorders" data-testid="recorder-list">
        {recorders.map(({ state, status }) => (
          <li key={state.recorder_id}>
            <button
              type="button"
              className="map-recorder"
              aria-pressed={state.recorder_id === selectedId}
              onClick={() => onSelect(state.recorder_id)}
              data-testid={`recorder-${state.serial}`}
              data-recorder-id={state.recorder_id}
              data-status={status}
              data-lat={state.lat ?? ""}
              data-lon={state.lon ?? ""}
            >
              <span className={`legend-dot rec-${status}`} aria-hidden="true" />
              <span className="map-recorder-serial">{state.serial}</span>
              <span className="map-recorder-meta">
                {t(`status.${status}`)}
                {state.battery_pct == null ? "" : ` · ${t("panel.percent", { value: format.number(state.battery_pct) })}`}
              </span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
