import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

import configurator
import helpers
import prepare
import train
from model import GPT, make_config, model_from_checkpoint
from tokenizer import train_bpe
from uniscale.bpb import bits_per_byte, validation_bpb
from uniscale import shards as shards_module
from uniscale import train_runtime
from uniscale.shards import PackedWindows, TokenShards, eval_set
from uniscale.tokenization import load_tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = {'n_layer': 1, 'n_head': 2, 'n_embd': 32}


pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(scope='session')
def data(tmp_path_factory):
    """A small embedded corpus encoded by two BPE tokenizers of different sizes (a and b)."""
    root = tmp_path_factory.mktemp('train_data')
    pcfg = configurator.defaults(prepare)
    pcfg.update(out_dir=str(root / 'out'), embedded_bytes=300_000, tok_bytes=60_000, eval_fraction=0.1,
                num_workers=1, chunk_docs=16, shard_tokens=30_000)  # several train shards
    prepare.make_splits(pcfg)
    with open(root / 'out' / 'corpus' / 'embedded' / 'tok.jsonl') as f:
        texts = [json.loads(line)['text'] for line in f]
    toks = {}
    for name, size in (('bpe-a', 300), ('bpe-b', 420)):
        path = str(root / 'tokenizers' / name)
        train_bpe(texts, size, path, name=name)
        prepare.encode_corpus(pcfg, path)
        toks[name] = path
    return {'out': str(root / 'out'), 'a': toks['bpe-a'], 'b': toks['bpe-b'], 'corpus': pcfg}


def config(data, run_dir, **kw):
    cfg = configurator.defaults(train)
    cfg.update(out_dir=data['out'], run_dir=str(run_dir), tokenizer=data['a'], preset='gpt2-tiny', model_args=TINY,
               block_size=32, batch_size=4, max_steps=20, warmup_steps=2, lr=1e-2, eval_interval=10, eval_docs=2,
               eval_batch_size=64, log_interval=1, compile=False, device='cpu')
    cfg.update(kw)
    return cfg


def read_log(run_dir):
    with open(os.path.join(run_dir, 'log.jsonl')) as f:
        return [json.loads(line) for line in f]


def load_ckpt(run_dir):
    return torch.load(os.path.join(run_dir, 'ckpt.pt'), map_location='cpu', weights_only=True)


def numbers(events):
    """What must not change between runs: everything but the wall-clock."""
    drop = {'elapsed_s', 'compile_s', 'wall_s', 'tok_per_s', 'mfu'}
    return [{k: v for k, v in e.items() if k not in drop} for e in events]


def test_loss_falls_on_the_embedded_corpus(data, tmp_path):
    run_dir = train.train(config(data, tmp_path / 'run', max_steps=60, eval_interval=30, batch_size=8,
                                       eval_docs=8))
    events = read_log(run_dir)
    val = [e['val_loss'] for e in events if 'val_loss' in e]
    assert len(val) == 3 and val[0] > val[1] > val[2] and val[0] - val[2] > 0.5
    assert val[0] == pytest.approx(math.log(300), abs=0.3)  # an untrained model is near-uniform over the vocabulary
    train_losses = [e['train_loss'] for e in events if 'train_loss' in e]
    assert np.mean(train_losses[-10:]) < np.mean(train_losses[:5]) - 0.7
    with open(os.path.join(run_dir, 'config.json')) as f:
        cfg = json.load(f)
    for key in ('arch', 'preset', 'seed', 'tokenizer', 'corpus', 'budget_unit', 'tokenizer_hash'):
        assert key in cfg
    assert cfg['arch'] == 'gpt2' and cfg['tokenizer'] == data['a']
    ckpt = load_ckpt(run_dir)
    assert ckpt['done'] and ckpt['step'] == 60 and ckpt['tokens_seen'] == 60 * 8 * 32


def test_default_run_folder_is_named_preset_tokenizer_seed(data, tmp_path):
    cfg = config(data, '', out_dir=str(tmp_path), seed=3)
    assert train.run_dir_for(cfg, 'bpe-a') == os.path.join(str(tmp_path), 'runs', 'gpt2-tiny_bpe-a_s3')
    assert train.run_dir_for({**cfg, 'run_dir': 'elsewhere/x'}, 'bpe-a') == 'elsewhere/x'


def test_resume_matches_uninterrupted_run(data, tmp_path):
    # dropout on, so the restored RNG states matter too
    kw = dict(max_steps=12, eval_interval=4, dropout=0.1, micro_batch_size=2)
    whole = train.train(config(data, tmp_path / 'whole', **kw))
    parts = str(tmp_path / 'parts')
    train.train(config(data, parts, stop_step=6, **kw))
    assert not load_ckpt(parts)['done'] and load_ckpt(parts)['step'] == 6
    train.train(config(data, parts, init_from='resume', **kw))
    assert numbers(read_log(parts)) == numbers(read_log(whole))
    a, b = load_ckpt(whole), load_ckpt(parts)
    assert a['step'] == b['step'] == 12 and b['done']
    assert all(torch.equal(a['model'][k], b['model'][k]) for k in a['model'])


def test_resume_drops_events_logged_after_the_checkpoint(data, tmp_path):
    kw = dict(max_steps=8, eval_interval=4)
    run_dir = train.train(config(data, tmp_path / 'run', stop_step=4, **kw))
    with open(os.path.join(run_dir, 'log.jsonl'), 'a') as f:  # as if the run had died at step 5, after logging it
        f.write(json.dumps({'step': 5, 'train_loss': 99.0}) + '\n')
    train.train(config(data, run_dir, init_from='resume', **kw))
    steps = [e['step'] for e in read_log(run_dir)]
    assert steps == list(range(9)) and 99.0 not in [e.get('train_loss') for e in read_log(run_dir)]


