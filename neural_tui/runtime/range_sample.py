"""`RangeSample`: a uniform sample of one model's prediction rows over each of the console's time
ranges (the last 5 minutes, hour or day), which the engines judge while the console shows that
range (`runtime.range_analysis`).

Each row draws a random key. A bucket of record time keeps the rows of smallest key, at most
`per_bucket`: a uniform sample of its rows; merging two buckets keeps the smallest keys of both,
a uniform sample of their union. Buckets are a twelfth of a range wide: the newest 5 minutes in
25-second buckets, the rest of the hour in 5-minute ones, the rest of the day in 2-hour ones. As
a bucket ages past its range it merges into the wider bucket that holds it, so about 40 buckets
are held whatever the traffic, and a busy model keeps at most about `40 x per_bucket` rows.

A range's sample takes from each bucket it covers in proportion to the bucket's rows in the
range (its rows older than the range left out, its count scaled by the share of its kept rows
inside). To keep the proportion exact the sample is smaller than asked when one bucket holds
much of the range's traffic (never smaller than `per_bucket` rows while that many are in range);
a bucket that straddles the range's start gives what it holds, so a burst just before the range
does not shrink the sample.

Record time is untrusted: the buckets age by the model's newest admitted second, and a row more
than `AHEAD_SECONDS` past it or older than the longest range is not sampled (a clock a year ahead
neither evicts the day nor holds a bucket).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neural_tui.runtime.feed import TIME_RANGES_SECONDS

BUCKETS_PER_RANGE = 12
WIDTHS = tuple(seconds / BUCKETS_PER_RANGE for seconds in TIME_RANGES_SECONDS)
"""Bucket width of each tier: 25 s, 5 min, 2 h (each a whole number of the one before)."""
REACHES = tuple(float(seconds) for seconds in TIME_RANGES_SECONDS)
"""How far back each tier's buckets reach before they merge into the next tier's."""
AHEAD_SECONDS = 1.0


@dataclass(slots=True)
class Rows:
    """Sampled prediction rows, in the columns of `state.FeatureRows`, with their keys."""

    key: np.ndarray
    timestamp: np.ndarray
    input_features: np.ndarray
    prediction: np.ndarray
    prediction_proba: np.ndarray

    def __len__(self) -> int:
        return self.key.shape[0]

    def take(self, index: np.ndarray | slice) -> Rows:
        return Rows(self.key[index], self.timestamp[index], self.input_features[index],
                    self.prediction[index], self.prediction_proba[index])

    def smallest(self, count: int) -> Rows:
        """The `count` rows of smallest key (all if fewer)."""
        if len(self) <= count:
            return self
        return self.take(np.argpartition(self.key, count - 1)[:count])

    @staticmethod
    def joined(parts: list[Rows]) -> Rows:
        return Rows(*(np.concatenate([getattr(part, name) for part in parts])
                      for name in ("key", "timestamp", "input_features", "prediction",
                                   "prediction_proba")))


@dataclass(slots=True)
class _Bucket:
    count: int
    """Rows that fell in the bucket, sampled or not."""
    rows: Rows


@dataclass(frozen=True, slots=True)
class RangeRows:
    """A range's sample and how many rows of the range it stands for."""

    rows: Rows
    records: int


