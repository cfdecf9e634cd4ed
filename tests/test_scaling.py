"""uniscale/power_law.py: the fit recovers E, A and alpha of a known power law (exactly without noise, within its interval
with noise), extrapolation ranks well-separated tokenizers with p_best near 1, and the backtest compares the fit's
ranking with a smaller size's plain ranking on cases whose answer is known."""
import numpy as np
import pytest

from uniscale import power_law

NS = np.array([1e6, 4e6, 1.6e7, 6.4e7, 2.56e8])


def law(n, e, a, alpha):
    return e + a * np.asarray(n, float) ** -alpha


@pytest.mark.parametrize('e,a,alpha', [(1.2, 30.0, 0.3), (0.5, 400.0, 0.5), (2.0, 5.0, 0.1)])
def test_fit_recovers_a_noise_free_law(e, a, alpha):
    f = power_law.fit_power_law(NS, law(NS, e, a, alpha))
    assert f['E'] == pytest.approx(e, rel=1e-5) and f['A'] == pytest.approx(a, rel=1e-4)
    assert f['alpha'] == pytest.approx(alpha, rel=1e-5) and not f['at_bound']


def test_three_sizes_interpolate_exactly():
    f = power_law.fit_power_law(NS[:3], law(NS[:3], 1.0, 50.0, 0.35))
    assert (f['E'], f['A'], f['alpha']) == (pytest.approx(1.0, rel=1e-6), pytest.approx(50.0, rel=1e-5),
                                            pytest.approx(0.35, rel=1e-6))
    assert f['rmse'] < 1e-9


def test_fit_with_noise_recovers_the_law_and_its_bootstrap_spread_matches_repeated_experiments():
    e, a, alpha, noise = 1.2, 30.0, 0.3, 0.002
    rng = np.random.default_rng(0)
    cells = [law(n, e, a, alpha) + rng.normal(0, noise, 3) for n in NS]
    f = power_law.fit_with_bootstrap(NS, cells, n_resamples=100, seed=1)
    assert f['E'] == pytest.approx(e, abs=0.03) and f['alpha'] == pytest.approx(alpha, abs=0.03)
    assert f['E_ci'][0] <= f['E'] <= f['E_ci'][1] and f['alpha_ci'][0] <= f['alpha'] <= f['alpha_ci'][1]
    assert f['draws'].shape == (100, 3) and f['dof'] == 2
    assert np.array_equal(f['draws'], power_law.fit_with_bootstrap(NS, cells, n_resamples=100, seed=1)['draws'])
    # the independent check: E refitted on 60 fresh experiments spreads as the bootstrap over seeds says, within
    # a factor of two (a 3-seed bootstrap underestimates the spread by about sqrt(2/3))
    fresh = [power_law.fit_power_law(NS, [(law(n, e, a, alpha) + rng.normal(0, noise, 3)).mean() for n in NS])['E']
             for _ in range(60)]
    ratio = np.std(f['draws'][:, 0]) / np.std(fresh)
    assert 0.5 < ratio < 2.0


def test_a_non_decelerating_curve_hits_a_bound():
    # equal drops per factor 4 in N: a straight line in log N, which no E + A N^-alpha with alpha > 0 matches
    y = 3.0 - 0.2 * np.arange(len(NS))
    f = power_law.fit_power_law(NS, y)
    assert f['at_bound']


def test_extrapolation_ranks_well_separated_tokenizers_with_p_best_near_one():
    rng = np.random.default_rng(2)
    laws = {'good': (1.0, 30.0, 0.3), 'mid': (1.2, 30.0, 0.3), 'bad': (1.4, 30.0, 0.3)}
    fits = {t: power_law.fit_with_bootstrap(NS, [law(n, *p) + rng.normal(0, 0.003, 2) for n in NS], 100, seed=3)
            for t, p in laws.items()}
    (x,) = power_law.extrapolate(fits, [7e9])
    assert x['ranking'] == ['good', 'mid', 'bad'] and x['p_best']['good'] > 0.99
    assert sum(x['p_best'].values()) == pytest.approx(1.0)
    for t, p in laws.items():
        b = x['bpb'][t]
        assert b['lo'] <= b['mean'] <= b['hi'] and b['mean'] == pytest.approx(law(7e9, *p), abs=0.03)


def test_close_tokenizers_share_p_best():
    rng = np.random.default_rng(4)
    laws = {'a': (1.0, 30.0, 0.3), 'b': (1.0005, 30.0, 0.3)}
    fits = {t: power_law.fit_with_bootstrap(NS, [law(n, *p) + rng.normal(0, 0.01, 3) for n in NS], 100, seed=5)
            for t, p in laws.items()}
    (x,) = power_law.extrapolate(fits, [1e9])
    assert max(x['p_best'].values()) < 0.95  # seed noise far above the gap: neither is sure to win


def test_backtest_fit_beats_the_largest_size_fitted_when_curves_cross_after_it():
    # a starts worse but scales faster: every fitted size (the first four) ranks b first; at the largest size a wins,
    # and the law fitted on the first four sizes sees it coming. By hand at N = 6.4e7 and 2.56e8: a = 1 + 2700 /
    # sqrt(N) = 1.3375, 1.1688; b = 1.05 + 20 N^-0.25 = 1.2736, 1.2081
    means = {'a': law(NS, 1.0, 2700.0, 0.5).tolist(), 'b': law(NS, 1.05, 20.0, 0.25).tolist(),
             'c': law(NS, 1.3, 20.0, 0.25).tolist()}
    assert means['a'][3] > means['b'][3] and means['a'][-1] < means['b'][-1]
    bt = power_law.backtest(NS, means)
    assert bt['law'] == 'E + A N^-alpha' and bt['fitted_on'] == 4
    assert bt['predicted']['a'] == pytest.approx(means['a'][-1], rel=1e-5)
    assert bt['fit']['decision_accuracy'] == 1.0 and bt['largest_fitted']['decision_accuracy'] == pytest.approx(2 / 3)
    # at N = 1e6 a (3.7) is even behind c (1.3 + 20 / 31.6 = 1.93): only the pair (b, c) is right
    assert bt['smallest']['decision_accuracy'] == pytest.approx(1 / 3) and bt['better'] == 'fit'


def test_backtest_needs_four_sizes_to_refit_the_law_it_extrapolates():
    # with three sizes the three-parameter law would be fitted on two: that is another law (E = 0), not tested here
    means = {'a': [3.0, 2.5, 2.2], 'b': [3.1, 2.6, 2.3]}
    assert power_law.backtest(NS[:3], means) is None and power_law.backtest(NS[:2], means) is None


def test_backtest_says_better_against_the_largest_size_fitted_not_the_smallest():
    # the smallest size orders b before a, the fitted sizes' largest (and the fit) a before b, as the largest does
    means = {'a': law(NS[:4], 1.0, 200.0, 0.4).tolist(), 'b': law(NS[:4], 1.05, 20.0, 0.25).tolist()}
    bt = power_law.backtest(NS[:4], means)
    assert bt['smallest']['decision_accuracy'] == 0.0 and bt['largest_fitted']['decision_accuracy'] == 1.0
    assert bt['fit']['decision_accuracy'] == 1.0 and bt['better'] == 'tie'  # not 'fit' (the old bold word)