def test_resume_refuses_other_settings_and_scratch_refuses_a_checkpoint(data, tmp_path):
    run_dir = train.train(config(data, tmp_path / 'run', stop_step=2))
    with pytest.raises(SystemExit, match=r"checkpointed at step 2 with other settings: lr=0.01 \(now 0.02\)"):
        train.train(config(data, run_dir, init_from='resume', lr=0.02))
    with pytest.raises(SystemExit, match='unfinished run.*--init_from=resume'):
        train.train(config(data, run_dir))
    with pytest.raises(SystemExit, match='nothing to resume'):
        train.train(config(data, tmp_path / 'never', init_from='resume'))


def test_finished_run_asked_with_other_settings_refuses_naming_the_keys(data, tmp_path):
    run_dir = train.train(config(data, tmp_path / 'run', max_steps=3))
    with pytest.raises(SystemExit, match=r"finished with other settings: lr=0.01 \(now 0.5\), warmup_steps=2 \(now 7\)"
                                         r".*own --run_dir"):
        train.train(config(data, run_dir, max_steps=3, lr=0.5, warmup_steps=7))
    # what does not change the numbers may differ (compile, micro batch, logging)
    assert train.train(config(data, run_dir, max_steps=3, micro_batch_size=2, log_interval=5)) == run_dir


def test_unknown_preset_is_refused_before_any_work_even_for_a_finished_run(data, tmp_path):
    run_dir = train.train(config(data, tmp_path / 'run', max_steps=2))
    for where in (run_dir, str(tmp_path / 'new')):
        with pytest.raises(SystemExit, match=r"preset='apertus-5M' is not a model.py preset; choose one of"):
            train.train(config(data, where, preset='apertus-5M'))
    assert not os.path.exists(tmp_path / 'new')


def test_a_signal_checkpoints_at_the_current_step_and_resume_equals_an_uninterrupted_run(data, tmp_path, monkeypatch):
    import signal
    kw = dict(max_steps=12, eval_interval=4, dropout=0.1, log_interval=1)
    whole = train.train(config(data, tmp_path / 'whole', **kw))
    real = train.lr_at

    def lr_signalling(step, cfg, total):  # SLURM's warning arrives during step 6 (between two evaluations)
        if step == 6:
            os.kill(os.getpid(), signal.SIGUSR1)
        return real(step, cfg, total)
    monkeypatch.setattr(train, 'lr_at', lr_signalling)
    parts = train.train(config(data, tmp_path / 'parts', **kw))
    ckpt = load_ckpt(parts)
    assert ckpt['step'] == 7 and not ckpt['done']  # checkpointed at the step it was in, not at the last evaluation
    monkeypatch.setattr(train, 'lr_at', real)
    train.train(config(data, parts, init_from='resume', **kw))
    assert numbers(read_log(parts)) == numbers(read_log(whole))
    a, b = load_ckpt(whole), load_ckpt(parts)
    assert b['done'] and all(torch.equal(a['model'][k], b['model'][k]) for k in a['model'])
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL  # the handler does not outlive the run


def test_elapsed_counts_training_steps_only(data, tmp_path, monkeypatch):
    import time as _time
    real = train.validation_bpb

    def slow_validation(*a, **k):
        _time.sleep(0.4)
        return real(*a, **k)
    monkeypatch.setattr(train, 'validation_bpb', slow_validation)
    run_dir = train.train(config(data, tmp_path / 'run', max_steps=8, eval_interval=4))  # 3 validations: 1.2 s
    last, ckpt = read_log(run_dir)[-1], load_ckpt(run_dir)
    assert last['wall_s'] - last['elapsed_s'] >= 0.8  # the last event is written before its own validation
    assert ckpt['wall_s'] - ckpt['elapsed_s'] >= 1.2 and ckpt['compile_s'] == 0.0
    assert ckpt['elapsed_s'] == pytest.approx(last['elapsed_s'], abs=0.2)


def test_context_bytes_sets_block_size_from_the_tokenizers_bytes_per_token(data, tmp_path):
    runs = {}
    for name in ('a', 'b'):
        runs[name] = train.train(config(data, tmp_path / name, tokenizer=data[name], context_bytes=120, max_steps=2))
    for name, run_dir in runs.items():
        with open(os.path.join(run_dir, 'config.json')) as f:
            cfg = json.load(f)
        bpt = TokenShards(cfg['tokens_dir'], 'train').bytes_per_token
        assert cfg['block_size'] == max(8, round(120 / bpt / 8) * 8) and cfg['context_bytes'] == 120
        assert load_ckpt(run_dir)['model_config']['block_size'] == cfg['block_size']
    # a resumed or re-asked run compares the request (context_bytes), not the block size derived from it
    assert train.train(config(data, runs['a'], tokenizer=data['a'], context_bytes=120, max_steps=2)) == runs['a']


