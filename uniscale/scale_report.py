"""
The scale study's report.md, summary.csv and PNG plots, from the summary dict of scale_analysis.scale_analysis.
"""
import itertools
import math
import os

import numpy as np

from uniscale import agreement_report, fairness_report, rank_stats, verdict_words
from uniscale.law_report import fit_lines
from uniscale.report_format import csv_text, fmt, fmt_ci, md_table, pyplot, save_figure
from uniscale.scale_analysis import MIN_GROUP, natural_key
from uniscale.study_card import card_lines

SEED_NOISE_NOTE = (
    "What the seed intervals can and cannot show: each cell's mean is redrawn as mean + N(0, s²/k), s² the seed "
    "variance pooled over the size's tokenizers (chi-square-scaled for its degrees of freedom, so that 2-3 seeds give "
    "the wider, Student-t intervals they deserve), and the statistic is recomputed. The interval says how far seed "
    "noise alone could move the statistic at these tokenizers and this data. It does not resample tokenizers or data, "
    "so it says nothing about other tokenizers, another corpus or another evaluation set; with one seed per cell "
    "seed noise is unknown and there is no interval.")


def held_fixed_lines(s):
    """The report's first lines: the study card's tables (uniscale/study_card.py), then what every
    tokenizer of a size shares, and what the verdict ranks by."""
    hf = s['held_fixed']['sizes']
    parts = []
    for r in hf:
        b, u = r['budget'], r['budget_unit']
        if len(b) > 1 or len(u) > 1:
            part = f"{r['size']} budgets {b} in {u} (they differ between its runs)"
        elif not b[0]:
            part = f"{r['size']} {'one epoch of the train split' if b[0] == 0 else 'budget not recorded'}"
        else:
            part = f"{r['size']} {num(b[0])} {u[0]}"
        if r['bytes_seen'] and r['tokens_seen']:
            part += (f" ({span(r['bytes_seen'])} bytes, {span(r['tokens_seen'])} tokens seen)")
        parts.append(part)
    in_bytes = all(r['budget_unit'] == ['bytes'] for r in hf)
    lines = [f"- **Text per size** (budget): {'; '.join(parts)}. " + (
        "Every tokenizer of a size trains on the same text, in its own number of tokens." if in_bytes else
        "The budget is not in bytes everywhere: tokenizers of a size may read different amounts of text.")]
    if all(not any(r['context_bytes']) for r in hf):
        blocks = {str(v) for r in hf for v in r['block_size']}
        where = f"{blocks.pop()} tokens at every size" if len(blocks) == 1 else '; '.join(
            f"{r['size']} {'/'.join(map(str, r['block_size']))} tokens" for r in hf)
        lines.append(f"- **Context**: {where}, the same for every tokenizer: in tokens, not bytes, so a tokenizer "
                     f"with more bytes per token sees more text per window (train.py context_bytes sets it in bytes).")
    else:
        def values(key):
            return '/'.join(sorted({str(v) for r in hf for v in r[key]}, key=natural_key))
        lines.append(f"- **Context**: context_bytes {values('context_bytes')} bytes of text per window (block_size "
                     f"{values('block_size')} tokens)"
                     + (" (not every run sets it in bytes)." if not all(v for r in hf for v in r['context_bytes'])
                        else ": every tokenizer sees the same text per window."))
    lrs = [f"{r['size']} {' / '.join(fmt(v) for v in r['lr'])}" for r in hf]
    one = all(len(r['lr']) == 1 for r in hf)
    if all(r['lr'] == [None] for r in hf):
        lines.append("- **Learning rate**: not recorded in config.json.")
    else:
        lines.append(f"- **Learning rate**: {'; '.join(lrs)}" + (
            (": one per size for every tokenizer; the lr scan at the smallest size asks whether its ranking survives "
             "another lr (its section below)." if s.get('lr_scan') else
             ": one per size for every tokenizer. The study has no lr axis: a ranking that would flip with another lr "
             "is not seen here.") if one else
            ": a size's tokenizers train at different lrs (each cell at one)."))
    lines.append(f"- **Headline {s['metric']}**: {s['weighting_note']}"
                 + (f"; the verdict uses it (--weighting={s['weighting']}; the other weighting is shown beside it)."
                    if s['weighting'] else '.'))
    return card_lines(s) + ['**Held fixed:**', ''] + lines + ['']


