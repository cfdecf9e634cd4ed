"""correlate.py ab against independent computations (issue 21): the difference paired by seed (scipy's paired t,
Wilcoxon and sign tests, Welch beside it), equal-steps/FLOPs views that never read a run before its schedule ended,
the run's mean tok/s, and steps/bytes/time to a target given alike by the table and the sentence.
Issue 28: N arms, each paired by seed with the baseline, Holm's correction across them (against
a naive Holm and scipy's tests)."""
import itertools
import json
import os

import numpy as np
import pytest
import scipy.stats as st

import correlate
from uniscale.ab_analysis import fewer, signed_rank_p

EVAL_SET = dict(corpus='toy', split='test', split_sha256='cd' * 32, n_docs=10, max_docs_per_lang=0, context=64,
                overlap=0)
TPS = 1000  # tokens per step


def write_run(runs_dir, tok, seed, curve, n_steps, bpt=3.0, fpt=1e6, budget=None, elapsed=lambda s: 0.5 * s,
              eval_every=1, context_bytes=0):
    """A finished run: val bpb = curve(step, n_steps) at every eval_every steps and at the last; bytes = tokens x
    bpt; config.json says the budget (bytes, or max_steps when budget is None) and context_bytes
    (block_size 64 all the same: each run is scored at its own context). Returns the folder."""
    d = runs_dir / f"gpt2-tiny_{tok}{'_cb' if context_bytes else ''}_s{seed}"
    os.makedirs(d)
    cfg = dict(tokenizer=f'out/tokenizers/{tok}', corpus='toy', seed=seed, block_size=64, total_steps=n_steps,
               preset='gpt2-tiny', schedule='wsd', budget=budget or 0.0, budget_unit='bytes',
               max_steps=0 if budget else n_steps, context_bytes=context_bytes)
    (d / 'config.json').write_text(json.dumps(cfg))
    lines = []
    for step in range(n_steps + 1):
        ev = dict(step=step, tokens=step * TPS, bytes=round(step * TPS * bpt), elapsed_s=elapsed(step), lr=1e-3)
        if step:  # what train.py logs: the rate of the last interval only
            ev.update(train_loss=4.0, tok_per_s=TPS / (elapsed(step) - elapsed(step - 1)))
        if step % eval_every == 0 or step == n_steps:
            ev.update(val_loss=2 * curve(step, n_steps), val_bpb=curve(step, n_steps))
        lines.append(json.dumps(ev))
    (d / 'log.jsonl').write_text('\n'.join(lines) + '\n')
    (d / 'eval.json').write_text(json.dumps(dict(
        preset='gpt2-tiny', tokenizer=tok, seed=seed, bpb=curve(n_steps, n_steps), n_params_nonembedding=1e5,
        flops_per_token=fpt, finished=True, step=n_steps, total_steps=n_steps, eval_set=EVAL_SET)))
    return str(d)


def run_ab(tmp_path, runs, **over):
    cfg = dict(command='ab', runs=runs, runs_dir=str(tmp_path / 'runs'), name='ab', plots=False,
               analysis_dir=str(tmp_path / 'analysis'), tokens_dir=str(tmp_path / 'tokens'))
    out, s = correlate.main({**cfg, **over})
    return s, open(os.path.join(out, 'report.md')).read()


def decaying(level, n_end=None):
    """A curve that falls slowly, then drops 0.3 over the last 20% of the schedule (the learning-rate decay)."""
    def f(step, n):
        return level - 0.02 * step - 0.3 * min(1.0, max(0.0, (step - 0.8 * n) / (0.2 * n)))
    return f


# ---------------------------------------------------------------- item 4: paired by seed
SEED_EFFECT = {1: -0.11, 2: 0.0, 3: 0.11}     # seed effects larger than the 0.10 the arms differ by
PAIR_NOISE = {1: 0.004, 2: -0.003, 3: 0.001}  # so the paired differences are not all identical


def paired_runs(runs, seeds_bpe=(1, 2, 3), seeds_btm=(1, 2, 3)):
    effect = lambda s: SEED_EFFECT.get(s, 0.05 * s)
    paths = [write_run(runs, 'bpe', s, decaying(3.0 + effect(s)), 10) for s in seeds_bpe]
    paths += [write_run(runs, 'btm', s, decaying(2.9 + effect(s) + PAIR_NOISE.get(s, 0.002 * s)), 10)
              for s in seeds_btm]
    return paths


