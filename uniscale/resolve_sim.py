"""
How many seeds per cell would resolve a pair of sizes' verdict: the study replicated by simulation.

Each replication draws what the measured cells allow to be true (per size, the seed variance from
its chi-square posterior: s2 df / chi2(df), pooled as rank_stats.pooled_variance pools it; each
cell's true mean around the measured one: N(mean, sigma2 / n_seeds), the same draw as
rank_stats.noisy_means), then runs a study with K seeds per cell from that truth and decides its
verdict as the analysis does: rank_stats.rank_tests on the K-seed means, the seed interval of rho
from the same parametric bootstrap (rank_stats.bootstrap_ci's draws, fewer of them), and
rank_stats.verdict. `seeds_to_resolve` searches the smallest K (doubling from 2, then bisection, up
to a cap) at which at least TARGET of the replications reach a verdict word, and names the tokenizer
pair that decides: the one the failing replications misorder most often. Replications share their
draws across K (common random numbers), so the share climbs smoothly with K and the search is not
fooled by Monte Carlo noise between neighbouring K.
"""
import inspect
import math

import numpy as np
import scipy.stats as st

from uniscale import rank_stats

TARGET = 0.8          # share of replications that must reach a verdict word
N_REPLICATIONS = 1000  # replications per K (Monte Carlo s.e. of a share near 0.8: 0.013)
N_BOOTSTRAP = 1000    # redraws in a replication's seed interval (the analysis: cfg['n_bootstrap'])
MAX_SEEDS = 64        # the search's cap, seeds per cell
SEED = 29
RESOLVED = ('high', 'moderate', 'low', 'reversed')  # a verdict: any word but 'not resolved'
CLEAR_P = 0.025       # 'the pair that decides' only when it leads the next one at this p (McNemar)
CHUNK = 64            # replications whose bootstrap draws are held in memory at once
# the verdict's decision-accuracy band (issue 29, deliverable 4): when rank_stats.verdict takes da
# and da_ci, each replication passes them on (its decision accuracy and its seed interval), else
# the interval is not computed
DA_BAND = 'da_ci' in inspect.signature(rank_stats.verdict).parameters


def plausible_truths(cells, n_rep, rng):
    """(sigma2 (n_rep,), mu (n_rep, n_cells)): true seed variances and cell means the measured
    per-seed values allow, one of each per replication (the posterior of a normal model with a flat
    prior)."""
    s2, df = rank_stats.pooled_variance(cells)
    centers = np.array([np.mean(c) for c in cells])
    n_seeds = np.array([len(c) for c in cells], float)
    sigma2 = s2 * df / rng.chisquare(df, n_rep)
    noise = rng.standard_normal((n_rep, len(cells)))
    return sigma2, centers + noise * np.sqrt(sigma2[:, None] / n_seeds)


def study_cells(sigma2, mu, z, k):
    """(k, R, n) per-seed values of a study with k seeds per cell: the first k of the shared
    standard normals z."""
    return mu + np.sqrt(sigma2)[:, None] * z[:k]


def rank_tests_by_pattern(mx, my, cfg):
    """rank_stats.rank_tests of each row of (mx, my) (R, n), computed once per distinct pair of rank
    patterns (every statistic and p-value it returns depends on the ranks only)."""
    rx, ry = rank_stats.average_ranks(mx), rank_stats.average_ranks(my)
    seen, out = {}, np.empty((len(mx), 4))
    for r in range(len(mx)):
        key = (tuple(rx[r]), tuple(ry[r]))
        if key not in seen:
            seen[key] = rank_stats.rank_tests(rx[r], ry[r], cfg['exact_max_n'],
                                              cfg['n_permutations'], cfg['seed'])[:4]
        out[r] = seen[key]
    return out


