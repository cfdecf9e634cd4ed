"""
The A/B study: learning curves of two tokenizers (or more) on shared charts; val bpb at equal bytes of text, equal
train FLOPs and equal steps, each only where every run has finished its schedule; the difference over seeds paired by
seed (paired t, with the Wilcoxon signed-rank and sign tests beside it, and Welch over all runs); and the seed
document's success criterion answered in words, steps and bytes to the target stated together. Runs are grouped
into arms by tokenizer, and by context mode when any run set `context_bytes` (the token context derived from a number
of bytes). Every arm is compared with the baseline (base_tokenizer, else the first run's
tokenizer) in its own context mode; Holm's correction runs across those comparisons, so N arms
are read at the level one A/B is (N = 2: Holm over one comparison is the raw p).

ab_analysis(records, cfg) takes the runs correlate.py loaded and checked; ab_report and ab_plots write the rest.
"""
import os

import numpy as np
import scipy.stats as st

from uniscale.rank_stats import ALPHA, holm
from uniscale.report_format import fmt, fmt_ci, md_table, pyplot, save_figure

AXES = {'bytes': ('bytes', 'bytes of text seen'), 'flops': ('train_flops', 'train FLOPs'),
        'steps': ('step', 'step')}
WHY_HELD_FIXED = {
    'bytes': "at equal bytes every arm has read the same text, which is the tokenizer question (which way of cutting "
             "text learns more from the same data); equal steps would hand the tokenizer with more bytes per token "
             "more text, and equal FLOPs mixes in the cost of the vocabulary's head",
    'flops': "at equal train FLOPs every arm has spent the same compute, which is what a fixed GPU budget buys; a "
             "larger vocabulary pays for its head, a longer context for its attention",
    'steps': "at equal steps every arm has taken the same optimizer updates (the same tokens when the token context "
             "is equal); this favours the tokenizer with more bytes per token, which reads more text per step"}
TIME_LABEL = 'training time (s; elapsed_s: steps only, no eval/checkpoint/compile)'


def token_stats(run_cfg, events, tokens_root, split_name, read_json):
    """Tokens per document and bytes per token of the run's tokenizer, from the token sidecar (or the log when the
    sidecar is missing or was written by another tokenizer than the run's: a same-named one encoded since)."""
    tok = run_cfg.get('tokenizer_name') or os.path.basename(os.path.normpath(str(run_cfg.get('tokenizer', ''))))
    folder = run_cfg.get('tokens_dir') or os.path.join(tokens_root, str(run_cfg.get('corpus', '')), tok)
    path = os.path.join(folder, f'{split_name}.json')
    m = read_json(path, "re-run prepare.py to encode the split", default=None)
    if m and run_cfg.get('tokenizer_hash') and m.get('tokenizer_hash') != run_cfg['tokenizer_hash']:
        m = None
    if m:
        return dict(tokenizer=tok, source=path, tokens_per_doc=m['n_tokens'] / m['n_docs'],
                    bytes_per_token=m['n_bytes'] / m['n_tokens'])
    last = next((e for e in events[::-1] if e.get('tokens') and e.get('bytes')), None)
    return dict(tokenizer=tok, source='log.jsonl (bytes / tokens seen)', tokens_per_doc=None,
                bytes_per_token=last['bytes'] / last['tokens'] if last else None)


REACH = ('step', 'bytes', 'elapsed_s')  # where a target is reached: the targets table and the criterion read these


def reach_point(val, key, target):
    """{'step', 'bytes', 'elapsed_s'} where `key` (val_bpb, val_loss) first reaches target, each interpolated at the
    same fraction between the evaluation above the target and the first at or below it; None when never reached.
    The targets table, its arm means and the criterion's sentence all read this one function."""
    prev = None
    for e in val:
        if e.get(key) is None:
            continue
        if e[key] <= target:
            if prev is None or prev[key] == e[key]:
                return {x: None if e.get(x) is None else float(e[x]) for x in REACH}
            f = (prev[key] - target) / (prev[key] - e[key])
            return {x: None if e.get(x) is None or prev.get(x) is None else float(prev[x] + f * (e[x] - prev[x]))
                    for x in REACH}
        prev = e
    return None


def mean_or_none(values):
    """The mean, or None when a value is missing (a run never reached the target) or there is none."""
    return None if not values or None in values else float(np.mean(values))


def curve(r, axis):
    """(x, val bpb) of a run's evaluations after step 0 along an axis ('bytes', 'train_flops', 'step')."""
    pts = [(e[axis], e['val_bpb']) for e in r['val'] if e.get(axis) is not None and e.get('step')]
    return np.array([p[0] for p in pts], float), np.array([p[1] for p in pts], float)


def value_at(r, axis, x):
    """Val bpb interpolated at x along axis; None outside the run's evaluated range."""
    xs, ys = curve(r, axis)
    if not len(xs) or x < xs[0] - 1e-9 * abs(xs[0]) or x > xs[-1] + 1e-9 * abs(xs[-1]):
        return None
    return float(np.interp(x, xs, ys))


