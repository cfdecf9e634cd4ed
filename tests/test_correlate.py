"""correlate.py end to end on hand-built run folders (eval.json, config.json, log.jsonl) whose answers are known:
the refusals, the scale study (ranking, decision accuracy, agreement over training, fits, cost, zero-compute
predictors) and the A/B study (values at equal bytes/FLOPs/steps, the Welch difference, the criterion)."""
import csv
import json
import math
import os
import shutil

import numpy as np
import pytest
import scipy.stats as st

import correlate
from helpers import held_elsewhere
from uniscale import run_folder
from uniscale.code_identity import code_identity

EVAL_SET = dict(corpus='toy', split='test', split_sha256='ab' * 32, n_docs=10, max_docs_per_lang=0, context=64,
                overlap=0)
SIZES = {'apertus-tiny': 4e5, 'apertus-50M': 5e7, 'apertus-300M': 3e8}
TOKS = ['bpe-2k', 'bpe-4k', 'bpe-8k', 'unigram-2k', 'unigram-4k', 'unigram-8k']
FAST = dict(n_bootstrap=500, n_fit_bootstrap=20, n_permutations=20_000, plots=False)


def write_run(runs_dir, tok, preset, seed, bpb, n_params=None, curve=None, per_lang=None, total_steps=100,
              tokens_per_step=1000, eval_every=10, fpt=None, bytes_per_token=3.0, finished=True, eval_set=None,
              config_extra=None, **extra):
    """One run folder: config.json, log.jsonl (val_bpb = curve(fraction) at every eval_every steps; default a
    straight line down to bpb) and eval.json (final bpb). Returns the folder."""
    n_params = n_params or SIZES[preset]
    fpt = fpt or 6 * n_params
    d = runs_dir / f"{preset}_{tok}_s{seed}"
    os.makedirs(d, exist_ok=True)
    (d / 'config.json').write_text(json.dumps(dict(preset=preset, tokenizer=f'out/tokenizers/{tok}', seed=seed,
                                                   corpus='toy', total_steps=total_steps, block_size=64,
                                                   tokens_per_step=tokens_per_step, **(config_extra or {}))))
    curve = curve or (lambda f: bpb + 1.0 * (1 - f))
    lines = []
    for step in range(0, total_steps + 1, eval_every):
        tokens = step * tokens_per_step
        lines.append(json.dumps(dict(step=step, tokens=tokens, bytes=round(tokens * bytes_per_token),
                                     elapsed_s=step * 0.5, val_loss=curve(step / total_steps) * 2,
                                     val_bpb=curve(step / total_steps), train_loss=3.0)))
    (d / 'log.jsonl').write_text('\n'.join(lines) + '\n')
    ev = dict(run=d.name, arch='apertus', preset=preset, n_params=n_params * 1.3, n_params_nonembedding=n_params,
              flops_per_token=fpt, tokenizer=tok, vocab_size=2000, seed=seed, split='test', bpb=bpb,
              nll_per_token=bpb, n_tokens=1000, n_bytes=int(1000 * bytes_per_token), n_docs=10,
              per_lang=per_lang or {}, step=total_steps if finished else total_steps // 2, total_steps=total_steps,
              finished=finished, eval_set=eval_set or EVAL_SET, tokens_seen=total_steps * tokens_per_step, **extra)
    (d / 'eval.json').write_text(json.dumps(ev))
    return d


def synthetic_grid(runs_dir, rng, large_order=None, toks=TOKS, sizes=SIZES, seeds=(1, 2, 3)):
    """tokenizers x sizes x seeds; tokenizer i has quality rank i at every size unless large_order says."""
    for si, preset in enumerate(sizes):
        for i, tok in enumerate(toks):
            rank = i if large_order is None or si < len(sizes) - 1 else large_order[i]
            for seed in seeds:
                b = 3.0 - 0.5 * si + 0.05 * rank + rng.normal(0, 0.002)
                d = 0.1 + 0.02 * (i % 2)  # the language average (macro) equals b, as the byte-weighted bpb
                write_run(runs_dir, tok, preset, seed, b, per_lang={'eng': {'bpb': b - d}, 'deu_Latn': {'bpb': b + d}},
                          tasks={'toy': {'acc': 0.3 + 0.01 * (5 - rank), 'acc_norm': 0.3}})


def run_scale(tmp_path, **over):
    cfg = dict(FAST, command='scale', runs_dir=str(tmp_path / 'runs'), runs=[], name='s',
               analysis_dir=str(tmp_path / 'analysis'), tokenizer_eval_dir=str(tmp_path / 'tokenizer_eval'))
    return correlate.main({**cfg, **over})


# ---------------------------------------------------------------- scale: the ranking
def test_scale_mode_recovers_a_known_ranking(tmp_path):
    synthetic_grid(tmp_path / 'runs', np.random.default_rng(0))
    out, s = run_scale(tmp_path, plots=True)
    assert [z['preset'] for z in s['sizes']] == list(SIZES)  # ordered by non-embedding parameters
    assert len(s['pairs']) == 3 and len(s['cells']) == 18 and all(c['n_seeds'] == 3 for c in s['cells'])
    for p in s['pairs']:
        assert p['n_tokenizers'] == 6 and p['spearman'] == pytest.approx(1.0) and p['kendall'] == pytest.approx(1.0)
        assert p['spearman_p'] == pytest.approx(2 / 720) and p['p_method'] == 'exact'
        assert p['top1_agree'] and p['regret_bpb'] == 0.0 and p['verdict'] == 'high'
        assert p['spearman_ci'] == pytest.approx([1.0, 1.0])  # seed noise far below the gaps
        assert p['decision_accuracy'] == 1.0 and p['decision_accuracy_ci'] == [1.0, 1.0]
    assert s['headline']['small'] == 'apertus-tiny' and s['headline']['large'] == 'apertus-300M'
    assert set(s['by_algorithm']) == {'bpe', 'unigram'} and s['by_algorithm']['bpe'][0]['n_tokenizers'] == 3
    assert set(s['by_language']) == {'deu_Latn', 'eng'}
    assert all(z['gaps_over_2std'] == z['n_gaps'] == 5 for z in s['noise'])
    on_disk = json.load(open(os.path.join(out, 'summary.json')))
    want = {'small', 'large', 'n_tokenizers', 'spearman', 'spearman_p', 'kendall', 'kendall_p', 'spearman_ci',
            'top1_agree', 'regret_bpb', 'decision_accuracy', 'decision_accuracy_ci', 'verdict'}
    assert all(want <= set(p) for p in on_disk['pairs'])
    assert {'over_training', 'cheapest_agreeing', 'fits', 'extrapolation', 'backtest', 'cost',
            'intrinsic_predictors', 'left_out'} <= set(on_disk)
    rows = list(csv.DictReader(open(os.path.join(out, 'summary.csv'))))
    assert len(rows) == 3 + 2 * 3 + 2 * 3 and rows[0]['group'] == 'all'
    report = open(os.path.join(out, 'report.md')).read()
    assert '**Verdict: high**' in report and '| high | rank correlation: ρ > 0.8' in report and 'cannot show' in report
    for f in s['plots']:
        assert os.path.getsize(os.path.join(out, f)) > 1000 and f in report
    assert {'rho_heatmap.png', 'bpb_vs_params.png', 'scatter_apertus-tiny_vs_apertus-300M.png',
            'bpb_vs_train_flops.png', 'agreement_over_training.png'} <= set(s['plots'])


