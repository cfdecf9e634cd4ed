"""correlate.py: rank statistics equal scipy's, exact p-values equal brute force / scipy's permutation test,
the scale mode end to end on synthetic eval.json files, and the A/B mode on synthetic logs."""
import csv
import itertools
import json
import math
import os

import numpy as np
import pytest
import scipy.stats as st

import correlate

CFG = dict(metric='bpb', higher_is_better=None, seed=1337, n_bootstrap=2000, exact_max_n=9, n_permutations=20_000,
           tokens_dir='', token_stats_split='val', loss_targets=[], bpb_targets=[], split='')

CASES = [  # (x, y): no ties, ties on one side, ties on both, reversed, n = 8
    ([3.1, 2.9, 3.5, 3.3, 2.7, 3.0], [2.8, 2.7, 3.0, 3.1, 2.5, 2.6]),
    ([1, 2, 2, 3, 4, 5], [2, 1, 3, 4, 6, 5]),
    ([1, 2, 2, 3, 4, 5], [2, 1, 3, 3, 5, 4]),
    ([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]),
    ([0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4], [0.4, 0.2, 0.7, 0.1, 0.9, 0.3, 0.6, 0.5]),
]


def naive_spearman(x, ys):
    rx, rys = st.rankdata(x), st.rankdata(ys, axis=-1)
    a, b = rx - rx.mean(), rys - rys.mean(1, keepdims=True)
    return (b @ a) / np.sqrt((a @ a) * (b * b).sum(1))


def naive_kendall(x, ys):
    n = len(x)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    s = sum(np.sign(x[i] - x[j]) * np.sign(ys[:, i] - ys[:, j]) for i, j in pairs)
    return s / math.sqrt(sum(x[i] != x[j] for i, j in pairs) * sum(ys[0][i] != ys[0][j] for i, j in pairs))


def brute_force_p(stat, x, y):
    """Two-sided exact permutation p-value the slow way, in scipy.stats.permutation_test's convention."""
    ys = np.array([[y[i] for i in p] for p in itertools.permutations(range(len(y)))])
    null, obs = stat(np.array(x), ys), stat(np.array(x), np.array([y]))[0]
    tol = 1e-9
    return min(1.0, 2 * min(np.mean(null <= obs + tol), np.mean(null >= obs - tol)))


@pytest.mark.parametrize('x,y', CASES)
def test_statistics_equal_scipy(x, y):
    assert correlate.spearman(x, y) == pytest.approx(st.spearmanr(x, y).statistic, abs=1e-12)
    assert correlate.kendall_tau_b(x, y) == pytest.approx(st.kendalltau(x, y).statistic, abs=1e-12)
    assert correlate.average_ranks(x) == pytest.approx(st.rankdata(x))


@pytest.mark.parametrize('x,y', CASES)
def test_exact_p_values_equal_brute_force(x, y):
    rho, p_rho, tau, p_tau, how = correlate.rank_tests(x, y)
    assert how == 'exact'
    assert p_rho == pytest.approx(brute_force_p(naive_spearman, x, y), abs=1e-12)
    assert p_tau == pytest.approx(brute_force_p(naive_kendall, x, y), abs=1e-12)


def test_exact_p_values_equal_scipy_permutation_methods():
    # spearman: scipy's pearsonr on ranks with PermutationMethod enumerates all n! orderings when n! <= 9999
    for x, y in CASES[:4]:
        ref = st.pearsonr(st.rankdata(x), st.rankdata(y), method=st.PermutationMethod())
        assert correlate.rank_tests(x, y)[1] == pytest.approx(ref.pvalue, rel=1e-9)
    # kendall: scipy's exact method (no ties), and permutation_test with ties
    x, y = CASES[0]
    assert correlate.rank_tests(x, y)[3] == pytest.approx(st.kendalltau(x, y, method='exact').pvalue, rel=1e-9)
    x, y = CASES[2]
    ref = st.permutation_test((y,), lambda b: st.kendalltau(x, b).statistic, permutation_type='pairings',
                              n_resamples=math.inf)
    assert correlate.rank_tests(x, y)[3] == pytest.approx(ref.pvalue, rel=1e-9)