def test_epochs_are_recorded_and_a_repeating_run_says_so(data, tmp_path, capsys):
    shards = TokenShards(os.path.join(data['out'], 'tokens', 'embedded', 'bpe-a'), 'train')
    big = dict(max_steps=0, budget_unit='tokens', batch_size=64, eval_interval=0, log_interval=0)  # few steps
    for name, share in (('half', 0.5), ('twice', 2.5)):
        run_dir = train.train(config(data, tmp_path / name, budget=share * shards.n_tokens, **big))
        with open(os.path.join(run_dir, 'config.json')) as f:
            assert json.load(f)['epochs'] == pytest.approx(share, rel=0.03)
        said = 'reads its train split 2.5' in capsys.readouterr().out
        assert said == (share > 1)


def test_budget_in_bytes_converts_with_bytes_per_token(data, tmp_path):
    shards = TokenShards(os.path.join(data['out'], 'tokens', 'embedded', 'bpe-a'), 'train')
    bpt = shards.bytes_per_token
    assert 1 < bpt < 5
    cfg = config(data, tmp_path / 'run', max_steps=0, budget_unit='bytes', budget=5_000.0)
    steps = train.steps_for_budget(cfg, bpt, 10 ** 6)
    assert steps == math.ceil(5_000 / bpt / (4 * 32))
    assert steps == train.steps_for_budget({**cfg, 'budget_unit': 'tokens', 'budget': 5_000 / bpt}, bpt, 10 ** 6)
    assert train.steps_for_budget({**cfg, 'max_steps': 7}, bpt, 10 ** 6) == 7  # max_steps overrides the budget
    assert train.steps_for_budget({**cfg, 'budget': 0.0}, bpt, 1000) == 1000 // 4  # 0 = one epoch of windows
    last = read_log(train.train(cfg))[-1]
    assert last['step'] == steps and last['tokens'] == steps * 4 * 32
    assert 5_000 <= last['bytes'] < 5_000 + 4 * 32 * bpt + 1


def test_same_seed_reads_the_same_documents_in_the_same_order_for_two_tokenizers(data):
    def stream_docs(name, seed, n_windows=600):
        tok = load_tokenizer(data[name])
        shards = TokenShards(os.path.join(data['out'], 'tokens', 'embedded', tok.name), 'train')
        packed = PackedWindows(shards, 32, seed)
        w = packed.windows(0, n_windows)
        ids = np.concatenate([w[0, :1], w[:, 1:].reshape(-1)])  # consecutive windows share one token
        docs = [tok.decode(d[1:].tolist()) for d in np.split(ids, np.flatnonzero(ids == tok.bos_id))[1:]]
        return docs[:-1], packed.doc_order(0)  # the last document may be cut off
    a, order_a = stream_docs('a', seed=1)
    b, order_b = stream_docs('b', seed=1)
    n = min(len(a), len(b))
    assert n >= 5 and a[:n] == b[:n] and np.array_equal(order_a, order_b)
    with open(os.path.join(data['out'], 'corpus', 'embedded', 'train.jsonl')) as f:
        texts = [json.loads(line)['text'] for line in f]
    assert a[:n] == [texts[i] for i in order_a[:n]]  # the permutation is over the split's document order
    c, _ = stream_docs('a', seed=2)
    assert c[:n] != a[:n]


def test_windows_cover_the_stream_once_and_wrap_into_a_new_epoch(data):
    shards = TokenShards(os.path.join(data['out'], 'tokens', 'embedded', 'bpe-a'), 'train')
    packed = PackedWindows(shards, 32, seed=1)
    W = packed.windows_per_epoch
    assert W == (shards.n_tokens - 1) // 32
    order = packed.doc_order(0)
    docs = list(shards.documents())
    stream = np.concatenate([docs[i] for i in order])
    w = packed.windows(0, W)
    assert np.array_equal(w[:, :-1].reshape(-1), stream[:W * 32]) and np.array_equal(w[:, -1], stream[32:W * 32 + 1:32])
    nxt = packed.windows(W, 1)[0]  # epoch 1 starts over, in another order
    assert np.array_equal(nxt, np.concatenate([docs[i] for i in packed.doc_order(1)])[:33])
    assert not np.array_equal(packed.doc_order(1), order)


