"""downstream.py: lm-evaluation-harness on exported runs scores exactly what eval_bpb.py scores (rolling bits per
byte to 1e-4 relative in float32, to bf16's tolerance under the bf16 autocast it uses on a GPU; multiple-choice
accuracy item for item), for gpt2, apertus and a BTM run, offline on the local tasks in tasks/lm_eval; the results
land in eval.json under tasks.* where correlate.py ranks by them."""
import dataclasses
import json
import os

import pytest
import torch

import configurator
import eval_bpb
import helpers
from data.embedded import generate
from model import GPT, make_config
from uniscale import bpb, identity, slurm_launch, tokenization

pytest.importorskip('lm_eval')
import downstream  # noqa: E402

pytestmark = pytest.mark.usefixtures('one_thread')
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MC = os.path.join(REPO, 'tasks', 'demo_mc.jsonl')
# a few dozen documents: several windows of 32 tokens each, every script of the embedded corpus, edge cases
BF16_REL = 1e-3  # a quarter of bf16's rounding of one value (2^-8); averaged over every scored token, well below it
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
            for i, d in enumerate(generate.generate_documents(40_000, seed=11)) if i < 24]
    docs += [(t, 'und') for t in ODD_DOCS]
    folder = os.path.join(corpus_dir, 'tiny')
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'test.jsonl'), 'w', encoding='utf-8') as f:
        for t, lang in docs:
            f.write(json.dumps({'text': t, 'lang': lang}, ensure_ascii=False) + '\n')
    sha = identity.file_sha256(os.path.join(folder, 'test.jsonl'))  # as prepare.py records it
    with open(os.path.join(folder, 'meta.json'), 'w') as f:
        json.dump({'corpus': 'tiny', 'splits': {'test': {'sha256': sha}}}, f)


def write_run(run_dir, model, tok_dir):
    """A finished run folder as train.py writes it."""
    os.makedirs(run_dir, exist_ok=True)
    cfg = {'arch': model.config.arch, 'preset': f'{model.config.arch}-tiny', 'seed': 1, 'tokenizer': tok_dir,
           'tokenizer_hash': tokenization.load_tokenizer(tok_dir).hash, 'corpus': 'tiny', 'budget_unit': 'tokens',
           'block_size': model.config.block_size, 'total_steps': 5,
           'run_id': identity.fingerprint(os.path.basename(run_dir))}  # as train.py records it (a stand-in value)
    with open(os.path.join(run_dir, 'config.json'), 'w') as f:
        json.dump(cfg, f)
    torch.save({'model': model.state_dict(), 'model_config': dataclasses.asdict(model.config), 'config': cfg,
                'step': 5, 'done': True}, os.path.join(run_dir, 'ckpt.pt'))
    return run_dir


