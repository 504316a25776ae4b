// Redaction review: the item's redactions (GET /evidence/{id}/redactions), a new one (faces,
// plates, blur or solid), its detected tracks with a keep/remove toggle each, then render,
// watch the redacted video, and publish (redaction:publish).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, ApiError, unwrap } from "../../api/client";
import { useAuth } from "../../app/auth";
import type { Redaction } from "./data";
import { useFormat } from "./format";

const BUSY = new Set(["detecting", "rendering"]);

function errorText(error: unknown): string {
  return error instanceof ApiError ? `${error.code}: ${error.detail}` : String(error);
}

function Tracks({ redaction }: { redaction: Redaction }) {
  const { t } = useTranslation("evidence");
  const format = useFormat();
  const queries = useQueryClient();
  const key = ["redactions", redaction.id, "tracks"];
  const tracks = useQuery({
    queryKey: key,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/redactions/{redaction_id}/tracks", {
          params: { path: { redaction_id: redaction.id } },
        }),
      ).items,
    enabled: redaction.state !== "detecting",
  });
  const toggle = useMutation({
    mutationFn: async ({ id, removed }: { id: string; removed: boolean }) =>
      unwrap(
        await api.PATCH("/api/v1/redactions/{redaction_id}/tracks/{track_id}", {
          params: { path: { redaction_id: redaction.id, track_id: id } },
          body: { removed },
        }),
      ),
    onSuccess: () => void queries.invalidateQueries({ queryKey: key }),
  });
  const editable = redaction.state === "review" || redaction.state === "rendered";
  if (!tracks.data) return null;
  if (tracks.data.length === 0) return <p className="muted">{t("redaction.noTracks")}</p>;
  return (
    <>
      {toggle.error ? (
        <p role="alert" className="error">
          {errorText(toggle.error)}
        </p>
      ) : null}
      <table>
        <caption className="sr-only">{t("redaction.tracks")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("redaction.label")}</th>
            <th scope="col">{t("redaction.source")}</th>
            <th scope="col">{t("redaction.span")}</th>
            <th scope="col">{t("redaction.covered")}</th>
          </tr>
        </thead>
        <tbody>
          {tracks.data.map((track) => (
            <tr key={track.id} data-testid="redaction-track">
              <td>{t(`redaction.labels.${track.label}`, { defaultValue: track.label })}</td>
              <td>{t(`redaction.sources.${track.source}`, { defaultValue: track.source })}</td>
              <td>
                {format.clock(track.start_s)}–{format.clock(track.end_s)}
              </td>
              <td>
                <label className="ev-check">
                  <input
                    type="checkbox"
                    checked={!track.removed}
                    disabled={!editable || toggle.isPending}
                    onChange={(event) => toggle.mutate({ id: track.id, removed: !event.target.checked })}
                  />
                  <span className="sr-only">
                    {t("redaction.cover", { label: track.label, at: format.clock(track.start_s) })}
                  </span>
                </label>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function RedactionView({ redaction, evidenceId }: { redaction: Redaction; evidenceId: string }) {
  const { t } = useTranslation("evidence");
  const { can } = useAuth();
  const format = useFormat();
  const queries = useQueryClient();
  const refresh = () => void queries.invalidateQueries({ queryKey: ["redactions", "of", evidenceId] });
  const render = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/redactions/{redaction_id}/render", {
          params: { path: { redaction_id: redaction.id } },
        }),
      ),
    onSuccess: refresh,
  });
  const publish = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/redactions/{redaction_id}/publish", {
          params: { path: { redaction_id: redaction.id } },
        }),
      ),
    onSuccess: refresh,
  });
  const failure = render.error ?? publish.error;
  return (
    <div className="ev-redaction" data-testid="redaction" data-state={redaction.state}>
      <p>
        <strong>{t(`redaction.states.${redaction.state}`)}</strong> · {t(`redaction.modes.${redaction.mode}`)} ·{" "}
        {format.dateTime(redaction.created_at)}
        {redaction.error_code ? ` · ${redaction.error_code}` : null}
      </p>
      <Tracks redaction={redaction} />
      <div className="toolbar">
        <button
          type="button"
          onClick={() => render.mutate()}
          disabled={render.isPending || !(redaction.state === "review" || redaction.state === "rendered")}
        >
          {t("redaction.render")}
        </button>
        {can("redaction:publish") ? (
          <button
            type="button"
            onClick={() => publish.mutate()}
            disabled={publish.isPending || redaction.state !== "rendered"}
          >
            {t("redaction.publish")}
          </button>
        ) : null}
      </div>
      {failure ? (
        <p role="alert" className="error">
          {errorText(failure)}
        </p>
      ) : null}
      {redaction.video_url ? (
        <video className="ev-redacted" src={redaction.video_url} controls preload="none" aria-label={t("redaction.video")} />
      ) : null}
    </div>
  );
}

export function RedactionPanel({ evidenceId }: { evidenceId: string }) {
  const { t } = useTranslation("evidence");
  const format = useFormat();
  const queries = useQueryClient();
  const [faces, setFaces] = useState(true);
  const [plates, setPlates] = useState(true);
  const [mode, setMode] = useState<"blur" | "solid">("blur");
  const [selected, setSelected] = useState<string | null>(null);
  const listKey = ["redactions", "of", evidenceId];
  const list = useQuery({
    queryKey: listKey,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/evidence/{evidence_id}/redactions", {
          params: { path: { evidence_id: evidenceId } },
        }),
      ).items,
    refetchInterval: (query) => {
      const items = (query.state.data ?? []) as Redaction[];
      return items.some((r) => BUSY.has(r.state)) ? 2000 : false;
    },
  });
  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/evidence/{evidence_id}/redactions", {
          params: { path: { evidence_id: evidenceId } },
          body: { faces, plates, mode, every: 2 },
        }),
      ),
    onSuccess: (created) => {
      setSelected(created.id);
      void queries.invalidateQueries({ queryKey: listKey });
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate();
  }
  const items = list.data ?? [];
  const shown = items.find((r) => r.id === selected) ?? items[0];

  return (
    <div className="ev-redactions">
      <form className="inline" onSubmit={submit} aria-label={t("redaction.new")}>
        <label className="ev-check">
          <input type="checkbox" checked={faces} onChange={(event) => setFaces(event.target.checked)} />
          {t("redaction.faces")}
        </label>
        <label className="ev-check">
          <input type="checkbox" checked={plates} onChange={(event) => setPlates(event.target.checked)} />
          {t("redaction.plates")}
        </label>
        <label>
          {t("redaction.mode")}
          <select value={mode} onChange={(event) => setMode(event.target.value as "blur" | "solid")}>
            <option value="blur">{t("redaction.modes.blur")}</option>
            <option value="solid">{t("redaction.modes.solid")}</option>
          </select>
        </label>
        <button type="submit" disabled={create.isPending || (!faces && !plates)}>
          {t("redaction.create")}
        </button>
      </form>
      {create.error || list.error ? (
        <p role="alert" className="error">
          {errorText(create.error ?? list.error)}
        </p>
      ) : null}
      {items.length > 1 ? (
        <label>
          {t("redaction.choose")}
          <select value={shown?.id ?? ""} onChange={(event) => setSelected(event.target.value)}>
            {items.map((r) => (
              <option key={r.id} value={r.id}>
                {format.dateTime(r.created_at)} · {t(`redaction.states.${r.state}`)}
              </option>
            ))}
          </select>
        </label>
      ) : null}
      {shown ? <RedactionView redaction={shown} evidenceId={evidenceId} /> : <p className="muted">{t("redaction.none")}</p>}
    </div>
  );
}