def seed_intervals(xs, ys, n_boot, seed, level=0.95):
    """Per replication, the seed intervals of rho and of decision accuracy that
    rank_stats.bootstrap_ci gives for the cells xs[:, r, :], ys[:, r, :] ((k, R, n) per-seed
    values), with n_boot redraws: the same random numbers in the same order (its rng seeded with
    `seed` draws the small size's chi-square and normals, then the large size's), applied to every
    replication at once. tests/test_resolve.py pins it to bootstrap_ci replication by
    replication."""
    k, n_rep, n = xs.shape
    df = n * (k - 1)
    rng = np.random.default_rng(seed)
    cx, zx = rng.chisquare(df, n_boot), rng.standard_normal((n_boot, n))
    cy, zy = rng.chisquare(df, n_boot), rng.standard_normal((n_boot, n))
    q = [50 * (1 - level), 50 * (1 + level)]
    rho_ci, da_ci = np.empty((n_rep, 2)), np.empty((n_rep, 2))
    for lo in range(0, n_rep, CHUNK):
        draws = []
        for v, c, z in ((xs[:, lo:lo + CHUNK], cx, zx), (ys[:, lo:lo + CHUNK], cy, zy)):
            m = v.mean(0)
            s2 = ((v - m) ** 2).sum(0).sum(-1) / df
            sigma2 = s2[:, None] * df / c[None, :]
            draws.append(m[:, None, :] + z[None] * np.sqrt(sigma2[:, :, None] / float(k)))
        rho_ci[lo:lo + CHUNK] = percentiles(rank_stats.spearman(*draws), q)
        if DA_BAND:
            da_ci[lo:lo + CHUNK] = percentiles(rank_stats.decision_accuracy(*draws), q)
    return rho_ci, da_ci


def percentiles(values, q):
    """np.nanpercentile along the last axis; nan where a row is all nan (as bootstrap_ci returns
    [nan, nan])."""
    nan = np.isnan(values)
    if not nan.any():
        return np.percentile(values, q, axis=-1).T
    bad = nan.all(-1)
    out = np.full((len(values), 2), np.nan)
    if (~bad).any():
        out[~bad] = np.nanpercentile(values[~bad], q, axis=-1).T
    return out


def verdicts(mx, my, cfg, rho_ci=None, da_ci=None):
    """The verdict word of each replication (rows of mx, my: the K-seed means), by
    rank_stats.verdict; with no intervals given, those of unlimited seeds (zero width: the interval
    is the point)."""
    tests = rank_tests_by_pattern(mx, my, cfg)
    da = rank_stats.decision_accuracy(mx, my)
    words = []
    for r, (rho, p_rho, _, p_tau) in enumerate(tests):
        ci = [rho, rho] if rho_ci is None else list(rho_ci[r])
        dci = [da[r], da[r]] if da_ci is None else list(da_ci[r])
        words.append(verdict(rho, p_rho, p_tau, ci, da[r], dci, mx.shape[-1]))
    return np.array(words, dtype=object)


def verdict(rho, p_rho, p_tau, ci, da, da_ci, n):
    """One replication's word: rank_stats.verdict, the analysis's one rule. da, da_ci: the decision
    accuracy and its seed interval, n the tokenizers, passed on when the verdict has the
    decision-accuracy band (DA_BAND)."""
    return rank_stats.verdict(rho, p_rho, p_tau, ci, **band_args(da, da_ci, n))


def band_args(da, da_ci, n):
    return dict(da=da, da_ci=da_ci, n=n) if DA_BAND else {}


def misordered(mx, my):
    """(R, n_pairs) True where a replication's two sizes order the tokenizer pair (i < j, triu
    order) differently."""
    return rank_stats.pair_signs(mx) != rank_stats.pair_signs(my)


class Replications:
    """The plausible truths and the shared seed noise of one pair of sizes, and the verdicts of
    studies with k seeds per cell drawn from them (memoised per k)."""

    def __init__(self, xs, ys, cfg, n_rep=N_REPLICATIONS, n_boot=N_BOOTSTRAP, cap=MAX_SEEDS,
                 seed=SEED):
        rng = np.random.default_rng(seed)
        self.truth = [plausible_truths(c, n_rep, rng) for c in (xs, ys)]
        self.z = [rng.standard_normal((cap, n_rep, len(xs))) for _ in (xs, ys)]
        self.cfg, self.n_rep, self.n_boot, self.done = cfg, n_rep, n_boot, {}

    def at(self, k):
        """(verdict words (R,), K-seed means of small and large (R, n)) of the studies with k seeds
        per cell. The seed intervals are drawn only for the replications that the most favourable
        intervals (rho's and decision accuracy's at the far end: [1, 1], or [-1, -1] below 0) would
        resolve: an interval can only take a word away (the verdict asks its lower end to stay in
        the band), so the others are 'not resolved' either way."""
        if k not in self.done:
            vx, vy = (study_cells(*t, z, k) for t, z in zip(self.truth, self.z))
            mx, my = vx.mean(0), vy.mean(0)
            words = verdicts(mx, my, self.cfg, *favourable(mx, my))
            hope = np.isin(words, RESOLVED)
            if hope.any():
                rho_ci, da_ci = seed_intervals(vx[:, hope], vy[:, hope], self.n_boot,
                                               self.cfg['seed'])
                words[hope] = verdicts(mx[hope], my[hope], self.cfg, rho_ci, da_ci)
            self.done[k] = words, mx, my
        return self.done[k]

    def share(self, k):
        return float(np.isin(self.at(k)[0], RESOLVED).mean())

    def unlimited(self):
        """The verdicts with unlimited seeds: the true means themselves, a zero-width interval."""
        return verdicts(self.truth[0][1], self.truth[1][1], self.cfg)


