"""Bad input to prepare.py, shards.py, atomic.py and configurator.py: a one-line message naming the file and the fix,
a non-zero exit, no traceback, no temp file left behind. Several cases run prepare.py as a real subprocess."""
import errno
import glob
import hashlib
import json
import os
import subprocess
import sys

import pytest

import prepare
from helpers import one_line, run_script
from uniscale import splits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = ['--embedded_bytes=60000', '--tok_bytes=20000', '--chunk_docs=16', '--shard_tokens=20000', '--eval_fraction=0.1']


def run_prepare(*args, preexec_fn=None):
    """prepare.py as a user runs it -> (exit code, stderr lines)."""
    return run_script('prepare.py', *args, preexec_fn=preexec_fn, timeout=300)


def temp_files(folder):
    return [p for p in glob.glob(os.path.join(folder, '**', '*'), recursive=True) if '.tmp' in os.path.basename(p)]


@pytest.fixture(scope='module')
def small_corpus(tmp_path_factory):
    """A small embedded corpus and a 300-id BPE trained on it, made once; tests corrupt copies of train.jsonl."""
    from tokenizer import train_bpe
    out = tmp_path_factory.mktemp('bad') / 'out'
    rc, err = run_prepare(f'--out_dir={out}', *SMALL)
    assert rc == 0, err
    texts = list(splits.read_texts(f"{out}/corpus/embedded/tok.jsonl"))
    tok_path = str(out / 'tokenizers' / 'bpe-300')
    train_bpe(texts, 300, tok_path, name='bpe-300')
    return out, tok_path


BAD_LINES = {'not JSON': b'{"text": "cut off\n', 'lacks "text"': b'{"txt": "hello", "lang": "eng"}\n',
             'not UTF-8': b'{"text": "caf\xe9", "lang": "fra"}\n'}


@pytest.mark.parametrize('workers', [1, 2])  # 2: the error comes from a spawn worker process
@pytest.mark.parametrize('what', list(BAD_LINES))
def test_bad_corpus_line_is_one_line_naming_file_and_line(small_corpus, what, workers):
    out, tok_path = small_corpus
    train, meta = f"{out}/corpus/embedded/train.jsonl", f"{out}/corpus/embedded/meta.json"
    good, good_meta = open(train, 'rb').read(), open(meta, 'rb').read()
    lines = good.splitlines(keepends=True)
    try:
        open(train, 'wb').write(b''.join(lines[:40] + [BAD_LINES[what]] + lines[40:]))
        made = json.loads(good_meta)  # as if prepare.py had written it so: else refused as edited
        made['splits']['train']['sha256'] = hashlib.sha256(open(train, 'rb').read()).hexdigest()
        open(meta, 'w').write(json.dumps(made))
        rc, err = run_prepare(f'--out_dir={out}', *SMALL, f'--tokenizers={tok_path}', f'--num_workers={workers}')
    finally:
        open(train, 'wb').write(good)
        open(meta, 'wb').write(good_meta)
    msg = one_line(rc, err, f"{train}:41:", 'prepare.py')
    assert {'not JSON': 'not JSON', 'lacks "text"': 'string "text"', 'not UTF-8': 'not UTF-8'}[what] in msg
    assert temp_files(str(out)) == []
    assert not os.path.exists(f"{out}/tokens/embedded/bpe-300/train.json")  # the split reads as not encoded


@pytest.mark.parametrize('line, needle', [(b'[1, 2]\n', 'no "text" (a list)'), (b'{"text": 3}\n', '"text" is int'),
                                          (b'{"txt": "a"}\n', "no \"text\" (keys ['txt'])"), (b'nul\n', 'not JSON')])