def num(v):
    """A count for a sentence: 400,000 (an integral float as an int), 4.00e+10 when large."""
    return fmt(int(v)) if isinstance(v, (int, float)) and float(v).is_integer() and abs(v) < 1e9 else fmt(v)


def span(v):
    return num(v[0]) if v[0] == v[1] else f"{num(v[0])}–{num(v[1])}"


def resolve_words(r, metric, h):
    """What would resolve the 'not resolved' verdict of pair h, in numbers (rank_stats.to_resolve,
    and for the headline resolve_sim's simulated seeds). Each clause says only what the numbers
    beside it show."""
    out = [agreement_words(h, r)]
    n = r['tokenizers']
    if n:
        out.append(f"more tokenizers: at least {n} (2/{n}! = {rank_stats.smallest_p(n):.3g} < "
                   f"{rank_stats.ALPHA}); with {h['n_tokenizers']} no number of seeds can")
    elif h['spearman_ci'] is None:
        out.append('seeds: at least 2 per cell, so that seed noise can be measured')
    elif r.get('simulated'):
        out += seeds_words(r['seeds'], r['simulation'], metric, h)
    return '; '.join(out) + '.'


def agreement_words(h, r):
    """What the two sizes' orders show, and so what is missing. Decision accuracy 1 (every pair
    ordered alike) is a fact of the means: what keeps it from a word is then the p-value's reach or
    the seed intervals, never the order. With a measured seed noise and enough tokenizers for the
    decision-accuracy rule, what that rule lacks is said too (its floor)."""
    nums = f"ρ = {h['spearman']:.3f}, decision accuracy {fmt(h['decision_accuracy'])}"
    floor = da_floor_words(h, r)
    if h['decision_accuracy'] < 1:
        return (f"the two sizes do not order every tokenizer pair alike ({nums})"
                + (f"; what the decision-accuracy rule is missing: {floor}" if floor else ''))
    missing = [f"the p-value's reach ({h['n_tokenizers']} tokenizers)"] if r['tokenizers'] else []
    if h['spearman_ci'] is None:
        missing.append('a measure of seed noise')
    elif rank_stats.interval_why(h):
        missing.append('a seed interval of ρ that stays in the band'
                       + (f" (or {floor})" if floor else ''))
    elif floor:
        missing.append(floor)
    return (f"the two sizes order every tokenizer pair alike ({nums}): what is missing is "
            f"{' and '.join(missing) or 'p < ' + str(rank_stats.ALPHA)}")


def da_floor_words(h, r):
    """What the decision-accuracy rule lacks when it could apply (enough tokenizers, a seed
    interval): the point or its interval's lower end below the 'moderate' floor; None otherwise
    (verdict_words.da_reason says why it cannot apply)."""
    ci, floor = h.get('decision_accuracy_ci'), rank_stats.DA_MODERATE
    if r['tokenizers'] or ci is None or math.isnan(ci[0]):
        return None
    if h['decision_accuracy'] < floor:
        return f"decision accuracy at or above the 'moderate' floor {floor}"
    if ci[0] < floor:
        return (f"a seed interval of decision accuracy whose lower end ({ci[0]:.3f}) reaches the "
                f"'moderate' floor {floor}")
    return None


def pct(x):
    return f"{100 * x:.0f}%"


def mc(x):
    return f"Monte Carlo s.e. {100 * x:.1f}%"


def seeds_words(k, sim, metric, h):
    """The simulated seeds per cell (resolve_sim.seeds_to_resolve) in words, and the pair that
    decides."""
    now, target = sim['seeds_now'], pct(sim['target'])
    how = (f"of {sim['replications']} simulated replications of the study (true cell means drawn "
           f"around the measured ones by their standard errors, the seed std from its chi-square "
           f"posterior, each verdict by the analysis's rule)")
    d = sim['decider']
    if k is None:
        out = [f"no number of seeds up to {sim['cap']} per cell reaches {target}: with "
               f"{sim['cap']}, {pct(sim['share'])} ({mc(sim['share_se'])}) {how} reach a verdict, "
               f"with unlimited seeds (the true means themselves) {pct(sim['share_unlimited'])}"]
        out.append('what else could: ' + ', or '.join(else_could(sim, d)))
    elif k > now:
        out = [f"more seeds: {k} per cell reach a verdict in {pct(sim['share'])} "
               f"({mc(sim['share_se'])}) {how}, the fewest found to reach {target} ({now} seeds: "
               f"{pct(sim['share_now'])})"]
    else:
        out = [f"not more seeds: with the {now} seeds per cell used, {pct(sim['share_now'])} "
               f"({mc(sim['share_now_se'])}) {how} reach a verdict ({k} would reach {target}); "
               f"this study's numbers fell among the other {pct(1 - sim['share_now'])}"]
    if d:
        out.append(decider_words(d, sim, metric, h))
    return out


