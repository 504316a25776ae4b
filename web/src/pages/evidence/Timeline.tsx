// The AI findings under the player: one row per kind (plates, faces, cues, speech, keywords),
// each finding a button at its offset; clicking it (or focus + Enter) jumps the video there.
import { useTranslation } from "react-i18next";
import { findingGroup, findingText, type Finding } from "./data";
import { useFormat } from "./format";

const GROUPS = ["plates", "faces", "cues", "speech", "keyword"] as const;

interface Props {
  findings: Finding[];
  duration: number;
  time: number;
  onSeek: (seconds: number) => void;
}

export function Timeline({ findings, duration, time, onSeek }: Props) {
  const { t } = useTranslation("evidence");
  const format = useFormat();
  const span = Math.max(duration, ...findings.map((f) => f.offset_s + (f.duration_s ?? 0)), 1);
  const percent = (seconds: number) => `${Math.min(100, Math.max(0, (seconds / span) * 100))}%`;
  const groups = GROUPS.map((group) => ({
    group,
    items: findings.filter((f) => findingGroup(f) === group),
  })).filter((g) => g.items.length > 0);

  if (findings.length === 0) return <p className="muted">{t("timeline.none")}</p>;
  return (
    <div className="ev-timeline" role="group" aria-label={t("timeline.title")}>
      {groups.map(({ group, items }) => (
        <div className="ev-track" key={group}>
          <span className="ev-track-label">
            {t(`timeline.group.${group}`)} ({format.number(items.length)})
          </span>
          <div className="ev-track-bar">
            <span className="ev-playhead" style={{ left: percent(time) }} aria-hidden="true" />
            {items.map((finding) => {
              const text = findingText(finding);
              const label = t("timeline.mark", { what: text, at: format.clock(finding.offset_s) });
              return (
                <button
                  key={finding.id}
                  type="button"
                  className={`ev-mark ev-mark-${group}`}
                  style={{ left: percent(finding.offset_s) }}
                  aria-label={label}
                  title={label}
                  data-testid="finding-mark"
                  data-offset={finding.offset_s}
                  data-text={text}
                  onClick={() => onSeek(finding.offset_s)}
                />
              );
            })}
          </div>
        </div>
      ))}
    </div>
  );
}
