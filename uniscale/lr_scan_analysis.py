"""
Does the small size's ranking of the tokenizers survive the learning rate? The analysis of
sweep.py's lr scan.

sweep.py's `lr_scan` trains each tokenizer at the grid's smallest preset and first seed again at
multiples of its lr (runs {preset}_{tokenizer}_s{seed}_lr{mult}), and at absolute lrs, entries
'lr=1e-5', the same for every tokenizer (runs ..._s{seed}_abslr{lr}; Wang et al.'s tiny proxy lr,
~1e-5, is absolute); the grid's own run of that preset and seed is the x1 point. A scan run's lr and
multiplier are read from the runs' configs (its lr / its grid run's lr), never from a name; a run is
an absolute point when its lr is one of correlate.py's `lr_scan_abs` (the sweep passes them), else a
multiplier point. A scan run must be its grid run at another lr and nothing else (its identity
settings and inputs, less lr, are compared).

    summary = lr_scan_summary(scan_records, base_records, cfg)   # records as correlate.load_run
    lines = lr_scan_lines(summary)                               # markdown for report.md

Every value is the headline's: the metric under the headline's weighting
(scale_analysis.weighting_of over the grid's runs: 'macro', the mean of the per-language bpb, by
default). What it shows: whether these lr choices reorder these tokenizers at this size and seed
(Wang et al., ICLR 2026: a small proxy's ranking can flip with a small lr change), and which lr
choice orders them as the largest size does (its mean over seeds, the headline's reference). What
it cannot show alone: one seed per lr choice cannot tell an lr effect from seed noise;
`seed_flip_rate` (the grid's seeds at x1) says how often seeds alone reorder a pair, and every
comparison is read against it.
"""
import itertools
import math

import numpy as np

from uniscale.identity import differences
from uniscale.rank_stats import (ALPHA, decision_accuracy, flip_probability, pair_signs,
                                 pooled_variance, spearman)
from uniscale.scale_analysis import build_cells, natural_key, weighting_of

GRID = ('multiplier', 1.0)   # the grid's own run: the x1 point


def lr_key(lr):
    """An lr (or a multiplier) to 6 significant digits: 2e-3 x 0.5 = 1e-3 reads back as 1e-3;
    how the sweep and the analysis tell whether two lrs are one."""
    return float(f"{lr:.6g}")


def multiplier(scan_lr, base_lr):
    """The scan run's lr over its grid run's, to 6 significant digits."""
    return lr_key(scan_lr / base_lr)


def label(point):
    """x0.5, x1 (a multiple of the grid's lr), lr 1e-05 (an absolute lr): a point as the report
    writes it."""
    kind, value = point
    return f"x{value:g}" if kind == 'multiplier' else f"lr {value:g}"


def ranking(values, toks, higher_is_better):
    """The tokenizers best first (ties by name)."""
    sign = -1 if higher_is_better else 1
    return sorted(toks, key=lambda t: (sign * values[t], natural_key(t)))


def headline_values(scan_records, base_records, cfg):
    """(value_of(eval.json) -> finite number or None, weighting, note): the headline's weighting,
    decided over the grid's runs as scale_analysis decides it, and refused in one line
    (weighting_of) for a scan run that lacks what it needs (per-language bpb under 'macro')."""
    cfg = {'weighting': 'macro', **cfg}   # correlate.py's default
    base = [r['eval'] for r in base_records]
    _, weighting, note = weighting_of(base, cfg)
    value_of = weighting_of(base + [r['eval'] for r in scan_records],
                            {**cfg, 'weighting': weighting or cfg['weighting']})[0]

    def finite(ev):
        v = value_of(ev)
        return v if v is not None and math.isfinite(v) else None
    return finite, weighting, note


