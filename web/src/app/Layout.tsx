// The shell: skip link, navigation (only the pages the caller may use), feed status,
// language switch and the signed-in user. Pages render in <main>.
import { useTranslation } from "react-i18next";
import { NavLink, Outlet } from "react-router-dom";
import { AlertSignalsProvider } from "../components/AlertSignals";
import { LANGUAGES, setLanguage, type Language } from "../i18n";
import { useAuth } from "./auth";
import { useLive } from "./live";
import { PAGES } from "./pages";

function FeedDot({ status, label }: { status: string; label: string }) {
  const { t } = useTranslation();
  return (
    <span
      className={`feed feed-${status}`}
      data-testid={`feed-${label}`}
      data-status={status}
      title={`${t(`live.${label}`)}: ${t(`live.${status}`)}`}
    >
      <span className="dot" aria-hidden="true" />
      {t(`live.${label}`)}
      <span className="sr-only">: {t(`live.${status}`)}</span>
    </span>
  );
}

export function Layout() {
  const { t, i18n } = useTranslation();
  const { me, logout, can } = useAuth();
  const live = useLive();
  const openAlerts = live.alerts.size;
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">
          <img src="/favicon.svg" alt="" width="22" height="22" /> {t("app.name")}
          <small>{t("app.tagline")}</small>
        </span>
        <nav aria-label={t("nav.main")}>
          <ul>
            {PAGES.filter((page) => page.permissions.some(can)).map((page) => (
              <li key={page.path}>
                <NavLink to={page.path}>
                  {t(page.label)}
                  {page.path === "/alerts" && openAlerts > 0 ? (
                    <span className="badge" data-testid="open-alerts">
                      {openAlerts}
                    </span>
                  ) : null}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="status">
          <FeedDot status={live.devicesStatus} label="devices" />
          <FeedDot status={live.alertsStatus} label="alerts" />
        </div>
        <label className="lang">
          <span className="sr-only">{t("user.language")}</span>
          <select
            value={i18n.language}
            onChange={(event) => setLanguage(event.target.value as Language)}
            aria-label={t("user.language")}
          >
            {LANGUAGES.map((language) => (
              <option key={language} value={language}>
                {language === "en" ? "English" : "简体中文"}
              </option>
            ))}
          </select>
        </label>
        <span className="user" title={t("user.signedInAs", { name: me?.user.username ?? "" })}>
          {me?.user.display_name || me?.user.username}
        </span>
        <button type="button" className="secondary" onClick={() => void logout()}>
          {t("user.logout")}
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <AlertSignalsProvider>
          <Outlet />
        </AlertSignalsProvider>
      </main>
    </div>
  );
}
