"""
Scaling fits of the scale study: bpb = E + A * N^-alpha per tokenizer (N = non-embedding parameters, or train FLOPs),
with scipy.optimize.least_squares, intervals from a bootstrap over seeds, extrapolation to larger sizes (predicted
bpb, the implied ranking, the probability that each tokenizer is best there) and a backtest (fit without the largest
size, predict it, and compare the fit's ranking with the plain ranking of a smaller size).

A fit of three parameters needs three sizes; with exactly three it interpolates them (no degree of freedom is left
to test the law), so its intervals show seed noise only, not whether the law holds.
"""
import numpy as np
from scipy.optimize import least_squares

from uniscale.rank_stats import decision_accuracy, spearman

MIN_SIZES = 3                # a three-parameter law needs at least three sizes
ALPHA_BOUNDS = (1e-3, 3.0)   # exponents outside this are not a power law of model size
START_ALPHAS = np.geomspace(0.02, 2.0, 25)   # starting exponents; E and A follow from each by linear least squares


def _start(x, y):
    """(E, log B, alpha) with the smallest squared error over START_ALPHAS, E and B solved linearly, E in [0, min y]."""
    best = None
    for alpha in START_ALPHAS:
        basis = np.stack([np.ones_like(x), np.exp(-alpha * x)], axis=1)
        (e, b), *_ = np.linalg.lstsq(basis, y, rcond=None)
        e = float(np.clip(e, 0.0, y.min() * (1 - 1e-9)))
        b = max(float(np.mean((y - e) * np.exp(alpha * x))), 1e-12)
        err = float(((e + b * np.exp(-alpha * x) - y) ** 2).sum())
        if best is None or err < best[0]:
            best = (err, (e, np.log(b), alpha))
    return best[1]


def fit_power_law(n, y, start=None):
    """{'E', 'A', 'alpha', 'rmse', 'at_bound'} of y = E + A * n^-alpha (least squares; E in [0, min y], alpha in
    ALPHA_BOUNDS). n is rescaled by its geometric mean inside, so A's size does not upset the solver."""
    n, y = np.asarray(n, float), np.asarray(y, float)
    n0 = float(np.exp(np.log(n).mean()))
    x = np.log(n / n0)
    lo, hi = [0.0, -np.inf, ALPHA_BOUNDS[0]], [max(y.min() * (1 - 1e-9), 1e-12), np.inf, ALPHA_BOUNDS[1]]
    p0 = np.clip(start if start is not None else _start(x, y), np.array(lo) + 1e-12, np.array(hi) - 1e-12)
    def residuals(p):
        return p[0] + np.exp(p[1] - p[2] * x) - y

    def jacobian(p):
        g = np.exp(p[1] - p[2] * x)
        return np.stack([np.ones_like(x), g, -x * g], axis=1)
    res = least_squares(residuals, p0, jac=jacobian, bounds=(lo, hi), method='trf', x_scale='jac',
                        xtol=1e-12, ftol=1e-12, gtol=1e-12)
    e, log_b, alpha = res.x
    at_bound = bool(np.isclose(e, lo[0], atol=1e-9) or np.isclose(e, hi[0], rtol=1e-6)
                    or np.isclose(alpha, lo[2]) or np.isclose(alpha, hi[2]))
    return {'E': float(e), 'A': float(np.exp(log_b) * n0 ** alpha), 'alpha': float(alpha),
            'rmse': float(np.sqrt(np.mean(res.fun ** 2))), 'at_bound': at_bound, '_p': res.x, '_n0': n0}


def predict(fit, n):
    return fit['E'] + fit['A'] * np.asarray(n, float) ** -fit['alpha']


def fit_pure_power_law(n, y):
    """{'E': 0, 'A', 'alpha'} of y = A * n^-alpha (a line in log-log): the law two sizes can pin down."""
    slope, intercept = np.polyfit(np.log(np.asarray(n, float)), np.log(np.asarray(y, float)), 1)
    return {'E': 0.0, 'A': float(np.exp(intercept)), 'alpha': float(-slope)}


def _resample(cells, rng):
    """Each size's seeds resampled with replacement, then averaged (the bootstrap over seeds)."""
    return np.array([c[rng.integers(0, len(c), len(c))].mean() for c in cells])


