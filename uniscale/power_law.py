"""Scaling fits of the scale study: bpb = E + A * N^-alpha per tokenizer (N = non-embedding
parameters, or train FLOPs), with intervals from a parametric bootstrap of the seed noise,
extrapolation to larger sizes (predicted bpb, its interval, the implied ranking, the probability
that each tokenizer is best there) and a backtest (fit the same law without the largest size,
predict it, and compare with the plain ranking of the largest size the fit used).

The fit: for each exponent alpha the law is linear in (E, A), so E and A are solved by weighted
least squares (weights = seeds per size; E in [0, min y], A >= 0) and alpha is found by a grid over
ALPHA_BOUNDS refined by golden-section search; vectorised, so that thousands of bootstrap refits
take a second.

The intervals: the seed variance is estimated from every run around the fitted law (the seeds'
spread within each size plus the sizes' misfit, df = runs - 3), new per-size means are drawn from
the fitted law with that noise (rank_stats.noisy_means: normal, its variance chi-square-scaled for
df), refitted, and the percentiles of the refits are the interval. They are intervals *if the law
holds*: tests/test_scale_honesty.py checks that they cover a true law >= 90% of the time at a
nominal 95%. A law that bends misses by more than they say: beyond the sizes the printed interval
is widened (widened_interval).

The lack-of-fit test (4+ sizes, 2+ seeds somewhere): the sizes' misfit to the law against the seeds'
spread within the sizes, an F test (lack_of_fit; docs/DESIGN.md derives it). Where it rejects, or
where it cannot be run (three sizes: three parameters leave no degree of freedom to test the law),
`extrapolate` gives no number for that law. bench/law_coverage.py measures how often, under a law
that bends beyond the fitted sizes, the test rejects or the interval covers the truth at 7e9, and
how often it rejects a true law."""
import zlib

import numpy as np
import scipy.stats as st

from uniscale.rank_stats import decision_accuracy, noisy_means, spearman

MIN_SIZES = 3                # a three-parameter law needs at least three sizes
LOF_LEVEL = 0.05             # the lack-of-fit test rejects the law below this p
TAIL_SIZES = 3               # beyond the sizes the interval also holds the law fitted on the last 3
BACKTEST_SIZES = 4           # the backtest refits the same law without the largest size: 3 sizes left
ALPHA_BOUNDS = (1e-3, 3.0)   # exponents outside this are not a power law of model size
GRID = np.geomspace(*ALPHA_BOUNDS, 64)   # the exponent's coarse search; golden-section refines within two steps
GOLDEN = (np.sqrt(5) - 1) / 2


def _solve(alpha, x, Y, w, e_max):
    """Per row of Y (B, K): the weighted least-squares (E, B) of Y = E + B exp(-alpha x) with E in
    [0, e_max] and B >= 0, and its weighted squared error. Unconstrained first; where that leaves
    the box, the best of the box's three faces (E = 0, E = e_max, B = 0), each a one-dimensional
    least squares (the error is a convex quadratic)."""
    g = np.exp(-alpha[:, None] * x)
    sw = w.sum()
    mg, my = g @ w / sw, Y @ w / sw
    gc, yc = g - mg[:, None], Y - my[:, None]
    sgg = (gc * gc) @ w
    b = (gc * yc) @ w / np.where(sgg > 0, sgg, 1)
    e = my - b * mg

    def err(e, b):
        r = Y - e[:, None] - b[:, None] * g
        return (r * r) @ w
    ok = (e >= 0) & (e <= e_max) & (b >= 0)
    best = [np.where(ok, e, 0.0), np.where(ok, b, 0.0), np.where(ok, err(e, b), np.inf)]
    gg = (g * g) @ w
    for ec, bc in ((0 * my, None), (e_max, None), (np.clip(my, 0, e_max), 0 * my)):
        bc = np.maximum((g * (Y - ec[:, None])) @ w / gg, 0) if bc is None else bc
        r = err(ec, bc)
        m = r < best[2]
        best = [np.where(m, ec, best[0]), np.where(m, bc, best[1]), np.where(m, r, best[2])]
    return best


