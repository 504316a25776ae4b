// Send a command to one recorder (POST /api/v1/devices/{id}/commands) and follow its state
// (GET /api/v1/devices/commands/{id}) until the recorder has answered.
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, ApiError, unwrap, type Schemas } from "../../api/client";

type Kind = Schemas["CommandCreate"]["kind"];
const KINDS: Kind[] = ["locate_now", "start_recording", "stop_recording", "text_message", "request_live_view"];
const FINAL = new Set(["succeeded", "failed", "rejected", "timed_out", "cancelled"]);

export function CommandForm({ recorderId }: { recorderId: string }) {
  const { t } = useTranslation("map");
  const [kind, setKind] = useState<Kind>("locate_now");
  const [text, setText] = useState("");
  const [reason, setReason] = useState("");
  const [commandId, setCommandId] = useState<string | null>(null);

  const send = useMutation({
    mutationFn: async () => {
      const body: Schemas["CommandCreate"] = {
        kind,
        params: kind === "text_message" ? { text } : {},
        reason: reason.trim() ? reason.trim() : null,
      };
      return unwrap(
        await api.POST("/api/v1/devices/{recorder_id}/commands", {
          params: { path: { recorder_id: recorderId } },
          body,
        }),
      );
    },
    onSuccess: (command) => setCommandId(command.id),
  });

  const command = useQuery({
    queryKey: ["devices", "command", commandId],
    enabled: commandId !== null,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/devices/commands/{command_id}", {
          params: { path: { command_id: commandId ?? "" } },
        }),
      ),
    refetchInterval: (query) => (query.state.data && FINAL.has(query.state.data.state) ? false : 2000),
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setCommandId(null);
    send.mutate();
  };
  const current = command.data ?? send.data;
  const error = send.error instanceof ApiError ? send.error.detail : send.error?.message;

  return (
    <section aria-labelledby="command-heading" className="map-command">
      <h3 id="command-heading">{t("command.title")}</h3>
      <form onSubmit={submit} className="map-command-form">
        <label>
          {t("command.kind")}
          <select aria-label={t("command.kind")} value={kind} onChange={(event) => setKind(event.target.value as Kind)}>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`command.kinds.${k}`)}
              </option>
            ))}
          </select>
        </label>
        {kind === "text_message" ? (
          <label>
            {t("command.text")}
            <input value={text} onChange={(event) => setText(event.target.value)} required maxLength={500} />
          </label>
        ) : null}
        <label>
          {kind === "request_live_view" ? t("command.reasonRequired") : t("command.reason")}
          <input
            value={reason}
            onChange={(event) => setReason(event.target.value)}
            required={kind === "request_live_view"}
            minLength={3}
            maxLength={1000}
          />
        </label>
        <button type="submit" disabled={send.isPending}>
          {t("command.send")}
        </button>
      </form>
      {error ? (
        <p role="alert" className="error">
          {t("command.failed", { detail: error })}
        </p>
      ) : null}
      {current ? (
        <p role="status" data-testid="command-state" data-state={current.state}>
          {t("command.state", {
            kind: t(`command.kinds.${current.kind}`),
            state: t(`command.states.${current.state}`),
          })}
          {current.detail ? ` — ${current.detail}` : ""}
        </p>
      ) : null}
    </section>
  );
}
