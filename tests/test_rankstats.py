"""uniscale/rank_stats.py: rank statistics equal scipy's, exact p-values equal brute-force enumeration, decision accuracy
equals a pair-by-pair count, the smallest p equals the enumerated extreme, and the seed bootstrap's distribution
equals an exact enumeration of every resample."""
import itertools
import math

import numpy as np
import pytest
import scipy.stats as st

from uniscale import rank_stats

CASES = [  # (x, y): no ties, ties on one side, ties on both, reversed, n = 8
    ([3.1, 2.9, 3.5, 3.3, 2.7, 3.0], [2.8, 2.7, 3.0, 3.1, 2.5, 2.6]),
    ([1, 2, 2, 3, 4, 5], [2, 1, 3, 4, 6, 5]),
    ([1, 2, 2, 3, 4, 5], [2, 1, 3, 3, 5, 4]),
    ([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]),
    ([0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4], [0.4, 0.2, 0.7, 0.1, 0.9, 0.3, 0.6, 0.5]),
]


def naive_spearman(x, ys):
    rx, rys = st.rankdata(x), st.rankdata(ys, axis=-1)
    a, b = rx - rx.mean(), rys - rys.mean(1, keepdims=True)
    return (b @ a) / np.sqrt((a @ a) * (b * b).sum(1))


def naive_kendall(x, ys):
    n = len(x)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    s = sum(np.sign(x[i] - x[j]) * np.sign(ys[:, i] - ys[:, j]) for i, j in pairs)
    return s / math.sqrt(sum(x[i] != x[j] for i, j in pairs) * sum(ys[0][i] != ys[0][j] for i, j in pairs))


def brute_force_p(stat, x, y):
    """Two-sided exact permutation p-value the slow way, in scipy.stats.permutation_test's convention."""
    ys = np.array([[y[i] for i in p] for p in itertools.permutations(range(len(y)))])
    null, obs = stat(np.array(x), ys), stat(np.array(x), np.array([y]))[0]
    tol = 1e-9
    return min(1.0, 2 * min(np.mean(null <= obs + tol), np.mean(null >= obs - tol)))


@pytest.mark.parametrize('x,y', CASES)
def test_statistics_equal_scipy(x, y):
    assert rank_stats.spearman(x, y) == pytest.approx(st.spearmanr(x, y).statistic, abs=1e-12)
    assert rank_stats.kendall_tau_b(x, y) == pytest.approx(st.kendalltau(x, y).statistic, abs=1e-12)
    assert rank_stats.average_ranks(x) == pytest.approx(st.rankdata(x))


@pytest.mark.parametrize('x,y', CASES)
def test_exact_p_values_equal_brute_force(x, y):
    rho, p_rho, tau, p_tau, how = rank_stats.rank_tests(x, y)
    assert how == 'exact'
    assert p_rho == pytest.approx(brute_force_p(naive_spearman, x, y), abs=1e-12)
    assert p_tau == pytest.approx(brute_force_p(naive_kendall, x, y), abs=1e-12)


def test_exact_p_values_equal_scipy_permutation_methods():
    # spearman: scipy's pearsonr on ranks with PermutationMethod enumerates all n! orderings when n! <= 9999
    for x, y in CASES[:4]:
        ref = st.pearsonr(st.rankdata(x), st.rankdata(y), method=st.PermutationMethod())
        assert rank_stats.rank_tests(x, y)[1] == pytest.approx(ref.pvalue, rel=1e-9)
    x, y = CASES[0]  # kendall: scipy's exact method (no ties)
    assert rank_stats.rank_tests(x, y)[3] == pytest.approx(st.kendalltau(x, y, method='exact').pvalue, rel=1e-9)


def test_scipy_asymptotic_p_value_differs_for_six_items():
    x, y = CASES[0]  # why exact: the t-approximation is off at n = 6
    assert abs(rank_stats.rank_tests(x, y)[1] - st.spearmanr(x, y).pvalue) > 0.005


def test_monte_carlo_beyond_exact_max_n_is_seeded_and_close():
    rng = np.random.default_rng(0)
    x = rng.normal(size=8)
    y = x + rng.normal(scale=1.5, size=8)
    a = rank_stats.rank_tests(x, y, exact_max_n=7, n_permutations=20_000, seed=3)
    rank_stats._permutation_p.cache_clear()  # reproducible from the seed, not from the cache
    b = rank_stats.rank_tests(x, y, exact_max_n=7, n_permutations=20_000, seed=3)
    assert rank_stats.rank_tests(x, y, exact_max_n=7, n_permutations=20_000, seed=4) != a
    exact = rank_stats.rank_tests(x, y, exact_max_n=8)
    assert a == b and a[4] == 'monte-carlo' and exact[4] == 'exact'
    assert a[1] == pytest.approx(exact[1], abs=0.02) and a[3] == pytest.approx(exact[3], abs=0.02)


def test_constant_side_gives_undefined_correlation():
    rho, p, tau, pt, how = rank_stats.rank_tests([1, 1, 1, 1], [1, 2, 3, 4])
    assert math.isnan(rho) and math.isnan(p) and how == 'none'
    assert rank_stats.verdict(rho, p) == 'undefined'


