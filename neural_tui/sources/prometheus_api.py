"""The two calls of Prometheus' HTTP API the fleet needs, against an untrusted server.

`/api/v1/query` and `/api/v1/query_range` over one `httpx.AsyncClient`: each request bounded in
time (the client's timeout, and `timeout=` asking Prometheus to give up too) and in bytes (the
decoded body is read in chunks and abandoned past `MAX_BODY_BYTES`, so a 1 GB answer or a gzip
bomb costs at most that). Whatever goes wrong (refused, 5xx, `{"status": "error"}`, not JSON,
the wrong shape) is one `QueryError` with a one-line reason; sample values are parsed as
Prometheus writes them ("NaN", "+Inf" included) and judged by the caller.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import httpx

from neural_tui.remote_models import Endpoint

MAX_BODY_BYTES = 32 * 1024 * 1024
"""The largest decoded answer read: the per-feature drift of 1000 models of 50 features (its
three metrics in one answer) takes about 22 MiB."""

INFLATE_STEP_BYTES = 1024 * 1024
"""Inflated at most this much at a time, the other queries of a round running in between."""

MAX_CONCURRENT_REQUESTS = 4
"""Requests of one client in flight at once: a round's queries share them, which bounds the
bytes held to this many bodies and spares the server a burst."""

MAX_REASON_CHARS = 300

Labels = Mapping[str, str]
_STRINGS_ONLY = {str}


class QueryError(Exception):
    """A query that gave no usable answer; `str()` is one line saying why."""


@dataclass(frozen=True, slots=True)
class InstantSample:
    """One series of an instant vector: its labels and its value (maybe NaN or infinite)."""

    labels: Labels
    value: float


@dataclass(frozen=True, slots=True)
class RangeSeries:
    """One series of a range query: its labels and its (unix time, value) points, in order."""

    labels: Labels
    points: tuple[tuple[float, float], ...]


def one_line(text: str, limit: int = MAX_REASON_CHARS) -> str:
    """`text` as one bounded line of printable characters (it may come from the server)."""
    printable = "".join(c if c.isprintable() else " " for c in text[: limit * 4])
    line = " ".join(printable.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class PrometheusAPI:
    """A client of one Prometheus base URL (`http://host:9090`, or behind a path prefix)."""

    def __init__(self, endpoint: Endpoint, workers: Executor, *,
                 max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.workers = workers
        """Where answers are parsed, off the event loop."""
        self.base_url = endpoint.url.rstrip("/")
        self.timeout_seconds = endpoint.timeout_seconds
        self.max_body_bytes = max_body_bytes
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip",
                   "User-Agent": "neural-tui"}
        if endpoint.bearer_token is not None:
            headers["Authorization"] = f"Bearer {endpoint.bearer_token}"
        self._client = httpx.AsyncClient(
            headers=headers,
            auth=httpx.BasicAuth(*endpoint.basic_auth) if endpoint.basic_auth else None,
            timeout=httpx.Timeout(endpoint.timeout_seconds),
            limits=httpx.Limits(max_connections=MAX_CONCURRENT_REQUESTS),
            follow_redirects=False,
            trust_env=False,  # no proxy or netrc from the environment: only the config's
        )

    async def __aenter__(self) -> PrometheusAPI:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._client.aclose()

    async def query(self, expr: str, at: float) -> tuple[InstantSample, ...]:
        """The instant vector of `expr` evaluated at unix time `at`."""
        body, status = await self._get("/api/v1/query", {"query": expr, "time": _timestamp(at)})
        return await asyncio.get_running_loop().run_in_executor(
            self.workers, parse_vector, body, status)

    async def query_range(self, expr: str, start: float, end: float,
                          step: float) -> tuple[RangeSeries, ...]:
        """The matrix of `expr` evaluated every `step` seconds from `start` to `end`."""
        params = {"query": expr, "start": _timestamp(start), "end": _timestamp(end),
                  "step": _timestamp(step)}
        body, status = await self._get("/api/v1/query_range", params)
        return await asyncio.get_running_loop().run_in_executor(
            self.workers, parse_matrix, body, status)

    async def _get(self, path: str, params: dict[str, str]) -> tuple[bytes, int]:
        """The capped body and status of one request; parsing is left to the workers."""
        params = {**params, "timeout": f"{self.timeout_seconds:g}"}
        try:
            async with self._client.stream("GET", self.base_url + path,
                                           params=params) as response:
                body = await self._read_capped(response)
                status = response.status_code
        except httpx.TimeoutException:
            raise QueryError(f"no answer within {self.timeout_seconds:g} s") from None
        except httpx.HTTPError as exc:
            raise QueryError(one_line(f"{type(exc).__name__}: {exc}")) from None
        return body, status

    async def _read_capped(self, response: httpx.Response) -> bytes:
        """The body, decompressed here rather than by httpx so that a gzip bomb is stopped
        at the limit instead of inflating a whole network chunk first."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise QueryError(f"answer of {declared} bytes, over the "
                             f"{self.max_body_bytes} byte limit")
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            raise QueryError(one_line(f"answer in an unknown encoding {encoding[:40]!r}"))
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
        body = bytearray()
        async for chunk in response.aiter_raw():
            pending = chunk
            while pending:
                room = self.max_body_bytes - len(body) + 1
                if inflate is None:
                    body += pending[:room]
                    pending = b""
                else:
                    try:
                        body += inflate.decompress(pending, min(room, INFLATE_STEP_BYTES))
                    except zlib.error:
                        raise QueryError("answer is not valid gzip") from None
                    pending = inflate.unconsumed_tail
                    await asyncio.sleep(0)
                if len(body) > self.max_body_bytes:
                    raise QueryError(f"answer over the {self.max_body_bytes} byte limit")
        return bytes(body)


