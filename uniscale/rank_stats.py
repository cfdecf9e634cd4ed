"""
Rank statistics of the scale study: do two sizes order the tokenizers alike, and can seed noise tell?

Spearman rho and Kendall tau-b with exact permutation p-values (scipy.stats.permutation_test over all n! orderings,
seeded Monte-Carlo beyond exact_max_n), decision accuracy (the share of tokenizer pairs ordered alike), the seed-noise
model every interval of the study draws from (`noisy_means`: the parametric bootstrap shared with power_law.py),
Holm's correction, the flip probability of two tokenizers' order, the verdict words, and what a verdict that is not
resolved would need (`to_resolve`: tokenizers, seeds, gaps, in numbers). Everything takes
per-tokenizer values in the same order on both sides; lower or higher is better does not matter to a correlation,
and decision accuracy compares orders, not directions.
"""
import math
from functools import lru_cache

import numpy as np
import scipy.stats as st

HIGH, MODERATE = 0.8, 0.5    # verdict bands on Spearman rho: > 0.8 high, 0.5-0.8 moderate, 0-0.5 low
ALPHA = 0.05                 # a verdict word only when Spearman's and Kendall's permutation p are both below this
BANDS = (('high', HIGH, False), ('moderate', MODERATE, True), ('low', 0.0, False))   # (word, floor, floor included)
DA_HIGH, DA_MODERATE = 0.85, 0.7   # decision-accuracy floors for its interval's lower end
DA_BANDS = (('high', DA_HIGH, True), ('moderate', DA_MODERATE, True))
WORDS = ('high', 'moderate', 'low')   # the band words, highest first
RANK_RULE, DA_RULE = 'rank correlation', 'decision accuracy'   # which rule gave a verdict word


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


def pair_signs(v):
    """sign(v_i - v_j) for i < j along the last axis (np.triu_indices order): the order v gives each
    pair of tokenizers."""
    v = np.asarray(v, dtype=float)
    i, j = np.triu_indices(v.shape[-1], 1)
    return np.sign(v[..., i] - v[..., j]).astype(np.int64)


def decision_accuracy(small, large):
    """Share of tokenizer pairs that `small` orders as `large` does (batched along the last axis). Pairs that
    `large` ties are not counted (there is no right answer); a tie at `small` counts half (a coin flip)."""
    ss, sl = pair_signs(small), pair_signs(large)
    ss, sl = np.broadcast_arrays(ss, sl)
    valid = sl != 0
    score = (ss == sl) + 0.5 * (ss == 0)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(valid.sum(-1) > 0, (score * valid).sum(-1) / np.maximum(valid.sum(-1), 1), np.nan)


def smallest_p(n):
    """The smallest two-sided permutation p-value that n items allow: 2 / n! (one ordering at each extreme)."""
    return min(1.0, 2 / math.factorial(n)) if n >= 2 else 1.0


def tokenizers_needed(alpha=ALPHA):
    """The fewest items whose smallest permutation p is below alpha (5 at 0.05: 2/5! = 0.017)."""
    n = 2
    while smallest_p(n) >= alpha:
        n += 1
    return n


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
    sx = pair_signs(rx)

    def numerators(ranks, axis=-1):  # both statistics of one reordering; the signs of ranks are those of values
        ranks = np.moveaxis(ranks, axis, -1)
        return np.stack([ranks @ rx, pair_signs(ranks) @ sx], axis=-1)
    p = st.permutation_test((ry,), numerators, permutation_type='pairings', vectorized=True, n_resamples=n_resamples,
                            batch=50_000, rng=np.random.default_rng(seed)).pvalue
    return float(min(1.0, p[0])), float(min(1.0, p[1]))


# ---------------------------------------------------------------- seed noise
def pooled_variance(cells):
    """(s2, df): the seed variance pooled over cells (each cell's squared deviations from its own mean, summed, over
    sum(n - 1)); (None, 0) when no cell has two seeds."""
    cells = [np.asarray(c, float) for c in cells]
    df = sum(len(c) - 1 for c in cells)
    return (float(sum(((c - c.mean()) ** 2).sum() for c in cells) / df), df) if df > 0 else (None, 0)