def else_could(sim, d):
    """What else than seeds up to the cap could resolve it, each only where the numbers show it."""
    out = []
    if sim['share_unlimited'] >= sim['target']:
        out.append(f"more than {sim['cap']} seeds per cell")
    m = sim.get('more_tokenizers')
    if m:
        by = (f"{m['decision_accuracy']:.3f}" if m['rule'] == rank_stats.DA_RULE
              else f"ρ = {m['spearman']:.3f}, p = {m['p']:.3g}")
        out.append(f"more tokenizers whose order is clear (with {m['n_tokenizers']}, the "
                   f"{m['discordant']} misordered pairs of the median replication that fails with "
                   f"unlimited seeds can still read '{m['word']}' by {m['rule']}, {by})")
    if d:
        out.append('tokenizers further apart than the pair that decides' if d.get('clear', True)
                   else 'tokenizers further apart than the pairs the failing replications misorder')
    return out or ['nothing this simulation can name']


def decider_words(d, sim, metric, h):
    """The pair the failing replications misorder most often, with its measured gaps: 'the pair
    that decides' only when it leads the runner-up clearly (resolve_sim.CLEAR_P)."""
    def gap(z):
        se = f"{d[z]['z']:.2f} standard errors of a difference" if d[z]['z'] is not None else \
            'no seed noise'
        return f"{abs(d[z]['gap']):.4f} {metric} at {h[z]} ({se})"
    product = d['small']['gap'] * d['large']['gap']
    order = 'the same order' if product > 0 else 'opposite orders' if product < 0 else 'a tie'
    a, b = d['pair']
    fail = f"the replications that fail with {sim['seeds_simulated']} seeds"
    nxt = d.get('runner_up')
    runner = nxt and f"{nxt['pair'][0]} and {nxt['pair'][1]}, {pct(nxt['misordered_share'])}"
    if d.get('clear', True):
        head = (f"the pair that decides: {a} and {b}, misordered in {pct(d['misordered_share'])} "
                f"of {fail}" + (f" (next: {runner})" if runner else ''))
    else:
        head = (f"no single pair decides: {fail} misorder {a} and {b} most often "
                f"({pct(d['misordered_share'])}), then {nxt['pair'][0]} and {nxt['pair'][1]} "
                f"({pct(nxt['misordered_share'])}), not clearly less often (McNemar's exact "
                f"one-sided p = {d['lead_p']:.2g})")
    return f"{head}; {a} and {b} measured {gap('small')} and {gap('large')}, in {order}"


def pair_numbers(h):
    k = h.get('min_seeds')
    return (f"between {h['small']} and {h['large']}: Spearman ρ = {h['spearman']:.3f} (p = {h['spearman_p']:.3g}, "
            f"{h['p_method']}), Kendall τ-b = {h['kendall']:.3f} (p = {h['kendall_p']:.3g}), 95% seed interval of ρ "
            f"{fmt_ci(h['spearman_ci'])}, decision accuracy {fmt(h['decision_accuracy'])} (seed interval "
            f"{fmt_ci(h['decision_accuracy_ci'])}), over {h['n_tokenizers']} tokenizers with {k} seed(s) per cell.")