def fit_batch(n, Y, w=None, iters=40):
    """(E, A, alpha, weighted squared error), each of shape (B,), of y = E + A n^-alpha fitted to
    every row of Y (B, K) at the K sizes n; w: weights per size (seeds). n is rescaled by its
    geometric mean inside."""
    n = np.asarray(n, float)
    Y = np.atleast_2d(np.asarray(Y, float))
    w = np.ones(len(n)) if w is None else np.asarray(w, float)
    n0 = float(np.exp(np.log(n).mean()))
    x, e_max = np.log(n / n0), Y.min(1) * (1 - 1e-9)

    def err(log_alpha):
        return _solve(np.exp(log_alpha), x, Y, w, e_max)[2]
    i = np.stack([err(np.full(len(Y), np.log(a))) for a in GRID], 1).argmin(1)
    lo, hi = np.log(GRID[np.maximum(i - 1, 0)]), np.log(GRID[np.minimum(i + 1, len(GRID) - 1)])
    c, d = hi - GOLDEN * (hi - lo), lo + GOLDEN * (hi - lo)
    fc, fd = err(c), err(d)
    for _ in range(iters):  # golden-section: the bracket shrinks by 0.618 a step (40 steps: 4e-9 of 2 grid steps)
        left = fc < fd
        lo, hi = np.where(left, lo, c), np.where(left, d, hi)
        new = np.where(left, hi - GOLDEN * (hi - lo), lo + GOLDEN * (hi - lo))
        fn = err(new)
        c, d, fc, fd = np.where(left, new, d), np.where(left, c, new), np.where(left, fn, fd), np.where(left, fc, fn)
    alpha = np.exp((lo + hi) / 2)
    e, b, sse = _solve(alpha, x, Y, w, e_max)
    return e, b * n0 ** alpha, alpha, sse


def fit_power_law(n, y, w=None):
    """{'E', 'A', 'alpha', 'rmse', 'at_bound'} of y = E + A * n^-alpha (weighted least squares,
    weights w; E in [0, min y], A >= 0, alpha in ALPHA_BOUNDS). at_bound: a parameter sits on its
    limit (the sizes do not pin the law down)."""
    y = np.asarray(y, float)
    e, a, alpha, _ = (float(v[0]) for v in fit_batch(n, y, w))
    at_bound = bool(np.isclose(e, 0, atol=1e-9) or np.isclose(e, y.min(), rtol=1e-6) or a <= 0
                    or np.isclose(alpha, ALPHA_BOUNDS[0]) or np.isclose(alpha, ALPHA_BOUNDS[1]))
    rmse = float(np.sqrt(np.mean((e + a * np.asarray(n, float) ** -alpha - y) ** 2)))
    return {'E': e, 'A': a, 'alpha': alpha, 'rmse': rmse, 'at_bound': at_bound}


def predict(fit, n):
    return fit['E'] + fit['A'] * np.asarray(n, float) ** -fit['alpha']


def cell_stats(cells):
    """(means, seeds per size, within-size sum of squares per size) of one experiment's cells (per-
    seed values)."""
    cells = [np.asarray(c, float) for c in cells]
    return (np.array([c.mean() for c in cells]), np.array([len(c) for c in cells], float),
            np.array([((c - c.mean()) ** 2).sum() for c in cells]))


def active_bounds(e, a, alpha, y_min):
    """Per fit (arrays): how many of the law's three parameters its bounds pin (E at 0 or at min y,
    alpha at ALPHA_BOUNDS; A at 0 pins A and leaves alpha without effect: two). A pinned parameter
    is not fitted, so the misfit has that many more degrees of freedom (lack_of_fit)."""
    e, a, alpha, y_min = (np.asarray(v, float) for v in (e, a, alpha, y_min))
    e_pinned = np.isclose(e, 0, atol=1e-9) | np.isclose(e, y_min, rtol=1e-6)
    alpha_pinned = np.isclose(alpha, ALPHA_BOUNDS[0]) | np.isclose(alpha, ALPHA_BOUNDS[1])
    return np.where(a <= 0, 2 + e_pinned, e_pinned.astype(int) + alpha_pinned)


