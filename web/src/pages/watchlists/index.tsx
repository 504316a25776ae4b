// Watch lists (/watchlists): plates (lists, entries, CSV import, hits) and persons (face
// watch list: enrolment photos, candidates, the department's matching switch).
import { useTranslation } from "react-i18next";
import { NavLink, Navigate, Route, Routes } from "react-router-dom";
import { Persons } from "./Persons";
import { Plates } from "./Plates";
import "./watchlists.css";

export default function WatchlistsPage() {
  const { t } = useTranslation("watchlists");
  return (
    <section aria-labelledby="watchlists-title" className="watchlists">
      <h1 id="watchlists-title">{t("title")}</h1>
      <nav className="tabs" aria-label={t("tabs")}>
        <NavLink to="/watchlists/plates">{t("plates.tab")}</NavLink>
        <NavLink to="/watchlists/persons">{t("persons.tab")}</NavLink>
      </nav>
      <Routes>
        <Route index element={<Navigate to="plates" replace />} />
        <Route path="plates/*" element={<Plates />} />
        <Route path="persons/*" element={<Persons />} />
      </Routes>
    </section>
  );
}
