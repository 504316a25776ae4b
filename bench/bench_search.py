"""Search p95 latency with 1,000,000 evidence records in PostgreSQL (goal: under 50 ms).

A throwaway database (`cw_bench_search_<pid>` on the external PostgreSQL at
CW_BENCH_ADMIN_URL, default postgresql://postgres@127.0.0.1:5432/postgres, dropped at the
end; or an embedded PostgreSQL in a temporary directory with --embedded) is migrated, then
filled with server-side SQL (INSERT ... SELECT FROM generate_series): departments among the 4
seeded ones, 400 officers, the 6 categories, tags and notes from a small vocabulary with a
skewed word frequency, capture times over a year, GPS boxes around one city, mostly internal
classification, the full-text vector computed as the service computes it
(`evidence.search_index.vector`), and 2,000 read grants to the investigator's department on
other departments' items (a tenth revoked).  Rows are inserted in random order of their
times (the worst case for the heap: no two neighbours in an index share a page).  The
secondary indexes are dropped for the load and rebuilt after it (faster than maintaining
them row by row), then ANALYZE.  `--keep NAME` keeps the loaded database for the next run.

Every query goes through `evidence.search.search_items` (what GET /api/v1/evidence calls:
scope, filters, sort, keyset page of 50, the audit event flushed), as a department
investigator and as a platform admin, RUNS times each.  Kinds marked "not in goal" are
reported but left out of the verdict and the overall p95.  The baseline, measured in the
same run on the same connection pool, is a bare `SELECT id FROM evidence_items ORDER BY
created_at DESC, id DESC LIMIT 50`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import text

from citywitness.access.levels import Classification, Role
from citywitness.access.principal import Principal
from citywitness.adapters.embedded_postgres import EmbeddedPostgres
from citywitness.audit.service import Auditor
from citywitness.evidence import geo
from citywitness.evidence.search import Near, SearchFilters, SearchSort, search_items
from citywitness.kit import migrate
from citywitness.kit.db import Database, libpq_url

GOAL_MS = 50.0
DEPARTMENTS = [uuid.UUID(f"00000000-0000-4000-8000-00000000000{i}") for i in range(1, 5)]
CITY_LAT, CITY_LON = 31.2304, 121.4737  # the centre of the generated GPS boxes
OFFICERS_PER_DEPARTMENT = 100
TAGS = [
    "traffic-stop", "arrest", "dui", "domestic", "noise", "theft", "assault", "patrol",
    "interview", "protest", "vendor", "accident", "fire", "flood", "warrant", "search",
    "weapon", "juvenile", "robbery", "homicide",
]  # fmt: skip
WORDS = [
    "vehicle", "driver", "suspect", "witness", "street", "license", "plate", "stopped",
    "statement", "refused", "complaint", "market", "crowd", "alarm", "store", "camera",
    "injury", "ambulance", "bicycle", "scooter", "bridge", "station", "night", "morning",
    "argument", "neighbour", "vendor", "permit", "helmet", "speeding", "red", "light",
    "crossing", "phone", "bag", "knife", "collision", "evacuation", "smoke", "river",
]  # fmt: skip


def _sql_array(values: list[str]) -> str:
    return "ARRAY[" + ",".join(f"'{v}'" for v in values) + "]::text[]"


OFFICERS_SQL = f"""
INSERT INTO officers (id, created_at, badge_number, display_name, department_id, active)
SELECT ('20000000-0000-4000-8000-' || lpad(to_hex(d * 1000 + i), 12, '0'))::uuid, now(),
       'B' || d || '-' || i, 'Officer ' || d || '-' || i,
       ('00000000-0000-4000-8000-00000000000' || d)::uuid, true
