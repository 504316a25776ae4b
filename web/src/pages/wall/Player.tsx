// One live stream: the session's HLS playlist (GET /api/v1/media/sessions/{id}/live.m3u8,
// audited by the API as media.live_view) played muted with hls.js where MediaSource
// exists, else by the browser's own HLS support.
import Hls from "hls.js";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";

interface Props {
  sessionId: string;
  label: string;
}

type PlayerState = "loading" | "playing" | "ended" | "error";

export function Player({ sessionId, label }: Props) {
  const { t } = useTranslation("wall");
  const video = useRef<HTMLVideoElement>(null);
  const [state, setState] = useState<PlayerState>("loading");

  useEffect(() => {
    const element = video.current;
    if (!element) return undefined;
    element.muted = true;
    setState("loading");
    const url = `/api/v1/media/sessions/${encodeURIComponent(sessionId)}/live.m3u8`;
    const play = () => {
      element.play().catch(() => undefined); // autoplay refused: the controls remain
    };
    const onPlaying = () => setState("playing");
    const onEnded = () => setState("ended");
    element.addEventListener("playing", onPlaying);
    element.addEventListener("ended", onEnded);
    let hls: Hls | null = null;
    if (Hls.isSupported()) {
      hls = new Hls({ liveSyncDurationCount: 2, manifestLoadingMaxRetry: 2 });
      hls.on(Hls.Events.ERROR, (_event, data) => {
        if (!data.fatal) return;
        setState("error");
        hls?.destroy();
        hls = null;
      });
      hls.on(Hls.Events.MANIFEST_PARSED, play);
      hls.loadSource(url);
      hls.attachMedia(element);
    } else if (element.canPlayType("application/vnd.apple.mpegurl")) {
      element.src = url;
      play();
    } else {
      setState("error");
    }
    return () => {
      element.removeEventListener("playing", onPlaying);
      element.removeEventListener("ended", onEnded);
      if (hls) hls.destroy();
      else if (element.src) {
        element.removeAttribute("src");
        element.load();
      }
    };
  }, [sessionId]);

  return (
    <div className="wall-player" data-state={state}>
      <video
        ref={video}
        muted
        autoPlay
        playsInline
        controls
        aria-label={label}
        data-testid="wall-video"
        data-session-id={sessionId}
      />
      {state !== "playing" ? (
        <p className={`wall-overlay${state === "error" ? " error" : ""}`} role={state === "error" ? "alert" : "status"}>
          {t(`player.${state}`)}
        </p>
      ) : null}
    </div>
  );
}
