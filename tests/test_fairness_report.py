"""The study-1 report's fairness section (uniscale/fairness_report.py, issue 30): each tokenizer's
premium Gini beside its bpb and whether the two rank the tokenizers alike, against scipy and a
brute-force permutation p; generated text said first; tokenizers without a Gini listed, Ginis of
different parallel texts never ranked together, an old metrics.json shown but never ranked."""
import itertools
import json
import os

import numpy as np
import pytest
import scipy.stats as st

from test_correlate import TOKS, run_scale, synthetic_grid, toy_corpus_meta, write_metrics
from uniscale import fairness_report as fr
from uniscale.fairness import gini

CFG = dict(exact_max_n=9, n_permutations=20_000, seed=1337, n_bootstrap=2000)
TEXT_A, TEXT_B = 'ab' * 32, 'cd' * 32
BIG = 'big'
NAMES = ['t0', 't1', 't2', 't3', 't4']


def premium(spread, set='flores200', mode='petrov', identity=TEXT_A):
    """metrics.json `premium` by issue 30's contract; its Gini grows with `spread`."""
    tokens = {'eng': 1000, 'deu_Latn': round(1000 * (1 + spread)),
              'hin_Deva': round(1000 * (1 + 3 * spread))}
    premiums = {lang: n / tokens['eng'] for lang, n in tokens.items()}
    return {'set': set, 'mode': mode, 'reference': 'eng', 'languages': sorted(tokens),
            'identity': identity, 'tokens': tokens, 'premiums': premiums,
            'gini': gini(list(premiums.values())), 'per_sentence': None,
            'gini_per_sentence': None}


def cells_of(means, sd=0.001, seeds=2):
    """{(name, BIG): per-seed bpb} around the given means (a fixed, symmetric seed spread)."""
    offsets = np.linspace(-sd, sd, seeds) if seeds > 1 else np.zeros(1)
    return {(t, BIG): np.asarray(m + offsets) for t, m in zip(NAMES, means)}


def summary(spreads, means, sd=0.001, seeds=2, **kw):
    metrics = {t: {'premium': premium(s, **kw)} for t, s in zip(NAMES, spreads)}
    toks = NAMES[:len(means)]
    return fr.fairness_summary(metrics, toks, cells_of(means, sd, seeds), BIG, False, CFG)


def brute_p(x, y, stat):
    """Two-sided permutation p over all n! reorderings of y: the share at least as extreme."""
    obs = abs(stat(x, y))
    vals = [abs(stat(x, [y[i] for i in p])) for p in itertools.permutations(range(len(y)))]
    return sum(v >= obs - 1e-12 for v in vals) / len(vals)


def spear(x, y):
    return st.spearmanr(x, y).statistic


def kend(x, y):
    return st.kendalltau(x, y).statistic


def report_of(f, metric='bpb'):
    return fr.fairness_lines({'metric': metric, 'split': 'test', 'weighting': 'macro',
                              'fairness': f})


@pytest.mark.parametrize('gini_order', [[0, 1, 2, 3, 4], [0, 2, 1, 3, 4], [4, 0, 3, 1, 2]])
def test_rank_tests_equal_scipy_and_a_brute_force_permutation_p(gini_order):
    means = [2.0, 2.1, 2.2, 2.3, 2.4]
    spreads = [0.1 * (1 + k) for k in gini_order]
    f = summary(spreads, means)
    g, = f['groups']
    ginis = [r['gini'] for r in sorted(f['rows'], key=lambda r: r['tokenizer'])]
    assert g['spearman'] == pytest.approx(spear(means, ginis))
    assert g['kendall'] == pytest.approx(kend(means, ginis))
    assert g['spearman_p'] == pytest.approx(brute_p(means, ginis, spear))
    assert g['kendall_p'] == pytest.approx(brute_p(means, ginis, kend))
    assert g['p_method'] == 'exact'
    # the table: the verdict's numbers (seed mean and std) beside each Gini, best bpb first
    assert [r['mean'] for r in f['rows']] == pytest.approx(means)
    assert f['rows'][0]['std'] == pytest.approx(np.std([1.999, 2.001], ddof=1))


def test_the_same_order_with_p_below_alpha_ranks_alike_and_one_swap_cannot_tell():
    alike = summary([0.1, 0.2, 0.3, 0.4, 0.5], [2.0, 2.1, 2.2, 2.3, 2.4])['groups'][0]
    assert alike['word'] == 'rank alike' and alike['spearman_p'] == pytest.approx(2 / 120)
    assert alike['spearman_ci'][0] > 0
    swap = summary([0.2, 0.1, 0.3, 0.4, 0.5], [2.0, 2.1, 2.2, 2.3, 2.4])
    g = swap['groups'][0]
    assert g['word'] == 'cannot tell' and g['spearman_p'] == pytest.approx(10 / 120)
    text = '\n'.join(report_of(swap))
    assert 'cannot tell' in text and 'This is not evidence that they are unrelated' in text
    assert 'needs |ρ| ≥ 1.000 (at most 0 of 10 pairs out of order)' in text
    assert text.count('unrelated') == 1  # only to say that it is not shown