def finals(seeds, level):  # val bpb at the end of the 10-step schedule: level - 0.02 x 10 - 0.3
    return [level + SEED_EFFECT.get(s, 0.05 * s) - 0.5 for s in seeds]


def test_a_paired_effect_welch_cannot_see(tmp_path):
    s, report = run_ab(tmp_path, paired_runs(tmp_path / 'runs'))
    bpe = finals((1, 2, 3), 3.0)
    btm = [v + PAIR_NOISE[k] for v, k in zip(finals((1, 2, 3), 2.9), (1, 2, 3))]
    d, ref, ref_w = s['difference'], st.ttest_rel(btm, bpe), st.ttest_ind(btm, bpe, equal_var=False)
    assert d['paired'] and d['n_pairs'] == 3 and d['seeds'] == [1, 2, 3] and d['unpaired'] == []
    assert d['mean'] == pytest.approx(np.mean(np.subtract(btm, bpe))) and d['p'] == pytest.approx(ref.pvalue)
    assert d['ci'] == pytest.approx(list(ref.confidence_interval(0.95))) and d['df'] == 2
    assert d['sd'] == pytest.approx(np.std(np.subtract(btm, bpe), ddof=1))
    assert d['p'] < 1e-3 and d['ci'][1] < 0                    # the pairing finds it...
    assert d['welch']['p'] == pytest.approx(ref_w.pvalue) and d['welch']['p'] > 0.2  # ...Welch does not
    assert d['welch']['ci'] == pytest.approx(list(ref_w.confidence_interval(0.95)))
    diffs = np.subtract(btm, bpe)
    assert d['wilcoxon_p'] == pytest.approx(st.wilcoxon(diffs, method='exact').pvalue)
    assert d['sign_p'] == pytest.approx(st.binomtest(0, 3).pvalue)
    assert d['wilcoxon_p'] == d['sign_p'] == d['smallest_rank_p'] == 0.25  # all 3 negative: 2 / 2^3, by hand
    (c,) = s['comparisons']
    assert c['difference'] == d and c['values'] == {'other': pytest.approx(btm), 'base': pytest.approx(bpe)}
    assert f"{d['mean']:+.4f} bpb" in report and 'paired t-test over seeds' in report
    assert 'with 3 pairs neither can go below 0.250' in report and f"p = {d['welch']['p']:.3f}" in report


def test_unpaired_seeds_are_left_out_of_the_paired_test_and_listed(tmp_path):
    runs = tmp_path / 'runs'
    s, report = run_ab(tmp_path, paired_runs(runs, seeds_bpe=(1, 2, 3, 5), seeds_btm=(1, 2, 3, 4)))
    d = s['difference']
    bpe = finals((1, 2, 3, 5), 3.0)
    btm = [v + PAIR_NOISE.get(k, 0.002 * k) for v, k in zip(finals((1, 2, 3, 4), 2.9), (1, 2, 3, 4))]
    ref = st.ttest_rel(btm[:3], bpe[:3])
    assert d['paired'] and d['n_pairs'] == 3 and d['p'] == pytest.approx(ref.pvalue)
    assert d['unpaired'] == ['gpt2-tiny_btm_s4 (seed 4: not in the other arm)',
                             'gpt2-tiny_bpe_s5 (seed 5: not in the other arm)']
    assert d['welch']['p'] == pytest.approx(st.ttest_ind(btm, bpe, equal_var=False).pvalue)  # every run
    assert d['welch']['n'] == [4, 4] and 'Unpaired, left out of the paired test: gpt2-tiny_btm_s4' in report


def test_one_seed_pair_falls_back_to_welch_and_says_so(tmp_path):
    s, report = run_ab(tmp_path, paired_runs(tmp_path / 'runs', seeds_bpe=(1, 2), seeds_btm=(1, 3)))
    d = s['difference']
    bpe, btm = finals((1, 2), 3.0), [v + PAIR_NOISE[k] for v, k in zip(finals((1, 3), 2.9), (1, 3))]
    assert not d['paired'] and d['n_pairs'] == 1 and 'wilcoxon_p' not in d and d['seeds'] == [1]
    assert d['p'] == pytest.approx(st.ttest_ind(btm, bpe, equal_var=False).pvalue) and d['welch']['p'] == d['p']
    assert 'fewer than 2 seed pairs, so not paired' in report


def naive_signed_rank_p(d):
    """Every one of the 2^n sign assignments, one at a time, with mid-ranks for ties."""
    ranks = st.rankdata([abs(x) for x in d])
    centre, observed = sum(ranks) / 2, sum(r for r, x in zip(ranks, d) if x > 0)
    hits = [abs(sum(r for r, s in zip(ranks, signs) if s) - centre) >= abs(observed - centre) - 1e-9
            for signs in itertools.product((0, 1), repeat=len(d))]
    return sum(hits) / len(hits)


