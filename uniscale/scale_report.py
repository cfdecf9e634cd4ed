"""
The scale study's report.md, summary.csv and PNG plots, from the summary dict of scale_analysis.scale_analysis.
"""
import itertools
import os

import numpy as np

from uniscale import rank_stats
from uniscale.report_format import csv_text, fmt, fmt_ci, md_table, pyplot, save_figure
from uniscale.scale_analysis import MIN_GROUP

TABLE_POINTS = 10           # evaluations per size in the agreement-over-training table (all are in summary.json)
SEED_BOOTSTRAP_NOTE = (
    "What the bootstrap over seeds can and cannot show: it resamples each (tokenizer, size) cell's seeds, so its "
    "interval says how far seed noise alone could move the statistic at these tokenizers and this data. It does not "
    "resample tokenizers or data, so it says nothing about other tokenizers, another corpus or another evaluation "
    "set; and with 2-3 seeds a cell has only 3-10 distinct resamples, so the interval is coarse and its tails are "
    "not to be trusted (an interval of a single point means the seeds never changed the order, not that the order "
    "is certain).")


def verdict_sentence(h):
    n, p_min = h['n_tokenizers'], h['smallest_p_possible']
    base = (f"between {h['small']} and {h['large']}: Spearman ρ = {h['spearman']:.3f} (p = {h['spearman_p']:.3f}, "
            f"{h['p_method']}; 95% CI over seeds {fmt_ci(h['spearman_ci'])}), Kendall τ-b = {h['kendall']:.3f} "
            f"(p = {h['kendall_p']:.3f}), decision accuracy {fmt(h['decision_accuracy'])} "
            f"(CI {fmt_ci(h['decision_accuracy_ci'])}), over {n} tokenizers.")
    if h['verdict'] == 'not significant':
        return (f"**Verdict: not significant** with {n} tokenizers {base} The smallest p that {n} tokenizers allow is "
                f"2/{n}! = {p_min:.4g}" + (f", so no ordering of {n} tokenizers can reach p < {rank_stats.ALPHA}: "
                                           f"add tokenizers to test the correlation." if p_min >= rank_stats.ALPHA
                                           else '.'))
    return f"**Verdict: {h['verdict']}** rank correlation {base}"


def pairs_table(pairs):
    rows = []
    for p in pairs:
        if p.get('spearman') is None:
            rows.append([p['small'], p['large'], p['n_tokenizers']] + ['-'] * 6 + ['undefined'])
            continue
        rows.append([p['small'], p['large'], p['n_tokenizers'], f"{fmt(p['spearman'])} ({fmt(p['spearman_p'])})",
                     fmt_ci(p['spearman_ci']), f"{fmt(p['kendall'])} ({fmt(p['kendall_p'])})",
                     f"{fmt(p['decision_accuracy'])} {fmt_ci(p['decision_accuracy_ci'])}",
                     'yes' if p['top1_agree'] else f"no ({p['small_pick']})", fmt(p['regret'], 4), p['verdict']])
    return md_table(['small', 'large', 'n', 'Spearman ρ (p)', '95% CI', 'Kendall τ-b (p)',
                     'decision accuracy [95% CI]', 'top-1', 'regret', 'verdict'], rows)


