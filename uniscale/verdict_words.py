"""
Which verdict words n tokenizers can reach, and the weakest agreement each needs: enumerated over
all n! rankings without ties, with the exact two-sided permutation p of rank_stats.rank_tests, so that a
report lists only the words its grid can reach. rank_stats.verdict_rule decides a pair's word; this
module only counts what it could say, and words it.
"""
import itertools
import math
from functools import lru_cache

import numpy as np

from uniscale import rank_stats
from uniscale.report_format import md_table

ENUM_MAX_N = 9   # rankings enumerated up to 9! = 362,880 (correlate.py's exact_max_n)


@lru_cache(maxsize=16)
def orderings(n):
    """(c, t) over all n! rankings of n items against 0..n-1: c = rho x n(n²-1) and t = concordant
    minus discordant pairs, both integers (rank_tests' permutation test also compares integers)."""
    perms = np.array(list(itertools.permutations(range(n))), dtype=np.int8)   # 9!: 3.3 MB
    s = ((perms - np.arange(n, dtype=np.int8)) ** 2).sum(1, dtype=np.int64)  # sum of squared rank diffs
    i, j = np.triu_indices(n, 1)
    discordant = (perms[:, i] > perms[:, j]).sum(1, dtype=np.int64)
    return n * (n * n - 1) - 6 * s, n * (n - 1) // 2 - 2 * discordant


def two_sided_p(stat):
    """Exact two-sided permutation p of each ranking: the share of all rankings whose |statistic|
    is at least its own (both nulls are symmetric: scipy's 2 x min(less, greater), capped at 1)."""
    a = np.abs(stat)
    at_least = np.bincount(a)[::-1].cumsum()[::-1]
    return at_least[a] / len(a)


@lru_cache(maxsize=64)
def mahonian(n):
    """How many rankings of n items have d discordant pairs (inversions), d = 0..n(n-1)/2."""
    counts = [1]
    for k in range(2, n + 1):  # inserting the k-th item adds 0..k-1 inversions
        counts = [sum(counts[d - j] for j in range(k) if 0 <= d - j < len(counts))
                  for d in range(len(counts) + k - 1)]
    return tuple(counts)


def _word(rho):
    return 'reversed' if rho < 0 else rank_stats.band(rho)[0] or ''


@lru_cache(maxsize=32)
def _rank_rows(n, alpha):
    if n > ENUM_MAX_N:
        return None
    c, t = orderings(n)
    ok = (two_sided_p(c) < alpha) & (two_sided_p(t) < alpha)
    m, pairs = n * (n * n - 1), n * (n - 1) // 2
    values, at = np.unique(c, return_inverse=True)
    word = np.array([_word(v / m) for v in values.tolist()])[at]
    discordant = (pairs - t) // 2
    rows = {}
    for w in rank_stats.WORDS + ('reversed',):
        sel = ok & (word == w)
        if not sel.any():
            rows[w] = None
            continue
        # the weakest agreement (for 'reversed': disagreement) that still reaches the word
        back = w == 'reversed'
        d = int(discordant[sel].min() if back else discordant[sel].max())
        rows[w] = dict(rho=float((c[sel].max() if back else c[sel].min()) / m), discordant=d,
                       decision_accuracy=(pairs - d) / pairs, orderings=int(sel.sum()))
    return rows


def fewest_tokenizers(word, alpha=rank_stats.ALPHA):
    """The fewest tokenizers (up to ENUM_MAX_N) with which the rank rule can grant `word`, or None."""
    return next((n for n in range(2, ENUM_MAX_N + 1) if _rank_rows(n, alpha)[word]), None)


def reachable(n, alpha=rank_stats.ALPHA):
    """What n tokenizers can reach at level alpha, enumerated: the known answer the report prints.

    `rank`: {word: None (no ranking of n reaches it) or {rho (the weakest that reaches it, signed),
    discordant (the most pairs ordered the other way; for 'reversed' the fewest), decision_accuracy
    (the smallest; for 'reversed' the largest), orderings (how many of the n! rankings reach it: both
    p < alpha and rho in the band)}}; null beyond ENUM_MAX_N tokenizers (not enumerated).
    `fewest`: {word: the fewest tokenizers that reach it, None when none do up to ENUM_MAX_N}.
    `da`: {word: {floor, discordant (the most discordant pairs whose decision accuracy still clears
    the floor), decision_accuracy (that value), random_share (the share of rankings at or above it:
    how often two unrelated orderings reach it)}}; empty below tokenizers_needed(alpha) tokenizers.
    The rank rule also needs the seed interval of rho in the band and the decision-accuracy rule its
    interval's lower end at the floor: the values here are necessary, not sufficient."""
    pairs = n * (n - 1) // 2
    counts = mahonian(n)
    da = {}
    if n >= rank_stats.tokenizers_needed(alpha):
        for w, floor, _ in rank_stats.DA_BANDS:
            most = max(d for d in range(pairs + 1) if (pairs - d) / pairs >= floor)
            da[w] = dict(floor=floor, discordant=most, decision_accuracy=(pairs - most) / pairs,
                         random_share=sum(counts[:most + 1]) / math.factorial(n))
    return dict(n=n, alpha=alpha, pairs=pairs, n_orderings=math.factorial(n),
                enumerated_up_to=ENUM_MAX_N, rank=_rank_rows(n, alpha),
                fewest={w: fewest_tokenizers(w, alpha) for w in rank_stats.WORDS}, da=da)


# ---------------------------------------------------------------- report prose
def word_with_rule(p):
    """The verdict word, with its rule named when the decision-accuracy rule gave it."""
    return p['verdict'] + (' (decision accuracy)' if p.get('verdict_rule') == rank_stats.DA_RULE
                           else '')


