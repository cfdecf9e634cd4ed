import filecmp
import json
import os

import numpy as np
import pytest

import prepare
from uniscale import shards, sources, split_making
from uniscale.shards import TokenShards


class ByteTokenizer:
    """A tokenizer built in the test: UTF-8 bytes shifted by `offset` (offset > 65,534 forces uint32 shards)."""
    kind = 'test'

    def __init__(self, offset=2, vocab_size=None, fail_after=None):
        self.offset, self.vocab_size = offset, vocab_size or offset + 256
        self.name, self.hash = f'bytes-{offset}', f'{offset:016x}abcdef'
        self.bos_id, self.eos_id = 0, 1
        self.calls, self.fail_after = 0, fail_after

    def encode(self, text):
        return [b + self.offset for b in text.encode('utf-8')]

    def encode_batch(self, texts):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt  # as if the run were killed half-way
        return [self.encode(t) for t in texts]

    def decode(self, ids):
        return bytes(i - self.offset for i in ids).decode('utf-8')


def config(tmp_path, **kw):
    cfg = prepare.configurator.defaults(prepare)
    cfg.update(out_dir=str(tmp_path / 'out'), embedded_bytes=300_000, tok_bytes=100_000, num_workers=1,
               chunk_docs=16, shard_tokens=50_000, eval_fraction=0.1)  # val and test hold documents however small
    cfg.update(kw)
    return cfg


def read_jsonl(path):
    with open(path, encoding='utf-8') as f:
        return [json.loads(line) for line in f]


def listing(folder):
    """The files of a folder but its lock (locks.hold leaves the empty lock file; its owner file goes)."""
    return sorted(n for n in os.listdir(folder) if n != '.lock')


def corpus_dir(cfg):
    return os.path.join(cfg['out_dir'], 'corpus', cfg['corpus'])


def test_embedded_splits_are_deterministic_disjoint_and_multilingual(tmp_path):
    a, b = config(tmp_path / 'a'), config(tmp_path / 'b')
    prepare.make_splits(a)
    prepare.make_splits(b)
    for s in prepare.SPLITS:
        assert filecmp.cmp(f"{corpus_dir(a)}/{s}.jsonl", f"{corpus_dir(b)}/{s}.jsonl", shallow=False)
    docs = {s: read_jsonl(f"{corpus_dir(a)}/{s}.jsonl") for s in prepare.SPLITS}
    assert all(docs[s] for s in prepare.SPLITS)
    train = {d['text'] for d in docs['train']}
    assert {d['text'] for d in docs['tok']} <= train  # tok is a prefix of train
    assert not train & {d['text'] for d in docs['val']} and not train & {d['text'] for d in docs['test']}
    meta = json.load(open(f"{corpus_dir(a)}/meta.json"))
    assert meta['generated'] is True and 'generated' in meta['source']
    assert len(meta['splits']['train']['per_lang']) >= 6
    assert meta['splits']['train']['n_bytes'] == sum(len(d['text'].encode()) for d in docs['train'])
    c = config(tmp_path / 'c', seed=7)
    prepare.make_splits(c)
    assert not filecmp.cmp(f"{corpus_dir(a)}/train.jsonl", f"{corpus_dir(c)}/train.jsonl", shallow=False)


def test_rerun_skips_finished_splits_and_remakes_changed_ones(tmp_path, capsys):
    cfg = config(tmp_path)
    prepare.make_splits(cfg)
    mtime = os.path.getmtime(f"{corpus_dir(cfg)}/train.jsonl")
    prepare.make_splits(cfg)
    assert 'skipping' in capsys.readouterr().out
    assert os.path.getmtime(f"{corpus_dir(cfg)}/train.jsonl") == mtime
    meta = prepare.make_splits({**cfg, 'embedded_bytes': 200_000})
    assert meta['settings']['embedded_bytes'] == 200_000


def write_parquet(path, texts, **columns):
    import pyarrow as pa
    import pyarrow.parquet as pq
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pq.write_table(pa.table({'text': texts, **columns}), path)