def test_shared_reader_names_file_and_line(tmp_path, line, needle):
    path = tmp_path / 'tok.jsonl'
    path.write_bytes(b'{"text": "one"}\n{"text": "two", "lang": "eng"}\n' + line)
    with pytest.raises(SystemExit) as e:
        list(splits.read_docs(str(path)))
    assert str(e.value).startswith(f"{path}:3: ") and needle in str(e.value) and '\n' not in str(e.value)
    assert list(splits.read_texts(str(path), max_bytes=3)) == ['one']
    with pytest.raises(SystemExit, match='text split not found'):
        list(splits.read_texts(str(tmp_path / 'nope.jsonl')))


def test_bad_line_crosses_a_process_pool_as_a_plain_exception():
    """A SystemExit raised in a pool worker kills the worker and hangs its task; BadLine must pickle instead."""
    import pickle
    e = pickle.loads(pickle.dumps(splits.BadLine('f.jsonl:3: not JSON')))
    assert isinstance(e, ValueError) and str(e) == 'f.jsonl:3: not JSON'


def test_unknown_corpus_lists_the_valid_ones(tmp_path):
    rc, err = run_prepare(f'--out_dir={tmp_path}/out', '--corpus=nope')
    one_line(rc, err, "'nope'", 'embedded, tinystories, fineweb2')
    assert not os.path.exists(f"{tmp_path}/out")  # refused before anything was written


# ---------------------------------------------------------------- full, read-only and forbidden disks
class FullDisk:
    """An `open` for monkeypatching into a module: files opened for writing fail with `err` once `budget` bytes
    are written (budget 0 with `at_open`: the open itself fails, as on a read-only file system)."""

    def __init__(self, err, budget=0, at_open=False):
        self.errno, self.budget, self.at_open = err, budget, at_open

    def __call__(self, path, mode='r', *args, **kw):
        import builtins
        if not any(c in mode for c in 'wax+'):
            return builtins.open(path, mode, *args, **kw)
        if self.at_open:
            raise OSError(self.errno, os.strerror(self.errno), path)
        disk = self

        class Limited:
            def __init__(self, f):
                self.f = f

            def write(self, data):
                if len(data) > disk.budget:
                    raise OSError(disk.errno, os.strerror(disk.errno))
                disk.budget -= len(data)
                return self.f.write(data)

            def __getattr__(self, name):
                return getattr(self.f, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.f.close()

        return Limited(builtins.open(path, mode, *args, **kw))


@pytest.mark.parametrize('err, fix', [(errno.ENOSPC, 'free space'), (errno.EROFS, 'read-only'),
                                      (errno.EACCES, 'no permission')])
def test_write_atomic_on_a_bad_disk_is_one_line_and_keeps_the_old_file(tmp_path, monkeypatch, err, fix):
    from uniscale import atomic
    path = tmp_path / 'tok' / 'meta.json'
    atomic.write_json_atomic(str(path), {'old': 1})
    monkeypatch.setattr(atomic, 'open', FullDisk(err, budget=3, at_open=err != errno.ENOSPC), raising=False)
    with pytest.raises(SystemExit) as e:
        atomic.write_json_atomic(str(path), {'new': 'x' * 100})
    msg = str(e.value)
    assert msg.startswith(f"{path}: cannot write (") and fix in msg and 'out_dir' in msg and '\n' not in msg
    assert json.load(open(path)) == {'old': 1} and os.listdir(path.parent) == ['meta.json']


def test_full_disk_while_writing_splits_removes_the_temp_files(tmp_path, monkeypatch):
    from test_prepare import config
    cfg = config(tmp_path, embedded_bytes=100_000)
    monkeypatch.setattr(prepare, 'open', FullDisk(errno.ENOSPC, budget=50_000), raising=False)
    with pytest.raises(SystemExit) as e:
        prepare.make_splits(cfg)
    assert 'No space left on device' in str(e.value) and '.jsonl: cannot write' in str(e.value)
    assert os.listdir(f"{cfg['out_dir']}/corpus/embedded") == ['.lock']  # no temp file, no meta.json (the lock file is empty)


def test_full_disk_while_writing_shards_removes_the_temp_shard(tmp_path, monkeypatch):
    from test_prepare import ByteTokenizer, config, encode

    from uniscale import shards
    cfg = config(tmp_path, embedded_bytes=100_000)
    prepare.make_splits(cfg)
    monkeypatch.setattr(shards, 'open', FullDisk(errno.ENOSPC, budget=150_000), raising=False)
    with pytest.raises(SystemExit, match=r'train_0001\.bin: cannot write \(No space left on device\); the disk is'):
        encode(cfg, ByteTokenizer())
    tokens_dir = f"{cfg['out_dir']}/tokens/embedded/bytes-2"
    assert temp_files(tokens_dir) == [] and not os.path.exists(f"{tokens_dir}/train.json")


def test_out_dir_under_a_file_is_one_line(tmp_path):
    (tmp_path / 'afile').write_text('x')
    rc, err = run_prepare(f'--out_dir={tmp_path}/afile/out', *SMALL)
    one_line(rc, err, f"{tmp_path}/afile/out/corpus/embedded: cannot write", 'not a folder')


def file_size_limit(n_bytes):
    """For preexec_fn: the kernel refuses writes past n_bytes (EFBIG) for this process, root included (a real
    full-disk error; Python ignores SIGXFSZ, so the write fails instead of killing the process)."""
    import resource
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (n_bytes, n_bytes))


