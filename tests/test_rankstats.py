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


@pytest.mark.parametrize('rho,p_rho,p_tau,ci,word', [
    (0.95, 0.01, 0.01, [0.85, 1.0], 'high'), (0.81, 0.04, 0.03, [0.81, 0.9], 'high'),
    (0.95, 0.01, 0.01, [0.6, 1.0], 'not resolved'),        # seed noise reaches the moderate band
    (0.95, 0.01, 0.01, [0.8, 1.0], 'not resolved'),        # 'high' is rho > 0.8: its floor is not in it
    (0.8, 0.01, 0.01, [0.5, 0.9], 'moderate'), (0.7, 0.01, 0.01, [0.49, 0.9], 'not resolved'),
    (0.3, 0.01, 0.01, [0.05, 0.5], 'low'), (0.3, 0.01, 0.01, [-0.1, 0.5], 'not resolved'),
    (-0.9, 0.01, 0.01, [-1.0, -0.5], 'reversed'), (-0.9, 0.01, 0.01, [-1.0, 0.1], 'not resolved'),
    (0.886, 0.033, 0.056, [0.85, 1.0], 'not resolved'),    # Spearman alone below 0.05 (the case)
    (1.0, 2 / 24, 2 / 24, [1.0, 1.0], 'not resolved'), (0.95, 0.05, 0.01, [0.9, 1.0], 'not resolved'),
    (0.95, 0.01, 0.01, None, 'not resolved'),               # one seed per cell: noise unknown
    (float('nan'), None, None, None, 'undefined')])
def test_verdict_words_need_both_tests_and_a_seed_interval_inside_the_band(rho, p_rho, p_tau, ci, word):
    assert rank_stats.verdict(rho, p_rho, p_tau, ci) == word


def test_tokenizers_needed_is_the_first_n_whose_smallest_p_is_below_alpha():
    assert rank_stats.tokenizers_needed(0.05) == 5  # 2/4! = 0.083 >= 0.05 > 2/5! = 0.017
    assert rank_stats.tokenizers_needed(0.01) == 6  # 2/5! = 0.017 >= 0.01 > 2/6! = 0.0028


def test_bootstrap_is_reproducible_and_brackets_the_estimate():
    rng = np.random.default_rng(1)
    small = [rng.normal(m, 0.02, 3) for m in (3.0, 3.1, 3.2, 3.3, 3.4, 3.5)]
    large = [rng.normal(m, 0.02, 3) for m in (2.5, 2.65, 2.7, 2.8, 2.9, 3.05)]
    a = rank_stats.bootstrap_spearman_ci(small, large, 2000, seed=7)
    assert a == rank_stats.bootstrap_spearman_ci(small, large, 2000, seed=7)
    rho = rank_stats.spearman([c.mean() for c in small], [c.mean() for c in large])
    assert a[0] <= rho <= a[1] and -1 <= a[0] <= a[1] <= 1
    # one seed per cell: no seed noise can be measured, so there is no interval (not a point)
    assert rank_stats.bootstrap_spearman_ci([c[:1] for c in small], [c[:1] for c in large], 100) is None
    assert rank_stats.bootstrap_decision_accuracy_ci([c[:1] for c in small], large, 100) is None


def test_bootstrap_distribution_equals_a_multivariate_t_sampled_by_scipy():
    # the seed-noise model: each size's cell means jointly Student-t (shared variance estimate, df = sum(n - 1)),
    # sampled here by scipy.stats.multivariate_t; decision accuracy of 3 tokenizers takes 4 values
    small = [np.array([3.00, 3.30]), np.array([3.20, 3.10]), np.array([3.25, 3.05])]
    large = [np.array([2.00, 2.20]), np.array([2.10, 2.05]), np.array([2.15, 2.30])]

    def side(cells, seed):
        s2 = sum(((c - c.mean()) ** 2).sum() for c in cells) / 3  # df = 3 x (2 - 1)
        return st.multivariate_t([c.mean() for c in cells], np.diag([s2 / 2] * 3), df=3, seed=seed).rvs(200_000)
    ref = rank_stats.decision_accuracy(side(small, 5), side(large, 6))  # the sizes' noise is independent
    rng = np.random.default_rng(0)
    got = rank_stats.decision_accuracy(rank_stats.seed_draws(small, 200_000, rng),
                                       rank_stats.seed_draws(large, 200_000, rng))
    for v in np.unique(ref):  # 2e5 draws each: the standard error of a share is <= 0.0011; 0.005 is > 4 of them
        assert np.mean(got == v) == pytest.approx(np.mean(ref == v), abs=0.005)
    lo, hi = rank_stats.bootstrap_decision_accuracy_ci(small, large, 200_000, seed=0)
    assert (lo, hi) == tuple(np.percentile(ref, [2.5, 97.5]))
