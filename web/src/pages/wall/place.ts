// Where a recorder is, in words: the nearest named street of the offline base map (the
// GeoJSON of /api/v1/console/basemap) within STREET_RADIUS_M, else its coordinates.
import { useQuery } from "@tanstack/react-query";
import { fetchRaw } from "../../api/client";
import { useConsoleConfig } from "../../app/config";

const STREET_RADIUS_M = 120;
const METRES_PER_DEGREE = 111_320;

export interface Street {
  name: string;
  /** [lat, lon] pairs. */
  points: [number, number][];
}

type Collection = GeoJSON.FeatureCollection<GeoJSON.Geometry, Record<string, unknown> | null>;

function lines(geometry: GeoJSON.Geometry): GeoJSON.Position[][] {
  if (geometry.type === "LineString") return [geometry.coordinates];
  if (geometry.type === "MultiLineString") return geometry.coordinates;
  return [];
}

export function streetsOf(data: Collection): Street[] {
  const streets: Street[] = [];
  for (const feature of data.features) {
    const name = feature.properties?.["name"];
    if (typeof name !== "string" || !name || !feature.geometry) continue;
    for (const line of lines(feature.geometry)) {
      streets.push({ name, points: line.map(([lon, lat]) => [lat ?? 0, lon ?? 0]) });
    }
  }
  return streets;
}

/** Metres from p to the segment a-b (equirectangular; fine at city scale). */
function distance(p: [number, number], a: [number, number], b: [number, number]): number {
  const k = Math.cos((p[0] * Math.PI) / 180);
  const ax = (a[1] - p[1]) * k, ay = a[0] - p[0];
  const bx = (b[1] - p[1]) * k, by = b[0] - p[0];
  const dx = bx - ax, dy = by - ay;
  const length = dx * dx + dy * dy;
  const t = length === 0 ? 0 : Math.max(0, Math.min(1, -(ax * dx + ay * dy) / length));
  return Math.hypot(ax + t * dx, ay + t * dy) * METRES_PER_DEGREE;
}

export function nearestStreet(streets: Street[], lat: number, lon: number): string | null {
  let best: string | null = null;
  let bestDistance = STREET_RADIUS_M;
  for (const street of streets) {
    for (let i = 1; i < street.points.length; i += 1) {
      const d = distance([lat, lon], street.points[i - 1]!, street.points[i]!);
      if (d < bestDistance) {
        bestDistance = d;
        best = street.name;
      }
    }
  }
  return best;
}

/** The base map's named streets (empty with a tile server or no base map). */
export function useStreets(): Street[] {
  const config = useConsoleConfig();
  const basemap = config.data?.basemap;
  const url = basemap?.kind === "geojson" ? basemap.url : null;
  const streets = useQuery({
    queryKey: ["console", "basemap", "streets", url],
    enabled: !!url,
    queryFn: async () => streetsOf((await (await fetchRaw(url ?? "")).json()) as Collection),
    staleTime: Infinity,
    retry: false,
  });
  return streets.data ?? [];
}
