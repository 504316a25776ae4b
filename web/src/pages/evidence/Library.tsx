// The evidence library: filters (kept in the URL), pages of results with thumbnails, and a
// map of where the recordings on the page were made.
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router-dom";
import { ApiError } from "../../api/client";
import { useDepartments } from "../../app/departments";
import { useLive } from "../../app/live";
import {
  filtersFrom,
  FILTER_KEYS,
  KINDS,
  STATES,
  useCategories,
  useEvidenceSearch,
  useOfficers,
  type Evidence,
  type Filters,
} from "./data";
import { useFormat } from "./format";
import { LibraryMap } from "./LibraryMap";

function Thumbnail({ item }: { item: Evidence }) {
  const { t } = useTranslation("evidence");
  if (item.derivatives?.includes("thumbnail")) {
    return (
      <img
        className="ev-thumb"
        src={`/api/v1/evidence/${item.id}/thumbnail`}
        alt={t("library.thumbnailOf", { name: item.original_filename })}
        loading="lazy"
        width={160}
        height={90}
      />
    );
  }
  return (
    <span className="ev-thumb ev-thumb-none" aria-hidden="true">
      {t(`kind.${item.kind}`)}
    </span>
  );
}

function ResultCard({ item }: { item: Evidence }) {
  const { t } = useTranslation("evidence");
  const format = useFormat();
  return (
    <li className="ev-card" data-testid="evidence-result" data-evidence-id={item.id}>
      <Thumbnail item={item} />
      <div className="ev-card-body">
        <Link to={`/evidence/${item.id}`} className="ev-card-title">
          {item.original_filename}
        </Link>
        <span className="muted">{format.dateTime(item.captured_start ?? item.created_at)}</span>
        <span className="ev-pills">
          <span className="pill">{t(`kind.${item.kind}`)}</span>
          <span className="pill">{t(`state.${item.state}`)}</span>
          {item.duration_seconds ? <span className="pill">{format.clock(item.duration_seconds)}</span> : null}
          {item.recorder_serial ? <span className="pill">{item.recorder_serial}</span> : null}
        </span>
      </div>
    </li>
  );
}

