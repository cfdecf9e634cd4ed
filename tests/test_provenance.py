"""Issue 20: a run is what it was computed from. train.py records its inputs' content hashes and refuses a resume or
a finished run whose inputs changed under the same names; one writer per run folder; a model that cannot fit is
refused before any weight is allocated; the stop handler is in before the setup."""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

import configurator
import prepare
import train
from helpers import encoded_embedded_corpus, held_elsewhere
from test_train import TINY, config as train_config
from tokenizer import train_bpe
from uniscale.tokenization import load_tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    return encoded_embedded_corpus(tmp_path_factory.mktemp('prov'))


@pytest.fixture
def data(built, tmp_path):
    """A private copy of the built data (tests change it)."""
    shutil.copytree(os.path.dirname(built['out']), tmp_path / 'd')
    root = tmp_path / 'd'
    pcfg = {**built['pcfg'], 'out_dir': str(root / 'out')}
    return {'out': str(root / 'out'), 'tok': str(root / 'tokenizers' / 'bpe-a'), 'pcfg': pcfg}


def config(data, run_dir, **kw):
    """tests/test_train.py's tiny run, shorter: 8 steps, validated every 4."""
    return train_config({'out': data['out'], 'a': data['tok']}, run_dir, **{'max_steps': 8, 'eval_interval': 4, **kw})


def remake_train_split(data, keep=lambda i: i % 5 != 0):
    """What prepare.py does when the splits are rebuilt with other settings: other train text (and its sha256 in
    meta.json), then the shards encoded again, under the same names."""
    corpus = os.path.join(data['out'], 'corpus', 'embedded')
    path = os.path.join(corpus, 'train.jsonl')
    with open(path, 'rb') as f:
        lines = [line for i, line in enumerate(f) if keep(i)]
    with open(path, 'wb') as f:
        f.writelines(lines)
    meta_path = os.path.join(corpus, 'meta.json')
    with open(meta_path) as f:
        meta = json.load(f)
    meta['splits']['train']['sha256'] = hashlib.sha256(b''.join(lines)).hexdigest()
    with open(meta_path, 'w') as f:
        json.dump(meta, f)
    tokens = os.path.join(data['out'], 'tokens', 'embedded', 'bpe-a')
    for name in os.listdir(tokens):
        if name.startswith('train'):
            os.remove(os.path.join(tokens, name))
    prepare.encode_corpus({**data['pcfg'], 'encode_splits': ['train']}, data['tok'])


def one_line_refusal(excinfo, *words):
    msg = str(excinfo.value)
    assert '\n' not in msg and all(w in msg for w in words), msg
    return msg


def test_config_records_identity_of_settings_and_inputs(data, tmp_path):
    run_dir = train.train(config(data, tmp_path / 'run'))
    with open(os.path.join(run_dir, 'config.json')) as f:
        rc = json.load(f)
    sidecar = json.load(open(os.path.join(data['out'], 'tokens', 'embedded', 'bpe-a', 'train.json')))
    assert rc['inputs']['train']['text_sha256'] == sidecar['source_sha256']
    assert rc['inputs']['tokenizer_hash'] == rc['tokenizer_hash']
    other = train.train(config(data, tmp_path / 'seed2', seed=2))
    rc2 = json.load(open(os.path.join(other, 'config.json')))
    assert rc2['cell_id'] == rc['cell_id'] and rc2['run_id'] != rc['run_id']  # a seed is another run of one cell
    cb = json.load(open(os.path.join(train.train(config(data, tmp_path / 'cb', context_bytes=96)),
                                     'config.json')))  # block_size derived from the text
    for c in (rc, rc2, cb):  # what consumers recompute from config.json is what training recorded
        assert train.run_identity(c) == {'run_id': c['run_id'], 'cell_id': c['cell_id']}
    lr = json.load(open(os.path.join(train.train(config(data, tmp_path / 'lr', lr=2e-2)), 'config.json')))
    assert lr['cell_id'] != rc['cell_id']