def test_write_limit_while_writing_splits_and_shards_in_a_real_process(tmp_path, small_corpus):
    rc, err = run_prepare(f'--out_dir={tmp_path}/out', *SMALL, preexec_fn=file_size_limit(20_000))
    one_line(rc, err, 'train.jsonl: cannot write (File too large)', 'ulimit')
    assert os.listdir(f"{tmp_path}/out/corpus/embedded") == ['.lock']
    out, tok_path = small_corpus  # its splits exist: now the limit hits the first shard (20,000 tokens > 30 kB)
    rc, err = run_prepare(f'--out_dir={out}', *SMALL, f'--tokenizers={tok_path}', '--shard_tokens=100000',
                          preexec_fn=file_size_limit(30_000))
    one_line(rc, err, 'bpe-300/train_0000.bin: cannot write (File too large)')
    assert temp_files(str(out)) == []


@pytest.mark.parametrize('what', ['not parquet', 'no text column'])
def test_bad_local_parquet_file_is_one_line_naming_it(tmp_path, what):
    from test_prepare import write_parquet
    root = tmp_path / 'TinyStories'
    write_parquet(f"{root}/data/validation-00000-of-00001.parquet", ['The dog ran home.'] * 5)
    train = f"{root}/data/train-00000-of-00001.parquet"
    if what == 'not parquet':
        os.makedirs(os.path.dirname(train), exist_ok=True)
        open(train, 'wb').write(b'<html>404</html>')
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq
        pq.write_table(pa.table({'story': ['Once upon a time.'] * 5}), train)
    rc, err = run_prepare(f'--out_dir={tmp_path}/out', '--corpus=tinystories', f'--tinystories_files={root}')
    one_line(rc, err, f"{train}: ", {'not parquet': 'not a readable parquet file',
                                            'no text column': "no 'text' column (has story)"}[what])
    assert os.listdir(f"{tmp_path}/out/corpus/tinystories") == ['.lock']


# ---------------------------------------------------------------- the records prepare.py reads back
@pytest.mark.parametrize('arg, needle', [('--chunk_docs=0', 'chunk_docs=0 must be >= 1'),
                                         ('--encode_splits=train,dev', "encode_splits=['train', 'dev'] must be some"),
                                         ('--eval_fraction=0.6', 'eval_fraction=0.6 must be in [0, 0.5)'),
                                         ('--tokenizers=/no/such/tok', '/no/such/tok: no such tokenizer folder')])
def test_unusable_settings_are_refused_before_any_work(tmp_path, arg, needle):
    rc, err = run_prepare(f'--out_dir={tmp_path}/out', *SMALL, arg)
    one_line(rc, err, needle)
    assert not os.path.exists(f"{tmp_path}/out")


