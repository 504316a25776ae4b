// Export to a court package (POST /exports with this item): the reason is required; the
// status is polled until the package is built, then offered for download.
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, ApiError, unwrap } from "../../api/client";
import type { ExportJob } from "./data";
import { useFormat } from "./format";

const RUNNING = new Set(["queued", "running"]);

export function ExportPanel({ evidenceId }: { evidenceId: string }) {
  const { t } = useTranslation("evidence");
  const format = useFormat();
  const [reason, setReason] = useState("");
  const [derivatives, setDerivatives] = useState(true);
  const [jobId, setJobId] = useState<string | null>(null);

  const create = useMutation({
    mutationFn: async () =>
      unwrap(await api.POST("/api/v1/exports", { body: { items: [evidenceId], reason, derivatives } })),
    onSuccess: (created) => setJobId(created.id),
  });
  const job = useQuery({
    queryKey: ["exports", jobId],
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/exports/{export_id}", { params: { path: { export_id: jobId ?? "" } } })),
    enabled: jobId !== null,
    refetchInterval: (query) => {
      const data = query.state.data as ExportJob | undefined;
      return data && !RUNNING.has(data.status) ? false : 1500;
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    if (reason.trim()) create.mutate();
  }
  const current = job.data ?? create.data;
  const failure = create.error ?? job.error;

  return (
    <div className="ev-export">
      <form className="inline" onSubmit={submit}>
        <label className="ev-grow">
          {t("export.reason")}
          <input value={reason} onChange={(event) => setReason(event.target.value)} required maxLength={2000} />
        </label>
        <label className="ev-check">
          <input type="checkbox" checked={derivatives} onChange={(event) => setDerivatives(event.target.checked)} />
          {t("export.derivatives")}
        </label>
        <button type="submit" disabled={create.isPending}>
          {t("export.create")}
        </button>
      </form>
      {failure ? (
        <p role="alert" className="error">
          {failure instanceof ApiError ? `${failure.code}: ${failure.detail}` : String(failure)}
        </p>
      ) : null}
      {current ? (
        <dl className="facts" data-testid="export-status" data-status={current.status}>
          <dt>{t("export.status")}</dt>
          <dd>{t(`export.statuses.${current.status}`)}</dd>
          {current.package_size != null ? (
            <>
              <dt>{t("export.size")}</dt>
              <dd>{format.bytes(current.package_size)}</dd>
            </>
          ) : null}
          {current.package_sha256 ? (
            <>
              <dt>SHA-256</dt>
              <dd>
                <code>{current.package_sha256}</code>
              </dd>
            </>
          ) : null}
          {current.expires_at ? (
            <>
              <dt>{t("export.expires")}</dt>
              <dd>{format.dateTime(current.expires_at)}</dd>
            </>
          ) : null}
          {current.error ? (
            <>
              <dt>{t("export.error")}</dt>
              <dd>{current.error}</dd>
            </>
          ) : null}
        </dl>
      ) : null}
      {current?.status === "done" ? (
        <a className="button" href={`/api/v1/exports/${current.id}/package`} download>
          {t("export.download")}
        </a>
      ) : null}
    </div>
  );
}