def over_training_lines(s):
    if not s['over_training']:
        return ['(none: needs the metric bpb, a log.jsonl with val_bpb in every run, and flops_per_token in '
                'eval.json)']
    target = ', '.join(f"{k} ≥ {v}" for k, v in s['agree_target'].items())
    c = s['cheapest_agreeing']
    lines = [f"Each size's ranking at each evaluation of its training (val bpb of log.jsonl, mean over seeds) "
             f"against the largest size's final ranking ({s['over_training_reference']}). Train FLOPs: the whole "
             f"size (every tokenizer and seed) up to that point.", '']
    if c:
        share = c['train_flops'] / s['largest_size_train_flops'] if s.get('largest_size_train_flops') else None
        lines += [f"**Cheapest agreeing** ({target}, held at every later evaluation of that size): you could have "
                  f"stopped at {c['fraction']:.0%} of the {c['size']} runs ({fmt(c['train_flops'])} FLOPs"
                  + (f", {share:.1%} of what the {s['sizes'][-1]['preset']} runs cost" if share else '') +
                  f"; Spearman {fmt(c['spearman'])}, decision accuracy {fmt(c['decision_accuracy'])}).", '']
    else:
        lines += [f"**Cheapest agreeing** ({target}): no size reaches it and keeps it to the end of training.", '']
    shown = []
    for z in [z['preset'] for z in s['sizes']]:  # at most TABLE_POINTS a size here; summary.json has them all
        pts = [p for p in s['over_training'] if p['size'] == z]
        keep = sorted(set(np.linspace(0, len(pts) - 1, min(TABLE_POINTS, len(pts))).round().astype(int)))
        shown += [pts[i] for i in keep] if pts else []
    rows = [[p['size'], f"{p['fraction']:.0%}", fmt(p['train_flops']), fmt(p['spearman']),
             fmt(p['decision_accuracy'])] for p in shown]
    return lines + [md_table(['size', 'fraction of training', 'train FLOPs', 'Spearman ρ', 'decision accuracy'],
                             rows)]


def fit_lines(s):
    lines = [s.get('fits_note', '')]
    if not s.get('fits'):
        return lines
    lines += ['', 'bpb = E + A·N^-α per tokenizer (N = non-embedding parameters; least squares on the per-size means; '
                  '95% intervals from a bootstrap over seeds). "at bound": E or α sits on its limit (E ≥ 0, '
                  'α in [0.001, 3]): the sizes do not pin the law down.', '',
              md_table(['tokenizer', 'E [95% CI]', 'A', 'α [95% CI]', 'rmse', 'at bound', 'vs FLOPs: E', 'α'],
                       [[t, f"{fmt(f['E'], 4)} {fmt_ci(f['E_ci'], 4)}", fmt(f['A']),
                         f"{fmt(f['alpha'])} {fmt_ci(f['alpha_ci'])}", fmt(f['rmse'], 5), 'yes' if f['at_bound'] else '',
                         fmt((s['fits_flops'].get(t) or {}).get('E'), 4),
                         fmt((s['fits_flops'].get(t) or {}).get('alpha'))] for t, f in s['fits'].items()])]
    bound = [t for t, f in s['fits'].items() if f['at_bound']]
    if bound:
        lines += ['', f"**{', '.join(bound)}: the fit sits on a bound** (the sizes do not decrease like a power law: "
                      f"noise, or too few sizes), so their extrapolations below are not a law's prediction."]
    for x in s['extrapolation']:
        lines += ['', f"### Extrapolated to {fmt(x['n_params'])} non-embedding parameters", '',
                  f"Implied ranking (best first): {', '.join(x['ranking'])}.", '',
                  md_table(['tokenizer', 'predicted bpb', '95% interval', 'P(best)'],
                           [[t, fmt(b['mean'], 4), f"[{fmt(b['lo'], 4)}, {fmt(b['hi'], 4)}]",
                             f"{x['p_best'][t]:.2f}"] for t, b in x['bpb'].items()])]
    bt = s.get('backtest')
    if bt:
        lines += ['', '### Backtest: fit without the largest size, predict it', '',
                  f"Law {bt['law']}, fitted on {bt['fitted_on']} sizes; mean absolute error of the predicted "
                  f"{s['metric']}: {fmt(bt['mean_abs_error'], 4)}. Which ranking agrees better with the largest "
                  f"size's: **{bt['better']}** (by decision accuracy).", '',
                  md_table(['ranking from', 'Spearman ρ', 'decision accuracy'],
                           [[name, fmt(bt[k]['spearman']), fmt(bt[k]['decision_accuracy'])]
                            for name, k in (('the fit', 'fit'), ('the smallest size', 'smallest'),
                                            ('the largest size fitted', 'largest_fitted'))])]
    return lines


