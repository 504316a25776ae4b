// Categories and retention policies: every category's keep period, legal basis and what it
// applies to; a platform admin changes the period (PATCH /evidence/categories/{id}).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap, type Schemas } from "../../api/client";
import { useAuth } from "../../app/auth";
import { ErrorLine, useFormat } from "./shared";

type Category = Schemas["CategoryOut"];

function PolicyForm({ category, onDone }: { category: Category; onDone: () => void }) {
  const { t } = useTranslation("admin");
  const queries = useQueryClient();
  const [permanent, setPermanent] = useState(category.retention_days === null);
  const [days, setDays] = useState(String(category.retention_days ?? 180));
  const [basis, setBasis] = useState(category.legal_basis);
  const save = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.PATCH("/api/v1/evidence/categories/{category_id}", {
          params: { path: { category_id: category.id } },
          body: { retention_days: permanent ? null : Number(days), legal_basis: basis },
        }),
      ),
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: ["admin", "categories"] });
      onDone();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  return (
    <form
      className="inline"
      onSubmit={submit}
      aria-label={t("retention.editFor", { code: category.code })}
    >
      <label className="check">
        <input type="checkbox" checked={permanent} onChange={(e) => setPermanent(e.target.checked)} />
        {t("retention.permanent")}
      </label>
      <label>
        {t("retention.days")}
        <input
          type="number"
          min={1}
          max={36500}
          required={!permanent}
          disabled={permanent}
          value={days}
          onChange={(e) => setDays(e.target.value)}
        />
      </label>
      <label className="wide">
        {t("retention.legalBasis")}
        <input value={basis} maxLength={500} onChange={(e) => setBasis(e.target.value)} />
      </label>
      <button type="submit" disabled={save.isPending}>
        {t("common:common.save")}
      </button>
      <button type="button" className="secondary" onClick={onDone}>
        {t("common:common.cancel")}
      </button>
      <ErrorLine error={save.error} />
    </form>
  );
}

export default function Retention() {
  const { t, i18n } = useTranslation("admin");
  const { me } = useAuth();
  const format = useFormat();
  const [editing, setEditing] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ["admin", "categories"],
    queryFn: async () => unwrap(await api.GET("/api/v1/evidence/categories")).items,
  });
  const canEdit = me?.platform_admin ?? false;
  return (
    <div>
      <p className="muted explain">{t("retention.explain")}</p>
      {canEdit ? null : <p className="muted">{t("retention.readOnly")}</p>}
      <ErrorLine error={list.error} />
      <table aria-label={t("tab.retention")}>
        <thead>
          <tr>
            <th scope="col">{t("retention.category")}</th>
            <th scope="col">{t("retention.appliesTo")}</th>
            <th scope="col">{t("retention.keep")}</th>
            <th scope="col">{t("retention.legalBasis")}</th>
            {canEdit ? <th scope="col">{t("actions")}</th> : null}
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((c) => (
            <tr key={c.id} data-testid={`category-${c.code}`}>
              <td>
                {i18n.language === "zh-CN" && c.name_zh ? c.name_zh : c.name}
                <br />
                <code className="muted">{c.code}</code>
              </td>
              <td>
                {t(c.evidentiary ? "retention.evidentiary" : "retention.nonEvidentiary")}
                <br />
                <small className="muted">
                  {t("retention.defaultClassification", {
                    level: t(`clearance.${c.default_classification}`),
                  })}
                </small>
              </td>
              <td data-testid="keep">
                {c.retention_days === null
                  ? t("retention.permanent")
                  : t("retention.daysValue", {
                      count: c.retention_days,
                      days: format.number(c.retention_days),
                    })}
              </td>
              <td>
                {editing === c.id ? (
                  <PolicyForm category={c} onDone={() => setEditing(null)} />
                ) : (
                  c.legal_basis || "—"
                )}
              </td>
              {canEdit ? (
                <td>
                  {editing === c.id ? null : (
                    <button
                      type="button"
                      className="secondary"
                      aria-label={t("retention.editFor", { code: c.code })}
                      onClick={() => setEditing(c.id)}
                    >
                      {t("common:common.edit")}
                    </button>
                  )}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
