// Shared helpers of the alert inbox: ordering, permission in an alert's department, and
// dates and numbers formatted with Intl in the current language.
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import type { Schemas } from "../../api/client";
import type { Me } from "../../app/auth";
import type { AlertSummary } from "../../app/live";

export type Alert = Schemas["AlertOut"];
export type AlertDetail = Schemas["AlertDetail"];
export type AnyAlert = AlertSummary | Alert;

export const SEVERITIES = ["critical", "high", "medium", "low", "info"] as const;
export const STATES = ["new", "acknowledged", "dispatched", "resolved", "false"] as const;
export const OPEN_STATES: readonly string[] = ["new", "acknowledged", "dispatched"];
export const KINDS = [
  "sos",
  "tamper",
  "low_battery",
  "device_offline_on_shift",
  "geofence_enter",
  "geofence_exit",
  "ledger_fork",
  "watchlist_plate",
  "watchlist_face",
  "behaviour_cue",
  "keyword",
] as const;

/** The actions a person may take, and the states each is valid from (docs/alerts.md). */
export const ACTIONS: Record<string, readonly string[]> = {
  acknowledge: ["new"],
  dispatch: ["new", "acknowledged"],
  resolve: OPEN_STATES,
  false_alarm: OPEN_STATES,
};

export function severityRank(severity: string): number {
  const index = (SEVERITIES as readonly string[]).indexOf(severity);
  return index < 0 ? SEVERITIES.length : index;
}

/** Most severe first, then the newest (last occurrence). */
export function bySeverityThenNewest(a: AnyAlert, b: AnyAlert): number {
  return (
    severityRank(a.severity) - severityRank(b.severity) ||
    b.last_occurred_at.localeCompare(a.last_occurred_at) ||
    a.id.localeCompare(b.id)
  );
}

/** Whether `me` holds `permission` in the alert's department (platform-wide: anywhere). */
export function mayIn(me: Me | null, permission: string, departmentId: string | null): boolean {
  if (!me) return false;
  if (me.platform_admin) return true;
  return me.departments.some(
    (d) =>
      (departmentId === null || d.department_id === departmentId) &&
      (d.permissions as string[]).includes(permission),
  );
}

export function useFormat() {
  const { i18n } = useTranslation();
  const language = i18n.language;
  return useMemo(() => {
    const dateTime = new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "medium" });
    const time = new Intl.DateTimeFormat(language, { timeStyle: "medium" });
    const number = new Intl.NumberFormat(language);
    const percent = new Intl.NumberFormat(language, { style: "percent", maximumFractionDigits: 1 });
    const coordinate = new Intl.NumberFormat(language, { maximumFractionDigits: 5 });
    return {
      dateTime: (iso: string | null | undefined) => (iso ? dateTime.format(new Date(iso)) : "—"),
      time: (iso: string) => time.format(new Date(iso)),
      number: (n: number) => number.format(n),
      percent: (n: number) => percent.format(n),
      coordinate: (n: number) => coordinate.format(n),
    };
  }, [language]);
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}
