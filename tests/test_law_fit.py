"""Issue 29, deliverable 2 and row 7: the scaling law's lack-of-fit test against scipy, its error
rates by seeded Monte Carlo (200 experiments; the 1,000-experiment figures are
bench/law_coverage.py's), and the report and plot that extrapolate only a law that was tested and
not rejected."""
import importlib.util
import os
import re
import zlib

import numpy as np
import pytest
import scipy.stats as st
from scipy.optimize import curve_fit

from test_correlate import run_scale, write_run
from uniscale import power_law, scale_report

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location('law_coverage',
                                               os.path.join(ROOT, 'bench', 'law_coverage.py'))
LC = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(LC)

NS5 = np.array([5e7, 1e8, 3e8, 1e9, 3e9])
# preset names are labels here: each run's n_params is given apart
PRESETS = ['apertus-tiny', 'apertus-50M', 'apertus-300M', 'apertus-1B', 'apertus-3B']


def law(n, e=0.7, a=60.0, alpha=0.3):
    return e + a * np.asarray(n, float) ** -alpha


def bent(n, e=0.7, a=60.0):
    """alpha 0.3 up to 300M, 0.15 beyond (continuous): bench/law_coverage.py's bent law."""
    n = np.asarray(n, float)
    return np.where(n <= 3e8, law(n, e, a), e + a * 3e8 ** -0.3 * (n / 3e8) ** -0.15)


@pytest.mark.filterwarnings('ignore::scipy.optimize.OptimizeWarning')
@pytest.mark.parametrize('k,seeds', [(4, [3, 3, 3, 3]), (5, [3, 2, 3, 4, 3])])
def test_the_lack_of_fit_test_equals_a_by_hand_f_test_on_scipy_s_fit(k, seeds):
    rng = np.random.default_rng(k)
    ns = NS5[:k]
    cells = [bent(n) + rng.normal(0, 0.004, s) for n, s in zip(ns, seeds)]
    f = power_law.fit_with_bootstrap(ns, cells, n_resamples=10)
    w, means = np.array(seeds, float), np.array([c.mean() for c in cells])
    (e, a, alpha), _ = curve_fit(lambda n, e, a, al: e + a * n ** -al, ns, means,
                                 p0=[0.7, 60.0, 0.3],
                                 sigma=1 / np.sqrt(w), maxfev=20_000)
    misfit = float((w * (means - (e + a * ns ** -alpha)) ** 2).sum())
    pure = sum(((c - c.mean()) ** 2).sum() for c in cells)
    df1, df2 = k - 3, int(w.sum()) - k
    F = (misfit / df1) / (pure / df2)
    lof = f['lack_of_fit']
    assert lof['testable'] and (lof['df1'], lof['df2']) == (df1, df2)
    assert lof['F'] == pytest.approx(F, rel=1e-5)
    assert lof['p'] == pytest.approx(st.f.sf(F, df1, df2), rel=1e-5)
    assert lof['rejected'] == (lof['p'] < 0.05)
    assert f['residuals'] == pytest.approx(means - (e + a * ns ** -alpha), abs=1e-7)
    assert f['seed_sd'] == pytest.approx(np.sqrt(pure / df2), rel=1e-12)


@pytest.mark.filterwarnings('ignore::scipy.optimize.OptimizeWarning')
def test_a_parameter_held_by_its_bound_leaves_the_misfit_one_more_degree_of_freedom():
    # a law with E = 0 (its bound): seeds 0 and 1 of the noise pin the fit's E at 0, so the fitted
    # law is the two-parameter A N^-alpha (scipy's fit of it) and its misfit has sizes - 2 df;
    # counted as sizes - 3, a true law was rejected 9-13% of the time (bench/law_coverage.py)
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        cells = [60 * n ** -0.3 + rng.normal(0, 0.004, 3) for n in NS5]
        f = power_law.fit_with_bootstrap(NS5, cells, n_resamples=10)
        means = np.array([c.mean() for c in cells])
        (a, alpha), _ = curve_fit(lambda n, a, al: a * n ** -al, NS5, means, p0=[60.0, 0.3],
                                  sigma=np.ones(5) / np.sqrt(3), maxfev=20_000)
        misfit = 3 * float(((means - a * NS5 ** -alpha) ** 2).sum())
        pure = sum(((c - c.mean()) ** 2).sum() for c in cells)
        F = (misfit / 3) / (pure / 10)
        lof = f['lack_of_fit']
        assert f['E'] == 0 and lof['pinned'] == 1 and (lof['df1'], lof['df2']) == (3, 10)
        assert lof['F'] == pytest.approx(F, rel=1e-5)
        assert lof['p'] == pytest.approx(st.f.sf(F, 3, 10), rel=1e-5)


