"""Issue 29, deliverable 7: the report's first tables (uniscale/study_card.py), each number
against a hand count from run folders the test writes (parameters, tokens, bytes and train FLOPs
per run, the small:large FLOP ratio, the smallest possible p, seeds and the pooled seed std, the
lr policy, the eval set, byte accounting, decision accuracy under the headline's weighting), and
that the tables open the report."""
import json
import math
import os

import pytest

from test_correlate import EVAL_SET, SIZES, run_scale, write_run
from uniscale import study_card

PRESETS = ('apertus-tiny', 'apertus-50M')
SEEDS = {'apertus-tiny': (1, 2, 3), 'apertus-50M': (1, 2)}
# seed offsets: each small cell's seed sd is 0.01 (3 seeds), each large cell's variance 5e-5
OFFSETS = {'apertus-tiny': {1: -0.01, 2: 0.0, 3: 0.01}, 'apertus-50M': {1: -0.005, 2: 0.005}}
LR = {'apertus-tiny': 3e-3, 'apertus-50M': 1e-3}
N_TOKS = 5


def steps(i):
    return 90 + 10 * i                       # tokenizer i trains (90 + 10 i) x 1,000 tokens


def fpt(preset, i):
    return 6 * SIZES[preset] + 1e4 * i       # flops_per_token, another per tokenizer


def total_params(preset, i):
    return SIZES[preset] + 1000 * (i + 1)    # a larger vocabulary, more embedding parameters


def macro(preset, i):
    """The language-averaged bpb: at the small size t-3 and t-4 swap; the byte-weighted bpb never
    does."""
    rank = {3: 4, 4: 3}.get(i, i) if preset == 'apertus-tiny' else i
    return 3.0 - 0.5 * PRESETS.index(preset) + 0.05 * rank


def card_grid(runs, eval_bytes=lambda preset, i: 3000, lr=LR.get):
    for preset in PRESETS:
        for i in range(N_TOKS):
            for seed in SEEDS[preset]:
                off = OFFSETS[preset][seed]
                m = macro(preset, i) + off
                pooled = 3.0 - 0.5 * PRESETS.index(preset) + 0.05 * i + off
                extra = dict(lr=lr(preset), budget=3e5, budget_unit='bytes', context_bytes=0)
                d = write_run(runs, f"t-{i}", preset, seed, pooled, fpt=fpt(preset, i),
                              total_steps=steps(i), config_extra=extra,
                              per_lang={'eng': {'bpb': m - 0.1}, 'deu_Latn': {'bpb': m + 0.1}})
                ev = json.loads((d / 'eval.json').read_text())
                ev.update(n_params=total_params(preset, i), n_tokens=1000 + 100 * i,
                          n_bytes=eval_bytes(preset, i))
                (d / 'eval.json').write_text(json.dumps(ev))


def report_of(out):
    return open(os.path.join(out, 'report.md')).read()


def hand_flops(preset):
    """Train FLOPs of every run of a size: flops_per_token x tokens trained, summed by hand."""
    return sum(fpt(preset, i) * steps(i) * 1000 for i in range(N_TOKS) for _ in SEEDS[preset])


