// Video wall (/wall): 1-9 live streams at once. The tiles are the `recorder` query
// parameters (shareable; /wall?recorder=<id> opens that one); without any, the wall starts
// with the recorders streaming now. Live sessions come from GET /api/v1/media/sessions
// (state=live), refreshed every few seconds and whenever a recorder starts or stops
// recording.
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router-dom";
import { api, ApiError, unwrap, type Schemas } from "../../api/client";
import { useAuth } from "../../app/auth";
import { useLive } from "../../app/live";
import { useStreets } from "./place";
import { Tile } from "./Tile";
import "./wall.css";

export const MAX_TILES = 9;
const AUTO_TILES = 4;
const REFRESH_MS = 10_000;

function useLiveSessions(enabled: boolean, recordingKey: string) {
  return useQuery({
    queryKey: ["media", "sessions", "live", recordingKey],
    enabled,
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/media/sessions", { params: { query: { state: "live", limit: 200 } } })),
    refetchInterval: REFRESH_MS,
    placeholderData: (previous) => previous,
  });
}

export default function VideoWallPage() {
  const { t } = useTranslation("wall");
  const { can } = useAuth();
  const live = useLive();
  const streets = useStreets();
  const [params, setParams] = useSearchParams();
  const tiles = params.getAll("recorder").slice(0, MAX_TILES);
  const [choice, setChoice] = useState("");

  const recordingKey = [...live.recorders.values()]
    .filter((r) => r.recording)
    .map((r) => r.recorder_id)
    .sort()
    .join(",");
  const sessions = useLiveSessions(can("evidence:read"), recordingKey);
  const byRecorder = useMemo(() => {
    const found = new Map<string, Schemas["SessionOut"]>();
    for (const session of sessions.data?.items ?? []) {
      if (!found.has(session.recorder_id)) found.set(session.recorder_id, session);
    }
    return found;
  }, [sessions.data]);

  const setTiles = (ids: string[]) => {
    const next = new URLSearchParams();
    for (const id of ids) next.append("recorder", id);
    setParams(next, { replace: true });
  };

  // An empty wall starts with what is live now (once).
  const [autoFilled, setAutoFilled] = useState(tiles.length > 0);
  useEffect(() => {
    if (autoFilled || !sessions.data) return;
    setAutoFilled(true);
    const ids = [...byRecorder.keys()].slice(0, AUTO_TILES);
    if (ids.length > 0) setTiles(ids);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once, when the list first arrives
  }, [autoFilled, sessions.data, byRecorder]);

  const candidates = [...live.recorders.values()]
    .filter((r) => !tiles.includes(r.recorder_id))
    .sort((a, b) => Number(byRecorder.has(b.recorder_id)) - Number(byRecorder.has(a.recorder_id)) || a.serial.localeCompare(b.serial));

  const add = (event: FormEvent) => {
    event.preventDefault();
    if (choice && !tiles.includes(choice) && tiles.length < MAX_TILES) setTiles([...tiles, choice]);
    setChoice("");
  };
  const error = sessions.error instanceof ApiError ? sessions.error.detail : sessions.error?.message;

  return (
    <div className="wall-page">
      <div className="toolbar wall-toolbar">
        <h1>{t("title")}</h1>
        <form className="inline" onSubmit={add}>
          <label>
            {t("add.label")}
            <select aria-label={t("add.label")} value={choice} onChange={(event) => setChoice(event.target.value)}>
              <option value="">{t("add.placeholder")}</option>
              {candidates.map((r) => (
                <option key={r.recorder_id} value={r.recorder_id}>
                  {byRecorder.has(r.recorder_id) ? t("add.live", { serial: r.serial }) : r.serial}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={!choice || tiles.length >= MAX_TILES}>
            {t("add.submit")}
          </button>
        </form>
        <span className="muted" role="status">
          {t("liveCount", { count: byRecorder.size })}
        </span>
      </div>
      {!can("evidence:read") ? <p className="muted">{t("noSessionList")}</p> : null}
      {error ? (
        <p role="alert" className="error">
          {t("loadFailed", { detail: error })}
        </p>
      ) : null}
      {tiles.length === 0 ? <p className="page-message muted">{t("empty")}</p> : null}
      <ul className={`wall-grid wall-grid-${Math.min(3, Math.ceil(Math.sqrt(tiles.length || 1)))}`} aria-label={t("grid")}>
        {tiles.map((id) => (
          <Tile
            key={id}
            recorderId={id}
            state={live.recorders.get(id)}
            session={byRecorder.get(id)}
            streets={streets}
            onRemove={() => setTiles(tiles.filter((other) => other !== id))}
          />
        ))}
      </ul>
    </div>
  );
}
