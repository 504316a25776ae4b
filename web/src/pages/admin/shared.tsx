// Building blocks shared by the administration tabs: departments and users lists (cached),
// error text, dates and numbers through Intl in the current language.
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { ApiError, api, unwrap, type Schemas } from "../../api/client";

export type Department = Schemas["DepartmentOut"];
export type User = Schemas["UserOut"];

export const ROLES: Schemas["Role"][] = [
  "officer",
  "operator",
  "investigator",
  "department_admin",
  "auditor",
  "platform_admin",
];
export const CLEARANCES = ["public", "internal", "sensitive", "secret"] as const;

export function useDepartments() {
  return useQuery({
    queryKey: ["admin", "departments"],
    queryFn: async () => unwrap(await api.GET("/api/v1/departments")).items,
    staleTime: 30_000,
  });
}

/** A department's name in the current language (its code while the list loads). */
export function useDepartmentName(): (id: string | null | undefined) => string {
  const { i18n } = useTranslation();
  const { data } = useDepartments();
  return (id) => {
    if (!id) return "—";
    const found = data?.find((d) => d.id === id);
    if (!found) return id.slice(0, 8);
    return i18n.language === "zh-CN" && found.name_zh ? found.name_zh : found.name;
  };
}

export function DepartmentSelect({
  value,
  onChange,
  label,
  allowAll = false,
  only,
  name,
}: {
  value: string;
  onChange: (value: string) => void;
  label: string;
  allowAll?: boolean;
  only?: (department: Department) => boolean;
  name?: string;
}) {
  const { t, i18n } = useTranslation("admin");
  const { data } = useDepartments();
  const choices = (data ?? []).filter((d) => !only || only(d));
  return (
    <label>
      {label}
      <select value={value} name={name} onChange={(event) => onChange(event.target.value)}>
        {allowAll ? <option value="">{t("common:common.allDepartments")}</option> : null}
        {!allowAll && !value ? <option value="">{t("choose")}</option> : null}
        {choices.map((d) => (
          <option key={d.id} value={d.id}>
            {i18n.language === "zh-CN" && d.name_zh ? d.name_zh : d.name}
          </option>
        ))}
      </select>
    </label>
  );
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return `${error.detail} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}

/** role="alert" error line, or nothing. */
export function ErrorLine({ error }: { error: unknown }) {
  const { t } = useTranslation("admin");
  if (!error) return null;
  return (
    <p role="alert" className="error">
      {t("error", { detail: errorText(error) })}
    </p>
  );
}

export function useFormat() {
  const { i18n } = useTranslation();
  const dateTime = new Intl.DateTimeFormat(i18n.language, {
    dateStyle: "short",
    timeStyle: "medium",
  });
  const number = new Intl.NumberFormat(i18n.language);
  return {
    date: (value: string | null | undefined) => (value ? dateTime.format(new Date(value)) : "—"),
    number: (value: number) => number.format(value),
  };
}

/** A random password for a new user or a reset (shown once to the admin). */
export function randomPassword(): string {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}
