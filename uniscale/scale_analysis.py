"""
The scale study's numbers: does the ranking of tokenizers at a small model size predict the ranking at a large one,
can seed noise tell, how early in training, what would a scaling fit have said, and what does each tokenizer cost?

scale_analysis(records, cfg) takes the runs correlate.py loaded and checked (eval.json, config.json, log.jsonl of
each) and returns the summary dict written to summary.json: what was held fixed; per (small, large) pair the rank
statistics, seed intervals and the verdict (and what would resolve it); the headline under the other bpb weighting;
per-algorithm and per-language pairs with Holm's correction; agreement over training (`over_training`,
`cheapest_agreeing`); the ranking at equal train FLOPs beside the one at equal bytes; scaling fits, extrapolation and
backtest; cost (train FLOPs, the LM head's share, tokens per parameter, inference FLOPs per byte); zero-compute
predictors (tokenizer metrics) against the largest size.
"""
import itertools
import json
import math
import re

import numpy as np

from uniscale import fairness_report, power_law, rank_stats, resolve_sim, verdict_words
from uniscale.rank_stats import ALPHA, decision_accuracy, rank_tests, spearman
from uniscale.study_card import study_card

MIN_GROUP = 3                # tokenizers needed for a within-algorithm correlation
VOCAB_MULTIPLE = 64          # model.GPTConfig.vocab_multiple: the LM head's rows are the vocabulary padded to this
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


def macro_bpb(ev):
    """The language-averaged bpb: the mean of eval.json's per_lang bpb, every language counted once."""
    vals = [metric_value(v, 'bpb') for v in (ev.get('per_lang') or {}).values()]
    return float(np.mean(vals)) if vals and None not in vals else None


def weighting_of(evals, cfg):
    """(value_of(eval.json) -> number, the weighting used, a sentence saying what it is). bpb: 'macro' (every
    language once) or 'bytes' (eval.json's bpb, pooled over the test bytes); other metrics: no weighting (None)."""
    if cfg['metric'] != 'bpb':
        return (lambda ev: metric_value(ev, cfg['metric'])), None, f"{cfg['metric']} as eval.json holds it"
    pooled = (lambda ev: metric_value(ev, 'bpb')), 'bytes', \
        "byte-weighted: eval.json's bpb, every test byte counts once (languages with more test text weigh more)"
    have = [bool(ev.get('per_lang')) for ev in evals]
    if cfg['weighting'] == 'bytes':
        return pooled
    if not any(have):
        return pooled[:2] + ("byte-weighted: weighting='macro' was asked, but no eval.json has per-language bpb "
                             "(per_lang)",)
    if not all(have):
        ev = evals[have.index(False)]
        raise SystemExit(f"{ev['_path']}: no per-language bpb (per_lang) while other runs have it, so the language "
                         f"average cannot be taken; re-run eval_bpb.py --run={ev.get('run_dir', '')} --force=True, "
                         f"or pass --weighting=bytes")
    n = len({lang for ev in evals for lang in ev['per_lang']})
    return macro_bpb, 'macro', f"language-averaged (macro): the mean of the {n} languages' bpb, each counted once"


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
def noise_vs_gaps(cells, tokenizers, size):
    """rank_stats.noise_vs_gaps of one size's cells (the tokenizers present there)."""
    return {'size': size, **rank_stats.noise_vs_gaps([cells[t, size] for t in tokenizers if (t, size) in cells])}


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
    ci = rank_stats.bootstrap_spearman_ci(xs, ys, nb, seed)
    da = float(decision_accuracy(mx, my))
    da_ci = rank_stats.bootstrap_decision_accuracy_ci(xs, ys, nb, seed)
    word, rule = rank_stats.verdict_rule(rho, p_rho, p_tau, ci, da, da_ci, len(toks))
    p = {**out, 'spearman': rho, 'spearman_p': p_rho, 'kendall': tau, 'kendall_p': p_tau, 'p_method': how,
         'spearman_ci': ci, 'decision_accuracy': da, 'decision_accuracy_ci': da_ci,
         'min_seeds': int(min(len(c) for c in xs + ys)), 'small_pick': toks[pick], 'large_best': toks[top],
         'top1_agree': bool(regret == 0.0), 'regret': regret,
         'regret_bpb': regret if cfg['metric'] == 'bpb' else None, 'verdict': word,
         'verdict_rule': rule}
    p['to_resolve'] = rank_stats.to_resolve(p, [noise_vs_gaps(cells, toks, z) for z in (small, large)]) \
        if p['verdict'] == 'not resolved' else None
    return p


