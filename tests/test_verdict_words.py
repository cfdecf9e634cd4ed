"""
The verdict words a grid can reach (uniscale/verdict_words.py) against an independent brute force, the
decision-accuracy rule of rank_stats.verdict_rule, and its false-band rate on a few seeded experiments (the
1,000-experiment check is bench/verdict_words_mc.py, figures in bench/RESULTS.md).
"""
import itertools
import math
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
import scipy.stats as st

from uniscale import rank_stats, verdict_words
from uniscale.scale_analysis import compare_sizes
from uniscale.scale_report import verdict_sentence

CFG = dict(exact_max_n=9, n_permutations=100_000, seed=1337, n_bootstrap=2000, metric='bpb')


def share_at_least(values):
    """For each value, the share of all values whose absolute value is at least its own (exact)."""
    counts = Counter(abs(v) for v in values)
    at_least, running = {}, 0
    for v in sorted(counts, reverse=True):
        running += counts[v]
        at_least[v] = Fraction(running, len(values))
    return [at_least[abs(v)] for v in values]


def brute_force(n, alpha=0.05):
    """{word: (smallest |rho| as a Fraction, most discordant pairs, smallest decision accuracy, count)} by
    enumeration in exact rational arithmetic: rho = 1 - 6 sum d² / (n(n²-1)), p = the share of rankings whose
    |statistic| is at least as large (the two-sided permutation p), bands written out here."""
    perms = list(itertools.permutations(range(n)))
    rho = [1 - Fraction(6 * sum((p[i] - i) ** 2 for i in range(n)), n * (n * n - 1)) for p in perms]
    disc = [sum(p[i] > p[j] for i in range(n) for j in range(i + 1, n)) for p in perms]
    pairs = n * (n - 1) // 2
    tau = [Fraction(pairs - 2 * d, pairs) for d in disc]
    p_rho, p_tau = share_at_least(rho), share_at_least(tau)
    bands = {'high': lambda r: r > Fraction(4, 5), 'moderate': lambda r: Fraction(1, 2) <= r <= Fraction(4, 5),
             'low': lambda r: 0 < r < Fraction(1, 2)}
    out = {}
    for word, inside in bands.items():
        hits = [(r, d) for r, d, a, b in zip(rho, disc, p_rho, p_tau) if a < alpha and b < alpha and inside(r)]
        out[word] = (min(r for r, _ in hits), max(d for _, d in hits), 1 - Fraction(max(d for _, d in hits), pairs),
                     len(hits)) if hits else None
    return out, p_rho, p_tau


@pytest.mark.parametrize('n', [5, 6, 7])
def test_reachable_words_equal_a_brute_force_enumeration(n):
    want, _, _ = brute_force(n)
    got = verdict_words.reachable(n)['rank']
    for word in rank_stats.WORDS:
        if want[word] is None:
            assert got[word] is None, word
            continue
        r, d, da, count = want[word]
        assert got[word] == dict(rho=pytest.approx(float(r), abs=1e-15), discordant=d,
                                 decision_accuracy=pytest.approx(float(da), abs=1e-15), orderings=count)


def test_the_issues_claims_hold():
    r5, r6, r7 = (verdict_words.reachable(n)['rank'] for n in (5, 6, 7))
    assert r5['high'] == dict(rho=1.0, discordant=0, decision_accuracy=1.0, orderings=1)   # only rho = 1
    assert r6['high']['discordant'] == 1 and r6['high']['orderings'] == 6   # identity + the 5 adjacent swaps
    assert r5['moderate'] is None and r6['moderate'] is None and r7['moderate'] is not None
    assert verdict_words.fewest_tokenizers('moderate') == 7
    assert verdict_words.fewest_tokenizers('low') is None   # unreachable up to 9 tokenizers
    assert all(verdict_words.reachable(n)['rank']['low'] is None for n in range(2, 10))