def budget_unit(config):
    """What a run's schedule length was set in (train.py: max_steps, else budget in budget_unit, else one epoch of
    the train split); None when config.json does not say."""
    if (config.get('max_steps') or 0) > 0:
        return 'steps (max_steps)'
    if 'budget' not in config:
        return None
    return str(config.get('budget_unit')) if (config.get('budget') or 0) > 0 else 'one epoch of the train split'


def num(x):
    return fmt(int(x)) if float(x).is_integer() else fmt(float(x), 1)


def at_equal(runs_out, axis):
    """The runs compared at the end of their schedules along axis ('bytes', 'train_flops', 'step'). Returns
    ({'at': the least final x, 'bpb': {run: its final val bpb}, 'ends': {run: its final x}}, None) when every run is
    read within its last optimizer step at `at` (a budget set in this unit rounds up to whole steps, so runs end
    less than a step apart); (None, why) when some run would be read before its schedule ended, mid-decay: its
    learning rate has not come down yet while the shorter run's has, a gap of the order of the tokenizer effect;
    (None, None) when a run's log lacks the axis."""
    ends = {}
    for r in runs_out:
        last = r['val'][-1] if r['val'] else {}
        if not last.get(axis) or not r['steps']:  # no such axis in the log (train_flops: no flops_per_token)
            return None, None
        ends[r['run']] = float(last[axis])
    at = min(ends.values())
    early = []
    for r in runs_out:
        end_step, last_eval = r['steps'], r['val'][-1]['step']
        s = end_step * at / ends[r['run']]  # every axis grows in proportion to the step (tokens x a constant)
        if last_eval != end_step:
            early.append((-1, f"{r['run']}'s last evaluation (step {last_eval}) is not its last step ({end_step})"))
        elif s <= end_step - 1 + 1e-9:
            early.append((s / end_step, f"{r['run']} at step {num(round(s, 1))} of {end_step} is before its "
                                        f"schedule ended"))
    if not early:
        return {'at': at, 'bpb': {r['run']: r['val'][-1].get('val_bpb') for r in runs_out}, 'ends': ends}, None
    label = {'bytes': 'bytes', 'train_flops': 'train FLOPs', 'step': 'steps'}[axis]
    units = sorted({str(r['_budget']) for r in runs_out if r['_budget']})
    why = (f"{min(early)[1]}: not comparable at equal {label} (the runs end at {num(at)} to "
           f"{num(max(ends.values()))} {label}")
    return None, why + (f"; their budgets are set in {' and '.join(units)})" if units else ')')


ROUNDING = 4 * np.finfo(float).eps  # relative: doubles agreeing to this are one number


def constant(v, scale):
    """Whether the values of v agree to the rounding of numbers of size `scale` (ptp <= 4 eps
    scale): a t-test of them would divide by a variance that is only rounding, and print p = 0
    with a zero-width interval."""
    v = np.asarray(v, float)
    return len(v) > 0 and float(np.ptp(v)) <= ROUNDING * max(float(scale), np.finfo(float).tiny)


def welch(a, b):
    """mean(a) - mean(b) with the Welch 95% interval and two-sided p (scipy.stats.ttest_ind,
    equal_var=False); no p and no interval (`why` says) when both arms are constant: the test is
    undefined with zero variance."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    out = {'mean': float(a.mean() - b.mean()), 'n': [len(a), len(b)],
           'test': 'Welch t-test (scipy.stats.ttest_ind, equal_var=False)'}
    scale = max(np.abs(a).max(), np.abs(b).max())
    if constant(a, scale) and constant(b, scale):
        return {**out, 'ci': None, 'p': None, 'zero_variance': True,
                'why': f"every run of each arm has the same value (difference exactly "
                       f"{out['mean']:+.4g}): the Welch t-test is undefined with zero "
                       f"variance, so no p-value and no interval"}
    t = st.ttest_ind(a, b, equal_var=False)
    ci = t.confidence_interval(0.95)
    return {**out, 'ci': [float(ci.low), float(ci.high)], 'p': float(t.pvalue)}


def signed_rank_p(d):
    """Two-sided exact p of the Wilcoxon signed-rank test over nonzero differences d: the share of the 2^n sign
    assignments whose positive rank sum lies at least as far from its mean as the observed one. Mid-ranks for tied
    |d|; without ties this is scipy.stats.wilcoxon(method='exact'), whose table assumes untied ranks."""
    d = np.asarray(d, float)
    ranks, n = st.rankdata(np.abs(d)), len(d)
    if n > 16:  # 2^n assignments is too many: scipy's exact table (no ties) or its normal approximation
        return float(st.wilcoxon(d, method='exact' if len(set(np.abs(d))) == n else 'approx').pvalue)
    signs = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1
    centre = ranks.sum() / 2
    far = np.abs(signs @ ranks - centre) >= abs(ranks[d > 0].sum() - centre) - 1e-9
    return float(far.mean())


def paired(x, y):
    """x - y over seed pairs: the paired t-test's mean, 95% interval and two-sided p
    (scipy.stats.ttest_rel), with the Wilcoxon signed-rank and sign tests (scipy.stats.binomtest)
    beside it, which do not assume normal differences but cannot go below 2 / 2^n for n nonzero
    differences (all of one sign): `smallest_rank_p`. When every pair differs by the same amount
    (`zero_variance`, to the rounding of the values) the t-test is undefined (it printed p = 0 and a
    zero-width interval from 2 pairs): no t p and no interval; the headline p is then the exact sign
    test's (valid: it reads only the signs), and `why` says so."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    d = x - y
    nz = d[d != 0]
    out = {'mean': float(d.mean()), 'n': [len(x), len(y)], 'paired': True, 'n_pairs': len(d),
           'sd': float(d.std(ddof=1)), 'df': len(d) - 1,
           'wilcoxon_p': signed_rank_p(nz) if len(nz) else None,
           'sign_p': float(st.binomtest(int((nz > 0).sum()), len(nz)).pvalue) if len(nz) else None,
           'smallest_rank_p': min(1.0, 2 / 2 ** len(nz)) if len(nz) else None}
    if constant(d, max(np.abs(x).max(), np.abs(y).max())):
        floor = (f"cannot go below 2/2^{len(nz)} = {fmt(out['smallest_rank_p'])}" if len(nz) else
                 "has no sign to count")
        why = (f"every pair differs by exactly {out['mean']:+.4g}: the paired t-test is undefined "
               f"with zero variance (no t p-value, no interval); with {len(d)} pairs the exact "
               f"sign test {floor}")
        return {**out, 'ci': None, 'p': out['sign_p'], 't_p': None, 'zero_variance': True,
                'sd': 0.0, 'why': why,
                'test': 'exact sign test (scipy.stats.binomtest); the paired t-test is undefined'}
    t = st.ttest_rel(x, y)
    ci = t.confidence_interval(0.95)
    return {**out, 'ci': [float(ci.low), float(ci.high)], 'p': float(t.pvalue),
            't_p': float(t.pvalue), 'test': 'paired t-test over seeds (scipy.stats.ttest_rel)'}


