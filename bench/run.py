"""`make bench`: every scenario beside a hand-written SQL baseline measured in the same run.

For each scenario: p50 and p95 over repeated runs after a warm-up, the SQL queries one run
makes, and the same answer computed by one hand-written query through psycopg (the physical
floor), with the ratio endpoint / baseline. Prints one table; writes the figures as JSON to
BENCH_OUT (default bench/results.json).

    make bench                 # full scale: 200,000 obligations (generation takes minutes)
    make bench SCALE=0.01      # the same shape at 1/100
    make bench BENCH_ARGS="--skip-load --only dashboard"   # the lead's dashboard only
"""

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.measure import ROOT, Result, database_url_for


def print_table(scale: float, results: list[Result]) -> None:
    header = (
        f"{'scenario':<26}{'p50 ms':>9}{'p95 ms':>9}{'queries':>9}{'SQL p50':>9}{'SQL p95':>9}"
        f"{'ratio':>7}{'ratio95':>8}{'floor+':>8}{'peak MB':>9}{'errors':>8}"
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nbenchmark at scale {scale} ({int(200_000 * scale):,} obligations), load average at the end {load}")
    print(header)
    print("-" * len(header))
    for r in results:

        def fmt(value, width, spec=""):
            return f"{'-' if value is None else format(value, spec):>{width}}"

        print(
            f"{r.name:<26}{fmt(r.p50_ms, 9)}{fmt(r.p95_ms, 9)}{fmt(r.queries, 9)}{fmt(r.baseline_p50_ms, 9)}"
            f"{fmt(r.baseline_p95_ms, 9)}{fmt(r.ratio, 7)}{fmt(r.ratio_p95, 8)}{fmt(r.vs_floor, 8)}"
            f"{fmt(r.peak_mb, 9)}{fmt(r.errors, 8)}"
        )
        if r.note:
            print(f"    {r.note}")


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=float(os.environ.get("SCALE", "1")))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", help="comma-separated scenario names or prefixes (e.g. dashboard)")
    parser.add_argument("--skip", help="comma-separated scenario names or prefixes not to run (e.g. paths,decision)")
    parser.add_argument("--skip-load", action="store_true", help="skip the 50-client load test")
    args = parser.parse_args()

    url = database_url_for(args.scale)
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")
    # Production settings, as the load scenario's gunicorn runs: with DEBUG on, every query is
    # also formatted and logged, a cost no deployment pays. BENCH_DEBUG=1 measures with it.
    if os.environ.get("BENCH_DEBUG") == "1":
        os.environ["DEBUG"] = "1"
    else:
        os.environ["DEBUG"] = "0"
        os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 50)
        os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
        os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from obligations.models import Obligation

    from . import generate, scenarios

    call_command("migrate", verbosity=0)
    if os.environ["DEBUG"] == "0":
        call_command("collectstatic", interactive=False, verbosity=0)  # the pages' manifest
    if not Obligation.objects.exists():
        print(generate.generate(args.scale))
    selected = set(args.only.split(",")) if args.only else None
    skipped = set(args.skip.split(",")) if args.skip else set()
    # The machine may be shared: every run says how busy it was at its start and its end.
    load_start = [round(x, 2) for x in os.getloadavg()]
    print(f"load average at the start: {', '.join(f'{x:.1f}' for x in load_start)}", flush=True)
    results = scenarios.run_all(args, selected, skipped)
    print_table(args.scale, results)
    out = Path(os.environ.get("BENCH_OUT", ROOT / "bench" / "results.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "scale": args.scale,
        "obligations": Obligation.objects.count(),
        "load_average_start": load_start,
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "scenarios": [{k: v for k, v in asdict(r).items() if k != "extra"} | r.extra for r in results],
    }
    out.write_text(json.dumps(payload, ensure_ascii=False, indent=2))
    print(f"\nwritten to {out}")
    # A 5xx under load is a bug, not a figure: the run fails (its tracebacks were printed).
    broken = [r.name for r in results if r.extra.get("server_errors")]
    if broken:
        sys.exit(f"server errors (5xx) in: {', '.join(broken)}; tracebacks above")


if __name__ == "__main__":
    main()