def test_document_starts_from_the_sidecar_give_the_windows_of_a_bos_scan(data, tmp_path, capsys, monkeypatch):
    """prepare.py records each shard's document starts; PackedWindows and eval_set read them (no scan) and give the
    windows that a sidecar from before they were stored gives by scanning for BOS (with one note). prepare.py run
    again on such a sidecar records them, keeping the shards and the run identity; a damaged starts file is refused."""
    tok = load_tokenizer(data['a'])
    new = os.path.join(data['out'], 'tokens', 'embedded', 'bpe-a')
    old = str(tmp_path / 'old')
    shutil.copytree(new, old)
    for split in ('train', 'val'):  # as prepare.py wrote sidecars before this change
        with open(os.path.join(old, f'{split}.json')) as f:
            meta = json.load(f)
        for entry in meta['shards']:
            os.remove(os.path.join(old, entry.pop('starts')['file']))
        with open(os.path.join(old, f'{split}.json'), 'w') as f:
            json.dump(meta, f)

    def read(tokens_dir):
        packed = PackedWindows(TokenShards(tokens_dir, 'train'), 32, seed=1)
        return packed.windows(0, packed.windows_per_epoch + 5), eval_set(TokenShards(tokens_dir, 'val'), tok, 8, 32)
    with monkeypatch.context() as m:
        m.setattr(shards_module, 'bos_positions', lambda *a: pytest.fail('scanned for BOS'))
        windows, (val, n_docs, n_bytes) = read(new)
    capsys.readouterr()
    old_windows, (old_val, old_docs, old_bytes) = read(old)
    assert capsys.readouterr().out.count('records no document starts') == 2  # once per split
    assert np.array_equal(windows, old_windows) and (n_docs, n_bytes) == (old_docs, old_bytes) == (8, n_bytes)
    assert len(val) == len(old_val) and all(np.array_equal(a, b) and i == j for (a, i), (b, j) in zip(val, old_val))
    before = train.data_identity(TokenShards(old, 'train').meta)
    prepare.encode_split(tok, data['a'], os.path.join(data['out'], 'corpus', 'embedded'), 'train', old, data['corpus'])
    assert 'document starts are recorded now' in capsys.readouterr().out
    fresh = TokenShards(old, 'train')
    assert train.data_identity(fresh.meta) == before == train.data_identity(TokenShards(new, 'train').meta)
    for entry in fresh.meta['shards']:  # the encoder's starts and the scan's are the same files
        name = entry['starts']['file']
        assert open(os.path.join(old, name), 'rb').read() == open(os.path.join(new, name), 'rb').read()
    with open(os.path.join(old, 'train_0001.starts.npy'), 'r+b') as f:
        f.seek(-1, 2)
        f.write(b'\x7f')
    with pytest.raises(SystemExit) as e:
        PackedWindows(TokenShards(old, 'train'), 32, seed=1)
    msg = str(e.value)
    assert 'train_0001.starts.npy: not the document starts' in msg and 're-run prepare.py' in msg and '\n' not in msg


def test_validation_scores_whole_documents_as_eval_bpb_does(data):
    tok = load_tokenizer(data['a'])
    shards = TokenShards(os.path.join(data['out'], 'tokens', 'embedded', 'bpe-a'), 'val')
    windows, n_docs, n_bytes = eval_set(shards, tok, 6, 32)
    pick = np.linspace(0, shards.n_docs - 1, 6).round().astype(int)
    docs = list(shards.documents())
    assert n_docs == 6 and sum(len(w) - 1 - skip for w, skip in windows) == sum(len(docs[i]) - 1 for i in pick)
    assert all(len(w) <= 33 for w, _ in windows) and sum(w[0] == tok.bos_id for w, _ in windows) == 6
    with open(os.path.join(data['out'], 'corpus', 'embedded', 'val.jsonl')) as f:
        texts = [json.loads(line)['text'] for line in f]
    assert n_bytes == sum(len(texts[i].encode('utf-8')) for i in pick)  # bytes of the original text
    # the same numbers as eval_bpb.py (the definition in DESIGN.md), whatever the batch
    torch.manual_seed(0)
    model = GPT(make_config('gpt2-tiny', tok.vocab_size, 32, **TINY)).eval()
    ref = bits_per_byte(model, tok, [texts[i] for i in pick], ['x'] * 6)
    n, c = helpers.longest_reduction(model.config, 32), 2 * helpers.C_FORWARD  # two fp32 paths
    for batch in (1, 5, 64):
        loss, bpb = validation_bpb(model, windows, n_bytes, 'cpu', 'float32', max_tokens=batch * 32)
        helpers.assert_fp32_close(loss, ref['nll_per_token'], n, c, what=f'val loss, batch {batch}')
        helpers.assert_fp32_close(bpb, ref['bpb'], n, c, what=f'val bpb, batch {batch}')


def test_lr_is_not_zero_at_step_zero_and_follows_the_schedule(data, tmp_path):
    cfg = config(data, tmp_path, lr=1.0, min_lr_ratio=0.1, warmup_steps=10)
    lrs = [train.lr_at(s, cfg, 100) for s in range(100)]
    assert lrs[0] > 0 and lrs[9] < lrs[10] == 1.0 and all(a < b for a, b in zip(lrs[:10], lrs[1:11]))
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:])) and lrs[-1] == pytest.approx(0.1, abs=1e-3)
    wsd = [train.lr_at(s, {**cfg, 'schedule': 'wsd', 'decay_frac': 0.2}, 100) for s in range(100)]
    assert wsd[0] > 0 and set(wsd[10:80]) == {1.0} and wsd[80] < 1.0 and wsd[-1] == pytest.approx(0.1)
    assert [train.lr_at(s, {**cfg, 'schedule': 'constant'}, 100) for s in (50, 99)] == [1.0, 1.0]
    run_dir = train.train(config(data, tmp_path / 'run', max_steps=2, warmup_steps=5))
    assert [e['lr'] for e in read_log(run_dir)] == [1e-2 / 6, 1e-2 / 6, 2e-2 / 6]  # step 0 event, then the updates


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(data, tmp_path, monkeypatch):
    real = train.lr_at
    monkeypatch.setattr(train, 'lr_at', lambda step, cfg, total: float('nan') if step >= 5 else real(step, cfg, total))
    run_dir = str(tmp_path / 'run')
    with pytest.raises(SystemExit, match=r'train loss .* is not finite at step 7; stopped, the last good checkpoint '
                                         r'\(step 4\) is kept .*lower lr or more warmup_steps under a new --run_dir'):
        train.train(config(data, run_dir, max_steps=20, eval_interval=4))
    ckpt = load_ckpt(run_dir)
    assert ckpt['step'] == 4 and not ckpt['done']
    assert all(torch.isfinite(v).all() for v in ckpt['model'].values())
    assert max(e['step'] for e in read_log(run_dir)) == 6  # the update at step 5 made the weights nan
    with pytest.raises(SystemExit, match=r'not finite at step 7; stopped, no checkpoint was written \(the first comes '
                                         r'at step 10\)'):
        train.train(config(data, str(tmp_path / 'early'), max_steps=20, eval_interval=10))


