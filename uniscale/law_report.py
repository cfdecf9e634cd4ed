"""The scale report's "Scaling fits" section (scale_report.scale_report calls fit_lines): the law
bpb = E + A·N^-α per tokenizer, its lack-of-fit test, the extrapolation (only for laws tested and
not rejected, every "95%" read "if the law holds") and the backtest with its error put against the
seed noise."""
from uniscale import power_law
from uniscale.report_format import fmt, fmt_ci, md_table

# what the printed interval did at 7e9 (bench/law_coverage.py, 1,000 experiments a case; RESULTS.md)
MEASURED = ("measured in bench/law_coverage.py (4 and 5 sizes from 50M, 3 seeds of sd 0.005-0.02 "
            "bpb, 1,000 experiments per case): it covered a true law in 97-99% of experiments "
            "(89-93% where a bound holds the fit), and a law whose α falls from 0.3 to 0.15 above "
            "300M was rejected or covered in ≥ 91%")
LOF = power_law.LOF_LEVEL


def method_lines(s):
    k = len(s['sizes'])
    w = f" ({s['weighting']}-weighted, as the headline)" if s.get('weighting') else ''
    law = (f"{s['metric']}{w} = E + A·N^-α per tokenizer (N = non-embedding parameters; least "
           f"squares on the per-size means weighted by seeds; E in [0, min bpb], α in [0.001, 3]: "
           f"\"at bound\" when one sits on its limit). Intervals (\"95% if the law holds\"): "
           f"a parametric bootstrap: per-size means redrawn from the fitted law with the seed "
           f"noise σ estimated around it from every run (df = runs − 3; chi-square-scaled), "
           f"refitted. They say how far seed noise moves the law, not whether bpb follows it.")
    if k > power_law.MIN_SIZES:
        test = (f"Lack-of-fit test (per tokenizer): F = [Σ seeds·(mean − law)² / df1] / "
                f"[within-size sum of squares / (runs − sizes)], against F(df1, runs − sizes), "
                f"df1 = sizes − 3 (+ 1 for each parameter a bound holds); p < {LOF} rejects: "
                f"the law does not fit those sizes, and nothing is extrapolated from it. Under a "
                f"true law it rejects about {LOF:.0%} of the time, "
                f"each tokenizer on its own (with n tokenizers expect about n × {LOF:.0%} false "
                f"rejections); a bend smaller than the seed noise passes it.")
    else:
        test = (f"**{k} sizes: the law cannot be tested.** Three parameters on three means leave "
                f"no degree of freedom: nothing in the data says whether bpb follows E + A·N^-α, "
                f"so nothing is extrapolated (no predicted bpb, ranking or P(best) beyond the "
                f"sizes). Where a bound binds the fit does not even reach the means: its largest "
                f"misfit is in the table.")
    return ['', law, '', test]


def law_words(f):
    lof = f['lack_of_fit']
    if not lof['testable']:
        return 'untested'
    return f"{'**rejected**' if lof['rejected'] else 'not rejected'} (p {fmt(lof['p'])})"


def fit_table(s):
    flops = s.get('fits_flops') or {}
    rows = []
    for t, f in s['fits'].items():
        lof, other = f['lack_of_fit'], flops.get(t) or {}
        rows.append([t, f"{fmt(f['E'], 4)} {fmt_ci(f['E_ci'], 4)}", fmt(f['A']),
                     f"{fmt(f['alpha'])} {fmt_ci(f['alpha_ci'])}",
                     fmt(max(abs(r) for r in f['residuals']), 4), fmt(f['seed_sd'], 4),
                     f"{fmt(lof['F'])} ({lof['df1']}, {lof['df2']})" if lof['testable'] else '-',
                     law_words(f), 'yes' if f['at_bound'] else '', fmt(other.get('E'), 4),
                     fmt(other.get('alpha'))])
    return md_table(['tokenizer', 'E [95% CI if the law holds]', 'A', 'α [95% CI if the law holds]',
                     'largest misfit (mean − law)', 'seed sd', 'lack of fit F (df)', 'the law',
                     'at bound', 'vs FLOPs: E', 'α'], rows)