def test_scipy_asymptotic_p_value_differs_for_six_items():
    x, y = CASES[0]  # why exact: the t-approximation is off at n = 6
    assert abs(correlate.rank_tests(x, y)[1] - st.spearmanr(x, y).pvalue) > 0.005


def test_monte_carlo_beyond_exact_max_n_is_seeded_and_close():
    rng = np.random.default_rng(0)
    x = rng.normal(size=9)
    y = x + rng.normal(scale=1.5, size=9)
    a = correlate.rank_tests(x, y, exact_max_n=8, n_permutations=20_000, seed=3)
    b = correlate.rank_tests(x, y, exact_max_n=8, n_permutations=20_000, seed=3)
    exact = correlate.rank_tests(x, y, exact_max_n=9)
    assert a == b and a[4] == 'monte-carlo' and exact[4] == 'exact'
    assert a[1] == pytest.approx(exact[1], abs=0.02) and a[3] == pytest.approx(exact[3], abs=0.02)


def test_constant_side_gives_undefined_correlation():
    rho, p, tau, pt, how = correlate.rank_tests([1, 1, 1, 1], [1, 2, 3, 4])
    assert math.isnan(rho) and math.isnan(p) and how == 'none'
    assert correlate.verdict(rho) == 'undefined'


def test_bootstrap_is_reproducible_and_brackets_the_estimate():
    rng = np.random.default_rng(1)
    small = [rng.normal(m, 0.02, 3) for m in (3.0, 3.1, 3.2, 3.3, 3.4, 3.5)]
    large = [rng.normal(m, 0.02, 3) for m in (2.5, 2.65, 2.7, 2.8, 2.9, 3.05)]
    a = correlate.bootstrap_spearman_ci(small, large, 5000, seed=7)
    assert a == correlate.bootstrap_spearman_ci(small, large, 5000, seed=7)
    rho = correlate.spearman([c.mean() for c in small], [c.mean() for c in large])
    assert a[0] <= rho <= a[1] and -1 <= a[0] <= a[1] <= 1
    one_seed = correlate.bootstrap_spearman_ci([c[:1] for c in small], [c[:1] for c in large], 100)
    assert one_seed[0] == one_seed[1]  # nothing to resample: the interval is the point


@pytest.mark.parametrize('rho,word', [(0.95, 'high'), (0.81, 'high'), (0.8, 'moderate'), (0.5, 'moderate'),
                                      (0.49, 'low'), (-0.9, 'low')])
def test_verdict_words_follow_the_readme_thresholds(rho, word):
    assert correlate.verdict(rho) == word


def test_top1_and_regret_on_a_hand_made_case():
    # small model prefers c; at the large size a is best (2.00) and c is 2.05: regret 0.05, no top-1 agreement
    cells = {('a', 'S'): np.array([3.2]), ('b', 'S'): np.array([3.3]), ('c', 'S'): np.array([3.1]),
             ('a', 'L'): np.array([2.00]), ('b', 'L'): np.array([2.10]), ('c', 'L'): np.array([2.05])}
    p = correlate.compare_sizes(cells, ['a', 'b', 'c'], 'S', 'L', False, CFG)
    assert (p['small_pick'], p['large_best'], p['top1_agree']) == ('c', 'a', False)
    assert p['regret_bpb'] == pytest.approx(0.05) and p['spearman'] == pytest.approx(0.5)
    up = {k: -v for k, v in cells.items()}  # the same as an accuracy (higher is better): same picks, same regret
    q = correlate.compare_sizes(up, ['a', 'b', 'c'], 'S', 'L', True, {**CFG, 'metric': 'tasks.x.acc'})
    assert (q['small_pick'], q['large_best'], q['regret'], q['regret_bpb']) == ('c', 'a', pytest.approx(0.05), None)


