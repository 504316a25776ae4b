// One evidence item: the player with its AI-findings timeline and the transcript beside it,
// then tabs for the details, custody and ledger proof, export and redaction review.
import { useCallback, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router-dom";
import { ApiError } from "../../api/client";
import { useAuth } from "../../app/auth";
import { CustodyPanel } from "./CustodyPanel";
import { useCategories, useEvidence, useFindings, type Evidence } from "./data";
import { ExportPanel } from "./ExportPanel";
import { useFormat } from "./format";
import { Player } from "./Player";
import { RedactionPanel } from "./RedactionPanel";
import { Timeline } from "./Timeline";
import { TranscriptPanel } from "./TranscriptPanel";

const TABS = ["details", "custody", "export", "redaction"] as const;
type Tab = (typeof TABS)[number];

function Details({ item }: { item: Evidence }) {
  const { t, i18n } = useTranslation("evidence");
  const format = useFormat();
  const categories = useCategories();
  const category = categories.data?.find((c) => c.id === item.category_id);
  const zh = i18n.language.startsWith("zh");
  const rows: [string, string][] = [
    [t("details.kind"), t(`kind.${item.kind}`)],
    [t("details.state"), t(`state.${item.state}`)],
    [t("details.captured"), `${format.dateTime(item.captured_start)} – ${format.dateTime(item.captured_end)}`],
    [t("details.duration"), item.duration_seconds != null ? format.clock(item.duration_seconds) : "—"],
    [t("details.recorder"), item.recorder_serial ?? "—"],
    [t("details.category"), category ? (zh && category.name_zh ? category.name_zh : category.name) : "—"],
    [t("details.classification"), t(`classification.${item.classification}`, { defaultValue: item.classification })],
    [t("details.size"), format.bytes(item.size_bytes)],
    [t("details.media"), [item.media_type, item.video_codec, item.audio_codec].filter(Boolean).join(" · ")],
    [t("details.dimensions"), item.width && item.height ? `${item.width} × ${item.height}` : "—"],
    [t("details.tags"), item.tags.join(", ") || "—"],
    [t("details.retainUntil"), format.dateTime(item.retain_until)],
    [t("details.ingested"), `${format.dateTime(item.created_at)} · ${t(`channel.${item.ingest_channel}`, { defaultValue: item.ingest_channel })}`],
    ["SHA-256", item.sha256],
  ];
  return (
    <dl className="facts" data-testid="evidence-details">
      {rows.map(([label, value]) => (
        <div key={label} className="ev-fact">
          <dt>{label}</dt>
          <dd>{label === "SHA-256" ? <code>{value}</code> : value}</dd>
        </div>
      ))}
      {item.notes ? (
        <div className="ev-fact">
          <dt>{t("details.notes")}</dt>
          <dd className="ev-notes">{item.notes}</dd>
        </div>
      ) : null}
    </dl>
  );
}

export function ItemPage() {
  const { t } = useTranslation("evidence");
  const { id = "" } = useParams();
  const { can } = useAuth();
  const item = useEvidence(id);
  const findings = useFindings(id, can("analysis:read") && item.isSuccess);
  const video = useRef<HTMLVideoElement | null>(null);
  const [time, setTime] = useState(0);
  const [duration, setDuration] = useState(0);
  const [tab, setTab] = useState<Tab>("details");

  const seek = useCallback((seconds: number) => {
    const element = video.current;
    if (!element) return;
    element.currentTime = seconds;
    setTime(seconds);
  }, []);

  if (item.error) {
    const missing = item.error instanceof ApiError && item.error.status === 404;
    return (
      <section className="ev-item">
        <p role="alert" className="error">
          {missing ? t("item.notFound") : String(item.error)}
        </p>
        <Link to="/evidence">{t("item.back")}</Link>
      </section>
    );
  }
  if (!item.data) return <p className="page-message">{t("common:common.loading")}</p>;
  const data = item.data;
  const found = findings.data ?? [];
  const spoken = found.some((f) => f.analyzer === "speech");
  const tabs = TABS.filter(
    (name) =>
      (name !== "export" || can("evidence:export")) &&
      (name !== "redaction" || (can("redaction:review") && data.kind === "video")),
  );

  return (
    <section className="ev-item" aria-labelledby="ev-item-title">
      <p className="ev-back">
        <Link to="/evidence">{t("item.back")}</Link>
      </p>
      <h1 id="ev-item-title">{data.original_filename}</h1>
      <div className="ev-stage">
        <div className="ev-main">
          <Player item={data} video={video} onTime={setTime} onDuration={setDuration} />
          <section className="panel" aria-labelledby="ev-timeline-title">
            <h2 id="ev-timeline-title">{t("timeline.title")}</h2>
            {findings.error ? (
              <p role="alert" className="error">
                {String(findings.error)}
              </p>
            ) : null}
            {can("analysis:read") ? (
              <Timeline findings={found} duration={duration || data.duration_seconds || 0} time={time} onSeek={seek} />
            ) : (
              <p className="muted">{t("timeline.noPermission")}</p>
            )}
          </section>
        </div>
        <TranscriptPanel evidenceId={id} enabled={spoken} time={time} onSeek={seek} />
      </div>
      <div className="tabs" role="tablist" aria-label={t("item.sections")}>
        {tabs.map((name) => (
          <button
            key={name}
            type="button"
            role="tab"
            id={`ev-tab-${name}`}
            aria-selected={tab === name}
            aria-controls={`ev-panel-${name}`}
            onClick={() => setTab(name)}
          >
            {t(`item.tabs.${name}`)}
          </button>
        ))}
      </div>
      <div className="panel" role="tabpanel" id={`ev-panel-${tab}`} aria-labelledby={`ev-tab-${tab}`}>
        {tab === "details" ? <Details item={data} /> : null}
        {tab === "custody" ? <CustodyPanel evidenceId={id} /> : null}
        {tab === "export" ? <ExportPanel evidenceId={id} /> : null}
        {tab === "redaction" ? <RedactionPanel evidenceId={id} /> : null}
      </div>
    </section>
  );
}