def test_damaged_corpus_meta_or_a_missing_split_remakes_the_splits(tmp_path, capsys):
    from test_prepare import config
    cfg = config(tmp_path, embedded_bytes=60_000)
    first = prepare.make_splits(cfg)
    folder = f"{cfg['out_dir']}/corpus/embedded"
    open(f"{folder}/meta.json", 'w').write('{"corpus": "embedded", "sett')
    assert prepare.make_splits(cfg) == first
    assert 'meta.json: unreadable' in capsys.readouterr().out
    os.remove(f"{folder}/val.jsonl")
    assert prepare.make_splits(cfg) == first
    assert "['val'] missing, remaking the splits" in capsys.readouterr().out


def test_damaged_sidecar_is_encoded_again_and_an_incomplete_one_refused_by_the_reader(tmp_path, capsys):
    from test_prepare import ByteTokenizer, config, encode

    from uniscale.shards import TokenShards
    cfg = config(tmp_path, embedded_bytes=60_000)
    prepare.make_splits(cfg)
    tokens_dir = encode(cfg, ByteTokenizer())
    good = open(f"{tokens_dir}/train.json").read()
    open(f"{tokens_dir}/train.json", 'w').write(good[:40])
    with pytest.raises(SystemExit, match='train.json: corrupt sidecar'):
        TokenShards(tokens_dir, 'train')
    encode(cfg, ByteTokenizer())
    assert 'train.json: unreadable' in capsys.readouterr().out and open(f"{tokens_dir}/train.json").read() == good
    meta = json.loads(good)
    del meta['n_bytes']
    json.dump(meta, open(f"{tokens_dir}/train.json", 'w'))
    with pytest.raises(SystemExit, match=r"train\.json: not a complete sidecar \(missing \['n_bytes'\]\)"):
        TokenShards(tokens_dir, 'train')


def test_missing_or_incomplete_corpus_meta_when_encoding_is_one_line(tmp_path):
    from test_prepare import ByteTokenizer, config, encode
    cfg = config(tmp_path, embedded_bytes=60_000)
    with pytest.raises(SystemExit, match=r'meta\.json: corpus meta\.json not found; remake the splits'):
        encode(cfg, ByteTokenizer())
    prepare.make_splits(cfg)
    os.remove(f"{cfg['out_dir']}/corpus/embedded/train.jsonl")
    with pytest.raises(SystemExit, match=r'train\.jsonl: missing though .*meta\.json lists it'):
        encode(cfg, ByteTokenizer())


def test_a_system_exit_in_a_pool_worker_comes_back_as_a_bad_line(monkeypatch):
    """multiprocessing's worker catches Exception only: a SystemExit would kill it and leave the task hanging."""
    class Refuses:
        def encode_batch(self, texts):
            raise SystemExit('tok: cannot encode; retrain it')
    monkeypatch.setattr(prepare, '_worker_tok', Refuses())
    with pytest.raises(splits.BadLine, match='tok: cannot encode; retrain it'):
        prepare._encode_task([b'{"text": "a"}\n'], 'x.jsonl', 1)


def test_temp_files_of_a_killed_run_are_removed_by_the_next(small_corpus):
    out, tok_path = small_corpus
    tokens_dir = f"{out}/tokens/embedded/bpe-300"
    os.makedirs(tokens_dir, exist_ok=True)
    left = [f"{tokens_dir}/train_0007.bin.tmp", f"{tokens_dir}/train.json.4242.tmp",
            f"{tokens_dir}/train.partial.json.4242.tmp", f"{tokens_dir}/val.json.4242.tmp",
            f"{out}/corpus/embedded/meta.json.4242.tmp"]
    for p in left:
        open(p, 'wb').write(b'half')
    rc, err = run_prepare(f'--out_dir={out}', *SMALL, f'--tokenizers={tok_path}', '--encode_splits=train,val',
                          '--num_workers=1')
    assert rc == 0, err
    assert temp_files(str(out)) == []


