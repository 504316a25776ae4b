// Who is signed in (GET /api/v1/auth/me), login and logout, and permission checks.
// The console session is a cookie (ADR 0003); the page never sees the session token.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useEffect, useMemo, type ReactNode } from "react";
import { api, onUnauthorized, unwrap, type Schemas } from "../api/client";

export type Me = Schemas["MeOut"];

interface AuthState {
  me: Me | null;
  loading: boolean;
  login: (username: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
  /** Held in at least one department (or by a platform admin). */
  can: (permission: string) => boolean;
}

const AuthContext = createContext<AuthState | null>(null);
const ME_KEY = ["auth", "me"];

async function fetchMe(): Promise<Me | null> {
  const result = await api.GET("/api/v1/auth/me");
  if (result.response.status === 401) return null;
  return unwrap(result);
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const queries = useQueryClient();
  const { data, isLoading } = useQuery({ queryKey: ME_KEY, queryFn: fetchMe, staleTime: 60_000 });
  const me = data ?? null;

  useEffect(
    () =>
      onUnauthorized(() => {
        queries.setQueryData(ME_KEY, null);
      }),
    [queries],
  );

  const login = useCallback(
    async (username: string, password: string) => {
      unwrap(await api.POST("/api/v1/auth/login", { body: { username, password } }));
      queries.clear();
      await queries.fetchQuery({ queryKey: ME_KEY, queryFn: fetchMe });
    },
    [queries],
  );

  const logout = useCallback(async () => {
    await api.POST("/api/v1/auth/logout");
    queries.clear();
    queries.setQueryData(ME_KEY, null);
  }, [queries]);

  const can = useCallback(
    (permission: string) =>
      me !== null && (me.platform_admin || (me.permissions as string[]).includes(permission)),
    [me],
  );

  const value = useMemo(
    () => ({ me, loading: isLoading, login, logout, can }),
    [me, isLoading, login, logout, can],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth outside AuthProvider");
  return value;
}
