// Administration: one tab per area, shown only to callers who may use it (the API checks
// every request anyway). Tabs are sub-routes: /admin/users, /admin/departments, ...
import { lazy, Suspense, type ComponentType, type LazyExoticComponent } from "react";
import { useTranslation } from "react-i18next";
import { Navigate, NavLink, Route, Routes } from "react-router-dom";
import { useAuth } from "../../app/auth";
import "./admin.css";

interface Tab {
  path: string;
  permission: string;
  component: LazyExoticComponent<ComponentType>;
}

const TABS: Tab[] = [
  { path: "users", permission: "users:read", component: lazy(() => import("./Users")) },
  {
    path: "departments",
    permission: "departments:manage",
    component: lazy(() => import("./Departments")),
  },
  { path: "recorders", permission: "devices:manage", component: lazy(() => import("./Recorders")) },
  {
    path: "retention",
    permission: "evidence:manage",
    component: lazy(() => import("./Retention")),
  },
  { path: "geofences", permission: "alerts:manage", component: lazy(() => import("./Geofences")) },
  { path: "audit", permission: "audit:read", component: lazy(() => import("./Audit")) },
];

export default function AdminPage() {
  const { t } = useTranslation("admin");
  const { can } = useAuth();
  const tabs = TABS.filter((tab) => can(tab.permission));
  return (
    <div className="admin">
      <h1>{t("title")}</h1>
      <nav className="tabs" aria-label={t("tabs")}>
        {tabs.map((tab) => (
          <NavLink key={tab.path} to={`/admin/${tab.path}`}>
            {t(`tab.${tab.path}`)}
          </NavLink>
        ))}
      </nav>
      <Suspense fallback={<p>{t("common:common.loading")}</p>}>
        <Routes>
          <Route
            index
            element={
              tabs[0] ? (
                <Navigate to={tabs[0].path} replace />
              ) : (
                <p role="alert">{t("common:common.forbidden")}</p>
              )
            }
          />
          {tabs.map((tab) => (
            <Route key={tab.path} path={`${tab.path}/*`} element={<tab.component />} />
          ))}
          <Route path="*" element={<p>{t("common:common.notFound")}</p>} />
        </Routes>
      </Suspense>
    </div>
  );
}