def test_signed_rank_p_equals_scipy_without_ties_and_enumeration_with_them():
    rng = np.random.default_rng(0)
    for n in (2, 3, 5, 8, 11):
        d = rng.normal(0.3, 1.0, n)
        assert signed_rank_p(d) == pytest.approx(st.wilcoxon(d, method='exact').pvalue, abs=1e-12)
        assert signed_rank_p(d) == pytest.approx(naive_signed_rank_p(d), abs=1e-12)
    for d in ([1, 1, -1, 2, 2, -3], [-0.1, -0.1, 0.05], [2, 2, 2, -2]):  # ties: scipy's exact table assumes none
        assert signed_rank_p(d) == pytest.approx(naive_signed_rank_p(d), abs=1e-12)
    assert signed_rank_p([1, 1, -1, 2, 2, -3]) == pytest.approx(40 / 64)  # 40 of the 64 sign assignments


# ---------------------------------------------------------------- item 5: no view read mid-decay
def budget_runs(runs, seeds=(1, 2, 3)):
    """A bytes budget of 42,000: bpe (2.8 bytes/token) takes 15 steps to 42,000 bytes; btm (3.1) takes
    ceil(42,000 / 3,100) = 14 steps to 43,400 bytes, 13.55 steps at 42,000: inside its last step."""
    paths = [write_run(runs, 'bpe', s, decaying(3.0 + 0.1 * s), 15, bpt=2.8, budget=42_000) for s in seeds]
    paths += [write_run(runs, 'btm', s, decaying(2.95 + 0.1 * s), 14, bpt=3.1, budget=42_000) for s in seeds]
    return paths


def test_equal_steps_and_flops_are_not_read_before_a_schedule_ended(tmp_path):
    paths = budget_runs(tmp_path / 'runs')
    s, report = run_ab(tmp_path, paths)
    bpe_end = [3.0 + 0.1 * k - 0.02 * 15 - 0.3 for k in (1, 2, 3)]  # each run's final val bpb, by hand
    btm_end = [2.95 + 0.1 * k - 0.02 * 14 - 0.3 for k in (1, 2, 3)]
    eq = s['at_equal_bytes']
    assert eq['at'] == 42_000 and eq['ends']['gpt2-tiny_btm_s1'] == 43_400
    assert [eq['bpb'][f'gpt2-tiny_{t}_s{k}'] for t in ('btm', 'bpe') for k in (1, 2, 3)] == pytest.approx(
        btm_end + bpe_end)
    d = s['difference']
    # every pair differs by the same 0.07 (to rounding): no t-test (it gave p = 2e-29): sign test
    assert d['paired'] and d['zero_variance'] and d['ci'] is None
    assert d['p'] == st.binomtest(0, 3).pvalue
    assert d['mean'] == pytest.approx(np.mean(np.subtract(btm_end, bpe_end)))
    # equal steps: bpe at step 14 of 15 is before its decay ended (the old code read it there: 0.075 bpb higher)
    assert s['at_equal_steps'] is None and s['at_equal_flops'] is None and s['at_equal_notes']['bytes'] is None
    assert s['at_equal_notes']['steps'] == ('gpt2-tiny_bpe_s1 at step 14 of 15 is before its schedule ended: not '
                                            'comparable at equal steps (the runs end at 14 to 15 steps; their '
                                            'budgets are set in bytes)')
    assert s['at_equal_notes']['flops'].startswith('gpt2-tiny_bpe_s1 at step 14 of 15 is before its schedule')
    assert all(r['at_equal_steps'] is None and r['at_equal_flops'] is None for r in s['runs'])
    assert '| equal steps | - | no: gpt2-tiny_bpe_s1 at step 14 of 15 is before its schedule ended' in report
    s2, report2 = run_ab(tmp_path, paths, held_fixed='steps')  # the headline there
    assert s2['difference'] is None and s2['comparisons'][0]['values']['other'] == [None] * 3
    assert s2['difference_note'].startswith('gpt2-tiny_bpe_s1 at step 14 of 15 is before its schedule ended: not '
                                            'comparable at equal steps') and 'seeds' not in s2['difference_note']
    assert '**btm − bpe** at equal steps: not given (gpt2-tiny_bpe_s1 at step 14 of 15 is before' in report2


