"""uniscale/lr_scan_analysis.py: does the small size's ranking survive the lr? Every number of the summary and of the
report's lines against a naive computation (loops over pairs, written here) on synthetic run records, a ranking that
flips with the lr, and the refusals (a scan run that differs from its grid run in more than lr, two scans at once)."""
import itertools
import math
import os
import random
import re

import pytest
import scipy.stats as st

from correlate import identity_of
from uniscale.lr_scan_analysis import lr_scan_lines
from uniscale.lr_scan_analysis import lr_scan_summary as summary_of_records

CFG = {'metric': 'bpb', 'higher_is_better': False}
BASE_LR = 2e-3


def lr_scan_summary(scan, base, cfg):
    """As correlate.py calls it: each record carries its identity (train.identity_settings + inputs) first."""
    for r in scan + base:
        r['identity'] = identity_of(r['config'])
    return summary_of_records(scan, base, cfg)


PARAMS = {'apertus-micro': 60_000, 'apertus-tiny': 400_000, 'apertus-mini': 1_000_000}  # non-emb.


def record(tok, bpb, mult=None, seed=1, preset='apertus-micro', lr=BASE_LR, per_lang=None,
           abs_lr=None, **config):
    """A run record as correlate.load_run returns it: the grid's run (mult None), a scan run at
    mult x lr, or one at the absolute lr abs_lr; per_lang: {language: bpb} (eval.json's
    per-language numbers)."""
    name = f"{preset}_{tok}_s{seed}" + (f"_lr{mult:g}" if mult is not None else '') + (
        f"_abslr{abs_lr:g}" if abs_lr is not None else '')
    cfg = {'preset': preset, 'seed': seed, 'lr': abs_lr or lr * (mult or 1), 'budget': 400_000,
           'batch_size': 16, **config}
    ev = {'bpb': bpb, 'tokenizer': tok, 'preset': preset, 'seed': seed,
          'n_params_nonembedding': PARAMS[preset], '_path': f"out/runs/{name}/eval.json"}
    if per_lang is not None:
        ev['per_lang'] = {lang: {'bpb': v} for lang, v in per_lang.items()}
    return {'name': name, 'dir': f"out/runs/{name}", 'events': None, 'config': cfg, 'eval': ev}


def records(table, seed=1, base_extra=()):
    """table: {tokenizer: {multiplier: bpb}} -> (scan records, grid records); x1 is the grid's run."""
    scan = [record(t, v, m, seed) for t, row in table.items() for m, v in row.items() if m != 1]
    base = [record(t, row[1], seed=seed) for t, row in table.items()] + list(base_extra)
    return scan, base


# ---------------------------------------------------------------- the naive computation
def naive_sign(a, b):
    return (a > b) - (a < b)


def naive(table, mults, higher_is_better=False):
    """Every number, by loops: orders of pairs, flips, decision accuracy (rank_stats' definition: the reference's
    ties not counted, a tie of the other side counts half), best lr per tokenizer."""
    toks = list(table)
    pairs = list(itertools.combinations(toks, 2))
    order = {m: {(x, y): naive_sign(table[x][m], table[y][m]) for x, y in pairs} for m in mults}

    def accuracy(small, large):  # small judged against large: dicts {pair: sign}
        counted = [p for p in pairs if large[p] != 0]
        if not counted:  # the reference ties every pair: no right answer
            return float('nan')
        return sum(1.0 if small[p] == large[p] else 0.5 if small[p] == 0 else 0.0 for p in counted) / len(counted)
    out = {'any': sum(len({order[m][p] for m in mults}) > 1 for p in pairs) / len(pairs), 'by_pair': [], 'da': []}
    for a, b in itertools.combinations(mults, 2):
        out['by_pair'].append(sum(order[a][p] != order[b][p] for p in pairs))
        out['da'].append(accuracy(order[a], order[b]))
    pick = max if higher_is_better else min
    out['best_lr'] = {t: pick(mults, key=lambda m: (table[t][m] if higher_is_better else table[t][m],
                                                      -mults.index(m) if higher_is_better else mults.index(m)))
                      for t in toks}
    best = {t: table[t][out['best_lr'][t]] for t in toks}
    out['best_vs_fixed'] = accuracy({p: naive_sign(table[p[0]][1.0], table[p[1]][1.0]) for p in pairs},
                                    {p: naive_sign(best[p[0]], best[p[1]]) for p in pairs})
    sign = -1 if higher_is_better else 1
    out['rankings'] = [sorted(toks, key=lambda t: (sign * table[t][m], t)) for m in mults]
    out['best_ranking'] = sorted(toks, key=lambda t: (sign * best[t], t))
    return out


def check_against_naive(s, table, mults, higher_is_better=False):
    want = naive(table, mults, higher_is_better)
    assert s['multipliers'] == mults and s['tokenizers'] == sorted(table)
    assert s['flip_rate']['any'] == pytest.approx(want['any'], abs=1e-15)
    assert [p['n_flipped'] for p in s['flip_rate']['by_pair']] == want['by_pair']
    assert [p['value'] for p in s['flip_rate']['by_pair']] == pytest.approx([n / s['n_pairs'] for n in want['by_pair']])
    assert [d['value'] for d in s['decision_accuracy']] == pytest.approx(want['da'], abs=1e-15, nan_ok=True)
    pairs = list(itertools.combinations([f"x{m:g}" for m in mults], 2))
    assert [(d['a'], d['b']) for d in s['decision_accuracy']] == pairs
    assert s['best_lr'] == want['best_lr'] and s['rankings'] == want['rankings']
    assert s['best_lr_ranking'] == want['best_ranking'] and s['fixed_lr_ranking'] == want['rankings'][mults.index(1.0)]
    assert s['best_vs_fixed_decision_accuracy'] == pytest.approx(want['best_vs_fixed'], abs=1e-15, nan_ok=True)
    assert s['holds'] is (want['any'] == 0)