def test_the_study_card_numbers_are_the_hand_counts(tmp_path):
    card_grid(tmp_path / 'runs')
    _, s = run_scale(tmp_path)
    rows = {r['size']: r for r in s['held_fixed']['sizes']}
    for preset in PRESETS:
        r, n = rows[preset], SIZES[preset]
        assert r['n_runs'] == N_TOKS * len(SEEDS[preset])
        assert r['n_params_nonembedding'] == [n, n] and r['n_params'] == [n + 1000, n + 5000]
        assert r['train_tokens'] == [90_000, 130_000]
        per_param = [90_000 / (n + 1000), 130_000 / (n + 5000)]
        assert r['tokens_per_param'] == pytest.approx(per_param, rel=1e-12)
        assert r['bytes_seen'] == [270_000, 390_000]  # the logs' bytes: 3 bytes per token
        flops = [6 * n * 90_000, (6 * n + 4e4) * 130_000]
        assert r['train_flops_per_run'] == pytest.approx(flops, rel=1e-12)
        assert r['train_flops'] == pytest.approx(hand_flops(preset), rel=1e-12)
        assert r['eval_tokens'] == [1000, 1400] and r['eval_bytes'] == [3000]
    c = s['study_card']
    small, large = (hand_flops(z) for z in PRESETS)
    assert (c['small'], c['large']) == PRESETS
    assert c['flop_ratio'] == pytest.approx(small / large, rel=1e-12)
    assert c['flop_ratio_per_run'] == pytest.approx((small / 15) / (large / 10), rel=1e-12)
    assert c['n_tokenizers'] == N_TOKS
    assert c['smallest_p_possible'] == pytest.approx(2 / math.factorial(N_TOKS))
    assert c['weighting'] == 'macro' and c['n_pairs'] == 10
    assert c['decision_accuracy'] == pytest.approx(9 / 10)  # macro: 1 pair of 10 swapped; bytes: 0
    assert c['decision_accuracy_ci'] == s['headline']['decision_accuracy_ci']
    seeds = {x['size']: x for x in c['seeds']}
    assert seeds['apertus-tiny']['seeds_per_cell'] == [3, 3]
    assert seeds['apertus-50M']['seeds_per_cell'] == [2, 2]
    assert seeds['apertus-tiny']['seed_std'] == pytest.approx(0.01, rel=1e-9)
    assert seeds['apertus-50M']['seed_std'] == pytest.approx(math.sqrt(5e-5), rel=1e-9)
    assert (seeds['apertus-tiny']['seed_df'], seeds['apertus-50M']['seed_df']) == (10, 5)
    assert c['lr_policy'] == 'one per size'
    assert c['eval_set'] == dict(corpus='toy', split='test', n_docs=10, max_docs_per_lang=0,
                                 context=64, overlap=0, sha256=EVAL_SET['split_sha256'][:12])
    assert c['eval_bytes'] == [3000] and c['eval_tokens'] == [1000, 1400]
    on_disk = json.load(open(tmp_path / 'analysis' / 's' / 'summary.json'))
    assert on_disk['study_card']['flop_ratio'] == pytest.approx(c['flop_ratio'], rel=1e-12)


def table_cells(lines, first):
    line = next(x for x in lines if x.startswith(f'| {first} |'))
    return [c.strip() for c in line.strip('|').split('|')]


def test_the_report_opens_with_the_study_card_and_prints_the_hand_counts(tmp_path):
    card_grid(tmp_path / 'runs')
    # one unfinished run, left out: its line comes first, then the card
    write_run(tmp_path / 'runs', 't-0', 'apertus-tiny', 9, 3.0, finished=False)
    out, s = run_scale(tmp_path, allow_missing=True)
    report = report_of(out)
    lines = [line for line in report.splitlines() if line]
    assert lines[1].startswith('**Left out (1')
    assert lines[2].startswith('**The study at a glance**')
    assert lines[3].startswith('| size | parameters')  # the first table of the report
    assert report.index('at a glance') < report.index('**Held fixed:**') < report.index('**Verdict')
    flops = [f"{6 * 4e5 * 90_000:.2e}", f"{(6 * 4e5 + 4e4) * 130_000:.2e}"]
    assert table_cells(lines, 'apertus-tiny') == [
        'apertus-tiny', '400,000 / 401,000–405,000', '90,000–130,000',
        f"{90_000 / 401_000:.3g}–{130_000 / 405_000:.3g}", '270,000–390,000', '–'.join(flops),
        f"{hand_flops('apertus-tiny'):.2e} (15)", '3', '0.0100 (10)', '0.003', '64 tokens']
    big = table_cells(lines, 'apertus-50M')
    assert big[1] == '50M / 50M'  # 50,001,000-50,005,000 print alike: one value
    assert big[-4:] == ['2', f"{math.sqrt(5e-5):.4f} (5)", '0.001', '64 tokens']
    ratio = hand_flops('apertus-tiny') / hand_flops('apertus-50M')
    assert table_cells(lines, 'small:large train FLOPs (all runs of each size)')[1:] == [
        f"{100 * ratio:.3g}% ({100 * ratio * 10 / 15:.3g}% per run)", '~2.25%']
    da = next(x for x in lines if x.startswith('| decision accuracy'))
    assert '| 0.900 ' in da and 'of 10 tokenizer pairs (macro-weighted bpb, test split)' in da
    assert table_cells(lines, 'items ranked; smallest possible p (2/n!)')[1:] == [
        f"5 tokenizers; {2 / 120:.3g}", '25 data recipes']
    assert table_cells(lines, 'seeds per cell')[1:] == ['apertus-tiny 3, apertus-50M 2', '3']
    assert table_cells(lines, 'tokens per parameter at the largest size (apertus-50M)')[1:] == [
        f"{90_000 / 50_001_000:.3g}–{130_000 / 50_005_000:.3g}", '100']
    assert 'one lr per size, the same for every tokenizer; no lr scan' in report
    assert ('toy, split test, sha256 abababababab, 10 documents, scored in windows of 64 tokens '
            '(overlap 0)') in report
    assert ('(3,000 bytes, the same for every run; scored as 1,000–1,400 tokens, by tokenizer)'
            in report)
    assert 'the training budget is UTF-8 bytes of training text at every size' in report


