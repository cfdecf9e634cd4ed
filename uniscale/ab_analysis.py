"""
The A/B study: learning curves of two tokenizers (or more) on shared charts, val bpb at equal bytes of text, equal
train FLOPs and equal steps, the final difference over seeds with an interval and a Welch t-test, and the seed
document's success criterion answered in words. Runs are grouped into arms by tokenizer, and by context mode when
any run set `context_bytes` (the token context derived from a number of bytes).

ab_analysis(records, cfg) takes the runs correlate.py loaded and checked; ab_report and ab_plots write the rest.
"""
import os

import numpy as np
import scipy.stats as st

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


def first_reach(events, key, target):
    """The first eval event whose `key` is at or below target, else None."""
    return next((e for e in events if e.get(key) is not None and e[key] <= target), None)


def crossing(events, target, x):
    """`x` (step or elapsed_s) where val bpb first reaches target, linearly interpolated between the evaluation
    above it and the one at or below it; None when never reached."""
    prev = None
    for e in events:
        if e.get('val_bpb') is None or e.get(x) is None:
            continue
        if e['val_bpb'] <= target:
            if prev is None or prev['val_bpb'] == e['val_bpb']:
                return float(e[x])
            f = (prev['val_bpb'] - target) / (prev['val_bpb'] - e['val_bpb'])
            return float(prev[x] + f * (e[x] - prev[x]))
        prev = e
    return None


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


def at_equal(runs_out, axis):
    """{'at': the least final x of any run, 'bpb': {run: val bpb there}}; None when a run lacks the axis."""
    finals = [curve(r, axis)[0] for r in runs_out]
    if any(not len(f) for f in finals):
        return None
    common = float(min(f[-1] for f in finals))
    return {'at': common, 'bpb': {r['run']: value_at(r, axis, common) for r in runs_out}}