def verdict_sentence(h, metric='bpb'):
    """The verdict in words, naming the rule that gave it (rank_stats.verdict_rule) and what it does
    not claim."""
    v, rule = h['verdict'], h.get('verdict_rule')
    if v == 'not resolved':
        r = h['to_resolve']
        why = '; '.join(r['why'] + [verdict_words.da_reason(h)])
        return (f"**Verdict: not resolved** {pair_numbers(h)} Why: {why}. What would resolve it: "
                + resolve_words(r, metric, h))
    if v == 'reversed':
        return (f"**Verdict: reversed**: the small size orders the tokenizers against the large one, "
                f"{pair_numbers(h)} Both p < {rank_stats.ALPHA} and the seed interval stays below 0.")
    if rule == rank_stats.DA_RULE:
        reach = verdict_words.reachable(h['n_tokenizers'])
        return (f"**Verdict: {v}** decision accuracy (the rank-correlation rule gives no word) "
                f"{pair_numbers(h)} " + verdict_words.da_sentence(h, reach))
    return (f"**Verdict: {v}** rank correlation {pair_numbers(h)} Both p < {rank_stats.ALPHA}, and the seed "
            f"interval's lower end ({h['spearman_ci'][0]:.3f}) stays in the '{v}' band.")


def other_weighting_line(s):
    o, h = s.get('other_weighting'), s['headline']
    if not o or not o['headline'] or o['headline'].get('spearman') is None or not h:
        return []
    g = o['headline']
    name = {'bytes': 'Byte-weighted (every test byte once)', 'macro': 'Language-averaged (macro)'}[o['weighting']]
    pick = '' if g['large_best'] == h['large_best'] else (f" **The large size's best differs: {g['large_best']} here, "
                                                          f"{h['large_best']} under the verdict's weighting.**")
    return [f"{name} instead, not used by the verdict: ρ = {g['spearman']:.3f} (p = {g['spearman_p']:.3g}), τ-b = "
            f"{g['kendall']:.3f} (p = {g['kendall_p']:.3g}), decision accuracy {fmt(g['decision_accuracy'])}, "
            f"the small size's pick {g['small_pick']}, the large size's best {g['large_best']}: "
            f"{verdict_words.word_with_rule(g)}.{pick}", '']


def pairs_table(pairs):
    rows = []
    for p in pairs:
        if p.get('spearman') is None:
            rows.append([p['small'], p['large'], p['n_tokenizers']] + ['-'] * 6 + ['undefined'])
            continue
        rows.append([p['small'], p['large'], p['n_tokenizers'], f"{fmt(p['spearman'])} ({fmt(p['spearman_p'])})",
                     fmt_ci(p['spearman_ci']), f"{fmt(p['kendall'])} ({fmt(p['kendall_p'])})",
                     f"{fmt(p['decision_accuracy'])} {fmt_ci(p['decision_accuracy_ci'])}",
                     'yes' if p['top1_agree'] else f"no ({p['small_pick']})", fmt(p['regret'], 4),
                     verdict_words.word_with_rule(p)])
    return md_table(['small', 'large', 'n', 'Spearman ρ (p)', '95% seed interval', 'Kendall τ-b (p)',
                     'decision accuracy [seed interval]', 'top-1', 'regret', 'verdict'], rows)


def group_lines(groups, title, headline=None):
    """A table of per-group pairs (headline: (small, large), only that pair of each group): with Holm-adjusted p and
    verdict where the tests can reach p < 0.05, descriptive (no p, no verdict) where they cannot, saying why."""
    rows = [(g, p) for g, ps in groups.items() for p in ps if p.get('spearman') is not None
            and (headline is None or (p['small'], p['large']) == headline)]
    if not rows:
        return []
    testable = [(g, p) for g, p in rows if p['testable']]
    untestable = [(g, p) for g, p in rows if not p['testable']]
    lines = []
    if testable:
        m = testable[0][1]['holm_m']
        lines += [f"Holm's correction over the {m} {title} tests that can reach p < {rank_stats.ALPHA} (the p of a "
                  f"test is the larger of Spearman's and Kendall's; the verdict is read at the adjusted p).", '',
                  md_table(['group', 'small', 'large', 'n', 'ρ', 'τ-b', 'p', 'p (Holm)', '95% seed interval of ρ',
                            'decision accuracy', 'top-1', 'verdict'],
                           [[g, p['small'], p['large'], p['n_tokenizers'], fmt(p['spearman']), fmt(p['kendall']),
                             fmt(max(p['spearman_p'], p['kendall_p'])), fmt(p['p_holm']), fmt_ci(p['spearman_ci']),
                             fmt(p['decision_accuracy']), 'yes' if p['top1_agree'] else f"no ({p['small_pick']})",
                             p['verdict']] for g, p in testable]), '']
    if untestable:
        ns = sorted({p['n_tokenizers'] for _, p in untestable})
        lines += [f"Descriptive only, no p-value or verdict: {', '.join(map(str, ns))} tokenizers allow p ≥ "
                  f"{', '.join(f'2/{n}! = {rank_stats.smallest_p(n):.3g}' for n in ns)}, so no ordering could be "
                  f"significant (≥ {rank_stats.tokenizers_needed()} tokenizers are needed).", '',
                  md_table(['group', 'small', 'large', 'n', 'Spearman ρ', 'decision accuracy', 'top-1'],
                           [[g, p['small'], p['large'], p['n_tokenizers'], fmt(p['spearman']),
                             fmt(p['decision_accuracy']), 'yes' if p['top1_agree'] else f"no ({p['small_pick']})"]
                            for g, p in untestable]), '']
    return lines


