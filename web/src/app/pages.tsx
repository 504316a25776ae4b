// The console's pages: route, navigation label and who sees them (any of the permissions).
// Each page lives in src/pages/<name>/ and owns its sub-routes.
import { lazy, type ComponentType, type LazyExoticComponent } from "react";

export interface PageDef {
  path: string;
  label: string;
  permissions: string[];
  component: LazyExoticComponent<ComponentType>;
}

export const PAGES: PageDef[] = [
  {
    path: "/map",
    label: "nav.map",
    permissions: ["devices:read"],
    component: lazy(() => import("../pages/map")),
  },
  {
    path: "/wall",
    label: "nav.wall",
    permissions: ["media:live"],
    component: lazy(() => import("../pages/wall")),
  },
  {
    path: "/alerts",
    label: "nav.alerts",
    permissions: ["alerts:read"],
    component: lazy(() => import("../pages/alerts")),
  },
  {
    path: "/evidence",
    label: "nav.evidence",
    permissions: ["evidence:read"],
    component: lazy(() => import("../pages/evidence")),
  },
  {
    path: "/watchlists",
    label: "nav.watchlists",
    permissions: ["watchlists:read"],
    component: lazy(() => import("../pages/watchlists")),
  },
  {
    path: "/admin",
    label: "nav.admin",
    permissions: [
      "users:read",
      "departments:manage",
      "devices:manage",
      "evidence:manage",
      "audit:read",
      "alerts:manage",
    ],
    component: lazy(() => import("../pages/admin")),
  },
];
