// What an operator does to an alert (POST /api/v1/alerts/{id}/transitions, alerts:act in its
// department): acknowledge, dispatch, resolve (confirm) or mark false, with an optional
// note. Only the actions valid from the current state are offered. For an alert raised by
// an analyzer's finding, confirm / false also become that finding's review, which feeds
// the analyzer's precision (GET /api/v1/analysis/precision).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, ApiError, unwrap } from "../../api/client";
import { useAuth } from "../../app/auth";
import { ACTIONS, mayIn, useFormat, type AlertDetail } from "./format";

type Action = "acknowledge" | "dispatch" | "resolve" | "false_alarm";
const ORDER: Action[] = ["acknowledge", "dispatch", "resolve", "false_alarm"];

function Precision({ analyzer }: { analyzer: string }) {
  const { t } = useTranslation("alerts");
  const format = useFormat();
  const { can } = useAuth();
  const precision = useQuery({
    queryKey: ["analysis", "precision"],
    queryFn: async () => unwrap(await api.GET("/api/v1/analysis/precision")),
    enabled: can("analysis:read"),
  });
  const row = precision.data?.find((p) => p.analyzer === analyzer);
  return (
    <p className="muted small" data-testid="alert-precision">
      {t("actions.feedsPrecision", { analyzer })}{" "}
      {row && row.precision != null
        ? t("actions.precisionNow", {
            precision: format.percent(row.precision),
            confirmed: format.number(row.confirmed),
            false: format.number(row.false),
          })
        : null}
    </p>
  );
}

export function AlertActions({ alert }: { alert: AlertDetail }) {
  const { t } = useTranslation("alerts");
  const { me } = useAuth();
  const queries = useQueryClient();
  const noteId = useId();
  const [note, setNote] = useState("");
  const fromFinding = typeof alert.details["finding_id"] === "number";
  const analyzer = typeof alert.details["analyzer"] === "string" ? alert.details["analyzer"] : null;

  const act = useMutation({
    mutationFn: async (action: Action) =>
      unwrap(
        await api.POST("/api/v1/alerts/{alert_id}/transitions", {
          params: { path: { alert_id: alert.id } },
          body: { action, note: note.trim() || null },
        }),
      ),
    onSuccess: () => {
      setNote("");
      void queries.invalidateQueries({ queryKey: ["alerts"] });
      void queries.invalidateQueries({ queryKey: ["analysis", "precision"] });
    },
    // A 409: someone acted first; show the alert as it is now.
    onError: () => void queries.invalidateQueries({ queryKey: ["alerts"] }),
  });

  if (!mayIn(me, "alerts:act", alert.department_id)) return null;
  const valid = ORDER.filter((action) => (ACTIONS[action] ?? []).includes(alert.state));
  if (valid.length === 0) return null;
  const label = (action: Action) =>
    fromFinding && action === "resolve" ? t("actions.confirm") : t(`actions.${action}`);

  return (
    <section className="alert-actions" aria-labelledby="alert-actions-title">
      <h3 id="alert-actions-title">{t("actions.title")}</h3>
      <label htmlFor={noteId}>{t("actions.note")}</label>
      <textarea id={noteId} value={note} maxLength={2000} rows={2} onChange={(event) => setNote(event.target.value)} />
      <div className="alert-action-buttons">
        {valid.map((action) => (
          <button
            key={action}
            type="button"
            className={action === "false_alarm" ? "secondary" : action === "acknowledge" ? "" : "secondary"}
            disabled={act.isPending}
            onClick={() => act.mutate(action)}
            data-action={action}
          >
            {label(action)}
          </button>
        ))}
      </div>
      {fromFinding && analyzer ? <Precision analyzer={analyzer} /> : null}
      {act.error ? (
        <p role="alert" className="error">
          {act.error instanceof ApiError && act.error.code === "alert_transition_not_allowed"
            ? t("actions.notAllowed")
            : t("actions.failed", { detail: act.error instanceof ApiError ? act.error.detail : String(act.error) })}
        </p>
      ) : null}
    </section>
  );
}