def test_finished_run_exits_at_once_saying_so(data, tmp_path, capsys):
    run_dir = train.train(config(data, tmp_path / 'run', max_steps=3))
    mtime, n_events = os.path.getmtime(os.path.join(run_dir, 'ckpt.pt')), len(read_log(run_dir))
    capsys.readouterr()
    for init_from in ('scratch', 'resume'):
        assert train.train(config(data, run_dir, max_steps=3, init_from=init_from)) == run_dir
        assert 'finished at step 3' in capsys.readouterr().out
    assert os.path.getmtime(os.path.join(run_dir, 'ckpt.pt')) == mtime and len(read_log(run_dir)) == n_events


def test_unknown_config_key_is_one_line_error():
    r = subprocess.run([sys.executable, 'train.py', '--no_such_key=1'], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode != 0 and "unknown key 'no_such_key'" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize('case', ['other_tokenizer', 'vocab_too_small', 'missing_shard', 'bad_batch', 'bad_unit'])
def test_bad_input_is_one_line_error_before_any_compute(data, tmp_path, case):
    tokens_a = os.path.join(data['out'], 'tokens', 'embedded', 'bpe-a')
    kw = {'other_tokenizer': dict(tokenizer=data['b'], tokens_dir=tokens_a),
          'vocab_too_small': dict(model_args={**TINY, 'vocab_size': 200}),
          'missing_shard': dict(tokens_dir=str(tmp_path / 'tokens')),
          'bad_batch': dict(batch_size=6, micro_batch_size=4),
          'bad_unit': dict(budget_unit='words')}[case]
    if case == 'missing_shard':
        shutil.copytree(tokens_a, tmp_path / 'tokens')
        os.remove(tmp_path / 'tokens' / 'train_0001.bin')
    expect = {'other_tokenizer': 'shards were written by tokenizer bpe-a',
              'vocab_too_small': "model's vocabulary is 200",
              'missing_shard': 'train_0001.bin: shard not found', 'bad_batch': 'must be a multiple of micro_batch_size',
              'bad_unit': "budget_unit='words'"}[case]
    with pytest.raises(SystemExit) as e:
        train.train(config(data, tmp_path / 'run', **kw))
    assert expect in str(e.value) and '\n' not in str(e.value)
    assert not os.path.exists(tmp_path / 'run')  # nothing written, nothing computed


def test_a_full_disk_at_a_checkpoint_is_one_line_and_keeps_the_last_checkpoint(data, tmp_path, monkeypatch):
    import errno
    run_dir = train.train(config(data, tmp_path / 'run', max_steps=8, eval_interval=4, stop_step=4))
    before = open(os.path.join(run_dir, 'ckpt.pt'), 'rb').read()
    real = torch.save

    def full_disk(obj, path, *a, **k):
        with open(path, 'wb') as f:
            f.write(b'partial')  # the write got this far
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(torch, 'save', full_disk)
    with pytest.raises(SystemExit) as e:
        train.train(config(data, run_dir, max_steps=8, eval_interval=4, init_from='resume'))
    msg = str(e.value)
    assert 'ckpt.pt: could not write the checkpoint at step 8 (' in msg and 'free disk space' in msg and '\n' not in msg
    assert open(os.path.join(run_dir, 'ckpt.pt'), 'rb').read() == before  # the step-4 checkpoint is intact
    assert [f for f in os.listdir(run_dir) if f.endswith('.tmp')] == []
    monkeypatch.setattr(torch, 'save', real)


def test_checkpoints_are_written_in_the_background_and_the_one_in_flight_at_the_end_is_complete(data, tmp_path,
                                                                                                monkeypatch):
    import threading
    import time as _time
    step3_logged, stalled, in_flight = threading.Event(), [], []
    real_append, real_save, real_wait = train.append_event, torch.save, train_runtime.CheckpointWriter.wait

    def append(path, event, wandb=None):
        real_append(path, event, wandb)
        if event['step'] == 3:
            step3_logged.set()

    def slow_save(obj, path, *a, **k):
        if obj['step'] == 2:  # this write finishes only once the run has logged step 3: the run did not wait for it
            stalled.append(not step3_logged.wait(timeout=60))
        else:
            _time.sleep(1.5)  # the last write is still going when the loop ends
        real_save(obj, path, *a, **k)

    def wait(self, quiet=False):
        in_flight.append(self.thread is not None and self.thread.is_alive())
        return real_wait(self, quiet)
    monkeypatch.setattr(train, 'append_event', append)
    monkeypatch.setattr(torch, 'save', slow_save)
    monkeypatch.setattr(train_runtime.CheckpointWriter, 'wait', wait)
    run_dir = train.train(config(data, tmp_path / 'run', max_steps=4, eval_interval=2))
    assert stalled == [False] and any(in_flight)
    ckpt = load_ckpt(run_dir)  # complete: train() returned after the write
    assert ckpt['done'] and ckpt['step'] == 4 and all(torch.isfinite(v).all() for v in ckpt['model'].values())
    assert [f for f in os.listdir(run_dir) if f.endswith('.tmp')] == []
    assert not any(t.name == 'checkpoint-writer' for t in threading.enumerate())


def test_a_broken_checkpoint_and_a_killed_writes_temp_file(data, tmp_path):
    from test_btm import dead_pid
    run_dir = train.train(config(data, tmp_path / 'run', max_steps=4, stop_step=2))
    stale = os.path.join(run_dir, f'ckpt.pt.{dead_pid()}.tmp')  # a checkpoint write killed half way
    open(stale, 'wb').write(b'half')
    train.train(config(data, run_dir, max_steps=4, init_from='resume'))
    assert not os.path.exists(stale) and load_ckpt(run_dir)['done']
    with open(os.path.join(run_dir, 'ckpt.pt'), 'r+b') as f:
        f.truncate(1000)  # cut short
    with pytest.raises(SystemExit, match=r'ckpt.pt: not a readable uniscale checkpoint .*train the run again'):
        train.train(config(data, run_dir, max_steps=4, init_from='resume'))


@pytest.mark.parametrize('two_micro', [1, 2])
def test_two_processes_give_the_losses_of_one(data, tmp_path, two_micro):
    """DDP as train_runtime.ddp_options sets it (gradients as bucket views, zeroed in place; static_graph without
    accumulation) gives one process's curve: 2 processes x 2 micro-steps of 1 sequence (no_sync on the first,
    static_graph off), or 2 processes x 1 micro-step of 2 (static_graph on)."""
    kw = dict(max_steps=6, eval_interval=3, batch_size=4)
    one = train.train(config(data, tmp_path / 'one', micro_batch_size=2, **kw))  # 1 process x 2 micro-steps
    two = str(tmp_path / 'two')
    args = [f"--{k}={v}" for k, v in config(data, two, micro_batch_size=two_micro, **kw).items()
            if k in ('out_dir', 'run_dir', 'tokenizer', 'preset', 'block_size', 'max_steps', 'warmup_steps', 'lr',
                     'eval_interval', 'eval_docs', 'log_interval', 'compile', 'device', 'batch_size',
                     'micro_batch_size')]
    args.append(f"--model_args={TINY}")
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
                        'train.py'] + args, cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    a, b = read_log(one), read_log(two)
    assert [e['step'] for e in a] == [e['step'] for e in b]
    # two summation orders of each step's gradient (two bounds: c = 2 C_BACKWARD); each step's
    # rounding adds to the weights as one more stretch of a long sum does (Adam's update is relative
    # to the gradient's size: it passes a relative error on, not grows it): n = steps x a step's n
    model_cfg = make_config('gpt2-tiny', 300, 32, **TINY)  # bpe-a's 300 ids, blocks of 32
    n = kw['max_steps'] * helpers.longest_reduction(model_cfg, kw['batch_size'] * 32)
    c = 2 * helpers.C_BACKWARD
    for key in ('train_loss', 'val_loss', 'val_bpb', 'grad_norm'):
        got, want = ([e[key] for e in log if key in e] for log in (b, a))
        assert len(got) == len(want) and [key in e for e in a] == [key in e for e in b], key
        helpers.assert_fp32_close(got, want, n, c, scale=np.abs(want), what=key)
    losses = np.array([e['train_loss'] for e in a if 'train_loss' in e])
    n_tokens = kw['batch_size'] * 32
    wrong_mean = losses * n_tokens / (n_tokens - 1)  # a step's tokens summed over one too few
    assert helpers.fp32_error_ratio(losses, wrong_mean, n, c, scale=losses, what='bug: a mean') > 1
    with open(os.path.join(two, 'config.json')) as f:
        two_cfg = json.load(f)
    assert two_cfg['world_size'] == 2 and two_cfg['grad_accum'] == 2 // two_micro
    assert two_cfg['ddp'] == {'bucket_cap_mb': 25, 'gradient_as_bucket_view': True, 'static_graph': two_micro == 2,
                              'sync_buffers': False}


