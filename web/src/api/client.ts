// The typed API client, generated from docs/openapi.json (npm run gen:api -> schema.d.ts).
// Cookies carry the console session; unsafe requests echo the cw_csrf cookie in
// X-CSRF-Token (ADR 0003). A 401 on any call means the session ended: listeners re-login.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type { paths };

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function cookie(name: string): string | null {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

const session: Middleware = {
  onRequest({ request }) {
    if (UNSAFE.has(request.method)) {
      const token = cookie("cw_csrf");
      if (token) request.headers.set("X-CSRF-Token", token);
    }
    return request;
  },
  onResponse({ response, request }) {
    if (response.status === 401 && !request.url.endsWith("/api/v1/auth/login")) {
      unauthorizedListeners.forEach((listener) => listener());
    }
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(session);

/** An API error as the platform sends it: HTTP status, machine-readable code, detail. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly fields: Record<string, unknown> = {},
  ) {
    super(`${status} ${code}: ${detail}`);
  }
}

interface ErrorBody {
  error?: string;
  detail?: unknown;
  fields?: Record<string, unknown>;
}

/** The data of an openapi-fetch result, or an ApiError thrown with the platform's code. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok) return result.data as T;
  const body = (result.error ?? {}) as ErrorBody;
  const detail = typeof body.detail === "string" ? body.detail : result.response.statusText;
  throw new ApiError(result.response.status, body.error ?? "http_error", detail, body.fields);
}

/** Fetch a binary or text resource of the API (CSV, images) with the session's headers. */
export async function fetchRaw(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.method && UNSAFE.has(init.method)) {
    const token = cookie("cw_csrf");
    if (token) headers.set("X-CSRF-Token", token);
  }
  const response = await fetch(path, { ...init, headers, credentials: "same-origin" });
  if (response.status === 401) unauthorizedListeners.forEach((listener) => listener());
  if (!response.ok) {
    let body: ErrorBody = {};
    try {
      body = (await response.json()) as ErrorBody;
    } catch {
      /* not JSON */
    }
    const detail = typeof body.detail === "string" ? body.detail : response.statusText;
    throw new ApiError(response.status, body.error ?? "http_error", detail, body.fields);
  }
  return response;
}