def favourable(mx, my):
    """The intervals most favourable to a word: at +1 where rho > 0, at -1 elsewhere (rho's and
    decision accuracy's, both (R, 2))."""
    end = np.where(rank_stats.spearman(mx, my) > 0, 1.0, -1.0)
    both = np.stack([end, end], -1)
    return both, np.abs(both)


def smallest_k(share, target, cap):
    """The smallest k in 2..cap with share(k) >= target (doubling from 2, then bisection), or
    None."""
    lo, hi = 1, 2
    while share(hi) < target:
        if hi >= cap:
            return None
        lo, hi = hi, min(2 * hi, cap)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if share(mid) >= target else (mid, hi)
    return hi


def se(share, n):
    return math.sqrt(share * (1 - share) / n)


def seeds_to_resolve(xs, ys, tokenizers, cfg, target=TARGET, n_rep=N_REPLICATIONS,
                     n_boot=N_BOOTSTRAP, cap=MAX_SEEDS, seed=SEED):
    """The simulated seeds per cell for a pair of sizes (xs, ys: per-seed values, one array per
    tokenizer, at the small and the large size) to reach a verdict word in at least `target` of
    n_rep replications: `seeds` (None when no k up to `cap` does), `share` and `share_se` there (at
    the cap when None), `share_now` at the seeds used, `share_unlimited` (unlimited seeds: the true
    means themselves; when it is below target no number of seeds will do), `words` at `seeds` (or
    the cap), `discordant_unlimited` (median_discordant), and `decider`: the tokenizer pair that the
    failing replications misorder most often, with its measured gaps."""
    sim = Replications(xs, ys, cfg, n_rep, n_boot, cap, seed)
    now = min(max(2, min(len(c) for c in xs + ys)), cap)
    endless = sim.unlimited()
    limit = float(np.isin(endless, RESOLVED).mean())
    k = smallest_k(sim.share, target, cap) if limit >= target else None
    at = k or cap
    words, mx, my = sim.at(at)
    share, share_now = sim.share(at), sim.share(now)
    return dict(seeds=k, share=share, share_se=se(share, n_rep), seeds_simulated=at,
                seeds_now=now, share_now=share_now, share_now_se=se(share_now, n_rep),
                share_unlimited=limit, share_unlimited_se=se(limit, n_rep), target=target, cap=cap,
                discordant_unlimited=median_discordant(sim, endless),
                replications=n_rep, bootstrap=n_boot, seed=seed,
                words={w: int((words == w).sum()) for w in sorted(set(words))},
                searched={int(j): sim.share(j) for j in sorted(sim.done)},
                decider=decider(xs, ys, tokenizers, words, mx, my))


def median_discordant(sim, words):
    """The median number of tokenizer pairs that the replications failing with unlimited seeds (the
    true means) order differently at the two sizes, rounded up; None when none fails."""
    fail = ~np.isin(words, RESOLVED)
    if not fail.any():
        return None
    counts = misordered(sim.truth[0][1][fail], sim.truth[1][1][fail]).sum(1)
    return int(math.ceil(np.median(counts)))