def test_regional_compile_gives_the_eager_losses_and_checkpoints_without_prefixes(data, tmp_path, monkeypatch):
    """The one compile test (~30-40 s cold on 2 CPU cores): each block compiled (compile_mode='regional', the
    default), inductor's caches in compile_cache_dir; the losses are eager's to float32 rounding, and the checkpoint's
    keys are the uncompiled model's."""
    cache = tmp_path / 'compile_cache'
    monkeypatch.setenv('TORCHINDUCTOR_CACHE_DIR', str(tmp_path / 'elsewhere'))  # restored after the test
    kw = dict(max_steps=3, eval_interval=3)
    eager = train.train(config(data, tmp_path / 'eager', **kw))
    run_dir = train.train(config(data, tmp_path / 'run', compile=True, compile_cache_dir=str(cache), **kw))
    a, b = read_log(eager), read_log(run_dir)
    assert [e['step'] for e in a] == [e['step'] for e in b]
    for key in ('train_loss', 'val_loss', 'grad_norm'):
        got, want = [e[key] for e in b if key in e], [e[key] for e in a if key in e]
        assert len(got) == len(want) >= 1 and got == pytest.approx(want, rel=1e-4, abs=1e-6), key
    assert b[1]['compile_s'] > 0 and os.listdir(cache)  # the first step's compile, cached for a requeue
    ckpt = load_ckpt(run_dir)
    assert ckpt['done'] and set(ckpt['model']) == set(load_ckpt(eager)['model'])
    model_from_checkpoint(ckpt)  # what eval_bpb.py and export_hf.py load


