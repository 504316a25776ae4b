// A Leaflet map with the city's base map: the configured tile server, or the offline vector
// streets (GeoJSON from /api/v1/console/basemap: streets as lines, districts as areas), or
// none. Pages add their own layers in onReady (called once, with the map) and may return a
// clean-up function. Leaflet draws on canvas, so no WebGL is needed.
import L from "leaflet";
import "leaflet/dist/leaflet.css";
import { useEffect, useRef } from "react";
import { fetchRaw } from "../api/client";
import { useConsoleConfig, type ConsoleConfig } from "../app/config";

interface Props {
  /** Accessible name of the map region. */
  label: string;
  className?: string;
  onReady: (map: L.Map) => void | (() => void);
  testId?: string;
}

type Feature = GeoJSON.Feature<GeoJSON.Geometry, Record<string, unknown>>;

function streetStyle(feature?: Feature): L.PathOptions {
  const props = feature?.properties ?? {};
  if (feature?.geometry.type === "Polygon" || feature?.geometry.type === "MultiPolygon") {
    return { color: "#94a3b8", weight: 1, fillColor: "#cbd5e1", fillOpacity: 0.08, dashArray: "4 4" };
  }
  const main = props["kind"] === "main" || props["main"] === true || props["class"] === "main";
  return { color: main ? "#f59e0b" : "#9ca3af", weight: main ? 4 : 2, opacity: 0.9 };
}

async function addBasemap(
  map: L.Map,
  config: Pick<ConsoleConfig, "basemap">,
  removed: () => boolean,
): Promise<void> {
  const { basemap } = config;
  if (basemap.kind === "tiles" && basemap.url) {
    L.tileLayer(basemap.url, { attribution: basemap.attribution, maxZoom: 19 }).addTo(map);
  } else if (basemap.kind === "geojson" && basemap.url) {
    try {
      const data = (await (await fetchRaw(basemap.url)).json()) as GeoJSON.FeatureCollection;
      if (removed()) return; // the page moved on while the streets loaded
      L.geoJSON(data, {
        style: (feature) => streetStyle(feature as Feature | undefined),
        interactive: false,
      }).addTo(map);
      if (basemap.attribution) map.attributionControl.addAttribution(basemap.attribution);
    } catch (error) {
      console.info("base map not available yet", error);
    }
  }
}

export function BaseMap({ label, className, onReady, testId }: Props) {
  const container = useRef<HTMLDivElement>(null);
  const ready = useRef(onReady);
  ready.current = onReady;
  const config = useConsoleConfig();

  useEffect(() => {
    if (!container.current || !config.data) return undefined;
    const map = L.map(container.current, {
      center: [config.data.center[0] ?? 0, config.data.center[1] ?? 0],
      zoom: config.data.zoom,
      preferCanvas: true,
      keyboard: true,
    });
    let removed = false;
    void addBasemap(map, config.data, () => removed);
    const cleanup = ready.current(map);
    return () => {
      removed = true;
      if (typeof cleanup === "function") cleanup();
      map.stop();
      map.remove();
    };
  }, [config.data]);

  return (
    <div
      ref={container}
      className={className ?? "basemap"}
      role="region"
      aria-label={label}
      data-testid={testId}
    />
  );
}