FROM generate_series(1, 4) d, generate_series(1, {OFFICERS_PER_DEPARTMENT}) i
"""  # noqa: S608 - this file's constants

# random()^2 skews picks towards the start of a vocabulary (a few common words, a long tail).
# The counts of tags and words are per row (a set-returning function whose arguments do not
# depend on the row is evaluated once per load: every item had the same count).
ITEMS_SQL = f"""
WITH base AS (
  SELECT n, 1 + floor(random() * 4)::int AS d,
         now() - random() * interval '365 days' AS created,
         random() AS r, random() AS g, random() AS c,
         1 + floor(random() * 3)::int AS tag_count, 4 + floor(random() * 10)::int AS word_count
  FROM generate_series(1, %(rows)s) n
), shaped AS (
  SELECT b.*,
    b.created - interval '1 hour' - random() * interval '3 days' AS cap,
    ARRAY(SELECT ({_sql_array(TAGS)})[1 + floor(20 * random() ^ 2)::int]
          FROM generate_series(1, b.tag_count)) AS tags,
    array_to_string(ARRAY(SELECT ({_sql_array(WORDS)})[1 + floor(40 * random() ^ 2)::int]
          FROM generate_series(1, b.word_count)), ' ') AS notes,
    {CITY_LAT} + (random() - 0.5) * 0.4 AS lat, {CITY_LON} + (random() - 0.5) * 0.5 AS lon,
    random() * 0.01 AS span
  FROM base b
)
INSERT INTO evidence_items (
  id, created_at, kind, state, sha256, size_bytes, original_filename, media_type, container,
  video_codec, audio_codec, duration_seconds, width, height, media_facts, captured_start,
  captured_end, recorder_serial, officer_id, department_id, category_id, tags, notes,
  classification, gps_track, min_lat, max_lat, min_lon, max_lon, search_vector,
  retain_until, ingest_channel)
SELECT gen_random_uuid(), s.created, 'video',
  CASE WHEN s.c < 0.01 THEN 'destroyed' WHEN s.c < 0.03 THEN 'pending_deletion'
       ELSE 'active' END,
  encode(sha256(s.n::text::bytea), 'hex'), 50000000 + floor(random() * 900000000)::bigint,
  'BWC_' || s.n || '.mp4', 'video/mp4', 'mov,mp4,m4a,3gp,3g2,mj2', 'h264', 'aac',
  60 + random() * 1800, 1920, 1080, '{{}}'::jsonb, s.cap, s.cap + random() * interval '30 min',
  'REC-' || s.d || '-' || (1 + floor(random() * 300)::int),
  ('20000000-0000-4000-8000-' || lpad(to_hex(s.d * 1000 + 1
      + floor(random() * {OFFICERS_PER_DEPARTMENT})::int), 12, '0'))::uuid,
  ('00000000-0000-4000-8000-00000000000' || s.d)::uuid,
  ('10000000-0000-4000-8000-00000000000' || (1 + floor(6 * random() ^ 1.5)::int))::uuid,
  s.tags, s.notes,
  CASE WHEN s.r < 0.15 THEN 0 WHEN s.r < 0.85 THEN 1 WHEN s.r < 0.97 THEN 2 ELSE 3 END,
  CASE WHEN s.g < 0.8 THEN jsonb_build_object('type', 'LineString', 'coordinates',
       jsonb_build_array(jsonb_build_array(s.lon, s.lat),
                         jsonb_build_array(s.lon + s.span, s.lat + s.span))) END,
  CASE WHEN s.g < 0.8 THEN s.lat END, CASE WHEN s.g < 0.8 THEN s.lat + s.span END,
  CASE WHEN s.g < 0.8 THEN s.lon END, CASE WHEN s.g < 0.8 THEN s.lon + s.span END,
  setweight(to_tsvector('simple'::regconfig, array_to_string(s.tags, ' ')), 'A')
    || setweight(to_tsvector('simple'::regconfig, s.notes), 'B'),
  s.created + interval '2 years', 'dock'
FROM shaped s
"""  # noqa: S608 - this file's constants

# Department 1 (the investigator's) holds read grants on GRANTS items of the other
# departments (cases shared with it), a tenth of them revoked: the grant part of the scope.
GRANTS = 2_000
GRANTS_SQL = f"""
WITH granter AS (
  INSERT INTO users (id, created_at, username, display_name, is_active, clearance,
                     failed_logins)
  VALUES (gen_random_uuid(), now(), 'bench-granter', 'Bench granter', true, 3, 0)
  RETURNING id
)
INSERT INTO grants (id, created_at, object_type, object_id, permission, grantee_department_id,
                    granted_by, reason, revoked_at)
