// The geofence map: existing geofences as areas (restricted red, patrol areas blue) and a
// polygon being drawn: each click adds a vertex, a double click or "Finish" closes it.
import L from "leaflet";
import { useEffect, useRef, useState } from "react";
import { BaseMap } from "../../components/BaseMap";
import type { Schemas } from "../../api/client";

export type LatLng = [number, number];

interface Props {
  label: string;
  geofences: Schemas["GeofenceOut"][];
  drawing: boolean;
  points: LatLng[];
  onAddPoint: (point: LatLng) => void;
  onFinish: () => void;
}

const SAME_POINT_PX = 6;

export function GeofenceMap({ label, geofences, drawing, points, onAddPoint, onFinish }: Props) {
  const map = useRef<L.Map | null>(null);
  const [ready, setReady] = useState(false);
  const areas = useRef<L.LayerGroup | null>(null);
  const sketch = useRef<L.LayerGroup | null>(null);
  const state = useRef({ drawing, points, onAddPoint, onFinish });
  state.current = { drawing, points, onAddPoint, onFinish };

  const onReady = (created: L.Map) => {
    map.current = created;
    areas.current = L.layerGroup().addTo(created);
    sketch.current = L.layerGroup().addTo(created);
    created.on("click", (event: L.LeafletMouseEvent) => {
      const now = state.current;
      if (!now.drawing) return;
      const last = now.points[now.points.length - 1];
      if (last) {
        const distance = created
          .latLngToContainerPoint(L.latLng(last[0], last[1]))
          .distanceTo(event.containerPoint);
        if (distance < SAME_POINT_PX) return; // the second click of a double click
      }
      now.onAddPoint([event.latlng.lat, event.latlng.lng]);
    });
    created.on("dblclick", () => {
      if (state.current.drawing) state.current.onFinish();
    });
    setReady(true);
    return () => {
      map.current = null;
      setReady(false);
    };
  };

  useEffect(() => {
    const group = areas.current;
    if (!group) return;
    group.clearLayers();
    for (const fence of geofences) {
      L.geoJSON(fence.geometry as unknown as GeoJSON.GeoJsonObject, {
        style: {
          color: fence.rule === "restricted" ? "#b91c1c" : "#1d4ed8",
          weight: 2,
          dashArray: fence.active ? undefined : "6 4",
          fillOpacity: fence.active ? 0.15 : 0.04,
        },
      })
        .bindTooltip(fence.name)
        .addTo(group);
    }
  }, [geofences, ready]);

  useEffect(() => {
    const current = map.current;
    if (!current) return;
    if (drawing) current.doubleClickZoom.disable();
    else current.doubleClickZoom.enable();
    current.getContainer().classList.toggle("drawing", drawing);
  }, [drawing, ready]);

  useEffect(() => {
    const group = sketch.current;
    if (!group) return;
    group.clearLayers();
    if (points.length === 0) return;
    const latlngs = points.map(([lat, lng]) => L.latLng(lat, lng));
    if (points.length >= 3 && !drawing) L.polygon(latlngs, { color: "#f59e0b" }).addTo(group);
    else L.polyline(latlngs, { color: "#f59e0b", dashArray: "4 4" }).addTo(group);
    for (const point of latlngs) {
      L.circleMarker(point, { radius: 4, color: "#f59e0b", fillOpacity: 1 }).addTo(group);
    }
  }, [points, drawing, ready]);

  return <BaseMap label={label} className="basemap admin-map" onReady={onReady} testId="geofence-map" />;
}