def test_runs_whose_schedules_are_set_in_steps_are_compared_at_equal_steps_and_flops(tmp_path):
    runs = tmp_path / 'runs'
    paths = [write_run(runs, 'bpe', k, decaying(3.0 + 0.1 * k), 12, bpt=2.8) for k in (1, 2)]
    paths += [write_run(runs, 'btm', k, decaying(2.9 + 0.103 * k), 12, bpt=3.1, fpt=1.5e6) for k in (1, 2)]
    s, _ = run_ab(tmp_path, paths, held_fixed='steps')
    end = lambda level, k: level + 0.1 * k - 0.02 * 12 - 0.3
    assert s['at_equal_steps']['at'] == 12 and s['at_equal_notes']['steps'] is None
    assert s['at_equal_steps']['bpb']['gpt2-tiny_btm_s2'] == pytest.approx(end(2.906, 2))
    assert s['at_equal_flops'] is None  # btm's head costs 1.5x: at bpe's final FLOPs it is at step 8 of 12
    assert s['at_equal_notes']['flops'].startswith('gpt2-tiny_btm_s1 at step 8 of 12 is before its schedule ended')
    assert s['at_equal_bytes'] is None  # at bpe's 33,600 bytes btm (3.1 bytes/token) is at step 10.8 of 12
    assert s['at_equal_notes']['bytes'].startswith('gpt2-tiny_btm_s1 at step 10.8 of 12 is before its schedule')
    assert s['at_equal_notes']['bytes'].endswith('their budgets are set in steps (max_steps))')
    ref = st.ttest_rel([end(2.903, 1), end(2.906, 2)], [end(3.0, 1), end(3.0, 2)])
    assert s['difference']['p'] == pytest.approx(ref.pvalue) and s['difference']['n_pairs'] == 2


# ---------------------------------------------------------------- item 8: tok/s, the target, both axes
def test_tok_per_s_is_the_run_mean_not_the_last_interval(tmp_path):
    runs = tmp_path / 'runs'
    slow_start = lambda step: 0.1 * step ** 1.5   # the steps get slower: the last interval is not the mean
    paths = [write_run(runs, 'bpe', 1, decaying(3.0), 10, elapsed=slow_start),
             write_run(runs, 'btm', 1, decaying(2.9), 10, elapsed=slow_start)]
    s, report = run_ab(tmp_path, paths)
    mean = 10 * TPS / (0.1 * 10 ** 1.5)             # 10,000 tokens in 3.162 s
    last = TPS / (0.1 * (10 ** 1.5 - 9 ** 1.5))     # what the log's last event says
    assert abs(mean - last) > 500
    assert [r['tok_per_s'] for r in s['runs']] == pytest.approx([mean, mean])
    assert f"| {mean:.0f} |" in report and f"| {last:.0f} |" not in report and 'tok/s (mean)' in report


def linear(level, per_step):
    return lambda step, n: level - per_step * step


def test_target_table_and_sentence_give_the_same_numbers_on_both_axes(tmp_path):
    """btm packs 4 bytes in a token (bpe 3) and learns 0.25 bpb a step (bpe 0.20): it reaches the target in fewer
    steps but after more bytes (0.0625 vs 0.0667 bpb per 1,000 bytes). Linear curves: interpolation is exact."""
    runs, target = tmp_path / 'runs', 1.5
    level = {1: 3.0, 2: 3.05, 3: 2.97}
    btm_rate = {1: 0.25, 2: 0.252, 3: 0.249}
    paths = [write_run(runs, 'bpe', k, linear(level[k], 0.2), 12, bpt=3.0, eval_every=4) for k in (1, 2, 3)]
    paths += [write_run(runs, 'btm', k, linear(level[k], btm_rate[k]), 12, bpt=4.0, eval_every=4)
              for k in (1, 2, 3)]
    s, report = run_ab(tmp_path, paths, held_fixed='steps', bpb_targets=[target])
    step = {('bpe', k): (level[k] - target) / 0.2 for k in (1, 2, 3)}
    step.update({('btm', k): (level[k] - target) / btm_rate[k] for k in (1, 2, 3)})
    bpt = {'bpe': 3.0, 'btm': 4.0}
    rows = {t['run']: t for t in s['targets']}
    for (tok, k), x in step.items():
        row = rows[f'gpt2-tiny_{tok}_s{k}']
        assert (row['step'], row['bytes'], row['elapsed_s']) == pytest.approx((x, x * TPS * bpt[tok], 0.5 * x))
    mean_steps = {t: np.mean([step[t, k] for k in (1, 2, 3)]) for t in bpt}
    mean_bytes = {t: round(mean_steps[t] * TPS * bpt[t]) for t in bpt}
    means = {m['arm']: m for m in s['target_means'] if m['metric'] == 'val_bpb'}
    assert means['btm']['step'] == pytest.approx(mean_steps['btm']) and means['bpe']['n_runs'] == 3
    (c,) = s['comparisons']
    assert c['reach']['step']['mean'] == pytest.approx([mean_steps['btm'], mean_steps['bpe']])
    ref = st.ttest_rel([step['btm', k] for k in (1, 2, 3)], [step['bpe', k] for k in (1, 2, 3)])
    assert c['reach']['step']['difference']['p'] == pytest.approx(ref.pvalue)
    both = (f"On average btm reaches it in fewer steps ({mean_steps['btm']:.1f} vs {mean_steps['bpe']:.1f}) but "
            f"after more bytes of text ({mean_bytes['btm']:,} vs {mean_bytes['bpe']:,}).")
    assert both in c['words'] and 'in fewer steps? yes (' in c['words'] and 'After fewer bytes of text? no, more (' \
        in c['words']
    # the table's arm rows are the sentence's numbers
    assert (f"| val_bpb | 1.5000 | **mean of btm** (3 runs) | {mean_steps['btm']:.1f} | {0.5 * mean_steps['btm']:.1f} "
            f"| {mean_bytes['btm']:,} |") in report
    assert f"{mean_steps['btm']:.1f} vs {mean_steps['bpe']:.1f}; paired difference" in report