def check_same_but_lr(scan, base):
    """Refuse a scan run that differs from its grid run in more than lr (its settings, inputs, or
    the evaluation set it was scored on): it would measure something else. Settings are compared as
    the cells are (each record's `identity`: train.identity_settings + inputs, put there by
    correlate.py: one rule, LEGACY_DEFAULTS for a key an older run lacks, paths left out)."""
    a, b = ({k: v for k, v in r['identity'].items() if k != 'lr'} for r in (scan, base))
    what = differences(b, a)
    sets = (base['eval'].get('eval_set'), scan['eval'].get('eval_set'))
    if sets[0] != sets[1] and isinstance(sets[0], dict) and isinstance(sets[1], dict):
        what += ['eval_set.' + d for d in differences(*sets)]
    if what:
        raise SystemExit(f"lr scan: {scan['name']} differs from its grid run {base['name']} in "
                         f"more than lr ({'; '.join(what[:3])}); a scan run is its grid run at "
                         f"another lr: re-run the sweep (sweep.py lr_scan) or leave it out of "
                         f"--lr_scan_runs")


def absolute_lrs(cfg):
    """correlate.py's lr_scan_abs as lr keys; anything but positive numbers is a one-line error."""
    given = cfg.get('lr_scan_abs') or []
    listed = given if isinstance(given, (list, tuple)) else [given]
    bad = [x for x in listed
           if isinstance(x, bool) or not isinstance(x, (int, float)) or not 0 < x < math.inf]
    if bad or listed is not given:
        what = f"{bad[0]!r} is not a positive lr" if bad else "not a list"
        raise SystemExit(f"lr scan: lr_scan_abs={given!r}: {what}; give the sweep's absolute lrs "
                         f"as a list, e.g. --lr_scan_abs=[1e-5]")
    return {lr_key(x) for x in given}


def grid_runs(base_records, preset, seed):
    """{tokenizer: the grid's run at (preset, seed)}; two of one tokenizer are refused."""
    base = {}
    for r in base_records:
        tok = r['eval']['tokenizer']
        if (r['eval'].get('preset'), r['eval'].get('seed')) == (preset, seed):
            if tok in base:
                raise SystemExit(f"lr scan: two grid runs of {tok} at {preset} seed {seed} "
                                 f"({base[tok]['name']}, {r['name']}): pass one")
            base[tok] = r
    return base


def point_of(scan, base, absolute):
    """(point, multiplier) of a scan run: ('absolute', lr) when its lr is one of `absolute`, else
    ('multiplier', its lr / its grid run's); its grid run's lr is refused."""
    m = multiplier(scan['config']['lr'], base['config']['lr'])
    if m == 1:
        raise SystemExit(f"lr scan: {scan['name']} has its grid run's lr ({base['config']['lr']}): "
                         f"the x1 point is the grid's run ({base['name']}); leave it out of "
                         f"--lr_scan_runs")
    lr = lr_key(scan['config']['lr'])
    return (('absolute', lr) if lr in absolute else ('multiplier', m)), m


def scan_cells(scan_records, base_records, value_of, absolute, what):
    """(preset, seed, {(point, tokenizer): (value, record, multiplier)}, left_out) from the records;
    a point is ('multiplier', m) or ('absolute', lr), the grid's run is GRID; what: the value's
    name, for left_out."""
    where = sorted({(r['eval'].get('preset'), r['eval'].get('seed')) for r in scan_records},
                   key=str)
    if len(where) > 1:
        raise SystemExit(f"lr scan: the scan runs are at {len(where)} (preset, seed) pairs "
                         f"{where}; a scan is one preset and one seed: pass the runs of one scan")
    (preset, seed), cells, left_out = (where or [(None, None)])[0], {}, []  # no scan run: nothing
    base = grid_runs(base_records, preset, seed)
    for r in scan_records:
        tok = r['eval']['tokenizer']
        b = base.get(tok)
        if b is None:
            left_out.append(f"{r['name']}: no grid run of {tok} at {preset}, seed {seed} (its x1 "
                            f"point)")
            continue
        check_same_but_lr(r, b)
        point, m = point_of(r, b, absolute)
        if (point, tok) in cells:
            raise SystemExit(f"lr scan: {tok} at {label(point)} twice "
                             f"({cells[(point, tok)][1]['name']}, {r['name']}): pass one")
        cells[(point, tok)] = (value_of(r['eval']), r, m)
        cells.setdefault((GRID, tok), (value_of(b['eval']), b, 1.0))
    if scan_records:
        left_out += [f"{label(('absolute', lr))} (--lr_scan_abs): no scan run at it"
                     for lr in sorted(absolute) if not any(p == ('absolute', lr) for p, _ in cells)]
    for key, (v, r, _) in list(cells.items()):
        if v is None:
            left_out.append(f"{r['name']}: no finite {what}")
            del cells[key]
    return preset, seed, cells, left_out


