// One plate watch list: its entries, a form to add one, and each entry's hits.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";
import { api, unwrap } from "../../api/client";
import { useAuth } from "../../app/auth";
import { daysFromNow, ErrorLine, localToIso, useDate } from "./common";

export function PlateListDetail({ listId }: { listId: string }) {
  const { t } = useTranslation("watchlists");
  const { can } = useAuth();
  const date = useDate();
  const queries = useQueryClient();
  const [activeOnly, setActiveOnly] = useState(true);
  const [hitsOf, setHitsOf] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ["watchlists", "plates", "list", listId, activeOnly],
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/watchlists/plates/{list_id}", {
          params: { path: { list_id: listId }, query: { active_only: activeOnly } },
        }),
      ),
  });
  const remove = useMutation({
    mutationFn: async (entryId: string) =>
      unwrap(
        await api.DELETE("/api/v1/watchlists/plates/{list_id}/entries/{entry_id}", {
          params: { path: { list_id: listId, entry_id: entryId } },
        }),
      ),
    onSuccess: () => void queries.invalidateQueries({ queryKey: ["watchlists", "plates"] }),
  });
  if (list.error) return <ErrorLine error={list.error} />;
  if (!list.data) return <p>{t("common:common.loading")}</p>;
  const manage = can("watchlists:manage");
  return (
    <div>
      <p>
        <Link to="/watchlists/plates">{t("plates.back")}</Link>
      </p>
      <h2>
        {list.data.name} <span className="pill">{t(`kinds.${list.data.kind}`)}</span>
      </h2>
      {list.data.description ? <p className="muted">{list.data.description}</p> : null}
      <label className="checkbox">
        <input type="checkbox" checked={activeOnly} onChange={(e) => setActiveOnly(e.target.checked)} />
        {t("plates.activeOnly")}
      </label>
      <table aria-label={t("plates.entries")}>
        <thead>
          <tr>
            <th scope="col">{t("plates.plate")}</th>
            <th scope="col">{t("plates.country")}</th>
            <th scope="col">{t("plates.reason")}</th>
            <th scope="col">{t("plates.expires")}</th>
            <th scope="col">{t("plates.state")}</th>
            <th scope="col">{t("plates.actions")}</th>
          </tr>
        </thead>
        <tbody>
          {list.data.entries.map((entry) => (
            <tr key={entry.id} className={hitsOf === entry.id ? "selected" : undefined}>
              <td className="plate">{entry.plate}</td>
              <td>{entry.country ?? t("plates.anyCountry")}</td>
              <td>{entry.reason}</td>
              <td>{date(entry.expires_at)}</td>
              <td>{entry.active ? t("plates.active") : t("plates.inactive")}</td>
              <td className="actions">
                <button
                  type="button"
                  className="secondary"
                  aria-pressed={hitsOf === entry.id}
                  onClick={() => setHitsOf(hitsOf === entry.id ? null : entry.id)}
                >
                  {t("plates.hits")}
                </button>
                {manage && entry.removed_at === null ? (
                  <button
                    type="button"
                    className="danger"
                    onClick={() => remove.mutate(entry.id)}
                    aria-label={t("plates.removeEntry", { plate: entry.plate })}
                  >
                    {t("plates.remove")}
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ErrorLine error={remove.error} />
      {hitsOf ? <Hits listId={listId} entryId={hitsOf} /> : null}
      {manage ? <NewEntry listId={listId} /> : null}
    </div>
  );
}

function Hits({ listId, entryId }: { listId: string; entryId: string }) {
  const { t, i18n } = useTranslation("watchlists");
  const date = useDate();
  const hits = useQuery({
    queryKey: ["watchlists", "plates", "hits", entryId],
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/watchlists/plates/{list_id}/entries/{entry_id}/hits", {
          params: { path: { list_id: listId, entry_id: entryId } },
        }),
      ).items,
  });
  const percent = new Intl.NumberFormat(i18n.language, { style: "percent", maximumFractionDigits: 0 });
  return (
    <section className="panel" aria-label={t("plates.hitsTitle")}>
      <h3>{t("plates.hitsTitle")}</h3>
      <ErrorLine error={hits.error} />
      {hits.data?.length === 0 ? <p className="muted">{t("plates.noHits")}</p> : null}
      <ul className="hits">
        {(hits.data ?? []).map((hit) => (
          <li key={hit.finding_id}>
            <Link to={`/evidence/${hit.evidence_id}?t=${hit.offset_s}`}>
              {t("plates.hitLine", { plate: hit.display ?? hit.plate, offset: hit.offset_s.toFixed(1) })}
            </Link>{" "}
            <span className="muted">
              {percent.format(hit.confidence)} · {hit.exact ? t("plates.exact") : t("plates.tolerant")} ·{" "}
              {date(hit.created_at)}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function NewEntry({ listId }: { listId: string }) {
  const { t } = useTranslation("watchlists");
  const queries = useQueryClient();
  const [plate, setPlate] = useState("");
  const [country, setCountry] = useState("");
  const [reason, setReason] = useState("");
  const [expires, setExpires] = useState(daysFromNow(90));
  const add = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/watchlists/plates/{list_id}/entries", {
          params: { path: { list_id: listId } },
          body: { plate, reason, country: country || null, expires_at: localToIso(expires) },
        }),
      ),
    onSuccess: () => {
      setPlate("");
      setReason("");
      void queries.invalidateQueries({ queryKey: ["watchlists", "plates"] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate();
  };
  return (
    <form className="panel inline" onSubmit={submit} aria-label={t("plates.newEntry")}>
      <h3>{t("plates.newEntry")}</h3>
      <label>
        {t("plates.plate")}
        <input value={plate} onChange={(e) => setPlate(e.target.value)} required maxLength={20} />
      </label>
      <label>
        {t("plates.country")}
        <input
          value={country}
          onChange={(e) => setCountry(e.target.value.toUpperCase())}
          pattern="[A-Za-z]{2}"
          maxLength={2}
          size={3}
          placeholder="CN"
        />
      </label>
      <label>
        {t("plates.reason")}
        <input value={reason} onChange={(e) => setReason(e.target.value)} required />
      </label>
      <label>
        {t("plates.expires")}
        <input type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} />
      </label>
      <button type="submit" disabled={add.isPending}>
        {t("plates.add")}
      </button>
      <ErrorLine error={add.error} />
    </form>
  );
}