def test_scale_mode_reports_a_reshuffled_large_ranking(tmp_path):
    # at the largest size the order is reversed: rho = -1 between small and large, the pick is the worst
    synthetic_grid(tmp_path / 'runs', np.random.default_rng(0), large_order=[5, 4, 3, 2, 1, 0])
    _, s = run_scale(tmp_path)
    h = s['headline']
    assert h['spearman'] == pytest.approx(-1.0) and h['verdict'] == 'reversed' and not h['top1_agree']
    assert h['decision_accuracy'] == 0.0
    assert (h['small_pick'], h['large_best']) == ('bpe-2k', 'unigram-8k')
    assert h['regret_bpb'] == pytest.approx(0.25, abs=0.01)
    assert s['pairs'][0]['spearman'] == pytest.approx(1.0)


def test_four_tokenizers_can_never_be_significant(tmp_path):
    synthetic_grid(tmp_path / 'runs', np.random.default_rng(0), toks=TOKS[:4], seeds=(1, 2))
    out, s = run_scale(tmp_path)
    h = s['headline']
    assert h['spearman'] == pytest.approx(1.0) and h['spearman_p'] == pytest.approx(2 / 24)
    assert h['verdict'] == 'not resolved' and h['smallest_p_possible'] == pytest.approx(2 / math.factorial(4))
    assert h['to_resolve']['tokenizers'] == 5  # 2/5! = 0.017 < 0.05 <= 2/4! = 0.083
    report = open(os.path.join(out, 'report.md')).read()
    assert '**Verdict: not resolved**' in report and 'no ordering of 4 tokenizers can reach p < 0.05' in report
    assert '2/4! = 0.0833' in report and 'more tokenizers: at least 5' in report


def test_scale_mode_on_a_task_accuracy(tmp_path):
    synthetic_grid(tmp_path / 'runs', np.random.default_rng(0))
    _, s = run_scale(tmp_path, metric='tasks.toy.acc')
    assert s['higher_is_better'] is True and s['by_language'] == {} and 'fits' not in s
    assert all(p['top1_agree'] and p['small_pick'] == 'bpe-2k' and p['regret_bpb'] is None for p in s['pairs'])


def test_scale_mode_reads_only_the_runs_given_and_the_split_asked(tmp_path):
    runs = tmp_path / 'runs'
    synthetic_grid(runs, np.random.default_rng(0))
    _, s = run_scale(tmp_path, runs=['apertus-tiny_*', str(runs / 'apertus-50M_*')])  # names and paths, globbed
    assert [z['preset'] for z in s['sizes']] == ['apertus-tiny', 'apertus-50M'] and s['n_runs'] == 36
    assert 'no fits: 2 sizes' in s['fits_note'] and 'fits' not in s
    for d in runs.iterdir():  # eval_bpb.py --split=val writes eval_val.json next to eval.json
        ev = json.loads((d / 'eval.json').read_text())
        per_lang = {lang: {'bpb': v['bpb'] + 1} for lang, v in ev['per_lang'].items()}
        (d / 'eval_val.json').write_text(json.dumps({**ev, 'split': 'val', 'bpb': ev['bpb'] + 1, 'per_lang': per_lang,
                                                     'eval_set': {**EVAL_SET, 'split': 'val'}}))
    out, s = run_scale(tmp_path, split='val')
    assert s['split'] == 'val' and min(c['mean'] for c in s['cells']) > 2.0 + 1


# ---------------------------------------------------------------- refusals
def small_grid(runs, **over):
    for preset in ('apertus-tiny', 'apertus-50M'):
        for i, tok in enumerate(TOKS[:3]):
            write_run(runs, tok, preset, 1, 3.0 + 0.1 * i, **over)


def test_refuses_an_unfinished_or_unevaluated_run_and_names_it(tmp_path):
    runs = tmp_path / 'runs'
    small_grid(runs)
    write_run(runs, 'bpe-4k', 'apertus-tiny', 2, 3.1, finished=False)
    with pytest.raises(SystemExit, match=r"apertus-tiny_bpe-4k_s2: unfinished \(scored at step 50 of 100\)"):
        run_scale(tmp_path)
    (runs / 'apertus-tiny_bpe-4k_s2' / 'eval.json').unlink()
    with pytest.raises(SystemExit, match=r"apertus-tiny_bpe-4k_s2: no eval.json.*--allow_missing=True"):
        run_scale(tmp_path)


def test_refuses_runs_scored_on_different_eval_sets_naming_both_groups(tmp_path):
    runs = tmp_path / 'runs'
    small_grid(runs)
    write_run(runs, 'bpe-4k', 'apertus-tiny', 2, 3.1, eval_set={**EVAL_SET, 'n_docs': 60})
    with pytest.raises(SystemExit) as e:
        run_scale(tmp_path)
    msg = str(e.value)
    assert 'different evaluation sets (they differ in n_docs)' in msg and '\n' not in msg
    assert 'n_docs=10' in msg and '[apertus-tiny_bpe-4k_s2] with n_docs=60' in msg


def test_refuses_a_single_size(tmp_path):
    runs = tmp_path / 'runs'
    for i, tok in enumerate(TOKS[:3]):
        write_run(runs, tok, 'apertus-tiny', 1, 3.0 + 0.1 * i)
    with pytest.raises(SystemExit, match=r"1 model size\(s\) \(apertus-tiny\)"):
        run_scale(tmp_path, allow_missing=True)


def test_refuses_a_missing_cell_unless_allowed_and_then_says_what_was_left_out(tmp_path):
    runs = tmp_path / 'runs'
    small_grid(runs)
    write_run(runs, 'unigram-2k', 'apertus-tiny', 1, 3.3)  # unigram-2k has no apertus-50M run
    with pytest.raises(SystemExit, match=r"1 \(size, tokenizer\) cells are empty.*cell apertus-50M x unigram-2k: "
                                         r"no finished run with bpb"):
        run_scale(tmp_path)
    write_run(runs, 'unigram-4k', 'apertus-tiny', 1, 3.4, finished=False)
    with pytest.raises(SystemExit, match='1 of 8 runs are not finished and evaluated'):
        run_scale(tmp_path)
    out, s = run_scale(tmp_path, allow_missing=True)
    assert s['left_out'] == ['apertus-tiny_unigram-4k_s1: unfinished (scored at step 50 of 100)',
                             'cell apertus-50M x unigram-2k: no finished run with bpb']
    assert s['headline']['n_tokenizers'] == 3  # the pair uses the tokenizers present at both sizes
    head = open(os.path.join(out, 'report.md')).read().splitlines()[:4]
    assert any(line.startswith('**Left out (2, --allow_missing=True):**') and 'unigram-4k_s1: unfinished' in line
               for line in head)