def test_tinystories_from_local_parquet_offline(tmp_path):
    root = tmp_path / 'TinyStories'
    train = [f"Once upon a time there was a cat number {i}." for i in range(2000)]
    valid = [f"The dog {i} ran home." for i in range(50)]
    write_parquet(f"{root}/data/train-00000-of-00001.parquet", train)
    write_parquet(f"{root}/data/validation-00000-of-00001.parquet", valid)
    cfg = config(tmp_path, corpus='tinystories', tinystories_files=str(root), tok_bytes=5_000)
    meta = prepare.make_splits(cfg)
    d = {s: [x['text'] for x in read_jsonl(f"{corpus_dir(cfg)}/{s}.jsonl")] for s in prepare.SPLITS}
    assert d['test'] == valid
    assert sorted(d['train'] + d['val']) == sorted(train) and 5 <= len(d['val']) <= 45  # a seeded ~1%
    assert d['tok'] == d['train'][:len(d['tok'])] and 5_000 <= meta['splits']['tok']['n_bytes'] < 5_100


FINEWEB2_SCHEMA = dict(id=None, dump='CC-MAIN-2024-10', url='https://example.org', date='2024-03-01',
                       file_path='s3://x', language=None, language_score=0.9, language_script=None,
                       minhash_cluster_size=1, top_langs='{}')


def test_fineweb2_from_local_parquet_with_budgets_and_per_language_eval(tmp_path):
    root = tmp_path / 'fw2'
    texts = {'eng': ['Hello world, this is English text number %d.' % i for i in range(300)],
             'rus_Cyrl': ['Привет, мир! Это русский текст номер %d.' % i for i in range(300)],
             'cmn_Hani': ['你好世界，这是第%d篇中文。' % i for i in range(300)]}
    for lang, t in texts.items():
        cols = {k: [v if v is not None else lang] * len(t) for k, v in FINEWEB2_SCHEMA.items()}
        cols['id'] = [str(i) for i in range(len(t))]
        write_parquet(f"{root}/{lang}/000_00000.parquet", t, **cols)
    cfg = config(tmp_path, corpus='fineweb2', langs=list(texts), fineweb2_files=str(root), train_bytes=9_000,
                 tok_bytes=3_000, eval_docs_per_lang=10, shuffle_buffer=50)
    meta = prepare.make_splits(cfg)
    for s in ('val', 'test'):
        assert meta['splits'][s]['n_docs'] == 30
        assert {d['lang'] for d in read_jsonl(f"{corpus_dir(cfg)}/{s}.jsonl")} == set(texts)
    per_lang = meta['splits']['train']['per_lang']
    for lang in texts:  # an even 3,000 bytes each, overshooting by at most one document
        assert 3_000 <= per_lang[lang] < 3_000 + 60
        assert 1_000 <= meta['splits']['tok']['per_lang'][lang] < 1_000 + 60
    for d in read_jsonl(f"{corpus_dir(cfg)}/train.jsonl"):
        assert d['text'] in texts[d['lang']]


