"""
The scale study's numbers: does the ranking of tokenizers at a small model size predict the ranking at a large one,
how early in training, what would a scaling fit have said, and what does each tokenizer cost?

scale_analysis(records, cfg) takes the runs correlate.py loaded and checked (eval.json, config.json, log.jsonl of
each) and returns the summary dict written to summary.json: per (small, large) pair the rank statistics and decision
accuracy; agreement over training (`over_training`, `cheapest_agreeing`); scaling fits, extrapolation and backtest;
cost (train FLOPs, inference FLOPs per byte); zero-compute predictors (tokenizer metrics) against the largest size.
"""
import itertools
import math
import re

import numpy as np

from uniscale import power_law, rank_stats
from uniscale.rank_stats import decision_accuracy, rank_tests, spearman

MIN_GROUP = 3                # tokenizers needed for a within-algorithm correlation
# zero-compute predictors: metrics.json key (under 'overall'; 'premium' is averaged over the non-reference
# languages) -> +1 where a higher value is hypothesised to mean a better tokenizer, -1 where lower is
INTRINSIC = {'bytes_per_token': +1, 'chars_per_token': +1, 'fertility': -1, 'continued_words': -1,
             'renyi_efficiency': +1, 'shannon_efficiency': +1, 'vocab_utilisation': +1,
             'gini_tokens_per_byte': -1, 'premium': -1}


def metric_value(ev, key):
    """eval.json's number at a dotted key ('bpb', 'tasks.xnli.acc_norm'); None when absent."""
    v = ev
    for part in key.split('.'):
        if not isinstance(v, dict) or part not in v:
            return None
        v = v[part]
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def natural_key(name):
    """bpe-80k before bpe-128k: digit runs compare as numbers."""
    return [int(p) if p.isdigit() else p for p in re.split(r'(\d+)', name)]


def build_cells(evals, value_of):
    """{(tokenizer, preset): per-seed values (seed order)} for the evals where value_of(ev) is a number."""
    cells = {}
    for ev in evals:
        v = value_of(ev)
        if v is None:
            continue
        cell = cells.setdefault((ev['tokenizer'], ev['preset']), {})
        if ev['seed'] in cell:
            raise SystemExit(f"{ev['_path']}: a second run of {ev['tokenizer']} {ev['preset']} seed {ev['seed']}; "
                             f"move one of them out of the runs folder")
        cell[ev['seed']] = v
    return {k: np.array([c[s] for s in sorted(c)]) for k, c in cells.items()}


def oriented(values, higher):
    """Values turned so that lower is better (the orientation of bpb)."""
    return -np.asarray(values, float) if higher else np.asarray(values, float)


# ---------------------------------------------------------------- pairs of sizes
def compare_sizes(cells, tokenizers, small, large, higher, cfg):
    """The statistics of one (small, large) pair over the tokenizers present at both sizes."""
    toks = [t for t in tokenizers if (t, small) in cells and (t, large) in cells]
    out = dict(small=small, large=large, n_tokenizers=len(toks), tokenizers=toks,
               smallest_p_possible=rank_stats.smallest_p(len(toks)))
    if len(toks) < 2:
        return {**out, 'spearman': None, 'decision_accuracy': None, 'verdict': 'undefined'}
    xs, ys = [cells[t, small] for t in toks], [cells[t, large] for t in toks]
    mx, my = np.array([c.mean() for c in xs]), np.array([c.mean() for c in ys])
    rho, p_rho, tau, p_tau, how = rank_tests(mx, my, cfg['exact_max_n'], cfg['n_permutations'], cfg['seed'])
    best = np.argmax if higher else np.argmin
    pick, top = int(best(mx)), int(best(my))
    regret = float(abs(my[pick] - my[top]))
    nb, seed = cfg['n_bootstrap'], cfg['seed']
    return {**out, 'spearman': rho, 'spearman_p': p_rho, 'kendall': tau, 'kendall_p': p_tau, 'p_method': how,
            'spearman_ci': rank_stats.bootstrap_spearman_ci(xs, ys, nb, seed),
            'decision_accuracy': float(decision_accuracy(mx, my)),
            'decision_accuracy_ci': rank_stats.bootstrap_decision_accuracy_ci(xs, ys, nb, seed),
            'min_seeds': int(min(len(c) for c in xs + ys)), 'small_pick': toks[pick], 'large_best': toks[top],
            'top1_agree': bool(regret == 0.0), 'regret': regret,
            'regret_bpb': regret if cfg['metric'] == 'bpb' else None, 'verdict': rank_stats.verdict(rho, p_rho)}


