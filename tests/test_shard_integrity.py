"""A shard's identity is its bytes (issue 27 row 9): the sidecar records the sha256 of each shard's
ids, computed as the writer wrote them; a reader hashes a shard the first time it maps it, before
any of its tokens reach a batch, and refuses a changed one in one line; an old sidecar gets the
hashes on first use, recorded without changing any run's identity."""
import hashlib
import json
import os
import shutil

import numpy as np
import pytest

import configurator
import prepare
import train
from helpers import encoded_embedded_corpus, held_elsewhere, one_line, run_script
from uniscale import shards
from uniscale.shards import HEADER_BYTES, PackedWindows, TokenShards, eval_set
from uniscale.tokenization import load_tokenizer

TINY = {'n_layer': 1, 'n_head': 2, 'n_embd': 16}
BLOCK, BATCH = 32, 4  # the windows of the runs below

pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """A small embedded corpus encoded by one BPE into several train shards."""
    return encoded_embedded_corpus(tmp_path_factory.mktemp('integrity'), 'bpe-i', embedded_bytes=200_000,
                                   tok_bytes=50_000, shard_tokens=20_000)


def copy_out(data, tmp_path):
    """A private copy of the fixture's out/ (corpus, shards): its prepare config, shard folder."""
    out = str(tmp_path / 'out')
    shutil.copytree(data['out'], out)
    tokens_dir = os.path.join(out, 'tokens', 'embedded', 'bpe-i')
    return {**data['pcfg'], 'out_dir': out}, tokens_dir


def edit_ids(path, n=1000, at=0):
    """Overwrite n ids of a shard in place (same length), each by another id below its largest."""
    ids = np.memmap(path, dtype='<u2', mode='r+', offset=HEADER_BYTES)
    n = min(n, len(ids) - at)
    top = int(ids.max())
    ids[at:at + n] = (ids[at:at + n].astype(np.int64) + 1) % top
    ids.flush()
    del ids


def sidecar(tokens_dir, split):
    with open(os.path.join(tokens_dir, f'{split}.json')) as f:
        return json.load(f)


def first_window_per_shard(tokens_dir, n_windows):
    """For each train shard, the first window of PackedWindows(seed 1) that reads it (found by
    watching which shards TokenShards.tokens hands out per window)."""
    ts = TokenShards(tokens_dir, 'train')
    packed, seen, first = PackedWindows(ts, BLOCK, seed=1), [], {}
    real = ts.tokens
    ts.tokens = lambda i: seen.append(i) or real(i)
    for j in range(n_windows):
        seen.clear()
        packed.windows(j, 1)
        for i in seen:
            first.setdefault(i, j)
    return first


def test_the_writer_records_each_shards_sha256_as_it_writes(data, tmp_path, monkeypatch):
    """Every shard entry's sha256 is hashlib's of the file's bytes after the header, computed while
    writing (a fresh encoding never reads a finished shard back to hash it)."""
    pcfg, tokens_dir = copy_out(data, tmp_path)
    shutil.rmtree(tokens_dir)
    monkeypatch.setattr(shards, 'ids_sha256', lambda *a, **k: pytest.fail('read a shard back'))
    prepare.encode_corpus(pcfg, data['tok'])
    for split in ('train', 'val', 'test'):
        entries = sidecar(tokens_dir, split)['shards']
        assert len(entries) >= (3 if split == 'train' else 1)
        for e in entries:
            with open(os.path.join(tokens_dir, e['file']), 'rb') as f:
                assert e['sha256'] == hashlib.sha256(f.read()[HEADER_BYTES:]).hexdigest()


def test_a_train_shard_with_edited_ids_is_refused_before_any_of_its_windows(data, tmp_path):
    """1,000 ids of one shard overwritten (same length): every window before the first that reads
    that shard is the clean one, and that window is refused in one line naming the shard, what
    differs and the fix."""
    _, tokens_dir = copy_out(data, tmp_path)
    clean = PackedWindows(TokenShards(data['tokens'], 'train'), BLOCK, seed=1)
    first = first_window_per_shard(data['tokens'], clean.windows_per_epoch)
    k = max(first, key=first.get)  # the shard read last: the windows before it must pass
    path = os.path.join(tokens_dir, f'train_{k:04d}.bin')
    edit_ids(path)
    packed = PackedWindows(TokenShards(tokens_dir, 'train'), BLOCK, seed=1)  # lazy: no hash yet
    for j in range(first[k]):
        assert np.array_equal(packed.windows(j, 1), clean.windows(j, 1))
    with pytest.raises(SystemExit) as e:
        packed.windows(first[k], 1)
    msg = str(e.value)
    assert msg.startswith(f'{path}: its token ids are not the ones') and 'sha256' in msg
    fix = f"re-run prepare.py with the settings that made the corpus and --tokenizers={data['tok']}"
    assert fix in msg and '\n' not in msg