def test_enumerated_p_values_are_the_analysis_permutation_p():
    # every ranking of 5 and 6 through rank_stats.rank_tests (scipy.stats.permutation_test) and through
    # the brute force: the same two-sided p; and Kendall's exact p by scipy.stats.kendalltau
    for n in (5, 6):
        c, t = verdict_words.orderings(n)
        mine_rho, mine_tau = verdict_words.two_sided_p(c), verdict_words.two_sided_p(t)
        _, p_rho, p_tau = brute_force(n)
        for k, perm in enumerate(itertools.permutations(range(n))):
            if n == 6 and k % 7:
                continue   # every 7th ranking of 6 (keeps the test short; all 120 of 5)
            _, a, _, b, how = rank_stats.rank_tests(np.arange(n), np.array(perm))
            assert how == 'exact'
            assert (a, b) == pytest.approx((mine_rho[k], mine_tau[k]), rel=1e-12)
            assert (mine_rho[k], mine_tau[k]) == pytest.approx((float(p_rho[k]), float(p_tau[k])), rel=1e-12)
            if n == 5:
                assert st.kendalltau(np.arange(n), perm, method='exact').pvalue == pytest.approx(b, rel=1e-9)


@pytest.mark.parametrize('n', [5, 6, 7])
def test_decision_accuracy_floors_and_random_shares_equal_a_count(n):
    perms = list(itertools.permutations(range(n)))
    da = [rank_stats.decision_accuracy(p, np.arange(n)) for p in perms]
    got = verdict_words.reachable(n)['da']
    for word, floor, _ in rank_stats.DA_BANDS:
        reach = [v for v in da if v >= floor]
        assert got[word]['decision_accuracy'] == pytest.approx(min(reach))
        assert got[word]['random_share'] == pytest.approx(len(reach) / len(perms))
    assert verdict_words.mahonian(n) == tuple(np.bincount([round((1 - v) * n * (n - 1) / 2) for v in da]))
    assert verdict_words.reachable(4)['da'] == {}   # fewer than 5 tokenizers: no decision-accuracy word


HIGH_P = dict(p_rho=0.01, p_tau=0.01)
NO_P = dict(p_rho=0.03, p_tau=0.056)   # n = 6, two discordant pairs: Kendall's p misses 0.05


@pytest.mark.parametrize('rho,ps,ci,da,da_ci,n,want', [
    (0.886, NO_P, [0.7, 1.0], 14 / 15, [13 / 15, 1.0], 6, ('high', rank_stats.DA_RULE)),
    (0.886, NO_P, [0.7, 1.0], 13 / 15, [0.85, 1.0], 6, ('high', rank_stats.DA_RULE)),   # floor included
    (0.886, NO_P, [0.7, 1.0], 13 / 15, [11 / 15, 1.0], 6, ('moderate', rank_stats.DA_RULE)),
    (0.886, NO_P, [0.7, 1.0], 13 / 15, [0.7, 1.0], 6, ('moderate', rank_stats.DA_RULE)),
    (0.886, NO_P, [0.7, 1.0], 13 / 15, [10 / 15, 1.0], 6, ('not resolved', None)),
    (0.8, NO_P, [0.7, 1.0], 0.8, [0.9, 1.0], 6, ('moderate', rank_stats.DA_RULE)),   # the point caps the word
    (0.95, HIGH_P, [0.85, 1.0], 14 / 15, [13 / 15, 1.0], 6, ('high', rank_stats.RANK_RULE)),  # a tie: rank
    (0.95, HIGH_P, [0.85, 1.0], 14 / 15, [0.8, 1.0], 6, ('high', rank_stats.RANK_RULE)),
    (0.7, HIGH_P, [0.6, 0.9], 0.9, [0.86, 1.0], 8, ('high', rank_stats.DA_RULE)),   # the higher word wins
    (0.95, HIGH_P, [0.6, 1.0], 1.0, [1.0, 1.0], 4, ('not resolved', None)),     # 4 tokenizers: no DA word
    (0.95, HIGH_P, [0.6, 1.0], 1.0, None, 6, ('not resolved', None)),          # one seed: no interval
    (-0.95, HIGH_P, [-1.0, -0.6], 0.1, [0.0, 0.2], 6, ('reversed', rank_stats.RANK_RULE)),
    (float('nan'), NO_P, None, None, None, 6, ('undefined', None))])
def test_verdict_rule_grants_the_highest_word_and_names_its_rule(rho, ps, ci, da, da_ci, n, want):
    assert rank_stats.verdict_rule(rho, ps['p_rho'], ps['p_tau'], ci, da, da_ci, n) == want
    assert rank_stats.verdict(rho, ps['p_rho'], ps['p_tau'], ci, da, da_ci, n) == want[0]


def test_without_decision_accuracy_the_verdict_is_todays():
    assert rank_stats.verdict(0.886, 0.03, 0.056, [0.7, 1.0]) == 'not resolved'
    assert rank_stats.verdict_rule(0.95, 0.01, 0.01, [0.85, 1.0]) == ('high', rank_stats.RANK_RULE)
    with pytest.raises(ValueError, match='needs n'):
        rank_stats.verdict(0.886, 0.03, 0.056, [0.7, 1.0], 0.9, [0.9, 1.0])


