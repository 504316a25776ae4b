"""The demo city: a deterministic street network generated from a seed (pure functions).

A slightly rotated grid around a centre: main roads (arterials) every `block_m * main_every`
metres, side streets every `block_m` metres, node positions jittered, and a share of the
side-street segments removed; only the largest connected part is kept, so every street can
be reached from every other.  The city is split into districts, one per department code
given, in columns and rows.  The same arguments always give the same city and the same
GeoJSON bytes.
"""

from __future__ import annotations

import heapq
import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

EARTH_M_PER_DEG = 111_320.0
MAIN_NAMES = (
    "Zhongshan Road",
    "Renmin Avenue",
    "Huaihai Road",
    "Nanjing Road",
    "Yan'an Road",
    "Xizang Road",
    "Century Avenue",
    "Siping Road",
    "Changning Road",
    "Hengshan Road",
    "Fuxing Road",
    "Jiangning Road",
)


@dataclass(frozen=True)
class CitySpec:
    """What to generate; every field has a sensible demo default (Shanghai-like)."""

    seed: int = 1
    center_lat: float = 31.23
    center_lon: float = 121.47
    size_m: float = 4_000.0
    block_m: float = 200.0
    main_every: int = 4
    jitter_m: float = 12.0
    drop_side_share: float = 0.12
    departments: tuple[str, ...] = ("public-security",)


@dataclass(frozen=True)
class Street:
    """One segment between two intersections."""

    a: int
    b: int
    kind: str  # "main" or "side"
    name: str
    length_m: float


@dataclass
class City:
    spec: CitySpec
    nodes: list[tuple[float, float]]  # (lat, lon) per node id
    streets: list[Street]
    districts: list[tuple[str, list[tuple[float, float]]]]  # (department code, ring lat/lon)
    adjacency: dict[int, list[int]] = field(default_factory=dict)  # node -> street indexes

    def neighbours(self, node: int) -> list[tuple[int, Street]]:
        """(other node, street) for each street at `node`."""
        found = []
        for index in self.adjacency.get(node, []):
            street = self.streets[index]
            found.append((street.b if street.a == node else street.a, street))
        return found

    def district_of(self, lat: float, lon: float) -> str:
        for code, ring in self.districts:
            lats = [p[0] for p in ring]
            lons = [p[1] for p in ring]
            if min(lats) <= lat <= max(lats) and min(lons) <= lon <= max(lons):
                return code
        return self.districts[0][0]

    def nodes_in(self, code: str) -> list[int]:
        """Intersections inside the department's district (all of them if none is)."""
        inside = [i for i in self.adjacency if self.district_of(*self.nodes[i]) == code]
        return inside or sorted(self.adjacency)