def arm_test(a, b, value):
    """Other (runs a) minus base (runs b) of value(run). Runs of one seed in both arms are a pair (the same data
    order and, at equal vocabulary, the same initial weights): with 2+ pairs `difference` is the paired test, else
    Welch (2+ runs per arm), else None; Welch over all runs is kept beside it (`difference.welch`)."""
    va, vb = [value(r) for r in a], [value(r) for r in b]
    by_seed = {r['seed']: r for r in b if r['seed'] is not None}
    pairs = [(r, by_seed[r['seed']]) for r in a if r['seed'] in by_seed]
    in_pair = {x['run'] for p in pairs for x in p}
    out = {'values': {'other': va, 'base': vb}, 'seeds': [r['seed'] for r, _ in pairs],
           'unpaired': [f"{r['run']} (seed {r['seed']}: not in the other arm)" for r in a + b
                        if r['run'] not in in_pair],
           'difference': None}
    if None in va + vb:
        return out
    w = welch(va, vb) if len(a) >= 2 and len(b) >= 2 else None
    if len(pairs) >= 2:
        out['difference'] = {**paired([value(r) for r, _ in pairs], [value(r) for _, r in pairs]), 'welch': w}
    elif w:
        out['difference'] = {**w, 'paired': False, 'n_pairs': len(pairs), 'welch': w}
    if out['difference']:
        out['difference'].update(seeds=out['seeds'], unpaired=out['unpaired'])
    return out


def arm_names(records):
    """Each run's arm: its tokenizer, with the context mode when any run sets context_bytes > 0."""
    by_context = any((r['config'].get('context_bytes') or 0) > 0 for r in records)
    names = []
    for r in records:
        tok = r['eval'].get('tokenizer') or r['config'].get('tokenizer_name') or r['name']
        cb = r['config'].get('context_bytes') or 0
        mode = (f"context {cb:,} bytes" if cb > 0 else f"context {r['config'].get('block_size')} tokens")
        names.append((tok, mode if by_context else None))
    return names


def below_everywhere(other, base, axis):
    """(points where other's val bpb is below base's, points compared) over the evaluations of either run inside
    both runs' range along axis."""
    xo, _ = curve(other, axis)
    xb, _ = curve(base, axis)
    if not len(xo) or not len(xb):
        return 0, 0
    lo, hi = max(xo[0], xb[0]), min(xo[-1], xb[-1])
    xs = sorted({float(x) for x in np.concatenate([xo, xb]) if lo <= x <= hi})
    below = sum(value_at(other, axis, x) < value_at(base, axis, x) for x in xs)
    return below, len(xs)


