"""The scale report's "Scaling fits" section (scale_report.scale_report calls fit_lines): the law
bpb = E + A·N^-α per tokenizer, its lack-of-fit test, the extrapolation (only for laws tested and
not rejected, every "95%" read "if the law holds") and the backtest with its error put against the
seed noise."""
from uniscale import power_law
from uniscale.report_format import fmt, fmt_ci, md_table

# bench/law_coverage.py (1,000 experiments per case, bench/RESULTS.md): what the printed interval
# did at 7e9
MEASURED = ("measured in bench/law_coverage.py (4 and 5 sizes from 50M, 3 seeds of sd 0.005-0.02 bpb, 1,000 "
            "experiments per case): it covered a true law in 97-99% of experiments, and a law whose α falls from 0.3 "
            "to 0.15 above 300M was rejected or covered in ≥ 93%")


def method_lines(s):
    k = len(s['sizes'])
    w = f" ({s['weighting']}-weighted, as the headline)" if s.get('weighting') else ''
    lines = ['', f'{s["metric"]}{w} = E + A·N^-α per tokenizer (N = non-embedding parameters; least squares on the per-size means '
                 'weighted by seeds; E in [0, min bpb], α in [0.001, 3]: "at bound" when one sits on its limit). '
                 'Intervals ("95% if the law holds"): a parametric bootstrap: per-size means redrawn from the fitted '
                 'law with the seed noise σ estimated around it from every run (df = runs − 3; chi-square-scaled), '
                 'refitted. They say how far seed noise moves the law, not whether bpb follows it.']
    if k > power_law.MIN_SIZES:
        lines += ['', f"Lack-of-fit test (per tokenizer): F = [Σ seeds·(mean − law)² / (sizes − 3)] / [within-size "
                      f"sum of squares / (runs − sizes)], against F(sizes − 3, runs − sizes); p < "
                      f"{power_law.LOF_LEVEL} rejects: the law does not fit those sizes, and nothing is extrapolated "
                      f"from it. Under a true law it rejects about {power_law.LOF_LEVEL:.0%} of the time, each "
                      f"tokenizer on its own (with n tokenizers expect about n × {power_law.LOF_LEVEL:.0%} false "
                      f"rejections); a bend smaller than the seed noise passes it."]
    else:
        lines += ['', f"**{k} sizes: the law cannot be tested.** Three parameters on three means leave no degree of "
                      f"freedom: nothing in the data says whether bpb follows E + A·N^-α, so nothing is extrapolated "
                      f"(no predicted bpb, ranking or P(best) beyond the sizes). Where a bound binds the fit does not "
                      f"even reach the means: its largest misfit is in the table."]
    return lines


def law_words(f):
    lof = f['lack_of_fit']
    if not lof['testable']:
        return 'untested'
    return (f"**rejected** (p {fmt(lof['p'], 3)})" if lof['rejected'] else f"not rejected (p {fmt(lof['p'], 3)})")


def fit_table(s):
    flops = s.get('fits_flops') or {}
    rows = []
    for t, f in s['fits'].items():
        lof = f['lack_of_fit']
        test = f"{fmt(lof['F'])} ({lof['df1']}, {lof['df2']})" if lof['testable'] else '-'
        rows.append([t, f"{fmt(f['E'], 4)} {fmt_ci(f['E_ci'], 4)}", fmt(f['A']),
                     f"{fmt(f['alpha'])} {fmt_ci(f['alpha_ci'])}",
                     fmt(max(abs(r) for r in f['residuals']), 4), fmt(f['seed_sd'], 4), test, law_words(f),
                     'yes' if f['at_bound'] else '', fmt((flops.get(t) or {}).get('E'), 4),
                     fmt((flops.get(t) or {}).get('alpha'))])
    return md_table(['tokenizer', 'E [95% CI if the law holds]', 'A', 'α [95% CI if the law holds]',
                     'largest misfit (mean − law)', 'seed sd', 'lack of fit F (df)', 'the law', 'at bound', 'vs FLOPs: E', 'α'],
                    rows)