def test_a_corrupt_eval_json_is_a_one_line_error(tmp_path):
    runs = tmp_path / 'runs'
    small_grid(runs)
    (runs / 'apertus-tiny_bpe-2k_s1' / 'eval.json').write_text('{"bpb": 3.0, ')
    with pytest.raises(SystemExit) as e:
        run_scale(tmp_path)
    assert 'apertus-tiny_bpe-2k_s1/eval.json: corrupt eval.json' in str(e.value) and '\n' not in str(e.value)


def test_refuses_duplicate_runs(tmp_path):
    runs = tmp_path / 'runs'
    small_grid(runs)
    shutil.copytree(runs / 'apertus-tiny_bpe-2k_s1', runs / 'copy')
    with pytest.raises(SystemExit, match='holds seed 1 twice'):
        run_scale(tmp_path)
    with pytest.raises(SystemExit, match='no runs with eval.json'):
        run_scale(tmp_path, runs_dir=str(tmp_path / 'nothing'))


# ---------------------------------------------------------------- scale: training, fits, cost, metrics
def flip_curve(final, wrong_until, offset):
    """val bpb that ranks the tokenizer the wrong way (offset added) before fraction wrong_until, right after."""
    return lambda f: final + 0.5 * (1 - f) + (offset if f < wrong_until - 1e-9 else 0.0)


def test_cheapest_agreeing_finds_where_the_ranking_flips(tmp_path):
    runs = tmp_path / 'runs'
    finals = {'a': 0.0, 'b': 0.1, 'c': 0.2}  # the right order at every size's end: a < b < c
    for si, (preset, wrong_until) in enumerate((('apertus-tiny', 0.4), ('apertus-50M', 0.2), ('apertus-300M', 0.1))):
        for i, (tok, f) in enumerate(finals.items()):
            for seed in (1, 2):
                final = 3.0 - 0.5 * si + f
                write_run(runs, tok, preset, seed, final,
                          curve=flip_curve(final, wrong_until, offset=0.5 * (2 - i)))  # c < b < a before
    _, s = run_scale(tmp_path)
    tiny = [p for p in s['over_training'] if p['size'] == 'apertus-tiny']
    assert [p['fraction'] for p in tiny] == pytest.approx([0.1 * k for k in range(1, 11)])
    for p in tiny:  # by construction: reversed before 40% of training, right from there on
        assert p['decision_accuracy'] == (0.0 if p['fraction'] < 0.4 - 1e-9 else 1.0)
        assert p['spearman'] == pytest.approx(-1.0 if p['fraction'] < 0.4 - 1e-9 else 1.0)
    c = s['cheapest_agreeing']
    # tiny at 40% costs 0.4 x (6 x 4e5 FLOPs/token x 1e5 tokens x 6 runs); 50M at 20% costs far more
    assert (c['size'], c['fraction']) == ('apertus-tiny', pytest.approx(0.4))
    assert c['train_flops'] == pytest.approx(0.4 * 6 * 4e5 * 1e5 * 6)
    _, s = run_scale(tmp_path, agree_target={'spearman': 0.9}, runs=['apertus-50M_*', 'apertus-300M_*'])
    assert (s['cheapest_agreeing']['size'], s['cheapest_agreeing']['fraction']) == ('apertus-50M', pytest.approx(0.2))


def test_a_lucky_early_agreement_that_falls_away_does_not_count(tmp_path):
    runs = tmp_path / 'runs'
    for si, preset in enumerate(('apertus-tiny', 'apertus-50M')):
        for i, tok in enumerate(('a', 'b', 'c')):
            final = 3.0 - 0.5 * si + 0.1 * i

            def curve(f, final=final, i=i, si=si):  # tiny: right at 10%, wrong 20-50%, right from 60%
                wrong = si == 0 and 0.15 < f < 0.55
                return final + (1 - f) + (0.5 * (2 - i) if wrong else 0.0)
            write_run(runs, tok, preset, 1, final, curve=curve)
    _, s = run_scale(tmp_path)
    c = s['cheapest_agreeing']
    assert (c['size'], c['fraction']) == ('apertus-tiny', pytest.approx(0.6))


def test_agreement_over_training_is_measured_against_the_verdict_s_reference(tmp_path):
    # the logs rank a < b < c at both sizes; the large size's eval.json (another split) ranks them the other way
    # (issue 29: the reference is the verdict's, the large size's eval.json; val against val beside)
    runs = tmp_path / 'runs'
    for si, preset in enumerate(('apertus-tiny', 'apertus-50M')):
        for i, tok in enumerate(('a', 'b', 'c')):
            val_final = 3.0 - 0.5 * si + 0.1 * i
            test_bpb = val_final if si == 0 else 2.5 - 0.1 * i
            write_run(runs, tok, preset, 1, test_bpb, curve=lambda f, v=val_final: v + (1 - f))
    _, s = run_scale(tmp_path)
    assert s['headline']['decision_accuracy'] == 0.0  # eval.json against eval.json
    points = s['over_training']
    assert all(p['decision_accuracy'] == 0.0 for p in points)  # val against the verdict's
    assert all(p['decision_accuracy_val'] == 1.0 for p in points)  # val against val bpb
    assert s['over_training_reference'].startswith(
        "the verdict's: the apertus-50M runs' final bpb on the test")
    assert s['cheapest_agreeing'] is None  # so no saving is claimed against what the verdict reads


LAWS = {'bpe-2k': (1.0, 40.0, 0.30), 'bpe-4k': (1.1, 40.0, 0.30), 'unigram-2k': (1.3, 40.0, 0.30)}
LAW_SIZES = {'apertus-tiny': 1e6, 'apertus-50M': 1e7, 'apertus-300M': 1e8, 'apertus-1B': 1e9}


def law_grid(runs, sizes=LAW_SIZES, noise=0.002, seeds=(1, 2, 3), rng=None):
    rng = rng or np.random.default_rng(0)
    for preset, n in sizes.items():
        for tok, (e, a, alpha) in LAWS.items():
            for seed in seeds:
                write_run(runs, tok, preset, seed, e + a * n ** -alpha + rng.normal(0, noise), n_params=n)


