// One recorder in the admin list: state, binding, and its actions (enrollment code shown
// once with its expiry, bind to an officer of its department, unbind, revoke).
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap, type Schemas } from "../../api/client";
import { ErrorLine, useDepartmentName, useFormat } from "./shared";

type Recorder = Schemas["RecorderOut"];
type Officer = Schemas["OfficerOut"];

export function RecorderRow({ recorder, officers }: { recorder: Recorder; officers: Officer[] }) {
  const { t } = useTranslation("admin");
  const queries = useQueryClient();
  const format = useFormat();
  const departmentName = useDepartmentName();
  const [officer, setOfficer] = useState("");
  const [code, setCode] = useState<Schemas["EnrollmentCodeOut"] | null>(null);
  const [revoked, setRevoked] = useState<number | null>(null);
  const refresh = () => void queries.invalidateQueries({ queryKey: ["admin", "recorders"] });
  const path = { params: { path: { recorder_id: recorder.id } } };
  const enroll = useMutation({
    mutationFn: async () =>
      unwrap(await api.POST("/api/v1/devices/{recorder_id}/enrollment-code", path)),
    onSuccess: (issued) => {
      setCode(issued);
      refresh();
    },
  });
  const bind = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/devices/{recorder_id}/binding", {
          ...path,
          body: { officer_id: officer },
        }),
      ),
    onSuccess: refresh,
  });
  const unbind = useMutation({
    mutationFn: async () =>
      unwrap(await api.POST("/api/v1/devices/{recorder_id}/unbind", { ...path, body: {} })),
    onSuccess: refresh,
  });
  const revoke = useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/devices/{recorder_id}/revoke", path)),
    onSuccess: (out) => {
      setRevoked(out.revoked);
      refresh();
    },
  });
  const ownOfficers = officers.filter((o) => o.department_id === recorder.department_id && o.active);
  const bound = recorder.binding ? officers.find((o) => o.id === recorder.binding?.officer_id) : null;
  const online = recorder.latest?.online ?? false;
  return (
    <tr data-testid={`recorder-${recorder.serial}`}>
      <td>{recorder.serial}</td>
      <td>{departmentName(recorder.department_id)}</td>
      <td>{recorder.model ?? "—"}</td>
      <td>
        {t(`recorders.state.${recorder.state}`)}
        {" · "}
        {recorder.enrolled ? t("recorders.enrolled") : t("recorders.notEnrolled")}
        {" · "}
        <span className={online ? "ok" : "muted"}>
          {online ? t("recorders.online") : t("recorders.offline")}
        </span>
        <br />
        <small className="muted">
          {t("recorders.lastSeen")}: {format.date(recorder.latest?.last_seen_at)}
        </small>
      </td>
      <td>
        {recorder.binding ? (
          <>
            {bound ? `${bound.display_name} (${bound.badge_number})` : recorder.binding.officer_id.slice(0, 8)}
            <button type="button" className="secondary small" onClick={() => unbind.mutate()}>
              {t("recorders.unbind")}
            </button>
          </>
        ) : (
          <span className="inline compact">
            <label>
              <span className="sr-only">{t("recorders.officerFor", { serial: recorder.serial })}</span>
              <select
                value={officer}
                aria-label={t("recorders.officerFor", { serial: recorder.serial })}
                onChange={(e) => setOfficer(e.target.value)}
              >
                <option value="">{t("recorders.chooseOfficer")}</option>
                {ownOfficers.map((o) => (
                  <option key={o.id} value={o.id}>
                    {o.display_name} ({o.badge_number})
                  </option>
                ))}
              </select>
            </label>
            <button
              type="button"
              className="secondary small"
              disabled={!officer || bind.isPending}
              onClick={() => bind.mutate()}
            >
              {t("recorders.bind")}
            </button>
          </span>
        )}
      </td>
      <td>
        <div className="actions">
          <button type="button" className="secondary" onClick={() => enroll.mutate()}>
            {t("recorders.issueCode")}
          </button>
          <button
            type="button"
            className="danger"
            disabled={!recorder.enrolled}
            onClick={() => revoke.mutate()}
          >
            {t("recorders.revoke")}
          </button>
        </div>
        {code ? (
          <p role="status" className="once" data-testid="enrollment-code">
            {t("recorders.codeOnce")} <code>{code.code}</code>{" "}
            {t("recorders.expires", { at: format.date(code.expires_at) })}
          </p>
        ) : null}
        {revoked !== null ? (
          <p role="status">{t("recorders.revoked", { count: revoked })}</p>
        ) : null}
        <ErrorLine error={enroll.error ?? bind.error ?? unbind.error ?? revoke.error} />
      </td>
    </tr>
  );
}