def compare_arms(arms, other, base, held, target, notes, points):
    """The difference of other minus base at the held-fixed point, and the success criterion in words. points:
    {run: reach_point of the target}, the rows of the targets table."""
    a, b = arms[other], arms[base]
    out = {'other': ' '.join(filter(None, other)), 'base': ' '.join(filter(None, base)), 'held_fixed': held}
    test = arm_test(a, b, lambda r: r[f'at_equal_{held}'])
    out.update(values=test['values'], difference=test['difference'], seeds=test['seeds'], unpaired=test['unpaired'])
    why = []
    if len(test['seeds']) < 2 and (len(a) < 2 or len(b) < 2):
        why.append('needs 2 or more seeds in each arm (2+ seed pairs, or 2+ runs per arm)')
    if notes[held]:
        why.append(f"{notes[held]}; set both arms' budgets in {held} (train.py budget_unit, max_steps) or pick a "
                   f"view where every run has finished its schedule (held_fixed)")
    if not why and not test['difference']:
        why.append(f"a run has no val bpb at equal {held}")
    out['difference_note'] = '; '.join(why) or None
    seeds = sorted({r['seed'] for r in a} & {r['seed'] for r in b}, key=str)
    counts = [below_everywhere(next(r for r in a if r['seed'] == s), next(r for r in b if r['seed'] == s),
                               AXES[held][0]) for s in seeds]
    below, total = sum(c[0] for c in counts), sum(c[1] for c in counts)
    out['below_at_every_point'] = bool(total and below == total)
    out['below_points'] = [below, total]
    reach = {}
    for x in REACH:
        t = arm_test(a, b, lambda r: (points[r['run']] or {}).get(x))
        va, vb = t['values']['other'], t['values']['base']
        reach[x] = {'other': va, 'base': vb, 'difference': t['difference']}
        if mean_or_none(va) is not None and mean_or_none(vb) is not None:
            reach[x]['mean'] = [mean_or_none(va), mean_or_none(vb)]
    out['reach'], out['target_bpb'], out['curve_seeds'] = reach, target, seeds
    return out


def show(x, v):
    """A step, byte count or number of seconds as the targets table and the sentences print it."""
    return fmt(None if v is None else round(v)) if x == 'bytes' else fmt(v, 1)


def fewer(r, x='step'):
    """The answer to 'fewer?' from a reach entry (x: step, bytes, elapsed_s): yes / no only where the 95% interval
    of the difference excludes 0 and, with more arms than one compared, Holm's p is below ALPHA."""
    if 'mean' not in r:
        return "not answerable: a run never reaches the target"
    nums = f"{show(x, r['mean'][0])} vs {show(x, r['mean'][1])}"
    d = r['difference']
    if d is None:
        return f"{'yes' if r['mean'][0] < r['mean'][1] else 'no'} ({nums}; too few runs for a test, no interval)"
    side = 'fewer' if r['mean'][0] < r['mean'][1] else 'more' if r['mean'][0] > r['mean'][1] else 'as many'
    m, p_holm = d.get('holm_m') or 1, d.get('p_holm')
    if d['ci'] is None:  # zero variance: no interval; only the sign test's p can resolve it
        p = p_holm if m > 1 else d['p']
        ok = p is not None and p < ALPHA
        word = ({'fewer': 'yes', 'more': 'no, more'}.get(side, '') if ok else '') or \
            f"not resolved: {side} on average; {d['why']}"
        test = 'paired difference' if d['paired'] else 'difference'
        return (f"{word} ({nums}; {test} {show(x, d['mean'])}, no interval, "
                f"{'sign test ' if d['paired'] else ''}p = {fmt(d['p'])}{holm_words(d)})")
    word = ('yes' if d['ci'][1] < 0 else 'no, more' if d['ci'][0] > 0 else
            f"not resolved: {side} on average and the 95% interval includes 0")
    if word in ('yes', 'no, more') and m > 1 and not (p_holm is not None and p_holm < ALPHA):
        word = f"not resolved after Holm's correction over {m} arms: {side} on average"
    return (f"{word} ({nums}; {'paired ' if d['paired'] else ''}difference {show(x, d['mean'])} "
            f"[{show(x, d['ci'][0])}, {show(x, d['ci'][1])}], p = {fmt(d['p'])}{holm_words(d)})")


def holm_words(d):
    """', Holm p = P over M comparisons' where the family holds more than one test, else ''."""
    m = d.get('holm_m') or 1
    if m < 2 or d.get('p_holm') is None:
        return ''
    return f", Holm p = {fmt(d['p_holm'])} over {m} comparisons"


def holm_across_arms(comparisons):
    """Holm's correction over the comparisons with the baseline, one family per question: the
    headline difference, and steps, bytes and time to the target each. A comparison without a test
    (or whose p is nan: identical values) is not in the family. Adds `p_holm` and `holm_m` (the
    family's size) to each difference."""
    for diffs in ([c['difference'] for c in comparisons],
                  *([c['reach'][x]['difference'] for c in comparisons] for x in REACH)):
        tested = [d for d in diffs if d]
        adjusted = holm([d['p'] for d in tested])
        m = sum(p is not None for p in adjusted)
        for d, p in zip(tested, adjusted):
            d.update(p_holm=p, holm_m=m)