@pytest.mark.parametrize('n', [2, 3, 4, 5, 6])
def test_smallest_p_is_two_over_n_factorial_and_the_enumerated_extreme(n):
    x = list(range(n))
    assert rank_stats.smallest_p(n) == pytest.approx(min(1.0, 2 / math.factorial(n)))
    assert rank_stats.smallest_p(n) == pytest.approx(brute_force_p(naive_spearman, x, x[::-1]))


def naive_decision_accuracy(small, large):
    right = total = 0.0
    for i, j in itertools.combinations(range(len(small)), 2):
        if large[i] == large[j]:
            continue
        total += 1
        if small[i] == small[j]:
            right += 0.5
        elif (small[i] < small[j]) == (large[i] < large[j]):
            right += 1
    return right / total if total else float('nan')


def test_decision_accuracy_equals_a_pair_by_pair_count():
    rng = np.random.default_rng(0)
    for n in (2, 3, 5, 8):
        for _ in range(20):
            small, large = rng.integers(0, 4, n).astype(float), rng.integers(0, 4, n).astype(float)  # with ties
            want = naive_decision_accuracy(small, large)
            got = rank_stats.decision_accuracy(small, large)
            assert (math.isnan(want) and math.isnan(got)) or got == pytest.approx(want)
    batch = rng.normal(size=(7, 5))  # batched along the last axis
    ref = rng.normal(size=5)
    assert rank_stats.decision_accuracy(batch, ref) == pytest.approx([naive_decision_accuracy(b, ref) for b in batch])
    assert rank_stats.decision_accuracy([1, 2, 3], [1, 2, 3]) == 1.0
    assert rank_stats.decision_accuracy([1, 2, 3], [3, 2, 1]) == 0.0


@pytest.mark.parametrize('rho,p,word', [(0.95, 0.01, 'high'), (0.81, 0.04, 'high'), (0.8, 0.01, 'moderate'),
                                        (0.5, 0.01, 'moderate'), (0.49, 0.01, 'low'), (-0.9, 0.01, 'low'),
                                        (1.0, 2 / 24, 'not significant'), (0.95, 0.05, 'not significant')])
def test_verdict_words_need_a_significant_p(rho, p, word):
    assert rank_stats.verdict(rho, p) == word


def test_bootstrap_is_reproducible_and_brackets_the_estimate():
    rng = np.random.default_rng(1)
    small = [rng.normal(m, 0.02, 3) for m in (3.0, 3.1, 3.2, 3.3, 3.4, 3.5)]
    large = [rng.normal(m, 0.02, 3) for m in (2.5, 2.65, 2.7, 2.8, 2.9, 3.05)]
    a = rank_stats.bootstrap_spearman_ci(small, large, 2000, seed=7)
    assert a == rank_stats.bootstrap_spearman_ci(small, large, 2000, seed=7)
    rho = rank_stats.spearman([c.mean() for c in small], [c.mean() for c in large])
    assert a[0] <= rho <= a[1] and -1 <= a[0] <= a[1] <= 1
    one_seed = rank_stats.bootstrap_spearman_ci([c[:1] for c in small], [c[:1] for c in large], 100)
    rho1 = float(rank_stats.spearman([c[0] for c in small], [c[0] for c in large]))
    assert one_seed == pytest.approx([rho1, rho1])  # nothing to resample: the interval is the point
    assert rank_stats.bootstrap_decision_accuracy_ci([c[:1] for c in small], [c[:1] for c in large], 100) == [1.0, 1.0]


def test_bootstrap_distribution_equals_the_enumeration_of_every_resample():
    # 3 tokenizers x 2 seeds at two sizes: each cell has 4 equally likely resamples, 4^6 = 4,096 in all
    small = [np.array([3.00, 3.30]), np.array([3.20, 3.10]), np.array([3.25, 3.05])]
    large = [np.array([2.00, 2.20]), np.array([2.10, 2.05]), np.array([2.15, 2.30])]
    cells = small + large
    exact = {}
    for choice in itertools.product(itertools.product(range(2), repeat=2), repeat=6):
        means = np.array([c[list(idx)].mean() for c, idx in zip(cells, choice)])
        v = round(float(rank_stats.decision_accuracy(means[:3], means[3:])), 6)
        exact[v] = exact.get(v, 0) + 1 / 4096
    draws = rank_stats._resampled_means(cells, 20_000, seed=0)
    got = np.round(rank_stats.decision_accuracy(draws[:, :3], draws[:, 3:]), 6)
    for v, p in exact.items():
        assert np.mean(got == v) == pytest.approx(p, abs=0.015)
    lo, hi = rank_stats.bootstrap_decision_accuracy_ci(small, large, 20_000, seed=0)
    cdf = np.cumsum([exact[v] for v in sorted(exact)])
    values = sorted(exact)
    assert lo == values[int(np.searchsorted(cdf, 0.025))] and hi == values[int(np.searchsorted(cdf, 0.975))]
