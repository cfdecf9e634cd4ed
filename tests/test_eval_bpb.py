"""eval_bpb.py against its definition (docs/DESIGN.md): bits per byte equal to a hand computation from per-token
log-probabilities, windows that score every token exactly once and equal a naive token-by-token loop, bytes counted
on the original text, per-language sums, transformers agreement, the refusals, skipping, and the multiple-choice
scorer. Tiny CPU models, a tokenizer trained in tmp, documents from the generated corpus."""
import dataclasses
import json
import math
import os

import pytest
import torch
import torch.nn.functional as F

import configurator
import eval_bpb
import helpers  # tests/helpers.py; the small BPE fixtures tok_dir and tok are in conftest.py
from data.embedded import generate
from helpers import VOCAB
from uniscale import bpb, identity, tokenization

SPECIAL = ['', 'a', 'héllo wörld 你好 😀🎉 مرحبا', 'x' * 5]  # empty, one byte, multi-byte scripts and emoji


def corpus_docs(n_bytes, seed):
    return [(d['text'], d['lang']) for d in generate.generate_documents(n_bytes, seed=seed)]


pytestmark = pytest.mark.usefixtures('one_thread')


def random_model(preset='gpt2-tiny', block_size=32, seed=0):
    return helpers.random_model(preset, block_size, seed)


def sample_docs():
    """Short and long documents in several languages and scripts, plus edge cases; (texts, langs)."""
    docs = [(t[:int(300 + 97 * i)], lang) for i, (t, lang) in enumerate(corpus_docs(20_000, seed=5)[:8])]
    docs += [(t, 'und') for t in SPECIAL]
    return [t for t, _ in docs], [lang for _, lang in docs]


def write_split(corpus_dir, name='tiny', split='test', docs=None):
    folder = os.path.join(corpus_dir, name)
    os.makedirs(folder, exist_ok=True)
    texts, langs = docs or sample_docs()
    with open(os.path.join(folder, f'{split}.jsonl'), 'w', encoding='utf-8') as f:
        for t, lang in zip(texts, langs):
            f.write(json.dumps({'text': t, 'lang': lang}, ensure_ascii=False) + '\n')
    sha = identity.file_sha256(os.path.join(folder, f'{split}.jsonl'))  # as prepare.py records it
    with open(os.path.join(folder, 'meta.json'), 'w') as f:
        json.dump({'corpus': name, 'splits': {split: {'sha256': sha}}}, f)
    return texts, langs


def write_run(run_dir, model, tok_dir, tok_hash='same', step=10, total_steps=10, **extra):
    """A run folder as train.py writes it: config.json and ckpt.pt (finished when step == total_steps)."""
    os.makedirs(run_dir, exist_ok=True)
    cfg = {'arch': model.config.arch, 'preset': f'{model.config.arch}-tiny', 'seed': 7, 'tokenizer': tok_dir,
           'corpus': 'tiny', 'budget_unit': 'tokens', 'block_size': model.config.block_size,
           'total_steps': total_steps, **extra}
    if tok_hash == 'same':
        cfg['tokenizer_hash'] = tokenization.load_tokenizer(tok_dir).hash
    elif tok_hash is not None:
        cfg['tokenizer_hash'] = tok_hash
    with open(os.path.join(run_dir, 'config.json'), 'w') as f:
        json.dump(cfg, f)
    torch.save({'model': model.state_dict(),
                'model_config': dataclasses.asdict(model.config), 'config': cfg,
                'step': step, 'done': step == total_steps, 'tokens_seen': 1234, 'bytes_seen': 5678},
               os.path.join(run_dir, 'ckpt.pt'))
    return run_dir


def config(tmp_path, **overrides):
    return {**configurator.defaults(eval_bpb), 'corpus_dir': str(tmp_path / 'corpus'), **overrides}


def naive_nll(model, ids, bos, start_of):
    """-ln p of each token of a document, one forward per token over x[start_of(i) : i + 1], x = [BOS] + ids."""
    x = [bos] + list(ids)
    out = []
    with torch.no_grad():
        for i in range(len(ids)):
            ctx = torch.tensor([x[start_of(i):i + 1]])
            logp = F.log_softmax(model(ctx)[0][0, -1].double(), dim=-1)
            out.append(-logp[ids[i]].item())
    return out


