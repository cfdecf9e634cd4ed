"""
The scale study's card: the report's first tables, the numbers a reader needs to set the study
beside an anchor (DataDecide, Magnusson et al. 2025, arXiv 2504.11393: 25 data recipes x 14
sizes 4M-1B x 3 seeds, 100 tokens per parameter, ~80% pairwise decision accuracy from 150M to 1B
at ~2% of the target's compute).

    card = study_card(held_fixed, headline, cells, noise, eval_set, weighting)  # summary.json
    lines = card_lines(s)                                                       # report.md

Every number is one the rest of the report uses: the per-size rows of scale_analysis.held_fixed
(parameters; tokens and train FLOPs per run by run_train_tokens; each size's train FLOPs by
size_train_flops; the bytes the runs read; lr; context), the headline pair (decision accuracy,
its seed interval, the smallest possible p), the cells (seeds per cell) and the seed-noise rows
(the pooled seed std). Nothing is recomputed here, only divided and counted.
"""
import math

from uniscale import fairness_report
from uniscale.report_format import fmt, fmt_ci, md_table

# the anchor the card is set beside (from the paper and Ai2's post, not measured here); flop_ratio:
# 6 N D at 100 tokens per parameter, 150M x 15B tokens over 1B x 100B tokens = 2.25%
DATADECIDE = dict(source='DataDecide (Magnusson et al. 2025, arXiv 2504.11393)',
                  small='150M', large='1B', decision_accuracy=0.80, flop_ratio=0.0225, n_items=25,
                  what='data recipes', seeds=3, tokens_per_param=100,
                  evaluation='10 downstream multiple-choice tasks')


def n_pairs(n):
    return n * (n - 1) // 2 if n else 0


def seeds_of(cells, size):
    """[fewest, most] seeds of a (tokenizer, size) cell (summary.json cells); None without one."""
    ks = [c['n_seeds'] for c in cells if c['size'] == size]
    return [min(ks), max(ks)] if ks else None


def lr_policy(rows):
    """'one per size' (every run of a size at one lr), 'differs between tokenizers' (a size's
    tokenizers at different lrs; a cell is one lr: correlate.py refuses a cell that pools two), or
    'not recorded'."""
    if all(r['lr'] == [None] for r in rows):
        return 'not recorded'
    return 'one per size' if all(len(r['lr']) == 1 for r in rows) else 'differs between tokenizers'


def distinct(rows, key):
    """The distinct values of a held_fixed list field over the sizes, in order."""
    return list(dict.fromkeys(v for r in rows for v in (r.get(key) or [])))


def span_over(rows, key):
    """[least, most] of a held_fixed [min, max] field over the sizes; None where a size lacks it."""
    spans = [r.get(key) for r in rows]
    if not spans or None in spans:
        return None
    return [min(s[0] for s in spans), max(s[1] for s in spans)]


def flop_ratio(rows, small, large):
    """(total, per run): the small size's train FLOPs over the large size's, every run of each
    (size_train_flops), and per run (each total over its number of runs); None without FLOPs."""
    a, b = (next(r for r in rows if r['size'] == z) for z in (small, large))
    if not a.get('train_flops') or not b.get('train_flops'):
        return None, None
    per_run = (a['train_flops'] / a['n_runs']) / (b['train_flops'] / b['n_runs'])
    return a['train_flops'] / b['train_flops'], per_run


def study_card(held_fixed, headline, cells, noise, eval_set, weighting):
    """The study-level numbers of the card (summary.json 'study_card'); the per-size ones are
    held_fixed's rows."""
    rows = held_fixed['sizes']
    sizes = [r['size'] for r in rows]
    h = headline or {}
    small, large = h.get('small', sizes[0]), h.get('large', sizes[-1])
    total, per_run = flop_ratio(rows, small, large)
    std = {z['size']: z for z in noise}
    es = eval_set or {}
    keys = ('corpus', 'split', 'n_docs', 'max_docs_per_lang', 'context', 'overlap')
    return dict(
        small=small, large=large, flop_ratio=total, flop_ratio_per_run=per_run,
        n_tokenizers=h.get('n_tokenizers'), smallest_p_possible=h.get('smallest_p_possible'),
        decision_accuracy=h.get('decision_accuracy'),
        decision_accuracy_ci=h.get('decision_accuracy_ci'),
        n_pairs=n_pairs(h.get('n_tokenizers') or 0), weighting=weighting,
        seeds=[dict(size=z, seeds_per_cell=seeds_of(cells, z),
                    seed_std=(std.get(z) or {}).get('seed_std'),
                    seed_df=(std.get(z) or {}).get('seed_df')) for z in sizes],
        lr_policy=lr_policy(rows),
        eval_set={**{k: es.get(k) for k in keys},
                  'sha256': (es.get('split_sha256') or '')[:12] or None},
        eval_bytes=distinct(rows, 'eval_bytes'), eval_tokens=span_over(rows, 'eval_tokens'),
        anchor=DATADECIDE)