def noisy_means(centers, n_seeds, s2, df, n_draws, rng):
    """(n_draws, n_cells) redrawn cell means: center + N(0, sigma2 / n_seeds), one sigma2 = s2 * df / chi2(df) per
    draw. The parametric bootstrap of the seeds every interval of the study uses (rank statistics and scaling fits):
    the chi-square draw carries the uncertainty of a variance estimated from few seeds, so that (draw - center) /
    sqrt(s2 / n) follows Student's t with df degrees of freedom; a percentile bootstrap of 2-3 seeds per cell is
    too narrow (it covered 57-84% at a nominal 95%, issue 21)."""
    centers, n_seeds = np.asarray(centers, float), np.asarray(n_seeds, float)
    sigma2 = s2 * df / rng.chisquare(df, n_draws)
    return centers + rng.standard_normal((n_draws, len(centers))) * np.sqrt(sigma2[:, None] / n_seeds)


def seed_draws(cells, n_draws, rng):
    """(n_draws, n_cells) means of `cells` (per-seed values) redrawn by noisy_means with the variance pooled over
    them; None when no cell has two seeds (seed noise unknown)."""
    s2, df = pooled_variance(cells)
    if s2 is None:
        return None
    return noisy_means([np.mean(c) for c in cells], [len(c) for c in cells], s2, df, n_draws, rng)


def bootstrap_ci(stat, small, large, n_resamples=10_000, seed=1337, level=0.95):
    """Percentile interval of stat(small means, large means) over redrawn seeds (seed_draws, the variance pooled
    within each size); None when a size has one seed per cell. small, large: lists (one per tokenizer) of arrays of
    per-seed values. What it shows: how far seed noise could move the statistic at these tokenizers and this data;
    what it cannot show: other tokenizers or other data."""
    rng = np.random.default_rng(seed)
    a, b = seed_draws(small, n_resamples, rng), seed_draws(large, n_resamples, rng)
    if a is None or b is None:
        return None
    values = stat(a, b)
    if np.isnan(values).all():
        return [float('nan'), float('nan')]
    lo, hi = np.nanpercentile(values, [50 * (1 - level), 50 * (1 + level)])
    return [float(lo), float(hi)]


def bootstrap_spearman_ci(small, large, n_resamples=10_000, seed=1337, level=0.95):
    return bootstrap_ci(spearman, small, large, n_resamples, seed, level)


def bootstrap_decision_accuracy_ci(small, large, n_resamples=10_000, seed=1337, level=0.95):
    return bootstrap_ci(decision_accuracy, small, large, n_resamples, seed, level)


def flip_probability(gap, sd, n_seeds=1):
    """P(two tokenizers whose true means differ by `gap` come out in the wrong order) when each is the mean of
    n_seeds runs with seed std `sd` (normal model): Phi(-gap / (sd sqrt(2 / n_seeds))). A gap of 2 sd with one
    run each still flips 7.9% of the time."""
    if gap is None or not sd:
        return None
    return float(st.norm.cdf(-abs(gap) / (sd * math.sqrt(2 / n_seeds))))


def seeds_for_gap(gap, sd, z=2.0):
    """Seeds per cell that put `gap` at z standard errors of a difference of two means (sd sqrt(2/k)):
    k = ceil(2 (z sd / gap)^2), at least 2."""
    if not gap or sd is None:
        return None
    return max(2, math.ceil(2 * (z * sd / gap) ** 2))


def holm(pvalues):
    """Holm's step-down adjusted p-values (the family-wise error over all of them stays below the level at which
    each adjusted p is read), in the input order; None entries are not in the family and stay None."""
    idx = [i for i, p in enumerate(pvalues) if p is not None and not math.isnan(p)]
    out = [None] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda i: pvalues[i])):
        running = max(running, min(1.0, (len(idx) - rank) * pvalues[i]))
        out[i] = running
    return out


# ---------------------------------------------------------------- the verdict
def band(value, bands=BANDS):
    """The band word of a positive value (rho on BANDS, decision accuracy on DA_BANDS), its floor."""
    for word, floor, closed in bands:
        if value > floor or (closed and value == floor):
            return word, floor, closed
    return None, None, None