def test_hub_corpus_offline_fails_at_once_naming_the_embedded_corpus(tmp_path, monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    with pytest.raises(SystemExit, match='corpus=embedded'):
        prepare.make_splits(config(tmp_path, corpus='tinystories'))


def test_lang_budgets_equal_temperature_and_cap():
    assert split_making.lang_budgets(900, ['a', 'b', 'c'], 0, {}, 1.0) == {'a': 300, 'b': 300, 'c': 300}
    sizes = {'a': 64.0, 'b': 16.0, 'c': 1.0}
    t2 = split_making.lang_budgets(1300, ['a', 'b', 'c'], 2.0, sizes, 1.0)  # sqrt: 8, 4, 1
    assert t2 == {'a': 800, 'b': 400, 'c': 100}
    capped = split_making.lang_budgets(1000, ['a', 'b', 'c'], 1.0, sizes, 0.5)  # 64/81 > 0.5 -> excess to b, c
    assert capped['a'] == 500 and abs(capped['b'] - 500 * 16 / 17) <= 1 and abs(capped['c'] - 500 / 17) <= 1
    with pytest.raises(SystemExit, match='lang_sizes'):
        split_making.lang_budgets(10, ['a', 'x'], 1.0, sizes, 1.0)


def encode(cfg, tok, split='train'):
    tokens_dir = os.path.join(cfg['out_dir'], 'tokens', cfg['corpus'], tok.name)
    os.makedirs(tokens_dir, exist_ok=True)
    prepare.encode_split(tok, 'unused', corpus_dir(cfg), split, tokens_dir, cfg)
    return tokens_dir


@pytest.mark.parametrize('offset', [2, 70_000])  # uint16 and, above 65,536, uint32
def test_shard_round_trip_gives_back_every_document(tmp_path, offset):
    cfg = config(tmp_path, embedded_bytes=150_000)
    prepare.make_splits(cfg)
    tok = ByteTokenizer(offset)
    tokens_dir = encode(cfg, tok)
    ts = TokenShards(tokens_dir, 'train', tokenizer_hash=tok.hash, vocab_size=tok.vocab_size)
    assert ts.dtype == (np.uint16 if offset == 2 else np.uint32) and len(ts) >= 2  # several shards
    texts = [d['text'] for d in read_jsonl(f"{corpus_dir(cfg)}/train.jsonl")]
    got = list(ts.documents())
    assert len(got) == len(texts) == ts.n_docs
    for ids, text in zip(got, texts):
        assert ids[0] == tok.bos_id and tok.decode(ids[1:].tolist()) == text
    assert ts.n_bytes == sum(len(t.encode()) for t in texts)
    assert ts.n_tokens == ts.n_bytes + ts.n_docs == sum(len(g) for g in got)
    assert os.path.getsize(ts.paths[0]) == shards.HEADER_BYTES + len(ts.tokens(0)) * ts.dtype.itemsize


def test_reencoding_is_skipped_and_another_tokenizer_of_the_same_name_is_refused_unless_overwrite(tmp_path, capsys):
    cfg = config(tmp_path, embedded_bytes=100_000)
    prepare.make_splits(cfg)
    tok = ByteTokenizer()
    tokens_dir = encode(cfg, tok)
    before = open(f"{tokens_dir}/train_0000.bin", 'rb').read()
    encode(cfg, tok)
    assert 'already encoded' in capsys.readouterr().out
    tok.hash = 'f' * 16  # a second tokenizer trained under the same name: runs may have trained on the first's shards
    with pytest.raises(SystemExit) as e:
        encode(cfg, tok)
    assert 'train.json: holds the shards of another tokenizer named bytes-2' in str(e.value)
    assert '--overwrite=True' in str(e.value) and '\n' not in str(e.value)
    assert open(f"{tokens_dir}/train_0000.bin", 'rb').read() == before  # nothing deleted
    assert TokenShards(tokens_dir, 'train').meta['tokenizer_hash'] == ByteTokenizer().hash
    encode({**cfg, 'overwrite': True}, tok)
    assert TokenShards(tokens_dir, 'train').meta['tokenizer_hash'] == 'f' * 16


@pytest.fixture
def encoded(tmp_path):
    cfg = config(tmp_path, embedded_bytes=100_000)
    prepare.make_splits(cfg)
    tok = ByteTokenizer()
    return encode(cfg, tok), tok


def test_truncated_shard_is_refused(encoded):
    tokens_dir, tok = encoded
    path = f"{tokens_dir}/train_0000.bin"
    with open(path, 'r+b') as f:
        f.truncate(os.path.getsize(path) - 3)
    with pytest.raises(SystemExit, match='train_0000.bin: truncated or corrupt'):
        TokenShards(tokens_dir, 'train')


def test_shard_with_bad_header_or_too_short_is_refused(encoded):
    tokens_dir, tok = encoded
    path = f"{tokens_dir}/train_0000.bin"
    data = bytearray(open(path, 'rb').read())
    data[0:8] = b'\x00' * 8
    open(path, 'wb').write(data)
    with pytest.raises(SystemExit, match='bad magic'):
        TokenShards(tokens_dir, 'train')
    open(path, 'wb').write(b'short')
    with pytest.raises(SystemExit, match='shorter than'):
        TokenShards(tokens_dir, 'train')


def test_wrong_tokenizer_dtype_or_vocab_is_refused(encoded):
    tokens_dir, tok = encoded
    with pytest.raises(SystemExit, match='written by tokenizer bytes-2'):
        TokenShards(tokens_dir, 'train', tokenizer_hash='0123456789abcdef')
    with pytest.raises(SystemExit, match='uint16 ids, asked to read uint32'):
        TokenShards(tokens_dir, 'train', dtype=np.uint32)
    with pytest.raises(SystemExit, match="model's vocabulary is 100"):
        TokenShards(tokens_dir, 'train', vocab_size=100)
    with pytest.raises(SystemExit, match='never encoded'):
        TokenShards(tokens_dir, 'val')


def test_shard_written_by_another_tokenizer_than_its_sidecar_is_refused(tmp_path, encoded):
    tokens_dir, tok = encoded
    other = shards.ShardWriter(f"{tokens_dir}/train_0000.bin", tok.vocab_size, 'e' * 16, 0)
    n = json.load(open(f"{tokens_dir}/train.json"))['shards'][0]['n_tokens']
    other.write(np.zeros(n, dtype=np.int64), 1)
    other.close()
    with pytest.raises(SystemExit, match='another tokenizer'):
        TokenShards(tokens_dir, 'train')


def test_id_beyond_vocabulary_is_refused(tmp_path):
    cfg = config(tmp_path, embedded_bytes=50_000)
    prepare.make_splits(cfg)
    with pytest.raises(SystemExit, match='>= vocab_size 100'):
        encode(cfg, ByteTokenizer(vocab_size=100))


def test_interrupted_encode_rerun_produces_identical_files(tmp_path):
    cfg = config(tmp_path / 'a', embedded_bytes=150_000)
    prepare.make_splits(cfg)
    with pytest.raises(KeyboardInterrupt):
        encode(cfg, ByteTokenizer(fail_after=6))
    tokens_dir = os.path.join(cfg['out_dir'], 'tokens', 'embedded', 'bytes-2')
    assert not os.path.exists(f"{tokens_dir}/train.json")  # no sidecar: the split reads as unfinished
    encode(cfg, ByteTokenizer())
    clean = config(tmp_path / 'b', embedded_bytes=150_000)
    prepare.make_splits(clean)
    clean_dir = encode(clean, ByteTokenizer())
    names = sorted(os.listdir(clean_dir))
    assert sorted(os.listdir(tokens_dir)) == names and any(n.endswith('.bin') for n in names)
    for n in names:
        if n.endswith('.bin'):
            assert filecmp.cmp(f"{tokens_dir}/{n}", f"{clean_dir}/{n}", shallow=False)
    strip = lambda m: {k: v for k, v in m.items() if k not in ('source',)}
    assert strip(json.load(open(f"{tokens_dir}/train.json"))) == strip(json.load(open(f"{clean_dir}/train.json")))


def test_streaming_shuffle_is_a_seeded_permutation():
    items = list(range(1000))
    a = list(sources.shuffle_buffer_iter(iter(items), 64, seed=3))
    assert sorted(a) == items and a != items
    assert a == list(sources.shuffle_buffer_iter(iter(items), 64, seed=3))
    assert a != list(sources.shuffle_buffer_iter(iter(items), 64, seed=4))


def test_parallel_encoding_with_a_real_tokenizer_matches_serial(tmp_path):
    """num_workers=2 (a process pool loading the tokenizer by path) writes the same bytes as in-process encoding."""
    from tokenizer import train_bpe
    cfg = config(tmp_path, embedded_bytes=120_000, encode_splits=['train', 'val'])
    prepare.make_splits(cfg)
    tok_path = str(tmp_path / 'bpe-500')
    texts = [d['text'] for d in read_jsonl(f"{corpus_dir(cfg)}/tok.jsonl")]
    tok = train_bpe(texts, 500, tok_path, name='bpe-500')
    serial = prepare.encode_corpus({**cfg, 'num_workers': 1}, tok_path)
    tokens_dir = os.path.join(cfg['out_dir'], 'tokens', 'embedded', 'bpe-500')
    first = {n: open(f"{tokens_dir}/{n}", 'rb').read() for n in os.listdir(tokens_dir)}
    for n in os.listdir(tokens_dir):
        os.remove(f"{tokens_dir}/{n}")
    parallel = prepare.encode_corpus({**cfg, 'num_workers': 2}, tok_path)
    assert {n: open(f"{tokens_dir}/{n}", 'rb').read() for n in os.listdir(tokens_dir)} == first
    assert serial['train']['n_tokens'] == parallel['train']['n_tokens'] > serial['train']['n_docs']
    ts = TokenShards(tokens_dir, 'val', tokenizer_hash=tok.hash, vocab_size=tok.vocab_size)
    val_texts = [d['text'] for d in read_jsonl(f"{corpus_dir(cfg)}/val.jsonl")]
    assert [tok.decode(ids[1:].tolist()) for ids in ts.documents()] == val_texts


def test_largest_id_is_recorded_in_header_and_sidecar(encoded):
    tokens_dir, tok = encoded
    ts = TokenShards(tokens_dir, 'train')
    for i, path in enumerate(ts.paths):
        header, _ = shards.read_header(path)
        assert header[1] == shards.VERSION == 2
        assert header[8] == ts.meta['shards'][i]['max_id'] == int(np.max(ts.tokens(i)))
    assert ts.meta['max_id'] == max(ts.max_ids)
    ts.verify_ids()  # the data agrees with the record


def patch_max_id(tokens_dir, max_id):
    """As a shard written by a writer that did not check its ids: header and sidecar both record `max_id`."""
    path = f"{tokens_dir}/train_0000.bin"
    with open(path, 'r+b') as f:
        f.seek(8 * 8)
        f.write(np.array([max_id], dtype='<i8').tobytes())
    meta = json.load(open(f"{tokens_dir}/train.json"))
    meta['shards'][0]['max_id'] = max_id
    json.dump(meta, open(f"{tokens_dir}/train.json", 'w'))
    return path


def test_shard_recording_an_id_beyond_the_vocabulary_is_refused_at_load(encoded):
    tokens_dir, tok = encoded
    path = patch_max_id(tokens_dir, tok.vocab_size)
    with pytest.raises(SystemExit) as e:
        TokenShards(tokens_dir, 'train', tokenizer_hash=tok.hash, vocab_size=tok.vocab_size)
    assert str(e.value).startswith(f"{path}: holds token id 258 >= its tokenizer's vocab_size 258")
    assert 're-run prepare.py' in str(e.value)


def test_header_and_sidecar_disagreeing_on_the_largest_id_is_refused(encoded):
    tokens_dir, tok = encoded
    meta = json.load(open(f"{tokens_dir}/train.json"))
    meta['shards'][1]['max_id'] -= 1
    json.dump(meta, open(f"{tokens_dir}/train.json", 'w'))
    with pytest.raises(SystemExit, match=r'train_0001\.bin: header says the largest id is \d+, .* says \d+'):
        TokenShards(tokens_dir, 'train')


def test_an_id_written_into_the_data_afterwards_is_found_by_verify_ids(encoded):
    tokens_dir, tok = encoded
    path = f"{tokens_dir}/train_0001.bin"
    with open(path, 'r+b') as f:
        f.seek(shards.HEADER_BYTES + 2 * 777)
        f.write(np.array([60_000], dtype='<u2').tobytes())
    ts = TokenShards(tokens_dir, 'train')  # the header alone cannot see it
    with pytest.raises(SystemExit, match=r'train_0001\.bin: token 777 is id 60000, above the largest id written'):
        ts.verify_ids(chunk=500)


def test_writer_refuses_an_id_outside_the_vocabulary(tmp_path):
    w = shards.ShardWriter(str(tmp_path / 'x_0000.bin'), 100, 'a' * 16, 0)
    with pytest.raises(SystemExit, match='token id 100 outside'):
        w.write(np.array([0, 5, 100]), 1)
    w.abort()
    assert os.listdir(tmp_path) == []


def test_version_1_shards_are_refused_and_prepare_reencodes_them(tmp_path, capsys):
    cfg = config(tmp_path, embedded_bytes=100_000)
    prepare.make_splits(cfg)
    tokens_dir = encode(cfg, ByteTokenizer())
    first = f"{tokens_dir}/train_0000.bin"
    with open(first, 'r+b') as f:  # as the previous code wrote them: version 1, slot 8 unused
        f.seek(8)
        f.write(np.array([1], dtype='<i8').tobytes())
    meta = json.load(open(f"{tokens_dir}/train.json"))
    json.dump({**meta, 'format_version': 1}, open(f"{tokens_dir}/train.json", 'w'))
    with pytest.raises(SystemExit, match=r'train_0000\.bin: shard format version 1 .* re-run prepare\.py'):
        TokenShards(tokens_dir, 'train')
    encode(cfg, ByteTokenizer())
    assert 'already encoded' not in capsys.readouterr().out
    assert TokenShards(tokens_dir, 'train').meta['format_version'] == 2


def test_interrupted_encode_reuses_finished_shards_and_matches_an_uninterrupted_run(tmp_path, capsys):
    clean = config(tmp_path / 'clean', embedded_bytes=200_000)
    prepare.make_splits(clean)
    clean_tok = ByteTokenizer()
    clean_dir = encode(clean, clean_tok)
    n_shards = len(json.load(open(f"{clean_dir}/train.json"))['shards'])
    assert n_shards >= 3
    cfg = config(tmp_path / 'cut', embedded_bytes=200_000)
    prepare.make_splits(cfg)
    with pytest.raises(KeyboardInterrupt):  # killed in the third shard
        encode(cfg, ByteTokenizer(fail_after=clean_tok.calls * 5 // (2 * n_shards)))
    tokens_dir = os.path.join(cfg['out_dir'], 'tokens', 'embedded', 'bytes-2')
    done = json.load(open(f"{tokens_dir}/train.partial.json"))['shards']
    assert len(done) == 2 and not os.path.exists(f"{tokens_dir}/train.json")
    before = [os.stat(f"{tokens_dir}/{s['file']}") for s in done]
    capsys.readouterr()
    tok = ByteTokenizer()
    encode(cfg, tok)
    assert 'reusing 2 finished train shards' in capsys.readouterr().out
    after = [os.stat(f"{tokens_dir}/{s['file']}") for s in done]
    assert [(a.st_ino, a.st_mtime_ns) for a in after] == [(b.st_ino, b.st_mtime_ns) for b in before]  # not rewritten
    assert tok.calls < clean_tok.calls  # the reused shards' documents were not encoded again
    assert sorted(os.listdir(tokens_dir)) == sorted(os.listdir(clean_dir))  # no record, no temp file left
    for n in os.listdir(clean_dir):
        a, b = open(f"{tokens_dir}/{n}", 'rb').read(), open(f"{clean_dir}/{n}", 'rb').read()
        assert a == b if n.endswith('.bin') else a.replace(b'/cut/', b'/clean/') == b, n


def test_interrupted_encode_with_other_shard_settings_starts_over(tmp_path, capsys):
    cfg = config(tmp_path, embedded_bytes=150_000, chunk_docs=4)
    prepare.make_splits(cfg)
    with pytest.raises(KeyboardInterrupt):
        encode(cfg, ByteTokenizer(fail_after=20))
    tokens_dir = os.path.join(cfg['out_dir'], 'tokens', 'embedded', 'bytes-2')
    assert json.load(open(f"{tokens_dir}/train.partial.json"))['shards']
    cfg['shard_tokens'] = 30_000
    encode(cfg, ByteTokenizer())
    assert 'encoding train from the start' in capsys.readouterr().out
    ts = TokenShards(tokens_dir, 'train')
    assert all(s['n_tokens'] >= 30_000 for s in ts.meta['shards'][:-1]) and ts.n_docs == ts.meta['n_docs']
    texts = [d['text'] for d in read_jsonl(f"{corpus_dir(cfg)}/train.jsonl")]
    assert [ByteTokenizer().decode(ids[1:].tolist()) for ids in ts.documents()] == texts


def test_a_reused_shard_that_was_altered_is_not_reused(tmp_path, capsys):
    cfg = config(tmp_path, embedded_bytes=150_000, chunk_docs=4)
    prepare.make_splits(cfg)
    with pytest.raises(KeyboardInterrupt):
        encode(cfg, ByteTokenizer(fail_after=20))
    tokens_dir = os.path.join(cfg['out_dir'], 'tokens', 'embedded', 'bytes-2')
    with open(f"{tokens_dir}/train_0000.bin", 'r+b') as f:
        f.truncate(shards.HEADER_BYTES + 10)
    encode(cfg, ByteTokenizer())
    assert 'not reusable, encoding train from the start' in capsys.readouterr().out
    assert TokenShards(tokens_dir, 'train', vocab_size=258).n_docs == len(read_jsonl(f"{corpus_dir(cfg)}/train.jsonl"))


def test_encode_interrupted_in_process_resumes_in_a_process_pool_with_the_same_bytes(tmp_path):
    from tokenizer import train_bpe
    from uniscale.tokenization import load_tokenizer
    cfg = config(tmp_path, embedded_bytes=120_000, chunk_docs=4, shard_tokens=8_000, encode_splits=['train'])
    prepare.make_splits(cfg)
    tok_path = str(tmp_path / 'bpe-500')
    train_bpe([d['text'] for d in read_jsonl(f"{corpus_dir(cfg)}/tok.jsonl")], 500, tok_path, name='bpe-500')
    tokens_dir = os.path.join(cfg['out_dir'], 'tokens', 'embedded', 'bpe-500')
    prepare.encode_corpus(cfg, tok_path)
    clean = {n: open(f"{tokens_dir}/{n}", 'rb').read() for n in os.listdir(tokens_dir)}
    for n in clean:
        os.remove(f"{tokens_dir}/{n}")

    class Killed:  # the real tokenizer, killed after 12 chunks
        def __init__(self, tok):
            self.tok, self.calls = tok, 0

        def __getattr__(self, name):
            return getattr(self.tok, name)

        def encode_batch(self, texts):
            self.calls += 1
            if self.calls > 12:
                raise KeyboardInterrupt
            return self.tok.encode_batch(texts)
    with pytest.raises(KeyboardInterrupt):
        prepare.encode_split(Killed(load_tokenizer(tok_path)), tok_path, corpus_dir(cfg), 'train', tokens_dir, cfg)
    assert len(json.load(open(f"{tokens_dir}/train.partial.json"))['shards']) >= 1
    prepare.encode_corpus({**cfg, 'num_workers': 2}, tok_path)
    assert {n: open(f"{tokens_dir}/{n}", 'rb').read() for n in os.listdir(tokens_dir)} == clean


def write_fineweb2(root, texts, layout):
    """FineWeb-2 parquet files in the flat layout {root}/{lang}/ or the hub snapshot's ({root}/data/{lang}/train/,
    and FineWeb's sample/10BT/ for eng)."""
    for lang, t in texts.items():
        cols = {k: [v if v is not None else lang] * len(t) for k, v in FINEWEB2_SCHEMA.items()}
        cols['id'] = [str(i) for i in range(len(t))]
        folder = (f"{root}/{lang}" if layout == 'flat' else f"{root}/sample/10BT" if lang == 'eng'
                  else f"{root}/data/{lang}/train")
        write_parquet(f"{folder}/000_00000.parquet", t, **cols)


FW2_TEXTS = {'eng': ['Hello world, this is English text number %d.' % i for i in range(300)],
             'rus_Cyrl': ['Привет, мир! Это русский текст номер %d.' % i for i in range(50)],
             'cmn_Hani': ['你好世界，这是第%d篇中文。' % i for i in range(300)]}


def test_fineweb2_hub_layout_and_a_short_language_passes_its_budget_on(tmp_path, capsys):
    write_fineweb2(tmp_path / 'hub', FW2_TEXTS, 'hub')
    cfg = config(tmp_path / 'a', corpus='fineweb2', langs=list(FW2_TEXTS), fineweb2_files=str(tmp_path / 'hub'),
                 train_bytes=9_000, tok_bytes=3_000, eval_docs_per_lang=10, shuffle_buffer=50)
    meta = prepare.make_splits(cfg)
    rus = FW2_TEXTS['rus_Cyrl']
    short = sum(len(t.encode()) for t in rus) - sum(len(d['text'].encode()) for s in ('val', 'test')
                                                    for d in read_jsonl(f"{corpus_dir(cfg)}/{s}.jsonl")
                                                    if d['lang'] == 'rus_Cyrl')
    per_lang = meta['splits']['train']['per_lang']
    assert per_lang['rus_Cyrl'] == short < 3_000 and meta['ran_out'] == ['rus_Cyrl']
    spare = 3_000 - short
    for lang in ('eng', 'cmn_Hani'):  # each takes half of the spare, overshooting by at most one document
        assert 3_000 + spare // 2 - 1 <= per_lang[lang] < 3_000 + spare // 2 + 60
    assert f"note: rus_Cyrl ran out at {short:,} of 3,000 train bytes; its unused {spare:,} bytes go to eng, cmn_Hani" \
        in capsys.readouterr().out
    train = read_jsonl(f"{corpus_dir(cfg)}/train.jsonl")
    assert len({d['text'] for d in train}) == len(train)  # a language visited twice gives no document twice
    # eng's documents are those of one pass with enough Russian: the same stream, read further
    write_fineweb2(tmp_path / 'flat', {**FW2_TEXTS, 'rus_Cyrl': rus * 3 + [t + '!' for t in rus]}, 'flat')
    ref = config(tmp_path / 'b', **{**cfg, 'out_dir': str(tmp_path / 'b' / 'out'),
                                    'fineweb2_files': str(tmp_path / 'flat')})
    ref_meta = prepare.make_splits(ref)
    assert ref_meta['ran_out'] == []
    eng = [d['text'] for d in train if d['lang'] == 'eng']
    ref_eng = [d['text'] for d in read_jsonl(f"{corpus_dir(ref)}/train.jsonl") if d['lang'] == 'eng']
    assert len(ref_eng) < len(eng) and eng[:len(ref_eng)] == ref_eng


def test_fineweb2_language_without_files_is_one_line_naming_both_layouts(tmp_path):
    write_fineweb2(tmp_path / 'hub', {'eng': FW2_TEXTS['eng']}, 'hub')
    cfg = config(tmp_path, corpus='fineweb2', langs=['eng', 'deu_Latn'], fineweb2_files=str(tmp_path / 'hub'),
                 train_bytes=2_000, tok_bytes=500, eval_docs_per_lang=5)
    with pytest.raises(SystemExit) as e:
        prepare.make_splits(cfg)
    assert 'no parquet files for deu_Latn' in str(e.value) and 'data/deu_Latn/train/*.parquet' in str(e.value)
    assert not os.path.exists(corpus_dir(cfg))  # found before any work (the files are listed first)


def test_fineweb2_when_every_language_runs_out_all_their_text_is_used_and_said(tmp_path, capsys):
    texts = {k: FW2_TEXTS[k] for k in ('rus_Cyrl', 'cmn_Hani')}
    write_fineweb2(tmp_path / 'hub', texts, 'hub')
    cfg = config(tmp_path, corpus='fineweb2', langs=list(texts), fineweb2_files=str(tmp_path / 'hub'),
                 train_bytes=1_000_000, tok_bytes=3_000, eval_docs_per_lang=5, shuffle_buffer=20)
    meta = prepare.make_splits(cfg)
    assert meta['ran_out'] == ['rus_Cyrl', 'cmn_Hani']
    assert sum(meta['splits'][s]['n_docs'] for s in ('train', 'val', 'test')) == 350  # every document, once
    out = capsys.readouterr().out
    assert 'note: rus_Cyrl ran out' in out and 'bytes go to cmn_Hani' in out
    assert 'note: cmn_Hani ran out' in out and 'go to no language (all ran out)' in out


def test_blank_lines_are_skipped_by_the_encoding_as_by_every_reader_and_counted_in_line_numbers(tmp_path):
    from uniscale import identity, splits
    cfg = config(tmp_path, embedded_bytes=100_000, chunk_docs=4)
    prepare.make_splits(cfg)
    tok = ByteTokenizer()
    tokens_dir = encode(cfg, tok)
    clean = [ids.tolist() for ids in TokenShards(tokens_dir, 'train').documents()]
    path = f"{corpus_dir(cfg)}/train.jsonl"  # a split with blank lines, as a hand-written one may have
    lines = open(path, 'rb').read().splitlines(keepends=True)
    open(path, 'wb').write(b''.join(line + (b'\n' if i % 5 == 0 else b'  \t\n' if i % 7 == 0 else b'')
                                    for i, line in enumerate(lines)))
    meta = json.load(open(f"{corpus_dir(cfg)}/meta.json"))
    meta['splits']['train']['sha256'] = identity.file_sha256(path)
    json.dump(meta, open(f"{corpus_dir(cfg)}/meta.json", 'w'))
    texts = [d['text'] for _, d in splits.read_docs(path)]
    encode(cfg, tok)
    ts = TokenShards(tokens_dir, 'train')
    assert [ids.tolist() for ids in ts.documents()] == clean and ts.n_docs == len(texts) == len(lines)
    with pytest.raises(splits.BadLine, match=r'^x\.jsonl:13: not JSON'):  # the blank lines count
        prepare.encode_lines([b'{"text": "a"}\n', b'\n', b'  \n', b'nul\n'], tok, 'x.jsonl', 10)
    assert prepare.encode_lines([b'\n', b' \n'], tok)[1:] == (0, 0)


def test_a_split_edited_after_it_was_made_is_refused_by_the_encoding_and_no_shard_of_it_kept(tmp_path):
    cfg = config(tmp_path, embedded_bytes=100_000)
    prepare.make_splits(cfg)
    path = f"{corpus_dir(cfg)}/train.jsonl"
    good = open(path, 'rb').read()
    lines = good.splitlines(keepends=True)
    open(path, 'wb').write(b''.join([lines[1], lines[0]] + lines[2:]))  # valid, the same size: another text
    with pytest.raises(SystemExit) as e:
        encode(cfg, ByteTokenizer())
    assert str(e.value).startswith(f"{path}: its content is not the text {corpus_dir(cfg)}/meta.json records")
    tokens_dir = os.path.join(cfg['out_dir'], 'tokens', 'embedded', 'bytes-2')
    assert listing(tokens_dir) == []  # no sidecar, no shard, no record to resume from
    open(path, 'wb').write(good)  # what must still pass: the text meta.json describes
    encode(cfg, ByteTokenizer())
    assert TokenShards(tokens_dir, 'train').n_docs == len(lines)