def welch(a, b):
    """mean(a) - mean(b) with the Welch 95% interval and two-sided p (scipy.stats.ttest_ind, equal_var=False)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    t = st.ttest_ind(a, b, equal_var=False)
    ci = t.confidence_interval(0.95)
    return {'mean': float(a.mean() - b.mean()), 'ci': [float(ci.low), float(ci.high)], 'p': float(t.pvalue),
            'test': 'Welch t-test (scipy.stats.ttest_ind, equal_var=False)', 'n': [len(a), len(b)]}


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


def compare_arms(arms, other, base, held, target):
    """The difference of other minus base at the held-fixed point, and the success criterion in words."""
    a, b = arms[other], arms[base]
    key = f'at_equal_{held}'
    va, vb = [r[key] for r in a], [r[key] for r in b]
    out = {'other': ' '.join(filter(None, other)), 'base': ' '.join(filter(None, base)), 'held_fixed': held,
           'values': {'other': va, 'base': vb}}
    if len(a) >= 2 and len(b) >= 2 and None not in va + vb:
        out['difference'] = welch(va, vb)
    seeds = sorted({r['seed'] for r in a} & {r['seed'] for r in b}, key=str)
    counts = [below_everywhere(next(r for r in a if r['seed'] == s), next(r for r in b if r['seed'] == s),
                               AXES[held][0]) for s in seeds]
    below, total = sum(c[0] for c in counts), sum(c[1] for c in counts)
    out['below_at_every_point'] = bool(total and below == total)
    out['below_points'] = [below, total]
    reach = {}
    for x in ('step', 'elapsed_s'):
        xa, xb = [crossing(r['val'], target, x) for r in a], [crossing(r['val'], target, x) for r in b]
        reach[x] = {'other': xa, 'base': xb}
        if None not in xa + xb:
            reach[x]['mean'] = [float(np.mean(xa)), float(np.mean(xb))]
            if len(a) >= 2 and len(b) >= 2:
                reach[x]['difference'] = welch(xa, xb)
    out['reach'], out['target_bpb'] = reach, target
    out['words'] = criterion_words(out, len(seeds))
    return out


def _fewer(r, what):
    if 'mean' not in r:
        return f"not answerable: a run never reaches the target ({what})"
    d = r.get('difference')
    if d is None:
        word = 'yes' if r['mean'][0] < r['mean'][1] else 'no'
        return f"{word} ({fmt(r['mean'][0], 1)} vs {fmt(r['mean'][1], 1)}; one seed per arm, no interval)"
    sure = d['ci'][1] < 0
    word = 'yes' if sure else ('yes on average, but the 95% interval includes 0' if d['mean'] < 0 else 'no')
    return (f"{word} ({fmt(r['mean'][0], 1)} vs {fmt(r['mean'][1], 1)}; difference {fmt(d['mean'], 1)} "
            f"{fmt_ci(d['ci'], 1)}, p = {fmt(d['p'])})")


def criterion_words(c, n_seeds):
    below, total = c['below_points']
    curve_word = 'yes' if c['below_at_every_point'] else 'no'
    return (f"Is {c['other']} below {c['base']} at every evaluation point on every seed (at equal "
            f"{c['held_fixed']})? **{curve_word}** ({below} of {total} points over {n_seeds} paired seed(s)). "
            f"Does it reach val bpb {c['target_bpb']:.4f} (interpolated between evaluations) in fewer steps? {_fewer(c['reach']['step'], 'steps')}. "
            f"In less training time? {_fewer(c['reach']['elapsed_s'], 'seconds')}.")


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
        runs_out.append(dict(run=rec['name'], dir=rec['dir'], arm=' '.join(filter(None, arm)), _arm=arm,
                             seed=rec['eval'].get('seed', rec['config'].get('seed')), events=events, val=val,
                             steps=last.get('step'), tokens=last.get('tokens'), bytes=last.get('bytes'),
                             train_flops=last.get('train_flops'), elapsed_s=last.get('elapsed_s'),
                             tok_per_s=last.get('tok_per_s'), final_val_loss=last_val.get('val_loss'),
                             final_val_bpb=last_val.get('val_bpb'), eval_bpb=rec['eval'].get('bpb'),
                             context_bytes=rec['config'].get('context_bytes'),
                             block_size=rec['config'].get('block_size'),
                             **token_stats(rec['config'], events, cfg['tokens_dir'], cfg['token_stats_split'],
                                           read_json)))
    finals = [r['final_val_bpb'] for r in runs_out if r['final_val_bpb'] is not None]
    bpb_t = list(cfg['bpb_targets']) or ([max(finals)] if finals else [])
    targets = []
    for key, values in (('val_loss', cfg['loss_targets']), ('val_bpb', bpb_t)):
        for t in values:
            for r in runs_out:
                e = first_reach(r['val'], key, t)
                targets.append(dict(metric=key, target=t, run=r['run'], step=e and e.get('step'),
                                    elapsed_s=e and e.get('elapsed_s'), bytes=e and e.get('bytes')))
    equal = {held: at_equal(runs_out, AXES[held][0]) for held in AXES}
    for r in runs_out:
        for held, eq in equal.items():
            r[f'at_equal_{held}'] = eq['bpb'][r['run']] if eq else None
    held = cfg['held_fixed']
    if equal[held] is None:
        raise SystemExit(f"correlate.py ab: held_fixed={held!r} but some run has no {AXES[held][1]} in its log "
                         f"(train_flops needs flops_per_token in eval.json); re-run eval_bpb.py or pick another")
    arms = {}
    for r in runs_out:
        arms.setdefault(r['_arm'], []).append(r)
    base_tok = runs_out[0]['_arm'][0]
    comparisons = [compare_arms(arms, arm, (base_tok, arm[1]), held, bpb_t[0] if bpb_t else max(finals))
                   for arm in arms if arm[0] != base_tok and (base_tok, arm[1]) in arms] if finals else []
    first = comparisons[0] if comparisons else {}
    return dict(runs=[{k: v for k, v in r.items() if k not in ('events', 'val', '_arm')} for r in runs_out],
                arms={' '.join(filter(None, a)): [r['run'] for r in rs] for a, rs in arms.items()},
                targets=targets, common_bytes=equal['bytes']['at'] if equal['bytes'] else None,
                held_fixed=held, held_fixed_why=WHY_HELD_FIXED[held],
                at_equal_bytes=equal['bytes'], at_equal_flops=equal['flops'], at_equal_steps=equal['steps'],
                comparisons=comparisons, difference=first.get('difference'),
                difference_note=None if first.get('difference') else 'needs 2 or more seeds in each arm',
                criterion=' '.join(c['words'] for c in comparisons) or None), runs_out


def ab_plots(runs_out, out_dir):
    plt = pyplot()
    charts = [('val_loss', 'step', 'val loss (nats/token)', 'step'),
              ('val_loss', 'elapsed_s', 'val loss (nats/token)', TIME_LABEL),
              ('val_bpb', 'step', 'val bits per byte', 'step'), ('val_bpb', 'elapsed_s', 'val bits per byte', TIME_LABEL),
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
    return '-' if not eq else fmt(int(eq['at'])) if float(eq['at']).is_integer() else fmt(eq['at'])


def ab_report(s):
    digits = dict(elapsed_s=1, tok_per_s=0, final_val_loss=4, final_val_bpb=4, at_equal_bytes=4, at_equal_flops=4,
                  at_equal_steps=4, eval_bpb=4, tokens_per_doc=1, bytes_per_token=3)
    runs = [[fmt(r[c], digits.get(c, 3)) for c in AB_COLUMNS] for r in s['runs']]
    targets = [[t['metric'], f"{t['target']:.4f}", t['run'], 'not reached' if t['step'] is None else t['step'],
                fmt(t['elapsed_s'], 1), fmt(t['bytes'])] for t in s['targets']]
    held = s['held_fixed']
    eq = [[f"equal {k}" + (' (headline)' if k == held else ''), fmt_at(s[f'at_equal_{k}'])] for k in AXES]
    lines = ['# A/B learning curves', '']
    if s.get('left_out'):
        lines += [f"**Left out ({len(s['left_out'])}, --allow_missing=True):** " + '; '.join(s['left_out']), '']
    lines += [f"**Held fixed: {held}** (the headline compares val bpb at equal {AXES[held][1]}): "
              f"{s['held_fixed_why']}.", '']
    for c in s['comparisons']:
        d = c.get('difference')
        lines += [f"**{c['other']} − {c['base']}** at equal {held}: "
                  + (f"{d['mean']:+.4f} bpb, 95% CI {fmt_ci(d['ci'], 4)}, p = {fmt(d['p'])} ({d['test']}; "
                     f"{d['n'][0]} and {d['n'][1]} seeds)." if d else f"no interval ({s['difference_note']})."),
                  '', c['words'], '']
    lines += ['**Per-token loss is not comparable across tokenizers**: a tokenizer that packs more bytes into each '
              'token predicts fewer, harder tokens, so its loss per token is higher for the same model quality. '
              'Compare bits per byte, against bytes of text seen or train FLOPs, not steps or tokens. Time is '
              'training time (elapsed_s: optimizer steps only, no evaluation, checkpoint writing or compile).', '',
              md_table(['run', 'arm', 'tokenizer', 'seed', 'steps', 'tokens', 'bytes seen', 'train FLOPs',
                        'training s', 'tok/s', 'final val loss', 'final val bpb', 'bpb at equal bytes',
                        'at equal FLOPs', 'at equal steps', 'eval bpb', 'tokens/doc', 'bytes/token'], runs), '',
              'The equal points: the least any run reached on each axis (val bpb interpolated between evaluations).',
              '', md_table(['compared at', 'where'], eq), '',
              f"Tokens per document and bytes per token come from: {', '.join(sorted({r['source'] for r in s['runs']}))}.",
              '', '## Steps and time to reach a target', '',
              md_table(['metric', 'target', 'run', 'step', 'training s', 'bytes seen'], targets), '',
              '## Plots', '']
    return '\n'.join(lines + [f"![{f}]({f})" for f in s.get('plots', [])]) + '\n'