def test_the_reverse_order_ranks_opposite():
    g = summary([0.5, 0.4, 0.3, 0.2, 0.1], [2.0, 2.1, 2.2, 2.3, 2.4])['groups'][0]
    assert g['word'] == 'rank opposite' and g['spearman'] == pytest.approx(-1.0)


def test_no_word_without_seed_noise_or_when_it_could_reverse_the_order():
    one_seed = summary([0.1, 0.2, 0.3, 0.4, 0.5], [2.0, 2.1, 2.2, 2.3, 2.4], seeds=1)
    g = one_seed['groups'][0]
    assert g['spearman_p'] < 0.05 and g['spearman_ci'] is None and g['word'] == 'cannot tell'
    assert 'one seed per cell' in g['why']
    noisy = summary([0.1, 0.2, 0.3, 0.4, 0.5], [2.0, 2.001, 2.002, 2.003, 2.004], sd=0.05)
    g = noisy['groups'][0]
    assert g['spearman'] == pytest.approx(1.0) and g['spearman_ci'][0] <= 0
    assert g['word'] == 'cannot tell' and 'reaches 0' in g['why']


def test_four_tokenizers_cannot_tell_even_in_the_same_order():
    g = summary([0.1, 0.2, 0.3, 0.4], [2.0, 2.1, 2.2, 2.3])['groups'][0]
    assert g['spearman'] == pytest.approx(1.0) and g['word'] == 'cannot tell'
    assert '2/4! = 0.0833' in g['why']


def test_gini_of_generated_text_is_said_to_say_nothing_about_fairness_first():
    f = summary([0.1, 0.2, 0.3, 0.4, 0.5], [2.0, 2.1, 2.2, 2.3, 2.4], set='embedded-parallel')
    lines = report_of(f)
    assert lines[0].startswith('**This Gini says nothing about real multilingual fairness**')
    assert 'not a translation' in lines[0] and 'FLORES-200' in lines[0]
    card = fr.card_rows({'fairness': f})[0][1]
    assert card.startswith('rank alike') and 'says nothing about real multilingual fairness' in card
    real = summary([0.1, 0.2, 0.3, 0.4, 0.5], [2.0, 2.1, 2.2, 2.3, 2.4])
    assert 'says nothing' not in '\n'.join(report_of(real))


def test_tokenizers_without_a_premium_gini_are_listed_not_dropped():
    metrics = {'t0': {'premium': premium(0.1)}, 't1': {'premium': premium(0.3)},
               't2': {'premium': {}, 'overall': {'gini_premium': None}}}  # t3: no metrics at all
    f = fr.fairness_summary(metrics, NAMES[:4], cells_of([2.0, 2.1, 2.2, 2.3]), BIG, False, CFG)
    assert [m['tokenizer'] for m in f['missing']] == ['t2', 't3']
    assert [r['tokenizer'] for r in f['rows']] == ['t0', 't1']
    text = '\n'.join(report_of(f))
    assert 'No premium Gini, left out of the ranking: t2 (no premium Gini' in text
    assert "t3 (no metrics.json of the study's text" in text


def test_ginis_of_different_parallel_texts_are_ranked_apart_never_together():
    metrics = {'t0': {'premium': premium(0.1)}, 't1': {'premium': premium(0.2)},
               't2': {'premium': premium(0.3)},
               't3': {'premium': premium(0.9, identity=TEXT_B)},
               't4': {'premium': premium(0.1, identity=TEXT_B)},
               't5': {'premium': premium(0.5, mode='per_sentence')}}
    means = [2.0, 2.1, 2.2, 2.3, 2.4, 2.5]
    cells = {(t, BIG): np.array([m - 0.001, m + 0.001])
             for t, m in zip(NAMES + ['t5'], means)}
    f = fr.fairness_summary(metrics, NAMES + ['t5'], cells, BIG, False, CFG)
    assert [g['tokenizers'] for g in f['groups']] == [['t0', 't1', 't2'], ['t3', 't4'], ['t5']]
    a, b, c = f['groups']
    assert a['spearman'] == pytest.approx(1.0) and b['spearman'] == pytest.approx(-1.0)
    assert c['word'] == 'cannot tell' and 'spearman' not in c
    assert 'ranked apart, never together' in '\n'.join(report_of(f))