def verdict(rho, p_rho=None, p_tau=None, ci=None, da=None, da_ci=None, n=None):
    """The verdict word: verdict_rule's word, without the rule that gave it."""
    return verdict_rule(rho, p_rho, p_tau, ci, da, da_ci, n)[0]


def verdict_rule(rho, p_rho=None, p_tau=None, ci=None, da=None, da_ci=None, n=None):
    """(word, rule): one word per pair, the highest band word either rule grants (a tie goes to the
    rank rule, whose claim is the stronger), and the rule that granted it (RANK_RULE or DA_RULE; None
    for 'not resolved' and 'undefined').

    Rank rule: 'high' (rho > 0.8), 'moderate' (0.5-0.8) or 'low' (0-0.5) only when Spearman's and
    Kendall's p are both below ALPHA and the lower end of the seed interval of rho `ci` is in the
    same band or above (seed noise cannot lower the word); 'reversed' when both p < ALPHA, rho < 0
    and the interval's upper end is below 0. It says the small size orders these tokenizers like the
    large one, beyond what random orderings give.
    Decision-accuracy rule (only with `da`, its seed interval `da_ci` and n >= tokenizers_needed()
    tokenizers): 'high' when the point and the interval's lower end are both >= DA_HIGH, 'moderate'
    when both are >= DA_MODERATE. It says seed noise cannot bring the share of these tokenizers'
    pairs ordered alike below the floor; it has no permutation p, so it does not say the agreement
    beats random orderings (verdict_words.reachable counts how often those reach each floor).
    Without da the rank rule alone decides (the behaviour before the decision-accuracy rule).
    'not resolved' when neither rule grants a word (one seed per cell: no interval, no word);
    'undefined' without a correlation."""
    if rho is None or math.isnan(rho):
        return 'undefined', None
    rank = _rank_word(rho, p_rho, p_tau, ci)
    granted = [(w, r) for w, r in ((rank, RANK_RULE), (_da_word(da, da_ci, n), DA_RULE))
               if w in WORDS]
    if granted:  # a DA word never meets 'reversed': tau >= 0.4 forces rho >= (3 tau - 1) / 2 > 0
        return min(granted, key=lambda g: WORDS.index(g[0]))
    return (rank, RANK_RULE) if rank == 'reversed' else ('not resolved', None)


def _rank_word(rho, p_rho, p_tau, ci):
    if any(p is None or math.isnan(p) or p >= ALPHA for p in (p_rho, p_tau)) or ci is None or math.isnan(ci[0]):
        return 'not resolved'
    if rho < 0:
        return 'reversed' if ci[1] < 0 else 'not resolved'
    word, floor, closed = band(rho)
    return word if word and (ci[0] > floor or (closed and ci[0] >= floor)) else 'not resolved'


def _da_word(da, da_ci, n):
    if da is None:
        return None
    if n is None:
        raise ValueError('rank_stats.verdict: da needs n, the number of tokenizers')
    if n < tokenizers_needed() or da_ci is None or any(math.isnan(v) for v in (da, da_ci[0])):
        return None
    return band(min(da, da_ci[0]), DA_BANDS)[0]


# ---------------------------------------------------------------- what a pair of sizes can resolve
def noise_vs_gaps(cs):
    """At one size (cs: per-seed values, one array per tokenizer): the seed std pooled over tokenizers, the gaps
    between adjacent tokenizers' means (sorted), and what the noise makes of them (normal model): the probability
    that the smallest and the median gap come out in the wrong order with one run each and with the seeds used, and
    the seeds per cell that would put the median gap at 2 standard errors of a difference."""
    s2, df = pooled_variance(cs)
    std, k = (math.sqrt(s2) if s2 is not None else None), min(len(c) for c in cs)
    gaps = np.diff(np.sort([c.mean() for c in cs]))
    mn, med = (float(gaps.min()), float(np.median(gaps))) if len(gaps) else (None, None)
    flip = flip_probability
    return dict(n_tokenizers=len(cs), n_seeds=k, seed_std=std, seed_df=df,
                spread=float(np.ptp([c.mean() for c in cs])), min_gap=mn, median_gap=med, n_gaps=len(gaps),
                gaps_over_2std=int((gaps > 2 * std).sum()) if std is not None else None,
                flip_one_run_min_gap=flip(mn, std), flip_one_run_median_gap=flip(med, std),
                flip_min_gap=flip(mn, std, k), flip_median_gap=flip(med, std, k),
                seeds_for_median_gap=seeds_for_gap(med, std))