def cells_of(small, large, sd, k, rng):
    toks = [f't{i}' for i in range(len(small))]
    cells = {(t, z): m + sd * rng.standard_normal(k) for z, ms in (('s', small), ('l', large))
             for t, m in zip(toks, ms)}
    return cells, toks


def test_six_tokenizers_two_swaps_apart_reach_high_by_decision_accuracy_and_the_report_says_so():
    # true orders 2 discordant pairs apart (decision accuracy 13/15, rho 0.886: Kendall's p = 0.056, so the
    # rank rule cannot speak), seeds far below the gaps: the decision-accuracy rule says 'high', named
    small, large = np.arange(6) * 0.1, np.array([1, 0, 3, 2, 4, 5]) * 0.1
    cells, toks = cells_of(small, large, 0.002, 3, np.random.default_rng(0))
    p = compare_sizes(cells, toks, 's', 'l', False, CFG)
    assert p['kendall_p'] >= 0.05 and p['decision_accuracy'] == pytest.approx(13 / 15)
    assert (p['verdict'], p['verdict_rule']) == ('high', rank_stats.DA_RULE)
    text = verdict_sentence(p)
    assert '**Verdict: high** decision accuracy' in text and 'not tested against random orderings' in text
    assert '2.8% of cases' in text   # 20 of the 720 rankings of 6 have <= 2 discordant pairs


def test_report_lists_only_the_words_the_grid_can_reach():
    text = '\n'.join(verdict_words.rule_lines(verdict_words.reachable(6)))
    table = text.split('Not reachable')[0]
    assert '| high | rank correlation' in table and 'ρ ≥ 0.943' in table
    assert '| moderate | rank correlation' not in table and '| low |' not in table
    assert "'moderate' (needs ≥ 7); 'low' (not with up to 9)" in text
    assert '| moderate | decision accuracy' in table and '13.6% of unrelated orderings' in table
    assert "none can come out with 4 tokenizers" in verdict_words.rule_lines(verdict_words.reachable(4))[0]
    # a pair neither rule resolves says why for both
    p = compare_sizes(*cells_of(np.arange(6) * 0.01, np.arange(6) * 0.01, 0.02, 2, np.random.default_rng(1)),
                      's', 'l', False, CFG)
    assert p['verdict'] == 'not resolved' and p['verdict_rule'] is None
    assert f"({min(p['decision_accuracy'], p['decision_accuracy_ci'][0]):.3f}) is below the 'moderate' floor 0.7" \
        in verdict_sentence(p)


def test_no_band_word_on_pure_noise_nor_above_the_truth():
    """198 seeded experiments (200 with this file's other two) through the analysis's own path
    (compare_sizes) at 6 tokenizers, 2 seeds:
    pure noise never gets a band word; true orders 5 discordant pairs apart (decision accuracy 0.667, below
    both floors) never get a decision-accuracy word; 2 apart with small noise get 'high' or 'moderate'."""
    rng = np.random.default_rng(29)
    noise = [compare_sizes(*cells_of(np.zeros(6), np.zeros(6), 0.01, 2, rng), 's', 'l', False, CFG)
             for _ in range(80)]
    assert [p['verdict'] for p in noise] == ['not resolved'] * 80
    base = np.arange(6) * 0.01
    five = np.array([3, 1, 0, 2, 5, 4]) * 0.01      # 4 + 1 = 5 discordant pairs against base
    assert rank_stats.decision_accuracy(five, base) == pytest.approx(10 / 15)
    below = [compare_sizes(*cells_of(base, five, 0.0025, 2, rng), 's', 'l', False, CFG) for _ in range(60)]
    assert not [p for p in below if p['verdict_rule'] == rank_stats.DA_RULE]
    two = np.array([1, 0, 3, 2, 4, 5]) * 0.01
    near = [compare_sizes(*cells_of(base, two, 0.001, 2, rng), 's', 'l', False, CFG) for _ in range(58)]
    assert sum(p['verdict'] in ('high', 'moderate') for p in near) >= 52   # the DA rule's power here
    assert all(p['verdict_rule'] == rank_stats.DA_RULE for p in near if p['verdict'] != 'not resolved')
    assert math.isclose(rank_stats.decision_accuracy(two, base), 13 / 15)