# ---------------------------------------------------------------- cases of known answer
# A ranking that flips with the lr. Five tokenizers, a < b < c < d < e at x1 (the grid's lr); at x2 b beats a
# (b a c d e), at x0.5 d beats c (a b d c e). By hand: 10 pairs; x0.5 vs x1 reorder 1 pair (c, d), x0.5 vs x2 reorder
# 2 ((a, b) and (c, d)), x1 vs x2 reorder 1 (a, b); 2 of 10 pairs change order somewhere: flip rate 0.2, decision
# accuracy 0.9, 0.8, 0.9. Best lr: a 2.00 at x1, b 1.95 at x2, c 2.10 at x1, d 2.20 at x1, e 2.40 at x2: the best-lr
# order b a c d e against the fixed a b c d e differs in (a, b) alone: decision accuracy 0.9.
FLIP = {'a': {0.5: 2.30, 1.0: 2.00, 2.0: 2.06},
        'b': {0.5: 2.31, 1.0: 2.02, 2.0: 1.95},
        'c': {0.5: 2.33, 1.0: 2.10, 2.0: 2.20},
        'd': {0.5: 2.32, 1.0: 2.20, 2.0: 2.25},
        'e': {0.5: 2.60, 1.0: 2.50, 2.0: 2.40}}


def test_a_ranking_that_flips_with_the_lr():
    s = lr_scan_summary(*records(FLIP), CFG)
    assert s['n_pairs'] == 10 and s['flip_rate']['any'] == 0.2 and s['flip_rate']['n_flipped'] == 2
    assert [p['n_flipped'] for p in s['flip_rate']['by_pair']] == [1, 2, 1]
    assert [d['value'] for d in s['decision_accuracy']] == pytest.approx([0.9, 0.8, 0.9])
    assert s['best_lr'] == {'a': 1.0, 'b': 2.0, 'c': 1.0, 'd': 1.0, 'e': 2.0}
    assert s['best_lr_ranking'] == ['b', 'a', 'c', 'd', 'e'] and s['fixed_lr_ranking'] == ['a', 'b', 'c', 'd', 'e']
    assert s['best_vs_fixed_decision_accuracy'] == pytest.approx(0.9) and s['holds'] is False
    assert s['best_at_edge'] == ['b', 'e']  # best at x0.5 or x2: the optimum may lie outside the scan
    check_against_naive(s, FLIP, [0.5, 1.0, 2.0])
    assert s['words'].count('.') >= 1 and '2 of 10 pairs (20.0%) change order' in s['words']
    assert 'no other seed ran at x1, so an lr flip cannot be told from seed noise' in s['words']  # one seed


def test_a_ranking_that_holds_across_the_lr():
    table = {t: {m: v + 0.1 * abs(m - 1) for m in (0.5, 1.0, 2.0)} for t, v in
             (('bpe-2k', 2.0), ('bpe-4k', 1.9), ('unigram-2k', 2.2), ('unigram-4k', 2.1), ('bpe-3k', 1.95))}
    s = lr_scan_summary(*records(table), CFG)
    assert s['holds'] is True and s['flip_rate']['any'] == 0 and s['best_vs_fixed_decision_accuracy'] == 1
    assert s['best_lr'] == dict.fromkeys(table, 1.0) and s['best_at_edge'] == []
    check_against_naive(s, table, [0.5, 1.0, 2.0])
    assert 'ranks the 5 tokenizers alike (0 of 10 pairs change order)' in s['words']


def test_random_tables_against_the_naive_computation():
    """200 random cases (6 tokenizers, 2-4 lr choices, values on a coarse grid so that ties happen)."""
    rng = random.Random(7)
    for _ in range(200):
        mults = sorted({1.0} | set(rng.sample([0.25, 0.5, 2.0, 4.0], rng.randint(1, 3))))
        hib = rng.random() < 0.3
        table = {f"t{i}": {m: rng.randint(0, 6) / 4 for m in mults} for i in range(6)}
        s = lr_scan_summary(*records(table), {**CFG, 'higher_is_better': hib})
        check_against_naive(s, table, mults, hib)


def test_seed_noise_is_the_baseline_the_words_give():
    """The grid's other seed at x1: how often seeds alone reorder a pair. Seed 2 here swaps (a, b) and (d, e) of
    seed 1's x1 order (by hand: 2 of 10 pairs)."""
    seed2 = [record(t, v, seed=2) for t, v in (('a', 2.03), ('b', 2.01), ('c', 2.1), ('d', 2.3), ('e', 2.25))]
    # seed 2's order: b a c e d
    scan, base = records(FLIP, base_extra=seed2)
    s = lr_scan_summary(scan, base, CFG)
    noise = s['seed_flip_rate']
    # the pooled seed std by hand: each tokenizer's two runs give (difference)^2 / 2, 5 df in all
    sd = math.sqrt((0.03**2 + 0.01**2 + 0 + 0.1**2 + 0.25**2) / 2 / 5)
    assert noise == {'seeds': [2], 'n_flipped': [2], 'n_pairs': 10, 'value': 0.2,
                     'seed_std': pytest.approx(sd, rel=1e-12), 'seed_df': 5}
    assert "each lr choice is one run (seed 1), and seed 2 at x1 reorders 2 of 10 pairs on its own" in s['words']
    assert any('seed 2 reorders 2 of 10 pairs against seed 1' in line for line in lr_scan_lines(s))
    check_against_naive(s, FLIP, [0.5, 1.0, 2.0])  # the other seed does not enter the scan's own numbers


def test_every_number_of_the_report_lines_is_the_summarys():
    s = lr_scan_summary(*records(FLIP), CFG)
    lines = lr_scan_lines(s)
    rows = {line.split('|')[1].strip(): [c.strip() for c in line.split('|')[2:-1]] for line in lines
            if line.startswith('| ') and line.split('|')[1].strip() in FLIP}
    assert list(rows) == s['fixed_lr_ranking']
    for t, cells in rows.items():
        assert cells[:3] == [f"{FLIP[t][m]:.4f}" for m in (0.5, 1.0, 2.0)] and cells[3] == f"x{s['best_lr'][t]:g}"
    pair_rows = [line for line in lines if re.match(r'\| x[\d.]+ vs x', line)]
    want = naive(FLIP, [0.5, 1.0, 2.0])
    for line, n, da in zip(pair_rows, want['by_pair'], want['da']):
        assert f"| {n} of 10 ({100 * n / 10:.1f}%) | {da:.3f} |" in line
    assert len(pair_rows) == 3
    text = '\n'.join(lines)
    assert 'x1 (grid)' in text and 'decision accuracy 0.900' in text and '2 of 10 (20.0%)' in text
    assert 'x0.5: a, b, d, c, e; x1: a, b, c, d, e; x2: b, a, c, d, e.' in text and lines[-1] == s['words']
    assert 'at its best lr: b, a, c, d, e; at the grid' in text


