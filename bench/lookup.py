"""Benchmark: 50,000 meetings over every GB postcode district.

Prints load + index time, p50/p99 lookup latency for a mix of queries (parse +
search + SMS formatting), and memory. Targets: p99 < 5 ms, load + index < 2 s.

    .venv/bin/python bench/lookup.py [--meetings 50000] [--queries 5000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from content.formatting import format_sms
from content.loader import DEFAULT_DATA_DIR, MEETINGS_DIR, ContentStore, load_network
from content.network import RecoveryNetwork
from content.query import parse_query
from content.search import search

FELLOWSHIPS = ["AA"] * 5 + ["NA"] * 2 + ["CA", "SMART", "Al-Anon"]
QUERY_SHAPES = [
    "{f} tonight {place}",
    "{f} near {place}",
    "meetings {place}",
    "meeting now {place}",
    "{f} {day} {place}",
    "women's meeting {place}",
    "{f} meetings in {place} tomorrow",
    "online {f}",
    "food {place}",
]
DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]


def fake_meetings(
    count: int, outcodes: list[tuple[str, float, float]], rng: random.Random
) -> list[dict]:
    meetings = []
    for i in range(count):
        code, lat, lon = outcodes[i % len(outcodes)]
        meeting: dict = {
            "name": f"Bench meeting {i}",
            "slug": f"bench-{i}",
            "fellowship": rng.choice(FELLOWSHIPS),
            "day": rng.randrange(7) if rng.random() < 0.9 else rng.sample(range(7), 3),
            "time": f"{rng.randrange(24):02d}:{rng.choice((0, 15, 30, 45)):02d}",
            "types": rng.sample(["O", "C", "W", "M", "BE", "X", "D", "SP"], 2),
            "location": f"Hall {i}",
            "postal_code": code,
            "latitude": round(lat + rng.uniform(-0.02, 0.02), 5),
            "longitude": round(lon + rng.uniform(-0.03, 0.03), 5),
            "region": code.rstrip("0123456789"),
        }
        if rng.random() < 0.03:
            meeting["conference_url"] = f"https://meet.example.org/{i}"
        meetings.append(meeting)
    return meetings


def read_outcodes() -> list[tuple[str, float, float]]:
    rows = (DEFAULT_DATA_DIR / "uk-outcodes.csv").read_text().splitlines()[1:]
    return [(c, float(a), float(b)) for c, a, b, _ in (row.split(",") for row in rows)]


def make_data_dir(root: Path, meetings: list[dict]) -> Path:
    data = root / "data"
    shutil.copytree(DEFAULT_DATA_DIR, data, ignore=shutil.ignore_patterns(MEETINGS_DIR))
    (data / MEETINGS_DIR).mkdir()
    (data / MEETINGS_DIR / "bench.json").write_text(json.dumps(meetings))
    return data


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_queries(
    network: RecoveryNetwork, outcodes: list[str], count: int, rng: random.Random
) -> list[float]:
    start = datetime(2026, 6, 15, tzinfo=UTC)
    towns = [p.name for p in network.places.towns.values()]
    timings = []
    for _ in range(count):
        text = rng.choice(QUERY_SHAPES).format(
            f=rng.choice(FELLOWSHIPS),
            place=rng.choice(outcodes) if rng.random() < 0.8 else rng.choice(towns),
            day=rng.choice(DAYS),
        )
        now = start + timedelta(minutes=rng.randrange(7 * 24 * 60))
        began = time.perf_counter()
        query = parse_query(text, network.places)
        assert query is not None, text
        format_sms(search(network, query, now))
        timings.append((time.perf_counter() - began) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meetings", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    outcodes = read_outcodes()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = make_data_dir(Path(tmp), fake_meetings(args.meetings, outcodes, rng))
        load_network(data_dir)  # warm imports and caches, as a running service would be
        began = time.perf_counter()
        load_network(data_dir)
        load_seconds = time.perf_counter() - began
        network = ContentStore(data_dir).network  # as the service holds it
        rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        tracemalloc.start()
        load_network(data_dir)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    codes = [code for code, _, _ in outcodes]
    run_queries(network, codes, 200, rng)  # warm-up
    timings = run_queries(network, codes, args.queries, rng)
    print(f"meetings: {len(network.meetings):,} over {len(outcodes):,} outcodes")
    print(f"load + validate + index: {load_seconds:.2f} s (target < 2 s)")
    print(
        f"lookup (parse + search + SMS) over {len(timings):,} queries: "
        f"p50 {statistics.median(timings):.2f} ms, p99 {percentile(timings, 0.99):.2f} ms, "
        f"max {max(timings):.2f} ms (target p99 < 5 ms)"
    )
    print(
        f"memory: tracemalloc peak during a load {peak / 2**20:.0f} MiB, max RSS {rss_mib:.0f} MiB"
    )


if __name__ == "__main__":
    main()