def bound_lines(s):
    bound = {t: f for t, f in s['fits'].items() if f['at_bound']}
    if not bound:
        return []
    worst = max(max(abs(r) for r in f['residuals']) for f in bound.values())
    return ['', f"**{', '.join(bound)}: the fit sits on a bound** (the sizes do not decrease "
                f"like E + A·N^-α with E ≥ 0: noise, too few sizes, or another curve); it misses "
                f"their means by up to {fmt(worst, 4)} {s['metric']}."]


def interval(lo, hi):
    return fmt_ci([lo, hi] if lo is not None else None, 4)


def extrapolation_lines(s):
    if s.get('extrapolation_note'):  # 3 sizes: method_lines said why nothing is extrapolated
        return []
    lines = []
    rejected = [t for t, f in s['fits'].items() if f['lack_of_fit'].get('rejected')]
    for x in s['extrapolation']:
        held = [t for t, b in x['bpb'].items() if b['withheld']]
        where = f"{fmt(x['n_params'])} non-embedding parameters"
        lines += ['', f"### Extrapolated to {where}, if the law holds", '']
        if rejected:
            lines += [f"**The law does not fit the sizes of {', '.join(rejected)}** (lack-of-fit "
                      f"p < {LOF}): nothing is extrapolated from it.", '']
        if x['ranking']:
            lines += [f"Implied ranking if every law holds (best first): "
                      f"{', '.join(x['ranking'])}. The interval (95% if the law holds) is widened "
                      f"to hold the law refitted on the largest {power_law.TAIL_SIZES} sizes too, "
                      f"{MEASURED}.", '']
        else:
            lines += [f"No implied ranking and no P(best): the law is withheld for "
                      f"{', '.join(held)} (below).", '']
        rows = [[t, fmt(b['mean'], 4), interval(b['lo'], b['hi']),
                 interval(b['law_lo'], b['law_hi']), fmt((x['p_best'] or {}).get(t), 2),
                 b['withheld'] or ''] for t, b in x['bpb'].items()]
        lines += [md_table(['tokenizer', 'predicted bpb',
                            'interval (95% if the law holds, widened)',
                            "the law's own (95% if the law holds)", 'P(best) if the laws hold',
                            'why no number'], rows)]
    return lines


def backtest_noise_words(bt, metric):
    """The backtest's mean absolute error against the seed sd, in words the numbers support: a
    comparison, not a test (the lack-of-fit test above is the test of the law)."""
    mae, sd = bt['mean_abs_error'], bt.get('seed_sd')
    head = f"Mean absolute error of the predicted {metric}: {fmt(mae, 4)}"
    if not sd:
        return head + ' (no seed spread to compare it with).'
    head += (f", {mae / sd:.1f}× the seed sd ({fmt(sd, 4)}, df {bt['seed_sd_df']}, pooled within "
             f"every cell; a largest-size mean's standard error {fmt(bt['largest_se'], 4)}): ")
    if mae > sd:
        return head + ('the law fitted on the smaller sizes predicts the largest worse than one '
                       'run varies by seed.')
    return head + "within one run's seed noise (which does not show the law holds beyond them)."


def backtest_lines(s):
    bt = s.get('backtest')
    lines = ['', '### Backtest: fit without the largest size, predict it', '']
    if not bt:
        return lines + [s.get('backtest_note') or '(none)']
    fitted = s['sizes'][-2]['preset']
    names = (('the fit', 'fit'), (f'the largest size fitted ({fitted})', 'largest_fitted'),
             ('the smallest size', 'smallest'))
    rows = [[name, fmt(bt[k]['spearman']), fmt(bt[k]['decision_accuracy'])] for name, k in names]
    return lines + [
        f"Law {bt['law']} (the one fitted above), refitted on the {bt['fitted_on']} smaller sizes. "
        + backtest_noise_words(bt, s['metric'])
        + f" Which ranking agrees better with the largest size's, the fit's prediction or the "
          f"plain ranking of the largest size it used ({fitted}): **{bt['better']}** (by "
          f"decision accuracy).", '', md_table(['ranking from', 'Spearman ρ', 'decision accuracy'],
                                                rows)]


def fit_lines(s):
    lines = [s.get('fits_note', '')]
    if not s.get('fits'):
        return lines
    return (lines + method_lines(s) + ['', fit_table(s)] + bound_lines(s) + extrapolation_lines(s)
            + backtest_lines(s))