def cost_lines(s):
    if not s['cost']:
        return ['(none: eval.json has no flops_per_token; re-run eval_bpb.py)']
    sizes = [z['preset'] for z in s['sizes']]
    rows = [[t, z, fmt(c['value'], 4), fmt(c['train_flops']), f"{c['inference_flops_per_byte']:,.0f}",
             fmt(c['bytes_per_token'], 3)] for t, row in s['cost'].items() for z in sizes if z in row
            for c in [row[z]]]
    return ['Train FLOPs = flops_per_token (6 per matmul weight incl. the LM head, plus attention at the full '
            'context) × tokens trained. Inference FLOPs per byte = flops_per_token / 3 (the forward pass alone) / '
            'bytes per token of the evaluation text: what one byte of text costs to score or generate at the full '
            'context (no KV-cache saving counted).', '',
            md_table(['tokenizer', 'size', s['metric'], 'train FLOPs', 'inference FLOPs/byte', 'bytes/token'], rows)]


def intrinsic_lines(s):
    lines = []
    if s.get('intrinsic_stale'):
        lines += [f"Metrics of another tokenizer under the same name, not used: {'; '.join(s['intrinsic_stale'])} "
                  f"(re-run `python tokenizer.py eval ...` on the runs' tokenizers).", '']
    if s['intrinsic_missing']:
        lines += [f"No metrics.json for {', '.join(s['intrinsic_missing'])} (run `python tokenizer.py eval ...`)"
                  + ('; skipped.' if not s['intrinsic_predictors'] else '; those tokenizers are left out here.'), '']
    if not s['intrinsic_predictors']:
        return lines + ['(none)']
    b = s['intrinsic_baseline']
    have = s['intrinsic_predictors']
    absent = [f"{m} (none for {', '.join(ts)})" for m, ts in s['intrinsic_skipped'].items()]
    if absent:
        lines += [f"Not in metrics.json, skipped: {'; '.join(absent)}.", '']
    rows = [[m, 'higher' if v['higher_is_better'] else 'lower', fmt(v['spearman']), fmt(v['decision_accuracy'])]
            for m, v in have.items()]
    rows.append([f"**trained: {b['size']} model**", '-', fmt(b['spearman']), fmt(b['decision_accuracy'])])
    return lines + [f"Each tokenizer metric (tokenizer.py eval) as a predictor of the {s['sizes'][-1]['preset']} "
                    f"ranking, over {len(b['tokenizers'])} tokenizers; ρ > 0 means the metric ranks as its "
                    f"hypothesis says (the 'better' column), ρ < 0 the reverse.", '',
                    md_table(['metric', 'better when', 'Spearman ρ', 'decision accuracy'], rows)]


def scale_report(s):
    h, sizes = s['headline'], [z['preset'] for z in s['sizes']]
    lines = [f"# Tokenizer ranking across model sizes ({s['metric']}, {s['split']} split)", '']
    if s.get('left_out'):
        lines += [f"**Left out ({len(s['left_out'])}, --allow_missing=True):** " + '; '.join(s['left_out']), '']
    if h and h.get('spearman') is not None:
        lines += [verdict_sentence(h) + f" The small model's pick ({h['small_pick']}) "
                  f"{'is' if h['top1_agree'] else 'is not'} the large model's best ({h['large_best']}); regret "
                  f"{h['regret']:.4f} {s['metric']}.", '']
    cell = {(c['tokenizer'], c['size']): c for c in s['cells']}
    means = [[t] + ['-' if (t, z) not in cell else f"{cell[t, z]['mean']:.4f} ± {fmt(cell[t, z]['std'], 4)} "
                    f"(n={cell[t, z]['n_seeds']})" for z in sizes] for t in s['tokenizers']]
    noise = [[z['size'], fmt(z['seed_std'], 4), fmt(z['min_gap'], 4), fmt(z['median_gap'], 4), fmt(z['spread'], 4),
              f"{fmt(z['gaps_over_2std'])} of {z['n_gaps']}"] for z in s['noise']]
    lines += [f"Verdict words: ρ > {rank_stats.HIGH} high, {rank_stats.MODERATE}–{rank_stats.HIGH} moderate, below "
              f"{rank_stats.MODERATE} low, only when p < {rank_stats.ALPHA}. P-values: {s['p_values']}. Decision "
              f"accuracy: the share of tokenizer pairs the small size orders as the large one does (0.5 = chance). "
              f"{s['n_runs']} runs.", '', SEED_BOOTSTRAP_NOTE, '',
              f"## {s['metric']} per tokenizer and size (mean ± std over seeds)", '',
              md_table(['tokenizer'] + sizes, means), '', '## Every pair of sizes', '', pairs_table(s['pairs']), '',
              '## Agreement over training', ''] + over_training_lines(s) + [
              '', '## Scaling fits', ''] + fit_lines(s) + [
              '', '## Cost beside quality', ''] + cost_lines(s) + [
              '', '## Zero-compute predictors', ''] + intrinsic_lines(s) + [
              '', '## Seed noise vs gaps between tokenizers', '',
              'Gaps are between adjacent tokenizers sorted by mean; a gap above 2 × seed std is resolved by one run.',
              '', md_table(['size', 'seed std', 'min gap', 'median gap', 'spread', 'gaps > 2 std'], noise)]
    for title, groups, empty in (
            ('Within each algorithm', s['by_algorithm'], f"needs ≥ {MIN_GROUP} tokenizers of one algorithm"),
            ('Per language', s['by_language'], 'no per-language bpb in eval.json, or the metric is not bpb')):
        lines += ['', f"## {title}", ''] + ([] if groups else [f"(none: {empty})"])
        for g, pairs in groups.items():
            lines += [f"### {g}", '', pairs_table(pairs), '']
    lines += ['', '## Plots', ''] + [f"![{f}]({f})" for f in s.get('plots', [])]
    return '\n'.join(lines) + '\n'


