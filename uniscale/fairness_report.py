"""
Fairness beside bpb in the scale study (issue 30): each tokenizer's premium Gini (metrics.json
`premium` of tokenizer.py eval) beside the verdict's numbers (the largest size's seed means, the
headline's weighting and split), and whether the two rank the tokenizers alike.

    f = fairness_summary(metrics, tokenizers, cells, large, higher, cfg)  # summary.json
    lines = fairness_lines(s)   # report.md's section; card_rows(s): the study card's row
    files = fairness_plot(s, out_dir)                    # Gini vs bpb, a point per tokenizer

Orientation: lower bpb is better and a lower Gini is fairer, so Spearman's rho > 0 means the
better-bpb tokenizers are the fairer ones ("rank alike"); a metric where higher is better is
turned. Ginis of different parallel texts (premium.identity, set, mode, reference, languages) are
never ranked together: each text is its own group. A metrics.json written before `premium.gini`
(its overall.gini_premium: the Gini of the per-sentence mean premiums, on a parallel text it did
not record) is shown, labelled, never ranked.
"""
import math
import os

import numpy as np

from uniscale import fairness, rank_stats, verdict_words
from uniscale.report_format import fmt, fmt_ci, md_table, pyplot, save_figure

GENERATED = ('embedded-parallel',)  # premium sets of generated text: not a translation
OLD = 'overall.gini_premium'        # where a metrics.json before premium.gini kept its Gini



# ---------------------------------------------------------------- reading metrics.json
def orientation(metric, higher):
    better = 'higher' if higher else 'lower'
    return (f"{better} {metric} is better and a lower Gini is fairer: ρ > 0 means the "
            f"tokenizers with the better {metric} are the fairer ones ('rank alike'), ρ < 0 the "
            f"less fair ones")


def number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def read_premium(m):
    """(row fields, None) of a metrics.json's premium Gini, or (None, why there is none)."""
    p = m.get('premium')
    if isinstance(p, dict) and 'gini' in p:  # the contract of issue 30
        return contract_premium(p)
    old = (m.get('overall') or {}).get('gini_premium')
    if number(old):
        return dict(gini=float(old), gini_per_sentence=float(old), set=m.get('premium_set'),
                    mode='per_sentence', reference=m.get('premium_reference'),
                    languages=sorted(p) if isinstance(p, dict) else None, identity=None,
                    statistic='per-sentence means', source=OLD), None
    return None, ("no premium Gini in its metrics.json (no parallel text was measured); re-run "
                  "tokenizer.py eval with a --premium_set")


def contract_premium(p):
    """The row fields of metrics.json `premium` (issue 30's contract), or (None, why not used): its
    gini must be the population Gini of its premiums (reference included), recomputed here."""
    g, prem = p.get('gini'), p.get('premiums')
    if g is None:
        return None, "premium.gini is null in its metrics.json (no premium of the reference?)"
    if not number(g) or not isinstance(prem, dict) or not prem or \
            not all(number(v) and v > 0 for v in prem.values()):
        return None, ("premium.gini or premium.premiums is not a number / a {language: ratio} map; "
                      "re-run tokenizer.py eval")
    again = fairness.gini(list(prem.values()))
    # two float64 sums over the n^2 pairs (any order): rounding below a few eps per pair
    if abs(again - g) > 64 * len(prem) ** 2 * np.finfo(float).eps * max(1.0, abs(g)):
        return None, (f"premium.gini {g:.6f} is not the Gini of its premium.premiums "
                      f"({again:.6f}); re-run tokenizer.py eval")
    ps = p.get('gini_per_sentence')
    return dict(gini=float(g), gini_per_sentence=float(ps) if number(ps) else None,
                set=p.get('set'), mode=p.get('mode'), reference=p.get('reference'),
                languages=sorted(p.get('languages') or prem), identity=p.get('identity') or None,
                statistic='ratio of totals', source='premium.gini'), None


def group_key(r):
    """The parallel text and statistic a Gini is of: only equal keys rank together; None: the text
    was not recorded (cannot be told equal to another)."""
    if not r['identity']:
        return None
    return '|'.join(str(x) for x in (r['set'], r['mode'], r['reference'], r['statistic'],
                                      ','.join(r['languages'] or []), r['identity']))


