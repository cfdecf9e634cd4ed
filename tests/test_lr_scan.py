"""uniscale/lr_scan_analysis.py: does the small size's ranking survive the lr? Every number of the summary and of the
report's lines against a naive computation (loops over pairs, written here) on synthetic run records, a ranking that
flips with the lr, and the refusals (a scan run that differs from its grid run in more than lr, two scans at once)."""
import itertools
import random
import re

import pytest

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


def record(tok, bpb, mult=None, seed=1, preset='apertus-micro', lr=BASE_LR, **config):
    """A run record as correlate.load_run returns it: the grid's run (mult None) or a scan run at mult x lr."""
    name = f"{preset}_{tok}_s{seed}" + (f"_lr{mult:g}" if mult is not None else '')
    cfg = {'preset': preset, 'seed': seed, 'lr': lr * (mult or 1), 'budget': 400_000, 'batch_size': 16, **config}
    return {'name': name, 'dir': f"out/runs/{name}", 'events': None, 'config': cfg,
            'eval': {'bpb': bpb, 'tokenizer': tok, 'preset': preset, 'seed': seed}}


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
    assert [(d['a'], d['b']) for d in s['decision_accuracy']] == list(itertools.combinations(mults, 2))
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
    assert noise == {'seeds': [2], 'n_flipped': [2], 'n_pairs': 10, 'value': 0.2}
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
    assert any('no finite bpb' in x for x in s['left_out']) and 0.5 not in s['multipliers']
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