def bound_lines(s):
    bound = {t: f for t, f in s['fits'].items() if f['at_bound']}
    if not bound:
        return []
    worst = max(max(abs(r) for r in f['residuals']) for f in bound.values())
    return ['', f"**{', '.join(bound)}: the fit sits on a bound** (the sizes do not decrease like E + A·N^-α with E "
                f"≥ 0: noise, too few sizes, or another curve); it misses their means by up to {fmt(worst, 4)} "
                f"{s['metric']}."]


def extrapolation_lines(s):
    if s.get('extrapolation_note'):  # 3 sizes: method_lines said why nothing is extrapolated
        return []
    lines = []
    for x in s['extrapolation']:
        held = {t: b['withheld'] for t, b in x['bpb'].items() if b['withheld']}
        lines += ['', f"### Extrapolated to {fmt(x['n_params'])} non-embedding parameters, if the law holds", '']
        if x['ranking']:
            lines += [f"Implied ranking if every law holds (best first): {', '.join(x['ranking'])}. The interval "
                      f"(95% if the law holds) is widened to hold the law refitted on the largest "
                      f"{power_law.TAIL_SIZES} sizes too, {MEASURED}.", '']
        else:
            rejected = [t for t, f in s['fits'].items() if f['lack_of_fit'].get('rejected')]
            lines += ([f"**The law does not fit the sizes of {', '.join(rejected)}** (lack-of-fit p < "
                       f"{power_law.LOF_LEVEL}): nothing is extrapolated from it."] if rejected else [])
            lines += [f"No implied ranking and no P(best): the law is withheld for {', '.join(held)} (below).", '']
        lines += [md_table(['tokenizer', 'predicted bpb', 'interval (95% if the law holds, widened)',
                            "the law's own (95% if the law holds)", 'P(best) if the laws hold', 'why no number'],
                           [[t, fmt(b['mean'], 4), fmt_ci([b['lo'], b['hi']] if b['lo'] is not None else None, 4),
                             fmt_ci([b['law_lo'], b['law_hi']] if b['law_lo'] is not None else None, 4),
                             fmt((x['p_best'] or {}).get(t), 2), b['withheld'] or '']
                            for t, b in x['bpb'].items()])]
    return lines


def backtest_noise_words(bt, metric):
    """The backtest's mean absolute error against the seed sd, in words the numbers support: a comparison, not a
    test (the lack-of-fit test above is the test of the law)."""
    mae, sd = bt['mean_abs_error'], bt.get('seed_sd')
    head = f"Mean absolute error of the predicted {metric}: {fmt(mae, 4)}"
    if not sd:
        return head + ' (no seed spread to compare it with).'
    head += (f", {mae / sd:.1f}× the seed sd ({fmt(sd, 4)}, df {bt['seed_sd_df']}, pooled within every cell; a "
             f"largest-size mean's standard error {fmt(bt['largest_se'], 4)}): ")
    if mae > sd:
        return head + 'the law fitted on the smaller sizes predicts the largest worse than one run varies by seed.'
    return head + ('within one run\'s seed noise (which does not show that the law holds beyond the sizes).')


def backtest_lines(s):
    bt = s.get('backtest')
    lines = ['', '### Backtest: fit without the largest size, predict it', '']
    if not bt:
        return lines + [s.get('backtest_note') or '(none)']
    fitted = s['sizes'][-2]['preset']
    return lines + [
        f"Law {bt['law']} (the one fitted above), refitted on the {bt['fitted_on']} smaller sizes. "
        + backtest_noise_words(bt, s['metric'])
        + f" Which ranking agrees better with the largest size's, the fit's prediction or the plain ranking of the "
          f"largest size it used ({fitted}): **{bt['better']}** (by decision accuracy).", '',
        md_table(['ranking from', 'Spearman ρ', 'decision accuracy'],
                 [[name, fmt(bt[k]['spearman']), fmt(bt[k]['decision_accuracy'])]
                  for name, k in (('the fit', 'fit'), (f'the largest size fitted ({fitted})', 'largest_fitted'),
                                  ('the smallest size', 'smallest'))])]


def fit_lines(s):
    lines = [s.get('fits_note', '')]
    if not s.get('fits'):
        return lines
    return (lines + method_lines(s) + ['', fit_table(s)] + bound_lines(s) + extrapolation_lines(s)
            + backtest_lines(s))