# ---------------------------------------------------------------- windowing
@pytest.mark.parametrize('ctx', [1, 2, 7, 32])
def test_windows_score_every_token_exactly_once_below_at_and_far_above_the_context(ctx):
    for n in sorted({0, 1, ctx - 1, ctx, ctx + 1, 2 * ctx, 10 * ctx + 3} - {-1}):
        for ovl in sorted({0, 1, ctx // 2, ctx - 1} & set(range(ctx))):
            scored = []
            for start, first, end in bpb.windows(n, ctx, ovl):
                assert 0 <= start <= first < end <= n and end - start <= ctx
                # each window re-reads at least `ovl` scored tokens (or all there are)
                assert first - start >= min(ovl, first)
                scored += range(first, end)
            assert scored == list(range(n))


def test_overlap_outside_the_context_is_a_config_error():
    with pytest.raises(SystemExit, match='overlap'):
        bpb.windows(10, 8, 8)


@pytest.mark.numeric
@pytest.mark.parametrize('ovl', [0, 5, 31])
def test_windowed_scores_equal_a_naive_token_by_token_loop(tok, ovl):
    """overlap 31 = context - 1: every token sees the last 32 tokens (the full context); overlap 0: lm-eval's
    rolling windows, each token sees its window's start."""
    model, C = random_model(block_size=32), 32
    texts, langs = sample_docs()
    texts, langs = texts[:2], langs[:2]  # ~120 and ~160 tokens: several windows each
    res = bpb.bits_per_byte(model, tok, texts, langs, ovl=ovl)
    total = 0.0
    for ids in tok.encode_batch(texts):
        n = len(ids)
        if ovl == C - 1:
            start_of = lambda i: max(0, i + 1 - C)
        else:  # the window holding token i ends `step` after the previous one and reaches back C tokens
            step = C - ovl
            start_of = lambda i: max(0, (C if i < C else min(n, C + step * ((i - C) // step + 1))) - C)
        with helpers.float64_math():  # the reference: the same weights in float64
            total += sum(naive_nll(helpers.float64_copy(model), ids, tok.bos_id, start_of))
    n = helpers.longest_reduction(model.config, C)
    helpers.assert_fp32_close(res['nll_nats'], total, n, what='windows')


@pytest.mark.numeric
def test_documents_that_fit_score_the_same_under_every_overlap(tok):
    model = random_model(block_size=256)
    texts, langs = sample_docs()
    fits = [i for i, ids in enumerate(tok.encode_batch(texts)) if len(ids) <= 256]
    texts, langs = [texts[i] for i in fits], [langs[i] for i in fits]
    assert len(texts) >= 6
    bpbs = [bpb.bits_per_byte(model, tok, texts, langs, ovl=o)['bpb'] for o in (0, 100, 255)]
    n = helpers.longest_reduction(model.config, 256)  # fp32 scores of other batches: two bounds
    helpers.assert_fp32_close(bpbs[1:], bpbs[:1] * 2, n, 2 * helpers.C_FORWARD, what='overlaps')


# ---------------------------------------------------------------- the definition
@pytest.mark.numeric
def test_bpb_equals_a_hand_computation_from_per_token_log_probs(tok):
    model = random_model('apertus-tiny', block_size=2048)
    texts, langs = sample_docs()
    res = bpb.bits_per_byte(model, tok, texts, langs, max_tokens=1400)  # several batches, with padding
    bits, first_bits, n_tokens, longest = 0.0, 0.0, 0, 0
    with torch.no_grad(), helpers.float64_math():  # the same weights in float64: the reference
        model64 = helpers.float64_copy(model)
        for ids in tok.encode_batch(texts):
            if not ids:
                continue
            x = torch.tensor([[tok.bos_id] + ids])
            logp = F.log_softmax(model64(x)[0][0, :-1], dim=-1)  # position j predicts token j
            bits += -logp[torch.arange(len(ids)), torch.tensor(ids)].sum().item() / math.log(2)
            first_bits += -logp[0, ids[0]].item() / math.log(2)
            n_tokens, longest = n_tokens + len(ids), max(longest, len(ids))
    n_bytes = sum(len(t.encode('utf-8')) for t in texts)
    assert res['n_tokens'] == n_tokens and res['n_bytes'] == n_bytes and res['n_docs'] == len(texts)
    n = helpers.longest_reduction(model.config, longest)
    helpers.assert_fp32_close(res['bpb'], bits / n_bytes, n, what='bpb')
    nats_per_token = bits * math.log(2) / n_tokens
    helpers.assert_fp32_close(res['nll_per_token'], nats_per_token, n, what='nll per token')
    no_bos = (bits - first_bits) / n_bytes  # each document's first token unscored (no BOS)
    assert helpers.fp32_error_ratio(res['bpb'], no_bos, n, what='bug: no BOS') > 1


@pytest.mark.numeric
def test_uniform_model_gives_exactly_log2_vocab_bits_per_token(tmp_path, tok_dir, tok):
    model = random_model('apertus-tiny', block_size=32)
    with torch.no_grad():
        model.lm_head.weight.zero_()  # every logit 0: uniform over the real vocabulary (padding rows are cut)
    texts, _ = write_split(tmp_path / 'corpus')
    run = write_run(str(tmp_path / 'runs' / 'uniform'), model, tok_dir)
    out = eval_bpb.main(config(tmp_path, run=run))[run]
    n_tokens = sum(len(ids) for ids in tok.encode_batch(texts))
    n_bytes = sum(len(t.encode('utf-8')) for t in texts)
    assert out['n_tokens'] == n_tokens and out['n_bytes'] == n_bytes
    # exact up to float32 rounding of each token's log-softmax (sums are float64): the log of an
    # exact sum of ones, one rounding (a vectorised log: up to 1 ulp), then the bits: c = 2
    exact = n_tokens * math.log2(VOCAB) / n_bytes
    helpers.assert_fp32_close(out['bpb'], exact, 1, c=2, what='uniform')
    with open(os.path.join(run, 'eval.json')) as f:
        saved = json.load(f)
    assert saved['bpb'] == out['bpb']


def test_per_language_numbers_add_up_to_the_total(tok):
    model = random_model(block_size=32)
    texts, langs = sample_docs()
    res = bpb.bits_per_byte(model, tok, texts, langs, ovl=8)
    per = res['per_lang'].values()
    assert len(res['per_lang']) >= 4
    for key in ('n_tokens', 'n_bytes', 'n_docs'):
        assert sum(p[key] for p in per) == res[key]
    assert sum(p['bpb'] * p['n_bytes'] for p in per) == pytest.approx(res['bpb'] * res['n_bytes'], rel=1e-9)


@pytest.mark.numeric
def test_bpb_matches_the_exported_transformers_model(tmp_path, tok):
    from transformers import AutoModelForCausalLM

    from export_hf import export
    model = random_model('apertus-tiny', block_size=2048)
    ckpt = {'model': model.state_dict(), 'model_config': dataclasses.asdict(model.config)}
    hf = AutoModelForCausalLM.from_pretrained(export(ckpt, str(tmp_path / 'hf'))).eval()
    texts, langs = sample_docs()
    res = bpb.bits_per_byte(model, tok, texts, langs)
    nats, longest = 0.0, 0
    with torch.no_grad():
        for ids in tok.encode_batch(texts):
            if ids:
                x = torch.tensor([[tok.bos_id] + ids])
                nats += hf(x, labels=x).loss.item() * len(ids)  # mean over the len(ids) shifted targets
                longest = max(longest, len(ids))
    theirs = nats / math.log(2) / res['n_bytes']  # another fp32 forward: within two bounds
    helpers.assert_fp32_close(theirs, res['bpb'], helpers.longest_reduction(model.config, longest),
                              c=2 * helpers.C_FORWARD, what='transformers')


def test_bfloat16_autocast_stays_close_to_float32(tok):
    model = random_model(block_size=64)
    texts, langs = sample_docs()
    fp32 = bpb.bits_per_byte(model, tok, texts, langs, dt='float32')['bpb']
    bf16 = bpb.bits_per_byte(model, tok, texts, langs, dt='bfloat16')['bpb']
    assert bf16 == pytest.approx(fp32, rel=2e-2)


# ---------------------------------------------------------------- runs, refusals, skipping
def test_eval_json_holds_the_fields_correlate_reads(tmp_path, tok_dir):
    write_split(tmp_path / 'corpus')
    run = write_run(str(tmp_path / 'runs' / 'gpt2-tiny_bpe-400_s7'), random_model(), tok_dir)
    out = eval_bpb.main(config(tmp_path, run=run, overlap=4))[run]
    for key in ('run', 'arch', 'preset', 'n_params', 'n_params_nonembedding', 'tokenizer', 'vocab_size', 'seed',
                'split', 'bpb', 'nll_per_token', 'n_tokens', 'n_bytes', 'n_docs', 'per_lang', 'windowing',
                'tokens_seen', 'bytes_seen'):
        assert key in out, key
    assert out['run'] == 'gpt2-tiny_bpe-400_s7' and out['seed'] == 7 and out['tokens_seen'] == 1234
    assert out['windowing'] == {**out['windowing'], 'context': 32, 'overlap': 4, 'eos_appended': False}
    assert out['n_params'] > out['n_params_nonembedding'] > 0


def test_already_evaluated_runs_are_skipped_unless_forced(tmp_path, tok_dir, capsys):
    write_split(tmp_path / 'corpus')
    runs = [write_run(str(tmp_path / 'runs' / f'r{i}'), random_model(seed=i), tok_dir) for i in range(2)]
    os.makedirs(tmp_path / 'runs' / 'no_ckpt_yet')
    cfg = config(tmp_path, runs=[str(tmp_path / 'runs' / '*')])
    first = eval_bpb.main(cfg)
    assert sorted(first) == runs and all(first.values())  # the glob keeps folders with a ckpt.pt
    assert all(v is None for v in eval_bpb.main(cfg).values())
    assert 'skip' in capsys.readouterr().out
    write_run(runs[1], random_model(seed=1), tok_dir, step=20, total_steps=20)  # trained on after its eval
    with open(os.path.join(runs[0], 'eval.json'), 'w') as f:
        json.dump({'bpb': 1.0}, f)  # evaluated before, but without the task asked for now
    cfg['tasks'] = [write_task(tmp_path / 'mini.jsonl')]
    again = eval_bpb.main(cfg)
    assert again[runs[1]] is not None and again[runs[0]] is not None and 'mini' in again[runs[0]]['tasks']
    assert all(eval_bpb.main({**cfg, 'force': True}).values())


def test_a_changed_tokenizer_is_refused(tmp_path, tok_dir):
    write_split(tmp_path / 'corpus')
    run = write_run(str(tmp_path / 'runs' / 'r'), random_model(), tok_dir, tok_hash='0123456789abcdef')
    with pytest.raises(SystemExit, match='hash .* but the run was trained with 0123456789ab'):
        eval_bpb.main(config(tmp_path, run=run))


def test_a_missing_tokenizer_is_refused(tmp_path, tok_dir):
    write_split(tmp_path / 'corpus')
    run = write_run(str(tmp_path / 'runs' / 'r'), random_model(), tok_dir)
    cfg_path = os.path.join(run, 'config.json')
    with open(cfg_path) as f:
        cfg = json.load(f)
    with open(cfg_path, 'w') as f:
        json.dump({**cfg, 'tokenizer': str(tmp_path / 'gone')}, f)
    with pytest.raises(SystemExit, match='tokenizer folder .*gone.* not found'):
        eval_bpb.main(config(tmp_path, run=run))


def test_no_recorded_hash_is_evaluated_with_a_note(tmp_path, tok_dir, capsys):
    write_split(tmp_path / 'corpus')
    run = write_run(str(tmp_path / 'runs' / 'r'), random_model(), tok_dir, tok_hash=None)
    assert eval_bpb.main(config(tmp_path, run=run))[run]['bpb'] > 0
    assert 'no tokenizer_hash' in capsys.readouterr().out


def test_a_split_never_prepared_is_refused(tmp_path, tok_dir):
    write_split(tmp_path / 'corpus')
    run = write_run(str(tmp_path / 'runs' / 'r'), random_model(), tok_dir)
    with pytest.raises(SystemExit, match='val.jsonl: split never prepared'):
        eval_bpb.main(config(tmp_path, run=run, split='val'))


def test_an_unfinished_run_is_refused_unless_allowed(tmp_path, tok_dir):
    write_split(tmp_path / 'corpus')
    run = write_run(str(tmp_path / 'runs' / 'r'), random_model(), tok_dir, step=5, total_steps=10)
    with pytest.raises(SystemExit, match=r'unfinished run \(checkpoint at step 5 of 10\).*--allow_unfinished=True'):
        eval_bpb.main(config(tmp_path, run=run))
    out = eval_bpb.main(config(tmp_path, run=run, allow_unfinished=True))[run]
    assert (out['step'], out['total_steps'], out['finished']) == (5, 10, False)


def test_eval_json_says_which_set_it_scored_and_other_settings_rescore(tmp_path, tok_dir):
    texts, _ = write_split(tmp_path / 'corpus')
    run = write_run(str(tmp_path / 'runs' / 'r'), random_model(), tok_dir)
    out = eval_bpb.main(config(tmp_path, run=run))[run]
    sha = identity.file_sha256(str(tmp_path / 'corpus' / 'tiny' / 'test.jsonl'))
    assert out['eval_set'] == {'corpus': 'tiny', 'split': 'test', 'split_sha256': sha, 'n_docs': len(texts),
                               'max_docs_per_lang': 0, 'context': 32, 'overlap': 0}
    assert (out['step'], out['total_steps'], out['finished']) == (10, 10, True)
    assert eval_bpb.main(config(tmp_path, run=run))[run] is None  # same checkpoint, same set: skipped
    again = eval_bpb.main(config(tmp_path, run=run, max_docs_per_lang=1))[run]  # another set: scored again
    assert again['eval_set']['max_docs_per_lang'] == 1 and again['n_docs'] < len(texts)


def test_a_folder_without_checkpoint_is_refused(tmp_path):
    with pytest.raises(SystemExit, match='no ckpt.pt'):
        eval_bpb.main(config(tmp_path, run=str(tmp_path)))


# ---------------------------------------------------------------- multiple choice
def hand_loglik(model, tok, context, choice):
    ctx, ch = [tok.bos_id] + tok.encode(context), tok.encode(choice)
    with torch.no_grad():
        logp = F.log_softmax(model(torch.tensor([ctx + ch[:-1]]))[0][0].double(), dim=-1)
    return sum(logp[len(ctx) - 1 + j, t].item() for j, t in enumerate(ch))


def test_multiple_choice_picks_the_choice_a_hand_computation_prefers(tok):
    model = random_model(block_size=64)
    questions = [{'context': 'Once upon a time, there was a', 'choices': [' fox', ' big red dragon', ' 你好', ' a']},
                 {'context': 'Es war einmal eine', 'choices': [' Katze.', ' Maus', ' sehr alte Eule.']},
                 {'context': '"Don\'t give up," Nora said. "There is always a', 'choices': [' way."', ' cake."']}]
    truth, truth_norm = [], []
    for q in questions:
        ll = [hand_loglik(model, tok, q['context'], c) for c in q['choices']]
        per_byte = [v / len(c.encode('utf-8')) for v, c in zip(ll, q['choices'])]
        truth.append(max(range(len(ll)), key=ll.__getitem__))
        truth_norm.append(max(range(len(ll)), key=per_byte.__getitem__))
    right = [{**q, 'answer': a} for q, a in zip(questions, truth)]
    assert eval_bpb.multiple_choice(model, tok, right)['acc'] == 1.0
    normed = [{**q, 'answer': a} for q, a in zip(questions, truth_norm)]
    assert eval_bpb.multiple_choice(model, tok, normed)['acc_norm'] == 1.0
    wrong = [{**q, 'answer': (a + 1) % len(q['choices'])} for q, a in zip(questions, truth)]
    res = eval_bpb.multiple_choice(model, tok, wrong)
    assert res['acc'] == 0.0 and res['n'] == 3 and res['chance'] == pytest.approx((1 / 4 + 1 / 3 + 1 / 2) / 3)


def write_task(path):
    path.write_text(json.dumps({'context': 'The cat', 'choices': [' sat', ' ran'], 'answer': 0, 'lang': 'eng'}) + '\n')
    return str(path)


def test_tasks_go_into_eval_json(tmp_path, tok_dir):
    write_split(tmp_path / 'corpus')
    run = write_run(str(tmp_path / 'runs' / 'r'), random_model(), tok_dir)
    out = eval_bpb.main(config(tmp_path, run=run, tasks=[write_task(tmp_path / 'mini.jsonl')]))[run]
    assert out['tasks']['mini']['n'] == 1 and out['tasks']['mini']['per_lang']['eng']['n'] == 1
    bad = tmp_path / 'bad.jsonl'
    bad.write_text(json.dumps({'context': 'x', 'choices': ['a'], 'answer': 3}) + '\n')
    with pytest.raises(SystemExit, match='bad.jsonl:1'):
        eval_bpb.main(config(tmp_path, run=run, tasks=[str(bad)], force=True))


def test_the_demo_task_file_is_well_formed():
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tasks', 'demo_mc.jsonl')
    questions = eval_bpb.read_task(path)
    assert len(questions) >= 20 and {q['lang'] for q in questions} >= {'eng', 'deu_Latn', 'spa_Latn'}
    assert all(len(set(q['choices'])) == len(q['choices']) >= 2 for q in questions)


# ------------------------------------------------ --files and the run's training split
def write_jsonl(path, texts):
    with open(path, 'w', encoding='utf-8') as f:
        for t in texts:
            f.write(json.dumps({'text': t, 'lang': 'eng'}, ensure_ascii=False) + '\n')
    return str(path)


def test_files_count_the_scored_documents_the_run_trained_on(tmp_path, tok_dir, capsys):
    """By text sha256, whatever the file or its name: 2 of 4 scored documents (one given twice) are
    in train."""
    texts, _ = sample_docs()
    os.makedirs(tmp_path / 'corpus' / 'tiny')
    train = write_jsonl(tmp_path / 'corpus' / 'tiny' / 'train.jsonl', texts[:5])
    inputs = {'train': {'text_sha256': identity.file_sha256(train)}}
    run_dir = write_run(str(tmp_path / 'run'), random_model(), tok_dir, inputs=inputs)
    scored = [texts[1], 'never seen in training', texts[3], texts[1]]
    given = write_jsonl(tmp_path / 'held_out.jsonl', scored)
    out = eval_bpb.main(config(tmp_path, run=run_dir, files=given))[run_dir]
    assert out['n_docs_in_train'] == 3 and out['n_docs'] == 4
    assert "3 of the 4 scored documents are in the run's training split" in capsys.readouterr().out
    with open(train, 'a') as f:  # no longer the split the run trained from: unknown, never a guess
        f.write(json.dumps({'text': 'added later'}) + '\n')
    out = eval_bpb.main(config(tmp_path, run=run_dir, files=given, force=True))[run_dir]
    assert out['n_docs_in_train'] is None
    assert 'is not the split the run trained on' in capsys.readouterr().out


def test_files_without_the_training_split_say_the_count_is_unknown(tmp_path, tok_dir, capsys):
    run_dir = write_run(str(tmp_path / 'run'), random_model(), tok_dir)  # no inputs recorded
    given = write_jsonl(tmp_path / 'held_out.jsonl', ['some text'])
    out = eval_bpb.main(config(tmp_path, run=run_dir, files=given))[run_dir]
    assert out['n_docs_in_train'] is None
    assert 'unknown how many scored documents the run trained on' in capsys.readouterr().out


def test_threads_zero_means_one_thread_for_a_small_model(tmp_path, tok_dir):
    write_split(str(tmp_path / 'corpus'))
    run_dir = write_run(str(tmp_path / 'run'), random_model(), tok_dir)
    torch.set_num_threads(2)
    eval_bpb.main(config(tmp_path, run=run_dir, threads=0))
    assert torch.get_num_threads() == 1  # the one_thread fixture restores the count afterwards