def all_pairs(cells, sizes, higher, cfg, tokenizers=None):
    tokenizers = tokenizers or sorted({t for t, _ in cells}, key=natural_key)
    return [compare_sizes(cells, tokenizers, a, b, higher, cfg) for a, b in itertools.combinations(sizes, 2)]


# ---------------------------------------------------------------- agreement over training
def run_train_tokens(rec):
    """Tokens the run trained on: eval.json tokens_seen, else config total_steps x tokens_per_step."""
    ev, c = rec['eval'], rec['config']
    if ev.get('tokens_seen'):
        return float(ev['tokens_seen'])
    if c.get('total_steps') and c.get('tokens_per_step'):
        return float(c['total_steps'] * c['tokens_per_step'])
    return None


def size_train_flops(records, size):
    """What a size cost: flops_per_token x tokens trained, summed over every run of it (every tokenizer and seed);
    None when a run lacks either. The one definition both sides of the compute-saving share use."""
    recs = [r for r in records if r['eval']['preset'] == size]
    costs = [(r['eval'].get('flops_per_token'), run_train_tokens(r)) for r in recs]
    return float(sum(f * n for f, n in costs)) if recs and all(f and n for f, n in costs) else None


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


def at_fraction(records, size, tokenizers, f):
    """Per tokenizer (those with runs of the size), the per-seed val bpb interpolated at fraction f
    of training; None when a run has no curve."""
    out = []
    for t in tokenizers:
        curves = [run_curve(r) for r in records
                  if r['eval']['preset'] == size and r['eval']['tokenizer'] == t]
        if any(c is None for c in curves):
            return None
        if curves:
            out.append(np.array([np.interp(f, *c) for c in curves]))
    return out


def over_training(records, sizes, tokenizers, reference, higher, val_reference=None):
    """Per size and evaluation point (fractions of training on the grid of the size's run with the
    fewest evaluations, each run's val bpb interpolated there): the ranking of the per-tokenizer seed
    means against `reference`, the verdict's (the largest size's final means on the test split under
    the headline's weighting, one per tokenizer). log.jsonl's val bpb is pooled over the val bytes
    (train.py logs no per-language val), so the points are pooled val whatever the weighting;
    `val_reference` (the largest size's last val bpb, pooled too) gives the like-for-like agreement
    beside it (`spearman_val`, `decision_accuracy_val`), so that a val-vs-test or weighting
    difference can be told from disagreement. train_flops is what the whole size costs up to that
    point: size_train_flops (every tokenizer and seed) x fraction."""
    ref = oriented(reference, higher)
    vref = oriented(val_reference, higher) if val_reference is not None else None
    points = []
    for size in sizes:
        recs = [r for r in records if r['eval']['preset'] == size]
        curves = {id(r): run_curve(r) for r in recs}
        cost = size_train_flops(records, size)
        if any(c is None for c in curves.values()) or cost is None:
            continue
        shortest = min(curves.values(), key=lambda c: len(c[0]))[0]
        grid = shortest[shortest >= max(c[0][0] for c in curves.values()) - 1e-12]
        here = [i for i, t in enumerate(tokenizers) if any(r['eval']['tokenizer'] == t for r in recs)]
        for f in grid:
            means = [np.mean([np.interp(f, *curves[id(r)]) for r in recs
                              if r['eval']['tokenizer'] == tokenizers[i]]) for i in here]
            p = dict(size=size, fraction=float(f), train_flops=float(cost * f),
                     spearman=float(spearman(means, ref[here])),
                     decision_accuracy=float(decision_accuracy(means, ref[here])))
            if vref is not None:
                p.update(spearman_val=float(spearman(means, vref[here])),
                         decision_accuracy_val=float(decision_accuracy(means, vref[here])))
            points.append(p)
    return points


def meets(stats, target):
    """Whether a dict of statistics reaches every threshold of `target` ({statistic: value})."""
    return all(stats.get(k) is not None and not math.isnan(stats[k]) and stats[k] >= v - 1e-12
               for k, v in target.items())