def lack_of_fit(ss_misfit, ss_pure, n_sizes, n_runs, pinned=0):
    """(F, p) of the lack-of-fit test, elementwise over arrays: the sizes' misfit to the law
    (ss_misfit = sum over sizes of seeds * (mean - law)^2, df1 = sizes - 3 + pinned, `pinned` the
    parameters a bound holds, active_bounds) against the seeds' spread within the sizes (ss_pure,
    df2 = runs - sizes). If the law holds and the seed noise is normal with one sd sigma,
    ss_misfit / sigma^2 ~ chi2(df1) and ss_pure / sigma^2 ~ chi2(df2), independent (the means are
    independent of the within-size spread), so F = (ss_misfit / df1) / (ss_pure / df2) ~ F(df1,
    df2) and p = P(F(df1, df2) >= F) (exact for a law linear in its parameters, to first order for
    E + A N^-alpha; tests and bench/law_coverage.py check its rate). NaN where sizes - 3 or df2 is
    0 (three sizes, or one seed per size: nothing to test with) or ss_pure is 0 (no p from zero
    variance)."""
    d1, d2 = n_sizes - 3 + np.asarray(pinned), n_runs - n_sizes
    ss_misfit, ss_pure = np.asarray(ss_misfit, float), np.asarray(ss_pure, float)
    if n_sizes <= 3 or d2 < 1:
        return np.full(ss_misfit.shape, np.nan), np.full(ss_misfit.shape, np.nan)
    ok = ss_pure > 0
    f = np.where(ok, (ss_misfit / d1) / np.where(ok, ss_pure, 1) * d2, np.nan)
    return f, np.where(ok, st.f.sf(f, d1, d2), np.nan)


def fit_and_draws(ns, means, k, ss_pure, n_resamples, rngs):
    """The batched core of fit_with_bootstrap, one row per experiment: the fit (E, A, alpha, misfit
    sum of squares), the lack-of-fit (F, p), the seed variance around the law (within-size plus
    misfit, df = runs - 3) and (B, n_resamples, 3) bootstrap refits [E, A, alpha] on means redrawn
    from the fitted law with that noise (rank_stats.noisy_means, one generator per row); draws None
    when df = 0. ns (K,), means (B, K), k (K,) seeds per size, ss_pure (B,)."""
    ns, k = np.asarray(ns, float), np.asarray(k, float)
    means = np.atleast_2d(np.asarray(means, float))
    e, a, alpha, ss_misfit = fit_batch(ns, means, k)
    n_runs = int(k.sum())
    pinned = active_bounds(e, a, alpha, means.min(1) * (1 - 1e-9))
    f, p = lack_of_fit(ss_misfit, ss_pure, len(ns), n_runs, pinned)
    df = n_runs - 3
    s2 = (np.asarray(ss_pure, float) + ss_misfit) / df if df > 0 else None
    out = {'E': e, 'A': a, 'alpha': alpha, 'ss_misfit': ss_misfit, 'pinned': pinned, 'F': f,
           'p': p, 'df': df, 's2': s2, 'draws': None}
    if df > 0 and n_resamples > 0:
        fitted = e[:, None] + a[:, None] * ns ** -alpha[:, None]
        drawn = np.concatenate([noisy_means(fitted[i], k, s2[i], df, n_resamples, rng)
                                for i, rng in enumerate(rngs)])
        out['draws'] = np.stack(fit_batch(ns, drawn, k)[:3], 1).reshape(len(means), n_resamples, 3)
    return out


def interval_at(draws, n, level=0.95):
    """(lo, hi), each (B,): the percentile interval of the law's value at size n over bootstrap
    draws (B, R, 3)."""
    v = draws[..., 0] + draws[..., 1] * float(n) ** -draws[..., 2]
    lo, hi = np.percentile(v, [50 * (1 - level), 50 * (1 + level)], axis=-1)
    return lo, hi


def widened_interval(draws, tail_draws, n, level=0.95):
    """(lo, hi), each (B,): the interval at n printed beyond the sizes: the union of the law's
    bootstrap interval (all sizes) and that of the same law refitted on the largest TAIL_SIZES sizes
    alone (tail_draws; None: the law's alone). Why: a bend whose misfit hides in the seed noise
    passes the lack-of-fit test but moves the extrapolation; the largest sizes carry the exponent
    nearest the target (bench/law_coverage.py: under alpha 0.3 -> 0.15 above 300M the test rejected
    or the law's interval alone covered 76-77% at 7e9 in the worst cases, with the union >= 91%)."""
    lo, hi = interval_at(draws, n, level)
    if tail_draws is None:
        return lo, hi
    lo2, hi2 = interval_at(tail_draws, n, level)
    return np.minimum(lo, lo2), np.maximum(hi, hi2)


