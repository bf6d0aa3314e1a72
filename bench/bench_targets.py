"""Whether one core keeps 200 targets polled every 5 s on schedule.

    .venv/bin/python bench/bench_targets.py [--targets N] [--interval S] [--seconds S]

A server process (pinned to the other CPUs) listens on N loopback ports (default 200) and
answers each `GET /metrics` with our exporter's body for a model host (3 models, 20 features
each, the process metrics: about 30 KiB), noting when each request arrived. This process,
pinned to one CPU, runs `TargetSource.views()` over the N targets (interval 5 s, timeout 2 s)
for `--seconds` (default 30) and reads every view, as the runtime does. Then it prints:

- the share of polls that started on schedule (the request reached its server within 100 ms of
  the poll's due time by `schedule`; a slot skipped counts as late), and the lag's p50, p99
  and maximum, the first round (all targets within the first second) apart from the rest;
- the views read per target against the polls due;
- the CPU this process used (every thread: event loop and parsers) per interval, as a share of
  the interval.

The baseline is the schedule itself: a poller that kept up has every poll on time and a CPU
share well under 1.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import time
from collections import Counter
from multiprocessing.connection import Connection

from bench_remote_parse import fleet_host

from neural_tui.remote_models import Endpoint
from neural_tui.sources.targets import TargetSource, schedule

LOOPBACK = "127.0.0.1"
ON_TIME_SECONDS = 0.1


async def serve(body: bytes, count: int, ready: Connection, stop: Connection) -> None:
    """N listening ports answering every request with `body`; sends back the arrival times."""
    arrivals: dict[int, list[float]] = {}
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")

    def handler(port: int):  # type: ignore[no-untyped-def]
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    await reader.readuntil(b"\r\n\r\n")
                    arrivals[port].append(time.monotonic())
                    writer.write(head + body)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()

        return handle

    ports = []
    for _ in range(count):
        server = await asyncio.start_server(lambda r, w: None, LOOPBACK, 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        server = await asyncio.start_server(handler(port), LOOPBACK, port)
        arrivals[port] = []
        ports.append(port)
    ready.send(ports)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, stop.recv)
    ready.send(arrivals)


def server_process(body: bytes, count: int, cpus: set[int], ready: Connection,
                   stop: Connection) -> None:
    os.sched_setaffinity(0, cpus)
    asyncio.run(serve(body, count, ready, stop))


async def poll(source: TargetSource, seconds: float) -> tuple[Counter[str], float]:
    """Run the source for `seconds`; the views read per label and the CPU used."""
    seen: Counter[str] = Counter()
    cpu_before = time.process_time()

    async def follow() -> None:
        async for view in source.views():
            seen[view.label] += 1

    try:
        async with asyncio.timeout(seconds):
            await follow()
    except TimeoutError:
        pass
    return seen, time.process_time() - cpu_before


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    poller_cpu = cpus[0]
    server_cpus = set(cpus[1:]) or {poller_cpu}
    body = fleet_host(20, 3).encode()
    ours, theirs = multiprocessing.Pipe()
    stop_ours, stop_theirs = multiprocessing.Pipe()
    server = multiprocessing.Process(target=server_process, daemon=True,
                                     args=(body, args.targets, server_cpus, theirs, stop_theirs))
    server.start()
    ports: list[int] = ours.recv()
    os.sched_setaffinity(0, {poller_cpu})
    endpoints = [Endpoint(f"host-{i:03d}", f"http://{LOOPBACK}:{port}/metrics",
                          interval_seconds=args.interval, timeout_seconds=2.0)
                 for i, port in enumerate(ports)]
    seen, cpu = asyncio.run(poll(TargetSource(endpoints), args.seconds))
    stop_ours.send(True)
    arrivals: dict[int, list[float]] = ours.recv()
    server.join(timeout=10)

    # The schedule starts once the clients are made: the earliest (arrival - first offset)
    # of any target is when it started, give or take the first request's own few ms.
    started = min(arrivals[port][0] - schedule(i, len(ports), args.interval)[0]
                  for i, port in enumerate(ports) if arrivals[port])
    lags: dict[str, list[float]] = {"first round": [], "later rounds": []}
    due_total = on_time = 0
    for i, port in enumerate(ports):
        first, phase = schedule(i, len(ports), args.interval)
        dues = [started + first]
        later = started + max(first, phase) + args.interval
        while later < started + args.seconds - 1.0:
            dues.append(later)
            later += args.interval
        due_total += len(dues)
        for k, due in enumerate(dues):
            lag = min((t - due for t in arrivals[port] if t >= due - ON_TIME_SECONDS),
                      default=None)
            if lag is not None and lag < args.interval:
                lags["first round" if k == 0 else "later rounds"].append(max(lag, 0.0))
                on_time += lag <= ON_TIME_SECONDS
    intervals = args.seconds / args.interval
    print(f"{args.targets} targets every {args.interval:g} s for {args.seconds:g} s on CPU "
          f"{poller_cpu} (server on {sorted(server_cpus)}), body {len(body) / 1024:.0f} KiB")
    print(f"polls on schedule (within {ON_TIME_SECONDS * 1000:.0f} ms): {on_time}/{due_total} "
          f"= {on_time / due_total:.1%}")
    for name, values in lags.items():
        if values:
            print(f"lag, {name}: p50 {percentile(values, 0.5) * 1000:.1f} ms, p99 "
                  f"{percentile(values, 0.99) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms")
    print(f"views read: {sum(seen.values())} for {due_total} polls due "
          f"({min(seen.values(), default=0)} to {max(seen.values(), default=0)} a target)")
    print(f"CPU: {cpu:.2f} s in {args.seconds:g} s = {cpu / intervals:.2f} s per "
          f"{args.interval:g} s interval, {cpu / args.seconds:.1%} of the interval")


if __name__ == "__main__":
    main()