def test_resume_on_changed_shards_refuses_and_unchanged_resumes_bit_identical(data, tmp_path):
    whole = train.train(config(data, tmp_path / 'whole'))
    parts = train.train(config(data, tmp_path / 'parts', stop_step=4))
    train.train(config(data, parts, init_from='resume'))  # unchanged inputs: resumes ...
    a = torch.load(os.path.join(whole, 'ckpt.pt'), weights_only=True)['model']
    b = torch.load(os.path.join(parts, 'ckpt.pt'), weights_only=True)['model']
    assert all(torch.equal(a[k], b[k]) for k in a)  # ... bit for bit

    stopped = train.train(config(data, tmp_path / 'stopped', stop_step=4))
    log_before = open(os.path.join(stopped, 'log.jsonl')).read()
    remake_train_split(data)  # row 5: prepare.py re-encoded with other split settings
    with pytest.raises(SystemExit) as e:
        train.train(config(data, stopped, init_from='resume'))
    one_line_refusal(e, 'checkpointed at step 4', 'other data', 'text_sha256', '--run_dir')
    with pytest.raises(SystemExit) as e:  # a finished run is not "done" on inputs it was not trained on
        train.train(config(data, whole))
    one_line_refusal(e, 'finished on other data')
    assert open(os.path.join(stopped, 'log.jsonl')).read() == log_before  # nothing written


def test_replaced_tokenizer_refuses(data, tmp_path):
    run_dir = train.train(config(data, tmp_path / 'run', stop_step=4))
    with open(os.path.join(data['out'], 'corpus', 'embedded', 'tok.jsonl')) as f:
        texts = [json.loads(line)['text'].upper() for line in f]
    shutil.rmtree(data['tok'])
    train_bpe(texts, 300, data['tok'], name='bpe-a')  # another bpe-a under the same name
    with pytest.raises(SystemExit) as e:
        train.train(config(data, run_dir, init_from='resume'))
    one_line_refusal(e, 'tokenizer hash', 'retrained or replaced')


def test_second_writer_of_a_run_folder_refuses(data, tmp_path):
    run_dir = tmp_path / 'run'
    with held_elsewhere(run_dir, 'run') as pid:
        with pytest.raises(SystemExit) as e:
            train.train(config(data, run_dir))
        one_line_refusal(e, f'pid {pid}', 'host', 'being written')
        assert not os.path.exists(run_dir / 'log.jsonl') and not os.path.exists(run_dir / 'ckpt.pt')
    train.train(config(data, run_dir, max_steps=2))  # the holder is gone: the run trains


def test_model_that_cannot_fit_is_refused_before_allocating(data, tmp_path):
    """A vocabulary of 10^10 ids (3.2e11 parameters at n_embd 32) is refused from its size alone: nothing is
    allocated, so the test takes no memory."""
    with pytest.raises(SystemExit) as e:
        train.train(config(data, tmp_path / 'run', model_args={**TINY, 'vocab_size': 10**10}))
    one_line_refusal(e, 'GiB for weights, gradients and AdamW', 'smaller vocabulary')
    assert not os.path.exists(tmp_path / 'run')


def test_log_on_a_full_disk_is_one_line(data, tmp_path, monkeypatch):
    import errno
    real_open = open

    def full(path, mode='r', *a, **k):
        if str(path).endswith('log.jsonl') and 'a' in mode:
            raise OSError(errno.ENOSPC, 'No space left on device')
        return real_open(path, mode, *a, **k)
    monkeypatch.setattr('builtins.open', full)
    with pytest.raises(SystemExit) as e:
        train.train(config(data, tmp_path / 'run'))
    one_line_refusal(e, 'log.jsonl', 'cannot write', 'disk is full')


def test_sigterm_during_setup_still_checkpoints(data, tmp_path):
    """A SIGTERM that arrives before the loop (while shards load) ends in a checkpoint and a clean exit, never in a
    process killed by the default action."""
    run_dir = tmp_path / 'run'
    code = ("import sys, os, signal; sys.path.insert(0, %r); import train, uniscale.shards as s\n"
            "real = s.TokenShards.__init__\n"
            "def slow(self, *a, **k):\n    os.kill(os.getpid(), signal.SIGTERM); real(self, *a, **k)\n"
            "train.TokenShards.__init__ = slow\n"
            "train.train(%r)") % (ROOT, config(data, run_dir, max_steps=50))
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'stopped at step 1 of 50 (signal SIGTERM)' in r.stdout
    ckpt = torch.load(run_dir / 'ckpt.pt', weights_only=True)
    assert ckpt['step'] == 1 and not ckpt['done']