def all_pairs(cells, sizes, higher, cfg, tokenizers=None):
    tokenizers = tokenizers or sorted({t for t, _ in cells}, key=natural_key)
    return [compare_sizes(cells, tokenizers, a, b, higher, cfg) for a, b in itertools.combinations(sizes, 2)]


def noise_vs_gaps(cells, tokenizers, size):
    """Seed std (pooled over tokenizers) next to the gaps between adjacent tokenizers' means at one size."""
    cs = [cells[t, size] for t in tokenizers if (t, size) in cells]
    var = [c.var(ddof=1) for c in cs if len(c) > 1]
    std = float(np.sqrt(np.mean(var))) if var else None
    means = np.sort([c.mean() for c in cs])
    gaps = np.diff(means)
    some = len(gaps) > 0
    return dict(size=size, n_tokenizers=len(cs), seed_std=std, spread=float(means[-1] - means[0]),
                min_gap=float(gaps.min()) if some else None, median_gap=float(np.median(gaps)) if some else None,
                gaps_over_2std=int((gaps > 2 * std).sum()) if std is not None else None, n_gaps=len(gaps))


# ---------------------------------------------------------------- agreement over training
def run_train_tokens(rec):
    """Tokens the run trained on: eval.json tokens_seen, else config total_steps x tokens_per_step."""
    ev, c = rec['eval'], rec['config']
    if ev.get('tokens_seen'):
        return float(ev['tokens_seen'])
    if c.get('total_steps') and c.get('tokens_per_step'):
        return float(c['total_steps'] * c['tokens_per_step'])
    return None


def run_curve(rec):
    """(fractions of training, val bpb) at each evaluation of a run's log.jsonl after step 0; None without one."""
    total = rec['config'].get('total_steps') or rec['eval'].get('total_steps')
    pts = [(e['step'] / total, e['val_bpb']) for e in rec.get('events') or []
           if total and e.get('val_bpb') is not None and e.get('step')]
    return (np.array([p[0] for p in pts]), np.array([p[1] for p in pts])) if pts else None


def final_val_bpb(records, size, tokenizers):
    """Per tokenizer, the mean over seeds of the last val bpb in log.jsonl of the size's runs (each at the end of
    its training); None unless every run has one."""
    out = []
    for t in tokenizers:
        curves = [run_curve(r) for r in records if r['eval']['preset'] == size and r['eval']['tokenizer'] == t]
        if not curves or any(c is None or abs(c[0][-1] - 1.0) > 1e-9 for c in curves):
            return None
        out.append(float(np.mean([c[1][-1] for c in curves])))
    return out