def equal_flops_lines(s):
    e = s.get('equal_flops')
    if not e or not e['sizes']:
        return ['(none: needs the metric bpb and a log.jsonl with tokens and val_bpb in every run)']
    lo = min(r['schedule_fraction'][0] for r in e['sizes'])
    early = (f"The costlier runs are read before their schedule ended (from {lo:.0%} of their steps), their learning "
             f"rate not yet decayed: this view favours the cheaper tokenizers by more than the FLOPs alone."
             if lo < 0.995 else "Every run is read within 0.5% of the end of its schedule: the FLOPs of a size's runs "
                                "(nearly) agree.")
    lines = [f"{agreement_report.measure_words(s)}, "
             + ("not the headline's " if s.get('weighting') == 'macro' else "the headline being ")
             + f"{agreement_report.weighting_words(s)}: val bpb (validation split) of every run at "
             "the train FLOPs (flops_per_token × tokens) that the size's cheapest run spent, beside "
             f"each run's last val bpb (equal bytes: the budget), means over seeds. {early}", '',
             md_table(['size', 'at train FLOPs', 'cheapest run', 'ranking at equal bytes', 'ranking at equal FLOPs',
                       'ρ between them', 'decision accuracy', 'read at (fraction of steps)'],
                      [[r['size'], fmt(r['train_flops']), r['cheapest'], ', '.join(r['ranking_at_bytes']),
                        ', '.join(r['ranking_at_flops']), fmt(r['spearman']), fmt(r['decision_accuracy']),
                        f"{r['schedule_fraction'][0]:.0%}–{r['schedule_fraction'][1]:.0%}"] for r in e['sizes']])]
    h = e['headline']
    if h:
        lines += ['', f"Smallest to largest ({h['small']} → {h['large']}, {h['n_tokenizers']} tokenizers; "
                      f"descriptive, no test): at equal FLOPs ρ = {fmt(h['spearman'])}, decision accuracy "
                      f"{fmt(h['decision_accuracy'])}; at equal bytes (val) ρ = {fmt(h['spearman_at_bytes'])}, "
                      f"decision accuracy {fmt(h['decision_accuracy_at_bytes'])}."]
    return lines


def cost_lines(s):
    if not s['cost']:
        return ['(none: eval.json has no flops_per_token; re-run eval_bpb.py)']
    sizes = [z['preset'] for z in s['sizes']]
    rows = [[t, z, fmt(c['value'], 4), fmt(c['train_flops']), fmt(c['head_flops_share'], 3),
             fmt(c['tokens_per_param'], 2), fmt(c['tokens_per_param_nonembedding'], 2),
             f"{c['inference_flops_per_byte']:,.0f}", fmt(c['bytes_per_token'], 3)]
            for t, row in s['cost'].items() for z in sizes if z in row for c in [row[z]]]
    return [f"{s['metric']}: the verdict's (test split, {agreement_report.weighting_words(s)}). "
            'Train FLOPs = flops_per_token (6 per matmul weight incl. the LM head, plus attention at the full '
            'context) × tokens trained, one run (mean over seeds). LM head share: 6 × padded vocabulary × n_embd of '
            'flops_per_token (model.flops_per_token): a larger vocabulary buys more compute per token, most at the '
            'small sizes. Tokens per parameter: tokens trained / total parameters (embeddings and head included, '
            'as Chinchilla\'s 20 counts them), and / non-embedding parameters. Inference FLOPs per byte = '
            'flops_per_token / 3 (the forward pass alone) / bytes per token of the evaluation text '
            '(pooled over its bytes: a cost, not a ranking): what one byte of '
            'text costs to score or generate at the full context (no KV-cache saving counted).', '',
            md_table(['tokenizer', 'size', f"{s['metric']} ({s.get('weighting') or 'test'})",
                      'train FLOPs', 'LM head share', 'tokens/param',
                      'tokens/non-emb. param', 'inference FLOPs/byte', 'bytes/token'], rows)]