def test_the_multiplier_comes_from_the_configs_not_the_names():
    scan, base = records(FLIP)
    for r in scan:
        r['name'] = r['name'].replace('_lr', '_x')  # names say nothing; the lr in config.json does
    s = lr_scan_summary(scan, base, CFG)
    assert s['multipliers'] == [0.5, 1.0, 2.0]
    base = [dict(b, config={**b['config'], 'lr': 1e-3}) for b in base]  # grid lr 1e-3: the scan is at x1, x2, x4
    with pytest.raises(SystemExit, match=r"has its grid run's lr"):
        lr_scan_summary(scan, base, CFG)


def test_no_finished_scan_run_is_said_not_refused():
    """correlate.py --allow_missing may leave every scan run out (unfinished): the summary says there is nothing to
    compare, with no numbers."""
    s = lr_scan_summary([], records(FLIP)[1], CFG)
    assert s['holds'] is None and s['flip_rate'] is None and s['multipliers'] == [] and 'cannot rank' in s['words']
    assert lr_scan_lines(s)[-1] == s['words']


def test_a_scan_run_scored_on_another_evaluation_set_is_refused():
    scan, base = records(FLIP)
    for r in scan + base:
        r['eval']['eval_set'] = {'split': 'test', 'max_docs_per_lang': 0}
    lr_scan_summary(scan, base, CFG)  # the same set: fine
    scan[1]['eval']['eval_set'] = {'split': 'test', 'max_docs_per_lang': 7}
    with pytest.raises(SystemExit, match=r"eval_set.max_docs_per_lang: 0 -> 7") as e:
        lr_scan_summary(scan, base, CFG)
    assert '\n' not in str(e.value) and scan[1]['name'] in str(e.value)


def test_a_scan_run_that_differs_in_more_than_lr_is_refused():
    scan, base = records(FLIP)
    scan[0]['config']['budget'] = 800_000
    with pytest.raises(SystemExit) as e:
        lr_scan_summary(scan, base, CFG)
    msg = str(e.value)
    assert '\n' not in msg and scan[0]['name'] in msg and 'budget: 400000 -> 800000' in msg
    assert 'in more than lr' in msg


@pytest.mark.parametrize('change,match', [
    (lambda scan, base: scan.append(record('a', 2.2, 0.5, seed=2)), r"at 2 \(preset, seed\) pairs"),
    (lambda scan, base: scan.append(record('a', 2.2, 0.5)), r"a at x0.5 twice"),
    (lambda scan, base: base.append(record('a', 2.2)), r"two grid runs of a"),
])
def test_ambiguous_inputs_are_refused_in_one_line(change, match):
    scan, base = records(FLIP)
    change(scan, base)
    with pytest.raises(SystemExit, match=match) as e:
        lr_scan_summary(scan, base, CFG)
    assert '\n' not in str(e.value)


def test_a_missing_run_leaves_its_multiplier_out_and_says_so():
    scan, base = records(FLIP)
    scan = [r for r in scan if r['name'] != 'apertus-micro_c_s1_lr2']  # c at x2 diverged or was not run
    s = lr_scan_summary(scan, base, CFG)
    assert s['multipliers'] == [0.5, 1.0] and s['left_out'] == ['x2: no run for c']
    check_against_naive(s, {t: {m: FLIP[t][m] for m in (0.5, 1.0)} for t in FLIP}, [0.5, 1.0])
    assert any(line == 'Left out: x2: no run for c' for line in lr_scan_lines(s))
    scan[0]['eval']['bpb'] = float('nan')  # a diverged run: no finite bpb
    s = lr_scan_summary(scan, base, CFG)
    assert any('no finite byte-weighted bpb' in x for x in s['left_out'])
    assert 0.5 not in s['multipliers']
    assert s['holds'] is None and 'cannot rank' in s['words']


def test_a_key_an_older_scan_run_lacks_counts_at_its_legacy_value():
    """One rule (train.LEGACY_DEFAULTS), as in resume, the sweep and the cells: a scan run recorded before
    decay_embeddings existed is its grid run at another lr when the grid run has the legacy value (False), and
    differs from one with decay_embeddings=True (a missing key used to be skipped: no difference seen)."""
    scan, base = records(FLIP, base_extra=())
    for b in base:
        b['config']['decay_embeddings'] = False
    lr_scan_summary(scan, base, CFG)  # the legacy value: the same run at another lr
    for b in base:
        b['config']['decay_embeddings'] = True
    with pytest.raises(SystemExit, match=r"decay_embeddings: True -> False"):
        lr_scan_summary(scan, base, CFG)


# ------------------------------------------------------- the headline's weighting (issue 29, row 1)
# Two languages, en with 3x de's test bytes: eval.json's bpb (byte-weighted) = (3 en + de) / 4, the
# headline's macro = (en + de) / 2. By hand:
#          x1 en / de    macro  bytes     x2 en / de    macro  bytes
#   a      2.00 / 3.00   2.50   2.25      1.90 / 3.30   2.60   2.25
#   b      2.10 / 3.10   2.60   2.35      2.00 / 3.16   2.58   2.29
#   c      3.00 / 4.00   3.50   3.25      3.00 / 4.00   3.50   3.25
# byte-weighted: a b c at both lrs (0 of 3 pairs change order); macro: a b c at x1, b a c at x2
# (1 of 3: (a, b)), as the demo's x2 swaps bpe-2k and unigram-2k under macro alone.
LANGS = {'a': {1.0: (2.00, 3.00), 2.0: (1.90, 3.30)},
         'b': {1.0: (2.10, 3.10), 2.0: (2.00, 3.16)},
         'c': {1.0: (3.00, 4.00), 2.0: (3.00, 4.00)}}