def test_a_val_shard_with_edited_ids_is_refused_before_validation(data, tmp_path):
    _, tokens_dir = copy_out(data, tmp_path)
    edit_ids(os.path.join(tokens_dir, 'val_0000.bin'))
    with pytest.raises(SystemExit, match=r'val_0000\.bin: its token ids are not the ones .*val\.'):
        eval_set(TokenShards(tokens_dir, 'val'), load_tokenizer(data['tok']), 0, BLOCK)


def test_a_header_field_no_other_check_reads_is_refused(data, tmp_path):
    _, tokens_dir = copy_out(data, tmp_path)
    with open(os.path.join(tokens_dir, 'train_0001.bin'), 'r+b') as f:
        f.seek(4 * 8)  # n_docs
        f.write(np.array([12345], dtype='<i8').tobytes())
    with pytest.raises(SystemExit, match=r'train_0001\.bin: header disagrees with .*train\.json '
                                         r'\(n_docs: header 12345, sidecar \d+\); '
                                         r're-run prepare\.py'):
        TokenShards(tokens_dir, 'train')


def train_args(data, tokens_dir, run_dir, steps):
    return [f"--out_dir={data['out']}", f"--tokens_dir={tokens_dir}", f"--run_dir={run_dir}",
            f"--tokenizer={data['tok']}", '--preset=gpt2-tiny', f'--model_args={json.dumps(TINY)}',
            f'--block_size={BLOCK}', f'--batch_size={BATCH}', f'--max_steps={steps}',
            '--warmup_steps=1', '--eval_interval=0', '--eval_docs=2', '--log_interval=1',
            '--compile=False', '--device=cpu', '--threads=1', '--seed=1']