SELECT gen_random_uuid(), now(), 'evidence', e.id, 'evidence:read',
       '{DEPARTMENTS[0]}'::uuid, granter.id, 'shared case',
       CASE WHEN random() < 0.1 THEN now() END
FROM granter, (SELECT id FROM evidence_items
               WHERE department_id <> '{DEPARTMENTS[0]}'::uuid
               ORDER BY random() LIMIT {GRANTS}) e
"""  # noqa: S608 - this file's constants

# Secondary indexes (not those behind constraints): dropped for the load, rebuilt after.
INDEXES_SQL = """
SELECT i.indexname, i.indexdef FROM pg_indexes i
WHERE i.tablename = 'evidence_items' AND i.schemaname = current_schema()
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
"""


def load(url: str, rows: int) -> float:
    started = time.perf_counter()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        indexes = conn.execute(INDEXES_SQL).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute(OFFICERS_SQL)
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute(ITEMS_SQL, {"rows": rows})
        conn.execute(GRANTS_SQL)
        for _, definition in indexes:
            conn.execute(definition)
        conn.execute("ANALYZE")
    return time.perf_counter() - started


@dataclass(frozen=True)
class Query:
    name: str
    filters: SearchFilters
    second_page: bool = False  # time the page after the first (keyset)
    sort: SearchSort | None = None  # None: the default for the filters
    in_goal: bool = True  # False: reported, outside the list and the overall p95


def queries(now: datetime) -> list[Query]:
    month = SearchFilters(captured_from=now - timedelta(days=60), captured_to=now - timedelta(30))
    ten_minutes = SearchFilters(
        captured_from=now - timedelta(days=40), captured_to=now - timedelta(days=40, minutes=-10)
    )
    officer = uuid.UUID("20000000-0000-4000-8000-" + f"{1000 + 17:012x}")
    box = geo.BoundingBox(CITY_LAT - 0.02, CITY_LAT + 0.02, CITY_LON - 0.02, CITY_LON + 0.02)
    combined = SearchFilters(
        captured_from=now - timedelta(days=180),
        captured_to=now,
        category="criminal-evidence",
        tags=["arrest"],
        text="suspect",
    )
    return [
        Query("latest (no filter)", SearchFilters()),
        Query("time range (30 days)", month),
        Query("time range, keyset page 2", month, second_page=True),
        Query("time range (10 min, under a page)", ten_minutes),
        Query("officer", SearchFilters(officer_id=officer)),
        Query("department", SearchFilters(department_id=DEPARTMENTS[0])),
        Query("category (major-incident)", SearchFilters(category="major-incident")),
        Query("tag (homicide, rare)", SearchFilters(tags=["homicide"])),
        Query("text (knife river)", SearchFilters(text="knife river")),
        Query("text (vehicle, common)", SearchFilters(text="vehicle")),
        Query("bbox (4 km)", SearchFilters(bbox=box)),
        Query("radius (500 m)", SearchFilters(near=Near(CITY_LAT, CITY_LON, 500))),
        Query("combined (time+category+tag+text)", combined),
        Query("capture order, no filter", SearchFilters(), sort=SearchSort.CAPTURED),
        Query("time range, sort=created", month, sort=SearchSort.CREATED, in_goal=False),
    ]


def principals() -> dict[str, Principal]:
    return {
        "investigator": Principal(
            user_id=uuid.uuid4(),
            username="bench-investigator",
            clearance=Classification.SENSITIVE,
            roles={DEPARTMENTS[0]: frozenset({Role.INVESTIGATOR})},
        ),
        "admin": Principal(
            user_id=uuid.uuid4(),
            username="bench-admin",
            clearance=Classification.SECRET,
            roles={DEPARTMENTS[0]: frozenset({Role.PLATFORM_ADMIN})},
        ),
    }


async def timed(runs: int, call: Callable[[], Awaitable[None]]) -> list[float]:
    await call()  # warm the plan cache and the buffers
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[94]


async def run_query(
    db: Database, principal: Principal, query: Query, runs: int
) -> tuple[list[float], int]:
    """The timed samples of one query kind as one caller, and the rows of its page."""
    cursor: str | None = None
    if query.second_page:  # the cursor of the first page, fetched once (not timed)
        async with db.sessionmaker() as session:
            auditor = Auditor(session, principal)
            _, cursor = await search_items(
                session, principal, auditor, query.filters, sort=query.sort
            )
    count = 0

    async def search() -> None:
        nonlocal count
        async with db.sessionmaker() as session:
            auditor = Auditor(session, principal)
            found, _ = await search_items(
                session, principal, auditor, query.filters, sort=query.sort, cursor=cursor
            )
            await session.flush()  # the audit event, as the request commits it
            await session.rollback()
            count = len(found)

    return await timed(runs, search), count


async def measure(url: str, runs: int) -> None:
    db = Database(url, pool_size=2)
    now = datetime.now(UTC)
    try:

        async def baseline() -> None:
            async with db.sessionmaker() as session:
                sql = "SELECT id FROM evidence_items ORDER BY created_at DESC, id DESC LIMIT 50"
                (await session.execute(text(sql))).all()

        base = await timed(runs, baseline)
        overall: list[float] = []
        slow = 0
        print(f"{'query':36} {'as':13} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'rows':>5}")
        for role, principal in principals().items():
            for query in queries(now):
                samples, count = await run_query(db, principal, query, runs)
                over = p95(samples) > GOAL_MS
                if query.in_goal:
                    overall += samples
                    slow += over
                flag = ("  SLOW" if over else "") + ("" if query.in_goal else "  (not in goal)")
                print(
                    f"{query.name:36} {role:13} {statistics.median(samples):7.1f} "
                    f"{p95(samples):7.1f} {max(samples):7.1f} {count:5d}{flag}"
                )
        verdict = "met" if p95(overall) <= GOAL_MS and not slow else "MISSED"
        print(
            f"overall search p95: {p95(overall):.1f} ms; kinds over {GOAL_MS:.0f} ms: {slow} "
            f"(goal: every kind under {GOAL_MS:.0f} ms: {verdict})"
        )
        print(
            f"baseline (bare ORDER BY created_at LIMIT 50) p95: {p95(base):.2f} ms; "
            f"search / baseline: {p95(overall) / p95(base):.1f}x"
        )
    finally:
        await db.dispose()


@contextlib.contextmanager
def database(embedded: bool, keep: str | None = None) -> Iterator[str]:
    if embedded:
        with tempfile.TemporaryDirectory(prefix="cw-bench-search-") as tmp:
            server = EmbeddedPostgres(Path(tmp), database="citywitness")
            url = server.start()
            try:
                yield url
            finally:
                server.stop()
        return
    admin = os.environ.get("CW_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = keep or f"cw_bench_search_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        if keep is None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def loaded_rows(url: str) -> int:
    """How many items a kept database already holds (0 for a new one)."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM evidence_items").fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30, help="timed runs per query and role")
    parser.add_argument("--embedded", action="store_true", help="embedded PostgreSQL")
    parser.add_argument(
        "--keep",
        metavar="NAME",
        help="use database NAME on the external server and keep it: loaded on the first run, "
        "migrated and measured again on the next ones (quick iteration)",
    )
    args = parser.parse_args()
    with database(args.embedded, args.keep) as url:
        migrate.upgrade(url)
        rows = loaded_rows(url) if args.keep else 0
        if rows:
            with psycopg.connect(libpq_url(url), autocommit=True) as conn:
                conn.execute("ANALYZE evidence_items")
            print(f"CityWitness search benchmark: {rows:,} evidence items already in "
                  f"{args.keep}; {args.runs} runs per query and role")  # fmt: skip
        else:
            seconds = load(url, args.rows)
            print(f"CityWitness search benchmark: {args.rows:,} evidence items loaded in "
                  f"{seconds:.0f} s; {args.runs} runs per query and role")  # fmt: skip
        asyncio.run(measure(url, args.runs))


if __name__ == "__main__":
    main()