def pair_gate(pairs, sizes, target):
    """{size: (agrees, why)}: whether the pair table's row (size, largest size) -- the verdict's
    reference, the test split, the headline's weighting, at the end of the size's training -- reaches
    `target` and picks the largest size's best. A size it does not clear cannot be said to agree at
    any point of its training. The largest size is its own reference."""
    large, out = sizes[-1], {sizes[-1]: (True, None)}
    for z in sizes[:-1]:
        row = next((p for p in pairs if (p['small'], p['large']) == (z, large)), None)
        if row is None or row.get('spearman') is None:
            out[z] = (False, f"no {z} -> {large} row in the pair table")
            continue
        why = []
        if not meets(row, target):
            why.append(', '.join(f"{k} {row[k]:.3f}" for k in target) + " at the end of training "
                       "(test split, the verdict's ranking), below the target")
        if not row['top1_agree']:
            why.append(f"top pick differs ({row['small_pick']} vs {row['large_best']})")
        out[z] = (not why, f"the pair table's {z} -> {large} has " + ' and its '.join(why)
                  if why else None)
    return out


def cheapest_agreeing(points, target, gate=None):
    """The point of least train_flops whose agreement reaches every threshold of `target`
    ({statistic: value}, e.g. {'decision_accuracy': 1.0}) there and at every later evaluation of the
    same size (so that a lucky early crossing that later falls away does not count), of a size that
    `gate` ({size: (ok, why)}, pair_gate) clears; None when no point does."""
    good = []
    for i, p in enumerate(points):
        later = [q for q in points[i:] if q['size'] == p['size']]
        if all(meets(q, target) for q in later) and (gate is None or gate[p['size']][0]):
            good.append(p)
    return min(good, key=lambda p: p['train_flops'], default=None)


def point_interval(records, point, tokenizers, ref_cells, cfg):
    """The seed intervals (rank_stats' seed-noise model, as the pair table's) of the agreement at an
    over-training point: the size's per-seed val bpb at that fraction against the per-seed values of
    the reference (the largest size's cells, the verdict's); None for one seed per cell."""
    here = [t for t in tokenizers if any(r['eval']['preset'] == point['size']
                                         and r['eval']['tokenizer'] == t for r in records)]
    xs = at_fraction(records, point['size'], here, point['fraction'])
    ys = [ref_cells[tokenizers.index(t)] for t in here]
    if xs is None:
        return {'decision_accuracy_ci': None, 'spearman_ci': None}
    nb, seed = cfg['n_bootstrap'], cfg['seed']
    return {'decision_accuracy_ci': rank_stats.bootstrap_decision_accuracy_ci(xs, ys, nb, seed),
            'spearman_ci': rank_stats.bootstrap_spearman_ci(xs, ys, nb, seed)}


def compute_saving(records, points, pairs, sizes, tokenizers, ref_cells, cfg):
    """The compute-saving claim and what stops it: `cheapest_agreeing` (the point, with its seed
    intervals and `supported`: every target's interval lower end reaches it) and `agreeing_blocked`
    (cheaper points the val curve alone would pick, of sizes the pair table does not clear, with
    why)."""
    target = cfg['agree_target']
    gate = pair_gate(pairs, sizes, target)
    c = cheapest_agreeing(points, target, gate)
    if c:
        c = {**c, **point_interval(records, c, tokenizers, ref_cells, cfg)}
        ci = {'decision_accuracy': c['decision_accuracy_ci'], 'spearman': c['spearman_ci']}
        c['supported'] = all(ci.get(k) is not None and ci[k][0] >= v - 1e-12
                             for k, v in target.items())
    blocked = []
    for z in sizes:
        u = cheapest_agreeing([p for p in points if p['size'] == z], target)
        if u and not gate[z][0] and (c is None or u['train_flops'] < c['train_flops']):
            blocked.append(dict(size=z, fraction=u['fraction'], train_flops=u['train_flops'],
                                why=gate[z][1]))
    return c, blocked


# ---------------------------------------------------------------- equal train FLOPs
def flops_curve(rec):
    """(train FLOPs, val bpb, step) arrays at each evaluation of log.jsonl (FLOPs = flops_per_token x tokens)."""
    fpt = rec['eval'].get('flops_per_token')
    pts = [(fpt * e['tokens'], e['val_bpb'], e['step']) for e in rec.get('events') or []
           if fpt and e.get('val_bpb') is not None and e.get('tokens') is not None and e.get('step') is not None]
    return np.array(pts, float).T if len(pts) >= 2 else None