# ---------------------------------------------------------------- the tables
def count(v):
    """A count: 400,000; 4.00e+10 from 1e9; '-' for None."""
    whole = isinstance(v, (int, float)) and float(v).is_integer() and abs(v) < 1e9
    return fmt(int(v)) if whole else fmt(v)


def amount(v):
    """A size for a table: 55,554 below 10,000,000, then 3 significant digits and M, B or T."""
    if v is None:
        return '-'
    for unit, scale, least in (('T', 1e12, 1e12), ('B', 1e9, 1e9), ('M', 1e6, 1e7)):
        if abs(v) >= least:
            return f"{v / scale:.3g}{unit}"
    return count(v)


def span(v, show=amount):
    """'a' or 'a–b' of a [min, max] pair (one value where both ends print alike); '-' for None."""
    if not v:
        return '-'
    lo, hi = show(v[0]), show(v[1])
    return lo if lo == hi else f"{lo}–{hi}"


def percent(v):
    return '-' if v is None else f"{100 * v:.3g}%"


def context_cell(r):
    def joined(key):
        return '/'.join(map(str, r[key]))
    if any(r['context_bytes']):
        return f"{joined('context_bytes')} bytes (block {joined('block_size')} tokens)"
    return f"{joined('block_size')} tokens"


def size_rows(s):
    """One row per size: parameters, tokens, bytes and FLOPs per run, seeds, seed std, lr,
    context."""
    seeds = {x['size']: x for x in s['study_card']['seeds']}
    rows = []
    for r in s['held_fixed']['sizes']:
        k = seeds[r['size']]
        std = '-' if k['seed_std'] is None else f"{k['seed_std']:.4f} ({k['seed_df']})"
        rows.append([r['size'], f"{span(r['n_params_nonembedding'])} / {span(r['n_params'])}",
                     span(r['train_tokens']), span(r['tokens_per_param'], lambda v: f"{v:.3g}"),
                     span(r['bytes_seen']), span(r['train_flops_per_run'], fmt),
                     f"{fmt(r['train_flops'])} ({r['n_runs']})", span(k['seeds_per_cell'], count),
                     std, ' / '.join(fmt(v) for v in r['lr']), context_cell(r)])
    return md_table(['size', 'parameters: non-embedding / total', 'tokens per run',
                     'tokens per parameter', 'bytes per run', 'train FLOPs per run',
                     'train FLOPs, all runs (runs)', 'seeds per cell',
                     f"run-to-run std of {s['metric']} (df)", 'lr', 'context'], rows)


def lr_words(c, scan):
    """The lr policy in words, with the lr scan where there is one (summary.json 'lr_scan')."""
    words = {'one per size': 'one lr per size, the same for every tokenizer',
             'differs between tokenizers': "a size's tokenizers train at different lrs (each cell "
                                           "at one)",
             'not recorded': 'not recorded in config.json'}[c['lr_policy']]
    if not scan:
        return words + '; no lr scan'
    labels = scan.get('labels') or [f"x{m:g}" for m in scan.get('multipliers') or []]
    return words + (f"; an lr scan at {scan.get('preset')} ({', '.join(labels)}; one seed; its "
                    f"section below)")


def eval_words(c):
    e = c['eval_set']
    most = e['max_docs_per_lang']
    return (f"{e['corpus']}, split {e['split']}, sha256 {e['sha256']}, {count(e['n_docs'])} "
            f"documents, scored in windows of {e['context']} tokens (overlap {e['overlap']})"
            + (f", at most {most} documents per language" if most else ''))