def both_axes(c):
    """Steps and bytes to the target stated together, so that 'fewer steps' cannot read as 'less text'."""
    s, b = c['reach']['step'], c['reach']['bytes']
    if 'mean' not in s or 'mean' not in b:
        return ''
    word = lambda m: 'as many' if m[0] == m[1] else 'fewer' if m[0] < m[1] else 'more'
    ws, wb = word(s['mean']), word(b['mean'])
    return (f" On average {c['other']} reaches it in {ws} steps ({show('step', s['mean'][0])} vs "
            f"{show('step', s['mean'][1])}) {'and' if ws == wb else 'but'} after {wb} bytes of text "
            f"({show('bytes', b['mean'][0])} vs {show('bytes', b['mean'][1])}).")


def criterion_words(c):
    below, total, n_seeds = *c['below_points'], len(c['curve_seeds'])
    curve_word = 'yes' if c['below_at_every_point'] else 'no'
    r = c['reach']
    return (f"Is {c['other']} below {c['base']} at every evaluation point on every seed (at equal "
            f"{c['held_fixed']})? **{curve_word}** ({below} of {total} points over {n_seeds} paired seed(s)). "
            f"Does it reach val bpb {c['target_bpb']:.4f} (interpolated between evaluations) in fewer steps? "
            f"{fewer(r['step'])}. After fewer bytes of text? {fewer(r['bytes'], 'bytes')}. "
            f"In less training time? {fewer(r['elapsed_s'], 'elapsed_s')}.{both_axes(c)}")


def ab_analysis(records, cfg, read_json):
    """The A/B summary, and each run's events for the plots. records: checked runs (eval, config, events)."""
    runs_out = []
    for rec, arm in zip(records, arm_names(records)):
        events = rec['events']
        fpt = rec['eval'].get('flops_per_token')
        for e in events:
            e['train_flops'] = fpt * e['tokens'] if fpt and e.get('tokens') is not None else None
        val = [e for e in events if e.get('val_loss') is not None or e.get('val_bpb') is not None]
        last, last_val = (events or [{}])[-1], (val or [{}])[-1]
        tokens, elapsed = last.get('tokens'), last.get('elapsed_s')
        runs_out.append(dict(run=rec['name'], dir=rec['dir'], arm=' '.join(filter(None, arm)), _arm=arm,
                             _budget=budget_unit(rec['config']),
                             seed=rec['eval'].get('seed', rec['config'].get('seed')), events=events, val=val,
                             steps=last.get('step'), tokens=tokens, bytes=last.get('bytes'),
                             train_flops=last.get('train_flops'), elapsed_s=elapsed,
                             tok_per_s=tokens / elapsed if tokens is not None and elapsed else None,
                             final_val_loss=last_val.get('val_loss'),
                             final_val_bpb=last_val.get('val_bpb'), eval_bpb=rec['eval'].get('bpb'),
                             context_bytes=rec['config'].get('context_bytes'),
                             block_size=rec['config'].get('block_size'),
                             **token_stats(rec['config'], events, cfg['tokens_dir'], cfg['token_stats_split'],
                                           read_json)))
    finals = [r['final_val_bpb'] for r in runs_out if r['final_val_bpb'] is not None]
    bpb_t = list(cfg['bpb_targets']) or ([max(finals)] if finals else [])
    targets, points, target_means = [], {}, []
    for key, values in (('val_loss', cfg['loss_targets']), ('val_bpb', bpb_t)):
        for t in values:
            for r in runs_out:
                points[key, t, r['run']] = reach_point(r['val'], key, t)
                targets.append(dict(metric=key, target=t, run=r['run'], arm=r['arm'],
                                    **(points[key, t, r['run']] or dict.fromkeys(REACH))))
            for arm in dict.fromkeys(r['arm'] for r in runs_out):
                rows = [x for x in targets if (x['metric'], x['target'], x['arm']) == (key, t, arm)]
                target_means.append(dict(metric=key, target=t, arm=arm, n_runs=len(rows),
                                         **{x: mean_or_none([row[x] for row in rows]) for x in REACH}))
    equal, notes = {}, {}
    for held in AXES:
        equal[held], notes[held] = at_equal(runs_out, AXES[held][0])
    for r in runs_out:
        for held, eq in equal.items():
            r[f'at_equal_{held}'] = eq['bpb'][r['run']] if eq else None
    held = cfg['held_fixed']
    if equal[held] is None and notes[held] is None:
        raise SystemExit(f"correlate.py ab: held_fixed={held!r} but some run has no {AXES[held][1]} in its log "
                         f"(train_flops needs flops_per_token in eval.json); re-run eval_bpb.py or pick another")
    arms = {}
    for r in runs_out:
        arms.setdefault(r['_arm'], []).append(r)
    base_tok = base_tokenizer(runs_out, cfg)
    target = bpb_t[0] if bpb_t else None
    comparisons = [compare_arms(arms, arm, (base_tok, arm[1]), held, target, notes,
                                {r['run']: points['val_bpb', target, r['run']] for r in runs_out})
                   for arm in arms if arm[0] != base_tok and (base_tok, arm[1]) in arms] if finals else []
    holm_across_arms(comparisons)
    for c in comparisons:
        c['words'], c['verdict'] = criterion_words(c), arm_verdict(c)
    first = comparisons[0] if comparisons else {}
    return dict(runs=[{k: v for k, v in r.items() if k not in ('events', 'val') and not k.startswith('_')}
                      for r in runs_out],
                arms={' '.join(filter(None, a)): [r['run'] for r in rs] for a, rs in arms.items()},
                base_tokenizer=base_tok,
                arm_table=arm_table(arms, base_tok, comparisons, target_means, target, held),
                not_compared=[f"{' '.join(a)}: no run of the baseline {base_tok} with {a[1]}"
                              for a in arms if a[0] != base_tok and (base_tok, a[1]) not in arms],
                targets=targets, target_means=target_means,
                common_bytes=min((r['bytes'] for r in runs_out if r['bytes'] is not None), default=None),
                held_fixed=held, held_fixed_why=WHY_HELD_FIXED[held],
                at_equal_bytes=equal['bytes'], at_equal_flops=equal['flops'], at_equal_steps=equal['steps'],
                at_equal_notes=notes, comparisons=comparisons, difference=first.get('difference'),
                difference_note=first.get('difference_note', 'needs 2 or more seeds in each arm'),
                criterion=' '.join(c['words'] for c in comparisons) or None), runs_out


