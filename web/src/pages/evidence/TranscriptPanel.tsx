// The transcript beside the player: the segment being played is highlighted (and kept in
// view), a filter narrows the segments, and a segment jumps the video to where it is said.
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError } from "../../api/client";
import { useTranscript } from "./data";
import { useFormat } from "./format";

interface Props {
  evidenceId: string;
  enabled: boolean;
  time: number;
  onSeek: (seconds: number) => void;
}

export function TranscriptPanel({ evidenceId, enabled, time, onSeek }: Props) {
  const { t } = useTranslation("evidence");
  const format = useFormat();
  const transcript = useTranscript(evidenceId, enabled);
  const [filter, setFilter] = useState("");
  const list = useRef<HTMLOListElement>(null);
  const segments = transcript.data?.segments ?? [];
  const current = segments.find((s) => s.offset_s <= time && time < s.end_s)?.finding_id ?? null;
  const needle = filter.trim().toLocaleLowerCase();
  const shown = needle ? segments.filter((s) => s.text.toLocaleLowerCase().includes(needle)) : segments;

  useEffect(() => {
    const box = list.current;
    const row = box?.querySelector<HTMLElement>('[aria-current="true"]');
    if (!box || !row) return;
    if (row.offsetTop < box.scrollTop || row.offsetTop + row.offsetHeight > box.scrollTop + box.clientHeight) {
      box.scrollTop = row.offsetTop - box.clientHeight / 3;
    }
  }, [current]);

  return (
    <section className="panel ev-transcript" aria-labelledby="ev-transcript-title">
      <h2 id="ev-transcript-title">{t("transcript.title")}</h2>
      {!enabled ? <p className="muted">{t("transcript.none")}</p> : null}
      {transcript.error ? (
        <p role="alert" className="error">
          {transcript.error instanceof ApiError ? transcript.error.detail : String(transcript.error)}
        </p>
      ) : null}
      {enabled && transcript.data ? (
        <>
          <label className="ev-transcript-filter">
            {t("transcript.search")}
            <input type="search" value={filter} onChange={(event) => setFilter(event.target.value)} />
          </label>
          <p className="muted" aria-live="polite">
            {t("transcript.matches", { count: shown.length, total: segments.length })}
          </p>
          <ol className="ev-segments" ref={list}>
            {shown.map((segment) => (
              <li key={segment.finding_id}>
                <button
                  type="button"
                  className="ev-segment"
                  aria-current={segment.finding_id === current ? "true" : undefined}
                  data-testid="transcript-segment"
                  data-offset={segment.offset_s}
                  onClick={() => onSeek(segment.offset_s)}
                >
                  <span className="ev-segment-time">{format.clock(segment.offset_s)}</span>
                  <span>{segment.text}</span>
                </button>
              </li>
            ))}
          </ol>
          <a className="button secondary" href={`/api/v1/evidence/${evidenceId}/transcript.vtt`} download>
            {t("transcript.vtt")}
          </a>
        </>
      ) : null}
    </section>
  );
}