def lang_records(langs=LANGS):
    def rec(t, m):
        en, de = langs[t][m]
        return record(t, (3 * en + de) / 4, None if m == 1 else m, per_lang={'en': en, 'de': de})
    scan = [rec(t, m) for t in langs for m in langs[t] if m != 1]
    return scan, [rec(t, 1.0) for t in langs]


def test_the_scan_ranks_by_the_headlines_weighting():
    scan, base = lang_records()
    s = lr_scan_summary(scan, base, {**CFG, 'weighting': 'macro'})
    assert s['weighting'] == 'macro' and s['rankings'] == [['a', 'b', 'c'], ['b', 'a', 'c']]
    assert s['flip_rate']['n_flipped'] == 1 and s['holds'] is False
    macro = {t: {m: sum(v) / 2 for m, v in row.items()} for t, row in LANGS.items()}
    assert s['values'] == [{t: pytest.approx(macro[t][m], abs=1e-15) for t in LANGS}
                           for m in (1.0, 2.0)]
    check_against_naive(s, macro, [1.0, 2.0])
    head = lr_scan_lines(s)[2]
    assert "Ranked by bpb, language-averaged (macro): the mean of the 2 languages' bpb" in head
    assert "the headline's weighting" in head and '1 of 3 pairs (33.3%) change order' in s['words']
    # correlate.py's default is macro: a cfg without the key ranks as the headline does too
    assert lr_scan_summary(*lang_records(), CFG)['rankings'] == s['rankings']
    # --weighting=bytes: eval.json's bpb, and the same pair keeps its order
    s = lr_scan_summary(*lang_records(), {**CFG, 'weighting': 'bytes'})
    assert s['weighting'] == 'bytes' and s['holds'] is True
    assert s['rankings'] == [['a', 'b', 'c']] * 2 and 'byte-weighted' in lr_scan_lines(s)[2]


def test_a_scan_run_without_per_language_bpb_is_refused_under_macro():
    scan, base = lang_records()
    del scan[0]['eval']['per_lang']  # scored before eval_bpb.py wrote per_lang: no macro bpb
    with pytest.raises(SystemExit) as e:
        lr_scan_summary(scan, base, {**CFG, 'weighting': 'macro'})
    msg = str(e.value)
    assert '\n' not in msg and msg.startswith(scan[0]['eval']['_path'])
    assert '--weighting=bytes' in msg  # and that advice works:
    assert lr_scan_summary(scan, base, {**CFG, 'weighting': 'bytes'})['holds'] is True


# ----------------------------------------------------- absolute lrs (issue 29, deliverable 6)
TINY = {'a': 2.50, 'b': 2.51, 'c': 2.52, 'd': 2.53, 'e': 2.54}   # at lr 1e-5: FLIP's x1 order


def with_tiny(grid_lr=None, tiny=TINY, lr=1e-5):
    """FLIP's scan and grid, plus every tokenizer at the absolute lr; grid_lr: {tokenizer: its grid
    lr}."""
    grid_lr = grid_lr or {}
    scan = [record(t, v, m, lr=grid_lr.get(t, BASE_LR))
            for t, row in FLIP.items() for m, v in row.items() if m != 1]
    scan += [record(t, v, abs_lr=lr) for t, v in tiny.items()]
    return scan, [record(t, row[1.0], lr=grid_lr.get(t, BASE_LR)) for t, row in FLIP.items()]


def test_an_absolute_lr_is_its_own_point_and_says_so():
    """correlate.py --lr_scan_abs=[1e-5]: the runs at lr 1e-5 are one point, labelled as an absolute
    lr, ordered by lr (1e-5 is x0.005 of the grid's 2e-3); without it the same runs read as the
    multiplier their configs give."""
    s = lr_scan_summary(*with_tiny(), {**CFG, 'lr_scan_abs': [1e-5]})
    assert s['labels'] == ['lr 1e-05', 'x0.5', 'x1', 'x2']
    assert s['multipliers'] == [0.005, 0.5, 1.0, 2.0]
    assert s['points'][0] == {'label': 'lr 1e-05', 'kind': 'absolute',
                              'lr': dict.fromkeys(FLIP, 1e-5),
                              'multiplier': dict.fromkeys(FLIP, 0.005)}
    assert [p['kind'] for p in s['points']] == ['absolute'] + ['multiplier'] * 3
    table = {t: {0.005: TINY[t], **FLIP[t]} for t in FLIP}
    want = naive(table, [0.005, 0.5, 1.0, 2.0])
    assert [p['n_flipped'] for p in s['flip_rate']['by_pair']] == want['by_pair']
    assert [d['value'] for d in s['decision_accuracy']] == pytest.approx(want['da'], abs=1e-15)
    assert s['rankings'][0] == list('abcde') and s['best_lr'] == want['best_lr']
    assert s['decision_accuracy'][0]['a'] == 'lr 1e-05' and s['best_point']['b'] == 'x2'
    text = '\n'.join(lr_scan_lines(s))
    assert '| tokenizer | lr 1e-05 | x0.5 | x1 (grid) | x2 | best lr |' in text
    assert ("Each choice's lr: lr 1e-05: x0.005 of the grid's lr; x0.5: lr 0.001; x1: lr 0.002;"
            in text)
    assert '| lr 1e-05 vs x0.5 | ' in text and 'lr v the absolute lr v for every tokenizer' in text
    # not declared absolute: the multiplier from the configs, every number the same
    plain = lr_scan_summary(*with_tiny(), CFG)
    assert plain['labels'] == ['x0.005', 'x0.5', 'x1', 'x2']
    assert plain['points'][0]['kind'] == 'multiplier' and plain['values'] == s['values']
    assert plain['flip_rate'] == {**s['flip_rate'], 'by_pair': [
        {**p, 'a': p['a'].replace('lr 1e-05', 'x0.005')} for p in s['flip_rate']['by_pair']]}
    # declared but never run: said
    s = lr_scan_summary(*records(FLIP), {**CFG, 'lr_scan_abs': [1e-5]})
    assert s['left_out'] == ['lr 1e-05 (--lr_scan_abs): no scan run at it']
    assert s['labels'] == ['x0.5', 'x1', 'x2']