def test_scaling_fits_recover_the_laws_and_extrapolate_the_ranking(tmp_path):
    # noise drawn so that no law is falsely rejected (the lack-of-fit test does so 5% of the time per law; with
    # default_rng(0) it rejects bpe-2k at p = 0.036, and nothing is then extrapolated: tests/test_law_fit.py)
    law_grid(tmp_path / 'runs', rng=np.random.default_rng(2))
    out, s = run_scale(tmp_path, extrapolate_to=[1e10])
    assert not any(f['lack_of_fit']['rejected'] for f in s['fits'].values())
    for tok, (e, a, alpha) in LAWS.items():
        f = s['fits'][tok]
        assert f['E'] == pytest.approx(e, abs=0.05) and f['alpha'] == pytest.approx(alpha, abs=0.05)
        assert f['E_ci'][0] <= f['E'] <= f['E_ci'][1]
    (x,) = s['extrapolation']
    assert x['ranking'] == list(LAWS) and x['p_best']['bpe-2k'] > 0.95
    truth = {t: e + a * 1e10 ** -alpha for t, (e, a, alpha) in LAWS.items()}
    assert all(abs(x['bpb'][t]['mean'] - truth[t]) < 0.03 for t in LAWS)
    assert s['backtest']['law'] == 'E + A N^-alpha' and s['backtest']['fit']['decision_accuracy'] == 1.0
    assert set(s['fits_flops']) == set(LAWS)
    report = open(os.path.join(out, 'report.md')).read()
    assert 'Extrapolated to 1.00e+10' in report and 'Backtest' in report


def test_cost_is_flops_per_token_times_tokens_and_forward_flops_per_byte(tmp_path):
    runs = tmp_path / 'runs'
    for preset in ('apertus-tiny', 'apertus-50M'):
        for tok, bpt in (('a', 3.0), ('b', 4.5)):
            write_run(runs, tok, preset, 1, 3.0 + bpt / 10, fpt=6 * SIZES[preset] + 1e4, bytes_per_token=bpt,
                      total_steps=50, tokens_per_step=2000)
    _, s = run_scale(tmp_path)
    for preset in ('apertus-tiny', 'apertus-50M'):
        for tok, bpt in (('a', 3.0), ('b', 4.5)):
            fpt = 6 * SIZES[preset] + 1e4
            c = s['cost'][tok][preset]
            assert c['train_flops'] == pytest.approx(fpt * 50 * 2000)
            assert c['inference_flops_per_byte'] == pytest.approx(fpt / 3 / (int(1000 * bpt) / 1000))


VAL_SHA = 'cd' * 32  # the toy corpus's val split: the text the tokenizer metrics are of


def toy_corpus_meta(root, val_sha=VAL_SHA):
    """root/corpus/toy/meta.json as prepare.py writes it: the test split of EVAL_SET and a val split."""
    os.makedirs(root / 'corpus' / 'toy', exist_ok=True)
    (root / 'corpus' / 'toy' / 'meta.json').write_text(json.dumps(
        {'corpus': 'toy', 'splits': {'test': {'sha256': EVAL_SET['split_sha256']}, 'val': {'sha256': val_sha}}}))


def write_metrics(metrics_dir, tok, m, corpus='toy', sha=VAL_SHA, tok_hash=None, old_layout=False):
    """A metrics.json as tokenizer.py eval writes it ({tok}/{corpus}_val_{sha12}/), or in the layout before it."""
    m = {'code': code_identity('tokenizer_eval'), **m, 'name': tok, 'hash': tok_hash or f"{tok}-hash",
         'corpus': corpus, 'split': 'val', 'split_sha256': sha}
    d = metrics_dir / tok if old_layout else metrics_dir / tok / f"{corpus}_val_{sha[:12]}"
    os.makedirs(d, exist_ok=True)
    (d / 'metrics.json').write_text(json.dumps(m))
    return d / 'metrics.json'


def predictor_metrics(bytes_per_token, i):
    return {'overall': {'bytes_per_token': bytes_per_token, 'fertility': [1.0, 2.0, 3.0, 4.0][i]},
            'premium_reference': 'eng', 'per_lang': {'eng': {'premium': 1.0}, 'deu': {'premium': 1.1 + i}}}


def intrinsic_grid(tmp_path):
    """Four tokenizers at three sizes whose largest size ranks them 0 < 2 < 1 < 3; runs record their tokenizer's
    hash; the toy corpus's meta.json is at tmp_path/corpus. Returns run_scale's overrides."""
    synthetic_grid(tmp_path / 'runs', np.random.default_rng(0), toks=TOKS[:4], seeds=(1,), large_order=[0, 2, 1, 3])
    for d in (tmp_path / 'runs').iterdir():
        ev = json.loads((d / 'eval.json').read_text())
        (d / 'eval.json').write_text(json.dumps({**ev, 'tokenizer_hash': f"{ev['tokenizer']}-hash"}))
    toy_corpus_meta(tmp_path)
    return dict(eval_args={'corpus_dir': str(tmp_path / 'corpus')})


def test_zero_compute_predictors_against_the_largest_ranking(tmp_path):
    metrics_dir, over = tmp_path / 'tokenizer_eval', intrinsic_grid(tmp_path)
    for i, tok in enumerate(TOKS[:4]):  # bytes/token predicts the largest size's order 0 < 2 < 1 < 3 exactly
        write_metrics(metrics_dir, tok, predictor_metrics([4.0, 3.0, 3.5, 2.0][i], i))
    out, s = run_scale(tmp_path, **over)
    ip = s['intrinsic_predictors']
    assert ip['bytes_per_token']['spearman'] == pytest.approx(1.0) and ip['bytes_per_token']['decision_accuracy'] == 1
    large = [0, 2, 1, 3]  # fertility 1 < 2 < 3 < 4 against the large order: one swapped pair of six
    assert ip['fertility']['decision_accuracy'] == pytest.approx(5 / 6)
    assert ip['fertility']['spearman'] == pytest.approx(st.spearmanr([1, 2, 3, 4], large).statistic)
    assert ip['premium']['values'] == {t: pytest.approx(1.1 + i) for i, t in enumerate(TOKS[:4])}
    assert s['intrinsic_skipped']['renyi_efficiency'] == TOKS[:4] and 'renyi_efficiency' not in ip
    assert s['intrinsic_baseline']['decision_accuracy'] == pytest.approx(5 / 6)  # the smallest size ranks 0<1<2<3
    assert 'trained: apertus-tiny model' in open(os.path.join(out, 'report.md')).read()
    (metrics_dir / 'bpe-4k' / f"toy_val_{VAL_SHA[:12]}" / 'metrics.json').unlink()
    out, s = run_scale(tmp_path, **over)
    assert s['intrinsic_missing'] == ['bpe-4k'] and set(s['intrinsic_predictors']) >= {'bytes_per_token'}
    assert 'No metrics of this text for bpe-4k' in open(os.path.join(out, 'report.md')).read()
    # metrics of another bpe-2k (another hash than the runs trained with) are not its predictors
    write_metrics(metrics_dir, 'bpe-2k', predictor_metrics(4.0, 0), tok_hash='another-hash')
    out, s = run_scale(tmp_path, **over)
    assert [x.split()[0] for x in s['intrinsic_stale']] == ['bpe-2k']
    assert 'bpe-2k' not in s['intrinsic_predictors']['premium']['values']
    assert 'unigram-2k' in s['intrinsic_predictors']['premium']['values']  # the same hash: used
    assert "not used (not the runs' tokenizer, or not this code's): bpe-2k" in \
        open(os.path.join(out, 'report.md')).read()


