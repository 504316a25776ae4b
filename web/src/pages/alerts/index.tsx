// Alert inbox (/alerts): the open alerts live from useLive() (most severe, then newest,
// first) or the history from GET /api/v1/alerts with filters; the selected alert's detail
// at /alerts/<id>. Raised high/critical alerts sound a tone and notify (AlertSignals).
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Route, Routes } from "react-router-dom";
import { useDepartmentsWith } from "../../app/departments";
import { AlertSignalControls, useSignalCounts } from "../../components/AlertSignals";
import { AlertDetailPanel } from "./AlertDetail";
import { AlertList, type Filters } from "./AlertList";
import "./alerts.css";
import { KINDS, SEVERITIES, STATES } from "./format";

function Select({
  label,
  value,
  onChange,
  options,
  allLabel,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  options: { value: string; label: string }[];
  allLabel: string;
}) {
  return (
    <label>
      {label}
      <select value={value} onChange={(event) => onChange(event.target.value)}>
        <option value="">{allLabel}</option>
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </label>
  );
}

function Toolbar({ filters, setFilters }: { filters: Filters; setFilters: (f: Filters) => void }) {
  const { t } = useTranslation("alerts");
  const departments = useDepartmentsWith("alerts:read");
  const set = (key: keyof Filters) => (value: string) => setFilters({ ...filters, [key]: value });
  return (
    <form className="toolbar alert-filters" onSubmit={(event) => event.preventDefault()} aria-label={t("filters.label")}>
      <div role="group" aria-label={t("filters.view")} className="alert-view">
        {(["open", "history"] as const).map((view) => (
          <button
            key={view}
            type="button"
            className={filters.view === view ? "" : "secondary"}
            aria-pressed={filters.view === view}
            onClick={() => setFilters({ ...filters, view })}
          >
            {t(`filters.${view}`)}
          </button>
        ))}
      </div>
      <Select
        label={t("filters.state")}
        value={filters.state}
        onChange={set("state")}
        allLabel={t("filters.any")}
        options={STATES.map((s) => ({ value: s, label: t(`state.${s}`) }))}
      />
      <Select
        label={t("filters.kind")}
        value={filters.kind}
        onChange={set("kind")}
        allLabel={t("filters.any")}
        options={KINDS.map((k) => ({ value: k, label: t(`kind.${k}`) }))}
      />
      <Select
        label={t("filters.severity")}
        value={filters.severity}
        onChange={set("severity")}
        allLabel={t("filters.any")}
        options={SEVERITIES.map((s) => ({ value: s, label: t(`severity.${s}`) }))}
      />
      <Select
        label={t("filters.department")}
        value={filters.department}
        onChange={set("department")}
        allLabel={t("filters.any")}
        options={departments.map((d) => ({ value: d.id, label: d.name }))}
      />
    </form>
  );
}

function Inbox() {
  const { t } = useTranslation("alerts");
  const [filters, setFilters] = useState<Filters>({ view: "open", state: "", kind: "", severity: "", department: "" });
  const counts = useSignalCounts(); // the shell sounds and notifies on every page
  return (
    <div className="alerts-page">
      <div className="alerts-head">
        <h1>{t("title")}</h1>
        <AlertSignalControls counts={counts} />
      </div>
      <Toolbar filters={filters} setFilters={setFilters} />
      <div className="alerts-split">
        <Routes>
          <Route path=":alertId" element={<AlertList filters={filters} />} />
          <Route index element={<AlertList filters={filters} />} />
        </Routes>
        <Routes>
          <Route path=":alertId" element={<AlertDetailPanel />} />
          <Route
            index
            element={
              <section className="panel alert-detail empty" aria-label={t("detail.label")}>
                <p className="muted">{t("detail.pick")}</p>
              </section>
            }
          />
        </Routes>
      </div>
    </div>
  );
}

export default function AlertsPage() {
  return <Inbox />;
}