def to_resolve(p, noises):
    """Why a pair's verdict is 'not resolved', and the facts about what would resolve it: `why`
    (each reason, in numbers), `tokenizers` (the fewest whose smallest p is below ALPHA, where n
    cannot reach it), and at the noisier size (the larger seed std over median gap) `size`,
    `seed_std`, `median_gap`, `n_seeds` and `gap` (2 standard errors of a difference with those
    seeds). `seeds` (per cell) is None here: only a simulation of the study says how many seeds
    reach a verdict (uniscale/resolve_sim.py; the median-gap rule it replaces reached it in 66-79%
    of replications of the cases in bench/RESULTS.md, issue 29), and scale_analysis runs it for the
    headline pair."""
    why = []
    if p['spearman_p'] >= ALPHA or p['kendall_p'] >= ALPHA:
        why.append(f"Spearman p = {p['spearman_p']:.3g} and Kendall p = {p['kendall_p']:.3g} "
                   f"are not both below {ALPHA}")
    n = p['n_tokenizers']
    if p['smallest_p_possible'] >= ALPHA:
        why.append(f"no ordering of {n} tokenizers can reach p < {ALPHA} (the smallest p is "
                   f"2/{n}! = {p['smallest_p_possible']:.3g})")
    why += interval_why(p)
    known = [z for z in noises if z['seed_std'] and z['median_gap']]
    worst = max(known, key=lambda z: z['seed_std'] / z['median_gap'], default=None) or {}
    needed = tokenizers_needed() if p['smallest_p_possible'] >= ALPHA else None
    return dict(why=why, tokenizers=needed, seeds=None, simulated=False,
                gap=2 * worst['seed_std'] * math.sqrt(2 / worst['n_seeds']) if worst else None,
                **{key: worst.get(key) for key in ('size', 'seed_std', 'median_gap', 'n_seeds')})


def interval_why(p):
    """What the seed interval of rho keeps from a word, in words (an empty list when nothing)."""
    ci = p['spearman_ci']
    if ci is None:
        return ['one seed per cell: seed noise is unknown']
    if math.isnan(ci[0]):
        return ["the seed interval of ρ is undefined (a size's redrawn means are all equal)"]
    if p['spearman'] < 0 and ci[1] >= 0:
        return [f"the seed interval of ρ {ci[0]:.3f} to {ci[1]:.3f} reaches 0"]
    if p['spearman'] > 0:
        word, floor, _ = band(p['spearman'])
        if ci[0] < floor or (ci[0] == floor and word != 'moderate'):
            return [f"the seed interval of ρ reaches down to {ci[0]:.3f}, out of the '{word}' band "
                    f"(which starts at {floor})"]
    return []


def holm_family(groups):
    """Holm's correction over every pair of every group ({group: pairs}) whose test can reach p < ALPHA (n tokenizers
    with 2/n! < ALPHA; the others are `testable` False, descriptive only). A pair's p is the larger of Spearman's and
    Kendall's (the verdict needs both); `p_holm` is its adjusted value and the verdict is re-read
    at it by the rank rule alone (the decision-accuracy rule has no p to correct)."""
    pairs = [p for ps in groups.values() for p in ps]
    testable = [p.get('spearman') is not None and p['smallest_p_possible'] < ALPHA for p in pairs]
    raw = [max(p['spearman_p'], p['kendall_p']) if ok else None for p, ok in zip(pairs, testable)]
    for p, ok, adj in zip(pairs, testable, holm(raw)):
        p.update(testable=ok, p_holm=adj, holm_m=sum(testable), to_resolve=None)
        if p.get('spearman') is not None:  # the rank rule alone (no da): Holm corrects its p
            word = verdict_rule(p['spearman'], adj, adj, p['spearman_ci'])
            p['verdict'], p['verdict_rule'] = word if ok else ('not resolved', None)
    return groups