def intrinsic_text_line(s):
    """Which text the metrics are of (summary.json `intrinsic_text`), the command measuring it."""
    t = s.get('intrinsic_text') or {}
    sha = (t.get('split_sha256') or '')[:12]
    where = f"the {t.get('split')} split of corpus {t.get('corpus')}"
    what = (f"{where} (sha256 {sha})" if sha else
            f"{where}, whose meta.json is not in {t.get('corpus_dir')}: which text it is cannot be "
            f"told, so no metrics are used")
    how = (f"python tokenizer.py eval CONFIG --corpus={t.get('corpus')} "
           f"--eval_split={t.get('split')} --corpus_dir={t.get('corpus_dir')}")
    return what, how


def intrinsic_lines(s):
    what, how = intrinsic_text_line(s)
    lines = [f"Tokenizer metrics measured on {what}, with the tokenizer each run was trained with.",
             '']
    if s.get('intrinsic_stale'):
        lines += [f"Metrics not used (not the runs' tokenizer, or not this code's): "
                  f"{'; '.join(s['intrinsic_stale'])} "
                  f"(re-run `{how}` on the runs' tokenizers).", '']
    missing = s['intrinsic_missing']
    if missing:
        other = s.get('intrinsic_other_text') or {}
        elsewhere = '; '.join(f"{t} on {', '.join(v)}" for t, v in other.items() if t in missing)
        lines += [f"No metrics of this text for {', '.join(missing)} (run `{how}`)"
                  + (f"; measured on other text only: {elsewhere}" if elsewhere else '')
                  + ('; skipped.' if not s['intrinsic_predictors'] else
                     '; those tokenizers are left out here.'), '']
    if not s['intrinsic_predictors']:
        return lines + ['(none)']
    b = s['intrinsic_baseline']
    have = s['intrinsic_predictors']
    absent = [f"{m} (none for {', '.join(ts)})" for m, ts in s['intrinsic_skipped'].items()]
    if absent:
        lines += [f"Not in metrics.json, skipped: {'; '.join(absent)}.", '']
    read = {'macro': 'mean over languages', 'pooled': 'pooled over the text',
            'languages': 'across languages'}
    rows = [[m, 'higher' if v['higher_is_better'] else 'lower', read.get(v.get('weighting'), '-'),
             fmt(v['spearman']), fmt(v['decision_accuracy'])] for m, v in have.items()]
    rows.append([f"**trained: {b['size']} model**", '-', '-', fmt(b['spearman']),
                 fmt(b['decision_accuracy'])])
    pooled = [m for m, v in have.items() if v.get('weighting') == 'pooled']
    lack = " (metrics.json has no per-language value for them)" if s.get('weighting') == 'macro' else ''
    why = f" Read pooled: {', '.join(pooled)}{lack}." if pooled else ''
    return lines + [f"Each tokenizer metric (tokenizer.py eval) as a predictor of the "
                    f"{s['sizes'][-1]['preset']} ranking the verdict reads (test split, "
                    f"{agreement_report.weighting_words(s)}), over {len(b['tokenizers'])} tokenizers; "
                    f"each metric is read as the headline weighs languages (its per-language values "
                    f"averaged under macro) where metrics.json allows ('read' column).{why} ρ > 0 "
                    f"means the metric ranks as its hypothesis says (the 'better' column), ρ < 0 the "
                    f"reverse.", '',
                    md_table(['metric', 'better when', 'read', 'Spearman ρ', 'decision accuracy'],
                             rows)]