def test_tokenizer_metrics_of_other_code_are_not_predictors(tmp_path):
    """Code is an input of metrics.json too (code_identity 'tokenizer_eval'): metrics computed by
    other tokenizer-eval code, or by code that recorded none, are not used, and the report names
    the files that differ and the command that measures them again."""
    metrics_dir, over = tmp_path / 'tokenizer_eval', intrinsic_grid(tmp_path)
    for i, tok in enumerate(TOKS[:4]):
        write_metrics(metrics_dir, tok, predictor_metrics([4.0, 3.0, 3.5, 2.0][i], i))
    assert run_scale(tmp_path, **over)[1]['intrinsic_stale'] == []
    now = code_identity('tokenizer_eval')
    other = {'sha256': 'f' * 64, 'files': {**now['files'], 'uniscale/premium.py': 'e' * 64}}
    write_metrics(metrics_dir, 'bpe-2k', {**predictor_metrics(4.0, 0), 'code': other})
    path = write_metrics(metrics_dir, 'bpe-4k', predictor_metrics(2.0, 3))
    m = json.loads(path.read_text())
    del m['code']
    path.write_text(json.dumps(m))
    out, s = run_scale(tmp_path, **over)
    stale = dict(x.split(' ', 1) for x in s['intrinsic_stale'])
    assert sorted(stale) == ['bpe-2k', 'bpe-4k']
    assert 'other tokenizer-eval code (uniscale/premium.py differ)' in stale['bpe-2k']
    assert 'records no code' in stale['bpe-4k']
    values = s['intrinsic_predictors']['premium']['values']
    assert 'bpe-2k' not in values and 'bpe-4k' not in values and 'unigram-2k' in values
    report = open(os.path.join(out, 'report.md')).read()
    assert 'uniscale/premium.py differ' in report and '`python tokenizer.py eval CONFIG`' in report


def test_predictors_use_the_studys_corpus_text_not_the_last_evaluated(tmp_path):
    """Row 5: tokenizer.py eval on a second corpus (run last) leaves the first study's predictors as they were: the
    metrics are keyed by (tokenizer hash, text sha256), and the report names the text they are of."""
    metrics_dir, over = tmp_path / 'tokenizer_eval', intrinsic_grid(tmp_path)
    for i, tok in enumerate(TOKS[:4]):
        write_metrics(metrics_dir, tok, predictor_metrics([4.0, 3.0, 3.5, 2.0][i], i))
    first = run_scale(tmp_path, **over)[1]['intrinsic_predictors']['bytes_per_token']
    for i, tok in enumerate(TOKS[:4]):  # another corpus, measured later: the reverse order
        write_metrics(metrics_dir, tok, predictor_metrics([2.0, 3.5, 3.0, 4.0][i], i), corpus='own', sha='ef' * 32)
    out, s = run_scale(tmp_path, **over)
    ip = s['intrinsic_predictors']['bytes_per_token']
    assert ip == first and ip['spearman'] == pytest.approx(1.0)
    assert s['intrinsic_text'] == {'corpus': 'toy', 'split': 'val', 'split_sha256': VAL_SHA,
                                   'corpus_dir': str(tmp_path / 'corpus')}
    assert len(s['intrinsic_files']) == 4 and all(f"toy_val_{VAL_SHA[:12]}" in f for f in s['intrinsic_files'])
    report = open(os.path.join(out, 'report.md')).read()
    assert f"measured on the val split of corpus toy (sha256 {VAL_SHA[:12]})" in report
    # the study's own corpus, measured on 'own' (its val split is that text now): the reversed order, rho -1
    toy_corpus_meta(tmp_path, val_sha='ef' * 32)
    assert run_scale(tmp_path, **over)[1]['intrinsic_predictors']['bytes_per_token']['spearman'] == \
        pytest.approx(-1.0)
    toy_corpus_meta(tmp_path)
    # only measured on the other text: missing, and the report says where it was measured
    (metrics_dir / 'bpe-4k' / f"toy_val_{VAL_SHA[:12]}" / 'metrics.json').unlink()
    out, s = run_scale(tmp_path, **over)
    assert s['intrinsic_missing'] == ['bpe-4k'] and s['intrinsic_other_text'] == {'bpe-4k': [f"own_val_{'ef' * 6}"]}
    assert f"measured on other text only: bpe-4k on own_val_{'ef' * 6}" in open(os.path.join(out, 'report.md')).read()
    # the layout before: {tok}/metrics.json is used only when its hash and text are the study's
    write_metrics(metrics_dir, 'bpe-4k', predictor_metrics(3.0, 1), old_layout=True)
    assert run_scale(tmp_path, **over)[1]['intrinsic_predictors']['bytes_per_token']['spearman'] == \
        pytest.approx(1.0)
    write_metrics(metrics_dir, 'bpe-4k', predictor_metrics(3.0, 1), old_layout=True, sha='12' * 32)
    assert run_scale(tmp_path, **over)[1]['intrinsic_missing'] == ['bpe-4k']
    write_metrics(metrics_dir, 'bpe-4k', predictor_metrics(3.0, 1), old_layout=True, tok_hash='x')
    assert run_scale(tmp_path, **over)[1]['intrinsic_missing'] == ['bpe-4k']
    # the same tokenizer (one hash) copied under another name: its metrics are found by content, not by name
    shutil.rmtree(metrics_dir / 'bpe-4k')
    write_metrics(metrics_dir, 'bpe-4k-copy', predictor_metrics(3.0, 1), tok_hash='bpe-4k-hash')
    s = run_scale(tmp_path, **over)[1]
    assert s['intrinsic_missing'] == [] and s['intrinsic_predictors']['bytes_per_token']['spearman'] == \
        pytest.approx(1.0)
    # without the corpus here, which text is the study's cannot be told: no metrics used, and the report says so
    shutil.rmtree(tmp_path / 'corpus')
    out, s = run_scale(tmp_path, **over)
    assert s['intrinsic_predictors'] == {} and s['intrinsic_text']['split_sha256'] is None
    assert 'whose meta.json is not in' in open(os.path.join(out, 'report.md')).read()