class RangeSample:
    """The buckets of one model (see the module docstring)."""

    def __init__(self, per_bucket: int, *, max_features_bytes: int | None = None,
                 seed: int | None = None) -> None:
        if per_bucket < 1:
            raise ValueError(f"per_bucket must be at least 1, got {per_bucket}")
        self.per_bucket = per_bucket
        self.max_features_bytes = max_features_bytes
        """A row whose raw `input_features` is longer keeps only its key and time (see
        `_short`): the engines skip such rows."""
        self._rng = np.random.default_rng(seed)
        self._buckets: dict[tuple[int, int], _Bucket] = {}
        """By (tier, index): index is the bucket's start over its tier's width."""
        self._aged_to = -math.inf

    @property
    def rows_held(self) -> int:
        return sum(len(bucket.rows) for bucket in self._buckets.values())

    def add(self, timestamp: np.ndarray, input_features: np.ndarray, prediction: np.ndarray,
            prediction_proba: np.ndarray, now: float) -> None:
        """Sample a batch's rows; `now` is the model's newest admitted record time. Only the
        keys and bucket numbers are computed for every row: a row's columns are copied only
        if its key enters its bucket (few, once the bucket is full)."""
        self._age(now)
        columns = (timestamp, input_features, prediction, prediction_proba)
        age = now - timestamp
        inside = (age >= -AHEAD_SECONDS) & (age < REACHES[-1])
        positions = None if inside.all() else np.flatnonzero(inside)
        if positions is not None:
            age, timestamp = age[positions], timestamp[positions]
        if timestamp.shape[0] == 0:
            return
        tier = np.searchsorted(np.asarray(REACHES[:-1]), age, side="right")
        index = np.floor(timestamp / np.asarray(WIDTHS)[tier]).astype(np.int64)
        keys = np.asarray(self._rng.random(timestamp.shape[0]))
        codes = index * len(WIDTHS) + tier
        if codes.shape[0] == 1 or (codes == codes[0]).all():
            self._offer((int(tier[0]), int(index[0])), keys, positions, columns)
            return
        distinct, which = np.unique(codes, return_inverse=True)
        for group, code in enumerate(distinct.tolist()):
            members = np.flatnonzero(which == group)
            self._offer((code % len(WIDTHS), code // len(WIDTHS)), keys[members],
                        members if positions is None else positions[members], columns)

    def rows(self, now: float, range_seconds: float, size: int) -> RangeRows:
        """A uniform sample of at most `size` rows with a time in (now - range, now], oldest
        first, and the rows of the range it stands for (an estimate where a bucket straddles
        the range's start)."""
        start = now - range_seconds
        parts: list[tuple[Rows, float, bool]] = []
        for (tier, index), bucket in self._buckets.items():
            width = WIDTHS[tier]
            if (index + 1) * width <= start or index * width > now:
                continue
            held = bucket.rows
            inside = (held.timestamp > start) & (held.timestamp <= now)
            count = int(np.count_nonzero(inside))
            if count:
                parts.append((held.take(inside), bucket.count * count / len(held),
                              index * width <= start))
        records = sum(estimate for _, estimate, _ in parts)
        if not parts:
            return RangeRows(_empty(), 0)
        # a bucket that straddles the range's start sets no limit: a burst just before the
        # range would cut every bucket down to its own few rows (it gives what it holds)
        limits = [len(part) * records / estimate for part, estimate, straddles in parts
                  if not straddles]
        drawn = min(float(size), *limits, float(sum(len(part) for part, _, _ in parts)))
        shares = np.array([drawn * estimate / records for _, estimate, _ in parts])
        available = np.array([len(part) for part, _, _ in parts])
        taken = np.minimum(np.floor(shares), available).astype(np.int64)
        # the rows floor() left over go to the largest remainders (largest-remainder rounding)
        left = min(round(drawn) - int(taken.sum()), int((available - taken).sum()))
        if left > 0:
            order = np.argsort(-(shares - taken), kind="stable")
            taken[order[taken[order] < available[order]][:left]] += 1
        sample = Rows.joined([part.smallest(int(count))
                              for (part, _, _), count in zip(parts, taken, strict=True)])
        sample = sample.take(sample.input_features != None)  # noqa: E711 - see `_short`
        return RangeRows(sample.take(np.argsort(sample.timestamp, kind="stable")),
                         round(records))

    def _offer(self, where: tuple[int, int], keys: np.ndarray, positions: np.ndarray | None,
               columns: tuple[np.ndarray, ...]) -> None:
        """Rows at `positions` of the batch's `columns` (None: all), of these `keys`, to the
        bucket `where`: only those that would enter it are copied."""
        count = keys.shape[0]
        bucket = self._buckets.get(where)
        held = bucket.rows if bucket is not None else None
        if held is not None and len(held) >= self.per_bucket:
            entering = keys < held.key.max()
        elif count > self.per_bucket:
            entering = np.zeros(count, dtype=bool)
            entering[np.argpartition(keys, self.per_bucket - 1)[:self.per_bucket]] = True
        else:
            entering = None
        if entering is not None:
            chosen = np.flatnonzero(entering)
            keys = keys[chosen]
            positions = chosen if positions is None else positions[chosen]
        taken = [column if positions is None else column[positions] for column in columns]
        self._put(where, count, Rows(keys, *taken))

    def _put(self, where: tuple[int, int], count: int, rows: Rows) -> None:
        bucket = self._buckets.get(where)
        if bucket is None:
            self._buckets[where] = _Bucket(count, self._short(rows.smallest(self.per_bucket)))
            return
        held = bucket.rows
        if len(held) >= self.per_bucket:
            rows = rows.take(rows.key < held.key.max())
        bucket.count += count
        if len(rows):
            bucket.rows = Rows.joined([held, self._short(rows)]).smallest(self.per_bucket)

    def _short(self, rows: Rows) -> Rows:
        """`rows` with the features too long to keep replaced by None (measured only for the
        rows a bucket takes: few, once it is full). The row keeps its key, so the bucket stays
        the smallest keys of its rows; `rows()` leaves such rows out of a sample."""
        if self.max_features_bytes is None or not len(rows):
            return rows
        lengths = np.fromiter(map(len, rows.input_features.tolist()), np.int64, len(rows))
        too_long = lengths > self.max_features_bytes
        if not too_long.any():
            return rows
        features = rows.input_features.copy()
        features[too_long] = None
        return Rows(rows.key, rows.timestamp, features, rows.prediction, rows.prediction_proba)

    def _age(self, now: float) -> None:
        """Merge each bucket that aged past its tier's reach into the next tier's, and forget
        those past the longest range; at most once per narrowest bucket width."""
        step = math.floor(now / WIDTHS[0])
        if step <= self._aged_to:
            return
        self._aged_to = step
        for tier, (width, reach) in enumerate(zip(WIDTHS, REACHES, strict=True)):
            aged = [where for where in self._buckets
                    if where[0] == tier and (where[1] + 1) * width <= now - reach]
            for where in aged:
                bucket = self._buckets.pop(where)
                if tier + 1 < len(WIDTHS):
                    wider = (tier + 1, math.floor(where[1] * width / WIDTHS[tier + 1]))
                    self._put(wider, bucket.count, bucket.rows)


def _empty() -> Rows:
    return Rows(np.empty(0), np.empty(0), np.empty(0, dtype=object), np.empty(0, dtype=object),
                np.empty(0, dtype=object))