def test_a_rebuilt_corpus_is_not_scored_and_the_unchanged_one_is(data, tmp_path):
    """Row 1: splits rebuilt in place put the run's training text into the test split; eval_bpb.py used to score
    it (2.4455 vs 2.5005 bpb on Brown). The run's recorded train sha256 tells."""
    run_dir = train.train(config(data, tmp_path / 'run', max_steps=2))
    cmd = [sys.executable, 'eval_bpb.py', f'--run={run_dir}', f"--corpus_dir={data['out']}/corpus", '--device=cpu']
    ok = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr[-2000:]  # unchanged: scored
    remake_train_split(data)
    r = subprocess.run(cmd + ['--force=True'], cwd=ROOT, capture_output=True, text=True, timeout=300)
    last = r.stderr.strip().splitlines()[-1]
    assert r.returncode == 1 and 'Traceback' not in r.stderr and 'was rebuilt after the run trained' in last
    assert 'may hold the run\'s own training text' in last


# ---------------------------------------------------------- issue 27 row 1: code is part of a run
@pytest.fixture
def forked_code(tmp_path, monkeypatch):
    """A fork's checkout: model.py's token_losses with label smoothing (the training code's identity
    changes)."""
    from uniscale import code_identity
    root = tmp_path / 'fork'
    for rel in code_identity.CODE_FILES['train'] + code_identity.CODE_FILES['eval']:
        os.makedirs(root / os.path.dirname(rel), exist_ok=True)
        shutil.copy(os.path.join(ROOT, rel), root / rel)
    text = (root / 'model.py').read_text()
    old = "return F.cross_entropy(logits, targets, ignore_index=-1, reduction='none')"
    assert old in text
    (root / 'model.py').write_text(text.replace(old, old[:-1] + ", label_smoothing=0.1)"))
    return lambda fork=True: monkeypatch.setattr(code_identity, 'ROOT', str(root) if fork else ROOT)


def test_a_finished_run_of_other_code_is_refused_kept_or_retrained(data, tmp_path, forked_code,
                                                                   capsys):
    run_dir = train.train(config(data, tmp_path / 'runs' / 'run', max_steps=2))
    forked_code()
    with pytest.raises(SystemExit) as e:  # it used to say "finished ...; nothing to do"
        train.train(config(data, run_dir, max_steps=2))
    one_line_refusal(e, 'finished by other code (differs in model.py)', '--code_changes=retrain',
                     '--code_changes=keep')
    train.train(config(data, run_dir, max_steps=2, code_changes='keep'))
    kept = json.load(open(os.path.join(run_dir, 'config.json')))
    from uniscale.code_identity import code_identity
    now = code_identity('train')['sha256']
    assert kept['code_kept'][-1]['sha256'] == now != kept['code']['sha256']
    capsys.readouterr()
    train.train(config(data, run_dir, max_steps=2))  # kept: this code's from now on
    assert 'nothing to do' in capsys.readouterr().out
    ckpt_before = open(os.path.join(run_dir, 'ckpt.pt'), 'rb').read()
    other = train.train(config(data, tmp_path / 'runs' / 'other', max_steps=2))
    forked_code(fork=False)  # the checkout again: 'other' is the fork's run
    train.train(config(data, other, max_steps=2, code_changes='retrain'))
    moved = os.listdir(tmp_path / 'runs' / '.replaced')
    assert len(moved) == 1 and moved[0].startswith('other.')
    assert os.path.isfile(tmp_path / 'runs' / '.replaced' / moved[0] / 'ckpt.pt')  # nothing lost
    rc = json.load(open(os.path.join(other, 'config.json')))
    assert rc['code']['sha256'] == code_identity('train')['sha256'] and torch.load(
        os.path.join(other, 'ckpt.pt'), weights_only=True)['done']
    assert open(os.path.join(run_dir, 'ckpt.pt'), 'rb').read() == ckpt_before


def test_an_unfinished_run_of_other_code_resumes_only_when_kept_with_its_history(data, tmp_path,
                                                                                forked_code):
    run_dir = train.train(config(data, tmp_path / 'run', stop_step=4))
    first = json.load(open(os.path.join(run_dir, 'config.json')))['code']
    forked_code()
    with pytest.raises(SystemExit) as e:
        train.train(config(data, run_dir, init_from='resume'))
    one_line_refusal(e, 'checkpointed at step 4 by other code (differs in model.py)',
                     '--code_changes=keep')
    train.train(config(data, run_dir, init_from='resume', code_changes='keep'))
    rc = json.load(open(os.path.join(run_dir, 'config.json')))
    assert rc['code']['sha256'] != first['sha256']
    assert [(h['sha256'], h['until_step']) for h in rc['code_history']] == [(first['sha256'], 4)]


