"""
Scaling fits of the scale study: bpb = E + A * N^-alpha per tokenizer (N = non-embedding parameters, or train FLOPs),
with intervals from a parametric bootstrap of the seed noise, extrapolation to larger sizes (predicted bpb, its
interval, the implied ranking, the probability that each tokenizer is best there) and a backtest (fit the same law
without the largest size, predict it, and compare with the plain ranking of the largest size the fit used).

The fit: for each exponent alpha the law is linear in (E, A), so E and A are solved by weighted least squares
(weights = seeds per size; E in [0, min y], A >= 0) and alpha is found by a grid over ALPHA_BOUNDS refined by
golden-section search; vectorised, so that thousands of bootstrap refits take a second.

The intervals: the seed variance is estimated from every run around the fitted law (the seeds' spread within each
size plus the sizes' misfit, df = runs - 3), new per-size means are drawn from the fitted law with that noise
(rank_stats.noisy_means: normal, its variance chi-square-scaled for df), refitted, and the percentiles of the refits
are the interval. tests/test_scale_honesty.py checks that they cover the truth >= 90% of the time at a nominal 95%.
With exactly three sizes a three-parameter law interpolates them (no degree of freedom is left to test the law): its
interval then shows seed noise only, not whether the law holds.
"""
import zlib

import numpy as np

from uniscale.rank_stats import decision_accuracy, noisy_means, spearman

MIN_SIZES = 3                # a three-parameter law needs at least three sizes
BACKTEST_SIZES = 4           # the backtest refits the same law without the largest size: 3 sizes left
ALPHA_BOUNDS = (1e-3, 3.0)   # exponents outside this are not a power law of model size
GRID = np.geomspace(*ALPHA_BOUNDS, 64)   # the exponent's coarse search; golden-section refines within two steps
GOLDEN = (np.sqrt(5) - 1) / 2


def _solve(alpha, x, Y, w, e_max):
    """Per row of Y (B, K): the weighted least-squares (E, B) of Y = E + B exp(-alpha x) with E in [0, e_max] and
    B >= 0, and its weighted squared error. Unconstrained first; where that leaves the box, the best of the box's
    three faces (E = 0, E = e_max, B = 0), each a one-dimensional least squares (the error is a convex quadratic)."""
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
    """(E, A, alpha, weighted squared error), each of shape (B,), of y = E + A n^-alpha fitted to every row of Y
    (B, K) at the K sizes n; w: weights per size (seeds). n is rescaled by its geometric mean inside."""
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
    """{'E', 'A', 'alpha', 'rmse', 'at_bound'} of y = E + A * n^-alpha (weighted least squares, weights w; E in
    [0, min y], A >= 0, alpha in ALPHA_BOUNDS). at_bound: a parameter sits on its limit (the sizes do not pin the
    law down)."""
    y = np.asarray(y, float)
    e, a, alpha, _ = (float(v[0]) for v in fit_batch(n, y, w))
    at_bound = bool(np.isclose(e, 0, atol=1e-9) or np.isclose(e, y.min(), rtol=1e-6) or a <= 0
                    or np.isclose(alpha, ALPHA_BOUNDS[0]) or np.isclose(alpha, ALPHA_BOUNDS[1]))
    rmse = float(np.sqrt(np.mean((e + a * np.asarray(n, float) ** -alpha - y) ** 2)))
    return {'E': e, 'A': a, 'alpha': alpha, 'rmse': rmse, 'at_bound': at_bound}


def predict(fit, n):
    return fit['E'] + fit['A'] * np.asarray(n, float) ** -fit['alpha']