def test_the_test_cannot_run_with_three_sizes_one_seed_or_no_spread():
    three = power_law.fit_with_bootstrap(NS5[:3], [law(n) + [0, 0.01] for n in NS5[:3]], 10)
    assert not three['lack_of_fit']['testable']
    one = power_law.fit_with_bootstrap(NS5, [[law(n)] for n in NS5], 10)['lack_of_fit']
    assert 'one seed' in one['why']
    flat = power_law.fit_with_bootstrap(NS5[:4], [law(n) + np.zeros(2) for n in NS5[:4]], 10)
    flat = flat['lack_of_fit']
    assert not flat['testable'] and 'zero' in flat['why']  # no p-value from zero variance


def test_the_batched_core_is_what_fit_with_bootstrap_and_extrapolate_run():
    """bench/law_coverage.py and the Monte Carlo test below call power_law's batched core
    (fit_and_draws, widened_interval) on many experiments at once; the report calls
    fit_with_bootstrap and extrapolate. Same numbers from the same generator (float64; matrix
    products of another batch size may differ in the last bits)."""
    rng = np.random.default_rng(7)
    cells = [[bent(n) + rng.normal(0, 0.005, 3) for n in NS5] for _ in range(3)]
    for i, c in enumerate(cells):
        f = power_law.fit_with_bootstrap(NS5, c, 50, seed=i)
        (x,) = power_law.extrapolate({'t': f}, [7e9])
        means, k, ss = power_law.cell_stats(c)
        gen = np.random.default_rng([i, zlib.crc32(np.concatenate([NS5] + c).tobytes())])
        core = power_law.fit_and_draws(NS5, means[None], k, ss.sum()[None], 50, [gen])
        tail = power_law.fit_and_draws(NS5[2:], means[None, 2:], k[2:], ss[2:].sum()[None], 50,
                                       [gen])
        lo, hi = power_law.widened_interval(core['draws'], tail['draws'], 7e9)
        assert core['p'][0] == pytest.approx(f['lack_of_fit']['p'], rel=1e-9, abs=1e-12)
        if not f['lack_of_fit']['rejected']:
            b = x['bpb']['t']
            assert b['lo'] == pytest.approx(lo[0], rel=1e-9)
            assert b['hi'] == pytest.approx(hi[0], rel=1e-9)


def test_a_bent_law_is_rejected_or_covered_and_a_true_law_is_rarely_rejected():
    """200 seeded experiments, 50 bootstrap refits each: 5 sizes 50M-3B, 3 seeds of sd 0.005, a
    case of bench/law_coverage.py where the old report fails (1,000 experiments: bent law rejected
    or covered 0.985, by the law's own interval alone 0.772; true law rejected 0.049). Bounds: the
    goal (>= 80%) for the bent law; for the true law 5% + 2 Monte Carlo standard errors of 100
    experiments (0.094), and its printed interval covering >= 90%."""
    rng = np.random.default_rng(0)
    b = LC.experiments(NS5, bent, 0.005, 100, 50, rng)
    assert np.mean(b['rejected'] | b['covered']) >= 0.80, {k: v.mean() for k, v in b.items()}
    # the case is hard: the law's own interval (the old report) fails it
    assert np.mean(b['rejected'] | b['law_covered']) < 0.80
    t = LC.experiments(NS5, law, 0.005, 100, 50, rng)
    assert t['rejected'].mean() <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 100), t['rejected'].mean()
    assert t['covered'].mean() >= 0.90, t['covered'].mean()


def grid(runs, truth, ns, sd, seed=0, toks=('bpe-2k', 'bpe-4k', 'unigram-2k')):
    rng = np.random.default_rng(seed)
    for preset, n in zip(PRESETS, ns):
        for i, tok in enumerate(toks):
            for s in (1, 2, 3):
                bpb = float(truth(n)) + 0.05 * i + rng.normal(0, sd)
                write_run(runs, tok, preset, s, bpb, n_params=n)


def fits_section(out):
    text = open(os.path.join(out, 'report.md')).read()
    return text.split('## Scaling fits')[1].split('\n## ')[0]


def test_a_rejected_law_extrapolates_nothing_and_the_report_says_it_does_not_fit(tmp_path):
    grid(tmp_path / 'runs', bent, NS5[:4], 0.001)  # a bend far above the seed noise
    out, s = run_scale(tmp_path, extrapolate_to=[7e9], weighting='bytes')
    assert all(f['lack_of_fit']['rejected'] for f in s['fits'].values())
    (x,) = s['extrapolation']
    assert x['ranking'] is None and x['p_best'] is None
    assert all(b['mean'] is None and 'does not fit these sizes' in b['withheld']
               for b in x['bpb'].values())
    section = fits_section(out)
    assert 'the law does not fit these sizes' in section and 'No implied ranking' in section
    assert '**rejected**' in section
    assert not re.search(r'\| 0\.\d{4} \| \[', section.split('Extrapolated')[1])  # no bpb
    assert '**The law does not fit the sizes of bpe-2k, bpe-4k, unigram-2k**' in section
    # the backtest's error against the seed sd pooled by hand (equal seeds per cell), se = sd /
    # sqrt(3)
    bt = s['backtest']
    sd = np.sqrt(np.mean([c['std'] ** 2 for c in s['cells']]))
    assert bt['seed_sd'] == pytest.approx(sd, rel=1e-9)
    assert bt['largest_se'] == pytest.approx(sd / np.sqrt(3))
    ratio = bt['mean_abs_error'] / sd
    assert ratio > 1 and f"{ratio:.1f}× the seed sd" in section
    assert 'worse than one run varies' in section