def test_train_py_stops_at_the_step_that_would_read_an_edited_shard_and_the_fix_works(data,
                                                                                      tmp_path):
    """train.py trains on the clean shards up to the step whose windows would read the edited one,
    then refuses in one line (no traceback); the fix it names (prepare.py again, with the tokenizer)
    encodes the split again, to the same bytes and run inputs, and the run then finishes."""
    pcfg, tokens_dir = copy_out(data, tmp_path)
    first = first_window_per_shard(data['tokens'], 40 * BATCH)
    late = {i: j // BATCH for i, j in first.items() if j // BATCH >= 2}  # first read at step >= 2
    assert late, first
    k = min(late, key=late.get)
    edit_ids(os.path.join(tokens_dir, f'train_{k:04d}.bin'), n=10 ** 9)  # every id of it
    run_dir = str(tmp_path / 'run')
    rc, err = run_script('train.py', *train_args(data, tokens_dir, run_dir, late[k] + 5))
    one_line(rc, err, f'train_{k:04d}.bin: its token ids are not the ones', 'sha256',
             '--tokenizers=')
    with open(os.path.join(run_dir, 'log.jsonl')) as f:
        steps = [e['step'] for e in map(json.loads, f) if 'train_loss' in e]
    assert max(steps) == late[k]  # every step before the one reading it (event step: index + 1)
    prepare.encode_corpus(pcfg, data['tok'])
    for name in os.listdir(data['tokens']):
        if name.endswith(('.bin', '.npy')):
            with open(os.path.join(tokens_dir, name), 'rb') as a, \
                    open(os.path.join(data['tokens'], name), 'rb') as b:
                assert a.read() == b.read(), name
    for split in ('train', 'val'):
        assert train.data_identity(sidecar(tokens_dir, split)) == \
            train.data_identity(sidecar(data['tokens'], split))
    shutil.rmtree(run_dir)
    cfg = configurator.configure(configurator.defaults(train),
                                 train_args(data, tokens_dir, run_dir, late[k] + 1))
    train.train(cfg)  # in this process: the script's one-line refusal was shown above
    with open(os.path.join(run_dir, 'log.jsonl')) as f:
        assert max(e['step'] for e in map(json.loads, f)) == late[k] + 1


def strip_sha256(tokens_dir):
    """As prepare.py wrote sidecars before the shards' sha256 was recorded."""
    for split in ('train', 'val'):
        meta = sidecar(tokens_dir, split)
        for e in meta['shards']:
            e.pop('sha256')
        with open(os.path.join(tokens_dir, f'{split}.json'), 'w') as f:
            json.dump(meta, f)


def test_an_old_sidecar_gets_the_hashes_on_first_use_and_its_runs_keep_their_identity(
        data, tmp_path, capsys):
    """A run on shards whose sidecar records no sha256 hashes each shard on first use and records
    the hash (the writer's); the run's inputs and run_id are those of the sidecar it started with,
    and asked again it is finished, not 'changed'."""
    _, tokens_dir = copy_out(data, tmp_path)
    strip_sha256(tokens_dir)
    tok = load_tokenizer(data['tok'])
    cfg = configurator.defaults(train)
    cfg.update(out_dir=data['out'], tokens_dir=tokens_dir, run_dir=str(tmp_path / 'run'),
               tokenizer=data['tok'], preset='gpt2-tiny', model_args=TINY, block_size=BLOCK,
               batch_size=BATCH, max_steps=3, warmup_steps=1, eval_interval=0, eval_docs=2,
               log_interval=1, compile=False, device='cpu')
    before = {'inputs': {'tokenizer_hash': tok.hash,
                         **{s: train.data_identity(sidecar(tokens_dir, s)) for s in ('train', 'val')}}}
    run_dir = train.train(dict(cfg))
    assert 'records no sha256 of its shards' in capsys.readouterr().out
    with open(os.path.join(run_dir, 'config.json')) as f:
        config = json.load(f)
    assert config['inputs'] == before['inputs']
    assert train.run_identity(config)['run_id'] == config['run_id']
    for split in ('train', 'val'):
        want = {e['file']: e['sha256'] for e in sidecar(data['tokens'], split)['shards']}
        got = {e['file']: e.get('sha256') for e in sidecar(tokens_dir, split)['shards']}
        assert all(got[f] in (None, want[f]) for f in want)  # those recorded are the writer's
        assert any(got.values())  # the shards read were recorded
        assert train.data_identity(sidecar(tokens_dir, split)) == before['inputs'][split]
    train.train(dict(cfg))  # the same run, its sidecars now with hashes: finished, not changed
    assert 'nothing to do' in capsys.readouterr().out


def test_an_old_sidecar_is_hashed_not_recorded_while_another_writer_holds_its_folder(
        data, tmp_path, capsys):
    _, tokens_dir = copy_out(data, tmp_path)
    strip_sha256(tokens_dir)
    with open(os.path.join(tokens_dir, 'train.json'), 'rb') as f:
        old = f.read()
    with held_elsewhere(tokens_dir, 'shard folder'):
        docs = [d.tolist() for d in TokenShards(tokens_dir, 'train').documents()]
    assert docs == [d.tolist() for d in TokenShards(data['tokens'], 'train').documents()]
    out = capsys.readouterr().out
    assert 'records no sha256' in out and 'is not recorded' in out
    with open(os.path.join(tokens_dir, 'train.json'), 'rb') as f:
        assert f.read() == old


def test_prepare_py_records_the_hashes_of_an_old_sidecar_keeping_the_identity(data, tmp_path,
                                                                              capsys):
    pcfg, tokens_dir = copy_out(data, tmp_path)
    strip_sha256(tokens_dir)
    before = train.data_identity(sidecar(tokens_dir, 'train'))
    prepare.encode_corpus(pcfg, data['tok'])
    assert "shards' sha256 and document starts are recorded now" in capsys.readouterr().out
    assert sidecar(tokens_dir, 'train')['shards'] == sidecar(data['tokens'], 'train')['shards']
    assert train.data_identity(sidecar(tokens_dir, 'train')) == before


def test_each_shard_is_hashed_once_per_reader_not_per_window(data, monkeypatch):
    calls = []
    real = shards.ids_sha256
    monkeypatch.setattr(shards, 'ids_sha256',
                        lambda path, *a: calls.append(os.path.basename(path)) or real(path, *a))
    train_shards = TokenShards(data['tokens'], 'train')
    val_shards = TokenShards(data['tokens'], 'val')
    packed = PackedWindows(train_shards, BLOCK, seed=1)
    for j in range(0, packed.windows_per_epoch + 40, 8):  # more than an epoch, 8 windows a call
        packed.windows(j, 8)
    eval_set(val_shards, load_tokenizer(data['tok']), 0, BLOCK)
    list(train_shards.documents())
    assert sorted(calls) == sorted(e['file'] for s in ('train', 'val')
                                   for e in sidecar(data['tokens'], s)['shards'])


def test_an_interrupted_encodings_shard_with_edited_ids_is_not_reused(data, tmp_path, capsys):
    _, tokens_dir = copy_out(data, tmp_path)
    meta = sidecar(tokens_dir, 'train')
    key = {'tokenizer_hash': meta['tokenizer_hash']}
    shards.record_progress(tokens_dir, 'train', key, meta['shards'][:2], 100, 1000)
    assert shards.finished_shards(tokens_dir, 'train', key)[0] == meta['shards'][:2]
    edit_ids(os.path.join(tokens_dir, 'train_0001.bin'))
    assert shards.finished_shards(tokens_dir, 'train', key) == ([], 1, 0)
    assert 'train_0001.bin: its ids are not the ones' in capsys.readouterr().out


def test_prepare_py_encodes_again_a_split_whose_shard_is_missing(data, tmp_path, capsys):
    """The fix TokenShards names for a missing shard (prepare.py again) works: before, prepare.py
    answered 'already encoded, skipping' and the reader refused again."""
    pcfg, tokens_dir = copy_out(data, tmp_path)
    os.remove(os.path.join(tokens_dir, 'train_0001.bin'))
    with pytest.raises(SystemExit, match=r'train_0001\.bin: shard not found; re-run prepare\.py'):
        TokenShards(tokens_dir, 'train')
    prepare.encode_corpus(pcfg, data['tok'])
    assert 'encoding train again' in capsys.readouterr().out
    with open(os.path.join(tokens_dir, 'train_0001.bin'), 'rb') as a, \
            open(os.path.join(data['tokens'], 'train_0001.bin'), 'rb') as b:
        assert a.read() == b.read()