def seed_flip_rate(base_records, preset, seed, toks, value_of):
    """How often the grid's other seeds at x1 order a pair otherwise than `seed` does: the noise an
    lr flip is to be read against; None without another seed that has every tokenizer."""
    by_seed = {}
    for r in base_records:
        v = value_of(r['eval'])
        if r['eval'].get('preset') == preset and v is not None:
            by_seed.setdefault(r['eval'].get('seed'), {})[r['eval']['tokenizer']] = v
    ref = pair_signs([by_seed[seed][t] for t in toks])
    others = sorted((s for s, vals in by_seed.items() if s != seed and set(toks) <= set(vals)),
                    key=str)
    if not others or len(toks) < 2:
        return None
    flips = [int((pair_signs([by_seed[s][t] for t in toks]) != ref).sum()) for s in others]
    per_tok = [np.array([by_seed[s][t] for s in [seed] + others]) for t in toks]
    s2, df = pooled_variance(per_tok)
    return {'seeds': others, 'n_flipped': flips, 'n_pairs': len(ref),
            'value': sum(flips) / (len(flips) * len(ref)),
            'seed_std': math.sqrt(s2) if s2 is not None else None, 'seed_df': df}


def point_order(cells, toks):
    """The points by their lr, smallest first: the geometric mean over the tokenizers of each run's
    multiplier (the lr itself when the grid's lr is one for all); a multiplier before an absolute lr
    on a tie."""
    runs = {}
    for (p, t), (_, _, m) in cells.items():
        if t in toks:
            runs.setdefault(p, []).append(m)
    return sorted(runs, key=lambda p: (float(np.mean(np.log(runs[p]))), p[0] == 'absolute', p[1]))


def val_progress(record):
    """(val bpb at step 0, at the last step) of a run's log.jsonl, None without both: did this lr
    train at all?"""
    vals = [(e.get('step'), e.get('val_bpb')) for e in record.get('events') or []
            if isinstance(e.get('val_bpb'), (int, float))]
    return (vals[0][1], vals[-1][1]) if len(vals) >= 2 and vals[0][0] == 0 else None


def point_progress(records):
    """{'start', 'end'}: the mean over the tokenizers of val_progress, None unless every run has
    it."""
    got = [val_progress(r) for r in records]
    if not got or None in got:
        return None
    return {'start': float(np.mean([g[0] for g in got])),
            'end': float(np.mean([g[1] for g in got]))}


def largest_size(base_records, value_of, toks):
    """(preset, {tokenizer: mean over its seeds}, {tokenizer: n seeds}) of the grid's largest size
    (the most non-embedding parameters, median over its runs, as the headline orders the sizes), or
    (None, why, None)."""
    evals = [r['eval'] for r in base_records]
    params = {}
    for ev in evals:
        params.setdefault(ev.get('preset'), []).append(ev.get('n_params_nonembedding'))
    if not params or any(None in v for v in params.values()):
        return None, "the grid's runs do not all record n_params_nonembedding", None
    cells = build_cells(evals, value_of)
    if not cells:
        return None, "no grid run has a finite value", None
    large = max({z for _, z in cells}, key=lambda z: float(np.median(params[z])))
    missing = [t for t in toks if (t, large) not in cells]
    if missing:
        return None, f"{large} has no run of {', '.join(missing)}", None
    means = {t: float(cells[t, large].mean()) for t in toks}
    return large, means, {t: len(cells[t, large]) for t in toks}