def decider(xs, ys, tokenizers, words, mx, my):
    """The pair the replications that fail misorder most often (between the two sizes' K-seed
    means), with the share of failing replications that misorder it, the runner-up pair and its
    share, McNemar's exact one-sided p of the lead (`lead_p`) and whether it is clear (`clear`:
    lead_p < CLEAR_P), and its measured gap at each size in units of the
    standard error of a difference of two cell means (the pooled seed std, the seeds used); None
    when no replication fails or none of the failing ones misorders a pair (then the seed interval,
    not the order, is what fails)."""
    fail = ~np.isin(words, RESOLVED)
    wrong = misordered(mx[fail], my[fail]) if fail.any() else None
    if wrong is None or not wrong.any():
        return None
    i, j = np.triu_indices(len(tokenizers), 1)
    first, second = (int(c) for c in np.argsort(-wrong.sum(0), kind='stable')[:2])
    a, b = int(i[first]), int(j[first])
    out = dict(pair=[tokenizers[a], tokenizers[b]],
               misordered_share=float(wrong[:, first].mean()),
               runner_up=dict(pair=[tokenizers[i[second]], tokenizers[j[second]]],
                              misordered_share=float(wrong[:, second].mean())),
               lead_p=lead_p(wrong[:, first], wrong[:, second]))
    out['clear'] = out['lead_p'] < CLEAR_P
    for side, cells in (('small', xs), ('large', ys)):
        s2, _ = rank_stats.pooled_variance(cells)
        gap = float(np.mean(cells[b]) - np.mean(cells[a]))
        sd_diff = math.sqrt(s2 * (1 / len(cells[a]) + 1 / len(cells[b])))
        out[side] = dict(gap=gap, z=abs(gap) / sd_diff if sd_diff else None, seed_std=math.sqrt(s2))
    return out


def lead_p(top, next_):
    """McNemar's exact one-sided p that the pair misordered in `top` is misordered more often than
    the one in `next_` (paired booleans over the same replications): only the replications that
    misorder one of the two and not the other count, a fair coin under equal shares."""
    only_top, only_next = int((top & ~next_).sum()), int((next_ & ~top).sum())
    return float(st.binom.sf(only_top - 1, only_top + only_next, 0.5)) if only_top else 1.0


def swaps_reach(n, d, cfg, n_max=9):
    """(m, d, rho, p, decision accuracy, word, rule): the fewest tokenizers m > n (up to n_max) at
    which a ranking with d pairs ordered against the other size (d discordant pairs, spread as
    evenly as a Lehmer code allows: one adjacent swap when d = 1) still reads a band word by
    rank_stats.verdict_rule with exact p and intervals of zero width (unlimited seeds): more
    tokenizers whose order is clear dilute d. None up to n_max."""
    for m in range(n + 1, n_max + 1):
        if d > m * (m - 1) // 2:
            continue
        x, y = np.arange(m, dtype=float), with_inversions(m, d)
        rho, p_rho, _, p_tau, _ = rank_stats.rank_tests(x, y, cfg['exact_max_n'],
                                                        cfg['n_permutations'], cfg['seed'])
        da = float(rank_stats.decision_accuracy(x, y))
        word, rule = rank_stats.verdict_rule(rho, p_rho, p_tau, [rho, rho],
                                             **band_args(da, [da, da], m))
        if word in RESOLVED:
            return dict(n_tokenizers=m, discordant=d, spearman=rho, p=max(p_rho, p_tau),
                        decision_accuracy=da, word=word, rule=rule)
    return None


def with_inversions(m, d):
    """A ranking of 0..m-1 with exactly d inversions: the Lehmer code with d units dealt one at a
    time over the positions that can take one more (position i holds at most m - 1 - i)."""
    code, left = [0] * m, d
    while left:
        for i in range(m - 1):
            if left and code[i] < m - 1 - i:
                code[i], left = code[i] + 1, left - 1
    free = list(range(m))
    return np.array([free.pop(c) for c in code], dtype=float)


def for_pair(cells, p, cfg):
    """What the simulation adds to a 'not resolved' pair's to_resolve (cells: {(tokenizer, size):
    per-seed values}); {} where no number of seeds can help (n tokenizers cannot reach p < ALPHA) or
    none is measured (one seed per cell: seed noise unknown)."""
    if p['smallest_p_possible'] >= rank_stats.ALPHA or p.get('spearman_ci') is None:
        return {}
    toks = p['tokenizers']
    xs, ys = ([cells[t, z] for t in toks] for z in (p['small'], p['large']))
    r = seeds_to_resolve(xs, ys, toks, cfg, n_boot=min(N_BOOTSTRAP, cfg['n_bootstrap']))
    if r['seeds'] is None:
        d = r['discordant_unlimited']
        r['more_tokenizers'] = swaps_reach(len(toks), d, cfg) if d else None
    return dict(seeds=r.pop('seeds'), simulated=True, simulation=r)