def summary_csv(s):
    """One row per (group, small, large): group 'all', 'algorithm:bpe', 'lang:eng', ..."""
    groups = [('all', s['pairs'])] + [(f'algorithm:{g}', p) for g, p in s['by_algorithm'].items()] + \
             [(f'lang:{g}', p) for g, p in s['by_language'].items()]
    rows = [{**p, 'group': g, 'spearman_ci_lo': (p.get('spearman_ci') or [None])[0],
             'spearman_ci_hi': (p.get('spearman_ci') or [None, None])[1]} for g, pairs in groups for p in pairs]
    return csv_text(rows, ['group', 'small', 'large', 'n_tokenizers', 'spearman', 'spearman_p', 'kendall', 'kendall_p',
                           'p_method', 'spearman_ci_lo', 'spearman_ci_hi', 'decision_accuracy', 'top1_agree',
                           'small_pick', 'large_best', 'regret', 'verdict'])


# ---------------------------------------------------------------- plots
def pair_scatters(s, cell, out_dir):
    plt, files = pyplot(), []
    for p in s['pairs']:
        if p.get('spearman') is None:
            continue
        fig, ax = plt.subplots(figsize=(5.5, 5))
        for t in p['tokenizers']:
            a, b = cell[t, p['small']], cell[t, p['large']]
            ax.errorbar(a['mean'], b['mean'], xerr=a['std'] or 0, yerr=b['std'] or 0, fmt='o', capsize=3)
            ax.annotate(t, (a['mean'], b['mean']), textcoords='offset points', xytext=(4, 4), fontsize=8)
        ax.set(xlabel=f"{s['metric']} at {p['small']}", ylabel=f"{s['metric']} at {p['large']}",
               title=f"ρ = {p['spearman']:.2f} (p = {p['spearman_p']:.3f}), decision acc. {p['decision_accuracy']:.2f}")
        files.append(save_figure(fig, os.path.join(out_dir, f"scatter_{p['small']}_vs_{p['large']}.png")))
    return files


def rho_heatmap(s, sizes, out_dir):
    plt = pyplot()
    rho = np.full((len(sizes), len(sizes)), np.nan)
    np.fill_diagonal(rho, 1.0)
    for p in s['pairs']:
        if p.get('spearman') is not None:
            i, j = sizes.index(p['small']), sizes.index(p['large'])
            rho[i, j] = rho[j, i] = p['spearman']
    fig, ax = plt.subplots(figsize=(1.2 * len(sizes) + 2.5, 1.1 * len(sizes) + 1.5))
    im = ax.imshow(rho, vmin=-1, vmax=1, cmap='RdBu')
    for i, j in itertools.product(range(len(sizes)), repeat=2):
        ax.text(j, i, fmt(rho[i, j], 2), ha='center', va='center', fontsize=9,
                color='white' if abs(np.nan_to_num(rho[i, j])) > 0.6 else 'black')
    ax.set_xticks(range(len(sizes)), sizes, rotation=30, ha='right')
    ax.set_yticks(range(len(sizes)), sizes)
    ax.set_title(f"Spearman ρ of tokenizer {s['metric']} between sizes")
    fig.colorbar(im, ax=ax)
    return save_figure(fig, os.path.join(out_dir, 'rho_heatmap.png'))