def test_fewer_says_yes_or_no_only_where_the_interval_excludes_zero():
    d = lambda lo, hi, mean: {'mean': mean, 'ci': [lo, hi], 'p': 0.01, 'paired': True}
    assert fewer({'mean': [10.0, 12.0], 'difference': d(-3, -1, -2)}).startswith('yes (10.0 vs 12.0; paired')
    assert fewer({'mean': [12.0, 10.0], 'difference': d(1, 3, 2)}).startswith('no, more (12.0 vs 10.0')
    assert fewer({'mean': [10.0, 12.0], 'difference': d(-5, 1, -2)}).startswith(
        'not resolved: fewer on average and the 95% interval includes 0 (10.0 vs 12.0')
    assert fewer({'mean': [10.0, 12.0], 'difference': None}).endswith('too few runs for a test, no interval)')
    assert fewer({'other': [None], 'base': [3.0], 'difference': None}).startswith('not answerable')



# ------------------------------------------------------------ issue 28: N arms, Holm across arms
def ending_at(final):
    """decaying()'s shape, ending at val bpb `final` whatever the schedule's length."""
    def f(step, n):
        decayed = min(1.0, max(0.0, (step - 0.8 * n) / (0.2 * n)))
        return final + 0.02 * (n - step) + 0.3 * (1 - decayed)
    return f


ARM_DELTA = {'btm': {1: -0.100, 2: -0.104, 3: -0.097},  # clearly lower: raw and Holm p tiny
             'sup': {1: -0.020, 2: -0.035, 3: -0.020},  # raw p 0.038, Holm (2nd of 3) 0.075
             'bnd': {2: 0.010, 3: 0.030}}               # no seed 1: paired over seeds 2 and 3
ARM_BPT = {'bpe': 2.8, 'btm': 3.1, 'sup': 3.5, 'bnd': 3.0}
ARM_STEPS = {'bpe': 15, 'btm': 14, 'sup': 12, 'bnd': 14}  # to 42,000 bytes, within the last step


def final_bpb(tok, seed):
    return 2.5 + SEED_EFFECT[seed] + ARM_DELTA.get(tok, {}).get(seed, 0.0)


def arm_run(runs, tok, seed, final, context_bytes=0):
    return write_run(runs, tok, seed, ending_at(final), ARM_STEPS[tok], bpt=ARM_BPT[tok],
                     budget=42_000, context_bytes=context_bytes)


def four_arms(runs):
    seeds = {'bpe': (1, 2, 3), 'btm': (1, 2, 3), 'sup': (1, 2, 3), 'bnd': (2, 3)}
    return [arm_run(runs, tok, k, final_bpb(tok, k)) for tok in seeds for k in seeds[tok]]


def naive_holm(ps):
    """Holm's adjusted p from its definition: for the i-th smallest, the largest (m - j) p_(j)
    over j <= i, capped at 1."""
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    out = [0.0] * len(ps)
    for rank, i in enumerate(order):
        out[i] = min(1.0, max((len(ps) - j) * ps[order[j]] for j in range(rank + 1)))
    return out