def noise_lines(s):
    rows = [[z['size'], f"{fmt(z['seed_std'], 4)} ({z['seed_df']})", fmt(z['min_gap'], 4), fmt(z['median_gap'], 4),
             fmt(z['spread'], 4), f"{fmt(z['flip_one_run_min_gap'], 3)} / {fmt(z['flip_min_gap'], 3)}",
             f"{fmt(z['flip_one_run_median_gap'], 3)} / {fmt(z['flip_median_gap'], 3)}", z['n_seeds'],
             fmt(z['seeds_for_median_gap'])] for z in s['noise']]
    return [f"Seed noise of the verdict's numbers ({agreement_report.verdict_measure(s)}). "
            'Gaps are between adjacent tokenizers sorted by mean. P(flip): the probability that two tokenizers whose '
            'true means differ by the gap come out in the wrong order, Φ(−gap / (std·√(2/k))) with k runs each '
            '(normal model, the pooled seed std): shown with one run each and with the k seeds used. Even a gap of '
            '2 × std flips 7.9% of the time with one run each. Seeds for the median gap: per cell, to put it at 2 '
            'standard errors of a difference (a picture of the noise, not the seeds that would resolve the verdict: '
            'the smallest gap decides those, simulated beside the verdict).', '',
            md_table(['size', 'seed std (df)', 'min gap', 'median gap', 'spread', 'P(flip) min gap: 1 run / k',
                      'P(flip) median gap: 1 run / k', 'k', 'seeds for median gap'], rows)]


