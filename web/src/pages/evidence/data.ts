// Data of the evidence page: typed queries over the evidence, analysis, ledger, export and
// redaction APIs, and the library's filters as URL search parameters (so Back keeps them).
import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type paths, type Schemas } from "../../api/client";
import { useAuth } from "../../app/auth";

export type Evidence = Schemas["EvidenceOut"];
export type Finding = Schemas["FindingOut"];
export type Transcript = Schemas["TranscriptOut"];
export type Custody = Schemas["CustodyOut"];
export type ExportJob = Schemas["ExportOut"];
export type Redaction = Schemas["RedactionOut"];
export type RedactionTrack = Schemas["citywitness__analysis__redaction_schemas__TrackOut"];

export const KINDS = ["video", "audio", "photo", "document"] as const;
export const STATES = ["live", "active", "pending_deletion", "destroyed"] as const;
export const PAGE_SIZE = 24;

/** The filters the library form edits; each is a query parameter of GET /evidence. */
export const FILTER_KEYS = [
  "q",
  "department_id",
  "category",
  "officer_id",
  "recorder_serial",
  "captured_from",
  "captured_to",
  "kind",
  "state",
] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type Filters = Partial<Record<FilterKey, string>>;

export function filtersFrom(params: URLSearchParams): Filters {
  const found: Filters = {};
  for (const key of FILTER_KEYS) {
    const value = params.get(key);
    if (value) found[key] = value;
  }
  return found;
}

/** A datetime-local value (the browser's local time) as an ISO instant with its offset. */
export function localToIso(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

type SearchQuery = NonNullable<paths["/api/v1/evidence"]["get"]["parameters"]["query"]>;

export function useEvidenceSearch(filters: Filters, cursor: string | null, limit = PAGE_SIZE) {
  const query: SearchQuery = {
    q: filters.q,
    department_id: filters.department_id,
    category: filters.category,
    officer_id: filters.officer_id,
    recorder_serial: filters.recorder_serial,
    captured_from: localToIso(filters.captured_from),
    captured_to: localToIso(filters.captured_to),
    kind: filters.kind as Evidence["kind"] | undefined,
    state: filters.state as Evidence["state"] | undefined,
    cursor: cursor ?? undefined,
    limit,
  };
  return useQuery({
    queryKey: ["evidence", "search", query],
    queryFn: async () => unwrap(await api.GET("/api/v1/evidence", { params: { query } })),
    placeholderData: (previous) => previous,
  });
}

export function useCategories() {
  return useQuery({
    queryKey: ["evidence", "categories"],
    queryFn: async () => unwrap(await api.GET("/api/v1/evidence/categories")).items,
    staleTime: 300_000,
  });
}

export function useOfficers() {
  const { can } = useAuth();
  return useQuery({
    queryKey: ["officers", "all"],
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/officers", { params: { query: { limit: 200 } } })).items,
    enabled: can("officers:read"),
    staleTime: 300_000,
  });
}

export function useEvidence(id: string) {
  return useQuery({
    queryKey: ["evidence", "item", id],
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/evidence/{evidence_id}", { params: { path: { evidence_id: id } } })),
  });
}

export function useFindings(id: string, enabled: boolean) {
  return useQuery({
    queryKey: ["evidence", "findings", id],
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/evidence/{evidence_id}/analysis/findings", {
          params: { path: { evidence_id: id }, query: { limit: 2000 } },
        }),
      ),
    enabled,
  });
}

export function useTranscript(id: string, enabled: boolean) {
  return useQuery({
    queryKey: ["evidence", "transcript", id],
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/evidence/{evidence_id}/transcript", {
          params: { path: { evidence_id: id } },
        }),
      ),
    enabled,
  });
}

export function useCustody(id: string) {
  return useQuery({
    queryKey: ["evidence", "custody", id],
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/evidence/{evidence_id}/custody", {
          params: { path: { evidence_id: id } },
        }),
      ),
  });
}

export function useDepartment(id: string | undefined) {
  const { can } = useAuth();
  return useQuery({
    queryKey: ["departments", id],
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/departments/{department_id}", {
          params: { path: { department_id: id ?? "" } },
        }),
      ),
    enabled: Boolean(id) && can("departments:read"),
    staleTime: 300_000,
  });
}

/** The label a finding shows on the timeline (plate text, spoken text, cue...). */
export function findingText(finding: Finding): string {
  const attributes = finding.attributes as Record<string, unknown>;
  for (const key of ["text", "phrase", "plate", "name"]) {
    const value = attributes[key];
    if (typeof value === "string" && value) return value;
  }
  return finding.label;
}

/** The timeline's groups: plates, faces, cues (behaviour and audio), speech, keywords. */
export function findingGroup(finding: Finding): string {
  if (finding.label === "keyword") return "keyword";
  if (finding.analyzer === "plates") return "plates";
  if (finding.analyzer === "faces") return "faces";
  if (finding.analyzer === "speech") return "speech";
  return "cues";
}