def equal_flops(records, sizes, tokenizers, higher):
    """Per size, the ranking at equal train FLOPs beside the one at equal bytes (both val bpb of log.jsonl): every
    run's val bpb interpolated at the train FLOPs the size's cheapest run spent, against each run's last val bpb;
    and the smallest-to-largest agreement under each. Sizes whose runs lack a log are skipped."""
    rows = []
    for z in sizes:
        recs = [r for r in records if r['eval']['preset'] == z]
        curves = {id(r): flops_curve(r) for r in recs}
        if not recs or any(c is None for c in curves.values()):
            continue
        cheap = min(recs, key=lambda r: curves[id(r)][0][-1])
        at = float(curves[id(cheap)][0][-1])
        toks = [t for t in tokenizers if any(r['eval']['tokenizer'] == t for r in recs)]
        of = {t: [r for r in recs if r['eval']['tokenizer'] == t] for t in toks}
        flops = {t: float(np.mean([np.interp(at, *curves[id(r)][:2]) for r in of[t]])) for t in toks}
        bytes_ = {t: float(np.mean([curves[id(r)][1][-1] for r in of[t]])) for t in toks}
        frac = [float(np.interp(at, curves[id(r)][0], curves[id(r)][2]) / (r['config'].get('total_steps')
                      or r['eval'].get('total_steps') or curves[id(r)][2][-1])) for r in recs]
        sign = -1 if higher else 1
        rows.append(dict(size=z, train_flops=at, cheapest=cheap['eval']['tokenizer'], bpb_at_flops=flops,
                         bpb_at_bytes=bytes_, ranking_at_flops=sorted(toks, key=lambda t: sign * flops[t]),
                         ranking_at_bytes=sorted(toks, key=lambda t: sign * bytes_[t]),
                         spearman=float(spearman([flops[t] for t in toks], [bytes_[t] for t in toks])),
                         decision_accuracy=float(decision_accuracy([flops[t] for t in toks],
                                                                   [bytes_[t] for t in toks])),
                         schedule_fraction=[min(frac), max(frac)]))
    if len(rows) < 2:
        return {'sizes': rows, 'headline': None}
    a, b = rows[0], rows[-1]
    toks = [t for t in a['bpb_at_flops'] if t in b['bpb_at_flops']]

    def agree(key):
        x, y = [a[key][t] for t in toks], [b[key][t] for t in toks]
        return float(spearman(x, y)), float(decision_accuracy(x, y))
    (rf, df), (rb, db) = agree('bpb_at_flops'), agree('bpb_at_bytes')
    return {'sizes': rows, 'headline': dict(small=a['size'], large=b['size'], n_tokenizers=len(toks), spearman=rf,
                                            decision_accuracy=df, spearman_at_bytes=rb, decision_accuracy_at_bytes=db)}


# ---------------------------------------------------------------- fits, cost, what was held fixed
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
    testable = len(sizes) > power_law.MIN_SIZES
    extrapolation = power_law.extrapolate(fits, cfg['extrapolate_to']) if fits and testable else []
    complete = [t for t in tokenizers if all((t, z) in cells for z in sizes)]
    bt = power_law.backtest([n_of[z] for z in sizes], {t: [cells[t, z].mean() for z in sizes] for t in complete})
    if bt:
        bt.update(backtest_noise([cells[t, z] for t in complete for z in sizes],
                                 [cells[t, sizes[-1]] for t in complete]))

    def public(f, band_to=()):
        out = {k: v for k, v in f.items() if k not in ('draws', 'tail_draws')}
        if band_to and not power_law.withheld(f) and f['draws'] is not None:
            out['band'] = law_band(f, band_to)
        return out
    dof = len(sizes) - 3
    band_to = cfg['extrapolate_to'] if testable else ()
    return {'fits': {t: public(f, band_to) for t, f in fits.items()},
            'fits_flops': {t: public(f) for t, f in fits_flops.items()},
            'extrapolation': extrapolation, 'backtest': bt,
            'extrapolation_note': None if testable else (
                f"{len(sizes)} sizes: the law E + A N^-alpha has three parameters, so nothing "
                f"is left to test whether it holds; nothing is extrapolated (no predicted bpb, "
                f"ranking or P(best) beyond the sizes)"),
            'backtest_note': None if bt else f"no backtest: {len(sizes)} sizes; refitting the three-parameter law "
                                             f"without the largest needs {power_law.BACKTEST_SIZES} or more sizes",
            'fits_note': f"{len(sizes)} sizes, {dof} degree(s) of freedom left per fit"
                         + (": nothing tests the law, and where a bound binds (E = 0, E = min "
                            "bpb, alpha at its limit) the fit misses the means (its residuals say "
                            "by how much)" if dof == 0 else '')}