# ---------------------------------------------------------------- scale mode end to end
SIZES = {'apertus-tiny': 4e5, 'apertus-50M': 5e7, 'apertus-300M': 3e8}
TOKS = ['bpe-2k', 'bpe-4k', 'bpe-8k', 'unigram-2k', 'unigram-4k', 'unigram-8k']


def write_eval(runs_dir, tok, preset, seed, bpb, per_lang=None, **extra):
    run = f"{preset}_{tok}_s{seed}"
    os.makedirs(runs_dir / run, exist_ok=True)
    ev = dict(run=run, arch='apertus', preset=preset, n_params=SIZES[preset] * 1.3,
              n_params_nonembedding=SIZES[preset], tokenizer=tok, vocab_size=2000, seed=seed, split='test', bpb=bpb,
              nll_per_token=bpb, n_tokens=1000, n_bytes=3000, n_docs=10, per_lang=per_lang or {}, **extra)
    (runs_dir / run / 'eval.json').write_text(json.dumps(ev))


def synthetic_grid(runs_dir, rng, large_order=None):
    """6 tokenizers x 3 sizes x 3 seeds; tokenizer i has quality rank i at every size unless large_order says."""
    for si, preset in enumerate(SIZES):
        for i, tok in enumerate(TOKS):
            rank = i if large_order is None or si < 2 else large_order[i]
            for seed in (1, 2, 3):
                b = 3.0 - 0.5 * si + 0.05 * rank + rng.normal(0, 0.002)
                write_eval(runs_dir, tok, preset, seed, b,
                           per_lang={'eng': {'bpb': b - 0.1}, 'deu_Latn': {'bpb': b + 0.1 * (i % 2)}},
                           tasks={'toy': {'acc': 0.3 + 0.01 * (5 - rank), 'acc_norm': 0.3}})


def run_scale(tmp_path, **over):
    cfg = dict(CFG, command='scale', runs_dir=str(tmp_path / 'runs'), runs=[], name='s',
               analysis_dir=str(tmp_path / 'analysis'), split='')
    return correlate.main({**cfg, **over})


def test_scale_mode_recovers_a_known_ranking(tmp_path):
    synthetic_grid(tmp_path / 'runs', np.random.default_rng(0))
    out, s = run_scale(tmp_path)
    assert [z['preset'] for z in s['sizes']] == list(SIZES)  # ordered by non-embedding parameters
    assert len(s['pairs']) == 3 and len(s['cells']) == 18 and all(c['n_seeds'] == 3 for c in s['cells'])
    for p in s['pairs']:
        assert p['n_tokenizers'] == 6 and p['spearman'] == pytest.approx(1.0) and p['kendall'] == pytest.approx(1.0)
        assert p['spearman_p'] == pytest.approx(2 / 720) and p['p_method'] == 'exact'
        assert p['top1_agree'] and p['regret_bpb'] == 0.0 and p['verdict'] == 'high'
        assert p['spearman_ci'] == pytest.approx([1.0, 1.0])  # seed noise far below the gaps
    assert s['headline']['small'] == 'apertus-tiny' and s['headline']['large'] == 'apertus-300M'
    assert set(s['by_algorithm']) == {'bpe', 'unigram'} and s['by_algorithm']['bpe'][0]['n_tokenizers'] == 3
    assert set(s['by_language']) == {'deu_Latn', 'eng'}
    assert all(z['gaps_over_2std'] == z['n_gaps'] == 5 for z in s['noise'])
    on_disk = json.load(open(os.path.join(out, 'summary.json')))
    want = {'small', 'large', 'n_tokenizers', 'spearman', 'spearman_p', 'kendall', 'kendall_p', 'spearman_ci',
            'top1_agree', 'regret_bpb'}
    assert all(want <= set(p) for p in on_disk['pairs'])
    rows = list(csv.DictReader(open(os.path.join(out, 'summary.csv'))))
    assert len(rows) == 3 + 2 * 3 + 2 * 3 and rows[0]['group'] == 'all'
    report = open(os.path.join(out, 'report.md')).read()
    assert '**Verdict: high**' in report and 'ρ > 0.8 high' in report
    for f in s['plots']:
        assert os.path.getsize(os.path.join(out, f)) > 1000 and f in report
    assert {'rho_heatmap.png', 'bpb_vs_params.png', 'scatter_apertus-tiny_vs_apertus-300M.png'} <= set(s['plots'])