def _timestamp(seconds: float) -> str:
    return f"{seconds:.3f}"


def parse_vector(body: bytes, status: int) -> tuple[InstantSample, ...]:
    """An instant-query answer's series, or the `QueryError` saying why there are none."""
    return tuple(InstantSample(_labels(item), _value(item.get("value")))
                 for item in _result(body, status, "vector"))


def parse_matrix(body: bytes, status: int) -> tuple[RangeSeries, ...]:
    """A range-query answer's series, or the `QueryError` saying why there are none."""
    return tuple(RangeSeries(_labels(item), _points(item.get("values")))
                 for item in _result(body, status, "matrix"))


def _result(body: bytes, status: int, result_type: str) -> list[dict[str, Any]]:
    """The `data.result` list of an answer, or the one-line reason it has none."""
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        answer = None
    if not isinstance(answer, dict):
        prefix = f"HTTP {status}: " if status != 200 else ""
        raise QueryError(one_line(f"{prefix}answer is not a JSON object: "
                                  f"{body[:80].decode('utf-8', 'replace')!r}"))
    if answer.get("status") != "success" or status != 200:
        reason = ": ".join(str(answer.get(key)) for key in ("errorType", "error")
                           if answer.get(key) is not None) or "status is not success"
        raise QueryError(one_line(f"HTTP {status}: {reason}"))
    data = answer.get("data")
    if not isinstance(data, dict) or data.get("resultType") != result_type \
            or not isinstance(data.get("result"), list):
        raise QueryError(f"answer is not a {result_type} result")
    result: list[Any] = data["result"]
    if not all(isinstance(item, dict) for item in result):
        raise QueryError(f"answer is not a {result_type} result")
    return result


def _labels(item: dict[str, Any]) -> Labels:
    metric = item.get("metric")
    # JSON object keys are always strings; the values are checked in one pass over types.
    if not isinstance(metric, dict) or not set(map(type, metric.values())) <= _STRINGS_ONLY:
        raise QueryError("a series' labels are not strings")
    return metric


def _value(pair: object) -> float:
    """A `[time, "value"]` pair's value; Prometheus writes it as a string."""
    if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[1], str):
        raise QueryError("a sample is not a [time, \"value\"] pair")
    try:
        return float(pair[1])
    except ValueError:
        raise QueryError(one_line(f"a sample value is not a number: {pair[1][:40]!r}")) from None


def _points(values: object) -> tuple[tuple[float, float], ...]:
    if not isinstance(values, list):
        raise QueryError("a range series has no values list")
    points = []
    for pair in values:
        value = _value(pair)
        when = pair[0]
        try:
            if isinstance(when, bool) or not isinstance(when, int | float):
                raise TypeError
            points.append((float(when), value))
        except (TypeError, OverflowError):  # an integer of 400 digits is no float
            raise QueryError("a sample time is not a number") from None
    return tuple(points)