def holm_rejects(ps, alpha):
    """The step-down procedure itself: reject while the j-th smallest p is <= alpha / (m - j)."""
    rejected = set()
    for j, i in enumerate(sorted(range(len(ps)), key=lambda i: ps[i])):
        if ps[i] > alpha / (len(ps) - j):
            break
        rejected.add(i)
    return rejected


def test_holm_is_the_step_down_procedure_at_every_level():
    from uniscale.rank_stats import holm  # what ab_analysis adjusts with
    rng = np.random.default_rng(1)
    for m in (1, 2, 3, 4, 7):
        for _ in range(20):
            ps = list(rng.uniform(0, 0.2, m)) + ([0.03, 0.03] if m > 3 else [])  # ties too
            adjusted = holm(ps)
            assert adjusted == pytest.approx(naive_holm(ps), abs=1e-15)
            for alpha in (0.001, 0.01, 0.02, 0.05, 0.1):
                assert {i for i, p in enumerate(adjusted) if p <= alpha} == holm_rejects(ps, alpha)


def test_each_arm_is_paired_by_seed_with_the_baseline_and_holm_runs_across_arms(tmp_path):
    s, report = run_ab(tmp_path, four_arms(tmp_path / 'runs'), bpb_targets=[2.65])  # all reach it
    cmp = {c['other']: c for c in s['comparisons']}
    assert s['base_tokenizer'] == 'bpe' and list(cmp) == ['btm', 'sup', 'bnd']
    assert s['not_compared'] == []
    raw = {}
    for tok, c in cmp.items():
        seeds = sorted(ARM_DELTA[tok])
        ref = st.ttest_rel([final_bpb(tok, k) for k in seeds], [final_bpb('bpe', k) for k in seeds])
        d = c['difference']
        assert d['paired'] and d['seeds'] == seeds and d['p'] == pytest.approx(ref.pvalue, rel=1e-9)
        assert d['mean'] == pytest.approx(np.mean([ARM_DELTA[tok][k] for k in seeds]))
        raw[tok] = d['p']
    assert cmp['bnd']['difference']['unpaired'] == [
        'gpt2-tiny_bpe_s1 (seed 1: not in the other arm)']
    assert cmp['btm']['difference']['unpaired'] == []  # one arm's missing seed: the others keep 3
    for tok, adj in zip(raw, naive_holm(list(raw.values()))):
        assert cmp[tok]['difference']['p_holm'] == pytest.approx(adj, rel=1e-12)
        assert cmp[tok]['difference']['holm_m'] == 3
    assert raw['sup'] < 0.05 < cmp['sup']['difference']['p_holm']  # the correction changes its word
    assert cmp['btm']['verdict'].startswith(
        'lower val bpb than bpe at equal bytes: -0.1003 bpb, Holm-adjusted p')
    assert cmp['sup']['verdict'].startswith('not resolved at equal bytes (lower on average')
    assert cmp['bnd']['verdict'].startswith('not resolved')
    assert cmp['bnd']['verdict'].endswith('paired t over 2 seeds; 1 run(s) without a pair left out')
    # btm's bytes to the target: raw p 0.030, Holm 0.089 over 3 arms: its own interval is not enough
    assert ("After fewer bytes of text? not resolved after Holm's correction over 3 arms: fewer on "
            "average") in cmp['btm']['words']
    for x in ('step', 'bytes', 'elapsed_s'):  # steps, bytes and time to the target: a family each
        ds = [cmp[t]['reach'][x]['difference'] for t in cmp]
        assert [d['p_holm'] for d in ds] == pytest.approx(naive_holm([d['p'] for d in ds]),
                                                          rel=1e-12)
    rows = {r['arm']: r for r in s['arm_table']}
    for tok in ('bpe', 'btm', 'sup', 'bnd'):
        finals = [final_bpb(tok, k) for k in sorted(ARM_DELTA.get(tok, SEED_EFFECT))]
        assert rows[tok]['tokens_per_byte'] == pytest.approx(1 / ARM_BPT[tok])
        assert rows[tok]['bpb_at_equal'] == pytest.approx(np.mean(finals))
        assert rows[tok]['n_runs'] == len(finals)
    # bpe s1 (final 2.39 at step 15): 2.39 + 0.06 + 0.3 = 2.75 at step 12, 2.39 + 0.04 + 0.2 at 13
    run = next(t for t in s['targets']
               if (t['run'], t['metric']) == ('gpt2-tiny_bpe_s1', 'val_bpb'))
    assert run['step'] == pytest.approx(12 + (2.75 - 2.65) / (2.75 - 2.63))
    means = {m['arm']: m for m in s['target_means'] if m['metric'] == 'val_bpb'}
    for tok in rows:
        for x in ('step', 'bytes', 'elapsed_s'):
            assert rows[tok][f'{x}_to_target'] == pytest.approx(means[tok][x])
    assert rows['bpe']['role'] == 'baseline'
    assert rows['sup']['p_holm'] == cmp['sup']['difference']['p_holm']
    assert '## Arms' in report and f"- **sup**: {cmp['sup']['verdict']}." in report
    assert f"Holm p = {cmp['sup']['difference']['p_holm']:.3f} over 3 comparisons" in report


