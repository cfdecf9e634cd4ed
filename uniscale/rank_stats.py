"""
Rank statistics of the scale study: do two sizes order the tokenizers alike?

Spearman rho and Kendall tau-b with exact permutation p-values (scipy.stats.permutation_test over all n! orderings,
seeded Monte-Carlo beyond exact_max_n), decision accuracy (the share of tokenizer pairs ordered alike), bootstrap
intervals over seeds (scipy.stats.bootstrap, each (tokenizer, size) cell's seeds resampled on their own), and the
verdict words. Everything takes per-tokenizer values in the same order on both sides; lower or higher is better does
not matter to a correlation, and decision accuracy compares orders, not directions.
"""
import math
from functools import lru_cache

import numpy as np
import scipy.stats as st

HIGH, MODERATE = 0.8, 0.5    # verdict thresholds on Spearman rho: > 0.8 high, 0.5-0.8 moderate, < 0.5 low
ALPHA = 0.05                 # a verdict word only when the permutation p-value is below this


def average_ranks(a):
    """Ranks 1..n along the last axis, ties sharing their average rank."""
    return st.rankdata(np.asarray(a, dtype=float), axis=-1)


def spearman(x, y):
    """Spearman rho along the last axis (batched): Pearson correlation of the average ranks; nan when a side is
    constant. The same number as scipy.stats.spearmanr, for many resamples at once."""
    a, b = average_ranks(x), average_ranks(y)
    a, b = a - a.mean(-1, keepdims=True), b - b.mean(-1, keepdims=True)
    den = np.sqrt((a * a).sum(-1) * (b * b).sum(-1))
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(den > 0, (a * b).sum(-1) / np.where(den > 0, den, 1), np.nan)


def kendall_tau_b(x, y):
    """Kendall tau-b (scipy.stats.kendalltau); nan when either side is constant."""
    return float(st.kendalltau(x, y).statistic)


def _pair_signs(v):
    """sign(v_i - v_j) for i < j along the last axis."""
    v = np.asarray(v, dtype=float)
    i, j = np.triu_indices(v.shape[-1], 1)
    return np.sign(v[..., i] - v[..., j]).astype(np.int64)


def decision_accuracy(small, large):
    """Share of tokenizer pairs that `small` orders as `large` does (batched along the last axis). Pairs that
    `large` ties are not counted (there is no right answer); a tie at `small` counts half (a coin flip)."""
    ss, sl = _pair_signs(small), _pair_signs(large)
    ss, sl = np.broadcast_arrays(ss, sl)
    valid = sl != 0
    score = (ss == sl) + 0.5 * (ss == 0)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(valid.sum(-1) > 0, (score * valid).sum(-1) / np.maximum(valid.sum(-1), 1), np.nan)


def smallest_p(n):
    """The smallest two-sided permutation p-value that n items allow: 2 / n! (one ordering at each extreme)."""
    return min(1.0, 2 / math.factorial(n)) if n >= 2 else 1.0


def rank_tests(x, y, exact_max_n=9, n_permutations=100_000, seed=1337):
    """rho, its p-value, tau-b, its p-value, and how the p-values were computed ('exact' or 'monte-carlo').

    The null reorders y against x (scipy.stats.permutation_test, permutation_type='pairings': all n! orderings up
    to exact_max_n items, else n_permutations seeded ones, counted with scipy's +1). The test statistics are the
    integer numerators of rho and tau-b (sum of doubled-rank products; concordant minus discordant pairs): their
    denominators do not change under reordering, so ties are exact and no float tolerance is involved."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    rho, tau = float(spearman(x, y)), kendall_tau_b(x, y)
    if n < 2 or math.isnan(rho):
        return rho, float('nan'), tau, float('nan'), 'none'
    rx, ry = (2 * average_ranks(x)).astype(np.int64), (2 * average_ranks(y)).astype(np.int64)
    exact = n <= exact_max_n
    p_rho, p_tau = _permutation_p(tuple(rx.tolist()), tuple(ry.tolist()), np.inf if exact else n_permutations, seed)
    return rho, p_rho, tau, p_tau, 'exact' if exact else 'monte-carlo'


@lru_cache(maxsize=4096)  # the p-values depend only on the two rank patterns, which recur across pairs and groups
def _permutation_p(rx, ry, n_resamples, seed):
    rx, ry = np.array(rx), np.array(ry)
    sx = _pair_signs(rx)

    def numerators(ranks, axis=-1):  # both statistics of one reordering; the signs of ranks are those of values
        ranks = np.moveaxis(ranks, axis, -1)
        return np.stack([ranks @ rx, _pair_signs(ranks) @ sx], axis=-1)
    p = st.permutation_test((ry,), numerators, permutation_type='pairings', vectorized=True, n_resamples=n_resamples,
                            batch=50_000, rng=np.random.default_rng(seed)).pvalue
    return float(min(1.0, p[0])), float(min(1.0, p[1]))


def _resampled_means(cells, n_resamples, seed):
    """(n_resamples, n_cells) means of each cell's values resampled with replacement (scipy.stats.bootstrap,
    independent samples). A one-seed cell cannot vary: it is passed twice, which resamples to itself."""
    data = tuple(np.repeat(c, 2) if len(c) == 1 else np.asarray(c, float) for c in cells)
    if all(len(np.unique(c)) == 1 for c in data):  # nothing varies: scipy would warn of a degenerate distribution
        return np.tile([c[0] for c in data], (n_resamples, 1))

    def means(*samples, axis=-1):  # a vector statistic: scipy keeps every cell's resampled mean
        return np.stack([s.mean(axis=axis) for s in samples], axis=0)
    res = st.bootstrap(data, means, n_resamples=n_resamples, vectorized=True, paired=False, method='percentile',
                       rng=np.random.default_rng(seed))
    return res.bootstrap_distribution.T


def bootstrap_ci(stat, small, large, n_resamples=10_000, seed=1337, level=0.95):
    """Percentile interval of stat(small means, large means) over resampled seeds. small, large: lists (one per
    tokenizer) of arrays of per-seed values. What it shows: how much the statistic moves with seed noise at these
    tokenizers and this data; what it cannot show: other tokenizers, other data, or (with 2-3 seeds) the tails."""
    draws = _resampled_means(list(small) + list(large), n_resamples, seed)
    k = len(small)
    values = stat(draws[:, :k], draws[:, k:])
    if np.isnan(values).all():
        return [float('nan'), float('nan')]
    lo, hi = np.nanpercentile(values, [50 * (1 - level), 50 * (1 + level)])
    return [float(lo), float(hi)]


def bootstrap_spearman_ci(small, large, n_resamples=10_000, seed=1337, level=0.95):
    return bootstrap_ci(spearman, small, large, n_resamples, seed, level)


def bootstrap_decision_accuracy_ci(small, large, n_resamples=10_000, seed=1337, level=0.95):
    return bootstrap_ci(decision_accuracy, small, large, n_resamples, seed, level)


def verdict(rho, p=None):
    """'high' (rho > 0.8), 'moderate' (0.5-0.8) or 'low' only when the permutation p < ALPHA; else 'not significant';
    'undefined' without a correlation."""
    if rho is None or math.isnan(rho):
        return 'undefined'
    if p is None or math.isnan(p) or p >= ALPHA:
        return 'not significant'
    return 'high' if rho > HIGH else 'moderate' if rho >= MODERATE else 'low'