@pytest.mark.parametrize('loss_chunk', [0, 7])
def test_patching_the_loss_line_in_model_py_changes_the_training_step(monkeypatch, loss_chunk):
    """A fork edits model.token_losses (here: label smoothing); train.py's own step then trains on that loss, with
    the chunked head or the plain one, and its gradients are the smoothed loss's, computed here from full logits."""
    import contextlib

    import torch.nn.functional as F

    import model as model_module

    def smoothed(logits, targets):
        return F.cross_entropy(logits, targets, ignore_index=-1, reduction='none', label_smoothing=0.2)
    torch.manual_seed(0)
    net = GPT(make_config('gpt2-tiny', 50, 16, loss_chunk=loss_chunk, **TINY))
    xy = torch.randint(0, 50, (3, 17), generator=torch.Generator().manual_seed(1))
    micro = [lambda: (xy[:, :-1], xy[:, 1:])]

    def one_step(loss_fn):
        monkeypatch.setattr(model_module, 'token_losses', loss_fn)
        m = GPT(make_config('gpt2-tiny', 50, 16, loss_chunk=loss_chunk, **TINY))
        m.load_state_dict(net.state_dict())
        opt = torch.optim.SGD(m.parameters(), lr=0.0)  # lr 0: keep the gradients to look at
        opt.zero_grad = lambda set_to_none=True: None
        loss, _ = train.train_step(m, opt, micro, 0.0, contextlib.nullcontext())
        return loss.item(), {k: p.grad.clone() for k, p in m.named_parameters()}
    plain_loss, plain_grads = one_step(model_module.token_losses)
    smooth_loss, smooth_grads = one_step(smoothed)
    # the reference: full logits, the smoothed loss, autograd
    ref = GPT(make_config('gpt2-tiny', 50, 16, loss_chunk=0, **TINY))
    ref.load_state_dict(net.state_dict())
    ref.double()  # the same weights in float64
    with helpers.float64_math():
        logits, _ = ref(xy[:, :-1])
        ref_loss = F.cross_entropy(logits.flatten(0, 1), xy[:, 1:].flatten(), label_smoothing=0.2)
        ref_loss.backward()
    n = helpers.longest_reduction(ref.config, xy.numel())
    assert helpers.fp32_error_ratio(smooth_loss, plain_loss, n, what='bug: not patched') > 1
    helpers.assert_fp32_close(smooth_loss, ref_loss, n, what='smoothed loss')
    for k, p in ref.named_parameters():
        helpers.assert_fp32_close(smooth_grads[k], p.grad, n, helpers.C_BACKWARD, what=k)


def test_a_failed_background_checkpoint_write_stops_the_run_at_the_next_step(data, tmp_path,
                                                                             monkeypatch):
    """Issue 27 row 11: the write of step 8 fails (a full disk); the loop polls the writer after
    each step, so the run stops at step 9 with the one-line disk error, not at the next save (step
    12), and the step-4 checkpoint is kept. Each step here waits for the write in flight, so the
    failure has surely ended before step 9's poll."""
    import errno
    import threading
    real_save, real_step = torch.save, train.train_step

    def save(obj, path, *a, **k):
        if obj['step'] == 8:
            raise OSError(errno.ENOSPC, 'No space left on device')
        real_save(obj, path, *a, **k)

    def step_after_the_write(*a, **k):
        for t in threading.enumerate():
            if t.name == 'checkpoint-writer':
                t.join()
        return real_step(*a, **k)
    monkeypatch.setattr(torch, 'save', save)
    monkeypatch.setattr(train, 'train_step', step_after_the_write)
    run_dir = str(tmp_path / 'run')
    with pytest.raises(SystemExit) as e:
        train.train(config(data, run_dir, max_steps=12, eval_interval=4))
    msg = str(e.value)
    assert 'ckpt.pt: could not write the checkpoint at step 8 (' in msg and 'free disk space' in msg
    assert '\n' not in msg
    assert max(ev['step'] for ev in read_log(run_dir)) == 8  # step 9 trained, then the run stopped
    assert load_ckpt(run_dir)['step'] == 4
    assert [f for f in os.listdir(run_dir) if f.endswith('.tmp')] == []
    def every_save_fails(obj, path, *a, **k):
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(torch, 'save', every_save_fails)
    with pytest.raises(SystemExit) as e:  # the first write fails: no checkpoint to resume from
        train.train(config(data, tmp_path / 'first', max_steps=12, eval_interval=4))
    msg = str(e.value)
    assert 'at step 4 (' in msg
    assert msg.endswith('then run it again (no checkpoint was written before this one)')
    assert max(ev['step'] for ev in read_log(tmp_path / 'first')) == 4


@pytest.mark.parametrize('how', ['deleted', 'taken by another process'])
def test_a_run_whose_lock_file_was_deleted_stops_at_its_next_log_line(data, tmp_path, monkeypatch,
                                                                      how):
    """Issue 27 row 12: the run folder's .lock deleted by hand at step 3 (then, in the second case,
    taken by a second writer, which the deletion allows): the run stops at its next log line (step
    4) in one line, so log.jsonl never gets a step twice; a refusal by a held lock says never to
    delete one."""
    import contextlib

    from helpers import held_elsewhere
    run_dir = tmp_path / 'run'
    real_append = train.append_event
    other = contextlib.ExitStack()

    def append(path, event, wandb=None):
        real_append(path, event, wandb)
        if event['step'] == 3:
            os.remove(run_dir / '.lock')
            if how != 'deleted':
                other.enter_context(held_elsewhere(run_dir, 'run'))
    monkeypatch.setattr(train, 'append_event', append)
    with other, pytest.raises(SystemExit) as e:
        train.train(config(data, run_dir, max_steps=8))
    msg = str(e.value)
    assert msg.startswith(f"{run_dir / '.lock'}: the lock of this run was deleted or replaced")
    assert '\n' not in msg
    assert 'never delete a held .lock file by hand' in msg
    assert [ev['step'] for ev in read_log(run_dir)] == [0, 1, 2, 3]
    monkeypatch.setattr(train, 'append_event', real_append)
    with held_elsewhere(run_dir, 'run'), pytest.raises(SystemExit) as e:
        train.train(config(data, run_dir, max_steps=8))
    assert 'being written by pid' in str(e.value)
    assert 'never delete a held .lock file by hand' in str(e.value)


