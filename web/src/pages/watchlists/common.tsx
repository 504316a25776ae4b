// Small pieces shared by the watch-list tabs: department picker, dates, errors.
import { useTranslation } from "react-i18next";
import { ApiError } from "../../api/client";
import type { Department } from "../../app/departments";

export function DepartmentPicker({
  departments,
  value,
  onChange,
}: {
  departments: Department[];
  value: string;
  onChange: (id: string) => void;
}) {
  const { t } = useTranslation();
  return (
    <label>
      {t("common.department")}
      <select value={value} onChange={(event) => onChange(event.target.value)}>
        {departments.map((d) => (
          <option key={d.id} value={d.id}>
            {d.name}
          </option>
        ))}
      </select>
    </label>
  );
}

export function useDate(): (iso: string | null | undefined) => string {
  const { i18n } = useTranslation();
  const format = new Intl.DateTimeFormat(i18n.language, { dateStyle: "medium", timeStyle: "short" });
  return (iso) => (iso ? format.format(new Date(iso)) : "—");
}

export function ErrorLine({ error }: { error: unknown }) {
  const { t } = useTranslation();
  if (!error) return null;
  const detail = error instanceof ApiError ? `${error.detail} (${error.code})` : String(error);
  return (
    <p role="alert" className="error">
      {t("common.error", { detail })}
    </p>
  );
}

/** A datetime-local input's value (local time) as an ISO string with the time zone. */
export function localToIso(value: string): string | null {
  return value ? new Date(value).toISOString() : null;
}

export function daysFromNow(days: number): string {
  const when = new Date(Date.now() + days * 86_400_000);
  when.setSeconds(0, 0);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}T${pad(when.getHours())}:${pad(when.getMinutes())}`;
}
