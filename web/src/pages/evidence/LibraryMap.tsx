// Where the recordings on the current page were made: each item's GPS track (a line) and a
// marker at its start; a marker opens the item (click, or focus and Enter).
import L from "leaflet";
import { useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router-dom";
import { BaseMap } from "../../components/BaseMap";
import type { Evidence } from "./data";

type LatLon = [number, number];

/** The [lat, lon] points of an item's GeoJSON track (Point or LineString), else none. */
export function trackPoints(item: Evidence): LatLon[] {
  const track = item.gps_track as { type?: string; coordinates?: unknown } | null;
  if (!track || !Array.isArray(track.coordinates)) return [];
  const coordinates = track.type === "Point" ? [track.coordinates] : track.coordinates;
  const points: LatLon[] = [];
  for (const c of coordinates) {
    if (Array.isArray(c) && typeof c[0] === "number" && typeof c[1] === "number") points.push([c[1], c[0]]);
  }
  return points;
}

export function LibraryMap({ items }: { items: Evidence[] }) {
  const { t } = useTranslation("evidence");
  const navigate = useNavigate();
  const layer = useRef<L.LayerGroup | null>(null);
  const map = useRef<L.Map | null>(null);
  const [ready, setReady] = useState(0);
  const placed = useMemo(() => items.filter((item) => trackPoints(item).length > 0), [items]);

  useEffect(() => {
    const group = layer.current;
    if (!group || !map.current) return; // no map (yet, or any more): nothing to draw on
    group.clearLayers();
    const bounds: LatLon[] = [];
    for (const item of placed) {
      const points = trackPoints(item);
      const start = points[0] as LatLon;
      bounds.push(...points);
      if (points.length > 1) L.polyline(points, { color: "#1d4ed8", weight: 3, opacity: 0.7 }).addTo(group);
      const marker = L.marker(start, {
        icon: L.divIcon({ className: "ev-marker", iconSize: [16, 16] }),
        title: item.original_filename,
        alt: item.original_filename,
        keyboard: true,
      });
      // Navigate after Leaflet has finished handling the click: leaving the page removes the map.
      marker.on("click", () => window.setTimeout(() => navigate(`/evidence/${item.id}`), 0));
      marker.bindTooltip(item.original_filename);
      marker.addTo(group);
    }
    if (map.current && bounds.length > 0) map.current.fitBounds(L.latLngBounds(bounds), { maxZoom: 16, padding: [24, 24], animate: false });
  }, [placed, navigate, ready]);

  return (
    <div className="ev-map-wrap">
      <BaseMap
        label={t("library.mapLabel")}
        className="basemap ev-map"
        testId="evidence-map"
        onReady={(created) => {
          map.current = created;
          layer.current = L.layerGroup().addTo(created);
          setReady((n) => n + 1);
          return () => {
            created.stop(); // no pan or zoom frame may run on a removed map
            layer.current = null;
            map.current = null;
          };
        }}
      />
      <div className="ev-map-side">
        <p className="muted">{t("library.mapNote", { placed: placed.length, total: items.length })}</p>
        <ul aria-label={t("library.placed")}>
          {placed.map((item) => (
            <li key={item.id}>
              <Link to={`/evidence/${item.id}`}>{item.original_filename}</Link>
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}