def metric_vs(s, cell, sizes, x_of, xlabel, fname, out_dir, curves=None):
    """The metric per tokenizer against x_of(tokenizer, size), log x, with fitted curves where given."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    for i, t in enumerate(s['tokenizers']):
        pts = [(x_of(t, z), cell[t, z]) for z in sizes if (t, z) in cell and x_of(t, z)]
        if not pts:
            continue
        line = ax.errorbar([x for x, _ in pts], [c['mean'] for _, c in pts], yerr=[c['std'] or 0 for _, c in pts],
                           marker='o', capsize=3, label=t, linestyle='none' if curves else '-')
        if curves and t in curves:
            xs = np.geomspace(min(x for x, _ in pts), max([x for x, _ in pts] + curves.get('_to', [])), 100)
            f = curves[t]
            ax.plot(xs, f['E'] + f['A'] * xs ** -f['alpha'], color=line[0].get_color(), alpha=0.7)
    ax.set_xscale('log')
    ax.set(xlabel=xlabel, ylabel=s['metric'], title=f"{s['metric']} vs {xlabel}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save_figure(fig, os.path.join(out_dir, fname))


def over_training_plot(s, out_dir):
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, stat, label in zip(axes, ('decision_accuracy', 'spearman'), ('decision accuracy', 'Spearman ρ')):
        for z in [z['preset'] for z in s['sizes']]:
            pts = [(p['train_flops'], p[stat]) for p in s['over_training'] if p['size'] == z]
            if pts:
                ax.plot(*zip(*pts), marker='o', label=z)
        if stat in s['agree_target']:
            ax.axhline(s['agree_target'][stat], color='grey', linestyle='--', label='target')
        c = s['cheapest_agreeing']
        if c:
            ax.plot([c['train_flops']], [c[stat]], marker='*', markersize=14, color='black', linestyle='none',
                    label='cheapest agreeing')
        ax.set_xscale('log')
        ax.set(xlabel='train FLOPs of the size so far (all its runs)',
               ylabel=f"{label} vs the largest size's final ranking", title=f"{label} over training")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return save_figure(fig, os.path.join(out_dir, 'agreement_over_training.png'))


def scale_plots(s, out_dir):
    sizes = [z['preset'] for z in s['sizes']]
    cell = {(c['tokenizer'], c['size']): c for c in s['cells']}
    n = {z['preset']: z['n_params_nonembedding'] for z in s['sizes']}
    files = pair_scatters(s, cell, out_dir) + [rho_heatmap(s, sizes, out_dir)]
    curves = {**s['fits'], '_to': [x['n_params'] for x in s['extrapolation']]} if s.get('fits') else None
    files.append(metric_vs(s, cell, sizes, lambda t, z: n[z], 'non-embedding parameters',
                           f"{s['metric'].replace('.', '_')}_vs_params.png", out_dir, curves))
    if s['cost']:
        def train_flops(t, z):
            return (s['cost'].get(t, {}).get(z) or {}).get('train_flops')
        files.append(metric_vs(s, cell, sizes, train_flops, 'train FLOPs',
                               f"{s['metric'].replace('.', '_')}_vs_train_flops.png", out_dir,
                               s.get('fits_flops') or None))
    if s['over_training']:
        files.append(over_training_plot(s, out_dir))
    return files


def headline_line(s):
    h = s.get('headline')
    if not h or h.get('spearman') is None:
        return None
    return (f"{h['small']} -> {h['large']}: Spearman rho {h['spearman']:.3f} (p {h['spearman_p']:.3f}), "
            f"Kendall tau-b {h['kendall']:.3f} (p {h['kendall_p']:.3f}), decision accuracy "
            f"{h['decision_accuracy']:.2f}: {h['verdict']}; top-1 {'agrees' if h['top1_agree'] else 'differs'}, "
            f"regret {h['regret']:.4f}")