def test_an_absolute_lr_is_one_point_when_the_grid_lrs_differ():
    """Tokenizer a trains at 1e-3 in the grid, the others at 2e-3 (tokenizer_args): 1e-5 is x0.01
    of a's lr and x0.005 of the others'. Declared absolute it is one point of every tokenizer; read
    as multipliers each would lack tokenizers and be left out."""
    s = lr_scan_summary(*with_tiny({'a': 1e-3}), {**CFG, 'lr_scan_abs': [1e-5]})
    assert s['labels'] == ['lr 1e-05', 'x0.5', 'x1', 'x2'] and s['multipliers'][0] is None
    assert s['points'][0]['multiplier'] == {'a': 0.01, **dict.fromkeys('bcde', 0.005)}
    assert s['points'][1]['lr'] == {'a': 5e-4, **dict.fromkeys('bcde', 1e-3)}
    check = naive({t: {0.005: TINY[t], **FLIP[t]} for t in FLIP}, [0.005, 0.5, 1.0, 2.0])
    assert [p['n_flipped'] for p in s['flip_rate']['by_pair']] == check['by_pair']
    assert ("lr 1e-05: x0.005-0.01 by tokenizer of the grid's lr; x0.5: lr 0.0005-0.001 by "
            "tokenizer;" in '\n'.join(lr_scan_lines(s)))
    plain = lr_scan_summary(*with_tiny({'a': 1e-3}), CFG)
    assert plain['labels'] == ['x0.5', 'x1', 'x2']
    assert plain['left_out'] == ['x0.005: no run for a', 'x0.01: no run for b, c, d, e']


@pytest.mark.parametrize('given,match', [
    (['a'], "'a' is not a positive lr"), ([0], '0 is not a positive lr'),
    ([-1e-5], '-1e-05 is not'), ([True], 'True is not'), ([math.inf], 'inf is'),
    (1e-5, r'lr_scan_abs=1e-05: not a list')])
def test_a_bad_absolute_lr_is_refused_in_one_line(given, match):
    refusal = match + r".*; give the sweep's absolute lrs as a list"
    with pytest.raises(SystemExit, match=refusal) as e:
        lr_scan_summary(*with_tiny(), {**CFG, 'lr_scan_abs': given})
    assert '\n' not in str(e.value)


def test_an_absolute_lr_at_the_grid_lr_is_refused():
    scan, base = with_tiny(lr=BASE_LR)  # --lr_scan_abs=[2e-3]: the grid's own run again
    with pytest.raises(SystemExit, match=r"has its grid run's lr"):
        lr_scan_summary(scan, base, {**CFG, 'lr_scan_abs': [BASE_LR]})


# ------------------------------------------------ against the largest size (deliverable 6)
# Four tokenizers, 6 pairs. The largest size (apertus-mini, seeds 1 and 2) ranks a b c d (means
# 1.0 1.1 1.2 1.3). apertus-micro seed 1: at the grid's lr (x1) b a d c, at lr 1e-5 a b c d, at x2
# b a c d. By hand, against a b c d:
#   lr 1e-5: 6 of 6 pairs, decision accuracy 1, Spearman 1
#   x1:      4 of 6 ((a, b) and (c, d) wrong), 4/6, Spearman 1 - 6 (1 + 1 + 1 + 1) / (4 x 15) = 0.6
#   x2:      5 of 6 ((a, b) wrong), 5/6, Spearman 1 - 6 (1 + 1) / 60 = 0.8
#   best lr per tokenizer: x1 for all (c ties x1 and x2: the smaller lr): x1's numbers.
# Against the grid's lr: lr 1e-5 +2 pairs, x2 +1.
MICRO = {'a': {1e-5: 2.50, 1.0: 2.02, 2.0: 2.12}, 'b': {1e-5: 2.51, 1.0: 2.00, 2.0: 2.10},
         'c': {1e-5: 2.52, 1.0: 2.20, 2.0: 2.20}, 'd': {1e-5: 2.53, 1.0: 2.10, 2.0: 2.30}}
MINI = {'a': 1.0, 'b': 1.1, 'c': 1.2, 'd': 1.3}
SEED2_ONE_FLIP = {'a': 2.00, 'b': 2.02, 'c': 2.20, 'd': 2.10}  # a b d c: (a, b) against seed 1


def ladder(seed2=None, tiny=None, events=None, micro=None):
    """The scan at apertus-micro seed 1, its grid runs, apertus-mini's seeds 1 and 2, and (seed2:
    {tokenizer: bpb}) apertus-micro seed 2 at the grid's lr; tiny: other values at lr 1e-5; events:
    {lr choice: (val bpb at step 0, at the end)} as log.jsonl's, every tokenizer alike."""
    micro = micro or MICRO
    tiny = tiny or {t: row[1e-5] for t, row in micro.items()}
    scan = [record(t, row[2.0], 2.0) for t, row in micro.items()]
    scan += [record(t, v, abs_lr=1e-5) for t, v in tiny.items()]
    base = [record(t, row[1.0]) for t, row in micro.items()]
    base += [record(t, v + d, seed=s, preset='apertus-mini')
             for t, v in MINI.items() for s, d in ((1, -0.01), (2, 0.01))]
    base += [record(t, v, seed=2) for t, v in (seed2 or {}).items()]
    for r in (scan + base[:len(micro)]) if events else []:
        m = 1e-5 if r['config']['lr'] == 1e-5 else r['config']['lr'] / BASE_LR
        r['events'] = [{'step': 0, 'val_bpb': events[m][0]}, {'step': 9, 'val_bpb': 9.0},
                       {'step': 18, 'val_bpb': events[m][1]}, {'step': 19, 'train_loss': 1.0}]
    return lr_scan_summary(scan, base, {**CFG, 'lr_scan_abs': [1e-5]})