def test_a_gini_that_is_not_the_gini_of_its_premiums_is_not_used():
    bad = premium(0.3)
    without_ref = {k: v for k, v in bad['premiums'].items() if k != 'eng'}
    bad['gini'] = gini(list(without_ref.values()))  # the reference's 1 left out
    metrics = {'t0': {'premium': premium(0.1)}, 't1': {'premium': bad}}
    f = fr.fairness_summary(metrics, NAMES[:2], cells_of([2.0, 2.1]), BIG, False, CFG)
    assert [m['tokenizer'] for m in f['missing']] == ['t1']
    assert 'is not the Gini of its premium.premiums' in f['missing'][0]['why']


def test_an_old_metrics_json_is_shown_but_never_ranked():
    old = {'premium': {'eng': {'premium': 1.0}, 'deu_Latn': {'premium': 1.4}},
           'premium_set': 'embedded-parallel', 'premium_reference': 'eng',
           'overall': {'gini_premium': 0.0833}}
    metrics = {'t0': {'premium': premium(0.1)}, 't1': {'premium': premium(0.2)}, 't2': old}
    f = fr.fairness_summary(metrics, NAMES[:3], cells_of([2.0, 2.1, 2.2]), BIG, False, CFG)
    row = next(r for r in f['rows'] if r['tokenizer'] == 't2')
    assert row['gini_per_sentence'] == 0.0833 and row['source'] == 'overall.gini_premium'
    assert not row['group']
    assert f['unranked'] == ['t2'] and [g['tokenizers'] for g in f['groups']] == [['t0', 't1']]
    text = '\n'.join(report_of(f))
    assert 'Shown, not ranked: t2' in text
    # in the per-sentence column, not as a ratio-of-totals Gini
    assert ('| t2 | 2.2000 ± 0.0014 (n=2) | - | - | 0.0833 | embedded-parallel (old), '
            'per_sentence, not recorded (overall.gini_premium) |') in text
    assert f['generated'] == ['embedded-parallel']  # the warning holds for an old file's Gini too
    assert text.startswith('**This Gini says nothing about real multilingual fairness**')


def test_the_plot_has_a_point_per_tokenizer_and_none_without_ginis(tmp_path):
    f = summary([0.1, 0.2, 0.3, 0.4, 0.5], [2.0, 2.1, 2.2, 2.3, 2.4])
    assert fr.fairness_plot({'metric': 'bpb', 'fairness': f}, str(tmp_path)) == \
        ['fairness_gini_vs_bpb.png']
    assert (tmp_path / 'fairness_gini_vs_bpb.png').stat().st_size > 0
    empty = {**f, 'rows': []}
    assert fr.fairness_plot({'metric': 'bpb', 'fairness': empty}, str(tmp_path / 'x')) == []


def test_correlate_scale_puts_the_gini_beside_the_verdicts_bpb(tmp_path):
    """End to end: correlate.py scale finds each tokenizer's metrics by content (tokenizer hash,
    text sha256) and writes the table into summary.json and report.md, the card row included."""
    toks = TOKS[:5]
    synthetic_grid(tmp_path / 'runs', np.random.default_rng(0), toks=toks, seeds=(1, 2))
    for d in (tmp_path / 'runs').iterdir():
        ev = json.loads((d / 'eval.json').read_text())
        ev['tokenizer_hash'] = f"{ev['tokenizer']}-hash"
        (d / 'eval.json').write_text(json.dumps(ev))
    toy_corpus_meta(tmp_path)
    for i, tok in enumerate(toks):  # the Gini in the bpb order, on generated text
        write_metrics(tmp_path / 'tokenizer_eval', tok,
                      {'overall': {}, 'premium': premium(0.1 * (i + 1), set='embedded-parallel')})
    out, s = run_scale(tmp_path, eval_args={'corpus_dir': str(tmp_path / 'corpus')})
    f = json.load(open(os.path.join(out, 'summary.json')))['fairness']
    large = s['sizes'][-1]['preset']
    cell = {c['tokenizer']: c for c in s['cells'] if c['size'] == large}
    assert f['size'] == large and [r['tokenizer'] for r in f['rows']] == toks
    assert [r['mean'] for r in f['rows']] == pytest.approx([cell[t]['mean'] for t in toks])
    assert f['groups'][0]['word'] == 'rank alike' and f['missing'] == []
    report = open(os.path.join(out, 'report.md')).read()
    section = report.split('## Fairness beside bpb\n\n')[1]
    assert section.startswith('**This Gini says nothing about real multilingual fairness**')
    assert '| tokenizer | bpb at apertus-300M | premium Gini |' in section
    assert 'fairness (premium Gini) and bpb rank the tokenizers alike? | rank alike' in report