def test_a_two_arm_ab_is_holm_over_one_comparison(tmp_path):
    s, report = run_ab(tmp_path, paired_runs(tmp_path / 'runs'))
    d, (c,) = s['difference'], s['comparisons']
    assert d['p_holm'] == d['p'] and d['holm_m'] == 1 and 'Holm p =' not in report
    assert c['verdict'].startswith('lower val bpb than bpe at equal bytes')
    assert '(one comparison)' in c['verdict']


def test_the_baseline_is_named_or_the_first_runs_tokenizer(tmp_path):
    paths = four_arms(tmp_path / 'runs')
    s, _ = run_ab(tmp_path, paths[3:] + paths[:3])  # btm's runs first: the baseline unless named
    assert s['base_tokenizer'] == 'btm'
    s, _ = run_ab(tmp_path, paths[3:] + paths[:3], base_tokenizer='bpe')
    assert s['base_tokenizer'] == 'bpe'
    assert [c['other'] for c in s['comparisons']] == ['btm', 'sup', 'bnd']
    with pytest.raises(SystemExit) as e:
        run_ab(tmp_path, paths, base_tokenizer='no-such-tokenizer')
    assert str(e.value).startswith(
        "correlate.py ab: base_tokenizer='no-such-tokenizer' is no run's tokenizer")


def test_an_arm_scored_on_another_eval_set_is_refused_in_one_line(tmp_path):
    paths = four_arms(tmp_path / 'runs')
    for p in paths[6:9]:  # sup's runs scored on 11 documents, the others on 10
        path = os.path.join(p, 'eval.json')
        ev = json.load(open(path))
        json.dump({**ev, 'eval_set': {**EVAL_SET, 'n_docs': 11}}, open(path, 'w'))
    with pytest.raises(SystemExit) as e:
        run_ab(tmp_path, paths)
    msg = str(e.value)
    assert '\n' not in msg
    assert msg.startswith('correlate.py ab: runs were scored on different evaluation sets')
    assert 'n_docs' in msg and 'gpt2-tiny_sup_s1' in msg and 'eval_bpb.py' in msg


CB_SHIFT = {1: 0.05, 2: -0.04, 3: 0.02}  # the byte-context runs' offset per seed (btm's: 0.01 less)


def context_final(tok, seed, cb):
    return final_bpb(tok, seed) + (CB_SHIFT[seed] - 0.01 * (tok == 'btm') if cb else 0.0)


def test_equal_bytes_and_equal_context_arms_are_each_compared_within_their_context_mode(tmp_path):
    """Three tokenizers at a context of 64 tokens and at 256 bytes (context_bytes): pairing a
    byte-context arm with the token-context baseline would give other numbers."""
    runs, seeds = tmp_path / 'runs', (1, 2, 3)
    paths = [arm_run(runs, tok, k, context_final(tok, k, cb), context_bytes=cb)
             for cb in (0, 256) for tok in ('bpe', 'btm', 'sup') for k in seeds]
    s, report = run_ab(tmp_path, paths)
    tokens, nbytes = 'context 64 tokens', 'context 256 bytes'
    assert [(c['other'], c['base']) for c in s['comparisons']] == [
        (f'btm {tokens}', f'bpe {tokens}'), (f'sup {tokens}', f'bpe {tokens}'),
        (f'btm {nbytes}', f'bpe {nbytes}'), (f'sup {nbytes}', f'bpe {nbytes}')]
    raw = []
    for c in s['comparisons']:
        tok, cb = c['other'].split()[0], 256 * ('bytes' in c['other'])
        other = [context_final(tok, k, cb) for k in seeds]
        base = [context_final('bpe', k, cb) for k in seeds]
        assert c['difference']['p'] == pytest.approx(st.ttest_rel(other, base).pvalue, rel=1e-9)
        assert c['difference']['mean'] == pytest.approx(np.mean(np.subtract(other, base)))
        raw.append(c['difference']['p'])
    holm_p = [c['difference']['p_holm'] for c in s['comparisons']]
    assert holm_p == pytest.approx(naive_holm(raw), rel=1e-12)
    assert {c['difference']['holm_m'] for c in s['comparisons']} == {4}  # one family, both modes
    assert len(s['arm_table']) == 6 and s['at_equal_bytes']['at'] == 42_000
    assert f'| btm {nbytes} | vs bpe |' in report
    s, report = run_ab(tmp_path, paths[:9] + paths[12:])  # no baseline at 256 bytes: not compared
    assert [c['other'] for c in s['comparisons']] == [f'btm {tokens}', f'sup {tokens}']
    assert s['not_compared'] == [f'{t} {nbytes}: no run of the baseline bpe with {nbytes}'
                                 for t in ('btm', 'sup')]
    assert f'- not compared: btm {nbytes}: no run of the baseline bpe' in report