def metres_to_degrees(lat: float, north_m: float, east_m: float) -> tuple[float, float]:
    return (
        north_m / EARTH_M_PER_DEG,
        east_m / (EARTH_M_PER_DEG * math.cos(math.radians(lat))),
    )


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Equirectangular distance; exact enough at city scale."""
    mean_lat = math.radians((a[0] + b[0]) / 2)
    north = (b[0] - a[0]) * EARTH_M_PER_DEG
    east = (b[1] - a[1]) * EARTH_M_PER_DEG * math.cos(mean_lat)
    return math.hypot(north, east)


def _grid(spec: CitySpec, rng: random.Random) -> tuple[list[tuple[float, float]], int]:
    cells = max(2, round(spec.size_m / spec.block_m))
    angle = math.radians(rng.uniform(-12, 12))
    half = cells * spec.block_m / 2
    nodes = []
    for row in range(cells + 1):
        for col in range(cells + 1):
            x = col * spec.block_m - half + rng.uniform(-spec.jitter_m, spec.jitter_m)
            y = row * spec.block_m - half + rng.uniform(-spec.jitter_m, spec.jitter_m)
            east = x * math.cos(angle) - y * math.sin(angle)
            north = x * math.sin(angle) + y * math.cos(angle)
            dlat, dlon = metres_to_degrees(spec.center_lat, north, east)
            nodes.append((round(spec.center_lat + dlat, 7), round(spec.center_lon + dlon, 7)))
    return nodes, cells


def _streets(
    spec: CitySpec, nodes: list[tuple[float, float]], cells: int, rng: random.Random
) -> list[Street]:
    def node(row: int, col: int) -> int:
        return row * (cells + 1) + col

    streets = []
    for row in range(cells + 1):
        for col in range(cells + 1):
            for d_row, d_col, line in ((0, 1, row), (1, 0, col)):
                r2, c2 = row + d_row, col + d_col
                if r2 > cells or c2 > cells:
                    continue
                main = line % spec.main_every == 0
                if not main and rng.random() < spec.drop_side_share:
                    continue
                if main:
                    name = MAIN_NAMES[(line // spec.main_every + d_row * 5) % len(MAIN_NAMES)]
                else:
                    name = f"{'North-South' if d_row else 'East-West'} Lane {line}"
                a, b = node(row, col), node(r2, c2)
                streets.append(
                    Street(a, b, "main" if main else "side", name, distance_m(nodes[a], nodes[b]))
                )
    return streets


def _largest_component(streets: list[Street]) -> set[int]:
    links: dict[int, set[int]] = {}
    for s in streets:
        links.setdefault(s.a, set()).add(s.b)
        links.setdefault(s.b, set()).add(s.a)
    best: set[int] = set()
    seen: set[int] = set()
    for start in sorted(links):
        if start in seen:
            continue
        part, todo = {start}, [start]
        while todo:
            for other in links[todo.pop()]:
                if other not in part:
                    part.add(other)
                    todo.append(other)
        seen |= part
        if len(part) > len(best):
            best = part
    return best


def _districts(
    spec: CitySpec, nodes: list[tuple[float, float]]
) -> list[tuple[str, list[tuple[float, float]]]]:
    codes = spec.departments or ("public-security",)
    cols = math.ceil(math.sqrt(len(codes)))
    rows = math.ceil(len(codes) / cols)
    lats = [n[0] for n in nodes]
    lons = [n[1] for n in nodes]
    south, north, west, east = min(lats), max(lats), min(lons), max(lons)
    out = []
    for index, code in enumerate(codes):
        row, col = divmod(index, cols)
        s = south + (north - south) * row / rows
        n = north if row == rows - 1 else south + (north - south) * (row + 1) / rows
        w = west + (east - west) * col / cols
        e = (
            east
            if index == len(codes) - 1 or col == cols - 1
            else west + (east - west) * (col + 1) / cols
        )
        ring = [(s, w), (s, e), (n, e), (n, w), (s, w)]
        out.append((code, [(round(a, 7), round(b, 7)) for a, b in ring]))
    return out


def generate_city(spec: CitySpec | None = None) -> City:
    """The city for `spec` (pure: the same spec gives the same city)."""
    spec = spec or CitySpec()
    rng = random.Random(spec.seed)
    nodes, cells = _grid(spec, rng)
    streets = _streets(spec, nodes, cells, rng)
    keep = _largest_component(streets)
    streets = [s for s in streets if s.a in keep and s.b in keep]
    city = City(spec=spec, nodes=nodes, streets=streets, districts=_districts(spec, nodes))
    for index, street in enumerate(streets):
        city.adjacency.setdefault(street.a, []).append(index)
        city.adjacency.setdefault(street.b, []).append(index)
    return city


def connected(city: City) -> bool:
    """Whether every street can be reached from every other."""
    return _largest_component(city.streets) == set(city.adjacency)


def shortest_path(city: City, start: int, goal: int) -> list[int]:
    """Node ids from `start` to `goal` by length (Dijkstra); [] when unreachable."""
    best = {start: 0.0}
    previous: dict[int, int] = {}
    queue = [(0.0, start)]
    while queue:
        dist, node = heapq.heappop(queue)
        if node == goal:
            path = [goal]
            while path[-1] != start:
                path.append(previous[path[-1]])
            return path[::-1]
        if dist > best.get(node, math.inf):
            continue
        for other, street in city.neighbours(node):
            candidate = dist + street.length_m
            if candidate < best.get(other, math.inf):
                best[other] = candidate
                previous[other] = node
                heapq.heappush(queue, (candidate, other))
    return []


def to_geojson(city: City) -> dict[str, Any]:
    """A GeoJSON FeatureCollection: districts (Polygon) then streets (LineString)."""
    features: list[dict[str, Any]] = []
    for code, ring in city.districts:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [[[lon, lat] for lat, lon in ring]]},
                "properties": {"layer": "district", "department": code},
            }
        )
    for index, s in enumerate(city.streets):
        a, b = city.nodes[s.a], city.nodes[s.b]
        features.append(
            {
                "type": "Feature",
                "id": index,
                "geometry": {"type": "LineString", "coordinates": [[a[1], a[0]], [b[1], b[0]]]},
                "properties": {
                    "layer": "street",
                    "kind": s.kind,
                    "name": s.name,
                    "length_m": round(s.length_m, 1),
                },
            }
        )
    spec = city.spec
    return {
        "type": "FeatureCollection",
        "properties": {
            "generator": "citywitness.simulator.city",
            "seed": spec.seed,
            "center": [spec.center_lon, spec.center_lat],
        },
        "features": features,
    }


def geojson_bytes(city: City) -> bytes:
    """Canonical bytes of `to_geojson` (sorted keys, no spaces): hash-stable."""
    return json.dumps(to_geojson(city), sort_keys=True, separators=(",", ":")).encode()


def city_for(
    seed: int, departments: Sequence[str], center: tuple[float, float] | None = None
) -> City:
    lat, lon = center or (CitySpec.center_lat, CitySpec.center_lon)
    return generate_city(
        CitySpec(seed=seed, center_lat=lat, center_lon=lon, departments=tuple(departments))
    )