function FilterForm({ filters, onSearch }: { filters: Filters; onSearch: (next: Filters) => void }) {
  const { t, i18n } = useTranslation("evidence");
  const [draft, setDraft] = useState<Filters>(filters);
  useEffect(() => setDraft(filters), [filters]);
  const categories = useCategories();
  const departments = useDepartments();
  const officers = useOfficers();
  const live = useLive();
  const serials = [...live.recorders.values()].map((r) => r.serial).sort();
  const zh = i18n.language.startsWith("zh");
  const set = (key: keyof Filters) => (event: { target: { value: string } }) =>
    setDraft((old) => ({ ...old, [key]: event.target.value }));
  function submit(event: FormEvent) {
    event.preventDefault();
    onSearch(draft);
  }
  return (
    <form className="ev-filters panel" role="search" onSubmit={submit} aria-label={t("library.filters")}>
      <label className="ev-q">
        {t("library.text")}
        <input type="search" name="q" value={draft.q ?? ""} onChange={set("q")} placeholder={t("library.textHint")} />
      </label>
      <label>
        {t("library.department")}
        <select value={draft.department_id ?? ""} onChange={set("department_id")}>
          <option value="">{t("library.any")}</option>
          {departments.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("library.category")}
        <select value={draft.category ?? ""} onChange={set("category")}>
          <option value="">{t("library.any")}</option>
          {(categories.data ?? []).map((c) => (
            <option key={c.id} value={c.code}>
              {zh && c.name_zh ? c.name_zh : c.name}
            </option>
          ))}
        </select>
      </label>
      {officers.data ? (
        <label>
          {t("library.officer")}
          <select value={draft.officer_id ?? ""} onChange={set("officer_id")}>
            <option value="">{t("library.any")}</option>
            {officers.data.map((o) => (
              <option key={o.id} value={o.id}>
                {o.display_name} ({o.badge_number})
              </option>
            ))}
          </select>
        </label>
      ) : null}
      <label>
        {t("library.recorder")}
        <input list="ev-serials" value={draft.recorder_serial ?? ""} onChange={set("recorder_serial")} />
        <datalist id="ev-serials">
          {serials.map((serial) => (
            <option key={serial} value={serial} />
          ))}
        </datalist>
      </label>
      <label>
        {t("library.from")}
        <input type="datetime-local" value={draft.captured_from ?? ""} onChange={set("captured_from")} />
      </label>
      <label>
        {t("library.to")}
        <input type="datetime-local" value={draft.captured_to ?? ""} onChange={set("captured_to")} />
      </label>
      <label>
        {t("library.kind")}
        <select value={draft.kind ?? ""} onChange={set("kind")}>
          <option value="">{t("library.any")}</option>
          {KINDS.map((kind) => (
            <option key={kind} value={kind}>
              {t(`kind.${kind}`)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("library.state")}
        <select value={draft.state ?? ""} onChange={set("state")}>
          <option value="">{t("library.any")}</option>
          {STATES.map((state) => (
            <option key={state} value={state}>
              {t(`state.${state}`)}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">{t("library.search")}</button>
      <button type="button" className="secondary" onClick={() => onSearch({})}>
        {t("library.clear")}
      </button>
    </form>
  );
}

export function Library() {
  const { t } = useTranslation("evidence");
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => filtersFrom(params), [params]);
  const view = params.get("view") === "map" ? "map" : "list";
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const key = FILTER_KEYS.map((k) => filters[k] ?? "").join("|");
  useEffect(() => setCursors([null]), [key]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const search = useEvidenceSearch(filters, cursor);
  const items = search.data?.items ?? [];

  function applyFilters(next: Filters) {
    const updated = new URLSearchParams();
    for (const k of FILTER_KEYS) if (next[k]) updated.set(k, next[k] as string);
    if (view === "map") updated.set("view", "map");
    setParams(updated);
  }
  function setView(next: "list" | "map") {
    const updated = new URLSearchParams(params);
    if (next === "map") updated.set("view", "map");
    else updated.delete("view");
    setParams(updated, { replace: true });
  }

  return (
    <section className="ev-library" aria-labelledby="ev-library-title">
      <h1 id="ev-library-title">{t("library.title")}</h1>
      <FilterForm filters={filters} onSearch={applyFilters} />
      <div className="toolbar ev-viewbar" role="group" aria-label={t("library.view")}>
        <button type="button" className="secondary" aria-pressed={view === "list"} onClick={() => setView("list")}>
          {t("library.list")}
        </button>
        <button type="button" className="secondary" aria-pressed={view === "map"} onClick={() => setView("map")}>
          {t("library.map")}
        </button>
        <span className="muted" aria-live="polite" data-testid="evidence-count">
          {search.isFetching ? t("library.searching") : t("library.shown", { count: items.length })}
        </span>
      </div>
      {search.error ? (
        <p role="alert" className="error">
          {t("library.failed", {
            detail: search.error instanceof ApiError ? `${search.error.code}: ${search.error.detail}` : String(search.error),
          })}
        </p>
      ) : null}
      {view === "map" ? <LibraryMap items={items} /> : null}
      {items.length === 0 && !search.isFetching ? <p className="muted">{t("library.empty")}</p> : null}
      <ul className="ev-results" aria-label={t("library.results")}>
        {items.map((item) => (
          <ResultCard key={item.id} item={item} />
        ))}
      </ul>
      <nav className="toolbar ev-pager" aria-label={t("library.pages")}>
        <button
          type="button"
          className="secondary"
          disabled={cursors.length <= 1}
          onClick={() => setCursors((old) => old.slice(0, -1))}
        >
          {t("library.previous")}
        </button>
        <span className="muted">{t("library.page", { page: cursors.length })}</span>
        <button
          type="button"
          className="secondary"
          disabled={!search.data?.next_cursor}
          onClick={() => setCursors((old) => [...old, search.data?.next_cursor ?? null])}
        >
          {t("library.next")}
        </button>
      </nav>
    </section>
  );
}