def base_tokenizer(runs_out, cfg):
    """The baseline's tokenizer: cfg's base_tokenizer, else the first run's (sweep.py lists the
    runs of its first tokenizer first); one that no run was trained with is refused."""
    toks = list(dict.fromkeys(r['_arm'][0] for r in runs_out))
    tok = cfg.get('base_tokenizer') or toks[0]
    if tok not in toks:
        raise SystemExit(f"correlate.py ab: base_tokenizer={tok!r} is no run's tokenizer "
                         f"({', '.join(toks)}); name one of them, or '' for the first run's")
    return tok


def arm_verdict(c):
    """The comparison's verdict in the words its statistics support: 'lower' / 'higher' val bpb
    than the baseline only where the Holm-adjusted p of the headline test is below ALPHA; the
    test, the family and (paired) the rank tests' floor named beside it."""
    d, held = c['difference'], c['held_fixed']
    if d is None:
        return f"not tested ({c['difference_note']})"
    side = 'lower' if d['mean'] < 0 else 'higher' if d['mean'] > 0 else 'equal'
    m, p = d.get('holm_m') or 1, d.get('p_holm')
    family = (f"Holm-adjusted p = {fmt(p)} over {m} comparisons" if m > 1 else
              f"p = {fmt(p)} (one comparison)")
    test = (f"paired t over {d['n_pairs']} seeds" if d['paired'] else
            f"Welch over {d['n'][0]} and {d['n'][1]} runs, not paired")
    if d.get('zero_variance'):
        test = (f"exact sign test over {d['n_pairs']} seeds" if d['paired'] else test) + \
            f" ({d['why']})"
    resolved = p is not None and p < ALPHA and side != 'equal'
    word = (f"{side} val bpb than {c['base']} at equal {held}" if resolved else
            f"not resolved at equal {held} ({side} on average; " + (
                f"the p is not below {ALPHA})" if p is not None else "no test can give a p-value)"))
    floor = d.get('smallest_rank_p')
    rank = (f"; with {d['n_pairs']} pairs the rank tests cannot go below {fmt(floor)}, so this "
            f"rests on the t-test's normal differences"
            if resolved and d['paired'] and floor is not None and floor >= ALPHA else '')
    left = f"; {len(d['unpaired'])} run(s) without a pair left out" if d['unpaired'] else ''
    return f"{word}: {d['mean']:+.4f} bpb, {family}, {test}{rank}{left}"


def arm_table(arms, base_tok, comparisons, target_means, target, held):
    """One row per arm: its runs, tokens per byte, val bpb (at the headline's equal point, final,
    eval), steps, bytes and training seconds to the bpb target (arm means, as the targets table),
    and its difference from the baseline with p, Holm p and verdict."""
    by_other = {c['other']: c for c in comparisons}
    reach = {t['arm']: t for t in target_means if (t['metric'], t['target']) == ('val_bpb', target)}
    rows = []
    for arm, rs in arms.items():
        name = ' '.join(filter(None, arm))
        c, t = by_other.get(name), reach.get(name) or {}
        d = (c or {}).get('difference') or {}
        tpb = [1 / r['bytes_per_token'] if r['bytes_per_token'] else None for r in rs]
        rows.append(dict(
            arm=name, role='baseline' if arm[0] == base_tok else f"vs {base_tok}",
            n_runs=len(rs), seeds=[r['seed'] for r in rs], tokens_per_byte=mean_or_none(tpb),
            bpb_at_equal=mean_or_none([r[f'at_equal_{held}'] for r in rs]),
            final_val_bpb=mean_or_none([r['final_val_bpb'] for r in rs]),
            eval_bpb=mean_or_none([r['eval_bpb'] for r in rs]),
            **{f'{x}_to_target': t.get(x) for x in REACH},
            difference=d.get('mean'), ci=d.get('ci'), p=d.get('p'), p_holm=d.get('p_holm'),
            verdict=c['verdict'] if c else None))
    return rows