def law_band(fit, to, points=24):
    """{n, mean, lo, hi} of the law and its printed interval (power_law.extrapolate) from the
    largest size fitted to the largest of `to`, for the plot's dashed line and band."""
    ns = np.geomspace(fit['n_max'], max(max(to), fit['n_max']), points)
    xs = [x['bpb']['t'] for x in power_law.extrapolate({'t': fit}, ns)]
    return {'n': ns.tolist(), **{k: [x[k] for x in xs] for k in ('mean', 'lo', 'hi')}}


def backtest_noise(cells, largest):
    """{seed_sd, seed_sd_df, largest_se}: the seed sd pooled within every cell of the backtest's
    tokenizers (None with one seed per cell) and the standard error of a largest-size mean (sd /
    sqrt(median seeds)), to put the backtest's mean absolute error against."""
    s2, df = rank_stats.pooled_variance(cells)
    if s2 is None:
        return {'seed_sd': None, 'seed_sd_df': 0, 'largest_se': None}
    k = float(np.median([len(c) for c in largest]))
    return {'seed_sd': float(np.sqrt(s2)), 'seed_sd_df': int(df),
            'largest_se': float(np.sqrt(s2 / k))}


def head_flops_per_token(ev, config):
    """Training FLOPs per token of the LM head, as model.flops_per_token counts them: 6 x padded vocabulary x
    n_embd. n_embd comes from the vocabulary matrices in n_params - n_params_nonembedding (model.num_params): two
    V x d matrices untied (apertus), one tied plus gpt2's block_size x d positions. None when a number is missing."""
    v = (config.get('model_args') or {}).get('vocab_size') or ev.get('vocab_size')
    diff = (ev.get('n_params') or 0) - (ev.get('n_params_nonembedding') or 0)
    arch = ev.get('arch') or config.get('arch')
    if not v or diff <= 0 or (arch == 'gpt2' and not config.get('block_size')):
        return None
    d = diff / (v + config['block_size']) if arch == 'gpt2' else diff / (2 * v)
    mult = (config.get('model_args') or {}).get('vocab_multiple', VOCAB_MULTIPLE)
    return 6.0 * (-(-v // mult) * mult) * d


def cost_table(records, tokenizers, sizes, metric_cells):
    """{tokenizer: {size: {train_flops, head_flops_share, tokens_per_param, tokens_per_param_nonembedding,
    inference_flops_per_byte, bytes_per_token, value}}} (means over the cell's seeds). Inference FLOPs per token =
    flops_per_token / 3 (the forward pass: 2 per matmul weight incl. the LM head, plus attention at the full
    context); per byte: divided by the tokenizer's bytes per token on the evaluation text."""
    out = {}
    for t in tokenizers:
        for z in sizes:
            recs = [r for r in records if r['eval']['tokenizer'] == t and r['eval']['preset'] == z]
            fpt = [r['eval'].get('flops_per_token') for r in recs]
            if not recs or None in fpt:
                continue
            tokens = [run_train_tokens(r) for r in recs]
            head = [head_flops_per_token(r['eval'], r['config']) for r in recs]
            bpt = np.mean([r['eval']['n_bytes'] / r['eval']['n_tokens'] for r in recs])

            def per_param(key):
                return float(np.mean([n / r['eval'][key] for n, r in zip(tokens, recs)])) \
                    if None not in tokens and all(r['eval'].get(key) for r in recs) else None
            out.setdefault(t, {})[z] = {
                'train_flops': float(np.mean([f * n for f, n in zip(fpt, tokens)])) if None not in tokens else None,
                'head_flops_share': float(np.mean([h / f for h, f in zip(head, fpt)])) if None not in head else None,
                'tokens_per_param': per_param('n_params'),
                'tokens_per_param_nonembedding': per_param('n_params_nonembedding'),
                'inference_flops_per_byte': float(np.mean(fpt) / 3 / bpt), 'bytes_per_token': float(bpt),
                'value': float(metric_cells[t, z].mean()) if (t, z) in metric_cells else None}
    return out


def value_span(values):
    """[least, most] of the runs' values; None where a run lacks one."""
    return [min(values), max(values)] if values and None not in values else None


def run_numbers(recs):
    """The study card's numbers of one size (uniscale/study_card.py), each [least, most] over its
    runs: parameters (eval.json), tokens trained (run_train_tokens) and per parameter, train FLOPs
    (flops_per_token x those tokens), the tokens scored; and the distinct byte counts of the
    scored documents (eval.json n_bytes)."""
    ev = [r['eval'] for r in recs]
    tokens = [run_train_tokens(r) for r in recs]
    flops = [e['flops_per_token'] * n if e.get('flops_per_token') and n else None
             for e, n in zip(ev, tokens)]
    per_param = [n / e['n_params'] if n and e.get('n_params') else None for e, n in zip(ev, tokens)]
    return dict(n_runs=len(recs), n_params=value_span([e.get('n_params') for e in ev]),
                n_params_nonembedding=value_span([e.get('n_params_nonembedding') for e in ev]),
                train_tokens=value_span(tokens), tokens_per_param=value_span(per_param),
                train_flops_per_run=value_span(flops),
                eval_tokens=value_span([e.get('n_tokens') for e in ev]),
                eval_bytes=sorted({e['n_bytes'] for e in ev if e.get('n_bytes') is not None}))


def held_fixed(records, sizes, weighting, weighting_note):
    """What every tokenizer of a size shares (or not): per size the budget and its unit, the bytes and tokens the
    runs saw, the context (block_size tokens, or context_bytes), the learning rate and schedule (each the distinct
    values over the size's runs), and the weighting of the headline bpb; with the study card's
    numbers per size (run_numbers; train_flops: size_train_flops, every run of the size)."""
    def distinct(recs, key):
        return [json.loads(v) for v in sorted({json.dumps(r['config'].get(key)) for r in recs})]

    def seen(r, key):
        last = (r.get('events') or [{}])[-1]
        return r['eval'].get(f'{key}_seen') or last.get(key)
    rows = []
    for z in sizes:
        recs = [r for r in records if r['eval']['preset'] == z]
        b, t = [seen(r, 'bytes') for r in recs], [seen(r, 'tokens') for r in recs]
        rows.append(dict(size=z, budget=distinct(recs, 'budget'), budget_unit=distinct(recs, 'budget_unit'),
                         bytes_seen=[min(b), max(b)] if None not in b else None,
                         tokens_seen=[min(t), max(t)] if None not in t else None,
                         block_size=distinct(recs, 'block_size'), context_bytes=distinct(recs, 'context_bytes'),
                         lr=distinct(recs, 'lr'), schedule=distinct(recs, 'schedule'),
                         **run_numbers(recs), train_flops=size_train_flops(records, z)))
    return {'sizes': rows, 'weighting': weighting, 'weighting_note': weighting_note}


ACROSS_LANGUAGES = ('gini_tokens_per_byte', 'premium')  # across languages: no weighting to pick


def intrinsic_value(m, key, weighting=None):
    """A tokenizer's metric from its metrics.json and how it was read: under 'macro' the mean of the
    per-language values (every language once, as the headline's bpb; fertility and continued words
    over the languages written with spaces, where they are defined), else 'overall' ('pooled' over
    the text); 'premium' is the mean over languages other than the reference and
    gini_tokens_per_byte is across languages by definition ('languages')."""
    if key == 'premium':
        ref = m.get('premium_reference')
        vals = [v.get('premium') for lang, v in (m.get('per_lang') or {}).items() if lang != ref]
        return (float(np.mean(vals)), 'languages') if vals and None not in vals else (None, None)
    if key in ACROSS_LANGUAGES:
        return (m.get('overall') or {}).get(key), 'languages'
    per = [v.get(key) for v in (m.get('per_lang') or {}).values()]
    per = [v for v in per if v is not None]
    if weighting == 'macro' and per:
        return float(np.mean(per)), 'macro'
    return (m['overall'][key], 'pooled') if key in (m.get('overall') or {}) else (None, None)


def intrinsic_predictors(metrics, tokenizers, reference, higher, weighting=None):
    """{metric: {spearman, decision_accuracy, values, weighting}} of each tokenizer metric as a
    predictor of the reference ranking (the largest size's means, the verdict's weighting), each
    metric read under the same weighting where metrics.json has it per language for every tokenizer
    (intrinsic_value; else pooled for all, never mixed): the metric is oriented by INTRINSIC so that
    rho > 0 means it predicts in the direction its hypothesis says (more bytes per token = better)."""
    ref = oriented(reference, higher)
    out = {}
    for key, sign in INTRINSIC.items():
        got = [intrinsic_value(metrics[t], key, weighting) for t in tokenizers]
        if {w for _, w in got} >= {'macro', 'pooled'}:  # one lacks it per language: pooled for all
            got = [intrinsic_value(metrics[t], key) for t in tokenizers]
        vals, how = [v for v, _ in got], {w for _, w in got if w}
        if None in vals:  # not measured (e.g. no premium without the reference language): reported
            out.setdefault('_skipped', {})[key] = [t for t, v in zip(tokenizers, vals) if v is None]
            continue
        score = -sign * np.asarray(vals, float)  # lower = predicted better, as bpb
        out[key] = {'spearman': float(spearman(score, ref)),
                    'decision_accuracy': float(decision_accuracy(score, ref)),
                    'higher_is_better': sign > 0, 'values': dict(zip(tokenizers, map(float, vals))),
                    'weighting': how.pop()}
    return out


# ---------------------------------------------------------------- the whole study
def other_weighting(evals, cfg, weighting, sizes, higher):
    """The headline pair and the cell means under the weighting the verdict does not use (bpb with per-language
    numbers only); None otherwise."""
    if weighting is None or not all(ev.get('per_lang') for ev in evals):
        return None
    other = 'bytes' if weighting == 'macro' else 'macro'
    cells = build_cells(evals, weighting_of(evals, {**cfg, 'weighting': other})[0])
    return dict(weighting=other, headline=compare_sizes(cells, sorted({t for t, _ in cells}, key=natural_key),
                                                        sizes[0], sizes[-1], higher, cfg),
                means={t: {z: float(cells[t, z].mean()) for z in sizes if (t, z) in cells} for t, _ in cells})


def scale_analysis(records, cfg, metrics=None):
    """The scale-mode summary (as written to summary.json) from the checked runs; metrics: {tokenizer: metrics.json}
    of the tokenizers that have one (tokenizer.py eval)."""
    key, higher = cfg['metric'], cfg['higher_is_better']
    evals = [r['eval'] for r in records]
    value_of, weighting, weighting_note = weighting_of(evals, cfg)
    cells = build_cells(evals, value_of)
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
    by_alg = rank_stats.holm_family({a: all_pairs(cells, sizes, higher, cfg, g)
                                     for a, g in groups.items() if len(g) >= MIN_GROUP})
    langs = sorted({lang for ev in evals for lang in ev.get('per_lang') or {}}) if key == 'bpb' else []

    def lang_cells(lang):
        return build_cells(evals, lambda ev: metric_value(ev.get('per_lang') or {}, f'{lang}.bpb'))
    by_lang = rank_stats.holm_family({lang: all_pairs(lang_cells(lang), sizes, higher, cfg, tokenizers)
                                      for lang in langs})
    headline = next((p for p in pairs[::-1] if p['small'] == sizes[0] and p['large'] == sizes[-1]), None)
    if headline and headline.get('to_resolve'):  # the verdict's pair: how many seeds would resolve it, simulated
        headline['to_resolve'].update(resolve_sim.for_pair(cells, headline, cfg))
    large, small = sizes[-1], sizes[0]
    ranked = [t for t in tokenizers if (t, large) in cells]
    reference = [cells[t, large].mean() for t in ranked]
    cost = cost_table(records, tokenizers, sizes, cells)
    flops_of = {(t, z): c['train_flops'] for t, row in cost.items() for z, c in row.items()}
    val_ref = final_val_bpb(records, large, ranked) if key == 'bpb' else None
    points = over_training(records, sizes, ranked, reference, higher, val_ref) \
        if key == 'bpb' else []
    cheapest, blocked = compute_saving(records, points, pairs, sizes, ranked,
                                       [cells[t, large] for t in ranked], cfg) \
        if points else (None, [])
    metrics = metrics or {}
    have_metrics = [t for t in ranked if t in metrics]
    intrinsic = intrinsic_predictors(metrics, have_metrics, [cells[t, large].mean() for t in have_metrics],
                                     higher, weighting) if len(have_metrics) >= 2 else {}
    skipped = intrinsic.pop('_skipped', {})
    baseline_toks = [t for t in have_metrics if (t, small) in cells] if intrinsic else [t for t in ranked
                                                                                        if (t, small) in cells]
    bs = [cells[t, small].mean() for t in baseline_toks]
    bl = [cells[t, large].mean() for t in baseline_toks]
    s = dict(
        metric=key, higher_is_better=higher, split=evals[0].get('split'), eval_set=evals[0].get('eval_set'),
        weighting=weighting, weighting_note=weighting_note,
        held_fixed=held_fixed(records, sizes, weighting, weighting_note),
        n_runs=len(evals), sizes=[dict(preset=s, n_params_nonembedding=int(n_of[s])) for s in sizes],
        tokenizers=tokenizers,
        cells=[dict(tokenizer=t, size=s, n_seeds=len(c), mean=float(c.mean()),
                    std=float(c.std(ddof=1)) if len(c) > 1 else None, values=c.tolist())
               for (t, s), c in sorted(cells.items(), key=lambda kv: (natural_key(kv[0][0]), sizes.index(kv[0][1])))],
        pairs=pairs, headline=headline,
        verdict_words=verdict_words.reachable(headline['n_tokenizers']) if headline else None,
        other_weighting=other_weighting(evals, cfg, weighting, sizes, higher),
        noise=[noise_vs_gaps(cells, tokenizers, s) for s in sizes],
        by_algorithm=by_alg, by_language=by_lang,
        over_training=points, agree_target=cfg['agree_target'],
        over_training_reference=f"the verdict's: the {large} runs' final {key} on the "
                                f"{evals[0].get('split')} split, "
                                f"{weighting or 'as eval.json holds it'}",
        over_training_measure=("pooled val bpb (log.jsonl has no per-language val)"
                               if weighting == 'macro' else
                               "val bpb of log.jsonl (pooled over the val bytes)"),
        over_training_val_reference=(f"the {large} runs' last val bpb (log.jsonl, pooled): like for "
                                     f"like" if val_ref else None),
        cheapest_agreeing=cheapest, agreeing_blocked=blocked,
        largest_size_train_flops=size_train_flops(records, large),
        largest_size_runs=sum(r['eval']['preset'] == large for r in records),
        equal_flops=equal_flops(records, sizes, ranked, higher) if key == 'bpb' else None,
        **scaling_section(cells, sizes, tokenizers, n_of, flops_of, cfg),
        cost=cost,
        intrinsic_predictors=intrinsic,
        intrinsic_baseline=dict(size=small, tokenizers=baseline_toks,
                                spearman=float(spearman(oriented(bs, higher), oriented(bl, higher)))
                                if len(bs) >= 2 else None,
                                decision_accuracy=float(decision_accuracy(bs, bl)) if len(bs) >= 2 else None),
        intrinsic_missing=[t for t in ranked if t not in metrics], intrinsic_skipped=skipped,
        fairness=fairness_report.fairness_summary(metrics, ranked, cells, large, higher, cfg),
        thresholds=dict(high=rank_stats.HIGH, moderate=rank_stats.MODERATE, alpha=ALPHA,
                        da_high=rank_stats.DA_HIGH, da_moderate=rank_stats.DA_MODERATE,
                        rule="the highest band word either rule grants (verdict_rule names "
                             "it): rank correlation, high/moderate/low when Spearman's and "
                             "Kendall's p are both below alpha and the lower end of the seed "
                             "interval of rho is in the band; decision accuracy (>= 5 "
                             "tokenizers), high/moderate when the point and the lower end of "
                             "its seed interval are >= da_high / da_moderate; 'reversed' when "
                             "both p < alpha, rho < 0 and the interval's upper end is below 0; "
                             "else 'not resolved'",
                        multiplicity='Holm over every testable (group, pair) of by_algorithm, and of by_language'),
        p_values=f"two-sided permutation test (scipy.stats.permutation_test): exact over all n! orderings for "
                 f"n <= {cfg['exact_max_n']} tokenizers, else Monte-Carlo with {cfg['n_permutations']} orderings "
                 f"(seed {cfg['seed']})",
        bootstrap=dict(n_resamples=cfg['n_bootstrap'], seed=cfg['seed'], level=0.95,
                       what='parametric: each cell mean redrawn as mean + N(0, s2 / n_seeds), s2 the seed variance '
                            'pooled over the size\'s cells and chi-square-scaled for its degrees of freedom '
                            '(rank_stats.noisy_means; the scaling fits use the same, around the fitted law)'))
    s['study_card'] = study_card(s['held_fixed'], headline, s['cells'], s['noise'], s['eval_set'],
                                 weighting)
    return s
