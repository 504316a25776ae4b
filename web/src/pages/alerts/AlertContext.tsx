// Where and what matched: the alert's location on a mini map (BaseMap) and, for watch-list
// alerts, the entry it matched, read from the finding that raised it (GET
// /api/v1/evidence/{id}/analysis/findings: the finding's `watchlist` attribute carries the
// list, the listed plate or person and the reason).
import { useQuery } from "@tanstack/react-query";
import L from "leaflet";
import { useCallback } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";
import { api, unwrap } from "../../api/client";
import { useAuth } from "../../app/auth";
import { BaseMap } from "../../components/BaseMap";
import { shortId, useFormat, type AlertDetail } from "./format";

const WINDOW_S = 0.001;

export function AlertMiniMap({ alert }: { alert: AlertDetail }) {
  const { t } = useTranslation("alerts");
  const format = useFormat();
  const { lat, lon } = alert;
  const ready = useCallback(
    (map: L.Map) => {
      if (lat == null || lon == null) return;
      map.setView([lat, lon], Math.max(map.getZoom(), 15));
      L.circleMarker([lat, lon], {
        radius: 9,
        color: "#b91c1c",
        weight: 3,
        fillColor: "#ef4444",
        fillOpacity: 0.6,
      })
        .bindTooltip(alert.title)
        .addTo(map);
      // The marker is drawn on canvas: say where it is for assistive tech and tests.
      map.getContainer().dataset["marker"] = `${lat},${lon}`;
    },
    [lat, lon, alert.title],
  );
  if (lat == null || lon == null) {
    return (
      <section aria-labelledby="alert-where">
        <h3 id="alert-where">{t("where.title")}</h3>
        <p className="muted">{t("where.unknown")}</p>
      </section>
    );
  }
  return (
    <section aria-labelledby="alert-where">
      <h3 id="alert-where">{t("where.title")}</h3>
      <p className="muted small">
        {t("where.at", { lat: format.coordinate(lat), lon: format.coordinate(lon) })}
      </p>
      <BaseMap
        key={`${alert.id}:${lat}:${lon}`}
        label={t("where.map")}
        className="alert-minimap"
        onReady={ready}
        testId="alert-minimap"
      />
    </section>
  );
}

interface WatchAttributes {
  list?: string;
  list_kind?: string;
  entry_id?: string;
  reason?: string;
  plate?: string;
  exact?: boolean;
  distance?: number;
  candidate?: boolean;
}

function useMatchedFinding(alert: AlertDetail) {
  const { can } = useAuth();
  const findingId = alert.details["finding_id"];
  const offset = alert.details["offset_s"];
  const analyzer = alert.details["analyzer"];
  const evidenceId = alert.evidence_ids[0];
  const usable =
    typeof findingId === "number" && typeof offset === "number" && typeof analyzer === "string" && !!evidenceId;
  return useQuery({
    queryKey: ["alerts", "finding", alert.id],
    enabled: usable && can("analysis:read"),
    staleTime: 300_000,
    retry: false,
    queryFn: async () => {
      const found = unwrap(
        await api.GET("/api/v1/evidence/{evidence_id}/analysis/findings", {
          params: {
            path: { evidence_id: evidenceId as string },
            query: {
              analyzer: analyzer as string,
              start_s: Math.max(0, (offset as number) - WINDOW_S),
              end_s: (offset as number) + WINDOW_S,
            },
          },
        }),
      );
      return found.find((f) => f.id === findingId) ?? null;
    },
  });
}

export function WatchlistMatch({ alert }: { alert: AlertDetail }) {
  const { t } = useTranslation("alerts");
  const format = useFormat();
  const entryId = alert.details["watchlist_entry_id"];
  const finding = useMatchedFinding(alert);
  if (typeof entryId !== "string" || !entryId) return null;
  const watch = (finding.data?.attributes["watchlist"] ?? null) as WatchAttributes | null;
  const read = finding.data?.attributes["display"] ?? finding.data?.attributes["text"];
  return (
    <section className="alert-watchlist" aria-labelledby="alert-watch" data-testid="alert-watchlist">
      <h3 id="alert-watch">{t("watch.title")}</h3>
      <dl className="facts">
        {watch?.list ? (
          <>
            <dt>{t("watch.list")}</dt>
            <dd data-testid="watch-list">{watch.list}</dd>
          </>
        ) : null}
        {watch?.plate ? (
          <>
            <dt>{t("watch.plate")}</dt>
            <dd data-testid="watch-plate">{watch.plate}</dd>
          </>
        ) : null}
        {typeof read === "string" ? (
          <>
            <dt>{t("watch.read")}</dt>
            <dd>
              {read}
              {watch?.exact === false ? <span className="muted small"> ({t("watch.near")})</span> : null}
            </dd>
          </>
        ) : null}
        {watch?.reason ? (
          <>
            <dt>{t("watch.reason")}</dt>
            <dd data-testid="watch-reason">{watch.reason}</dd>
          </>
        ) : null}
        {typeof watch?.distance === "number" ? (
          <>
            <dt>{t("watch.distance")}</dt>
            <dd>{format.number(watch.distance)}</dd>
          </>
        ) : null}
        <dt>{t("watch.entry")}</dt>
        <dd title={entryId}>{shortId(entryId)}</dd>
      </dl>
      {watch?.candidate ? <p className="muted small">{t("watch.candidate")}</p> : null}
      <Link to="/watchlists">{t("watch.open")}</Link>
    </section>
  );
}