def ab_plots(runs_out, out_dir):
    plt = pyplot()
    charts = [('val_loss', 'step', 'val loss (nats/token)', 'step'),
              ('val_loss', 'elapsed_s', 'val loss (nats/token)', TIME_LABEL),
              ('val_bpb', 'step', 'val bits per byte', 'step'),
              ('val_bpb', 'elapsed_s', 'val bits per byte', TIME_LABEL),
              ('val_bpb', 'bytes', 'val bits per byte', 'bytes of text seen'),
              ('val_bpb', 'train_flops', 'val bits per byte', 'train FLOPs'),
              ('train_loss', 'step', 'train loss (nats/token)', 'step')]
    arms = list(dict.fromkeys(r['arm'] for r in runs_out))
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    files = []
    for y, x, ylabel, xlabel in charts:
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        any_pts = False
        for r in runs_out:
            pts = [(e[x], e[y]) for e in r['events'] if e.get(x) is not None and e.get(y) is not None]
            if pts:
                any_pts = True
                ax.plot(*zip(*pts), marker='.' if y.startswith('val') else None, label=f"{r['run']}",
                        color=colors[arms.index(r['arm']) % len(colors)], alpha=0.85)
        if not any_pts:
            plt.close(fig)
            continue
        ax.set(xlabel=xlabel, ylabel=ylabel, title=f"{ylabel} vs {xlabel.split(' (')[0]}")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        files.append(save_figure(fig, os.path.join(out_dir, f"{y}_vs_{'time' if x == 'elapsed_s' else x}.png")))
    return files


AB_COLUMNS = ['run', 'arm', 'tokenizer', 'seed', 'steps', 'tokens', 'bytes', 'train_flops', 'elapsed_s', 'tok_per_s',
              'final_val_loss', 'final_val_bpb', 'at_equal_bytes', 'at_equal_flops', 'at_equal_steps', 'eval_bpb',
              'tokens_per_doc', 'bytes_per_token']


def fmt_at(eq):
    return '-' if not eq else num(eq['at'])


def headline(c, held):
    """The comparison's difference at the held-fixed point in one paragraph: the test that was used, the others."""
    d = c['difference']
    head = f"**{c['other']} − {c['base']}** at equal {held}: "
    if d is None:
        return head + f"not given ({c['difference_note']})."
    if d.get('zero_variance'):
        return head + zero_variance_words(d)
    text = head + (f"{d['mean']:+.4f} bpb, 95% CI {fmt_ci(d['ci'], 4)}, p = {fmt(d['p'])}"
                   f"{holm_words(d)} (")
    w = d['welch']
    if d['paired']:
        text += (f"{d['test']}, {d['n_pairs']} pairs, seeds {', '.join(map(str, d['seeds']))}). Beside it, without "
                 f"assuming normal differences: Wilcoxon signed-rank p = {fmt(d['wilcoxon_p'])}, sign test p = "
                 f"{fmt(d['sign_p'])}; with {d['n_pairs']} pairs neither can go below {fmt(d['smallest_rank_p'])}.")
        if w:
            text += (f" Welch over all runs, ignoring the pairing: {w['mean']:+.4f} {fmt_ci(w['ci'], 4)}, "
                     f"p = {fmt(w['p'])}.")
    else:
        text += f"{d['test']}; {d['n'][0]} and {d['n'][1]} seeds; fewer than 2 seed pairs, so not paired)."
    if d['unpaired']:
        text += f" Unpaired, left out of the paired test: {'; '.join(d['unpaired'])}."
    return text


def zero_variance_words(d):
    """The headline paragraph when the differences have no variance: why there is no t p and no
    interval, and the sign test's p (paired) in their place."""
    text = f"{d['mean']:+.4f} bpb, no interval: {d['why']}"
    if d['paired']:
        text += (f". Sign test p = {fmt(d['sign_p'])}{holm_words(d)} ({d['n_pairs']} pairs, seeds "
                 f"{', '.join(map(str, d['seeds']))})")
    text += '.'
    w = d.get('welch')
    if d['paired'] and w and w['p'] is not None:
        text += (f" Welch over all runs, ignoring the pairing: {w['mean']:+.4f} "
                 f"{fmt_ci(w['ci'], 4)}, p = {fmt(w['p'])}.")
    if d['unpaired']:
        text += f" Unpaired, left out of the paired test: {'; '.join(d['unpaired'])}."
    return text


ARM_COLUMNS = [  # (arm_table key, report header, digits)
    ('arm', 'arm', 3), ('role', 'role', 3), ('n_runs', 'runs', 3),
    ('tokens_per_byte', 'tokens/byte', 4), ('bpb_at_equal', 'val bpb at equal {held}', 4),
    ('final_val_bpb', 'final val bpb', 4), ('eval_bpb', 'eval bpb', 4),
    ('step_to_target', 'steps to target', 1), ('elapsed_s_to_target', 'training s to target', 1),
    ('bytes_to_target', 'bytes to target', 0), ('difference', '− baseline (bpb)', 4),
    ('p', 'p', 3), ('p_holm', 'Holm p', 3)]


