// Departments by id, for labels and pickers: the full list for callers with
// departments:read, else the caller's own departments (ids only, labelled by code "…").
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { api, unwrap } from "../api/client";
import { useAuth } from "./auth";

export interface Department {
  id: string;
  code: string;
  name: string;
}

export function useDepartments(): Department[] {
  const { me, can } = useAuth();
  const { i18n } = useTranslation();
  const zh = i18n.language === "zh-CN";
  const listed = useQuery({
    queryKey: ["departments"],
    queryFn: async () => unwrap(await api.GET("/api/v1/departments")).items,
    enabled: can("departments:read"),
    staleTime: 300_000,
  });
  if (listed.data) {
    return listed.data.map((d) => ({ id: d.id, code: d.code, name: (zh && d.name_zh) || d.name }));
  }
  return (me?.departments ?? []).map((d) => ({ id: d.department_id, code: "", name: d.department_id.slice(0, 8) }));
}

/**
 * Departments where the caller holds `permission` (all of them for a platform admin), the
 * caller's own departments first, so a default choice (the first) is stable while the full
 * list loads.
 */
export function useDepartmentsWith(permission: string): Department[] {
  const { me } = useAuth();
  const all = useDepartments();
  if (!me) return [];
  const own = new Set(me.departments.map((d) => d.department_id));
  const held = new Set(
    me.departments.filter((d) => (d.permissions as string[]).includes(permission)).map((d) => d.department_id),
  );
  const allowed = me.platform_admin ? all : all.filter((d) => held.has(d.id));
  return [...allowed.filter((d) => own.has(d.id)), ...allowed.filter((d) => !own.has(d.id))];
}