@pytest.mark.parametrize('where', ['run_dir', 'compile_cache_dir'])
def test_a_run_folder_that_cannot_be_written_names_the_setting_that_moves_it(data, tmp_path,
                                                                            monkeypatch, where):
    """Issue 27 row 14: `python train.py` on an unwritable folder said 'write elsewhere (out_dir)';
    it names --run_dir or --out_dir (the run folder), --compile_cache_dir (inductor's caches)."""
    import runpy
    import signal

    from uniscale import atomic
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGUSR1)}
    (tmp_path / 'file').write_text('')
    args = [f"--out_dir={data['out']}", f"--tokenizer={data['a']}", f"--model_args={TINY}",
            '--block_size=32', '--batch_size=4', '--max_steps=2', '--eval_docs=2', '--device=cpu',
            f"--run_dir={tmp_path / ('file' if where == 'run_dir' else '') / 'run'}",
            f"--compile={where != 'run_dir'}", f"--compile_cache_dir={tmp_path / 'file' / 'cache'}"]
    monkeypatch.setattr(atomic, 'output_setting', atomic.output_setting)
    monkeypatch.setattr(sys, 'argv', ['train.py', *args])
    try:
        with pytest.raises(SystemExit) as e:
            runpy.run_path(os.path.join(ROOT, 'train.py'), run_name='__main__')
    finally:  # train.py's __main__ installed its start-up handler
        for s, handler in handlers.items():
            signal.signal(s, handler)
    msg = str(e.value)
    want = '--run_dir or --out_dir' if where == 'run_dir' else '--compile_cache_dir'
    assert ': cannot write (' in msg and '\n' not in msg, msg
    assert msg.endswith(f"or write elsewhere ({want})"), msg


@pytest.mark.parametrize('sig', ['SIGUSR1', 'SIGTERM'])
def test_a_signal_during_the_imports_is_one_line_and_death_by_that_signal(sig):
    """Issue 27 row 13: SLURM's USR1 or a SIGTERM while train.py still imports torch (before
    train()'s StopSignal) killed it with no message. Now one line, then the same death by signal
    (128 + signal in a shell: the sweep's SLURM task sees no progress and is not requeued). The
    signal is sent from the import of torch itself, so it always arrives during the imports."""
    import signal
    code = ("import builtins, os, runpy, signal, sys\nreal = builtins.__import__\n"
            "def imp(name, *a, **k):\n    if name == 'torch':\n        builtins.__import__ = real\n"
            f"        os.kill(os.getpid(), signal.{sig})\n    return real(name, *a, **k)\n"
            "builtins.__import__ = imp\nsys.argv = ['train.py']\n"
            "runpy.run_path('train.py', run_name='__main__')\nprint('not stopped')\n")
    r = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == -getattr(signal, sig) and 'not stopped' not in r.stdout
    assert r.stderr.splitlines() == [f"train.py: stopped by {sig} during start-up, before any "
                                     f"step: nothing to save; run it again"]


@pytest.mark.parametrize('preset', ['gpt2-tiny', 'apertus-tiny'])
def test_a_context_too_long_is_refused_with_the_largest_that_fits(data, tmp_path, monkeypatch,
                                                                  preset):
    """Issue 27 row 14: context_bytes=1e12 said 'use a smaller vocabulary'. gpt2's learned positions
    exceed the memory (here 1 GiB, patched): the advice is the largest block_size whose weights fit,
    checked against the parameter count one position above; apertus (RoPE, no position weights): the
    train split is shorter than one window, and the advice names context_bytes with its largest."""
    from model import make_config
    monkeypatch.setattr(train_runtime, 'available_memory', lambda: 2 ** 30)
    with pytest.raises(SystemExit) as e:
        train.train(config(data, tmp_path / 'run', preset=preset, context_bytes=1e12))
    msg = str(e.value)
    assert '\n' not in msg and 'vocabulary' not in msg and 'context_bytes' in msg, msg
    if preset == 'apertus-tiny':
        tokens_dir = os.path.join(data['out'], 'tokens', 'embedded', 'bpe-a')
        n_tokens = TokenShards(tokens_dir, 'train').meta['n_tokens']
        assert f"a window of {n_tokens - 1:,} tokens at most" in msg
        return
    import re
    found = re.search(r'fit up to block_size ([\d,]+) \(context_bytes', msg)
    largest = int(found.group(1).replace(',', ''))

    def need(block):
        return 16 * train_runtime.n_params(make_config(preset, 300, block, **TINY))
    assert need(largest) <= 2 ** 30 < need(largest + 8)  # blocks are multiples of 8
    assert not os.path.exists(tmp_path / 'run')