def test_a_law_that_holds_extrapolates_with_intervals_that_say_if_the_law_holds(tmp_path):
    # noise with no false rejection (5% per law under a true law; seed 1 rejects one of the three at
    # p = 0.026)
    grid(tmp_path / 'runs', law, NS5[:4], 0.003, seed=2)
    out, s = run_scale(tmp_path, extrapolate_to=[7e9], weighting='bytes')
    assert not any(f['lack_of_fit']['rejected'] for f in s['fits'].values())
    (x,) = s['extrapolation']
    assert x['ranking'] == ['bpe-2k', 'bpe-4k', 'unigram-2k']
    for b in x['bpb'].values():  # the printed interval holds the law's own
        assert b['lo'] <= b['law_lo'] <= b['mean'] <= b['law_hi'] <= b['hi']
    section = fits_section(out)
    assert section.count('95%') >= 3
    # every "95%" reads "if the law holds"
    said = re.findall(r'95%(?: CI)?(?: if the law holds)?', section)
    assert len(said) >= 5 and all(x.endswith('if the law holds') for x in said), said


def test_three_sizes_test_nothing_extrapolate_nothing_and_say_what_the_fit_misses(tmp_path):
    # bpb falling faster with log N (accelerating): E + A N^-alpha hits E = 0 and misses the means
    # by ~0.02
    grid(tmp_path / 'runs', lambda n: 1.2 - 0.04 * np.log(n / 5e7) ** 2, NS5[:3], 0.002)
    out, s = run_scale(tmp_path, extrapolate_to=[7e9], weighting='bytes')
    assert s['extrapolation'] == []
    assert all(not f['lack_of_fit']['testable'] for f in s['fits'].values())
    assert all(f['at_bound'] and max(map(abs, f['residuals'])) > 0.005 for f in s['fits'].values())
    section = fits_section(out)
    # the old claim (issue 29, row 7)
    assert "passes through every size's mean" not in s['fits_note'] + section
    assert '3 sizes: the law cannot be tested.' in section and 'Extrapolated' not in section
    worst = max(max(map(abs, f['residuals'])) for f in s['fits'].values())
    assert f"misses their means by up to {worst:.4f}" in section


def plotted(s, monkeypatch, tmp_path):
    """The axes of bpb_vs_params.png as drawn (save_figure replaced by one that keeps the figure).
    """
    figs = []
    monkeypatch.setattr(scale_report, 'save_figure', lambda fig, path: figs.append(fig) or path)
    scale_report.scale_plots(s, str(tmp_path))
    return next(f.axes[0] for f in figs if 'parameters' in f.axes[0].get_xlabel())


@pytest.mark.parametrize('k', [3, 4])
def test_the_plot_draws_the_law_solid_over_the_sizes_and_dashed_with_a_band_only_from_four(
        k, tmp_path, monkeypatch):
    grid(tmp_path / 'runs', law, NS5[:k], 0.003, seed=2)  # no false rejection at 4 sizes
    _, s = run_scale(tmp_path, extrapolate_to=[7e9], weighting='bytes')
    ax = plotted(s, monkeypatch, tmp_path)
    curves = [ln for ln in ax.lines if len(ln.get_xdata()) > 10]
    solid = [ln for ln in curves if ln.get_linestyle() == '-']
    dashed = [ln for ln in curves if ln.get_linestyle() == '--']
    assert len(solid) == 3 and all(max(ln.get_xdata()) == pytest.approx(NS5[k - 1]) for ln in solid)
    if k == 3:
        assert not dashed and not ax.collections[3:]  # only the error bars' collections, no band
        assert '95%' not in ax.get_title()
        assert max(max(ln.get_xdata()) for ln in ax.lines) == pytest.approx(NS5[2])
    else:
        assert len(dashed) == 3 and all(max(ln.get_xdata()) == pytest.approx(7e9) for ln in dashed)
        bands = [c for c in ax.collections
                 if type(c).__name__ in ('PolyCollection', 'FillBetweenPolyCollection')]
        assert len(bands) == 3 and '(95% if the law holds)' in ax.get_title()
