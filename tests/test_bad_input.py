"""Bad input to prepare.py, shards.py, atomic.py and configurator.py: a one-line message naming the file and the fix,
a non-zero exit, no traceback, no temp file left behind. Several cases run prepare.py as a real subprocess."""
import glob
import json
import os
import subprocess
import sys

import pytest

import prepare
import textsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = ['--embedded_bytes=60000', '--tok_bytes=20000', '--chunk_docs=16', '--shard_tokens=20000']


def run_prepare(*args, preexec_fn=None):
    """prepare.py as a user runs it -> (exit code, stderr lines)."""
    env = {**os.environ, 'HF_HUB_OFFLINE': '1', 'HF_DATASETS_OFFLINE': '1', 'TOKENIZERS_PARALLELISM': 'false'}
    p = subprocess.run([sys.executable, 'prepare.py', *args], cwd=ROOT, env=env, capture_output=True, text=True,
                       preexec_fn=preexec_fn, timeout=300)
    return p.returncode, [line for line in p.stderr.splitlines() if line.strip() and '%|' not in line]


def assert_one_line(rc, err, *needles):
    assert rc != 0
    assert len(err) == 1 and 'Traceback' not in err[0], err
    for n in needles:
        assert n in err[0], err[0]
    return err[0]


def temp_files(folder):
    return [p for p in glob.glob(os.path.join(folder, '**', '*'), recursive=True) if '.tmp' in os.path.basename(p)]


@pytest.fixture(scope='module')
def small_corpus(tmp_path_factory):
    """A small embedded corpus and a 300-id BPE trained on it, made once; tests corrupt copies of train.jsonl."""
    from tokenizer import train_bpe
    out = tmp_path_factory.mktemp('bad') / 'out'
    rc, err = run_prepare(f'--out_dir={out}', *SMALL)
    assert rc == 0, err
    texts = list(textsplit.read_texts(f"{out}/corpus/embedded/tok.jsonl"))
    tok_path = str(out / 'tokenizers' / 'bpe-300')
    train_bpe(texts, 300, tok_path, name='bpe-300')
    return out, tok_path


BAD_LINES = {'not JSON': b'{"text": "cut off\n', 'lacks "text"': b'{"txt": "hello", "lang": "eng"}\n',
             'not UTF-8': b'{"text": "caf\xe9", "lang": "fra"}\n'}


@pytest.mark.parametrize('workers', [1, 2])  # 2: the error comes from a spawn worker process
@pytest.mark.parametrize('what', list(BAD_LINES))
def test_bad_corpus_line_is_one_line_naming_file_and_line(small_corpus, what, workers):
    out, tok_path = small_corpus
    train = f"{out}/corpus/embedded/train.jsonl"
    good = open(train, 'rb').read()
    lines = good.splitlines(keepends=True)
    try:
        open(train, 'wb').write(b''.join(lines[:40] + [BAD_LINES[what]] + lines[40:]))
        rc, err = run_prepare(f'--out_dir={out}', *SMALL, f'--tokenizers={tok_path}', f'--num_workers={workers}')
    finally:
        open(train, 'wb').write(good)
    msg = assert_one_line(rc, err, f"{train}:41:", 'prepare.py')
    assert {'not JSON': 'not JSON', 'lacks "text"': 'string "text"', 'not UTF-8': 'not UTF-8'}[what] in msg
    assert temp_files(str(out)) == []
    assert not os.path.exists(f"{out}/tokens/embedded/bpe-300/train.json")  # the split reads as not encoded


@pytest.mark.parametrize('line, needle', [(b'[1, 2]\n', 'got list'), (b'{"text": 3}\n', "keys ['text']"),
                                          (b'\n', 'not JSON')])
def test_shared_reader_names_file_and_line(tmp_path, line, needle):
    path = tmp_path / 'tok.jsonl'
    path.write_bytes(b'{"text": "one"}\n{"text": "two", "lang": "eng"}\n' + line)
    with pytest.raises(SystemExit) as e:
        list(textsplit.read_docs(str(path)))
    assert str(e.value).startswith(f"{path}:3: ") and needle in str(e.value) and '\n' not in str(e.value)
    assert list(textsplit.read_texts(str(path), max_bytes=3)) == ['one']
    with pytest.raises(SystemExit, match='text split not found'):
        list(textsplit.read_texts(str(tmp_path / 'nope.jsonl')))


def test_bad_line_crosses_a_process_pool_as_a_plain_exception():
    """A SystemExit raised in a pool worker kills the worker and hangs its task; BadLine must pickle instead."""
    import pickle
    e = pickle.loads(pickle.dumps(textsplit.BadLine('f.jsonl:3: not JSON')))
    assert isinstance(e, ValueError) and str(e) == 'f.jsonl:3: not JSON'


def test_unknown_corpus_lists_the_valid_ones(tmp_path):
    rc, err = run_prepare(f'--out_dir={tmp_path}/out', '--corpus=nope')
    assert_one_line(rc, err, "'nope'", 'embedded, tinystories, fineweb2')
    assert not os.path.exists(f"{tmp_path}/out")  # refused before anything was written