# ---------------------------------------------------------------- the statistics
def seed_interval(cells, gini, higher, cfg):
    """95% interval of rho over the bpb means redrawn by the study's seed-noise model
    (rank_stats.seed_draws; the Gini has no seed noise); None with one seed per cell."""
    draws = rank_stats.seed_draws(cells, cfg['n_bootstrap'], np.random.default_rng(cfg['seed']))
    if draws is None:
        return None
    rho = rank_stats.spearman(-draws if higher else draws, np.asarray(gini, float))
    if np.isnan(rho).all():
        return [float('nan'), float('nan')]
    return [float(v) for v in np.nanpercentile(rho, [2.5, 97.5])]


def weakest_rho(n):
    """(rho, discordant, pairs): the weakest rho with which n tokenizers reach both p < ALPHA
    (verdict_words.reachable, enumerated), None beyond its enumeration or below 5 tokenizers."""
    r = verdict_words.reachable(n)
    rows = [r['rank'][w] for w in rank_stats.WORDS if r['rank'] and r['rank'][w]]
    if not rows:
        return None
    best = min(rows, key=lambda x: x['rho'])
    return best['rho'], best['discordant'], r['pairs']


def word_of(g):
    """('rank alike' | 'rank opposite' | 'cannot tell', why): what the numbers support, no more. A
    word needs Spearman's and Kendall's p both below ALPHA and the seed interval of rho on one side
    of 0; 'cannot tell' never says that fairness and bpb are unrelated."""
    n, a = g['n_tokenizers'], rank_stats.ALPHA
    if n < rank_stats.tokenizers_needed():
        return 'cannot tell', (f"with {n} tokenizers no ordering reaches p < {a} (the smallest p "
                               f"is 2/{n}! = {rank_stats.smallest_p(n):.3g})")
    rho, ci = g['spearman'], g['spearman_ci']
    if rho is None or math.isnan(rho):
        return 'cannot tell', 'the Ginis (or the bpb means) are all equal: there is no order'
    if max(g['spearman_p'], g['kendall_p']) >= a:
        return 'cannot tell', (f"Spearman p = {g['spearman_p']:.3g} and Kendall p = "
                               f"{g['kendall_p']:.3g} are not both below {a}")
    if ci is None:
        return 'cannot tell', ("one seed per cell: bpb's seed noise is unknown, so its order may "
                               "be noise")
    if (rho > 0 and ci[0] > 0) or (rho < 0 and ci[1] < 0):
        return ('rank alike' if rho > 0 else 'rank opposite'), None
    return 'cannot tell', f"the seed interval of ρ {fmt_ci(ci)} reaches 0"


def agreement(toks, bpb_cells, gini, higher, cfg):
    """The rank tests of bpb (the largest size's seed means) against the Gini over one group."""
    means = [float(np.mean(c)) for c in bpb_cells]
    x = -np.asarray(means) if higher else np.asarray(means)
    rho, p_rho, tau, p_tau, how = rank_stats.rank_tests(x, gini, cfg['exact_max_n'],
                                                        cfg['n_permutations'], cfg['seed'])
    g = dict(tokenizers=toks, n_tokenizers=len(toks), spearman=rho, spearman_p=p_rho,
             kendall=tau, kendall_p=p_tau, p_method=how,
             smallest_p_possible=rank_stats.smallest_p(len(toks)),
             spearman_ci=seed_interval(bpb_cells, gini, higher, cfg) if len(toks) >= 2 else None,
             decision_accuracy=float(rank_stats.decision_accuracy(gini, x)))
    g['word'], g['why'] = word_of(g)
    g['weakest_rho'] = weakest_rho(len(toks)) if g['word'] == 'cannot tell' else None
    return g


def fairness_summary(metrics, tokenizers, cells, large, higher, cfg):
    """summary.json 'fairness': a row per tokenizer with a premium Gini (its bpb at `large`), the
    tokenizers without one and why, and the rank tests per parallel text (group)."""
    rows, missing = [], []
    for t in tokenizers:
        if t not in metrics:
            missing.append(dict(tokenizer=t, why="no metrics.json of the study's text, of its "
                                                  "runs' tokenizer and this code (see "
                                                  "Zero-compute predictors)"))
            continue
        r, why = read_premium(metrics[t])
        if r is None:
            missing.append(dict(tokenizer=t, why=why))
            continue
        c = cells[t, large]
        rows.append(dict(tokenizer=t, mean=float(c.mean()), n_seeds=len(c),
                         std=float(c.std(ddof=1)) if len(c) > 1 else None, **r,
                         group=group_key(r)))
    rows.sort(key=lambda r: -r['mean'] if higher else r['mean'])
    groups = []
    for key in dict.fromkeys(r['group'] for r in rows if r['group']):
        rs = [r for r in rows if r['group'] == key]
        g = dict(key=key, **{k: rs[0][k] for k in ('set', 'mode', 'reference', 'statistic',
                                                   'languages', 'identity')})
        if len(rs) >= 2:
            g.update(agreement([r['tokenizer'] for r in rs], [cells[r['tokenizer'], large]
                                                              for r in rs],
                               [r['gini'] for r in rs], higher, cfg))
        else:
            g.update(tokenizers=[rs[0]['tokenizer']], n_tokenizers=1, word='cannot tell',
                     why='one tokenizer on this parallel text: nothing to rank')
        groups.append(g)
    return dict(size=large, orientation=orientation(cfg.get('metric', 'bpb'), higher), rows=rows,
                missing=missing, groups=groups,
                unranked=[r['tokenizer'] for r in rows if not r['group']],
                generated=sorted({r['set'] for r in rows if r['set'] in GENERATED}))