def law_test(ss_misfit, ss_pure, n_sizes, n_runs, pinned=0, level=LOF_LEVEL):
    """The lack-of-fit test of one fit as a dict: {'testable': False, 'why'} when it cannot be run
    (three sizes, one seed per size, or seeds that agree exactly), else {'testable': True, 'F',
    'df1', 'df2', 'p', 'rejected': p < level, 'level', 'pinned' (parameters held by a bound)}."""
    if n_sizes <= 3:
        return {'testable': False, 'why': f"{n_sizes} sizes: the law has three parameters, so no "
                                           f"degree of freedom is left to test it"}
    if n_runs <= n_sizes:
        return {'testable': False,
                'why': 'one seed per size: no within-size spread to test the misfit against'}
    if ss_pure <= 0:
        return {'testable': False, 'why': 'the seeds agree exactly within every size (zero '
                                          'spread): no p-value from zero variance'}
    f, p = (float(v) for v in lack_of_fit(ss_misfit, ss_pure, n_sizes, n_runs, pinned))
    return {'testable': True, 'F': f, 'df1': n_sizes - 3 + int(pinned), 'df2': n_runs - n_sizes,
            'p': p, 'rejected': bool(p < level), 'level': level, 'pinned': int(pinned)}


def fit_with_bootstrap(ns, cells, n_resamples=500, seed=1337, level=0.95, tail=True):
    """The fit on the per-size means of `cells` (one array of per-seed values per size, at sizes
    `ns`; weights = seeds), its lack-of-fit test (`lack_of_fit`, law_test), `residuals` (mean - law
    per size), `seed_sd` (the pooled within-size sd; None with one seed per size) and its parametric
    bootstrap: `sigma` (the seed std around the law, from every run: within-size spread plus the
    sizes' misfit, `df` = runs - 3 degrees of freedom), `draws` (n_resamples x [E, A, alpha]: refits
    on per-size means redrawn from the fitted law with that noise, rank_stats.noisy_means) and
    percentile intervals E_ci, A_ci, alpha_ci, valid if the law holds; no draws and null intervals
    when df = 0 (one run per size, three sizes: no noise to estimate). With `tail` (and more than
    TAIL_SIZES sizes) also `tail` and `tail_draws`: the same on the largest TAIL_SIZES sizes alone,
    which extrapolate's printed interval holds too."""
    ns = np.asarray(ns, float)
    means, k, ss_size = cell_stats(cells)
    ss_pure = float(ss_size.sum())
    fit = fit_power_law(ns, means, k)
    # the stream also depends on the data, so that two tokenizers fitted with one seed do not draw
    # the same noise
    # (their draws would move in lockstep and p_best would always crown the same tokenizer)
    data = np.concatenate([ns] + [np.asarray(c, float) for c in cells])
    rng = np.random.default_rng([seed, zlib.crc32(data.tobytes())])
    core = fit_and_draws(ns, means[None], k, np.array([ss_pure]), n_resamples, [rng])
    n_runs, df = int(k.sum()), core['df']
    out = {**fit, 'n_sizes': len(ns), 'n_max': float(ns.max()), 'dof': len(ns) - 3, 'df': df,
           'sigma': float(np.sqrt(core['s2'][0])) if df > 0 else None,
           'seed_sd': float(np.sqrt(ss_pure / (n_runs - len(ns)))) if n_runs > len(ns) else None,
           'residuals': (means - predict(fit, ns)).tolist(),
           'lack_of_fit': law_test(float(core['ss_misfit'][0]), ss_pure, len(ns), n_runs,
                                   int(core['pinned'][0])),
           'tail': None, 'tail_draws': None}
    if tail and len(ns) > TAIL_SIZES:
        tail = fit_and_draws(ns[-TAIL_SIZES:], means[None, -TAIL_SIZES:], k[-TAIL_SIZES:],
                             np.array([ss_size[-TAIL_SIZES:].sum()]), n_resamples, [rng])
        out['tail'] = {'n_sizes': TAIL_SIZES, 'E': float(tail['E'][0]), 'A': float(tail['A'][0]),
                       'alpha': float(tail['alpha'][0])}
        out['tail_draws'] = None if tail['draws'] is None else tail['draws'][0]
    if core['draws'] is None:
        return {**out, 'E_ci': None, 'A_ci': None, 'alpha_ci': None, 'draws': None}
    draws = core['draws'][0]
    q = [50 * (1 - level), 50 * (1 + level)]
    for i, name in enumerate(('E', 'A', 'alpha')):
        out[f'{name}_ci'] = np.percentile(draws[:, i], q).tolist()
    return {**out, 'draws': draws}