def test_a_run_that_recorded_no_code_is_code_unknown(data, tmp_path):
    run_dir = train.train(config(data, tmp_path / 'run', max_steps=2))
    ckpt = torch.load(os.path.join(run_dir, 'ckpt.pt'), weights_only=True)
    del ckpt['config']['code']  # as train.py wrote it before issue 27
    torch.save(ckpt, os.path.join(run_dir, 'ckpt.pt'))
    rc = json.load(open(os.path.join(run_dir, 'config.json')))
    del rc['code']
    json.dump(rc, open(os.path.join(run_dir, 'config.json'), 'w'))
    with pytest.raises(SystemExit) as e:
        train.train(config(data, run_dir, max_steps=2))
    one_line_refusal(e, 'finished by code unknown', '--code_changes=keep')


@pytest.mark.parametrize('spelling', ['trailing slash', 'dot slash', 'absolute', 'out_dir absolute',
                                      'moved'])
def test_a_path_spelled_otherwise_is_the_same_run(data, tmp_path, monkeypatch, spelling, capsys):
    """Row 4: the same tokenizer and shards under another spelling of their paths is the same run
    (it used to be 'finished with other settings ... delete out/runs/X to retrain it')."""
    root = os.path.dirname(data['out'])
    monkeypatch.chdir(root)
    first = 'tokenizers/bpe-a'
    run_dir = train.train(config(data, tmp_path / 'run', max_steps=2, tokenizer=first,
                                 out_dir='out'))
    tok = {'trailing slash': 'tokenizers/bpe-a/', 'dot slash': './tokenizers/bpe-a',
           'absolute': os.path.join(root, 'tokenizers', 'bpe-a'), 'out_dir absolute': first,
           'moved': 'elsewhere/bpe-a'}[spelling]
    if spelling == 'moved':
        shutil.move(os.path.join(root, 'tokenizers'), os.path.join(root, 'elsewhere'))
    out = os.path.join(root, 'out') if spelling == 'out_dir absolute' else 'out'
    capsys.readouterr()
    train.train(config(data, run_dir, max_steps=2, tokenizer=tok, out_dir=out))
    assert 'nothing to do' in capsys.readouterr().out
    start = tok if spelling == 'moved' else first
    stopped = train.train(config(data, tmp_path / 'stopped', stop_step=4, tokenizer=start,
                                 out_dir='out'))
    train.train(config(data, stopped, init_from='resume', tokenizer=tok, out_dir=out))  # resumes
    if spelling == 'moved':  # the finished run now finds its tokenizer where it moved: scored
        assert json.load(open(os.path.join(run_dir, 'config.json')))['tokenizer'] == tok
        import eval_bpb
        ecfg = {**configurator.defaults(eval_bpb), 'run': run_dir, 'device': 'cpu',
                'corpus_dir': os.path.join(root, 'out', 'corpus')}
        assert eval_bpb.main(ecfg)[run_dir]['tokenizer_hash'] == load_tokenizer(tok).hash


def test_an_evaluation_records_its_code_and_other_eval_code_scores_again(data, tmp_path,
                                                                         forked_code):
    import eval_bpb
    run_dir = train.train(config(data, tmp_path / 'run', max_steps=2))
    ecfg = {**configurator.defaults(eval_bpb), 'run': run_dir, 'device': 'cpu',
            'corpus_dir': os.path.join(data['out'], 'corpus')}
    ev = eval_bpb.main(ecfg)[run_dir]
    from uniscale.code_identity import code_identity
    assert ev['eval_code'] == ev['code']['sha256'] == code_identity('eval')['sha256']
    assert eval_bpb.main(ecfg)[run_dir] is None  # the same code: skipped
    forked_code()  # model.py is in the evaluation code too
    again = eval_bpb.main(ecfg)[run_dir]
    assert again is not None
    assert again['eval_code'] == code_identity('eval')['sha256'] != ev['eval_code']


def test_keep_on_a_run_refused_for_its_inputs_writes_nothing(data, tmp_path, forked_code):
    run_dir = train.train(config(data, tmp_path / 'run', max_steps=2))
    before = open(os.path.join(run_dir, 'config.json')).read()
    forked_code()
    remake_train_split(data)
    with pytest.raises(SystemExit) as e:
        train.train(config(data, run_dir, max_steps=2, code_changes='keep'))
    one_line_refusal(e, 'finished on other data')
    assert open(os.path.join(run_dir, 'config.json')).read() == before
