"""Two-sample statistics, one row per feature, computed for all rows in one call.

Each function takes matrices whose rows are features, so the drift engine pays numpy's per-call
cost once per block of features instead of once per feature; only the exact KS p-value, a
lattice-path count per pair of sample sizes, is taken one feature at a time. Rows that cannot
be compared (no value on one side) come back as NaN; the caller decides what that means.

scipy is imported by each function that uses it, at its first call: importing `scipy.stats`
costs about a second of CPU, which the exporter's start-up (reading its storage) does not wait
for.
"""

from __future__ import annotations

import functools
import math

import numpy as np

EXACT_MAX_ROWS = 10_000
"""Largest sample for which `ks_2samp`'s default method computes the exact p-value."""

POOLED_TERMS = 1 << 21
"""Terms of the Smirnov sum evaluated at once: bounds that workspace to ~100 MB."""
NEAR_ONE = 1 - 1e-9
"""Equal-size p-values above this are checked against scipy's own sum (see `_exact_p_value`)."""
PSI_SHARE_FLOOR = 1e-4
"""Smallest share a PSI bin may have: keeps ln(cur/ref) finite for a bin empty on one side."""


def ks_and_wasserstein(
    reference: np.ndarray, current: np.ndarray, *, reference_sorted: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """KS statistic and Wasserstein-1 distance per row, from one sort of the pooled samples.

    `reference` (F x n) and `current` (F x m) hold one feature per row, NaN for values to leave
    out; `reference_sorted` says each reference row is already ascending, NaN last (as the
    drift engine keeps it). Returns `(ks, wasserstein, n_reference, n_current)` with the counts
    of values used.

    Each side is sorted first and the two are merged: each current value's place among the
    reference's is one binary search, so a 1,000-row window against a 10,000-row reference
    costs little more than sorting the window. The order of tied values changes neither
    statistic.

    Both statistics are read off the two empirical CDFs on the pooled sorted values: KS is the
    largest absolute CDF difference taken at the last of each run of tied values (where both
    CDFs have absorbed the whole tie, as scipy's `searchsorted(side='right')` does), and
    Wasserstein is the integral of that difference, a sum over the gaps between neighbours.
    """
    n_reference = np.count_nonzero(~np.isnan(reference), axis=1)
    n_current = np.count_nonzero(~np.isnan(current), axis=1)
    values, from_current = _merged(
        reference if reference_sorted else np.sort(reference, axis=1), np.sort(current, axis=1)
    )
    seen_current = np.cumsum(from_current, axis=1, dtype=_count_type(values.shape[1]))
    del from_current
    seen_reference = np.arange(1, values.shape[1] + 1) - seen_current
    cdf_gap = seen_reference / np.maximum(n_reference, 1)[:, None]
    del seen_reference
    cdf_gap -= seen_current / np.maximum(n_current, 1)[:, None]
    del seen_current
    np.abs(cdf_gap, out=cdf_gap)

    valid = ~np.isnan(values)
    tie_end = np.empty_like(valid)
    np.not_equal(values[:, :-1], values[:, 1:], out=tie_end[:, :-1])
    tie_end[:, -1] = True
    tie_end &= valid
    ks = np.max(cdf_gap, axis=1, where=tie_end, initial=0.0)

    gaps = np.diff(values, axis=1)
    del values
    gaps *= cdf_gap[:, :-1]
    wasserstein = np.sum(gaps, axis=1, where=valid[:, 1:])

    comparable = (n_reference > 0) & (n_current > 0)
    ks[~comparable] = np.nan
    wasserstein[~comparable] = np.nan
    return ks, wasserstein, n_reference, n_current


def _count_type(width: int) -> type[np.signedinteger]:
    """The narrowest integer that counts to `width`: int32 halves the memory the counts stream."""
    return np.int32 if width < np.iinfo(np.int32).max else np.int64


def _merged(reference: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of two ascending (NaN last) samples merged, and where the current's values went.

    A current value goes after the reference values equal to it, so NaNs of both sides end
    each row.
    """
    rows, m = current.shape
    places = np.empty((rows, m), dtype=np.intp)
    for row in range(rows):
        places[row] = np.searchsorted(reference[row], current[row], side="right")
    places += np.arange(m)
    from_current = np.zeros((rows, reference.shape[1] + m), dtype=bool)
    np.put_along_axis(from_current, places, True, axis=1)
    values = np.empty(from_current.shape, dtype=np.float64)
    values[from_current] = current.ravel()
    values[~from_current] = reference.ravel()
    return values, from_current


def ks_p_values(
    statistic: np.ndarray,
    n_reference: np.ndarray,
    n_current: np.ndarray,
    exact_allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p-values as `scipy.stats.ks_2samp` computes them, and which were exact.

    Like scipy's default `method='auto'`, the exact null distribution of the two-sample
    statistic is used when neither sample has more than `EXACT_MAX_ROWS` values (the common
    case: small references and windows of 1,000 rows), where the asymptotic form is off in the
    third or fourth digit; larger samples get the asymptotic form (`method='asymp'`), and so do
    the rows where `exact_allowed` is False: the exact count for unequal sizes costs far more
    than everything else, so it is paid only where the p-value decides. Ties are treated as
    scipy treats them: the p-value is that of continuous data with the same statistic.
    Returns `(p, exact)`, `exact` True where the exact distribution was used.
    """
    n = n_reference.astype(np.int64)
    m = n_current.astype(np.int64)
    comparable = (n > 0) & (m > 0) & ~np.isnan(statistic)
    d = np.where(comparable, statistic, 0.0)
    p = np.full(statistic.shape, np.nan)
    exact = comparable & (np.maximum(n, m) <= EXACT_MAX_ROWS)
    if exact_allowed is not None:
        exact &= exact_allowed
    for i in np.flatnonzero(exact).tolist():
        exact_p, d[i] = _exact_p_value(float(d[i]), int(n[i]), int(m[i]))
        if exact_p is None:
            exact[i] = False
        else:
            p[i] = exact_p
    asymptotic = comparable & ~exact
    p[asymptotic] = _asymptotic_p_values(d[asymptotic], n[asymptotic], m[asymptotic])
    return np.clip(p, 0.0, 1.0), exact


def _exact_p_value(d: float, n: int, m: int) -> tuple[float | None, float]:
    """Exact P(D >= d) for samples of n and m values, and d snapped to the lattice.

    D only takes multiples of 1/lcm(n, m), so d is first rounded to h / lcm as scipy does.
    Equal sizes use the Gnedenko-Korolyuk sum, P = 2 * sum over k >= 1 of (-1)^(k-1)
    C(2n, n - kh) / C(2n, n); unequal sizes scipy's compiled count of lattice paths that leave
    the band |x/n - y/m| < d (Hodges' inside method, in Viehmann's form for 1 - p; a private
    scipy function, so a scipy upgrade that moves it fails at the first call, not silently). Returns
    None for the p-value where that count fails numerically; scipy then falls back to the
    asymptotic form with the snapped d, and so does the caller. For equal sizes scipy's own sum
    rounds above 1 only where the p-value is within `NEAR_ONE` of 1; there it is evaluated too
    (a loop of about n steps) so that the fallback happens exactly where scipy's does.
    """
    from scipy.stats._stats_py import _compute_prob_outside_square
    from scipy.stats._stats_pythran import _compute_outer_prob_inside_method

    gcd = math.gcd(n, m)
    lcm = (n // gcd) * m
    h = round(d * lcm)
    snapped = h / lcm
    if h == 0:
        return 1.0, snapped
    if n == m:
        p = _equal_size_tail(n, h)
        if p > NEAR_ONE and not 0.0 <= _compute_prob_outside_square(n, h) <= 1.0:
            return None, snapped
        return p, snapped
    p = float(_compute_outer_prob_inside_method(n, m, gcd, h))
    return (p if 0.0 <= p <= 1.0 else None), snapped


def _equal_size_tail(n: int, h: int) -> float:
    """P(D >= h/n) for two samples of n values, from the ratios C(2n, n - t) / C(2n, n).

    The alternating terms shrink, so summing them directly keeps ~1e-12 relative accuracy.
    """
    terms = np.exp(_log_binomial_ratios(n)[h::h])
    terms[1::2] *= -1
    return 2.0 * float(np.sum(terms))


@functools.lru_cache(maxsize=8)
def _log_binomial_ratios(n: int) -> np.ndarray:
    """ln(C(2n, n - t) / C(2n, n)) for t = 0..n, shared by every feature with n values a side.

    That ratio is the product over i < t of (n - i) / (n + i + 1), so one cumulative sum of
    logarithms gives all of them; the result is read-only because the cache shares it.
    """
    i = np.arange(n, dtype=np.float64)
    ratios = np.concatenate([[0.0], np.cumsum(np.log1p(-(2 * i + 1) / (n + i + 1)))])
    ratios.flags.writeable = False
    return ratios


def _asymptotic_p_values(d: np.ndarray, n: np.ndarray, m: np.ndarray) -> np.ndarray:
    """P-values as `ks_2samp(..., method='asymp')` computes them, for all features at once.

    That is the survival function of the exact one-sample Kolmogorov distribution (`kstwo`) at
    the effective sample size round(n*m/(n+m)). Where `kstwo` takes its slow per-value path
    (twice the one-sided Smirnov tail, an O(n) sum) the same sum is evaluated here for all
    features at once.
    """
    from scipy import stats

    n_float, m_float = n.astype(np.float64), m.astype(np.float64)
    effective = np.round(n_float * m_float / (n_float + m_float))
    steps = effective * d
    smirnov_tail = (
        (steps > 1)
        & (steps < effective - 1)
        & ((d >= 0.5) | ((effective > 140) & (steps * d >= 2.2) & (steps * d < 370)))
    )
    p = np.full(d.shape, np.nan)  # an effective size of 0 (one value a side): scipy's NaN
    p[smirnov_tail] = 2 * _smirnov(effective[smirnov_tail], d[smirnov_tail])
    rest = ~smirnov_tail & (effective > 0)
    if rest.any():
        p[rest] = stats.kstwo.sf(d[rest], effective[rest])
    return p


def _smirnov(n: np.ndarray, x: np.ndarray) -> np.ndarray:
    """One-sided Kolmogorov-Smirnov tail P(D+ >= x) for sample size n (Birnbaum-Tingey sum).

    P = x * sum over j = 0..floor(n(1-x)) of C(n, j) (1 - x - j/n)^(n-j) (x + j/n)^(j-1); the
    terms are positive, so summing them in log space keeps ~1e-10 relative accuracy.
    """
    from scipy import special

    out = np.empty(n.shape)
    last = np.floor(n * (1 - x)).astype(np.int64)
    rows_per_block = max(1, POOLED_TERMS // max(int(last.max(initial=0)) + 1, 1))
    for start in range(0, n.shape[0], rows_per_block):
        block = slice(start, start + rows_per_block)
        nb, xb = n[block, None], x[block, None]
        j = np.arange(int(last[block].max()) + 1, dtype=np.float64)[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            log_terms = (
                special.gammaln(nb + 1) - special.gammaln(j + 1) - special.gammaln(nb - j + 1)
                + (nb - j) * np.log1p(-xb - j / nb)
                + (j - 1) * np.log(xb + j / nb)
            )
        log_terms[j > last[block, None]] = -np.inf
        out[block] = x[block] * np.exp(special.logsumexp(log_terms, axis=1))
    return out


def shares(counts: np.ndarray) -> np.ndarray:
    """Counts (F x K) as shares of each row's total; a row with no count is all NaN."""
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts / totals


def psi(reference_shares: np.ndarray, current_shares: np.ndarray) -> np.ndarray:
    """Population stability index: sum of (cur - ref) * ln(cur / ref), shares floored first."""
    ref = np.maximum(reference_shares, PSI_SHARE_FLOOR)
    cur = np.maximum(current_shares, PSI_SHARE_FLOOR)
    return np.sum((cur - ref) * np.log(cur / ref), axis=1)


def jensen_shannon(reference_shares: np.ndarray, current_shares: np.ndarray) -> np.ndarray:
    """Jensen-Shannon distance with natural logarithms (scipy's default base), in [0, 0.833].

    The natural log keeps the conventional 0.1 drift threshold comparable with other tools
    that use scipy's default; in base 2 the same distributions read 1/sqrt(ln 2) = 1.2 x higher.
    """
    from scipy import special

    middle = (reference_shares + current_shares) / 2.0
    divergence = special.rel_entr(reference_shares, middle) + special.rel_entr(
        current_shares, middle
    )
    return np.sqrt(np.sum(divergence, axis=1) / 2.0)


def total_variation(reference_shares: np.ndarray, current_shares: np.ndarray) -> np.ndarray:
    """Half the L1 distance between two share vectors: the share of mass that moved."""
    return np.sum(np.abs(reference_shares - current_shares), axis=1) / 2.0


def chi_square(
    reference_counts: np.ndarray, current_counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pearson chi-square on each 2xK table, as `scipy.stats.chi2_contingency` computes it.

    Rows are features and columns categories; columns empty on both sides are padding and do
    not count. Like scipy's default, Yates' continuity correction is applied when the table has
    one degree of freedom (two categories), and a single category gives statistic 0, p-value 1.
    """
    from scipy import stats

    observed = np.stack([reference_counts, current_counts]).astype(np.float64)
    row_totals = observed.sum(axis=2, keepdims=True)
    column_totals = observed.sum(axis=0, keepdims=True)
    grand_total = row_totals.sum(axis=0, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = row_totals * column_totals / grand_total
    used = np.broadcast_to(column_totals > 0, observed.shape)
    dof = np.count_nonzero(column_totals[0] > 0, axis=1) - 1

    yates = np.broadcast_to((dof == 1)[None, :, None], observed.shape)
    difference = expected - observed
    correction = np.sign(difference) * np.minimum(0.5, np.abs(difference))
    observed = np.where(yates, observed + correction, observed)
    with np.errstate(invalid="ignore", divide="ignore"):
        terms = np.where(used, (observed - expected) ** 2 / expected, 0.0)
    statistic = terms.sum(axis=(0, 2))
    p = np.where(dof > 0, stats.chi2.sf(statistic, np.maximum(dof, 1)), 1.0)
    comparable = (row_totals[:, :, 0] > 0).all(axis=0)
    statistic[~comparable] = np.nan
    p[~comparable] = np.nan
    return statistic, p


def two_proportion_z(
    reference_counts: np.ndarray, current_counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pooled two-proportion z-test on the first of two categories, current minus reference.

    z squared equals the chi-square statistic without Yates' correction, and the two-sided
    p-values agree; this is the test for two-category features.
    """
    from scipy import stats

    n_reference = reference_counts[:, :2].sum(axis=1).astype(np.float64)
    n_current = current_counts[:, :2].sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_reference = reference_counts[:, 0] / n_reference
        p_current = current_counts[:, 0] / n_current
        pooled = (reference_counts[:, 0] + current_counts[:, 0]) / (n_reference + n_current)
        standard_error = np.sqrt(pooled * (1 - pooled) * (1 / n_reference + 1 / n_current))
        z = (p_current - p_reference) / standard_error
    z = np.where(standard_error == 0, 0.0, z)
    p = 2 * stats.norm.sf(np.abs(z))
    return z, p