# ---------------------------------------------------------------- report.md
def text_words(x):
    """The parallel text a row or group is on, in words."""
    n = len(x['languages'] or [])
    ident = f"sha256 {x['identity'][:12]}" if x['identity'] else 'text not recorded'
    return (f"{x['set']}, {x['mode']}, reference {x['reference']}, {n} languages, {ident}")


def generated_line(f):
    sets = ', '.join(f['generated'])
    return (f"**This Gini says nothing about real multilingual fairness**: it is measured on "
            f"generated stories ({sets}: the embedded generator's stories told in each language, "
            f"parallel in plot, not a translation). A fairness claim needs a real parallel text "
            f"such as FLORES-200 (`tokenizer.py eval --premium_set=flores200 --flores_dir=DIR`).")


def bpb_cell(r):
    return f"{r['mean']:.4f} ± {fmt(r['std'], 4)} (n={r['n_seeds']})"


def group_sentence(g, metric):
    """One group's rank tests and word, in words that claim only what they support."""
    head = f"**{text_words(g)}** ({g['n_tokenizers']} tokenizer(s), {g['statistic']}): "
    if g['n_tokenizers'] < 2:
        return head + f"**cannot tell**: {g['why']}."
    nums = (f"Spearman ρ = {fmt(g['spearman'])} (p = {fmt(g['spearman_p'])}, {g['p_method']}), "
            f"Kendall τ-b = {fmt(g['kendall'])} (p = {fmt(g['kendall_p'])}), 95% seed interval of "
            f"ρ {fmt_ci(g['spearman_ci'])} ({metric}'s seed noise; the Gini has none), share of "
            f"tokenizer pairs ordered alike {fmt(g['decision_accuracy'])}")
    if g['word'] == 'rank alike':
        return head + (f"**rank alike**: the tokenizers with the better {metric} are the fairer "
                       f"ones; {nums}; both p < {rank_stats.ALPHA} and the interval stays above 0.")
    if g['word'] == 'rank opposite':
        return head + (f"**rank opposite**: the tokenizers with the better {metric} are the less "
                       f"fair ones; {nums}; both p < {rank_stats.ALPHA} and the interval stays "
                       f"below 0.")
    w = g.get('weakest_rho')
    need = (f" With {g['n_tokenizers']} tokenizers both p < {rank_stats.ALPHA} needs |ρ| ≥ "
            f"{w[0]:.3f} (at most {w[1]} of {w[2]} pairs out of order)." if w else '')
    return head + (f"**cannot tell** whether fairness and {metric} rank these tokenizers alike: "
                   f"{g['why']}; {nums}. This is not evidence that they are unrelated.{need}")


def table(f, metric):
    """A row per tokenizer, best bpb first: bpb, Gini, its rank among the Ginis of its text."""
    rank = {}
    for g in f['groups']:
        ginis = [r['gini'] for r in f['rows'] if r['group'] == g['key']]
        for r in f['rows']:
            if r['group'] == g['key']:
                rank[r['tokenizer']] = 1 + sum(v < r['gini'] for v in ginis)
    per_sentence = any(r['gini_per_sentence'] is not None for r in f['rows'])
    rows = []
    for r in f['rows']:
        # an old file's 'flores200' was the hub's devtest: its set is named as of then
        text = (f"{r['set']}{' (old)' if r['source'] == OLD else ''}, {r['mode']}, "
                + (f"sha256 {r['identity'][:12]}" if r['identity'] else f"not recorded ({OLD})"))
        totals = '-' if r['source'] == OLD else fmt(r['gini'], 4)  # an old Gini is per-sentence
        rows.append([r['tokenizer'], bpb_cell(r), totals, rank.get(r['tokenizer'], '-')]
                    + ([fmt(r['gini_per_sentence'], 4)] if per_sentence else []) + [text])
    return md_table(['tokenizer', f"{metric} at {f['size']}", 'premium Gini',
                     'Gini rank (1 = fairest, in its text)']
                    + (['Gini of per-sentence premiums'] if per_sentence else [])
                    + ['parallel text'], rows)