def test_each_lr_choice_against_the_largest_size():
    s = ladder(seed2=SEED2_ONE_FLIP)
    v = s['vs_largest']
    assert v['preset'] == 'apertus-mini' and v['n_seeds'] == dict.fromkeys('abcd', 2)
    assert v['reference'] == {t: pytest.approx(m, abs=1e-15) for t, m in MINI.items()}
    assert v['n_counted'] == 6 and v['ranking'] == list('abcd')
    assert s['seed_flip_rate']['n_flipped'] == [1]
    rows = {r['label']: r for r in v['rows']}
    assert list(rows) == ['lr 1e-05', 'x1', 'x2', 'best lr per tokenizer']
    want = {'lr 1e-05': (6, 1.0, 1.0, 2), 'x1': (4, 4 / 6, 0.6, 0), 'x2': (5, 5 / 6, 0.8, 1),
            'best lr per tokenizer': (4, 4 / 6, 0.6, 0)}
    for name, (n, da, rho, more) in want.items():
        r = rows[name]
        assert (r['n_agree'], r['vs_grid']) == (pytest.approx(n), pytest.approx(more))
        assert r['decision_accuracy'] == pytest.approx(da, abs=1e-12)
        assert r['spearman'] == pytest.approx(rho)
    # +2 is more than the 1 pair seed 2 alone reorders, but the pairs it turns on, (a, b) and (c, d),
    # are 0.01 apart at lr 1e-5 and 0.02 at the grid's lr, against a pooled seed std of 0.01 (seed 2
    # moves a and b by 0.02): one run each flips a 0.01 gap with probability
    # Phi(-0.01 / (0.01 sqrt 2)) = 0.240: within seed noise, not said better
    assert [rows[x]['judgement'] for x in want] == ['within seed flips', 'as many',
                                                    'within seed flips', 'as many']
    assert rows['lr 1e-05']['flip_p'] == pytest.approx(0.2397500610934768, rel=1e-9)
    assert ("lr 1e-05 orders 6 of 6 pairs as it does (decision accuracy 1.000, Spearman 1.000), "
            "the grid's lr 4 (decision accuracy 0.667, Spearman 0.600): 2 pairs more, against the 1 "
            "pair seed 2 alone reorders at x1; the pair it turns on that seed noise flips most "
            "easily, a and b (0.0100 apart), flips with probability 0.240 with one run each (normal "
            "model, pooled seed std 0.0100): within seed noise, so these runs cannot tell whether "
            "lr 1e-05 agrees with apertus-mini better than the grid's lr.") in s['words']
    text = '\n'.join(lr_scan_lines(s))
    assert '| lr 1e-05 | 6 | 1.000 | 1.000 | +2 (within seed flips) |' in text
    assert '| x1 (grid) | 4 | 0.667 | 0.600 |  |' in text
    assert '| x2 | 5 | 0.833 | 0.800 | +1 (within seed flips) |' in text
    assert 'Each lr choice against apertus-mini (the largest size, bpb of the headline' in text


# Gaps of 0.1 at every lr and seeds 0.01 apart (pooled seed std 0.005): the grid's lr orders
# b a d c, seed 2 the same (0 pairs reordered).
FAR = {'a': {2.0: 2.22, 1.0: 2.10}, 'b': {2.0: 2.12, 1.0: 2.00},
       'c': {2.0: 2.32, 1.0: 2.30}, 'd': {2.0: 2.42, 1.0: 2.20}}
FAR_SEED2 = {'a': 2.11, 'b': 2.00, 'c': 2.30, 'd': 2.21}


def test_one_other_seed_reordering_nothing_is_not_a_measure_of_seed_noise():
    """Seed 2 reorders 0 pairs, so any difference is 'more than the seeds flip', but a pair 0.01 apart
    at the lr choice flips by seed noise alone far more often than 5% (pooled seed std 0.005 x
    sqrt 2: Phi(-1.41) = 0.079): within seed noise, not 'better'. The same scan with the pair 0.1
    apart is beyond it."""
    near = ladder(seed2=FAR_SEED2, micro=FAR, tiny={'a': 2.50, 'b': 2.51, 'c': 2.70, 'd': 2.80})
    row = near['vs_largest']['rows'][0]
    assert near['seed_flip_rate']['n_flipped'] == [0] and row['vs_grid'] == 2
    assert row['flip_pair'] == ['a', 'b'] and row['flip_gap'] == pytest.approx(0.01)
    assert row['flip_p'] == pytest.approx(st.norm.cdf(-0.01 / (0.005 * math.sqrt(2))), rel=1e-9)
    assert row['judgement'] == 'within seed flips'
    assert "agrees with apertus-mini better than the grid's lr does" not in near['words']
    far = ladder(seed2=FAR_SEED2, micro=FAR, tiny={'a': 2.50, 'b': 2.60, 'c': 2.70, 'd': 2.80})
    assert far['vs_largest']['rows'][0]['judgement'] == 'beyond seed flips'
    assert "lr 1e-05 agrees with apertus-mini better than the grid's lr does." in far['words']


def test_a_difference_within_the_seeds_flips_is_not_called_better():
    s = ladder(seed2={'a': 2.00, 'b': 2.02, 'c': 2.10, 'd': 2.20})  # a b c d: 2 pairs vs seed 1
    assert s['seed_flip_rate']['n_flipped'] == [2]
    assert s['vs_largest']['rows'][0]['judgement'] == 'within seed flips'
    assert ("2 pairs more, against the 2 pairs seed 2 alone reorders at x1" in s['words'])
    assert ("within seed noise, so these runs cannot tell whether lr 1e-05 agrees with "
            "apertus-mini better than the grid's lr." in s['words'])
    assert "better than the grid's lr does" not in s['words']