def secondary_rows(s):
    """A row per secondary eval set (summary.json 'eval_sets', where correlate.py scored them):
    its identity, as the primary's; none without them."""
    rows = []
    for r in s.get('eval_sets') or []:
        if r.get('role') != 'secondary':
            continue
        e = r.get('eval_set')
        what = (f"{e.get('corpus')}, split {e.get('split')}, sha256 "
                f"{(e.get('split_sha256') or '-')[:12]}, {count(e.get('n_docs'))} documents"
                if e else 'no run scored on it')
        rows.append([f"eval set (secondary: {r.get('name')})", what, '-'])
    return rows


def bytes_words(c, rows):
    """What a byte is on both sides: the scored documents' (bpb's denominator) and the training
    budget's."""
    b = c['eval_bytes']
    scored = (f"{count(b[0])} bytes, the same for every run" if len(b) == 1 else
              f"{', '.join(map(count, b))} bytes: **not the same for every run**" if b else
              'bytes not recorded')
    units = distinct(rows, 'budget_unit')
    budget = ('the training budget is UTF-8 bytes of training text at every size'
              if units == ['bytes'] else
              "the training budget's unit is not recorded in config.json" if None in units else
              f"the training budget is in {' / '.join(units)}, not bytes at every size")
    return (f"bpb = bits of every scored token / UTF-8 bytes of the scored documents' original "
            f"text ({scored}; scored as {span(c['eval_tokens'], count)} tokens, by tokenizer); a "
            f"BOS is fed, not scored; no EOS; {budget}; bytes per run: the UTF-8 bytes of training "
            f"text each run read")


def seeds_words(seeds):
    ks = [span(x['seeds_per_cell'], count) for x in seeds]
    if len(set(ks)) == 1:
        return f"{ks[0]} at every size"
    return ', '.join(f"{x['size']} {k}" for x, k in zip(seeds, ks))


def ratio_words(c):
    """The small:large FLOP ratio of all runs; per run beside it where the sizes ran a different
    number of runs."""
    total, per_run = c['flop_ratio'], c['flop_ratio_per_run']
    if per_run is None or math.isclose(total, per_run):
        return percent(total)
    return f"{percent(total)} ({percent(per_run)} per run)"


def study_rows(s):
    """Study-wide numbers beside the anchor's."""
    c, a = s['study_card'], s['study_card']['anchor']
    n, p = c['n_tokenizers'], c['smallest_p_possible']
    large = s['held_fixed']['sizes'][-1]
    weighting = f"{c['weighting']}-weighted " if c['weighting'] else ''
    ci = (fmt_ci(c['decision_accuracy_ci']) if c['decision_accuracy_ci'] else
          '(no seed interval: one seed per cell)')
    da = (f"{fmt(c['decision_accuracy'])} {ci} of {c['n_pairs']} tokenizer pairs "
          f"({weighting}{s['metric']}, {s['split']} split)")
    rows = [['headline pair (smallest → largest)', f"{c['small']} → {c['large']}",
             f"{a['small']} → {a['large']}"],
            ['small:large train FLOPs (all runs of each size)', ratio_words(c),
             f"~{percent(a['flop_ratio'])}"],
            ['decision accuracy: the share of pairs the small size orders as the large one '
             '[seed interval]', da, f"~{fmt(a['decision_accuracy'], 2)} of "
                                    f"{n_pairs(a['n_items'])} pairs"],
            ['items ranked; smallest possible p (2/n!)',
             f"{n} tokenizers; {'-' if p is None else f'{p:.3g}'}", f"{a['n_items']} {a['what']}"],
            ['seeds per cell', seeds_words(c['seeds']), str(a['seeds'])],
            [f"tokens per parameter at the largest size ({large['size']})",
             span(large['tokens_per_param'], lambda v: f"{v:.3g}"), str(a['tokens_per_param'])],
            ['lr policy', lr_words(c, s.get('lr_scan')), '-'],
            ['eval set (primary)', eval_words(c), a['evaluation']]] + secondary_rows(s) + [
            ['byte accounting', bytes_words(c, s['held_fixed']['sizes']), '-']] + \
        fairness_report.card_rows(s)
    return md_table(['study', 'this study', a['source']], rows)


def card_lines(s):
    """The report's first tables: per size, then the study beside the anchor."""
    return ["**The study at a glance** (per run: the range over the size's tokenizers and seeds; "
            "FLOPs = flops_per_token × tokens trained; run-to-run std: the seed std pooled over "
            "the size's tokenizers; decision accuracy counts no pair the large size ties):",
            '', size_rows(s), '', study_rows(s), '']