@pytest.fixture(scope='module')
def btm_dir(tmp_path_factory):
    import btm
    path = str(tmp_path_factory.mktemp('btm') / 'btm')
    docs = [d['text'] for d in generate.generate_documents(60_000, seed=3)]
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
    common = {'runs': runs, 'corpus_dir': str(root / 'corpus'), 'device': 'cpu', 'dtype': 'float32'}
    before = eval_bpb.main({**configurator.defaults(eval_bpb), **common, 'tasks': [MC]})
    cfg = {**configurator.defaults(downstream), **common, 'tasks': ['uniscale_demo_mc', 'uniscale_bpb'],
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


# the longest sum of the study's models (helpers.py): MLPs, vocabularies (<= 520), blocks (400)
STUDY_N = max(helpers.longest_reduction(make_config(p, vocab_size=520, block_size=400), 400)
              for p in ('gpt2-tiny', 'apertus-tiny'))


def test_rolling_bits_per_byte_equals_eval_bpb_for_gpt2_apertus_and_btm(study):
    for run in study['runs']:  # two fp32 forwards (model.py, transformers): within two bounds
        ours, theirs = study['before'][run]['bpb'], study['after'][run]['tasks']['uniscale_bpb']['bits_per_byte']
        helpers.assert_fp32_close(theirs, ours, STUDY_N, 2 * helpers.C_FORWARD,
                                  what=os.path.basename(run))


def test_multiple_choice_accuracy_equals_eval_bpb_tasks(study):
    for run in study['runs']:
        ours, theirs = study['before'][run]['tasks']['demo_mc'], study['after'][run]['tasks']['uniscale_demo_mc']
        assert theirs['n'] == ours['n'] == 30
        assert theirs['acc'] == ours['acc'] and theirs['acc_bytes'] == ours['acc_norm'], run


def test_bf16_autocast_scores_uniscale_bpb_as_eval_bpb_does_to_bf16_tolerance(tmp_path, tok_dir):
    """Issue 22 item 4: on a GPU downstream.py defaults to bf16 autocast (fp32 weights and log-softmax), as
    eval_bpb.py does there; here on CPU with dtype=bfloat16 for both. Both round each matmul to bf16 (8 bits of
    mantissa), transformers' modules against model.py's, so they agree to what bf16 allows (BF16_REL; measured:
    4e-7 relative, against 2e-4 between bf16 and fp32), not bit for bit. The weights are drawn large (confident
    predictions, as a trained model's), so that bf16 visibly moves the numbers off fp32's: autocast is on in both."""
    torch.manual_seed(5)
    model = GPT(make_config('apertus-tiny', vocab_size=400, block_size=32)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    run = write_run(str(tmp_path / 'runs' / 'apertus-tiny_bpe-400_s5'), model, tok_dir)
    write_corpus(str(tmp_path / 'corpus'))
    common = {'runs': [run], 'corpus_dir': str(tmp_path / 'corpus'), 'device': 'cpu', 'force': True}
    fp32, ours = (eval_bpb.main({**configurator.defaults(eval_bpb), **common, 'dtype': dt})[run]['bpb']
                  for dt in ('float32', 'bfloat16'))
    cfg = {**configurator.defaults(downstream), **common, 'dtype': 'bfloat16', 'tasks': ['uniscale_bpb'],
           'task_dir': os.path.join(REPO, 'tasks', 'lm_eval'), 'hf_dir': str(tmp_path / 'hf'), 'batch_size': 64,
           'bootstrap_iters': 0}
    theirs = downstream.main(cfg)[run]['uniscale_bpb']['bits_per_byte']
    print(f"bpb fp32 {fp32:.6f}; bf16 autocast: eval_bpb {ours:.6f}, downstream {theirs:.6f}")
    assert abs(theirs - ours) / ours < BF16_REL, (ours, theirs)
    assert abs(ours - fp32) / fp32 > 1e-4 and abs(theirs - fp32) / fp32 > 1e-4  # autocast changed both
    assert abs(theirs - ours) < abs(ours - fp32) / 10  # ... the same way: far closer to each other than to fp32
    invocation = json.load(open(os.path.join(run, 'eval.json')))['lm_eval']['invocation']
    assert (invocation['dtype'], invocation['device']) == ('bfloat16', 'cpu')
    assert invocation['model_args'].endswith(',dtype=float32,softmax_dtype=float32,mixed_precision_dtype=bfloat16')


def test_the_default_dtype_is_bf16_autocast_on_cuda_and_float32_on_cpu(monkeypatch):
    cpu = downstream.model_args({**configurator.defaults(downstream), 'device': 'cpu'})
    assert cpu == {'dtype': 'float32', 'softmax_dtype': 'float32'}
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)  # resolve's answer for a GPU machine
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 1)
    gpu = downstream.model_args({**configurator.defaults(downstream), 'device': 'cuda'})
    assert gpu == {'dtype': 'float32', 'softmax_dtype': 'float32', 'mixed_precision_dtype': 'bfloat16'}
    with pytest.raises(SystemExit, match="dtype='float16'"):
        downstream.model_args({**configurator.defaults(downstream), 'device': 'cpu', 'dtype': 'float16'})


def test_results_are_merged_into_eval_json_keeping_the_bpb_fields(study):
    for run in study['runs']:
        before, after = study['before'][run], study['after'][run]
        assert {k: after[k] for k in ('bpb', 'per_lang', 'eval_set', 'step', 'n_tokens')} == \
               {k: before[k] for k in ('bpb', 'per_lang', 'eval_set', 'step', 'n_tokens')}
        assert after['tasks']['demo_mc'] == before['tasks']['demo_mc']  # eval_bpb.py's own task is kept
        from importlib.metadata import version
        assert after['lm_eval']['version'] == version('lm_eval')
        assert after['lm_eval']['invocation']['model'] == 'uniscale'
        assert after['lm_eval']['invocation']['uniscale_bpb']['split_sha256'] == after['eval_set']['split_sha256']
        assert after['lm_eval']['scored'] == {'uniscale_demo_mc': 5, 'uniscale_bpb': 5}
        rid = identity.fingerprint(os.path.basename(run))
        assert after['run_id'] == rid and after['lm_eval']['scored_run_id'] == {'uniscale_demo_mc': rid,
                                                                                'uniscale_bpb': rid}