def over_training(records, sizes, tokenizers, reference, higher):
    """Per size and evaluation point (fractions of training on the grid of the size's run with the fewest
    evaluations, each run's val bpb interpolated there): the ranking of the per-tokenizer seed means against
    `reference` (the largest size's final means, one per tokenizer: its last val bpb, so that both sides are
    measured alike and a val-vs-test difference is not read as disagreement). train_flops is what the whole size costs up to
    that point: every tokenizer and seed, flops_per_token x tokens trained x fraction."""
    ref = oriented(reference, higher)
    points = []
    for size in sizes:
        recs = [r for r in records if r['eval']['preset'] == size]
        curves = {id(r): run_curve(r) for r in recs}
        if any(c is None for c in curves.values()) or any(r['eval'].get('flops_per_token') is None for r in recs):
            continue
        shortest = min(curves.values(), key=lambda c: len(c[0]))[0]
        grid = shortest[shortest >= max(c[0][0] for c in curves.values()) - 1e-12]
        cost = sum(r['eval']['flops_per_token'] * (run_train_tokens(r) or 0) for r in recs)
        here = [i for i, t in enumerate(tokenizers) if any(r['eval']['tokenizer'] == t for r in recs)]
        for f in grid:
            means = [np.mean([np.interp(f, *curves[id(r)]) for r in recs if r['eval']['tokenizer'] == tokenizers[i]])
                     for i in here]
            points.append(dict(size=size, fraction=float(f), train_flops=float(cost * f),
                               spearman=float(spearman(means, ref[here])),
                               decision_accuracy=float(decision_accuracy(means, ref[here]))))
    return points


def cheapest_agreeing(points, target):
    """The point of least train_flops whose agreement reaches every threshold of `target` ({statistic: value},
    e.g. {'decision_accuracy': 1.0}) there and at every later evaluation of the same size (so that a lucky
    early crossing that later falls away does not count); None when no point does."""
    def ok(p):
        return all(p.get(k) is not None and not math.isnan(p[k]) and p[k] >= v - 1e-12 for k, v in target.items())
    good = []
    for i, p in enumerate(points):
        later = [q for q in points[i:] if q['size'] == p['size']]
        if all(ok(q) for q in later):
            good.append(p)
    return min(good, key=lambda p: p['train_flops'], default=None)


# ---------------------------------------------------------------- fits, cost, intrinsic metrics
def scaling_section(cells, sizes, tokenizers, n_of, flops_of, cfg):
    """fits (vs non-embedding parameters), fits_flops (vs train FLOPs), extrapolation and backtest; or a message."""
    if cfg['higher_is_better']:
        return {'fits_note': f"no fits: {cfg['metric']} is higher-is-better; the law bpb = E + A N^-alpha is for "
                             f"losses (use --metric=bpb)"}
    if len(sizes) < power_law.MIN_SIZES:
        return {'fits_note': f"no fits: {len(sizes)} sizes; E + A N^-alpha has three parameters and needs "
                             f"{power_law.MIN_SIZES} or more sizes"}
    nb, seed = cfg['n_fit_bootstrap'], cfg['seed']
    fits, fits_flops = {}, {}
    for t in tokenizers:
        have = [z for z in sizes if (t, z) in cells]
        if len(have) < power_law.MIN_SIZES:
            continue
        fits[t] = power_law.fit_with_bootstrap([n_of[z] for z in have], [cells[t, z] for z in have], nb, seed)
        if all(flops_of.get((t, z)) for z in have):
            fits_flops[t] = power_law.fit_with_bootstrap([flops_of[t, z] for z in have],
                                                       [cells[t, z] for z in have], nb, seed)
    extrapolation = power_law.extrapolate(fits, cfg['extrapolate_to']) if fits else []
    complete = [t for t in tokenizers if all((t, z) in cells for z in sizes)]
    bt = power_law.backtest([n_of[z] for z in sizes], {t: [cells[t, z].mean() for z in sizes] for t in complete})

    def public(f):
        return {k: v for k, v in f.items() if k != 'draws'}
    dof = len(sizes) - 3
    return {'fits': {t: public(f) for t, f in fits.items()}, 'fits_flops': {t: public(f) for t, f in fits_flops.items()},
            'extrapolation': extrapolation, 'backtest': bt,
            'fits_note': f"{len(sizes)} sizes, {dof} degree(s) of freedom left per fit"
                         + (": the law interpolates the sizes exactly, so the intervals show seed noise only, not "
                            "whether the law holds" if dof == 0 else '')}