# ---------------------------------------------------------------- A/B
def write_ab_run(runs_dir, tok, seed, bytes_per_token, speed, n_steps=10, fpt=1e6, context_bytes=None, finished=True,
                 block_size=64, preset='gpt2-tiny'):
    d = runs_dir / f"{preset}_{tok}_s{seed}" if context_bytes is None else runs_dir / f"{preset}_{tok}_cb_s{seed}"
    os.makedirs(d)
    cfg = dict(tokenizer=f'out/tokenizers/{tok}', corpus='toy', seed=seed, block_size=block_size, total_steps=n_steps,
               preset=preset)
    if context_bytes is not None:
        cfg['context_bytes'] = context_bytes
    (d / 'config.json').write_text(json.dumps(cfg))
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
    (d / 'eval.json').write_text(json.dumps(dict(
        preset=preset, tokenizer=tok, seed=seed, bpb=3.0 - 2 * speed, n_params_nonembedding=1e5,
        flops_per_token=fpt, finished=finished, step=n_steps, total_steps=n_steps,
        eval_set={**EVAL_SET, 'context': block_size},
        n_tokens=100, n_bytes=300)))
    return str(d)


def run_ab(tmp_path, runs, **over):
    cfg = dict(FAST, command='ab', runs=runs, runs_dir=str(tmp_path / 'runs'), name='ab',
               analysis_dir=str(tmp_path / 'analysis'), tokens_dir=str(tmp_path / 'tokens'))
    return correlate.main({**cfg, **over})


def test_ab_mode_from_two_tiny_logs(tmp_path):
    runs = tmp_path / 'runs'
    a = write_ab_run(runs, 'bpe-4k', 1, 3.0, speed=1.0)
    write_ab_run(runs, 'btm-4k', 1, 4.0, speed=1.5, fpt=2e6)
    side = tmp_path / 'tokens' / 'toy' / 'btm-4k'
    os.makedirs(side)
    (side / 'val.json').write_text(json.dumps(dict(n_tokens=1000, n_docs=10, n_bytes=4200)))
    out, s = run_ab(tmp_path, [a, 'gpt2-tiny_btm-4k_s1'], loss_targets=[3.5], plots=True)
    ra, rb = s['runs']
    assert (ra['steps'], rb['tokenizer'], rb['tokens_per_doc'], rb['bytes_per_token']) == (10, 'btm-4k', 100, 4.2)
    assert ra['bytes_per_token'] == pytest.approx(3.0) and 'log.jsonl' in ra['source']  # no sidecar: from the log
    assert ra['final_val_bpb'] == pytest.approx(1.0) and rb['final_val_bpb'] == pytest.approx(0.0)
    # default bpb target: the worse run's final bpb (1.0): a at step 10; b (3 - 0.3 step, evaluated at even steps)
    # between step 6 (1.2) and 8 (0.6): step 6 + 2 x 0.2 / 0.6 = 20/3, interpolated (the table and the sentence alike)
    reach = {(t['metric'], t['run']): t for t in s['targets']}
    bpe, btm = 'gpt2-tiny_bpe-4k_s1', 'gpt2-tiny_btm-4k_s1'
    assert reach['val_bpb', bpe]['step'] == 10 and reach['val_bpb', btm]['step'] == pytest.approx(20 / 3)
    # val loss 3.5: a (5 - 0.3 step) at step 5, b (5 - 0.45 step) at 10/3; b's training seconds 2 x 20/3
    assert reach['val_loss', bpe]['step'] == pytest.approx(5)
    assert reach['val_loss', btm]['step'] == pytest.approx(10 / 3)
    assert reach['val_bpb', btm]['elapsed_s'] == pytest.approx(40 / 3)
    # equal steps: both end at 10. Equal bytes: a ends at 30,000, where b (4 bytes/token) is at step 7.5 of 10;
    # equal FLOPs: a spent 1e6 x 10,000 = 1e10, where b (2e6 FLOPs/token) is at step 5: b before its schedule ended
    assert s['held_fixed'] == 'bytes' and s['at_equal_bytes'] is None and s['at_equal_flops'] is None
    assert s['at_equal_notes']['bytes'].startswith(f'{btm} at step 7.5 of 10 is before its schedule ended')
    assert s['at_equal_notes']['flops'].startswith(f'{btm} at step 5 of 10 is before its schedule ended')
    assert s['at_equal_steps']['at'] == 10 and s['at_equal_steps']['bpb'][btm] == pytest.approx(0.0)
    assert s['difference'] is None and 'needs 2 or more seeds' in s['difference_note']
    assert s['criterion'].startswith('Is btm-4k below bpe-4k at every evaluation point on every seed (at equal '
                                     'bytes)? **yes**')
    report = open(os.path.join(out, 'report.md')).read()
    assert 'not comparable across tokenizers' in report and '**Held fixed: bytes**' in report
    assert set(s['plots']) == {'val_loss_vs_step.png', 'val_loss_vs_time.png', 'val_bpb_vs_step.png',
                               'val_bpb_vs_time.png', 'val_bpb_vs_bytes.png', 'val_bpb_vs_train_flops.png',
                               'train_loss_vs_step.png'}
    for f in s['plots']:
        assert os.path.getsize(os.path.join(out, f)) > 1000
    assert len(list(csv.DictReader(open(os.path.join(out, 'summary.csv'))))) == 2


def test_ab_difference_over_seeds_equals_welch_and_the_criterion_is_answered(tmp_path):
    runs = tmp_path / 'runs'
    bpe_speed, btm_speed = [1.0, 1.1, 0.95], [1.3, 1.45, 1.2]
    paths = [write_ab_run(runs, 'bpe-4k', s, 3.0, sp) for s, sp in zip((1, 2, 3), bpe_speed)]
    paths += [write_ab_run(runs, 'btm-4k', s, 3.0, sp) for s, sp in zip((1, 2, 3), btm_speed)]
    _, s = run_ab(tmp_path, paths, held_fixed='steps', bpb_targets=[1.2])
    va = [3.0 - 0.2 * 10 * sp for sp in btm_speed]   # val bpb at the common (final) step 10
    vb = [3.0 - 0.2 * 10 * sp for sp in bpe_speed]
    ref = st.ttest_ind(va, vb, equal_var=False)
    d = s['difference']['welch']  # the headline is paired by seed (tests/test_ab_honesty.py); Welch beside it
    assert d['mean'] == pytest.approx(np.mean(va) - np.mean(vb)) and d['p'] == pytest.approx(ref.pvalue)
    assert d['ci'] == pytest.approx(list(ref.confidence_interval(0.95)))
    (c,) = s['comparisons']
    assert c['below_at_every_point'] and c['below_points'] == [15, 15]  # 5 evals after step 0 x 3 seeds
    # val bpb 1.2 is reached where 3 - 0.2 step speed = 1.2: step 9 / speed (interpolated between evaluations)
    steps_btm = [9 / sp for sp in btm_speed]
    assert c['reach']['step']['other'] == pytest.approx(steps_btm)
    ref_steps = st.ttest_ind(steps_btm, [9 / sp for sp in bpe_speed], equal_var=False)
    assert c['reach']['step']['difference']['welch']['p'] == pytest.approx(ref_steps.pvalue)
    assert c['reach']['elapsed_s']['other'] == pytest.approx([2 * x for x in steps_btm])
    assert 'fewer steps? yes' in c['words'] and 'less training time? yes' in c['words']