def test_scale_mode_reports_a_reshuffled_large_ranking(tmp_path):
    # at the largest size the order is reversed: rho = -1 between small and large, the pick is the worst
    synthetic_grid(tmp_path / 'runs', np.random.default_rng(0), large_order=[5, 4, 3, 2, 1, 0])
    _, s = run_scale(tmp_path)
    h = s['headline']
    assert h['spearman'] == pytest.approx(-1.0) and h['verdict'] == 'low' and not h['top1_agree']
    assert (h['small_pick'], h['large_best']) == ('bpe-2k', 'unigram-8k')
    assert h['regret_bpb'] == pytest.approx(0.25, abs=0.01)
    tiny_50m = s['pairs'][0]
    assert tiny_50m['spearman'] == pytest.approx(1.0)


def test_scale_mode_on_a_task_accuracy(tmp_path):
    synthetic_grid(tmp_path / 'runs', np.random.default_rng(0))
    _, s = run_scale(tmp_path, metric='tasks.toy.acc')
    assert s['higher_is_better'] is True and s['by_language'] == {}
    assert all(p['top1_agree'] and p['small_pick'] == 'bpe-2k' and p['regret_bpb'] is None for p in s['pairs'])


def test_scale_mode_refuses_duplicates_and_mixed_splits(tmp_path):
    runs = tmp_path / 'runs'
    write_eval(runs, 'bpe-2k', 'apertus-tiny', 1, 3.0)
    write_eval(runs, 'bpe-4k', 'apertus-tiny', 1, 3.0, )
    ev = json.loads((runs / 'apertus-tiny_bpe-4k_s1' / 'eval.json').read_text())
    (runs / 'apertus-tiny_bpe-4k_s1' / 'eval.json').write_text(json.dumps({**ev, 'split': 'val'}))
    with pytest.raises(SystemExit, match='several splits'):
        run_scale(tmp_path)
    (runs / 'apertus-tiny_bpe-4k_s1' / 'eval.json').write_text(json.dumps(ev))
    os.makedirs(runs / 'copy')
    (runs / 'copy' / 'eval.json').write_text((runs / 'apertus-tiny_bpe-2k_s1' / 'eval.json').read_text())
    with pytest.raises(SystemExit, match='a second run'):
        run_scale(tmp_path)
    with pytest.raises(SystemExit, match='no eval.json'):
        run_scale(tmp_path, runs_dir=str(tmp_path / 'nothing'))


# ---------------------------------------------------------------- A/B mode
def write_run(runs_dir, name, tok, bytes_per_token, speed, n_steps=10):
    d = runs_dir / name
    os.makedirs(d)
    (d / 'config.json').write_text(json.dumps(dict(tokenizer=f'out/tokenizers/{tok}', corpus='toy', seed=1)))
    lines = []
    for step in range(0, n_steps + 1):
        tokens = step * 1000
        ev = dict(step=step, tokens=tokens, bytes=int(tokens * bytes_per_token), elapsed_s=step * 2.0,
                  lr=1e-3, train_loss=5.0 - 0.3 * step * speed, tok_per_s=500.0)
        if step % 2 == 0:
            ev.update(val_loss=5.0 - 0.3 * step * speed, val_bpb=3.0 - 0.2 * step * speed)
        lines.append(json.dumps(ev))
    lines.insert(2, json.dumps(dict(step=2, tokens=0, bytes=0, elapsed_s=0, train_loss=99.0)))  # overwritten on resume
    (d / 'log.jsonl').write_text('\n'.join(lines) + '\n{"step": 11, "tok')  # a line cut short by a kill
    return str(d)