def cost_table(records, tokenizers, sizes, metric_cells):
    """{tokenizer: {size: {train_flops, inference_flops_per_byte, bytes_per_token, value}}}. Inference FLOPs per
    token = flops_per_token / 3 (the forward pass: 2 per matmul weight incl. the LM head, plus attention at the
    full context); per byte: divided by the tokenizer's bytes per token on the evaluation text."""
    out = {}
    for t in tokenizers:
        for z in sizes:
            recs = [r for r in records if r['eval']['tokenizer'] == t and r['eval']['preset'] == z]
            fpt = [r['eval'].get('flops_per_token') for r in recs]
            if not recs or None in fpt:
                continue
            tokens = [run_train_tokens(r) for r in recs]
            bpt = np.mean([r['eval']['n_bytes'] / r['eval']['n_tokens'] for r in recs])
            out.setdefault(t, {})[z] = {
                'train_flops': float(np.mean([f * n for f, n in zip(fpt, tokens)])) if None not in tokens else None,
                'inference_flops_per_byte': float(np.mean(fpt) / 3 / bpt), 'bytes_per_token': float(bpt),
                'value': float(metric_cells[t, z].mean()) if (t, z) in metric_cells else None}
    return out


def intrinsic_value(m, key):
    """A tokenizer's metric from its metrics.json; 'premium' is the mean over languages other than the reference."""
    if key in (m.get('overall') or {}):
        return m['overall'][key]
    if key == 'premium':
        ref = m.get('premium_reference')
        vals = [v.get('premium') for lang, v in (m.get('per_lang') or {}).items() if lang != ref]
        return float(np.mean(vals)) if vals and None not in vals else None
    return None


def intrinsic_predictors(metrics, tokenizers, reference, higher):
    """{metric: {spearman, decision_accuracy, values}} of each tokenizer metric as a predictor of the reference
    ranking (the largest size's means): the metric is oriented by INTRINSIC so that rho > 0 means it predicts in the
    direction its hypothesis says (e.g. more bytes per token = better)."""
    ref = oriented(reference, higher)
    out = {}
    for key, sign in INTRINSIC.items():
        vals = [intrinsic_value(metrics[t], key) for t in tokenizers]
        if None in vals:  # not measured (e.g. no premium without the reference language): said in the report
            out.setdefault('_skipped', {})[key] = [t for t, v in zip(tokenizers, vals) if v is None]
            continue
        score = -sign * np.asarray(vals, float)  # lower = predicted better, as bpb
        out[key] = {'spearman': float(spearman(score, ref)), 'decision_accuracy': float(decision_accuracy(score, ref)),
                    'higher_is_better': sign > 0, 'values': dict(zip(tokenizers, map(float, vals)))}
    return out