def test_one_seed_cannot_tell():
    s = ladder()  # no other seed of apertus-micro
    assert s['seed_flip_rate'] is None and s['vs_largest']['rows'][0]['judgement'] == 'one seed'
    assert ("each lr choice is one run of seed 1 and no other seed ran at x1, so whether lr 1e-05 "
            "agrees with apertus-mini better than the grid's lr cannot be told.") in s['words']


def test_as_many_or_fewer_pairs_and_whether_each_lr_trained():
    """The tiny lr orders as many pairs as apertus-mini as the grid's lr does: no 'better', whatever
    the seeds; 4 fewer, beyond the seeds' flips: 'worse'. Each choice's val bpb from step 0 to the
    end (log.jsonl) says whether it trained at all (1e-5 in 18 steps: no)."""
    s = ladder(seed2=SEED2_ONE_FLIP, tiny={'a': 2.51, 'b': 2.50, 'c': 2.53, 'd': 2.52})
    assert s['vs_largest']['rows'][0]['vs_grid'] == 0  # b a d c, as the grid's lr: 4 of 6
    assert (": as many, so nothing here says lr 1e-05 agrees with apertus-mini better than the "
            "grid's lr." in s['words'])
    assert s['val_bpb_progress'] == [None] * 3  # no log.jsonl here: the line is left out
    assert not any('Did each choice train?' in line for line in lr_scan_lines(s))
    s = ladder(seed2=SEED2_ONE_FLIP, tiny={'a': 2.53, 'b': 2.52, 'c': 2.51, 'd': 2.50})
    assert s['vs_largest']['rows'][0]['vs_grid'] == -4
    assert s['vs_largest']['rows'][0]['judgement'] == 'within seed flips'  # 0.01 gaps again
    s = ladder(seed2=FAR_SEED2, micro=FAR, tiny={'a': 2.80, 'b': 2.70, 'c': 2.60, 'd': 2.50})
    assert s['vs_largest']['rows'][0]['vs_grid'] == -4  # d c b a: 0 of 6, the grid's b a d c 4
    assert s['vs_largest']['rows'][0]['judgement'] == 'beyond seed flips'
    assert ("4 pairs fewer, beyond the 0 pairs seed 2 alone reorders at x1; the pair it turns on "
            "that seed noise flips most easily, a and d (0.1000 apart), flips with probability "
            "0.000 with one run each (normal model, pooled seed std 0.0050): at this size and seed, "
            "lr 1e-05 agrees with apertus-mini worse than the grid's lr does." in s['words'])
    s = ladder(events={1e-5: (4.16, 4.15), 1.0: (4.16, 3.86), 2.0: (4.16, 3.80)})
    assert s['val_bpb_progress'] == [{'start': pytest.approx(4.16), 'end': pytest.approx(e)}
                                     for e in (4.15, 3.86, 3.8)]
    assert ("- Did each choice train? Val bpb from step 0 to the end (log.jsonl: byte-weighted, "
            "the training log's; mean over the tokenizers): lr 1e-05: 4.1600 -> 4.1500; x1: 4.1600 "
            "-> 3.8600; x2: 4.1600 -> 3.8000." in lr_scan_lines(s))


def test_agreement_with_the_largest_size_against_scipy():
    """50 random ladders (5 tokenizers, coarse values so that ties happen): Spearman against
    scipy.stats.spearmanr, decision accuracy against the naive loop, the difference against the
    grid's lr in pairs."""
    import scipy.stats
    rng = random.Random(11)
    toks = list('abcde')
    for _ in range(50):
        micro = {t: {m: rng.randint(0, 5) / 4 for m in (1e-5, 1.0, 2.0)} for t in toks}
        mini = {t: rng.randint(0, 5) / 8 for t in toks}
        scan = [record(t, micro[t][2.0], 2.0) for t in toks]
        scan += [record(t, micro[t][1e-5], abs_lr=1e-5) for t in toks]
        base = [record(t, micro[t][1.0]) for t in toks]
        base += [record(t, mini[t], preset='apertus-mini') for t in toks]
        s = lr_scan_summary(scan, base, {**CFG, 'lr_scan_abs': [1e-5]})
        pairs = list(itertools.combinations(toks, 2))
        ref = {p: naive_sign(mini[p[0]], mini[p[1]]) for p in pairs}
        counted = [p for p in pairs if ref[p]]
        for r, m in zip(s['vs_largest']['rows'], (1e-5, 1.0, 2.0)):
            got = {p: naive_sign(micro[p[0]][m], micro[p[1]][m]) for p in pairs}
            agree = sum(1.0 if got[p] == ref[p] else 0.5 if got[p] == 0 else 0.0 for p in counted)
            rho = scipy.stats.spearmanr([micro[t][m] for t in toks], [mini[t] for t in toks])
            assert r['spearman'] == pytest.approx(rho.statistic, abs=1e-12, nan_ok=True)
            if counted:
                assert r['n_agree'] == pytest.approx(agree, abs=1e-12)
                assert r['decision_accuracy'] == pytest.approx(agree / len(counted), abs=1e-15)
        grid = s['vs_largest']['rows'][1]
        for r in s['vs_largest']['rows']:
            assert r['vs_grid'] == (None if grid['n_agree'] is None else
                                    pytest.approx(r['n_agree'] - grid['n_agree']))