# ------------------------------------------------------------ issue 29 row 8: zero-variance pairs
def same_gap_runs(runs, seeds, gap=-0.1):
    """Both arms at every seed, btm below bpe by the same `gap` at every seed (to rounding)."""
    effect = {s: 0.03 * s for s in seeds}
    return ([write_run(runs, 'bpe', s, decaying(3.0 + effect[s]), 10) for s in seeds]
            + [write_run(runs, 'btm', s, decaying(3.0 + gap + effect[s]), 10) for s in seeds])


def test_identical_pair_differences_give_no_t_p_value_and_no_interval(tmp_path):
    # the case: 2 pairs, each differing by exactly 0.1: the t-test printed p = 0, zero width
    s, report = run_ab(tmp_path, same_gap_runs(tmp_path / 'runs', (1, 2)))
    d = s['difference']
    assert d['paired'] and d['n_pairs'] == 2 and d['zero_variance']
    assert d['ci'] is None and d['t_p'] is None and d['mean'] == pytest.approx(-0.1)
    assert d['p'] == d['sign_p'] == pytest.approx(st.binomtest(0, 2).pvalue) == 0.5  # the sign test
    (c,) = s['comparisons']
    assert c['verdict'].startswith(
        'not resolved at equal bytes (lower on average; the p is not below 0.05)')
    assert ('every pair differs by exactly -0.1: the paired t-test is undefined with zero variance'
            in report)
    assert 'with 2 pairs the exact sign test cannot go below 2/2^2 = 0.500' in report
    w = st.ttest_ind(*c['values'].values(), equal_var=False)  # across seeds the arms do vary
    assert d['welch']['p'] == pytest.approx(w.pvalue) and f"p = {w.pvalue:.3f}." in report
    assert 'p = 0.000' not in report and 'CI [' not in report


def test_identical_pair_differences_resolve_only_through_the_sign_test():
    from uniscale.ab_analysis import paired, welch
    x = [3.0 + 0.03 * k for k in range(6)]
    d = paired([v - 0.1 for v in x], x)  # 6 pairs, all -0.1: the sign test reaches 2/2^6 = 0.031
    assert d['zero_variance'] and d['ci'] is None
    assert d['p'] == pytest.approx(st.binomtest(0, 6).pvalue)
    assert d['p'] == pytest.approx(2 / 2 ** 6) and 'cannot go below 2/2^6 = 0.031' in d['why']
    z = paired(x, x)  # no difference at all: no sign to count, no p-value at all
    assert z['zero_variance'] and z['p'] is None and z['ci'] is None
    w = welch([2.9, 2.9, 2.9], [3.0, 3.0])  # both arms constant: Welch is undefined too
    assert w['p'] is None and w['ci'] is None and 'zero variance' in w['why']
    ref = st.ttest_rel([2.9, 3.0, 3.2], [3.0, 3.05, 3.3])  # spread differences: the t-test
    assert paired([2.9, 3.0, 3.2], [3.0, 3.05, 3.3])['p'] == pytest.approx(ref.pvalue)
    r = {'mean': [10.0, 12.0], 'difference': {**d, 'mean': -2.0}}
    assert fewer(r).startswith(
        'yes (10.0 vs 12.0; paired difference -2.0, no interval, sign test p = 0.031')
    r['difference'] = {**paired([9.0, 10.0], [11.0, 12.0]), 'mean': -2.0}
    assert fewer(r).startswith('not resolved: fewer on average; every pair differs by exactly -2')