# ---------------------------------------------------------------- the whole study
def scale_analysis(records, cfg, metrics=None):
    """The scale-mode summary (as written to summary.json) from the checked runs; metrics: {tokenizer: metrics.json}
    of the tokenizers that have one (tokenizer.py eval)."""
    key, higher = cfg['metric'], cfg['higher_is_better']
    evals = [r['eval'] for r in records]
    cells = build_cells(evals, lambda ev: metric_value(ev, key))
    if not cells:
        raise SystemExit(f"no eval.json holds the metric '{key}'; check --metric (dotted, e.g. tasks.xnli.acc)")
    params = {}
    for ev in evals:
        params.setdefault(ev['preset'], []).append(ev['n_params_nonembedding'])
    n_of = {z: float(np.median(v)) for z, v in params.items()}
    sizes = sorted({s for _, s in cells}, key=n_of.get)
    tokenizers = sorted({t for t, _ in cells}, key=natural_key)
    pairs = all_pairs(cells, sizes, higher, cfg)
    groups = {}  # algorithm (the name's prefix: bpe, unigram, btm) -> its tokenizers
    for t in tokenizers:
        groups.setdefault(t.split('-')[0], []).append(t)
    by_alg = {a: all_pairs(cells, sizes, higher, cfg, g) for a, g in groups.items() if len(g) >= MIN_GROUP}
    langs = sorted({lang for ev in evals for lang in ev.get('per_lang') or {}}) if key == 'bpb' else []
    by_lang = {lang: all_pairs(build_cells(evals, lambda ev: metric_value(ev.get('per_lang') or {}, f'{lang}.bpb')),
                               sizes, higher, cfg, tokenizers) for lang in langs}
    headline = next((p for p in pairs[::-1] if p['small'] == sizes[0] and p['large'] == sizes[-1]), None)
    large, small = sizes[-1], sizes[0]
    ranked = [t for t in tokenizers if (t, large) in cells]
    reference = [cells[t, large].mean() for t in ranked]
    cost = cost_table(records, tokenizers, sizes, cells)
    flops_of = {(t, z): c['train_flops'] for t, row in cost.items() for z, c in row.items()}
    val_ref = final_val_bpb(records, large, ranked) if key == 'bpb' else None
    points = over_training(records, sizes, ranked, val_ref or reference, higher) if key == 'bpb' else []
    metrics = metrics or {}
    have_metrics = [t for t in ranked if t in metrics]
    intrinsic = intrinsic_predictors(metrics, have_metrics, [cells[t, large].mean() for t in have_metrics],
                                     higher) if len(have_metrics) >= 2 else {}
    skipped = intrinsic.pop('_skipped', {})
    baseline_toks = [t for t in have_metrics if (t, small) in cells] if intrinsic else [t for t in ranked
                                                                                        if (t, small) in cells]
    bs = [cells[t, small].mean() for t in baseline_toks]
    bl = [cells[t, large].mean() for t in baseline_toks]
    return dict(
        metric=key, higher_is_better=higher, split=evals[0].get('split'), eval_set=evals[0].get('eval_set'),
        n_runs=len(evals), sizes=[dict(preset=s, n_params_nonembedding=int(n_of[s])) for s in sizes],
        tokenizers=tokenizers,
        cells=[dict(tokenizer=t, size=s, n_seeds=len(c), mean=float(c.mean()),
                    std=float(c.std(ddof=1)) if len(c) > 1 else None, values=c.tolist())
               for (t, s), c in sorted(cells.items(), key=lambda kv: (natural_key(kv[0][0]), sizes.index(kv[0][1])))],
        pairs=pairs, headline=headline, noise=[noise_vs_gaps(cells, tokenizers, s) for s in sizes],
        by_algorithm=by_alg, by_language=by_lang,
        over_training=points, agree_target=cfg['agree_target'],
        over_training_reference=(f"val bpb at the end of the {large} runs (log.jsonl: the same split and scorer as "
                                 f"every point)" if val_ref else f"{key} of the {large} runs' eval.json"),
        cheapest_agreeing=cheapest_agreeing(points, cfg['agree_target']),
        largest_size_train_flops=float(sum(v for (t, z), v in flops_of.items() if z == large and v)) or None,
        **scaling_section(cells, sizes, tokenizers, n_of, flops_of, cfg),
        cost=cost,
        intrinsic_predictors=intrinsic,
        intrinsic_baseline=dict(size=small, tokenizers=baseline_toks,
                                spearman=float(spearman(oriented(bs, higher), oriented(bl, higher)))
                                if len(bs) >= 2 else None,
                                decision_accuracy=float(decision_accuracy(bs, bl)) if len(bs) >= 2 else None),
        intrinsic_missing=[t for t in ranked if t not in metrics], intrinsic_skipped=skipped,
        thresholds=dict(high=rank_stats.HIGH, moderate=rank_stats.MODERATE, alpha=rank_stats.ALPHA),
        p_values=f"two-sided permutation test (scipy.stats.permutation_test): exact over all n! orderings for "
                 f"n <= {cfg['exact_max_n']} tokenizers, else Monte-Carlo with {cfg['n_permutations']} orderings "
                 f"(seed {cfg['seed']})",
        bootstrap=dict(n_resamples=cfg['n_bootstrap'], seed=cfg['seed'], level=0.95,
                       what='seeds resampled with replacement within each (tokenizer, size) cell'))
