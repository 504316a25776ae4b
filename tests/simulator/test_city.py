"""The demo city: deterministic, connected, with districts; officers move along it."""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from citywitness.simulator.city import (
    City,
    CitySpec,
    connected,
    distance_m,
    generate_city,
    geojson_bytes,
    shortest_path,
)
from citywitness.simulator.fleet import uses_https
from citywitness.simulator.movement import Mover

DEPARTMENTS = ("public-security", "traffic-police", "urban-management")


def digest(city: City) -> str:
    return hashlib.sha256(geojson_bytes(city)).hexdigest()


def test_same_seed_same_city_other_seed_other_city() -> None:
    spec = CitySpec(seed=7, departments=DEPARTMENTS)
    assert digest(generate_city(spec)) == digest(generate_city(spec))
    assert digest(generate_city(CitySpec(seed=8, departments=DEPARTMENTS))) != digest(
        generate_city(spec)
    )


def test_every_street_reaches_every_other() -> None:
    for seed in range(5):
        city = generate_city(CitySpec(seed=seed, drop_side_share=0.3))
        assert connected(city)
        nodes = sorted(city.adjacency)
        rng = random.Random(seed)
        for _ in range(5):
            a, b = rng.choice(nodes), rng.choice(nodes)
            path = shortest_path(city, a, b)
            assert path[0] == a
            assert path[-1] == b
            for here, there in itertools.pairwise(path):
                assert there in {other for other, _ in city.neighbours(here)}


def test_geojson_has_districts_and_named_streets_around_the_centre() -> None:
    spec = CitySpec(seed=3, center_lat=31.23, center_lon=121.47, departments=DEPARTMENTS)
    city = generate_city(spec)
    collection = json.loads(geojson_bytes(city))
    assert collection["type"] == "FeatureCollection"
    districts = [f for f in collection["features"] if f["properties"]["layer"] == "district"]
    streets = [f for f in collection["features"] if f["properties"]["layer"] == "street"]
    assert [d["properties"]["department"] for d in districts] == list(DEPARTMENTS)
    assert len(streets) == len(city.streets) > 100
    assert {s["properties"]["kind"] for s in streets} == {"main", "side"}
    for street in streets:
        for lon, lat in street["geometry"]["coordinates"]:
            assert distance_m((lat, lon), (31.23, 121.47)) < 3_500  # a 4 km city
    for code in DEPARTMENTS:  # every district has junctions of its own
        inside = city.nodes_in(code)
        assert inside
        assert all(city.district_of(*city.nodes[n]) == code for n in inside)


def test_walkers_and_drivers_move_at_their_speeds_along_streets() -> None:
    city = generate_city(CitySpec(seed=1))
    start = sorted(city.adjacency)[0]
    walker = Mover(city, random.Random(1), start=start, driving=False)
    driver = Mover(city, random.Random(1), start=start, driving=True)
    for mover, low, high in ((walker, 1.1, 1.7), (driver, 4.0, 14.0)):
        before = mover.true_position()
        mover.pause = 0
        mover.step(1.0)
        moved = distance_m(before, mover.true_position())
        assert low * 0.5 <= moved <= high * 1.01 or mover.pause > 0
        fix = mover.fix(datetime(2026, 11, 24, 8, tzinfo=UTC))
        assert fix.fix in ("gps", "beidou", "mixed", "network")
        assert 0 <= fix.heading_deg < 360
        assert distance_m((fix.lat, fix.lon), mover.true_position()) < 10 * fix.accuracy_m


def test_https_recorders_are_spread_evenly() -> None:
    assert [i for i in range(20) if uses_https(i, 0.1)] == [9, 19]
    assert [i for i in range(5) if uses_https(i, 0.4)] == [2, 4]
    assert not any(uses_https(i, 0.0) for i in range(10))


def test_command_line_export_is_the_generator_output(tmp_path: Path) -> None:
    target = tmp_path / "city.geojson"
    done = subprocess.run(
        [sys.executable, "-m", "citywitness", "simulate", "city", "--geojson", str(target),
         "--seed", "5", "--department", "public-security", "--department", "traffic-police"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "connected: True" in done.stdout
    expected = generate_city(CitySpec(seed=5, departments=("public-security", "traffic-police")))
    assert target.read_bytes() == geojson_bytes(expected)