def arm_lines(s):
    """The arms section: one row per arm, then each arm's verdict against the baseline."""
    rows, held, cmp = s.get('arm_table') or [], s['held_fixed'], s['comparisons']
    if not rows:
        return []
    m = max([(c['difference'] or {}).get('holm_m') or 0 for c in cmp], default=0)
    target = fmt(cmp[0]['target_bpb'], 4) if cmp else '-'
    cell = lambda r, k, nd: show('bytes', r[k]) if k == 'bytes_to_target' else fmt(r[k], nd)
    family = (f"Holm's correction runs over the {m} tested comparisons (a family per question: "
              f"the difference below, and steps, bytes and time to the target each), so a "
              f"verdict is read at a family-wise {ALPHA}; the 95% intervals are each "
              f"comparison's own" if m > 1 else
              "one comparison: Holm's correction leaves its p as it is")
    lines = ['## Arms', '',
             f"Baseline: **{s['base_tokenizer']}**. Each arm is compared with it in its own "
             f"context mode, paired by seed, at equal {held}; {family}. Target: val bpb {target} "
             f"(arm means; '-' where a run never reaches it).", '',
             md_table([h.format(held=held) for _, h, _ in ARM_COLUMNS],
                      [[cell(r, k, nd) for k, _, nd in ARM_COLUMNS] for r in rows]), '']
    lines += [f"- **{c['other']}**: {c['verdict']}." for c in cmp]
    lines += [f"- not compared: {x}" for x in s.get('not_compared') or []]
    return lines + ['']


def ab_report(s):
    digits = dict(elapsed_s=1, tok_per_s=0, final_val_loss=4, final_val_bpb=4, at_equal_bytes=4, at_equal_flops=4,
                  at_equal_steps=4, eval_bpb=4, tokens_per_doc=1, bytes_per_token=3)
    runs = [[fmt(r[c], digits.get(c, 3)) for c in AB_COLUMNS] for r in s['runs']]
    where = lambda t, gone: [gone] * 3 if t['step'] is None else [show(x, t[x]) for x in ('step', 'elapsed_s', 'bytes')]
    targets = [[t['metric'], f"{t['target']:.4f}", t['run'], *where(t, 'not reached')] for t in s['targets']]
    targets += [[t['metric'], f"{t['target']:.4f}", f"**mean of {t['arm']}** ({t['n_runs']} runs)",
                 *where(t, 'a run never reaches it')] for t in s.get('target_means', [])]
    held = s['held_fixed']
    notes = s.get('at_equal_notes') or {}
    eq = [[f"equal {k}" + (' (headline)' if k == held else ''), fmt_at(s[f'at_equal_{k}']),
           'yes' if s[f'at_equal_{k}'] else f"no: {notes.get(k) or 'a run lacks this axis'}"] for k in AXES]
    lines = ['# A/B learning curves', '']
    if s.get('left_out'):
        lines += [f"**Left out ({len(s['left_out'])}, --allow_missing=True):** " + '; '.join(s['left_out']), '']
    lines += [f"**Held fixed: {held}** (the headline compares val bpb at equal {AXES[held][1]}): "
              f"{s['held_fixed_why']}.", ''] + arm_lines(s)
    for c in s['comparisons']:
        lines += [headline(c, held), '', c['words'], '']
    lines += ['**Per-token loss is not comparable across tokenizers**: a tokenizer that packs more bytes into each '
              'token predicts fewer, harder tokens, so its loss per token is higher for the same model quality. '
              'Compare bits per byte, against bytes of text seen or train FLOPs, not steps or tokens. Time is '
              'training time (elapsed_s: optimizer steps only, no evaluation, checkpoint writing or compile); tok/s '
              'is the run\'s mean, tokens / training seconds.', '',
              md_table(['run', 'arm', 'tokenizer', 'seed', 'steps', 'tokens', 'bytes seen', 'train FLOPs',
                        'training s', 'tok/s (mean)', 'final val loss', 'final val bpb', 'bpb at equal bytes',
                        'at equal FLOPs', 'at equal steps', 'eval bpb', 'tokens/doc', 'bytes/token'], runs), '',
              'The equal points: every run at the end of its schedule (its final val bpb), where all runs end within '
              'one optimizer step of the least final x on that axis (shown). Where some run would be read before its '
              'schedule ended, its learning rate has not finished decaying while the shorter run\'s has, a gap of the '
              'order of the tokenizer effect: that view is not given, and the table says why.', '',
              md_table(['compared at', 'where', 'comparable'], eq), '',
              "Tokens per document and bytes per token come from: "
              f"{', '.join(sorted({r['source'] for r in s['runs']}))}.",
              '', '## Steps, bytes and time to reach a target', '',
              'Interpolated between the evaluation above the target and the first at or below it; the arm means are '
              'the numbers the sentences above give.', '',
              md_table(['metric', 'target', 'run', 'step', 'training s', 'bytes seen'], targets), '',
              '## Plots', '']
    return '\n'.join(lines + [f"![{f}]({f})" for f in s.get('plots', [])]) + '\n'
