// The Leaflet picture of the live map: recorders as coloured markers in a cluster group,
// their recent trails, geofences, and open alerts pulsing at their location. The layers
// are created once (BaseMap's onReady) and kept in step with the live data by effects.
import "./leafletGlobal";
import L from "leaflet";
import "leaflet.markercluster";
import "leaflet.markercluster/dist/MarkerCluster.css";
import { useCallback, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import type { Schemas } from "../../api/client";
import type { AlertSummary, RecorderState } from "../../app/live";
import { BaseMap } from "../../components/BaseMap";
import type { RecorderStatus } from "./status";

export interface MapRecorder {
  state: RecorderState;
  status: RecorderStatus;
}

interface Props {
  recorders: MapRecorder[];
  trails: Map<string, [number, number][]>;
  alerts: AlertSummary[];
  geofences: Schemas["GeofenceOut"][];
  selectedId: string | null;
  onSelect: (recorderId: string) => void;
}

interface Layers {
  map: L.Map;
  clusters: L.MarkerClusterGroup;
  trails: L.LayerGroup;
  alerts: L.LayerGroup;
  geofences: L.LayerGroup;
}

const MAX_ZOOM = 19;
/** How long after the map appears new recorders still refit the view. */
const SETTLE_MS = 5000;
/** Clustering stops at this zoom: every recorder is its own marker from here on. */
const UNCLUSTER_ZOOM = 17;

function escape(text: string): string {
  const div = document.createElement("div");
  div.textContent = text;
  return div.innerHTML;
}

function recorderIcon(recorder: MapRecorder, selected: boolean): L.DivIcon {
  const classes = `rec-marker rec-${recorder.status}${selected ? " selected" : ""}`;
  return L.divIcon({
    className: classes,
    html: `<span data-recorder="${escape(recorder.state.recorder_id)}"></span>`,
    iconSize: selected ? [24, 24] : [18, 18],
  });
}

function clusterIcon(cluster: L.MarkerCluster): L.DivIcon {
  const count = cluster.getChildCount();
  return L.divIcon({
    className: "rec-cluster",
    html: `<span data-count="${count}">${count}</span>`,
    iconSize: [34, 34],
  });
}

function alertIcon(alert: AlertSummary): L.DivIcon {
  return L.divIcon({
    className: `alert-pulse alert-${escape(alert.severity)}`,
    html: `<span class="ring"></span><span class="core" data-alert="${escape(alert.id)}"></span>`,
    iconSize: [30, 30],
  });
}

function createLayers(map: L.Map): Layers {
  // Clustering needs a maximum zoom; a vector base map (no tile layer) sets none.
  if (!Number.isFinite(map.getMaxZoom())) map.setMaxZoom(MAX_ZOOM);
  const layers: Layers = {
    map,
    geofences: L.layerGroup().addTo(map),
    trails: L.layerGroup().addTo(map),
    clusters: L.markerClusterGroup({
      disableClusteringAtZoom: UNCLUSTER_ZOOM,
      maxClusterRadius: 60,
      showCoverageOnHover: false,
      iconCreateFunction: clusterIcon,
    }).addTo(map),
    alerts: L.layerGroup().addTo(map),
  };
  return layers;
}

export function MapView({ recorders, trails, alerts, geofences, selectedId, onSelect }: Props) {
  const { t } = useTranslation("map");
  const [layers, setLayers] = useState<Layers | null>(null);
  const markers = useRef(new Map<string, { marker: L.Marker; key: string }>());
  const lines = useRef(new Map<string, L.Polyline>());
  const fitted = useRef(0);
  const readyAt = useRef(0);
  const select = useRef(onSelect);
  select.current = onSelect;

  const onReady = useCallback((map: L.Map) => {
    const created = createLayers(map);
    readyAt.current = performance.now();
    setLayers(created);
    // The panel beside the map changes its width: let Leaflet know.
    const resized = new ResizeObserver(() => map.invalidateSize());
    resized.observe(map.getContainer());
    return () => {
      resized.disconnect();
      markers.current.clear();
      lines.current.clear();
      fitted.current = 0;
      setLayers(null);
    };
  }, []);

  // Recorder markers: add, move, recolour, remove.
  useEffect(() => {
    if (!layers) return;
    const seen = new Set<string>();
    for (const recorder of recorders) {
      const { lat, lon, recorder_id: id, serial } = recorder.state;
      if (lat == null || lon == null) continue;
      seen.add(id);
      const selected = id === selectedId;
      const key = `${recorder.status}/${selected}`;
      const known = markers.current.get(id);
      if (!known) {
        const marker = L.marker([lat, lon], {
          icon: recorderIcon(recorder, selected),
          title: serial,
          alt: serial,
          zIndexOffset: selected ? 1000 : 0,
        });
        marker.on("click", () => select.current(id));
        layers.clusters.addLayer(marker);
        markers.current.set(id, { marker, key });
        continue;
      }
      const at = known.marker.getLatLng();
      if (at.lat !== lat || at.lng !== lon) known.marker.setLatLng([lat, lon]);
      if (known.key !== key) {
        known.marker.setIcon(recorderIcon(recorder, selected));
        known.marker.setZIndexOffset(selected ? 1000 : 0);
        known.key = key;
      }
    }
    for (const [id, known] of markers.current) {
      if (!seen.has(id)) {
        layers.clusters.removeLayer(known.marker);
        markers.current.delete(id);
      }
    }
    // Fit the fleet while it first arrives (the snapshot comes one recorder at a time).
    const settling = performance.now() - readyAt.current < SETTLE_MS;
    if (markers.current.size > fitted.current && (fitted.current === 0 || settling) && !selectedId) {
      fitted.current = markers.current.size;
      const bounds = L.latLngBounds([...markers.current.values()].map((m) => m.marker.getLatLng()));
      layers.map.fitBounds(bounds.pad(0.2), { maxZoom: 15 });
    }
  }, [layers, recorders, selectedId]);

  // The selected recorder: zoom until it is its own marker, then centre it.
  useEffect(() => {
    if (!layers || !selectedId) return;
    const known = markers.current.get(selectedId);
    if (!known) return;
    layers.clusters.zoomToShowLayer(known.marker, () => layers.map.panTo(known.marker.getLatLng()));
  }, [layers, selectedId]);

  // Trails: one polyline per recorder.
  useEffect(() => {
    if (!layers) return;
    for (const [id, points] of trails) {
      const line = lines.current.get(id);
      if (line) line.setLatLngs(points);
      else {
        const created = L.polyline(points, {
          color: "#1d4ed8",
          weight: 3,
          opacity: 0.55,
          interactive: false,
          className: "rec-trail",
        });
        layers.trails.addLayer(created);
        lines.current.set(id, created);
      }
    }
  }, [layers, trails]);

  // Open alerts with a location, pulsing.
  useEffect(() => {
    if (!layers) return;
    layers.alerts.clearLayers();
    for (const alert of alerts) {
      if (alert.lat == null || alert.lon == null) continue;
      L.marker([alert.lat, alert.lon], {
        icon: alertIcon(alert),
        title: alert.title,
        alt: alert.title,
        zIndexOffset: 2000,
        keyboard: false,
      })
        .bindTooltip(escape(alert.title))
        .addTo(layers.alerts);
    }
  }, [layers, alerts]);

  // Geofences: GeoJSON zones, restricted ones in red.
  useEffect(() => {
    if (!layers) return;
    layers.geofences.clearLayers();
    for (const zone of geofences) {
      const restricted = zone.rule === "restricted";
      L.geoJSON(zone.geometry as unknown as GeoJSON.GeoJsonObject, {
        style: {
          color: restricted ? "#b91c1c" : "#15803d",
          weight: 2,
          fillOpacity: 0.08,
          dashArray: restricted ? "6 4" : undefined,
        },
      })
        .bindTooltip(escape(zone.name))
        .addTo(layers.geofences);
    }
  }, [layers, geofences]);

  const fitAll = () => {
    if (!layers || markers.current.size === 0) return;
    const bounds = L.latLngBounds([...markers.current.values()].map((m) => m.marker.getLatLng()));
    layers.map.fitBounds(bounds.pad(0.2));
  };

  return (
    <div className="map-canvas">
      <BaseMap label={t("mapLabel")} onReady={onReady} testId="live-map" />
      <button type="button" className="secondary map-fit" onClick={fitAll}>
        {t("fitAll")}
      </button>
    </div>
  );
}