def fit_with_bootstrap(ns, cells, n_resamples=500, seed=1337, level=0.95):
    """The fit on the per-size means of `cells` (one array of per-seed values per size, at sizes `ns`; weights = seeds)
    and its parametric bootstrap: `sigma` (the seed std around the law, from every run: within-size spread plus the
    sizes' misfit, `df` = runs - 3 degrees of freedom), `draws` (n_resamples x [E, A, alpha]: refits on per-size
    means redrawn from the fitted law with that noise, rank_stats.noisy_means) and percentile intervals E_ci, A_ci,
    alpha_ci; no draws and null intervals when df = 0 (one run per size, three sizes: no noise to estimate)."""
    ns = np.asarray(ns, float)
    cells = [np.asarray(c, float) for c in cells]
    k = np.array([len(c) for c in cells], float)
    means = np.array([c.mean() for c in cells])
    fit = fit_power_law(ns, means, k)
    fitted = predict(fit, ns)
    df = int(k.sum()) - 3
    sse = sum(((c - c.mean()) ** 2).sum() for c in cells) + float((k * (means - fitted) ** 2).sum())
    out = {**fit, 'n_sizes': len(ns), 'dof': len(ns) - 3, 'df': df,
           'sigma': float(np.sqrt(sse / df)) if df > 0 else None}
    if df <= 0 or n_resamples < 1:
        return {**out, 'E_ci': None, 'A_ci': None, 'alpha_ci': None, 'draws': None}
    # the stream also depends on the data, so that two tokenizers fitted with one seed do not draw the same noise
    # (their draws would move in lockstep and p_best would always crown the same tokenizer)
    rng = np.random.default_rng([seed, zlib.crc32(np.concatenate([ns] + cells).tobytes())])
    means_drawn = noisy_means(fitted, k, sse / df, df, n_resamples, rng)
    draws = np.stack(fit_batch(ns, means_drawn, k)[:3], axis=1)
    q = [50 * (1 - level), 50 * (1 + level)]
    for i, name in enumerate(('E', 'A', 'alpha')):
        out[f'{name}_ci'] = np.percentile(draws[:, i], q).tolist()
    return {**out, 'draws': draws}


def extrapolate(fits, n_params, level=0.95):
    """Per target size: each tokenizer's predicted bpb (the fit's, with the bootstrap's percentile interval), the
    implied ranking (lowest first) and p_best, the share of bootstrap draws in which the tokenizer predicts lowest
    (each tokenizer's draws independent). A fit without draws (df = 0) has null lo/hi, and p_best is then null."""
    toks = list(fits)
    q = [50 * (1 - level), 50 * (1 + level)]
    out = []
    for n in n_params:
        point = {t: float(predict(fits[t], n)) for t in toks}
        bpb = {t: {'mean': point[t], 'lo': None, 'hi': None} for t in toks}
        drawn = {t: fits[t]['draws'][:, 0] + fits[t]['draws'][:, 1] * float(n) ** -fits[t]['draws'][:, 2]
                 for t in toks if fits[t]['draws'] is not None}
        for t, d in drawn.items():
            bpb[t]['lo'], bpb[t]['hi'] = np.percentile(d, q).tolist()
        p_best = None
        if len(drawn) == len(toks) and len({len(d) for d in drawn.values()}) == 1:
            wins = np.bincount(np.stack(list(drawn.values()), axis=1).argmin(1), minlength=len(toks))
            p_best = {t: float(w) / len(drawn[t]) for t, w in zip(toks, wins)}
        out.append({'n_params': float(n), 'bpb': bpb, 'ranking': sorted(toks, key=point.get), 'p_best': p_best})
    return out


def agreement(predicted, actual):
    """Spearman rho and decision accuracy of one ranking against another (both per tokenizer, same order)."""
    return {'spearman': float(spearman(predicted, actual)),
            'decision_accuracy': float(decision_accuracy(predicted, actual))}


def backtest(ns, means):
    """Fit the law the study extrapolates with (E + A N^-alpha) on every size but the largest, predict the largest,
    and compare that ranking with the plain ranking of the largest size fitted (the best the fit had without a law;
    `better` says which agrees more with the largest size by decision accuracy) and of the smallest. ns: sizes
    (ascending); means: {tokenizer: per-size means}. None below BACKTEST_SIZES sizes: three parameters on two sizes
    would be another law (E = 0), not the one extrapolated."""
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