# ---------------------------------------------------- sweep.py's absolute lrs ('lr=1e-5')
def test_the_sweep_trains_each_tokenizer_at_an_absolute_lr(tmp_path):
    """lr_scan=[0.5, 'lr=1e-5']: at the scan's preset and seed every tokenizer once at --lr=1e-05
    whatever its grid lr (bpe-4k's is 1e-3 here), named ..._abslr1e-05, a scan run as the multiplier
    runs (lr_mult present, None), and the analysis is told which lrs are absolute."""
    import configurator
    import correlate
    import sweep
    from test_sweep import config, lr_of
    cfg = config(tmp_path, presets=['apertus-tiny', 'apertus-micro'], seeds=[3, 1],
                 lr_scan=[0.5, 'lr=1e-5'], tokenizer_args={'bpe-4k': {'lr': 1e-3}})
    runs = sweep.expand_grid(cfg)
    tiny = [r for r in runs if r.get('lr_abs') is not None]
    assert [r['run'] for r in tiny] == [f"apertus-micro_{t}_s3_abslr1e-05"
                                        for t in cfg['tokenizers']]
    assert all('lr_mult' in r and r['lr_mult'] is None for r in tiny)
    assert len({r['run'] for r in runs}) == len(runs)
    for r in tiny:
        argv = sweep.train_command(r, cfg)[1:]
        grid = sweep.train_command({k: v for k, v in r.items() if k not in ('lr_mult', 'lr_abs')},
                                   cfg)[1:]
        assert lr_of(argv) == 1e-5 and sum(a.startswith('--lr=') for a in argv) == 1
        assert [a for a in argv if not a.startswith(('--lr=', '--run_dir='))] == \
            [a for a in grid if not a.startswith(('--lr=', '--run_dir='))]  # nothing else differs
    an = sweep.analysis_command(cfg)
    assert f"--lr_scan_runs={','.join(r['dir'] for r in runs if 'lr_mult' in r)}" in an
    (arg,) = [a for a in an if a.startswith('--lr_scan_abs=')]
    assert configurator.configure(configurator.defaults(correlate), [arg])['lr_scan_abs'] == [1e-5]
    multipliers_only = sweep.analysis_command({**cfg, 'lr_scan': [0.5]})
    assert not any(a.startswith('--lr_scan_abs') for a in multipliers_only)
    only = sweep.expand_grid({**cfg, 'lr_scan': ['lr=1e-5']})  # an absolute lr alone is a scan too
    assert [r['run'] for r in only if 'lr_mult' in r] == [r['run'] for r in tiny]


@pytest.mark.parametrize('scan,match', [
    (['lr=0'], r"lr_scan=\['lr=0'\]: 'lr=0' is not a positive multiplier of the runs' lr nor "
               r"'lr=<positive lr>'"),
    (['lr=abc'], r"'lr=abc' is not a positive multiplier"),
    (['1e-5'], r"'1e-5' is not a positive multiplier"),
    (['lr=-1e-5'], r"'lr=-1e-5' is not"), (['lr=inf'], r"'lr=inf' is not"),
    (0.5, r"lr_scan=0.5: not a list"), ('lr=1e-5', r"lr_scan='lr=1e-5': not a list"),
    (['lr=3e-3'], r"lr_scan 'lr=0.003' is bpe-2k's lr at its grid run \(0.003 x 1\): one run"),
    ([0.5, 'lr=1.5e-3'], r"lr_scan 'lr=0.0015' is bpe-2k's lr at x0.5 \(0.003 x 0.5\): one run "),
    (['lr=1e-5', 'lr=1.0000001e-5'], r"names a run twice"),
])
def test_a_bad_or_doubled_absolute_lr_is_one_line(tmp_path, scan, match):
    import sweep
    from test_sweep import config
    with pytest.raises(SystemExit, match=match) as e:
        sweep.expand_grid(config(tmp_path, lr_scan=scan))
    assert '\n' not in str(e.value)
    with pytest.raises(SystemExit, match="lr_scan is the scale study's check"):
        sweep.expand_grid(config(tmp_path, lr_scan=['lr=1e-5'], analysis='ab'))


def test_correlate_ranks_the_scan_as_the_headline_and_against_its_largest_size(tmp_path):
    """correlate.py scale end to end: the grid's runs have per-language bpb (the headline is macro);
    the scan's x2 swaps the two best tokenizers under macro alone (byte-weighted, eval.json's bpb,
    keeps them), and its lr 1e-05 point is compared with the headline's largest size."""
    from test_correlate import SIZES, run_scale, write_run
    runs, toks, small = tmp_path / 'runs', ['bpe-2k', 'bpe-4k', 'unigram-2k'], list(SIZES)[0]
    scan = []

    def run(tok, preset, seed, en, de, lr):
        return write_run(runs, tok, preset, seed, (3 * en + de) / 4,
                         config_extra={'lr': lr, 'tokenizer_hash': tok},
                         per_lang={'eng': {'bpb': en}, 'deu': {'bpb': de}})
    # (en, de) at x2 (LANGS') and at lr 1e-05 (macro 3.5, 3.6, 3.4: c a b)
    points = [((1.90, 3.30), (3.0, 4.0)), ((2.00, 3.16), (3.1, 4.1)), ((3.0, 4.0), (2.9, 3.9))]
    for tok, (x2, tiny) in zip(toks, points):
        scan.append(str(run(tok, small, 1, *x2, 2e-3).rename(runs / f"{small}_{tok}_s1_lr2")))
        tiny_dir = runs / f"{small}_{tok}_s1_abslr1e-05"
        scan.append(str(run(tok, small, 1, *tiny, 1e-5).rename(tiny_dir)))
    for si, preset in enumerate(SIZES):
        for i, tok in enumerate(toks):  # LANGS' x1: a b c at every size (macro and byte-weighted)
            for seed in (1, 2):
                en, de = LANGS['abc'[i]][1.0]
                run(tok, preset, seed, en - 0.5 * si + 0.001 * seed, de - 0.5 * si, 1e-3)
    out, s = run_scale(tmp_path, lr_scan_runs=scan, lr_scan_abs=[1e-5])
    lr = s['lr_scan']
    assert s['weighting'] == lr['weighting'] == 'macro'
    assert lr['weighting_note'] == s['weighting_note'] and lr['labels'] == ['lr 1e-05', 'x1', 'x2']
    assert lr['rankings'][2] == ['bpe-4k', 'bpe-2k', 'unigram-2k']
    assert lr['vs_largest']['preset'] == s['headline']['large']
    assert lr['vs_largest']['ranking'] == toks
    assert [r['n_agree'] for r in lr['vs_largest']['rows']] == [1, 3, 2, 3]  # c a b; x2: b a c
    report = open(os.path.join(out, 'report.md')).read()
    assert 'Ranked by bpb, language-averaged (macro)' in report
    assert '| lr 1e-05 | 1 | 0.333 |' in report