def test_ab_mode_from_two_tiny_logs(tmp_path):
    runs = tmp_path / 'runs'
    a = write_run(runs, 'gpt2-tiny_bpe-4k_s1', 'bpe-4k', 3.0, speed=1.0)
    write_run(runs, 'gpt2-tiny_btm-4k_s1', 'btm-4k', 4.0, speed=1.5)
    side = tmp_path / 'tokens' / 'toy' / 'btm-4k'
    os.makedirs(side)
    (side / 'val.json').write_text(json.dumps(dict(n_tokens=1000, n_docs=10, n_bytes=4200)))
    cfg = dict(CFG, command='ab', runs=[a, 'gpt2-tiny_btm-4k_s1'], runs_dir=str(runs), name='ab',
               analysis_dir=str(tmp_path / 'analysis'), tokens_dir=str(tmp_path / 'tokens'), loss_targets=[3.5])
    out, s = correlate.main(cfg)
    ra, rb = s['runs']
    assert (ra['steps'], rb['tokenizer'], rb['tokens_per_doc'], rb['bytes_per_token']) == (10, 'btm-4k', 100, 4.2)
    assert ra['bytes_per_token'] == pytest.approx(3.0) and 'log.jsonl' in ra['source']  # no sidecar: from the log
    assert ra['final_val_bpb'] == pytest.approx(1.0) and rb['final_val_bpb'] == pytest.approx(0.0)
    # default bpb target: the worse run's final bpb (1.0): a at step 10, b first at step 8 (3 - 0.3 * 8 = 0.6)
    reach = {(t['metric'], t['run']): t for t in s['targets']}
    bpe, btm = 'gpt2-tiny_bpe-4k_s1', 'gpt2-tiny_btm-4k_s1'
    assert reach['val_bpb', bpe]['step'] == 10 and reach['val_bpb', btm]['step'] == 8
    assert reach['val_loss', bpe]['step'] == 6 and reach['val_loss', btm]['step'] == 4
    assert reach['val_bpb', 'gpt2-tiny_btm-4k_s1']['elapsed_s'] == 16.0
    assert s['common_bytes'] == 30_000  # a saw 30,000 bytes; b's bpb there is interpolated (7.5 steps)
    assert rb['val_bpb_at_common_bytes'] == pytest.approx(3.0 - 0.3 * 7.5)
    report = open(os.path.join(out, 'report.md')).read()
    assert 'not comparable across tokenizers' in report
    assert set(s['plots']) == {'val_loss_vs_step.png', 'val_loss_vs_time.png', 'val_bpb_vs_step.png',
                               'val_bpb_vs_time.png', 'val_bpb_vs_bytes.png', 'train_loss_vs_step.png'}
    for f in s['plots']:
        assert os.path.getsize(os.path.join(out, f)) > 1000
    assert len(list(csv.DictReader(open(os.path.join(out, 'summary.csv'))))) == 2


def test_read_log_keeps_the_last_event_of_a_step(tmp_path):
    d = write_run(tmp_path, 'r', 'bpe-4k', 3.0, 1.0)
    events = correlate.read_log(os.path.join(d, 'log.jsonl'))
    assert [e['step'] for e in events] == list(range(11)) and events[2]['train_loss'] != 99.0


def test_scale_mode_reads_only_the_runs_given_and_the_split_asked(tmp_path):
    runs = tmp_path / 'runs'
    synthetic_grid(runs, np.random.default_rng(0))
    _, s = run_scale(tmp_path, runs=['apertus-tiny_*', str(runs / 'apertus-50M_*')])  # names and paths, globbed
    assert [z['preset'] for z in s['sizes']] == ['apertus-tiny', 'apertus-50M'] and s['n_runs'] == 36
    for d in runs.iterdir():  # eval_bpb.py --split=val writes eval_val.json next to eval.json
        ev = json.loads((d / 'eval.json').read_text())
        (d / 'eval_val.json').write_text(json.dumps({**ev, 'split': 'val', 'bpb': ev['bpb'] + 1}))
    out, s = run_scale(tmp_path, split='val')
    assert s['split'] == 'val' and min(c['mean'] for c in s['cells']) > 2.0 + 1