def fit_with_bootstrap(ns, cells, n_resamples=500, seed=1337, level=0.95):
    """The fit on the per-size means of `cells` (one array of per-seed values per size, at sizes `ns`), and
    n_resamples refits on seeds resampled within each size: `draws` (n_resamples x [E, A, alpha]) and percentile
    intervals E_ci, A_ci, alpha_ci."""
    ns = np.asarray(ns, float)
    cells = [np.asarray(c, float) for c in cells]
    fit = fit_power_law(ns, [c.mean() for c in cells])
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_resamples):
        f = fit_power_law(ns, _resample(cells, rng), start=fit['_p'])
        draws.append((f['E'], f['A'], f['alpha']))
    draws = np.array(draws).reshape(-1, 3)
    q = [50 * (1 - level), 50 * (1 + level)]
    out = {k: fit[k] for k in ('E', 'A', 'alpha', 'rmse', 'at_bound')}
    for i, k in enumerate(('E', 'A', 'alpha')):
        out[f'{k}_ci'] = np.percentile(draws[:, i], q).tolist() if len(draws) else [fit[k], fit[k]]
    out.update(n_sizes=len(ns), dof=len(ns) - 3, draws=draws)
    return out


def extrapolate(fits, n_params, level=0.95):
    """Per target size: each tokenizer's predicted bpb (the fit's, with the bootstrap's percentile interval), the
    implied ranking (lowest first) and p_best, the share of bootstrap draws in which the tokenizer predicts lowest."""
    toks = list(fits)
    q = [50 * (1 - level), 50 * (1 + level)]
    out = []
    for n in n_params:
        point = {t: float(predict(fits[t], n)) for t in toks}
        draws = np.stack([fits[t]['draws'][:, 0] + fits[t]['draws'][:, 1] * float(n) ** -fits[t]['draws'][:, 2]
                          for t in toks], axis=1)  # (n_resamples, n_tokenizers)
        bpb = {t: {'mean': point[t], **dict(zip(('lo', 'hi'), np.percentile(draws[:, i], q).tolist()))}
               for i, t in enumerate(toks)}
        wins = np.bincount(draws.argmin(1), minlength=len(toks)) / len(draws)
        out.append({'n_params': float(n), 'bpb': bpb, 'ranking': sorted(toks, key=point.get),
                    'p_best': {t: float(w) for t, w in zip(toks, wins)}})
    return out


def agreement(predicted, actual):
    """Spearman rho and decision accuracy of one ranking against another (both per tokenizer, same order)."""
    return {'spearman': float(spearman(predicted, actual)),
            'decision_accuracy': float(decision_accuracy(predicted, actual))}


def backtest(ns, means):
    """Fit on every size but the largest, predict the largest, and compare that ranking with the plain rankings of
    the smallest size and of the largest size fitted. ns: sizes (ascending); means: {tokenizer: per-size means}.
    Three or more sizes left: E + A N^-alpha; two: A N^-alpha (E = 0); fewer: None."""
    ns = np.asarray(ns, float)
    if len(ns) < 3:
        return None
    toks = list(means)
    m = np.array([means[t] for t in toks], float)  # (tokenizers, sizes)
    left = len(ns) - 1
    law = 'E + A N^-alpha' if left >= MIN_SIZES else 'A N^-alpha (E = 0: only two sizes left to fit)'
    fitter = fit_power_law if left >= MIN_SIZES else fit_pure_power_law
    pred = np.array([float(predict(fitter(ns[:-1], row[:-1]), ns[-1])) for row in m])
    actual = m[:, -1]
    out = {'law': law, 'fitted_on': left, 'predicted': dict(zip(toks, pred.tolist())),
           'actual': dict(zip(toks, actual.tolist())), 'fit': agreement(pred, actual),
           'smallest': agreement(m[:, 0], actual), 'largest_fitted': agreement(m[:, -2], actual),
           'mean_abs_error': float(np.abs(pred - actual).mean())}
    f, s = out['fit']['decision_accuracy'], out['smallest']['decision_accuracy']
    out['better'] = 'fit' if f > s else 'smallest size' if s > f else 'tie'
    return out
