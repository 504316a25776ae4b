// One watch-listed person: facts, enrolment photos (add, delete), candidates (faces:match),
// and taking the person off the list.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router-dom";
import { api, fetchRaw, unwrap } from "../../api/client";
import { useAuth } from "../../app/auth";
import { ErrorLine, useDate } from "./common";

export function PersonDetail({ personId }: { personId: string }) {
  const { t } = useTranslation("watchlists");
  const { can } = useAuth();
  const date = useDate();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const key = ["watchlists", "person", personId];
  const person = useQuery({
    queryKey: key,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/watchlists/faces/persons/{person_id}", {
          params: { path: { person_id: personId } },
        }),
      ),
  });
  const [file, setFile] = useState<File | null>(null);
  const upload = useMutation({
    mutationFn: async () =>
      fetchRaw(`/api/v1/watchlists/faces/persons/${personId}/photos`, {
        method: "POST",
        body: file,
        headers: { "Content-Type": file?.type || "image/jpeg" },
      }),
    onSuccess: () => void queries.invalidateQueries({ queryKey: key }),
  });
  const deletePhoto = useMutation({
    mutationFn: async (photoId: string) =>
      fetchRaw(`/api/v1/watchlists/faces/persons/${personId}/photos/${photoId}`, { method: "DELETE" }),
    onSuccess: () => void queries.invalidateQueries({ queryKey: key }),
  });
  const remove = useMutation({
    mutationFn: async () => fetchRaw(`/api/v1/watchlists/faces/persons/${personId}`, { method: "DELETE" }),
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: ["watchlists", "persons"] });
      navigate("/watchlists/persons");
    },
  });
  if (person.error) return <ErrorLine error={person.error} />;
  if (!person.data) return <p>{t("common:common.loading")}</p>;
  const p = person.data;
  const manage = can("watchlists:manage") && p.removed_at === null;
  return (
    <div>
      <p>
        <Link to="/watchlists/persons">{t("persons.back")}</Link>
      </p>
      <h2>{p.label}</h2>
      <dl className="facts">
        <dt>{t("persons.reason")}</dt>
        <dd>{p.reason}</dd>
        <dt>{t("persons.expires")}</dt>
        <dd>{date(p.expires_at)}</dd>
        <dt>{t("persons.added")}</dt>
        <dd>{date(p.created_at)}</dd>
        <dt>{t("persons.state")}</dt>
        <dd>{p.active ? t("plates.active") : t("plates.inactive")}</dd>
      </dl>
      <h3>{t("persons.photos")}</h3>
      <p className="muted">{t("persons.photosHelp")}</p>
      <ul className="photos">
        {(p.photos ?? []).map((photo) => (
          <li key={photo.id}>
            <code>{photo.photo_sha256.slice(0, 16)}…</code> · {date(photo.created_at)}
            {manage ? (
              <button type="button" className="secondary" onClick={() => deletePhoto.mutate(photo.id)}>
                {t("persons.deletePhoto")}
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      {manage ? (
        <form
          className="inline"
          aria-label={t("persons.addPhoto")}
          onSubmit={(event) => {
            event.preventDefault();
            if (file) upload.mutate();
          }}
        >
          <label>
            {t("persons.photoFile")}
            <input type="file" accept="image/jpeg,image/png,image/webp,image/bmp" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
          </label>
          <button type="submit" disabled={!file || upload.isPending}>
            {t("persons.addPhoto")}
          </button>
        </form>
      ) : null}
      <ErrorLine error={upload.error ?? deletePhoto.error} />
      {can("faces:match") ? <Candidates personId={personId} /> : null}
      {manage ? (
        <p>
          <button type="button" className="danger" onClick={() => remove.mutate()}>
            {t("persons.remove")}
          </button>
        </p>
      ) : null}
      <ErrorLine error={remove.error} />
    </div>
  );
}

function Candidates({ personId }: { personId: string }) {
  const { t } = useTranslation("watchlists");
  const date = useDate();
  const hits = useQuery({
    queryKey: ["watchlists", "person-hits", personId],
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/watchlists/faces/persons/{person_id}/hits", {
          params: { path: { person_id: personId } },
        }),
      ).items,
  });
  return (
    <section className="panel" aria-label={t("persons.candidates")}>
      <h3>{t("persons.candidates")}</h3>
      <p className="muted">{t("persons.candidatesHelp")}</p>
      <ErrorLine error={hits.error} />
      {hits.data?.length === 0 ? <p className="muted">{t("plates.noHits")}</p> : null}
      <ul className="hits">
        {(hits.data ?? []).map((hit) => (
          <li key={hit.finding_id}>
            <Link to={`/evidence/${hit.evidence_id}?t=${hit.offset_s}`}>
              {t("persons.candidateLine", { offset: hit.offset_s.toFixed(1), distance: hit.distance?.toFixed(2) ?? "?" })}
            </Link>{" "}
            <span className="muted">
              {hit.review_state ? t(`persons.review.${hit.review_state}`) : t("persons.review.open")} · {date(hit.created_at)}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