def test_ab_curve_above_on_one_seed_answers_no(tmp_path):
    runs = tmp_path / 'runs'
    paths = [write_ab_run(runs, 'bpe-4k', s, 3.0, sp) for s, sp in ((1, 1.0), (2, 1.05))]
    paths += [write_ab_run(runs, 'btm-4k', 1, 3.0, 1.2), write_ab_run(runs, 'btm-4k', 2, 3.0, 0.9)]
    _, s = run_ab(tmp_path, paths)
    (c,) = s['comparisons']
    assert not c['below_at_every_point'] and c['below_points'] == [5, 10]
    assert '**no** (5 of 10 points over 2 paired seed(s))' in s['criterion']


def test_ab_arms_split_by_context_mode_when_context_bytes_is_set(tmp_path):
    runs = tmp_path / 'runs'
    paths = [write_ab_run(runs, 'bpe-4k', 1, 3.0, 1.0), write_ab_run(runs, 'btm-4k', 1, 4.0, 1.2),
             write_ab_run(runs, 'bpe-4k', 1, 3.0, 1.0, context_bytes=256),
             write_ab_run(runs, 'btm-4k', 1, 4.0, 1.1, context_bytes=256)]
    _, s = run_ab(tmp_path, paths)
    assert list(s['arms']) == ['bpe-4k context 64 tokens', 'btm-4k context 64 tokens',
                               'bpe-4k context 256 bytes', 'btm-4k context 256 bytes']
    assert [(c['other'], c['base']) for c in s['comparisons']] == [
        ('btm-4k context 64 tokens', 'bpe-4k context 64 tokens'),
        ('btm-4k context 256 bytes', 'bpe-4k context 256 bytes')]


def test_ab_runs_scored_at_their_own_context_share_an_eval_set_but_not_at_another(tmp_path):
    runs = tmp_path / 'runs'
    paths = [write_ab_run(runs, 'bpe-4k', 1, 3.0, 1.0, context_bytes=256, block_size=85),
             write_ab_run(runs, 'btm-4k', 1, 4.0, 1.2, context_bytes=256, block_size=64)]
    _, s = run_ab(tmp_path, paths)  # bpe-4k scored at 85 tokens, btm-4k at 64: each its own block_size
    assert len(s['comparisons']) == 1
    ev_path = os.path.join(paths[0], 'eval.json')
    ev = json.load(open(ev_path))
    json.dump({**ev, 'eval_set': {**EVAL_SET, 'context': 32}}, open(ev_path, 'w'))
    with pytest.raises(SystemExit) as e:  # the study's eval set is at each run's own context: not scored on it
        run_ab(tmp_path, paths)
    assert "bpe-4k_cb_s1: not scored on the study's eval set (" in str(e.value) and 'context=85' in str(e.value)
    assert 'it holds: split=test' in str(e.value) and 'context=32' in str(e.value)
    assert f"score it: python eval_bpb.py --run={paths[0]} (or name the set it holds" in str(e.value)
    ev['results'] = {'x': {**ev, 'eval_id': 'x'}}  # scored at 85 before, at 32 last: the study's entry is read
    json.dump({**ev, 'eval_set': {**EVAL_SET, 'context': 32}}, open(ev_path, 'w'))
    assert len(run_ab(tmp_path, paths)[1]['comparisons']) == 1


def test_ab_refuses_an_unfinished_run_and_allows_leaving_it_out(tmp_path):
    runs = tmp_path / 'runs'
    paths = [write_ab_run(runs, 'bpe-4k', 1, 3.0, 1.0), write_ab_run(runs, 'btm-4k', 1, 4.0, 1.2),
             write_ab_run(runs, 'btm-4k', 2, 4.0, 1.2, finished=False)]
    with pytest.raises(SystemExit, match=r'gpt2-tiny_btm-4k_s2: unfinished'):
        run_ab(tmp_path, paths)
    out, s = run_ab(tmp_path, paths, allow_missing=True)
    assert s['left_out'] == ['gpt2-tiny_btm-4k_s2: unfinished (scored at step 10 of 10)'] and len(s['runs']) == 2
    assert open(os.path.join(out, 'report.md')).read().splitlines()[2].startswith('**Left out (1')


def test_read_log_keeps_the_last_event_of_a_step(tmp_path):
    d = write_ab_run(tmp_path, 'bpe-4k', 1, 3.0, 1.0)
    events = run_folder.read_log(os.path.join(d, 'log.jsonl'))
    assert [e['step'] for e in events] == list(range(11)) and events[2]['train_loss'] != 99.0


# ---------------------------------------------------------------- issue 20: cells are content, not names
def test_scale_refuses_two_tokenizers_of_one_name_pooled_as_seeds(tmp_path):
    """Row 3: another bpe-2k (another hash) swept as seed 3 is not a third seed of bpe-2k."""
    runs = tmp_path / 'runs'
    for si, preset in enumerate(SIZES):
        for i, tok in enumerate(TOKS[:3]):
            for seed in (1, 2, 3):
                h = 'other' if (tok, seed) == ('bpe-2k', 3) else tok
                write_run(runs, tok, preset, seed, 3.0 - 0.5 * si + 0.05 * i, config_extra={'tokenizer_hash': h})
    with pytest.raises(SystemExit) as e:
        run_scale(tmp_path)
    msg = str(e.value)
    assert 'bpe-2k pools runs computed differently' in msg and "tokenizer_hash: 'bpe-2k' -> 'other'" in msg
    assert '_bpe-2k_s3' in msg and '\n' not in msg
    for preset in SIZES:  # the same names, one hash: the analysis runs
        write_run(runs, 'bpe-2k', preset, 3, 3.0, config_extra={'tokenizer_hash': 'bpe-2k'})
    run_scale(tmp_path)


