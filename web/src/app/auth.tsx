// Who is signed in (GET /api/v1/auth/me), login and logout, and permission checks.
// The console session is a cookie (ADR 0003); the page never sees the session token.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useEffect, useMemo, type ReactNode } from "react";
import { api, cookie, onUnauthorized, unwrap, type Schemas } from "../api/client";

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
  // Every sign-in sets the script-readable cw_csrf cookie beside the session: without it
  // there is no session to ask about (and no 401 to log in the browser console).
  if (!cookie("cw_csrf")) return null;
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
        // The session ended (expired, revoked): forget its CSRF cookie too, so the next
        // load goes straight to the sign-in form.
        document.cookie = "cw_csrf=; Max-Age=0; path=/; SameSite=Strict";
        queries.setQueryData(ME_KEY, null);
      }),
    [queries],
  );

  const login = useCallback(
    async (username: string, password: string) => {
      unwrap(await api.POST("/api/v1/auth/login", { body: { username, password } }));
      const signedIn = await fetchMe();
      // Another user's cached answers must not survive a sign-in; who is signed in stays
      // in the same cache entry, so every observer of it sees the change.
      queries.removeQueries({ predicate: (query) => query.queryKey[0] !== "auth" });
      queries.setQueryData(ME_KEY, signedIn);
    },
    [queries],
  );

  const logout = useCallback(async () => {
    await api.POST("/api/v1/auth/logout");
    queries.removeQueries({ predicate: (query) => query.queryKey[0] !== "auth" });
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
