// How the map colours a recorder: an open SOS or low-battery alert (or a battery under
// LOW_BATTERY_PCT) wins, then offline, then recording, then online.
import type { AlertSummary, RecorderState } from "../../app/live";

export type RecorderStatus = "alert" | "recording" | "online" | "offline";
export const STATUSES: RecorderStatus[] = ["recording", "online", "offline", "alert"];
export const LOW_BATTERY_PCT = 15;
const ALERTING_KINDS = new Set(["sos", "low_battery"]);

/** Recorders with an open SOS or low-battery alert. */
export function alertingRecorders(alerts: Map<string, AlertSummary>): Set<string> {
  const found = new Set<string>();
  for (const alert of alerts.values()) {
    if (alert.recorder_id && ALERTING_KINDS.has(alert.kind)) found.add(alert.recorder_id);
  }
  return found;
}

export function recorderStatus(state: RecorderState, alerting: Set<string>): RecorderStatus {
  const low = state.battery_pct != null && state.battery_pct < LOW_BATTERY_PCT;
  if (alerting.has(state.recorder_id) || low) return "alert";
  if (!state.online) return "offline";
  return state.recording ? "recording" : "online";
}

/** Dates and numbers in the console's current language. */
export function formatters(language: string) {
  const date = new Intl.DateTimeFormat(language, { dateStyle: "short", timeStyle: "medium" });
  const number = new Intl.NumberFormat(language, { maximumFractionDigits: 1 });
  const coordinate = new Intl.NumberFormat(language, {
    minimumFractionDigits: 5,
    maximumFractionDigits: 5,
  });
  return {
    date: (value: string | null | undefined) => (value ? date.format(new Date(value)) : "—"),
    number: (value: number | null | undefined) => (value == null ? "—" : number.format(value)),
    coordinate: (value: number) => coordinate.format(value),
  };
}