def test_ab_refuses_another_preset_in_an_arm_and_a_copied_seed(tmp_path):
    """Row 4: an apertus run does not join the gpt2 arm; a copied run folder is not another seed."""
    runs = tmp_path / 'runs'
    dirs = [write_ab_run(runs, 'bpe-2k', s, 3.0, speed=1.0) for s in (1, 2)]
    dirs += [write_ab_run(runs, 'btm-2k', s, 3.0, speed=1.2) for s in (1, 2)]
    other = write_ab_run(runs, 'bpe-2k', 3, 3.0, speed=1.0, preset='apertus-mini')
    with pytest.raises(SystemExit) as e:
        run_ab(tmp_path, [str(d) for d in dirs + [other]])
    assert "preset: 'gpt2-tiny' -> 'apertus-mini'" in str(e.value) and 'arm pools seeds of one setting' in str(e.value)
    shutil.copytree(dirs[0], runs / 'copy_of_s1')
    with pytest.raises(SystemExit, match=r'bpe-2k holds seed 1 twice \(gpt2-tiny_bpe-2k_s1, copy_of_s1'):
        run_ab(tmp_path, [str(d) for d in dirs] + [str(runs / 'copy_of_s1')])
    out, s = run_ab(tmp_path, [str(d) for d in dirs])  # the runs of one setting, each seed once
    assert len(s['runs']) == 4


def test_summary_records_what_it_was_computed_from(tmp_path):
    """Row 9: the analysis identity changes with any input file's bytes or a setting, never with file times."""
    synthetic_grid(tmp_path / 'runs', np.random.default_rng(0), toks=TOKS[:3], seeds=(1, 2))
    cfg = dict(FAST, command='scale', runs_dir=str(tmp_path / 'runs'), runs=[], name='s',
               analysis_dir=str(tmp_path / 'analysis'), tokenizer_eval_dir=str(tmp_path / 'tokenizer_eval'))
    _, s = correlate.main(dict(cfg))
    ident = lambda **over: correlate.analysis_identity(correlate.checked_config({**cfg, **over}))['analysis_id']
    assert s['analysis_id'] == ident() and len(s['inputs']) == 3 * len(SIZES) * 2 * 3
    ev = tmp_path / 'runs' / 'apertus-tiny_bpe-2k_s1' / 'eval.json'
    os.utime(ev, (0, 0))
    assert ident() == s['analysis_id']  # a file's time is not its content
    ev.write_text(json.dumps({**json.loads(ev.read_text()), 'bpb': 2.0}))  # re-scored: other content
    assert ident() != s['analysis_id']
    assert ident(n_bootstrap=501) != ident()


def test_ab_token_stats_of_another_tokenizer_under_the_same_name_are_not_used(tmp_path):
    from uniscale.ab_analysis import token_stats
    side = tmp_path / 'toy' / 'btm-4k'
    os.makedirs(side)
    (side / 'val.json').write_text(json.dumps(dict(n_tokens=1000, n_docs=10, n_bytes=4200, tokenizer_hash='h1')))
    events = [dict(step=1, tokens=100, bytes=300)]
    cfg = dict(tokenizer='out/tokenizers/btm-4k', corpus='toy', tokenizer_hash='h1')
    assert token_stats(cfg, events, str(tmp_path), 'val', run_folder.read_json)['bytes_per_token'] == 4.2
    other = token_stats({**cfg, 'tokenizer_hash': 'h2'}, events, str(tmp_path), 'val', run_folder.read_json)
    assert other['bytes_per_token'] == 3.0 and other['source'].startswith('log.jsonl')


def test_tasks_of_an_earlier_run_in_the_folder_are_not_this_runs():
    """eval files accumulate: a task scored on another checkpoint or run identity is left out of the analysis."""
    ev = {'step': 10, 'run_id': 'new', 'tasks': {'mc': {'acc': 0.5, 'step': 10, 'run_id': 'new'},
                                                 'old_mc': {'acc': 0.9, 'step': 10, 'run_id': 'old'},
                                                 'hella': {'acc': 0.3}, 'xnli': {'acc': 0.4}},
          'lm_eval': {'scored': {'hella': 10, 'xnli': 5}, 'scored_run_id': {'hella': 'new', 'xnli': 'new'}}}
    assert set(correlate.current_tasks(ev)) == {'mc', 'hella'}


def test_scale_reports_whether_the_small_ranking_survives_the_lr_scan(tmp_path):
    """sweep.py's lr-scan runs (--lr_scan_runs) are analysed beside the grid, never pooled with it; the ranking at x0.5
    here reverses the two best tokenizers of the grid's lr."""
    runs = tmp_path / 'runs'
    toks, small, scan = TOKS[:5], list(SIZES)[0], []
    for i, tok in enumerate(toks):  # first, as write_run names a folder as the grid's run
        bpb = 3.0 + 0.05 * [1, 0, 2, 3, 4][i] + 0.2  # x0.5: bpe-2k and bpe-4k swap
        d = write_run(runs, tok, small, 1, bpb, config_extra={'lr': 5e-4, 'tokenizer_hash': tok})
        scan.append(str(d.rename(runs / f"{small}_{tok}_s1_lr0.5")))
    for si, preset in enumerate(SIZES):
        for i, tok in enumerate(toks):
            for seed in (1, 2):
                write_run(runs, tok, preset, seed, 3.0 - 0.5 * si + 0.05 * i + 0.001 * seed,
                          config_extra={'lr': 1e-3, 'tokenizer_hash': tok})
    out, s = run_scale(tmp_path, lr_scan_runs=scan)
    lr = s['lr_scan']
    assert lr['multipliers'] == [0.5, 1.0] and lr['flip_rate']['n_flipped'] == 1 and lr['holds'] is False
    assert lr['rankings'][0][:2] == ['bpe-4k', 'bpe-2k'] and lr['rankings'][1][:2] == ['bpe-2k', 'bpe-4k']
    assert s['n_runs'] == len(SIZES) * len(toks) * 2  # the scan runs are not cells of the grid
    report = open(os.path.join(out, 'report.md')).read()
    assert '## Does the ranking survive the learning rate?' in report


def test_a_second_analysis_of_one_name_refuses_while_the_first_writes(tmp_path):
    """One writer per analysis folder: while another process holds it, correlate.py refuses in one line naming the
    holder and writes nothing there; once it is gone the analysis is written (summary.json last)."""
    synthetic_grid(tmp_path / 'runs', np.random.default_rng(0), toks=TOKS[:3], seeds=(1, 2))
    out = tmp_path / 'analysis' / 's'
    with held_elsewhere(out, 'analysis') as pid:
        with pytest.raises(SystemExit) as e:
            run_scale(tmp_path)
        msg = str(e.value)
        assert '\n' not in msg and f'pid {pid}' in msg and 'being written' in msg
        assert sorted(os.listdir(out)) == ['.lock', '.lock.owner']  # the holder's; nothing of this analysis
    out_dir, s = run_scale(tmp_path)
    assert json.loads((out / 'summary.json').read_text())['analysis_id'] == s['analysis_id']
    assert {'report.md', 'summary.csv'} <= set(os.listdir(out)) and not os.path.exists(out / '.lock.owner')
