"""What a batch's random sample says about its whole population.

A batch draws ``n_h`` of the ``N_h`` entities of each stratum ``h`` at random, without
replacement (sr1/sr2: a uniform random subset per stratum). The published results of the
drawn entities therefore estimate the share of the *whole pool* with problems:

    p̂ = Σ_h W_h p̂_h,   W_h = N_h / N,   p̂_h = k_h / n_h
    v̂(p̂) = Σ_h W_h² (1 − n_h/N_h) p̂_h (1 − p̂_h) / (n_h − 1)

(Cochran, *Sampling Techniques*, 3rd ed., §5.3 with the finite-population correction.)

The 95 % interval is Korn & Graubard's (1998): a Clopper–Pearson interval on the *effective*
sample size n* = p̂(1 − p̂)/v̂(p̂), scaled by (t_{n−1}/t_{df})² with df = n − H, the design's
degrees of freedom — what R's ``survey::svyciprop(method = "beta")`` computes. It never
leaves [0, 1] and stays honest for shares near 0 or 1, where the normal interval fails; when
no record shows a problem (or every record does) v̂ is 0 and n* is the plain sample size.

A domain (an industry section, an inspecting unit) is estimated the same way within the
domain: its cells ``h ∩ d`` have known sizes ``N_hd`` from the frozen pool, and given
``n_hd`` the drawn entities of a cell are a simple random sample of it.

The estimate is refused (``too_small``) when a stratum with entities has fewer than two
results (its variance cannot be estimated) or the whole sample has fewer than
``MIN_SAMPLE``: the page says so instead of printing a number.
"""

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import stats

MIN_SAMPLE = 10
LEVEL = 0.95


@dataclass(frozen=True)
class Cell:
    """One stratum (or stratum × domain): its size in the pool, results, results with problems."""

    size: int  # N_h
    sampled: int  # n_h: drawn entities with a published result
    problems: int  # k_h


@dataclass(frozen=True)
class Estimate:
    share: float | None  # p̂
    low: float | None
    high: float | None
    std_error: float | None
    sampled: int  # Σ n_h
    problems: int  # Σ k_h
    population: int  # Σ N_h
    effective_n: float | None
    too_small: str | None = None  # why no estimate is given (Chinese), else None

    @property
    def ok(self) -> bool:
        return self.too_small is None


def stratified_share(cells: Iterable[Cell], level: float = LEVEL) -> Estimate:
    """The stratified estimate of a share with its Korn–Graubard interval."""
    cells = [c for c in cells if c.size > 0]
    for c in cells:
        if not 0 <= c.problems <= c.sampled <= c.size:
            raise ValueError(f"inconsistent cell {c}")
    sizes = np.array([c.size for c in cells], dtype=float)
    n = np.array([c.sampled for c in cells], dtype=float)
    k = np.array([c.problems for c in cells], dtype=float)
    total_n, total_k, population = int(n.sum()), int(k.sum()), int(sizes.sum())

    def refused(why: str) -> Estimate:
        return Estimate(None, None, None, None, total_n, total_k, population, None, why)

    if total_n < MIN_SAMPLE:
        return refused(f"样本过少（{total_n} 户，至少需要 {MIN_SAMPLE} 户），不作推断")
    thin = int(((n < 2) & (sizes > 0)).sum())
    if thin:
        return refused(f"有 {thin} 个分层的样本不足 2 户，无法估计抽样误差，不作推断")
    weights = sizes / population
    p_h = k / n
    share = float(weights @ p_h)
    fpc = 1.0 - n / sizes
    variance = float(np.sum(weights**2 * fpc * p_h * (1.0 - p_h) / (n - 1.0)))
    df = total_n - len(cells)
    if variance > 0:
        n_eff = share * (1.0 - share) / variance
        if df > 0:
            alpha = 1.0 - level
            n_eff *= (stats.t.ppf(alpha / 2, total_n - 1) / stats.t.ppf(alpha / 2, df)) ** 2
    else:
        n_eff = float(total_n)
    low, high = _beta_interval(share, n_eff, level)
    return Estimate(
        share, low, high, variance**0.5, total_n, total_k, population, float(n_eff), None
    )


def _beta_interval(share: float, n_eff: float, level: float) -> tuple[float, float]:
    """Clopper–Pearson bounds for x = n*·p̂ successes out of n* (x need not be whole)."""
    alpha = 1.0 - level
    x = n_eff * share
    low = 0.0 if x <= 0 else float(stats.beta.ppf(alpha / 2, x, n_eff - x + 1))
    high = 1.0 if x >= n_eff else float(stats.beta.ppf(1 - alpha / 2, x + 1, n_eff - x))
    return low, high