def per_choice_loglik_eval_bpb(run_dir, questions):
    """eval_bpb.py's log-likelihood of every choice (BOS + context, then the choice), in order."""
    from uniscale.run_folder import check_tokenizer, load_checkpoint, load_model, read_run_config
    tok = check_tokenizer(run_dir, read_run_config(run_dir))
    model = load_model(load_checkpoint(run_dir), tok, run_dir, 'cpu')
    items = []
    for q in questions:
        for c in q['choices']:
            ctx, ch = [tok.bos_id] + tok.encode(q['context']), tok.encode(c)
            items.append((ctx + ch, len(ctx) - 1))
    nll, _ = bpb.score(model, items, 'cpu', 'float32')  # as the study fixture: float32 on the CPU
    return [-x for x in nll]


def loglik_lm_eval(lm, questions):
    from lm_eval.api.instance import Instance
    reqs = [Instance('loglikelihood', {}, (q['context'], c), i) for q in questions for i, c in enumerate(q['choices'])]
    return [ll for ll, _ in lm.loglikelihood(reqs, disable_tqdm=True)]


def test_each_choice_scores_after_one_bos_where_plain_hf_scores_none(study):
    from lm_eval.models.huggingface import HFLM
    run = study['runs'][2]  # the BTM run: its tokens span words, the hardest case for encoding choices alone
    hf_path = os.path.join(study['cfg']['hf_dir'], os.path.basename(run))
    questions = eval_bpb.read_task(MC)[:6]
    ours = per_choice_loglik_eval_bpb(run, questions)
    theirs = loglik_lm_eval(downstream.make_lm(hf_path, study['cfg']), questions)
    scale = [abs(x) for x in ours]  # each a sum of -ln p
    helpers.assert_fp32_close(theirs, ours, STUDY_N, 2 * helpers.C_FORWARD, scale, what='loglik')
    plain = loglik_lm_eval(HFLM(pretrained=hf_path, trust_remote_code=True, batch_size=64, device='cpu'), questions)
    # lm-eval's own hf model: no BOS before the context
    c = 2 * helpers.C_FORWARD
    assert helpers.fp32_error_ratio(plain, ours, STUDY_N, c, scale, what='bug: no BOS') > 1


def test_a_hub_task_offline_fails_in_one_line(study, tmp_path, monkeypatch):
    monkeypatch.setenv('HF_DATASETS_OFFLINE', '1')
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    (tmp_path / 'hub_task.yaml').write_text('task: hub_task\ndataset_path: cambridgeltl/xcopa\ndataset_name: id\n'
                                            'output_type: multiple_choice\ntest_split: test\ndoc_to_text: premise\n'
                                            'doc_to_choice: "{{[choice1, choice2]}}"\ndoc_to_target: label\n')
    cfg = {**study['cfg'], 'runs': study['runs'][:1], 'tasks': ['hub_task'], 'task_dir': str(tmp_path)}
    with pytest.raises(SystemExit) as e:
        downstream.main(cfg)
    msg = str(e.value)
    assert msg.startswith('lm-eval task hub_task needs the Hugging Face hub') and '\n' not in msg


def test_a_run_without_eval_json_is_refused_before_any_work(study, tmp_path, tok_dir):
    run = write_run(str(tmp_path / 'runs' / 'fresh'), random_model('gpt2-tiny', 400, 4), tok_dir)
    with pytest.raises(SystemExit, match='eval_bpb.py'):
        downstream.main({**study['cfg'], 'runs': [run], 'hf_dir': str(tmp_path / 'hf')})
    assert not os.path.exists(tmp_path / 'hf')


def test_an_edited_split_is_refused_before_any_work(study, tmp_path):
    import shutil
    corpus = tmp_path / 'corpus'
    shutil.copytree(study['root'] / 'corpus', corpus)
    with open(corpus / 'tiny' / 'test.jsonl', 'a') as f:
        f.write(json.dumps({'text': 'added after prepare.py', 'lang': 'eng'}) + '\n')
    cfg = {**study['cfg'], 'runs': study['runs'][:1], 'tasks': ['uniscale_bpb'], 'corpus_dir': str(corpus),
           'hf_dir': str(tmp_path / 'hf'), 'force': True}
    with pytest.raises(SystemExit, match='the split was edited after prepare.py') as e:
        downstream.main(cfg)
    assert '\n' not in str(e.value) and not os.path.exists(tmp_path / 'hf')


