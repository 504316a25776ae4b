// The player: the item's browser proxy (or its original when no proxy exists), asking for a
// reason first when the item's department requires one. The API audits every byte range.
import { useState, type FormEvent, type RefObject } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, fetchRaw } from "../../api/client";
import { useAuth } from "../../app/auth";
import { useDepartment, type Evidence } from "./data";

interface Props {
  item: Evidence;
  video: RefObject<HTMLVideoElement | null>;
  onTime: (seconds: number) => void;
  onDuration: (seconds: number) => void;
}

export function mediaPath(item: Evidence): string | null {
  if (item.derivatives?.includes("proxy")) return `/api/v1/evidence/${item.id}/proxy`;
  if (item.kind === "video" || item.kind === "audio") return `/api/v1/evidence/${item.id}/content`;
  return null;
}

export function Player({ item, video, onTime, onDuration }: Props) {
  const { t } = useTranslation("evidence");
  const { can } = useAuth();
  const department = useDepartment(item.department_id);
  const [refused, setRefused] = useState(false); // the API answered reason_required
  const needsReason = department.data?.reason_required_for_playback === true || refused;
  const [reason, setReason] = useState("");
  const [confirmed, setConfirmed] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const path = mediaPath(item);

  if (!path) return <p className="muted">{t("player.notPlayable")}</p>;
  if (!can("evidence:play")) return <p className="muted">{t("player.noPermission")}</p>;
  if (department.isLoading) return <p className="muted">{t("common:common.loading")}</p>;
  if (needsReason && confirmed === null) {
    const submit = (event: FormEvent) => {
      event.preventDefault();
      if (reason.trim()) setConfirmed(reason.trim());
    };
    return (
      <form className="panel ev-reason inline" onSubmit={submit}>
        <label className="ev-grow">
          {t("player.reason")}
          <input value={reason} onChange={(event) => setReason(event.target.value)} required maxLength={500} />
        </label>
        <button type="submit">{t("player.start")}</button>
      </form>
    );
  }
  const src = confirmed ? `${path}?reason=${encodeURIComponent(confirmed)}` : path;

  async function explain() {
    try {
      await fetchRaw(src, { headers: { Range: "bytes=0-0" } });
      setError(t("player.failed", { detail: t("player.decode") }));
    } catch (caught) {
      if (caught instanceof ApiError && caught.code === "reason_required" && confirmed === null) {
        setRefused(true);
        return;
      }
      const detail = caught instanceof ApiError ? `${caught.code}: ${caught.detail}` : String(caught);
      setError(t("player.failed", { detail }));
    }
  }

  return (
    <div className="ev-player">
      <video
        ref={video}
        src={src}
        controls
        preload="metadata"
        playsInline
        data-testid="evidence-video"
        aria-label={t("player.label", { name: item.original_filename })}
        onTimeUpdate={(event) => onTime(event.currentTarget.currentTime)}
        onSeeked={(event) => onTime(event.currentTarget.currentTime)}
        onLoadedMetadata={(event) => {
          const duration = event.currentTarget.duration;
          if (Number.isFinite(duration)) onDuration(duration);
        }}
        onError={() => void explain()}
      />
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
    </div>
  );
}