def withheld(fit):
    """Why the fit's law must not be extrapolated (None when it may): untested (three sizes, one
    seed per size, no spread) or rejected by the lack-of-fit test. A "95%" interval beyond the sizes
    holds only if the law holds."""
    lof = fit['lack_of_fit']
    if not lof['testable']:
        return f"the law cannot be tested: {lof['why']}"
    if lof['rejected']:
        return (f"the law does not fit these sizes (lack of fit F = {lof['F']:.2f} on {lof['df1']} "
                f"and {lof['df2']} df, p = {lof['p']:.3g} < {lof['level']})")
    return None


def extrapolate(fits, n_params, level=0.95):
    """Per target size: each tokenizer's predicted bpb (the fit's) with law_lo/law_hi, the
    bootstrap's percentile interval (95% if the law holds), and lo/hi, the interval printed: beyond
    the largest size fitted, widened to hold the law refitted on the largest sizes too
    (widened_interval); the implied ranking (lowest first) and p_best, the share of bootstrap draws
    in which the tokenizer predicts lowest if the law holds (each tokenizer's draws independent). A
    tokenizer whose law is withheld (`withheld`: untested or rejected) gets null numbers and its
    reason under 'withheld'; the ranking and p_best are then null (a ranking without it would rank
    other tokenizers than the study's). A fit without draws (df = 0) has null intervals and p_best.
    """
    toks = list(fits)
    why = {t: withheld(fits[t]) for t in toks}
    out = []
    for n in n_params:
        bpb = {t: {'mean': None, 'lo': None, 'hi': None, 'law_lo': None, 'law_hi': None,
                   'withheld': why[t]} for t in toks}
        point = {t: float(predict(fits[t], n)) for t in toks if not why[t]}
        for t, v in point.items():
            bpb[t]['mean'] = v
        drawn = {t: predict(dict(zip(('E', 'A', 'alpha'), fits[t]['draws'].T)), n)
                 for t in point if fits[t]['draws'] is not None}
        for t in drawn:
            f = fits[t]
            law = interval_at(f['draws'][None], n, level)
            bpb[t]['law_lo'], bpb[t]['law_hi'] = float(law[0][0]), float(law[1][0])
            tail = f.get('tail_draws') if n > f['n_max'] else None
            bpb[t]['lo'], bpb[t]['hi'] = (float(v[0]) for v in widened_interval(
                f['draws'][None], None if tail is None else tail[None], n, level))
        ranking, p_best = None, None
        if len(point) == len(toks):
            ranking = sorted(toks, key=point.get)
        if len(drawn) == len(toks) and len({len(d) for d in drawn.values()}) == 1:
            wins = np.bincount(np.stack(list(drawn.values()), axis=1).argmin(1), minlength=len(toks))
            p_best = {t: float(w) / len(drawn[t]) for t, w in zip(toks, wins)}
        out.append({'n_params': float(n), 'bpb': bpb, 'ranking': ranking, 'p_best': p_best})
    return out


def agreement(predicted, actual):
    """Spearman rho and decision accuracy of one ranking against another (both per tokenizer, same
    order)."""
    return {'spearman': float(spearman(predicted, actual)),
            'decision_accuracy': float(decision_accuracy(predicted, actual))}


def backtest(ns, means):
    """Fit the law the study extrapolates with (E + A N^-alpha) on every size but the largest,
    predict the largest, and compare that ranking with the plain ranking of the largest size fitted
    (the best the fit had without a law; `better` says which agrees more with the largest size by
    decision accuracy) and of the smallest. ns: sizes (ascending); means: {tokenizer: per-size
    means}. None below BACKTEST_SIZES sizes: three parameters on two sizes would be another law (E =
    0), not the one extrapolated."""
    ns = np.asarray(ns, float)
    if len(ns) < BACKTEST_SIZES:
        return None
    toks = list(means)
    m = np.array([means[t] for t in toks], float)  # (tokenizers, sizes)
    pred = np.array([float(predict(fit_power_law(ns[:-1], row[:-1]), ns[-1])) for row in m])
    actual = m[:, -1]
    out = {'law': 'E + A N^-alpha', 'fitted_on': len(ns) - 1, 'predicted': dict(zip(toks, pred.tolist())),
           'actual': dict(zip(toks, actual.tolist())), 'fit': agreement(pred, actual),
           'smallest': agreement(m[:, 0], actual), 'largest_fitted': agreement(m[:, -2], actual),
           'mean_abs_error': float(np.abs(pred - actual).mean())}
    f, s = out['fit']['decision_accuracy'], out['largest_fitted']['decision_accuracy']
    out['better'] = 'fit' if f > s else 'largest size fitted' if s > f else 'tie'
    return out
