// Custody history (GET /evidence/{id}/custody) and the ledger proof status of each entry,
// checked here in the browser against the latest checkpoint (proof.ts).
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError } from "../../api/client";
import { useCustody } from "./data";
import { useFormat } from "./format";
import { checkEntry, type ProofStatus } from "./proof";

export function CustodyPanel({ evidenceId }: { evidenceId: string }) {
  const { t } = useTranslation("evidence");
  const format = useFormat();
  const custody = useCustody(evidenceId);
  const [status, setStatus] = useState<Record<number, ProofStatus>>({});
  const data = custody.data;

  useEffect(() => {
    if (!data) return undefined;
    let live = true;
    void (async () => {
      const found: Record<number, ProofStatus> = {};
      for (const entry of data.entries) {
        found[entry.entry_id] = await checkEntry(
          entry as Parameters<typeof checkEntry>[0],
          data.checkpoint.size,
          data.checkpoint.root,
        );
      }
      if (live) setStatus(found);
    })();
    return () => {
      live = false;
    };
  }, [data]);

  if (custody.error) {
    return (
      <p role="alert" className="error">
        {custody.error instanceof ApiError ? custody.error.detail : String(custody.error)}
      </p>
    );
  }
  if (!data) return <p className="muted">{t("common:common.loading")}</p>;
  const values = data.entries.map((e) => status[e.entry_id]);
  const verified = values.filter((v) => v === "verified").length;
  const failed = values.filter((v) => v === "failed").length;
  const summary = failed > 0 ? "failed" : verified === data.entries.length ? "verified" : "partial";

  return (
    <div className="ev-custody">
      <p className={`ev-proof ev-proof-${summary}`} data-testid="proof-summary" data-status={summary}>
        {t(`custody.summary.${summary}`, {
          verified: verified,
          total: data.entries.length,
          size: format.number(data.checkpoint.size),
        })}
      </p>
      <dl className="facts">
        <dt>{t("custody.checkpoint")}</dt>
        <dd>
          {t("custody.checkpointOf", { size: format.number(data.checkpoint.size) })} ·{" "}
          {format.dateTime(data.checkpoint.created_at)}
        </dd>
        <dt>{t("custody.root")}</dt>
        <dd>
          <code>{data.checkpoint.root}</code>
        </dd>
        <dt>{t("custody.pending")}</dt>
        <dd>{format.number(data.pending)}</dd>
      </dl>
      <details>
        <summary>{t("custody.note")}</summary>
        <pre className="ev-note">{data.checkpoint.note}</pre>
      </details>
      <table>
        <caption className="sr-only">{t("custody.title")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("custody.index")}</th>
            <th scope="col">{t("custody.event")}</th>
            <th scope="col">{t("custody.at")}</th>
            <th scope="col">{t("custody.proof")}</th>
          </tr>
        </thead>
        <tbody>
          {data.entries.map((entry) => {
            const leaf = entry.leaf as Record<string, unknown>;
            const state = status[entry.entry_id];
            return (
              <tr key={entry.entry_id} data-testid="custody-entry">
                <td>{entry.index === null ? "—" : format.number(entry.index)}</td>
                <td>{t(`custody.kinds.${entry.kind}`, { defaultValue: entry.kind })}</td>
                <td>{format.dateTime(typeof leaf["at"] === "string" ? leaf["at"] : null)}</td>
                <td className={`ev-proof-${state ?? "checking"}`}>{t(`custody.status.${state ?? "checking"}`)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