@pytest.mark.parametrize('script, arg', [
    ('train.py', '--block_size=-5'), ('train.py', '--batch_size=0'), ('train.py', '--lr=0'),
    ('train.py', '--dropout=1.0'), ('train.py', '--warmup_steps=-1'), ('train.py', '--max_steps=-1'),
    ('train.py', '--eval_docs=-1'), ('eval_bpb.py', '--max_docs_per_lang=-1'), ('eval_bpb.py', '--context=-5'),
    ('sample.py', '--top_k=-1'), ('sample.py', '--temperature=-0.5'),
])
def test_a_value_out_of_its_range_is_one_line_naming_the_key_before_any_work(script, arg):
    key = arg[2:].split('=')[0]
    r = subprocess.run([sys.executable, os.path.join(ROOT, script), arg], capture_output=True, text=True, cwd=ROOT)
    lines = r.stderr.strip().splitlines()
    assert r.returncode != 0 and len(lines) == 1, r.stderr
    assert lines[0].startswith(f"config error: {key}=") and 'must be' in lines[0]


def test_values_at_the_edge_of_their_range_pass():
    import configurator
    ranges = {'a': configurator.above(0), 'b': configurator.at_least(0), 'c': configurator.within(0, 1)}
    configurator.check_ranges({'a': 1e-9, 'b': 0, 'c': 0.0}, ranges)
    for bad in ({'a': 0}, {'b': -1}, {'c': 1.0}, {'a': float('nan')}, {'b': float('inf')}):
        with pytest.raises(SystemExit, match=f"config error: {next(iter(bad))}="):
            configurator.check_ranges(bad, ranges)


# ------------------------------------------------ train.py's model_args (issue 27 row 13)
@pytest.mark.parametrize('model_args, needle', [
    ({'loss_chunk': -5}, 'loss_chunk=-5 must be >= -1'),
    ({'loss_chunk': 'x'}, "loss_chunk='x' must be an integer"),
    ({'n_layer': 0}, 'n_layer=0 must be >= 1'),
    ({'n_embd': 64.0}, 'n_embd=64.0 must be an integer'),
    ({'n_head': 3}, 'n_embd 128 must divide by n_head 3'),
    ({'dropout': 1.5}, 'dropout=1.5 must be below 1'),
    ({'rope_theta': 0}, 'rope_theta=0 must be > 0'),
    ({'rope_factor': float('nan')}, 'rope_factor=nan must be finite'),
    ({'arch': 7}, 'arch=7 must be a string'),
    ({'no_such_field': 1}, "unknown field(s) ['no_such_field']; GPTConfig has arch, vocab_size"),
])
def test_model_args_of_a_wrong_type_or_range_are_one_line_before_any_work(tmp_path, model_args,
                                                                          needle):
    """Checked against GPTConfig's fields (their defaults' types, model.FIELD_MIN) before the
    tokenizer is read: the tokenizer here does not exist, and the refusal is still model_args'."""
    import configurator
    import train
    cfg = {**configurator.defaults(train), 'model_args': model_args, 'device': 'cpu',
           'tokenizer': str(tmp_path / 'no_tokenizer'), 'out_dir': str(tmp_path / 'out')}
    with pytest.raises(SystemExit) as e:
        train.train(cfg)
    msg = str(e.value)
    assert msg.startswith(f"config error: model_args={model_args!r} on preset 'gpt2-tiny': ")
    assert needle in msg
    assert '\n' not in msg and not os.path.exists(tmp_path / 'out')


def test_model_args_as_a_user_types_them_are_one_line(tmp_path):
    rc, err = run_script('train.py', '--model_args={"loss_chunk": -5}', f'--out_dir={tmp_path}')
    one_line(rc, err, "config error: model_args={'loss_chunk': -5}", 'loss_chunk=-5 must be >= -1')