def scale_report(s):
    h, sizes = s['headline'], [z['preset'] for z in s['sizes']]
    lines = [f"# Tokenizer ranking across model sizes ({s['metric']}, {s['split']} split)", '']
    if s.get('left_out'):
        lines += [f"**Left out ({len(s['left_out'])}, --allow_missing=True):** " + '; '.join(s['left_out']), '']
    lines += held_fixed_lines(s)
    if h and h.get('spearman') is not None:
        lines += [verdict_sentence(h, s['metric']) + f" The small model's pick ({h['small_pick']}) "
                  f"{'is' if h['top1_agree'] else 'is not'} the large model's best ({h['large_best']}); regret "
                  f"{h['regret']:.4f} {s['metric']}.", ''] + other_weighting_line(s)
    cell = {(c['tokenizer'], c['size']): c for c in s['cells']}
    means = [[t] + ['-' if (t, z) not in cell else f"{cell[t, z]['mean']:.4f} ± {fmt(cell[t, z]['std'], 4)} "
                    f"(n={cell[t, z]['n_seeds']})" for z in sizes] for t in s['tokenizers']]
    reach = s.get('verdict_words') or verdict_words.reachable(len(s['tokenizers']))
    lines += verdict_words.rule_lines(reach) + [
              '', f"P-values: {s['p_values']}. Decision accuracy: the share of tokenizer pairs the "
              f"small size orders as the large one does (0.5 = chance). "
              f"{s['n_runs']} runs.", '', SEED_NOISE_NOTE, '',
              f"## {s['metric']} per tokenizer and size (mean ± std over seeds)", '',
              f"The verdict's numbers: {agreement_report.verdict_measure(s)}.", '',
              md_table(['tokenizer'] + sizes, means), '', '## Every pair of sizes', '',
              f"Every pair ranks by {agreement_report.verdict_measure(s)}, as the verdict. "
              'The verdict of the study is the headline pair (smallest vs largest); the other pairs are each their '
              'own test, not corrected for their number.', '', pairs_table(s['pairs']), '',
              '## Agreement over training', ''] + agreement_report.over_training_lines(s) + [
              '', '## Ranking at equal train FLOPs', ''] + equal_flops_lines(s) + [
              '', '## Scaling fits', ''] + fit_lines(s) + [
              '', '## Cost beside quality', ''] + cost_lines(s) + [
              '', '## Zero-compute predictors', ''] + intrinsic_lines(s) + [
              '', '## Fairness beside bpb', ''] + fairness_report.fairness_lines(s) + [
              '', '## Seed noise vs gaps between tokenizers', ''] + noise_lines(s)
    lines += ['', '## Within each algorithm', '']
    groups = group_lines(s['by_algorithm'], 'per-algorithm')
    lines += [f"Ranked by {agreement_report.verdict_measure(s)}, as the verdict.", ''] + groups \
        if groups else [f"(none: needs ≥ {MIN_GROUP} tokenizers of one algorithm)"]
    lines += ['', '## Per language', '']
    if s['by_language']:
        lines += [f"Each language's own bpb ranking (one language each: no weighting to choose), "
                  f"{sizes[0]} against {sizes[-1]} (every pair of sizes is in "
                  f"summary.json and summary.csv, and in the correction).", '']
        lines += group_lines(s['by_language'], 'per-language', (sizes[0], sizes[-1]))
    else:
        lines += ['(none: no per-language bpb in eval.json, or the metric is not bpb)']
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
                           'small_pick', 'large_best', 'regret', 'verdict', 'verdict_rule', 'testable', 'p_holm'])


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
        w = f" ({s['weighting']})" if s.get('weighting') else ''
        ax.set(xlabel=f"{s['metric']}{w} at {p['small']}", ylabel=f"{s['metric']}{w} at {p['large']}",
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
    ax.set_title(f"Spearman ρ of tokenizer {s['metric']} between sizes"
                 + (f" ({s['weighting']})" if s.get('weighting') else ''))
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
        if curves and t in curves:  # solid over the sizes; dashed with its band beyond where given
            xs = np.geomspace(min(x for x, _ in pts), max(x for x, _ in pts), 100)
            f, color = curves[t], line[0].get_color()
            ax.plot(xs, f['E'] + f['A'] * xs ** -f['alpha'], color=color, alpha=0.7)
            if f.get('band'):
                ax.plot(f['band']['n'], f['band']['mean'], color=color, alpha=0.7, linestyle='--')
                ax.fill_between(f['band']['n'], f['band']['lo'], f['band']['hi'], color=color,
                                alpha=0.15)
    ax.set_xscale('log')
    banded = any(f.get('band') for t, f in (curves or {}).items() if t in s['tokenizers'])
    ax.set(xlabel=xlabel, ylabel=s['metric'], title=f"{s['metric']} vs {xlabel}" + (
        "\ndashed and band: the law beyond the sizes (95% if the law holds)"
        if banded else ''))
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
            ci = c.get(f'{stat}_ci')
            err = [[c[stat] - ci[0]], [ci[1] - c[stat]]] if ci else None
            what = ('cheapest agreeing (seed interval)' if c.get('supported') else
                    'agrees as a point estimate (its seed interval reaches below)')
            ax.errorbar([c['train_flops']], [c[stat]], yerr=err, marker='*', markersize=14,
                        color='black', linestyle='none', capsize=4, label=what)
        ax.set_xscale('log')
        ax.set(xlabel='train FLOPs of the size so far (all its runs)',
               ylabel=f"{label} vs the verdict's reference", title=f"{label} over training")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"val bpb of each size (log.jsonl, pooled) against the {s['sizes'][-1]['preset']} "
                 f"final test bpb ({s.get('weighting') or s['metric']}), the verdict's reference",
                 fontsize=10)
    return save_figure(fig, os.path.join(out_dir, 'agreement_over_training.png'))


def scale_plots(s, out_dir):
    sizes = [z['preset'] for z in s['sizes']]
    cell = {(c['tokenizer'], c['size']): c for c in s['cells']}
    n = {z['preset']: z['n_params_nonembedding'] for z in s['sizes']}
    files = pair_scatters(s, cell, out_dir) + [rho_heatmap(s, sizes, out_dir)]
    curves = s.get('fits') or None  # a law's 'band' (dashed, beyond the sizes) where it may go on
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
    return files + fairness_report.fairness_plot(s, out_dir)


def headline_line(s):
    h = s.get('headline')
    if not h or h.get('spearman') is None:
        return None
    return (f"{h['small']} -> {h['large']}: Spearman rho {h['spearman']:.3f} (p {h['spearman_p']:.3f}), "
            f"Kendall tau-b {h['kendall']:.3f} (p {h['kendall_p']:.3f}), decision accuracy "
            f"{h['decision_accuracy']:.2f}: {verdict_words.word_with_rule(h)}"
            + (f" ({s['weighting']}-weighted)" if s.get('weighting') else '')
            + f"; top-1 {'agrees' if h['top1_agree'] else 'differs'}, "
            f"regret {h['regret']:.4f}")