def judge(more, noise, flip_p=None):
    """How a difference of `more` pairs ordered as the largest size (an lr choice against the grid's
    lr) reads against seed noise: 'beyond seed flips' only when it is more pairs than the grid's
    seeds alone reorder at x1 AND no pair it turns on could flip by seed noise alone with
    probability ALPHA or more (flip_p: the largest such probability, normal model with the pooled
    seed std; one other seed reordering 0 pairs is one draw, not a measure of that noise)."""
    if more == 0:
        return 'as many'
    if noise is None:
        return 'one seed'
    within = abs(more) <= max(noise['n_flipped']) or (flip_p is not None and flip_p >= ALPHA)
    return 'within seed flips' if within else 'beyond seed flips'


def changed_pair_flip(values, grid, ref, toks, sd):
    """(P, pair, gap): of the tokenizer pairs an lr choice orders as the largest size does and the
    grid's lr does not (or the reverse), the one seed noise flips most easily: P = the larger of its
    flip probabilities at the choice's and at the grid's gap (rank_stats.flip_probability, one run
    each; 0 when the seeds agree exactly); None when no pair changed or sd is unknown."""
    if sd is None:
        return None
    r = pair_signs([ref[t] for t in toks])
    a, b = pair_signs([values[t] for t in toks]), pair_signs([grid[t] for t in toks])
    i, j = np.triu_indices(len(toks), 1)
    best = None
    for k in np.flatnonzero((a == r) != (b == r)):
        t, u = toks[i[k]], toks[j[k]]
        gaps = [abs(values[t] - values[u]), abs(grid[t] - grid[u])]
        p = max(flip_probability(g, sd) or 0.0 for g in gaps) if sd else 0.0
        if best is None or p > best[0]:
            best = (p, [t, u], min(gaps))
    return best


def agreement(values, ref, toks):
    """Spearman and decision accuracy of one lr choice's values against the largest size's, and the
    pairs it orders as the largest size does (decision accuracy x the pairs the largest size does
    not tie)."""
    v, r = [values[t] for t in toks], [ref[t] for t in toks]
    da = float(decision_accuracy(v, r))
    n_counted = int((pair_signs(r) != 0).sum())
    return {'spearman': float(spearman(np.array(v), np.array(r))), 'decision_accuracy': da,
            'n_agree': da * n_counted if n_counted else None}


def vs_largest(out, base_records, value_of):
    """Each lr choice (and each tokenizer at its best lr) against the largest size's ranking, each
    judged against the grid's lr by the seeds' own flips; (None, a note) when there is no largest
    size to compare with."""
    toks = out['tokenizers']
    large, ref, n_seeds = largest_size(base_records, value_of, toks)
    if large is None or large == out['preset']:
        return None, (f"no comparison with the largest size: {ref}" if large is None else
                      f"no comparison with the largest size: the scan is at it ({large})")
    rows = [dict(label=p['label'], **agreement(v, ref, toks))
            for p, v in zip(out['points'], out['values'])]
    rows.append(dict(label='best lr per tokenizer', **agreement(out['best_values'], ref, toks)))
    grid = rows[out['labels'].index(label(GRID))]
    noise = out['seed_flip_rate']
    grid_values = out['values'][out['labels'].index(label(GRID))]
    for row, values in zip(rows, out['values'] + [out['best_values']]):
        more = None if grid['n_agree'] is None else row['n_agree'] - grid['n_agree']
        flip = changed_pair_flip(values, grid_values, ref, toks, noise and noise['seed_std'])
        row.update(vs_grid=more, flip_p=flip and flip[0], flip_pair=flip and flip[1],
                   flip_gap=flip and flip[2],
                   judgement=None if more is None else judge(more, noise, flip and flip[0]))
    n_counted = int((pair_signs([ref[t] for t in toks]) != 0).sum())
    return dict(preset=large, n_seeds=n_seeds, reference=ref, n_counted=n_counted,
                ranking=ranking(ref, toks, out['higher_is_better']), rows=rows), None


