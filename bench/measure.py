"""Timing helpers shared by the runner (bench.run) and the scenarios (bench.scenarios)."""

import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    name: str
    p50_ms: float | None = None
    p95_ms: float | None = None
    queries: int | None = None
    baseline_p50_ms: float | None = None
    baseline_p95_ms: float | None = None
    ratio: float | None = None
    ratio_p95: float | None = None
    peak_mb: float | None = None
    vs_floor: float | None = None  # p50 / (the framework floor's p50 + the baseline's p50)
    errors: int = 0
    note: str = ""
    extra: dict = field(default_factory=dict)


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def timed(fn, runs: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def count_queries(fn) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def timed_in_turn(fns: list, runs: int, warmup: int = 3, block: int = 5) -> list[list[float]]:
    """`runs` samples of each function, taken in rounds: each function `block` times in a row,
    then the next, round after round. On a shared machine slow phases last seconds; timed one
    after the other, a phase lands on one function and not on the one it is compared with. Runs
    in a row (not one call each in turn) keep each function's caches as warm as when it is timed
    alone: one call right after another function's measured 10–40 % slower."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    samples: list[list[float]] = [[] for _ in fns]
    while len(samples[0]) < runs:
        for fn, own in zip(fns, samples, strict=True):
            for _ in range(min(block, runs - len(own))):
                start = time.perf_counter()
                fn()
                own.append((time.perf_counter() - start) * 1000)
    return samples


def measure(name: str, fn, baseline_sql: str | None, params, runs: int, floor=None) -> Result:
    """Time `fn` and, beside it, one raw SQL query returning the same figures; with `floor` (the
    framework floor's request, bench/floor.py), that too, all three in turn (`timed_in_turn`),
    and `vs_floor` = p50 / (the floor's p50 + the SQL's p50) from those side-by-side samples."""
    from django.db import connection

    result = Result(name)
    fns = [fn]
    if baseline_sql:
        raw = connection.connection  # the psycopg connection under Django's

        def baseline():
            with raw.cursor() as cursor:
                cursor.execute(baseline_sql, params)
                cursor.fetchall()

        fns.append(baseline)
    if floor is not None and baseline_sql:
        fns.append(floor)
    samples = timed_in_turn(fns, runs)
    result.p50_ms = round(statistics.median(samples[0]), 1)
    result.p95_ms = round(percentile(samples[0], 95), 1)
    result.queries = count_queries(fn)
    if baseline_sql:
        base = samples[1]
        result.baseline_p50_ms = round(statistics.median(base), 2)
        result.baseline_p95_ms = round(percentile(base, 95), 2)
        result.ratio = round(result.p50_ms / max(result.baseline_p50_ms, 0.01), 1)
        result.ratio_p95 = round(result.p95_ms / max(result.baseline_p95_ms, 0.01), 1)
    if len(fns) == 3:
        floor_p50 = statistics.median(samples[2])
        result.extra["floor_p50_ms"] = round(floor_p50, 2)
        result.vs_floor = round(statistics.median(samples[0]) / (floor_p50 + statistics.median(samples[1])), 2)
    return result


def database_url_for(scale: float) -> str:
    base = os.environ.get("BENCH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/tracker_bench"
    if scale == 1:
        return base
    parts = urlsplit(base)
    suffix = str(scale).replace(".", "_")
    return urlunsplit(parts._replace(path=f"{parts.path}_{suffix}"))