def test_the_card_says_when_scored_bytes_or_the_lr_differ_within_the_study(tmp_path):
    card_grid(tmp_path / 'runs', eval_bytes=lambda preset, i: 3000 + (i == 2),
              lr=lambda preset: None if preset == 'apertus-tiny' else 1e-3)
    for seed in SEEDS['apertus-50M']:  # t-1 at another lr at 50M (both seeds: a cell is one lr)
        run = tmp_path / 'runs' / f'apertus-50M_t-1_s{seed}' / 'config.json'
        run.write_text(json.dumps({**json.loads(run.read_text()), 'lr': 2e-3}))
    out, s = run_scale(tmp_path)
    c = s['study_card']
    assert c['eval_bytes'] == [3000, 3001] and c['lr_policy'] == 'differs between tokenizers'
    report = report_of(out)
    assert '3,000, 3,001 bytes: **not the same for every run**' in report
    assert "a size's tokenizers train at different lrs (each cell at one)" in report
    assert '| 0.001 / 0.002 |' in report


def test_the_card_words_of_a_study_without_lr_or_budget_records():
    rows = [dict(size='a', lr=[None], budget_unit=[None]), dict(size='b', lr=[None],
                                                                budget_unit=[None])]
    assert study_card.lr_policy(rows) == 'not recorded'
    c = dict(lr_policy='one per size', eval_bytes=[10], eval_tokens=[4, 5])
    assert study_card.lr_words(c, {'preset': 'a', 'multipliers': [0.5, 1.0, 2.0]}) == (
        'one lr per size, the same for every tokenizer; an lr scan at a (x0.5, x1, x2; one seed; '
        'its section below)')
    scan = {'preset': 'a', 'labels': ['x1', 'lr1e-05'], 'multipliers': [1.0, None]}  # absolute lrs
    assert study_card.lr_words(c, scan).endswith('an lr scan at a (x1, lr1e-05; one seed; its '
                                                 'section below)')
    assert "the training budget's unit is not recorded" in study_card.bytes_words(c, rows)
    assert [study_card.amount(v) for v in (55_554, 9_999_999, 10_000_000, 1.21e9, 3e12)] == \
        ['55,554', '9,999,999', '10M', '1.21B', '3T']


def test_the_flop_ratio_is_none_without_flops_and_per_run_counts_the_runs():
    rows = [dict(size='a', train_flops=None, n_runs=2), dict(size='b', train_flops=1e12, n_runs=2)]
    assert study_card.flop_ratio(rows, 'a', 'b') == (None, None)
    rows[0]['train_flops'] = 2e10
    assert study_card.flop_ratio(rows, 'a', 'b') == (pytest.approx(0.02), pytest.approx(0.02))
    rows[0]['n_runs'] = 4  # twice the runs at the small size: half the cost of each
    assert study_card.flop_ratio(rows, 'a', 'b') == (pytest.approx(0.02), pytest.approx(0.01))


def test_secondary_eval_sets_are_named_by_their_identity():
    s = {'eval_sets': [
        {'name': 'embedded test', 'role': 'primary', 'eval_set': {'corpus': 'embedded'}},
        {'name': 'stories2', 'role': 'secondary', 'eval_set': {
            'corpus': 'files', 'split': 'files', 'split_sha256': 'cd' * 32, 'n_docs': 1200}},
        {'name': 'flores', 'role': 'secondary', 'eval_set': None}]}
    assert study_card.secondary_rows(s) == [
        ['eval set (secondary: stories2)',
         'files, split files, sha256 cdcdcdcdcdcd, 1,200 documents', '-'],
        ['eval set (secondary: flores)', 'no run scored on it', '-']]
    assert study_card.secondary_rows({}) == []


def test_one_seed_per_cell_has_no_seed_std_and_no_interval(tmp_path):
    for preset in PRESETS:
        for i in range(N_TOKS):
            write_run(tmp_path / 'runs', f"t-{i}", preset, 1, macro(preset, i))
    out, s = run_scale(tmp_path)
    assert [x['seed_std'] for x in s['study_card']['seeds']] == [None, None]
    lines = report_of(out).splitlines()
    assert table_cells(lines, 'apertus-tiny')[7:9] == ['1', '-']
    da = next(x for x in lines if x.startswith('| decision accuracy'))
    # t-3 and t-4 swap at the small size: 9 of 10 pairs
    assert '| 0.900 (no seed interval: one seed per cell) of 10 tokenizer pairs' in da