def lr_scan_summary(scan_records, base_records, cfg):
    """The lr scan's numbers (fields in docs/DESIGN.md, correlate.py scale summary.json
    `lr_scan`)."""
    metric, hib = cfg.get('metric', 'bpb'), bool(cfg.get('higher_is_better') or False)
    value_of, weighting, note = headline_values(scan_records, base_records, cfg)
    what = {'macro': f'macro {metric}', 'bytes': f'byte-weighted {metric}'}.get(weighting, metric)
    preset, seed, cells, left_out = scan_cells(scan_records, base_records, value_of,
                                               absolute_lrs(cfg), what)
    # the scanned tokenizers: those with x1 and another lr
    toks = sorted({t for p, t in cells if p != GRID and (GRID, t) in cells}, key=natural_key)
    # a point counts only where every scanned tokenizer has it (a diverged or missing run leaves it
    # out)
    points = point_order(cells, toks)
    keep = [p for p in points if all((p, t) in cells for t in toks)]
    left_out += [f"{label(p)}: no run for {', '.join(t for t in toks if (p, t) not in cells)}"
                 for p in points if p not in keep]
    values = [{t: cells[(p, t)][0] for t in toks} for p in keep]
    lrs = [{t: cells[(p, t)][1]['config']['lr'] for t in toks} for p in keep]
    mults = [{t: cells[(p, t)][2] for t in toks} for p in keep]
    out = {'preset': preset, 'seed': seed, 'metric': metric, 'higher_is_better': hib,
           'weighting': weighting, 'weighting_note': note, 'labels': [label(p) for p in keep],
           'points': [{'label': label(p), 'kind': p[0], 'lr': lr, 'multiplier': m}
                      for p, lr, m in zip(keep, lrs, mults)],
           'multipliers': [m[toks[0]] if len(set(m.values())) == 1 else None for m in mults],
           'tokenizers': toks, 'values': values, 'left_out': left_out,
           'rankings': [ranking(v, toks, hib) for v in values],
           'n_pairs': len(toks) * (len(toks) - 1) // 2,
           'val_bpb_progress': [point_progress([cells[(p, t)][1] for t in toks]) for p in keep]}
    if len(keep) < 2 or GRID not in keep or len(toks) < 2:
        out.update(dict.fromkeys((
            'flip_rate', 'decision_accuracy', 'best_lr', 'best_point', 'best_values',
            'best_lr_ranking', 'fixed_lr_ranking', 'best_vs_fixed_decision_accuracy',
            'best_at_edge', 'holds', 'seed_flip_rate', 'vs_largest', 'vs_largest_note')))
        out['words'] = (f"The lr scan{f' at {preset}' if preset else ''} cannot rank: it needs the "
                        f"grid's lr and another for at least two tokenizers, and has {len(toks)} "
                        f"tokenizer(s) at {', '.join(out['labels']) or 'no lr'}.")
        return out
    out.update(scan_numbers(out, keep, mults, hib))
    out['seed_flip_rate'] = seed_flip_rate(base_records, preset, seed, toks, value_of)
    out['vs_largest'], out['vs_largest_note'] = vs_largest(out, base_records, value_of)
    out['words'] = words(out)
    return out


def scan_numbers(out, keep, mults, hib):
    """Flips and decision accuracy between the lr choices, the best lr of each tokenizer."""
    toks, labels = out['tokenizers'], out['labels']
    matrix = np.array([[v[t] for t in toks] for v in out['values']])
    signs = np.array([pair_signs(row) for row in matrix])
    flipped = (signs != signs[0]).any(axis=0)
    by_pair, accuracy = [], []
    for a, b in itertools.combinations(range(len(keep)), 2):
        n = int((signs[a] != signs[b]).sum())
        by_pair.append({'a': labels[a], 'b': labels[b], 'n_flipped': n,
                        'value': n / out['n_pairs']})
        accuracy.append({'a': labels[a], 'b': labels[b],
                         'value': float(decision_accuracy(matrix[a], matrix[b]))})
    best_index = (matrix.argmax if hib else matrix.argmin)(axis=0)  # the smallest lr on a tie
    best_values = {t: float(matrix[best_index[i], i]) for i, t in enumerate(toks)}
    fixed = keep.index(GRID)
    edge = [t for i, t in enumerate(toks)  # best at the smallest or largest lr it ran at
            if mults[best_index[i]][t] in (min(m[t] for m in mults), max(m[t] for m in mults))]
    fixed_vs_best = decision_accuracy(matrix[fixed], [best_values[t] for t in toks])
    return dict(
        flip_rate={'any': int(flipped.sum()) / out['n_pairs'], 'n_flipped': int(flipped.sum()),
                   'by_pair': by_pair},
        decision_accuracy=accuracy,
        best_lr={t: mults[best_index[i]][t] for i, t in enumerate(toks)},
        best_point={t: labels[best_index[i]] for i, t in enumerate(toks)}, best_values=best_values,
        best_lr_ranking=ranking(best_values, toks, hib), fixed_lr_ranking=out['rankings'][fixed],
        best_vs_fixed_decision_accuracy=float(fixed_vs_best),
        best_at_edge=edge, holds=not flipped.any())


def words(s):
    """What the scan shows, in the words its numbers allow (one seed per lr choice: read beside the
    seeds' own flips): whether the lr choices reorder the tokenizers, then which agrees with the
    largest size."""
    choices, n_toks = ', '.join(s['labels']), len(s['tokenizers'])
    head = f"At {s['preset']} (seed {s['seed']}), "
    noise = s['seed_flip_rate']
    many = noise and len(noise['seeds']) > 1
    seeds = (f"; each lr choice is one run (seed {s['seed']}) and no other seed ran at x1, so an "
             f"lr flip cannot be told from seed noise" if not noise else
             f"; each lr choice is one run (seed {s['seed']}), and seed{'s' if many else ''} "
             f"{', '.join(map(str, noise['seeds']))} at x1 reorder{'' if many else 's'} "
             f"{' and '.join(map(str, noise['n_flipped']))} of {noise['n_pairs']} pairs on "
             f"{'their' if many else 'its'} own")
    best = (f"ranking each tokenizer at its best lr agrees with the grid's lr on "
            f"{s['best_vs_fixed_decision_accuracy']:.3f} of pairs")
    if s['holds']:
        first = (head + f"every lr choice ({choices}) ranks the {n_toks} tokenizers alike (0 of "
                 f"{s['n_pairs']} pairs change order), and {best}" + seeds + '.')
    else:
        f = s['flip_rate']
        first = (head + f"the ranking of the {n_toks} tokenizers is not the same at every lr "
                 f"choice: {f['n_flipped']} of {s['n_pairs']} pairs ({100 * f['any']:.1f}%) change "
                 f"order between {choices}, and " + best + seeds + '.')
    return first + ' ' + largest_words(s)


def pairs(n):
    return f"{n:g} pair{'' if n == 1 else 's'}"


def largest_words(s):
    """Does the scan's smallest lr (or, when that is the grid's, its largest) order the tokenizers
    as the largest size does better than the grid's lr? Said only beyond what the seeds alone
    reorder."""
    v = s['vs_largest']
    if v is None:
        return s['vs_largest_note'][0].upper() + s['vs_largest_note'][1:] + '.'
    rows, grid = v['rows'][:-1], v['rows'][s['labels'].index(label(GRID))]
    probe = rows[0] if rows[0] is not grid else rows[-1]
    if grid['n_agree'] is None:
        return f"{v['preset']} ties every pair of the tokenizers: no order to agree with."

    def stats(r):
        return f"decision accuracy {r['decision_accuracy']:.3f}, Spearman {r['spearman']:.3f}"
    large, name, more = v['preset'], probe['label'], probe['vs_grid']
    text = (f"Against {large}'s ranking (the headline's reference: the largest size, mean of its "
            f"seeds), {name} orders {probe['n_agree']:g} of {v['n_counted']} pairs as it does "
            f"({stats(probe)}), the grid's lr {grid['n_agree']:g} ({stats(grid)})")
    if more == 0:
        return (text + f": as many, so nothing here says {name} agrees with {large} better than "
                f"the grid's lr.")
    if probe['judgement'] == 'one seed':
        return (text + f": each lr choice is one run of seed {s['seed']} and no other seed ran at "
                f"x1, so whether {name} agrees with {large} better than the grid's lr cannot be "
                f"told.")
    noise = s['seed_flip_rate']
    k, many = max(noise['n_flipped']), len(noise['seeds']) > 1
    diff = f"{pairs(abs(more))} {'more' if more > 0 else 'fewer'}"
    who = (f"seed{'s' if many else ''} {', '.join(map(str, noise['seeds']))} alone "
           f"reorder{'' if many else 's'}")
    p = probe['flip_p']
    odds = ('' if p is None else
            f"; the pair it turns on that seed noise flips most easily, "
            f"{' and '.join(probe['flip_pair'])} ({probe['flip_gap']:.4f} apart), flips with "
            f"probability {p:.3f} with one run each (normal model, pooled seed std "
            f"{noise['seed_std']:.4f})")
    if probe['judgement'] == 'within seed flips':
        return (text + f": {diff}, against the {pairs(k)} {who} at x1{odds}: within seed noise, "
                f"so these runs cannot tell whether {name} agrees with {large} better than the "
                f"grid's lr.")
    return (text + f": {diff}, beyond the {pairs(k)} {who} at x1{odds}: at this size and seed, "
            f"{name} agrees with {large} {'better' if more > 0 else 'worse'} than the grid's lr "
            f"does.")


def lr_scan_lines(s):
    """Markdown lines for report.md: values per lr choice, orders that change, best lr per
    tokenizer, agreement with the largest size, the words."""
    lines = ['## Does the ranking survive the learning rate?', '']
    if s['preset'] is not None:
        lines.append(
            f"Each tokenizer trained again at {s['preset']}, seed {s['seed']}, at other lrs: xm is "
            f"m times its grid run's lr (x1 is the grid's own run), lr v the absolute lr v for "
            f"every tokenizer (lr_scan 'lr=v'). Ranked by {s['metric']}, {s['weighting_note']}: "
            f"the headline's weighting; {'higher' if s['higher_is_better'] else 'lower'} is "
            f"better.")
    lines += [f"Left out: {x}" for x in s['left_out']]
    if s['holds'] is None:
        return lines + ['', s['words']] if len(lines) > 2 else lines + [s['words']]
    heads = [x + (' (grid)' if x == label(GRID) else '') for x in s['labels']]
    lines += ['', '| tokenizer | ' + ' | '.join(heads) + ' | best lr |',
              '|---' * (len(heads) + 2) + '|']
    for t in s['fixed_lr_ranking']:
        lines.append(f"| {t} | " + ' | '.join(f"{v[t]:.4f}" for v in s['values'])
                     + f" | {s['best_point'][t]} |")
    lines += ['', '| lr choices | pairs that change order | decision accuracy |', '|---|---|---|']
    for f, d in zip(s['flip_rate']['by_pair'], s['decision_accuracy']):
        lines.append(f"| {f['a']} vs {f['b']} | {f['n_flipped']} of {s['n_pairs']} "
                     f"({100 * f['value']:.1f}%) | {d['value']:.3f} |")
    lines += ['', "- Each choice's lr: "
              + '; '.join(f"{p['label']}: {lr_text(p)}" for p in s['points']) + '.']
    lines += progress_lines(s) + summary_lines(s)
    return lines + largest_lines(s) + ['', s['words']]


def progress_lines(s):
    """Whether each lr choice trained at all (log.jsonl's val bpb at step 0 and at the end)."""
    if not all(s['val_bpb_progress']):
        return []
    return ["- Did each choice train? Val bpb from step 0 to the end (log.jsonl: byte-weighted, "
            "the training log's; mean over the tokenizers): " + '; '.join(
                f"{x}: {g['start']:.4f} -> {g['end']:.4f}"
                for x, g in zip(s['labels'], s['val_bpb_progress'])) + '.']


def summary_lines(s):
    """Flips, rankings, best lr, edges and the seeds' own flips, one bullet each."""
    f, noise = s['flip_rate'], s['seed_flip_rate']
    lines = [f"- Pairs whose order differs between any two lr choices: {f['n_flipped']} of "
             f"{s['n_pairs']} ({100 * f['any']:.1f}%).",
             '- Rankings, best first: ' + '; '.join(
                 f"{x}: {', '.join(r)}" for x, r in zip(s['labels'], s['rankings'])) + '.',
             f"- Best first, each at its best lr: {', '.join(s['best_lr_ranking'])}; at the grid's "
             f"lr: {', '.join(s['fixed_lr_ranking'])}; decision accuracy "
             f"{s['best_vs_fixed_decision_accuracy']:.3f} (the grid's lr judged against the best "
             f"lr's order)."]
    if s['best_at_edge']:
        lines.append(f"- Best at the scan's smallest or largest lr (the optimum may lie outside "
                     f"the scan): {', '.join(s['best_at_edge'])}.")
    if noise:
        lines.append("- Seeds at the grid's lr: " + '; '.join(
            f"seed {x} reorders {n} of {noise['n_pairs']} pairs against seed {s['seed']}"
            for x, n in zip(noise['seeds'], noise['n_flipped'])) + '.')
    return lines


def lr_text(p):
    """An absolute lr choice's multiplier, a multiplier's lr: one number when every tokenizer has
    the same, else their range."""
    def one(d):
        lo, hi = min(d.values()), max(d.values())
        return f"{lo:.3g}" if lo == hi else f"{lo:.3g}-{hi:.3g} by tokenizer"
    if p['kind'] == 'absolute':
        return f"x{one(p['multiplier'])} of the grid's lr"
    return f"lr {one(p['lr'])}"


def largest_lines(s):
    """The table: each lr choice against the largest size's ranking, and against the grid's lr."""
    v = s['vs_largest']
    if v is None:
        return []
    large, seeds = v['preset'], '/'.join(map(str, sorted(set(v['n_seeds'].values()))))
    lines = ['', f"Each lr choice against {large} (the largest size, {s['metric']} of the "
                 f"headline's weighting, mean of {seeds} seeds; best first: "
                 f"{', '.join(v['ranking'])}); pairs it orders as {large} does, of the "
                 f"{v['n_counted']} {large} does not tie; against the grid's lr, read beside the "
                 f"seeds' own flips at x1:", '',
             f"| lr choice | pairs as {large} | decision accuracy | Spearman | against the grid's "
             f"lr |", '|---|---|---|---|---|']
    for r in v['rows']:
        grid = r['label'] == label(GRID)
        vs = '' if r['vs_grid'] is None or grid else f"{r['vs_grid']:+g} ({r['judgement']})"
        n = '-' if r['n_agree'] is None else format(r['n_agree'], 'g')
        lines.append(f"| {r['label'] + (' (grid)' if grid else '')} | {n} | "
                     f"{r['decision_accuracy']:.3f} | {r['spearman']:.3f} | {vs} |")
    return lines