def fairness_lines(s):
    """report.md's section: the generated-text warning first where it applies, the table, each
    group's rank tests, the tokenizers left out and why."""
    f, metric = s.get('fairness'), s['metric']
    if not f or not (f['rows'] or f['missing']):
        return ['(none: no tokenizer metrics of the study\'s text)']
    lines = [generated_line(f), ''] if f['generated'] else []
    weight = s.get('weighting')
    lines += [f"Each tokenizer's premium Gini (tokenizer.py eval: the population Gini of its "
              f"per-language premiums, tokens of a parallel text over tokens of its reference "
              f"version, the reference's 1 included; 0 = every language pays the same) beside "
              f"its {metric} at {f['size']} (the verdict's numbers: {s.get('split')} split"
              + (f", {weight}-weighted" if weight else '') + f"; mean ± std over seeds). "
              f"Orientation: {f['orientation']}. Ranked on the ratio-of-totals Gini; only Ginis of "
              f"one parallel text (sha256, set, mode, reference, languages) are ranked together.",
              '', table(f, metric), '']
    for i, g in enumerate(f['groups']):
        lines += ([''] if i else []) + [group_sentence(g, metric)]
    lines = lines[:-1] if lines[-1] == '' else lines  # no groups: the table's blank line ends it
    if len(f['groups']) > 1:
        lines += ['', f"The tokenizers are on {len(f['groups'])} different parallel texts: each "
                      f"is ranked apart, never together."]
    if f['unranked']:
        lines += ['', f"Shown, not ranked: {', '.join(f['unranked'])} (a metrics.json that does "
                      f"not record which parallel text its Gini is of: it cannot be told to be "
                      f"the others'; re-run tokenizer.py eval)."]
    if f['missing']:
        lines += ['', 'No premium Gini, left out of the ranking: '
                  + '; '.join(f"{m['tokenizer']} ({m['why']})" for m in f['missing']) + '.']
    return lines


def card_rows(s):
    """The study card's row: what the fairness section found, in one cell."""
    f = s.get('fairness')
    if not f or not f['groups']:
        return []
    cells = [f"{g['word']} ({g['n_tokenizers']} tokenizers, {g['set']}"
             + (f", ρ = {fmt(g['spearman'])}" if g.get('spearman') is not None else '') + ')'
             for g in f['groups']]
    gen = ('; on generated text: says nothing about real multilingual fairness'
           if f['generated'] else '')
    return [['fairness (premium Gini) and bpb rank the tokenizers alike?',
             '; '.join(cells) + gen, '-']]


# ---------------------------------------------------------------- the plot
def fairness_plot(s, out_dir):
    """Gini against the verdict's bpb, one point per tokenizer (marker per parallel text); [] when
    no tokenizer has a Gini."""
    f = s.get('fairness')
    if not f or not f['rows']:
        return []
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5))
    keys = list(dict.fromkeys(r['group'] for r in f['rows']))
    for i, key in enumerate(keys):
        rs = [r for r in f['rows'] if r['group'] == key]
        ax.errorbar([r['gini'] for r in rs], [r['mean'] for r in rs],
                    yerr=[r['std'] or 0 for r in rs], fmt='osD^v'[i % 5], capsize=3,
                    label=text_words(rs[0]) if key else
                    f"per-sentence Gini, text not recorded ({OLD}): not ranked")
        for r in rs:
            ax.annotate(r['tokenizer'], (r['gini'], r['mean']), textcoords='offset points',
                        xytext=(4, 4), fontsize=8)
    words = '; '.join(f"{g['word']}" + (f", ρ = {g['spearman']:.2f}"
                                         if g.get('spearman') is not None else '')
                      for g in f['groups'])
    warn = '\ngenerated text: says nothing about real fairness' if f['generated'] else ''
    ax.set(xlabel='premium Gini (lower = fairer)',
           ylabel=f"{s['metric']} at {f['size']} (mean ± std over seeds)",
           title=f"fairness vs {s['metric']}: {words or 'not ranked'}{warn}")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return [save_figure(fig, os.path.join(out_dir, 'fairness_gini_vs_bpb.png'))]