def test_tasks_in_eval_json_rank_tokenizers_in_correlate(tmp_path):
    """Fake runs (3 tokenizers x 2 sizes x 2 seeds) whose task accuracy orders the tokenizers against their bpb:
    correlate.py scale --metric=tasks.T.acc_norm ranks by accuracy, higher first."""
    from scipy.stats import spearmanr

    import correlate
    acc = {('bpe-1k', 'gpt2-tiny'): .30, ('bpe-2k', 'gpt2-tiny'): .40, ('btm-2k', 'gpt2-tiny'): .50,
           ('bpe-1k', 'gpt2-small'): .35, ('bpe-2k', 'gpt2-small'): .55, ('btm-2k', 'gpt2-small'): .45}
    for (tok, preset), a in acc.items():
        for seed in (1, 2):
            run_dir = tmp_path / f'{preset}_{tok}_s{seed}'
            run_dir.mkdir()
            (run_dir / 'eval.json').write_text(json.dumps({
                'run': run_dir.name, 'preset': preset, 'tokenizer': tok, 'seed': seed, 'bpb': 1.0 + a, 'step': 5,
                'total_steps': 5, 'finished': True, 'eval_set': {'split': 'test', 'n_docs': 9},
                'n_params_nonembedding': 1000 if preset == 'gpt2-tiny' else 8000, 'split': 'test'}))
            downstream.merge_tasks(str(run_dir), 'test', {'step': 5},
                                   {'belebele_eng_Latn': {'acc_norm': a + 0.01 * seed, 'n': 900}},
                                   {'version': 'x', 'invocation': {}})
    cfg = {**configurator.defaults(correlate), 'command': 'scale', 'runs_dir': str(tmp_path), 'plots': False, 'n_bootstrap': 200,
           'metric': 'tasks.belebele_eng_Latn.acc_norm', 'analysis_dir': str(tmp_path / 'analysis'),
           'tokenizer_eval_dir': str(tmp_path / 'no_metrics'), 'n_fit_bootstrap': 20}
    _, s = correlate.main(cfg)
    assert s['higher_is_better'] is True
    pair = s['pairs'][0]
    assert (pair['small'], pair['large']) == ('gpt2-tiny', 'gpt2-small')
    toks = ['bpe-1k', 'bpe-2k', 'btm-2k']
    want = spearmanr([acc[t, 'gpt2-tiny'] for t in toks], [acc[t, 'gpt2-small'] for t in toks]).statistic
    assert pair['spearman'] == pytest.approx(want)
    assert (pair['small_pick'], pair['large_best']) == ('btm-2k', 'bpe-2k')


def configurator_keys(module):
    import configurator
    return configurator.config_keys(vars(module))


def test_sweep_runs_downstream_after_eval_bpb_for_every_trained_run(tmp_path, monkeypatch):
    import subprocess

    from test_sweep import FakeRunner, config as sweep_config

    import sweep
    monkeypatch.setattr(sweep, 'grid_problems', lambda runs, cfg: [])  # stand-in tokenizers, as in test_sweep.py
    tasks = ['uniscale_bpb', 'belebele_eng_Latn']
    cfg = sweep_config(tmp_path, only=['s1'], lm_eval_tasks=tasks, eval_args={'max_docs_per_lang': 5})
    runner = FakeRunner()
    runs = sweep.main(cfg, runner)
    names = [next(s for s in ('train.py', 'eval_bpb.py', 'downstream.py', 'correlate.py') if s in c)
             for c in runner.commands]
    assert names.index('downstream.py') > max(i for i, n in enumerate(names) if n == 'eval_bpb.py')
    assert names.index('downstream.py') < names.index('correlate.py')
    (down,) = runner.scripts('downstream.py')
    assert down[2] == '--runs=' + ','.join(r['dir'] for r in runs) and '--max_docs_per_lang=5' in down
    assert configurator_value(down[3]) == tasks
    tasks = [sweep.slurm_task(r, cfg) for r in runs]
    script, train = tmp_path / 'eval.sbatch', slurm_launch.train_script(tasks, 1, cfg, 'python')
    script.write_text(slurm_launch.eval_script(tasks, cfg, 'python'))  # off the training allocation: one GPU
    subprocess.run(['bash', '-n', str(script)], check=True)
    assert script.read_text().count('downstream.py --run=') == len(runs) and 'downstream.py' not in train
    assert sweep.downstream_command(['x'], {**cfg, 'lm_eval_tasks': []}) is None


def configurator_value(arg):
    import configurator
    return configurator.parse_value(arg.split('=', 1)[1])
