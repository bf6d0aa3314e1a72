"""Adjusted p-values for testing many features at once.

Testing 50 features at alpha 0.05 flags about 2.5 of them by chance in every window. Adjusted
p-values are compared with alpha as they are: Bonferroni bounds the chance of any false flag,
Benjamini-Hochberg the expected share of false flags among the flagged.
"""

from __future__ import annotations

import numpy as np


def bonferroni(p_values: np.ndarray) -> np.ndarray:
    """Each p-value times the number of tests, capped at 1."""
    return np.minimum(p_values * p_values.shape[0], 1.0)


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Step-up adjusted p-values: min over j >= i of p_(j) * k / j, capped at 1, input order.

    Adjusted p < alpha for exactly the features the Benjamini-Hochberg procedure rejects at
    false discovery rate alpha.
    """
    k = p_values.shape[0]
    if k == 0:
        return p_values.astype(np.float64)
    order = np.argsort(p_values)
    scaled = p_values[order] * k / np.arange(1, k + 1)
    stepped = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty(k, dtype=np.float64)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted
