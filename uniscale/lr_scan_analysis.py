"""
Does the small size's ranking of the tokenizers survive the learning rate? The analysis of sweep.py's lr scan.

sweep.py's `lr_scan` trains each tokenizer at the grid's smallest preset and first seed again at multiples of its lr
(runs {preset}_{tokenizer}_s{seed}_lr{mult}); the grid's own run of that preset and seed is the x1 point. A scan run's
multiplier is read from the runs' configs (its lr / its grid run's lr), never from a name, and a scan run must be its
grid run at another lr and nothing else (its identity settings and inputs, less lr, are compared).

    summary = lr_scan_summary(scan_records, base_records, cfg)   # records as correlate.load_run returns them
    lines = lr_scan_lines(summary)                               # markdown for report.md

What it shows: whether these lr choices reorder these tokenizers at this size and seed (Wang et al., ICLR 2026: a
small proxy's ranking can flip with a small lr change). What it cannot show: one seed per lr choice cannot tell an lr
effect from seed noise by itself; `seed_flip_rate` (the grid's seeds at x1) says how often seeds alone reorder a pair.
"""
import itertools
import math

import numpy as np

from uniscale.identity import differences
from uniscale.rank_stats import decision_accuracy
from uniscale.scale_analysis import metric_value, natural_key


def metric_of(ev, key):
    """eval.json's number at a dotted key (scale_analysis.metric_value); None when absent or not finite."""
    v = metric_value(ev, key)
    return v if v is not None and math.isfinite(v) else None


def label(m):
    """x0.5, x1, x2: a multiplier as the report writes it."""
    return f"x{m:g}"


def multiplier(scan_lr, base_lr):
    """The scan run's lr over its grid run's, to 6 significant digits (2e-3 x 0.5 = 1e-3 reads back as 0.5)."""
    return float(f"{scan_lr / base_lr:.6g}")


def pair_signs(values):
    """sign(v_i - v_j) over the tokenizer pairs i < j: the order a choice gives each pair."""
    v = np.asarray(values, dtype=float)
    i, j = np.triu_indices(len(v), 1)
    return np.sign(v[i] - v[j])


def ranking(values, toks, higher_is_better):
    """The tokenizers best first (ties by name)."""
    sign = -1 if higher_is_better else 1
    return sorted(toks, key=lambda t: (sign * values[t], natural_key(t)))


def check_same_but_lr(scan, base):
    """Refuse a scan run that differs from its grid run in more than lr (its settings, inputs, or the evaluation set
    it was scored on): it would measure something else. Settings are compared as the cells are (each record's
    `identity`: train.identity_settings + inputs, put there by correlate.py: one rule, LEGACY_DEFAULTS for a key an
    older run lacks, paths left out)."""
    a, b = ({k: v for k, v in r['identity'].items() if k != 'lr'} for r in (scan, base))
    what = differences(b, a)
    sets = (base['eval'].get('eval_set'), scan['eval'].get('eval_set'))
    if sets[0] != sets[1] and isinstance(sets[0], dict) and isinstance(sets[1], dict):
        what += ['eval_set.' + d for d in differences(*sets)]
    if what:
        raise SystemExit(f"lr scan: {scan['name']} differs from its grid run {base['name']} in more than lr "
                         f"({'; '.join(what[:3])}); a scan run is its grid run at another lr: re-run the sweep "
                         f"(sweep.py lr_scan) or leave it out of --lr_scan_runs")


def scan_cells(scan_records, base_records, metric):
    """(preset, seed, {(multiplier, tokenizer): (value, record)}, left_out) from the records."""
    where = sorted({(r['eval'].get('preset'), r['eval'].get('seed')) for r in scan_records}, key=str)
    if len(where) > 1:
        raise SystemExit(f"lr scan: the scan runs are at {len(where)} (preset, seed) pairs {where}; a scan is one "
                         f"preset and one seed: pass the runs of one scan")
    (preset, seed), cells, left_out = (where or [(None, None)])[0], {}, []  # no scan run: nothing to compare
    base = {}
    for r in base_records:
        if (r['eval'].get('preset'), r['eval'].get('seed')) == (preset, seed):
            if r['eval']['tokenizer'] in base:
                raise SystemExit(f"lr scan: two grid runs of {r['eval']['tokenizer']} at {preset} seed {seed} "
                                 f"({base[r['eval']['tokenizer']]['name']}, {r['name']}): pass one")
            base[r['eval']['tokenizer']] = r
    for r in scan_records:
        tok = r['eval']['tokenizer']
        b = base.get(tok)
        if b is None:
            left_out.append(f"{r['name']}: no grid run of {tok} at {preset}, seed {seed} (its x1 point)")
            continue
        check_same_but_lr(r, b)
        m = multiplier(r['config']['lr'], b['config']['lr'])
        if m == 1:
            raise SystemExit(f"lr scan: {r['name']} has its grid run's lr ({b['config']['lr']}): the x1 point is "
                             f"the grid's run ({b['name']}); leave it out of --lr_scan_runs")
        if (m, tok) in cells:
            raise SystemExit(f"lr scan: {tok} at {label(m)} twice ({cells[(m, tok)][1]['name']}, {r['name']}): "
                             f"pass one")
        cells[(m, tok)] = (metric_of(r['eval'], metric), r)
        cells.setdefault((1.0, tok), (metric_of(b['eval'], metric), b))
    for key, (v, r) in list(cells.items()):
        if v is None:
            left_out.append(f"{r['name']}: no finite {metric}")
            del cells[key]
    return preset, seed, cells, left_out


def seed_flip_rate(base_records, preset, seed, toks, metric):
    """How often the grid's other seeds at x1 order a pair otherwise than `seed` does: the noise an lr flip is to be
    read against; None without another seed that has every tokenizer."""
    by_seed = {}
    for r in base_records:
        v = metric_of(r['eval'], metric)
        if r['eval'].get('preset') == preset and v is not None:
            by_seed.setdefault(r['eval'].get('seed'), {})[r['eval']['tokenizer']] = v
    ref = pair_signs([by_seed[seed][t] for t in toks])
    others = sorted((s for s, vals in by_seed.items() if s != seed and set(toks) <= set(vals)), key=str)
    if not others or len(toks) < 2:
        return None
    flips = [int((pair_signs([by_seed[s][t] for t in toks]) != ref).sum()) for s in others]
    return {'seeds': others, 'n_flipped': flips, 'n_pairs': len(ref), 'value': sum(flips) / (len(flips) * len(ref))}


def lr_scan_summary(scan_records, base_records, cfg):
    """The lr scan's numbers (fields in docs/DESIGN.md, correlate.py scale summary.json `lr_scan`)."""
    metric, hib = cfg.get('metric', 'bpb'), bool(cfg.get('higher_is_better') or False)
    preset, seed, cells, left_out = scan_cells(scan_records, base_records, metric)
    toks = sorted({t for m, t in cells if m != 1 and (1.0, t) in cells}, key=natural_key)  # x1 and another lr
    # a multiplier counts only where every scanned tokenizer has it (a diverged or missing run leaves it out)
    mults = sorted({m for m, _ in cells})
    keep = [m for m in mults if all((m, t) in cells for t in toks)]
    left_out += [f"{label(m)}: no run for {', '.join(t for t in toks if (m, t) not in cells)}"
                 for m in mults if m not in keep]
    values = [{t: cells[(m, t)][0] for t in toks} for m in keep]
    out = {'preset': preset, 'seed': seed, 'metric': metric, 'higher_is_better': hib, 'multipliers': keep,
           'tokenizers': toks, 'values': values, 'left_out': left_out,
           'rankings': [ranking(v, toks, hib) for v in values], 'n_pairs': len(toks) * (len(toks) - 1) // 2}
    if len(keep) < 2 or 1.0 not in keep or len(toks) < 2:
        out.update(dict.fromkeys(('flip_rate', 'decision_accuracy', 'best_lr', 'best_values', 'best_lr_ranking',
                                  'fixed_lr_ranking', 'best_vs_fixed_decision_accuracy', 'best_at_edge', 'holds',
                                  'seed_flip_rate')))
        out['words'] = (f"The lr scan{f' at {preset}' if preset else ''} cannot rank: it needs the grid's lr and "
                        f"another for at least two tokenizers, and has {len(toks)} tokenizer(s) at "
                        f"{', '.join(map(label, keep)) or 'no lr'}.")
        return out
    matrix = np.array([[v[t] for t in toks] for v in values])
    signs = np.array([pair_signs(row) for row in matrix])
    flipped = (signs != signs[0]).any(axis=0)
    by_pair, accuracy = [], []
    for a, b in itertools.combinations(range(len(keep)), 2):
        n = int((signs[a] != signs[b]).sum())
        by_pair.append({'a': keep[a], 'b': keep[b], 'n_flipped': n, 'value': n / out['n_pairs']})
        accuracy.append({'a': keep[a], 'b': keep[b], 'value': float(decision_accuracy(matrix[a], matrix[b]))})
    best_index = (matrix.argmax if hib else matrix.argmin)(axis=0)  # the first (smallest) multiplier on a tie
    best_values = {t: float(matrix[best_index[i], i]) for i, t in enumerate(toks)}
    fixed = keep.index(1.0)
    out.update(
        flip_rate={'any': int(flipped.sum()) / out['n_pairs'], 'n_flipped': int(flipped.sum()), 'by_pair': by_pair},
        decision_accuracy=accuracy,
        best_lr={t: keep[best_index[i]] for i, t in enumerate(toks)}, best_values=best_values,
        best_lr_ranking=ranking(best_values, toks, hib), fixed_lr_ranking=out['rankings'][fixed],
        best_vs_fixed_decision_accuracy=float(decision_accuracy(matrix[fixed], [best_values[t] for t in toks])),
        best_at_edge=[t for i, t in enumerate(toks) if best_index[i] in (0, len(keep) - 1)],
        holds=not flipped.any(), seed_flip_rate=seed_flip_rate(base_records, preset, seed, toks, metric))
    out['words'] = words(out)
    return out


def words(s):
    """One sentence that says only what the scan shows (one seed per lr choice: read beside the seeds' own flips)."""
    choices = ', '.join(map(label, s['multipliers']))
    head = f"At {s['preset']} (seed {s['seed']}), "
    noise = s['seed_flip_rate']
    many = noise and len(noise['seeds']) > 1
    seeds = (f"; each lr choice is one run (seed {s['seed']}) and no other seed ran at x1, so an lr flip cannot be "
             f"told from seed noise" if not noise else
             f"; each lr choice is one run (seed {s['seed']}), and seed{'s' if many else ''} "
             f"{', '.join(map(str, noise['seeds']))} at x1 reorder{'' if many else 's'} "
             f"{' and '.join(map(str, noise['n_flipped']))} of {noise['n_pairs']} pairs on "
             f"{'their' if many else 'its'} own")
    best = (f"ranking each tokenizer at its best lr agrees with the grid's lr on "
            f"{s['best_vs_fixed_decision_accuracy']:.3f} of pairs")
    if s['holds']:
        return (head + f"every lr choice ({choices} of the grid's lr) ranks the {len(s['tokenizers'])} tokenizers "
                f"alike (0 of {s['n_pairs']} pairs change order), and {best}" + seeds + '.')
    f = s['flip_rate']
    return (head + f"the ranking of the {len(s['tokenizers'])} tokenizers is not the same at every lr choice: "
            f"{f['n_flipped']} of {s['n_pairs']} pairs ({100 * f['any']:.1f}%) change order between {choices}, and "
            + best + seeds + '.')


def lr_scan_lines(s):
    """Markdown lines for report.md: values per lr choice, orders that change, best lr per tokenizer, the sentence."""
    lines = ['## Does the ranking survive the learning rate?', '']
    if s['preset'] is not None:
        lines.append(f"Each tokenizer trained again at {s['preset']}, seed {s['seed']}, at multiples of its lr (x1 is "
                     f"the grid's own run); {s['metric']}, {'higher' if s['higher_is_better'] else 'lower'} is better.")
    lines += [f"Left out: {x}" for x in s['left_out']]
    if s['holds'] is None:
        return lines + ['', s['words']] if len(lines) > 2 else lines + [s['words']]
    heads = [label(m) + (' (grid)' if m == 1 else '') for m in s['multipliers']]
    lines += ['', '| tokenizer | ' + ' | '.join(heads) + ' | best lr |', '|---' * (len(heads) + 2) + '|']
    for t in s['fixed_lr_ranking']:
        lines.append(f"| {t} | " + ' | '.join(f"{v[t]:.4f}" for v in s['values'])
                     + f" | {label(s['best_lr'][t])} |")
    lines += ['', '| lr choices | pairs that change order | decision accuracy |', '|---|---|---|']
    for f, d in zip(s['flip_rate']['by_pair'], s['decision_accuracy']):
        lines.append(f"| {label(f['a'])} vs {label(f['b'])} | {f['n_flipped']} of {s['n_pairs']} "
                     f"({100 * f['value']:.1f}%) | {d['value']:.3f} |")
    f = s['flip_rate']
    lines += ['', f"- Pairs whose order differs between any two lr choices: {f['n_flipped']} of {s['n_pairs']} "
                  f"({100 * f['any']:.1f}%).",
              '- Rankings, best first: ' + '; '.join(f"{label(m)}: {', '.join(r)}"
                                                      for m, r in zip(s['multipliers'], s['rankings'])) + '.',
              f"- Best first, each at its best lr: {', '.join(s['best_lr_ranking'])}; at the grid's lr: "
              f"{', '.join(s['fixed_lr_ranking'])}; decision accuracy {s['best_vs_fixed_decision_accuracy']:.3f} "
              f"(the grid's lr judged against the best lr's order)."]
    if s['best_at_edge']:
        lines.append(f"- Best at the scan's smallest or largest lr (the optimum may lie outside the scan): "
                     f"{', '.join(s['best_at_edge'])}.")
    noise = s['seed_flip_rate']
    if noise:
        lines.append("- Seeds at the grid's lr: " + '; '.join(
            f"seed {x} reorders {n} of {noise['n_pairs']} pairs against seed {s['seed']}"
            for x, n in zip(noise['seeds'], noise['n_flipped'])) + '.')
    return lines + ['', s['words']]
