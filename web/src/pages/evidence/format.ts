// Numbers, dates, sizes and media times in the console's current language (Intl).
import { useMemo } from "react";
import { useTranslation } from "react-i18next";

export interface Format {
  dateTime: (value: string | null | undefined) => string;
  number: (value: number, digits?: number) => string;
  bytes: (value: number) => string;
  clock: (seconds: number) => string;
}

export function useFormat(): Format {
  const { i18n } = useTranslation();
  const language = i18n.language;
  return useMemo(() => {
    const dates = new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "medium" });
    const two = new Intl.NumberFormat(language, { minimumIntegerDigits: 2, useGrouping: false });
    const number = (value: number, digits = 0) =>
      new Intl.NumberFormat(language, { maximumFractionDigits: digits }).format(value);
    return {
      dateTime: (value) => (value ? dates.format(new Date(value)) : "—"),
      number,
      bytes: (value) => {
        const units = ["byte", "kilobyte", "megabyte", "gigabyte", "terabyte"] as const;
        let size = value;
        let unit = 0;
        while (size >= 1024 && unit < units.length - 1) {
          size /= 1024;
          unit += 1;
        }
        return new Intl.NumberFormat(language, {
          style: "unit",
          unit: units[unit],
          unitDisplay: "short",
          maximumFractionDigits: unit === 0 ? 0 : 1,
        }).format(size);
      },
      clock: (seconds) => {
        const whole = Math.max(0, Math.floor(seconds));
        const hours = Math.floor(whole / 3600);
        const minutes = Math.floor((whole % 3600) / 60);
        const rest = whole % 60;
        const tail = `${two.format(minutes)}:${two.format(rest)}`;
        return hours > 0 ? `${number(hours)}:${tail}` : tail;
      },
    };
  }, [language]);
}