def _rank_rows_md(r):
    a, pairs = r['alpha'], r['pairs']
    floors = {'high': f"ρ > {rank_stats.HIGH}", 'low': f"ρ 0–{rank_stats.MODERATE}",
              'moderate': f"ρ {rank_stats.MODERATE}–{rank_stats.HIGH}", 'reversed': 'ρ < 0'}
    rows = []
    for w in rank_stats.WORDS + ('reversed',):
        row = r['rank'][w]
        if row is None:
            continue
        most = 'fewest' if w == 'reversed' else 'most'
        rows.append([w, f"rank correlation: {floors[w]}, both p < {a}",
                     f"ρ {'≤' if w == 'reversed' else '≥'} {row['rho']:.3f}: {most} "
                     f"{row['discordant']} of {pairs} pairs discordant, decision accuracy "
                     f"{row['decision_accuracy']:.3f}",
                     f"{row['orderings']} of {r['n_orderings']} rankings"])
    return rows


def rule_lines(r):
    """The verdict rules and the words n tokenizers can reach with them (r: reachable(n)); the
    unreachable ones are said in one sentence, so the report lists only words its grid can reach."""
    n, a, need = r['n'], r['alpha'], rank_stats.tokenizers_needed(r['alpha'])
    if n < need:
        return [f"Verdict words: none can come out with {n} tokenizers: their smallest p is "
                f"2/{n}! = {rank_stats.smallest_p(n):.3g} ≥ {a}, and both rules need at least "
                f"{need} tokenizers; the verdict can only read 'not resolved'."]
    if r['rank'] is None:
        rows = [['high, moderate, low, reversed', f"rank correlation, both p < {a}",
                 f"not enumerated beyond {r['enumerated_up_to']} tokenizers", '-']]
    else:
        rows = _rank_rows_md(r)
    rows += [[w, f"decision accuracy: seed interval's lower end ≥ {d['floor']}",
              f"decision accuracy ≥ {d['decision_accuracy']:.3f}: at most {d['discordant']} of "
              f"{r['pairs']} pairs discordant",
              f"{d['random_share']:.1%} of unrelated orderings"] for w, d in r['da'].items()]
    how = (f"enumerated over all {r['n_orderings']} rankings without ties, with the analysis's "
           f"exact permutation p" if r['rank'] is not None else
           f"decision accuracy counted over all {n}! rankings; the rank rule's words are not "
           f"enumerated beyond {r['enumerated_up_to']} tokenizers")
    lines = [f"Verdict words {n} tokenizers can reach ({how}). One word per pair: the highest band "
             f"word either rule grants, its rule named. The rank-correlation rule needs Spearman's "
             f"and Kendall's p both below {a} and the 95% seed interval of ρ in the word's band: the "
             f"small size orders these tokenizers like the large one, beyond what random orderings "
             f"give. The decision-accuracy rule needs ≥ {need} tokenizers and the decision accuracy "
             f"and the lower end of its 95% seed interval at or above the floor: seed noise cannot "
             f"bring the share of these tokenizers' pairs ordered alike below it. It has no "
             f"permutation p, so it does not say the agreement beats chance: the last column says "
             f"how often two unrelated orderings reach it. 'Weakest agreement' is where the word "
             f"can first come out; the seed interval must then also stay in the band.", '',
             md_table(['word', 'rule', f"weakest agreement, {n} tokenizers", 'reached by'], rows)]
    missing = [w for w in rank_stats.WORDS if r['rank'] is not None and r['rank'][w] is None]
    if missing:
        lines += ['', f"Not reachable with {n} tokenizers by rank correlation: " + '; '.join(
            f"'{w}' (needs ≥ {r['fewest'][w]})" if r['fewest'][w] else
            f"'{w}' (not with up to {r['enumerated_up_to']})" for w in missing) + '.']
    return lines + ['', f"'reversed' needs both p < {a}, ρ < 0 and the interval's upper end below "
                    f"0; otherwise 'not resolved'. Per-algorithm and per-language verdicts use the "
                    f"rank rule alone (Holm corrects its p; the decision-accuracy rule has none)."]


def da_reason(h):
    """Why the decision-accuracy rule gave no word to a 'not resolved' pair h."""
    need, ci = rank_stats.tokenizers_needed(), h.get('decision_accuracy_ci')
    if h['n_tokenizers'] < need:
        return f"the decision-accuracy rule needs ≥ {need} tokenizers"
    if ci is None:
        return 'the decision-accuracy rule needs a seed interval (one seed per cell)'
    low = min(h['decision_accuracy'], ci[0])
    return (f"decision accuracy or the lower end of its seed interval ({low:.3f}) is below the "
            f"'moderate' floor {rank_stats.DA_MODERATE}")


def da_sentence(h, r):
    """What a decision-accuracy word claims and what it does not, in numbers (r: reachable(n))."""
    w, ci = h['verdict'], h['decision_accuracy_ci']
    d = r['da'][w]
    return (f"The word comes from the decision-accuracy rule: the lower end of the seed interval of "
            f"decision accuracy ({ci[0]:.3f}) is at or above the '{w}' floor ({d['floor']}), so seed "
            f"noise cannot bring the share of these tokenizers' pairs ordered alike below it. It is "
            f"not tested against random orderings (two unrelated orderings of {r['n']} tokenizers reach "
            f"{d['decision_accuracy']:.3f} in {d['random_share']:.1%} of cases) and says nothing about "
            f"other tokenizers or data.")
