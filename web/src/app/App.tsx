// Routes: the sign-in form until a session exists, then the shell with the pages the
// caller may use (the first one is the start page).
import { Suspense } from "react";
import { useTranslation } from "react-i18next";
import { Navigate, Route, Routes } from "react-router-dom";
import { useAuth } from "./auth";
import { Layout } from "./Layout";
import { LiveProvider } from "./live";
import { Login } from "./Login";
import { PAGES } from "./pages";

function NotFound() {
  const { t } = useTranslation();
  return <p className="page-message">{t("common.notFound")}</p>;
}

export function App() {
  const { t } = useTranslation();
  const { me, loading, can } = useAuth();
  if (loading) return <p className="page-message">{t("common.loading")}</p>;
  if (!me) return <Login />;
  const pages = PAGES.filter((page) => page.permissions.some(can));
  return (
    <LiveProvider>
      <Suspense fallback={<p className="page-message">{t("common.loading")}</p>}>
        <Routes>
          <Route element={<Layout />}>
            <Route index element={pages[0] ? <Navigate to={pages[0].path} replace /> : <NotFound />} />
            {pages.map((page) => (
              <Route key={page.path} path={`${page.path}/*`} element={<page.component />} />
            ))}
            <Route path="*" element={<NotFound />} />
          </Route>
        </Routes>
      </Suspense>
    </LiveProvider>
  );
}
