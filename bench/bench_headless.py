"""The headless exporter as users run it, against a bare `json.loads` loop over the same file.

    .venv/bin/python bench/bench_headless.py [--records N] [--rounds N]

Writes once (cached under `bench/data/headless/`, rewritten when `--records` changes) a storage
of N records (default 1,500,000) of one binary classifier as the old module logged it: 10 numeric
features (a `NaN` in one record of a thousand) and one categorical, `prediction_proba`, latency,
metadata, and a late label on every 50th line. Then
times, alternating for `--rounds` rounds (default 3) so that a burst of load on a shared machine
hits both:

- baseline: `for line in f: json.loads(line)` over the file, in this process;
- the path under test: `neural-tui --serve-metrics --storage DIR --port P` started as a
  subprocess with the default config (engines on), `/metrics` scraped every 0.2 s until
  `neural_ingest_records_total` equals the records written; timed from the process start
  (interpreter start-up, imports and the one-second snapshot cadence included).

Prints each round's time ratio (headless / baseline), then the best time of each side, their
records/s and the headline ratio (target: 0.40x or better); then the same for CPU time (every
thread of the headless process, against the loop's), which a loaded machine moves less.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench_decode import json_loads_loop, write_storage

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data" / "headless"
COUNTRIES = ["fr", "de", "us", "jp", "br"]
SCRAPE_SECONDS = 0.2
TIMEOUT_SECONDS = 600.0
_RECORDS_TOTAL = re.compile(rb"^neural_ingest_records_total ([0-9.e+]+)$", re.MULTILINE)


def cached_storage(records: int) -> Path:
    """The storage's file, written on first use and whenever the record count changes."""
    path = DATA / "predictions" / "bench.jsonl"
    marker = DATA / "records"
    if not (path.exists() and marker.exists() and marker.read_text() == str(records)):
        shutil.rmtree(DATA, ignore_errors=True)
        started = time.perf_counter()
        write_storage(DATA, records, seed=11, categories={"country": COUNTRIES})
        marker.write_text(str(records))
        print(f"wrote {records:,} records in {time.perf_counter() - started:.0f} s")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def records_scraped(port: int) -> int | None:
    """`neural_ingest_records_total` from `/metrics`, or None while the server is not up."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            body = response.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
    match = _RECORDS_TOTAL.search(body)
    return int(float(match.group(1))) if match else None


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) the process used so far; NaN off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def headless_seconds(storage: Path, records: int) -> tuple[float, float]:
    """Wall seconds from starting the headless process until `/metrics` counts every record,
    and the CPU seconds it used by then."""
    command = Path(sys.executable).with_name("neural-tui")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
    )}
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(command), "--serve-metrics", "--storage", str(storage), "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
    )
    try:
        while True:
            seen = records_scraped(port)
            if seen == records:
                return time.perf_counter() - started, cpu_seconds(process.pid)
            if process.poll() is not None:
                raise SystemExit(f"neural-tui exited {process.returncode}: "
                                 f"{process.stderr.read().decode() if process.stderr else ''}")
            if time.perf_counter() - started > TIMEOUT_SECONDS:
                raise SystemExit(f"neural-tui counted {seen} of {records} records after "
                                 f"{TIMEOUT_SECONDS:g} s")
            time.sleep(SCRAPE_SECONDS)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def json_loads_seconds(path: Path) -> tuple[float, float]:
    """Wall and CPU seconds of the baseline loop."""
    started, cpu = time.perf_counter(), time.process_time()
    json_loads_loop(path)
    return time.perf_counter() - started, time.process_time() - cpu


def report(label: str, records: int, seconds: tuple[float, float]) -> None:
    wall, cpu = seconds
    print(f"{label:<28} {records:>10,} records {wall:7.2f} s {records / wall:>10,.0f} "
          f"records/s   CPU {cpu:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_500_000)
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternate baseline and headless this many times; best of each counts")
    args = parser.parse_args()

    path = cached_storage(args.records)
    print(f"{path}: {path.stat().st_size / (1 << 20):,.0f} MiB")
    rounds = []
    for _ in range(args.rounds):
        baseline = json_loads_seconds(path)
        report("json.loads loop (baseline)", args.records, baseline)
        measured = headless_seconds(DATA, args.records)
        report("neural-tui --serve-metrics", args.records, measured)
        rounds.append((baseline, measured))
    print("rounds: " + ", ".join(f"{measured[0] / baseline[0]:.2f}x"
                                 for baseline, measured in rounds))
    baseline = min(seconds[0] for seconds, _ in rounds)
    measured = min(seconds[0] for _, seconds in rounds)
    print(f"best of {args.rounds}: {args.records / measured:,.0f} against "
          f"{args.records / baseline:,.0f} records/s: {measured / baseline:.2f}x the json.loads "
          "loop's time (target <= 0.40x)")
    baseline_cpu = min(seconds[1] for seconds, _ in rounds)
    measured_cpu = min(seconds[1] for _, seconds in rounds)
    print(f"CPU time, best of each: {measured_cpu:.2f} s against {baseline_cpu:.2f} s: "
          f"{measured_cpu / baseline_cpu:.2f}x (steadier than wall time on a loaded machine)")


if __name__ == "__main__":
    main()
