"""downstream.py: lm-evaluation-harness on exported runs scores exactly what eval_bpb.py scores (rolling bits per
byte to 1e-4 relative, multiple-choice accuracy item for item), for gpt2, apertus and a BTM run, offline on the
local tasks in tasks/lm_eval; the results land in eval.json under tasks.* where correlate.py ranks by them."""
import dataclasses
import json
import os

import pytest
import torch

import embedded_corpus
import eval_bpb
import tokenizer
from model import GPT, make_config

pytest.importorskip('lm_eval')
import downstream  # noqa: E402

pytestmark = pytest.mark.usefixtures('one_thread')
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MC = os.path.join(REPO, 'tasks', 'demo_mc.jsonl')
# a few dozen documents: several windows of 32 tokens each, every script of the embedded corpus, edge cases
ODD_DOCS = ['', 'a', 'literal <|bos|> and <|eos|> stay text', 'héllo wörld 你好 😀 مرحبا', ' \t\n  x']


def random_model(preset, vocab, seed):
    torch.manual_seed(seed)
    model = GPT(make_config(preset, vocab_size=vocab, block_size=32)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model


def write_corpus(corpus_dir):
    docs = [(d['text'][:200 + 40 * i], d['lang'])
            for i, d in enumerate(embedded_corpus.generate_documents(40_000, seed=11)) if i < 24]
    docs += [(t, 'und') for t in ODD_DOCS]
    folder = os.path.join(corpus_dir, 'tiny')
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'test.jsonl'), 'w', encoding='utf-8') as f:
        for t, lang in docs:
            f.write(json.dumps({'text': t, 'lang': lang}, ensure_ascii=False) + '\n')
    with open(os.path.join(folder, 'meta.json'), 'w') as f:
        json.dump({'corpus': 'tiny', 'splits': {'test': {'sha256': 'test'}}}, f)


def write_run(run_dir, model, tok_dir):
    """A finished run folder as train.py writes it."""
    os.makedirs(run_dir, exist_ok=True)
    cfg = {'arch': model.config.arch, 'preset': f'{model.config.arch}-tiny', 'seed': 1, 'tokenizer': tok_dir,
           'tokenizer_hash': tokenizer.load_tokenizer(tok_dir).hash, 'corpus': 'tiny', 'budget_unit': 'tokens',
           'block_size': model.config.block_size, 'total_steps': 5}
    with open(os.path.join(run_dir, 'config.json'), 'w') as f:
        json.dump(cfg, f)
    torch.save({'model': model.state_dict(), 'model_config': dataclasses.asdict(model.config), 'config': cfg,
                'step': 5, 'done': True}, os.path.join(run_dir, 'ckpt.pt'))
    return run_dir


@pytest.fixture(scope='module')
def btm_dir(tmp_path_factory):
    import btm
    path = str(tmp_path_factory.mktemp('btm') / 'btm')
    docs = [d['text'] for d in embedded_corpus.generate_documents(60_000, seed=3)]
    btm.train(docs, path, n_base=400, vocab_size=520)
    return path


@pytest.fixture(scope='module')
def study(tmp_path_factory, tok_dir, btm_dir):
    """Three finished runs (gpt2 + bpe, apertus + bpe, gpt2 + btm), scored by eval_bpb.py and then downstream.py."""
    root = tmp_path_factory.mktemp('study')
    write_corpus(str(root / 'corpus'))
    runs = [write_run(str(root / 'runs' / 'gpt2-tiny_bpe-400_s1'), random_model('gpt2-tiny', 400, 1), tok_dir),
            write_run(str(root / 'runs' / 'apertus-tiny_bpe-400_s1'), random_model('apertus-tiny', 400, 2), tok_dir),
            write_run(str(root / 'runs' / 'gpt2-tiny_btm_s1'), random_model('gpt2-tiny', 520, 3), btm_dir)]
    common = {'runs': runs, 'corpus_dir': str(root / 'corpus')}
    before = eval_bpb.main({**eval_bpb.defaults(), **common, 'tasks': [MC]})
    cfg = {**downstream.defaults(), **common, 'tasks': ['uniscale_demo_mc', 'uniscale_bpb'],
           'task_dir': os.path.join(REPO, 'tasks', 'lm_eval'), 'hf_dir': str(root / 'hf'), 'batch_size': 64,
           'bootstrap_iters': 0}
    cwd = os.getcwd()
    os.chdir(REPO)  # the local task reads tasks/demo_mc.jsonl relative to the repository root, as lm_eval would
    try:
        downstream.main(cfg)
    finally:
        os.chdir(cwd)
    after = {r: json.load(open(os.path.join(r, 'eval.json'))) for r in runs}
    return {'runs': runs, 'before': before, 'after': after, 'cfg': cfg, 'root': root}


def test_rolling_bits_per_byte_equals_eval_bpb_for_gpt2_apertus_and_btm(study):
    for run in study['runs']:
        ours, theirs = study['before'][run]['bpb'], study['after'][run]['tasks']['uniscale_bpb']['bits_per_byte']
        assert abs(theirs - ours) / ours < 1e-4, (run, ours, theirs)


def test_multiple_choice_accuracy_equals_eval_bpb_tasks(study):
    for run in study['runs']:
        ours, theirs = study['before'][run]['tasks']['demo_mc'], study['after'][run]['tasks']['uniscale_demo_mc']
        assert theirs['n'] == ours['n'] == 30
        assert theirs['acc'] == ours['acc'] and theirs['acc_bytes'] == ours['acc_norm'], run


def test_results_are_merged_into_eval_json_keeping_the_bpb_fields(study):
    for run in study['runs']:
        before, after = study['before'][run], study['after'][run]
        assert {k: after[k] for k in ('bpb', 'per_lang', 'eval_set', 'step', 'n_tokens')} == \
               {k: before[k] for k in ('bpb', 'per_lang', 'eval_set', 'step', 'n_tokens')}
        assert after['tasks']['demo_mc'] == before['tasks']['demo_mc']  # eval_bpb.py's own task is kept
        import lm_eval  # noqa: F401
        from importlib.metadata import version
        assert after['lm_eval']['version'] == version('lm_eval')
        assert after['lm_eval']['tasks']['uniscale_bpb']['model'] == 'uniscale'
