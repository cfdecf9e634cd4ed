"""
The scale report's agreement-over-training section and its compute-saving sentence (issue 29, rows 1
and 5), from the summary dict of scale_analysis: which bpb each number is (log.jsonl's val bpb is
pooled; the verdict's reference is the largest size's test bpb under the headline's weighting), and a
saving claimed only where the pair table agrees and the seed interval reaches the target.
"""
import numpy as np

from uniscale.report_format import fmt, fmt_ci, md_table

TABLE_POINTS = 10           # evaluations per size in the table (all are in summary.json)
WEIGHTING_WORDS = {'macro': 'macro (language-averaged)', 'bytes': 'byte-weighted'}


def weighting_words(s):
    """The headline's weighting in a few words: 'macro (language-averaged)', 'byte-weighted'."""
    return WEIGHTING_WORDS.get(s.get('weighting'), 'as eval.json holds it')


def verdict_measure(s):
    """'bpb on the test split, macro (language-averaged)': what the verdict ranks by, for the sections
    that read the same cells (the means table, the pairs, the noise, the algorithm groups)."""
    return f"{s['metric']} on the {s.get('split')} split, {weighting_words(s)}"


def measure_words(s):
    """What the over-training points are, said first: pooled val bpb, and why not the headline's."""
    m = s.get('over_training_measure') or 'val bpb of log.jsonl (pooled over the val bytes)'
    return m[0].upper() + m[1:]


def pair_row(s, size):
    """The pair table's row (size, largest size); None for the largest size itself."""
    large = s['sizes'][-1]['preset']
    return next((p for p in s['pairs'] if (p['small'], p['large']) == (size, large)), None)


def target_words(s):
    return ', '.join(f"{k} ≥ {v}" for k, v in s['agree_target'].items())


def intervals(c):
    """'decision accuracy 1.000 (seed interval [0.8, 1.0]), Spearman ρ 0.9 (seed interval ...)'."""
    def one(name, key):
        ci = c.get(f'{key}_ci')
        return f"{name} {fmt(c[key])} " + (f"(seed interval {fmt_ci(ci)})" if ci else
                                             "(one seed per cell: no seed interval)")
    return f"{one('decision accuracy', 'decision_accuracy')}, {one('Spearman ρ', 'spearman')}"


def where_words(s, c):
    """'40% of the S runs (F FLOPs, all its runs, x% of what the N L runs cost: ...)'."""
    total, large = s.get('largest_size_train_flops'), s['sizes'][-1]['preset']
    share = c['train_flops'] / total if total else None
    cost = (f", {100 * share:.3g}% of what the {s['largest_size_runs']} {large} runs cost: "
            f"{fmt(total)} FLOPs, every tokenizer and seed" if share else '')
    return (f"{c['fraction']:.0%} of the {c['size']} runs ({fmt(c['train_flops'])} FLOPs, all its "
            f"runs{cost})")


def pair_words(s, c):
    """The pair table's row for the point's size, which cleared it (scale_analysis.pair_gate)."""
    row = pair_row(s, c['size'])
    if not row:
        return ''
    return (f" At the end of its training the pair table agrees: {c['size']} → {row['large']} "
            f"decision accuracy {fmt(row['decision_accuracy'])} (seed interval "
            f"{fmt_ci(row['decision_accuracy_ci'])}), the same top pick ({row['small_pick']}), on the "
            f"test split.")


def saving_sentence(s):
    """The compute-saving claim: the cheapest point that agrees with the verdict's reference, is held
    to the end of its size's training and is cleared by the pair table, with its seed interval; "you
    could have stopped" only where every target's interval lower end reaches the target."""
    c, large = s['cheapest_agreeing'], s['sizes'][-1]['preset']
    head = f"**Cheapest agreeing** ({target_words(s)} against the verdict's reference"
    if not c:
        return [head + "): no size reaches it at an evaluation and keeps it to the end of its "
                       "training with the pair table agreeing at the end; no compute saving can be "
                       "claimed.", '']
    held = f"{head}, held at every later evaluation of that size)"
    stats = f"there {s.get('over_training_measure') or 'val bpb'} gives {intervals(c)}"
    if c['supported']:
        text = (f"{held}: you could have stopped at {where_words(s, c)}; {stats}, the interval's "
                f"lower end at or above the target.")
    elif c.get('decision_accuracy_ci') is None:
        text = (f"{held}: the point estimate reaches it from {where_words(s, c)}; {stats}. With one "
                f"seed per cell seed noise is unknown, so these runs do not show that stopping there "
                f"gives the verdict's ranking.")
    else:
        text = (f"{held}: the point estimate reaches it from {where_words(s, c)}; {stats}. The seed "
                f"interval reaches below the target: seed noise alone could undo the agreement, so "
                f"these seeds do not show that stopping there gives the verdict's ranking.")
    text += pair_words(s, c)
    if c['size'] == large:
        text += (" That is the largest size itself: no smaller size agrees, so the saving would come "
                 "from stopping the largest runs early, not from a smaller proxy.")
    return [text, '']


def blocked_lines(s):
    """Cheaper points the pooled val curve alone would have picked, of sizes the pair table does not
    clear."""
    out = [f"- {b['size']}: its val curve alone reaches the target from {b['fraction']:.0%} of "
           f"training ({fmt(b['train_flops'])} FLOPs), but {b['why']}: not counted as agreeing."
           for b in s.get('agreeing_blocked') or []]
    return out + [''] if out else []


def shown_points(s):
    """At most TABLE_POINTS evaluations a size, evenly spread (summary.json has them all)."""
    shown = []
    for z in [z['preset'] for z in s['sizes']]:
        pts = [p for p in s['over_training'] if p['size'] == z]
        n = min(TABLE_POINTS, len(pts))
        keep = sorted(set(np.linspace(0, len(pts) - 1, n).round().astype(int)))
        shown += [pts[i] for i in keep] if pts else []
    return shown


def points_table(s):
    shown = shown_points(s)
    val = any('decision_accuracy_val' in p for p in shown)
    rows = [[p['size'], f"{p['fraction']:.0%}", fmt(p['train_flops']), fmt(p['spearman']),
             fmt(p['decision_accuracy'])]
            + ([fmt(p.get('spearman_val')), fmt(p.get('decision_accuracy_val'))] if val else [])
            for p in shown]
    head = ['size', 'fraction of training', 'train FLOPs', 'Spearman ρ', 'decision accuracy']
    return md_table(head + (['ρ vs val (like for like)', 'decision accuracy vs val'] if val else []),
                    rows)


def over_training_lines(s):
    if not s['over_training']:
        return ['(none: needs the metric bpb, a log.jsonl with val_bpb in every run, and '
                'flops_per_token in eval.json)']
    like = s.get('over_training_val_reference')
    lines = [f"{measure_words(s)}, the headline being {weighting_words(s)}: each size's ranking at "
             f"each evaluation of its training (mean over seeds) against the verdict's reference "
             f"({s['over_training_reference']}), the ranking the verdict reads."
             + (f" The last two columns: against {like}; where they agree and the first two do not, "
                f"the split and the weighting move the ranking, not training." if like else '')
             + " Train FLOPs: the whole size (every tokenizer and seed) up to that point.", '']
    return lines + saving_sentence(s) + blocked_lines(s) + [points_table(s)]
