"""
Corpora -> text splits -> token shards.

    python prepare.py config/demo.py                                   # generated corpus (offline default)
    python prepare.py --corpus=tinystories --tokenizers=out/tokenizers/bpe-16k
    python prepare.py config/fineweb2.py --tokenizers=out/tokenizers/bpe-80k,out/tokenizers/unigram-80k
    python prepare.py --corpus=mytext --files="data/*.jsonl"           # your own text (.jsonl, .txt, .parquet)
    python prepare.py --corpus=mine --train_files=a.jsonl --val_files=b.jsonl --test_files=c.jsonl

1. Text splits: out/corpus/{corpus}/{tok,train,val,test}.jsonl, one {"text", "lang"} a line, and meta.json
   (written last: its presence means the splits are complete; a re-run with the same settings skips).
   - embedded:    stories generated offline by data/embedded/generate.py (synthetic, say so when you report on it)
   - tinystories: roneneldan/TinyStories; its validation split is our test, val is a seeded 1% of train
   - fineweb2:    HuggingFaceFW/fineweb-2 per language (English from HuggingFaceFW/fineweb), streamed,
                  byte budgets split evenly or by temperature sampling, per-language val/test
   - any other name, with `files` (paths or globs, comma-separated): your own text; .jsonl (one
                  {"text", "lang"} a line), .txt (one document a file), .parquet ('text', 'lang'
                  where present); `lang` where a document names none. Files by content (a copy or
                  a symlink is read once); each document to val or test (eval_fraction each) or
                  train by a hash of its text: one text, however named or repeated, is in one
                  split. Given splits (train_files, val_files, test_files, tok_files) are kept as
                  given; a text in test is dropped from val, one in val or test from train and tok
                  (a given split before a drawn one; counted in meta.json). The files' sha256s,
                  not their paths, are settings (uniscale/own_text.py).
   Hub corpora can be read from local parquet files instead (tinystories_files, fineweb2_files; uniscale/sources.py).
   A split that would be empty is refused before meta.json is written (the previous splits stay as they were), and
   splits that shards, tokenizers or runs were computed from are not remade with other settings unless overwrite=True.
   A split edited after it was made is refused (its sha256 against meta.json's); overwrite=True
   remakes it.
   Stopped (SIGTERM, Ctrl-C), a run keeps {split}.jsonl.partial and progress.json (also recorded every
   checkpoint_bytes); the next run with the same settings resumes there, writing the bytes one run would have.
2. Token shards: with `tokenizers` set, each split in `encode_splits` is encoded (BOS before every document)
   into out/tokens/{corpus}/{tokenizer}/{split}_NNNN.bin (+ {split}_NNNN.starts.npy, where each document starts)
   + {split}.json (format in uniscale/shards.py); a sidecar from before the starts were stored gets them.
   A split whose shards are not the bytes its sidecar records (each shard's sha256) is encoded again;
   one from before the sha256 were recorded gets them (so does its first reader).
   Streaming and parallel across cores; a split whose sidecar matches tokenizer and text is skipped, and an
   interrupted one keeps its finished shards ({split}.partial.json) and resumes after them. Shards of another
   tokenizer of the same name are not deleted unless overwrite=True. The text is checked against its sha256.
One writer at a time: a corpus folder and a shard folder are locked while written (uniscale/locks.py).
"""
import glob
import hashlib
import itertools
import json
import multiprocessing as mp
import os
import time
from collections import deque

import numpy as np

import configurator
from uniscale import locks, own_text
from uniscale.atomic import disk_errors, read_json, remove_quietly, write_json_atomic
from uniscale.shards import (VERSION as SHARD_VERSION, ShardWriter, dtype_for_vocab, finished_shards, forget_progress,
                             record_progress, refresh_doc_starts, shards_unchanged)
from uniscale.sources import input_files
from uniscale.split_making import (MAKERS, SPLITS, canonical, check_fineweb2_eval, check_made, corpus_kind,
                                   kept_or_remade, previous_meta, progress, read_record,
                                   remake_command, split_settings, stop_signals)
from uniscale.splits import BadLine, is_blank, parse_doc

# -----------------------------------------------------------------------------
# defaults (override with config/*.py or --key=value)
corpus = 'embedded'          # 'embedded' | 'tinystories' | 'fineweb2' | a name of your own, with `files`
out_dir = 'out'
seed = 1337
tok_bytes = 1_500_000        # of UTF-8 text: the tokenizer-training split (a prefix of train, per language)
# embedded
embedded_bytes = 4_000_000   # of UTF-8 text, all splits together
eval_fraction = 0.02         # share of embedded (and your own) documents that go to val, and again to test
# your own text (uniscale/own_text.py): paths or globs, comma-separated; .jsonl, .txt, .parquet
files = ''                   # pooled: each document to val, test or train by a hash of its text
train_files = ''             # given splits, kept (a text in val or test is dropped from train)
val_files = ''
test_files = ''
tok_files = ''               # the tokenizers' split; '' = the first tok_bytes of train
lang = 'und'                 # the language of a document that names none
# tinystories
tinystories_files = ''       # local folder with the hub layout data/{train,validation}-*.parquet; '' = hub
val_fraction = 0.01          # of TinyStories train documents, seeded
# fineweb2
langs = ['eng', 'deu_Latn']  # config/fineweb2.py sets LANG_SET_20
fineweb2_files = ''          # local folder: {root}/{lang}/*.parquet or the hub snapshot's data/{lang}/train/; ''=hub
train_bytes = 10_000_000_000 # of UTF-8 text, all languages together
eval_docs_per_lang = 1000    # documents per language in val, and again in test
temperature = 0.0            # 0: equal bytes per language; T >= 1: p_lang ~ size_lang^(1/T)
lang_sizes = {}              # natural size per language (any unit) for temperature sampling
lang_cap = 0.5               # no language gets more than this share of a budget
shuffle_buffer = 10_000      # documents, for the streamed hub corpora
checkpoint_bytes = 64_000_000  # split making records its progress after this many bytes (a stopped run resumes)
overwrite = False            # remake splits (or re-encode shards) that other artifacts were computed from
# encoding
tokenizers = []              # tokenizer folders (or tiktoken names) to encode the splits with
encode_splits = ['train', 'val', 'test']
shard_tokens = 100_000_000   # a new shard starts after this many tokens (documents never span shards)
num_workers = 0              # encoding processes; 0 = one per core
chunk_docs = 512             # documents per encoding task
# -----------------------------------------------------------------------------
PROGRESS_VERSION = 1


# ---------------------------------------------------------------- text splits
class SplitWriter:
    """Writes the four jsonl splits as {split}.jsonl.partial, hashing as it goes. Every checkpoint_bytes, and when a
    signal stops it, it records its progress (progress.json: settings, each file's length, the stats, the maker's
    state), and a run with the same settings resumes from the record: each file cut back to its recorded length
    and hashed again. `finish` renames the files into place and writes meta.json last."""

    def __init__(self, corpus_dir, settings, checkpoint_bytes):
        self.dir, self.settings, self.every = corpus_dir, settings, checkpoint_bytes
        self.record = os.path.join(corpus_dir, 'progress.json')
        self.files, self.state, self.stop, self.resumable, self.since = {}, {}, None, False, 0
        self.sha = {s: hashlib.sha256() for s in SPLITS}
        self.stats = {s: {'n_docs': 0, 'n_bytes': 0, 'per_lang': {}} for s in SPLITS}
        try:
            with disk_errors(corpus_dir):
                os.makedirs(corpus_dir, exist_ok=True)
                rec = self.recorded()
                self.resumable = rec is not None
                for s in SPLITS:
                    self.files[s] = open(self.partial(s), 'r+b' if rec else 'wb')
                if rec:
                    self.resume(rec)
        except BaseException:
            self.abort()
            raise

    def partial(self, split):
        return os.path.join(self.dir, f"{split}.jsonl.partial")

    def recorded(self):
        """The record a stopped run left for these settings, its files all there; else None (and they go)."""
        rec = previous_meta(self.record, 'making the splits from the start')
        try:
            ok = (rec.get('version'), rec.get('settings')) == (PROGRESS_VERSION, self.settings) and all(
                os.path.getsize(self.partial(s)) >= rec['offsets'][s] for s in SPLITS)
        except (AttributeError, KeyError, TypeError, OSError):
            ok = False
        if rec is not None and not ok:
            print(f"{self.record}: made with other settings, or its files are gone; making the splits from the start")
        if not ok:
            self.discard()
        return rec if ok else None

    def resume(self, rec):
        for s, f in self.files.items():
            f.truncate(rec['offsets'][s])  # what was written after the record is written again
            for block in iter(lambda: f.read(1 << 20), b''):  # a sha256's state cannot be saved: hash the file again
                self.sha[s].update(block)
        self.stats, self.state, self.resumable = rec['stats'], rec['state'], True
        print(f"{self.dir}: resuming the splits where a stopped run left them "
              f"({sum(rec['offsets'].values()) / 1e6:.1f} MB written)")

    def add(self, split, text, lang):
        line = (json.dumps({'text': text, 'lang': lang}, ensure_ascii=False) + '\n').encode('utf-8')
        with disk_errors(os.path.join(self.dir, f"{split}.jsonl")):
            self.files[split].write(line)
        self.sha[split].update(line)
        self.since += len(line)
        n_bytes = len(text.encode('utf-8'))
        st = self.stats[split]
        st['n_docs'] += 1
        st['n_bytes'] += n_bytes
        st['per_lang'][lang] = st['per_lang'].get(lang, 0) + n_bytes
        return n_bytes

    def boundary(self, state):
        """A maker calls this before each document; state() is its position as JSON. Records the progress every
        checkpoint_bytes, and on a stop signal records it and stops (KeyboardInterrupt)."""
        if self.stop:
            self.checkpoint(state())
            raise KeyboardInterrupt
        if self.since >= self.every:
            self.checkpoint(state())

    def checkpoint(self, state):
        locks.check_held()  # .lock deleted by hand: another prepare.py may write here too
        with disk_errors(self.dir):
            for f in self.files.values():
                f.flush()
        write_json_atomic(self.record, {'version': PROGRESS_VERSION, 'settings': self.settings,
                                        'offsets': {s: f.tell() for s, f in self.files.items()},
                                        'stats': self.stats, 'state': state})
        self.since, self.resumable = 0, True

    def finish(self, meta):
        meta_path = os.path.join(self.dir, 'meta.json')
        with disk_errors(self.dir):
            for f in self.files.values():
                f.close()
            remove_quietly(meta_path)  # the old splits' record first: a kill below leaves splits that read as unmade
            for s in SPLITS:
                os.replace(self.partial(s), os.path.join(self.dir, f"{s}.jsonl"))
        for s in SPLITS:
            self.stats[s]['sha256'] = self.sha[s].hexdigest()
        meta = canonical({**meta, 'splits': self.stats})
        write_json_atomic(meta_path, meta)
        remove_quietly(self.record)
        return meta

    def abort(self, keep=True):
        """Close the files; with a progress record (and keep) they stay for the next run to resume, else they go
        (bad input, a full disk, an impossible split): without meta.json nothing reads as made."""
        for f in self.files.values():
            try:
                f.close()  # flushing onto a full disk fails again: the file goes anyway
            except OSError:
                pass
        if not (keep and self.resumable):
            self.discard()

    def discard(self):
        for s in SPLITS:
            remove_quietly(self.partial(s))
        remove_quietly(self.record)


def make_splits(cfg):
    """Text splits for cfg['corpus'], skipped when meta.json records the same settings and the
    splits are as made (kept_or_remade); a stopped run's are resumed; splits other artifacts were
    computed from are not remade with other settings (refuse_remake)."""
    kind = corpus_kind(cfg)
    check_fineweb2_eval(cfg)  # before any work
    corpus_dir = os.path.join(cfg['out_dir'], 'corpus', cfg['corpus'])
    meta_path = os.path.join(corpus_dir, 'meta.json')
    records = own_text.input_records(cfg) if kind == 'files' else None
    settings = split_settings(cfg, records)
    with locks.hold(corpus_dir, 'corpus'):
        for stale in glob.glob(os.path.join(glob.escape(corpus_dir), '*.tmp')):  # a killed run's (we hold the lock)
            remove_quietly(stale)
        meta = previous_meta(meta_path, 'remaking the splits')
        kept = None if meta is None else kept_or_remade(cfg, kind, corpus_dir, meta, settings,
                                                        records)
        if kept is not None:
            for left in ['progress.json'] + [f"{s}.jsonl.partial" for s in SPLITS]:  # now moot
                remove_quietly(os.path.join(corpus_dir, left))
            return kept
        return write_splits(cfg, kind, corpus_dir, settings)


def write_splits(cfg, kind, corpus_dir, settings):
    t0 = time.time()
    w = SplitWriter(corpus_dir, settings, cfg['checkpoint_bytes'])
    try:
        with stop_signals(w):
            extra = MAKERS[kind](w, cfg)
    except KeyboardInterrupt:
        w.abort()
        if w.stop:
            raise SystemExit(f"{corpus_dir}: stopped by {w.stop}; what was written is kept (progress.json), run the "
                             f"same command again to resume") from None
        raise
    except BaseException:
        w.abort()
        raise
    try:
        check_made(w.stats, kind, cfg)
    except SystemExit:
        w.abort(keep=False)
        raise
    try:
        meta = w.finish({'corpus': cfg['corpus'], 'settings': settings, **extra})
    except BaseException:
        w.abort()
        raise
    sizes = ', '.join(f"{s} {meta['splits'][s]['n_bytes'] / 1e6:.1f} MB" for s in SPLITS)
    print(f"{corpus_dir}: {sizes} in {time.time() - t0:.1f}s")
    if own_text.dropped_line(corpus_dir, meta.get('dropped', {})):
        print(own_text.dropped_line(corpus_dir, meta['dropped']))
    if w.stop:
        raise SystemExit(f"{corpus_dir}: stopped by {w.stop} (the splits are complete)")
    return meta


# ---------------------------------------------------------------- token shards
_worker_tok = None  # each encoding process loads the tokenizer once


def _init_worker(tok_path):
    global _worker_tok
    os.environ['TOKENIZERS_PARALLELISM'] = 'false'  # parallel across processes, not threads inside each
    from uniscale.tokenization import load_tokenizer
    _worker_tok = load_tokenizer(tok_path)


def _encode_task(lines, path, first_line):
    """encode_docs in a pool worker: a SystemExit there would kill the worker and hang its task forever."""
    try:
        return encode_docs(lines, _worker_tok, path, first_line)
    except SystemExit as e:
        raise BadLine(str(e)) from None


def encode_lines(lines, tok, path='', first_line=1):
    """jsonl lines -> (ids with BOS before each document, n_docs, n_bytes of text). Blank lines are no documents
    (skipped, as every reader of a split skips them; line numbers count them). Bad input raises BadLine (a
    ValueError, so that it crosses the process pool) naming path:line."""
    ids, _, n_docs, n_bytes = encode_docs(lines, tok, path, first_line)
    return ids, n_docs, n_bytes


def encode_docs(lines, tok, path='', first_line=1):
    """encode_lines plus where each document starts in the ids (the shard's starts file records them):
    (ids, starts, n_docs, n_bytes)."""
    texts = [parse_doc(line, path, first_line + i)['text'] for i, line in enumerate(lines) if not is_blank(line)]
    if not texts:
        return np.zeros(0, dtype=dtype_for_vocab(tok.vocab_size)), np.zeros(0, dtype=np.int64), 0, 0
    docs = tok.encode_batch(texts)
    lengths = np.array([len(d) + 1 for d in docs], dtype=np.int64)
    ids = np.empty(lengths.sum(), dtype=dtype_for_vocab(tok.vocab_size))
    is_bos = np.zeros(len(ids), dtype=bool)
    is_bos[np.cumsum(lengths) - lengths] = True
    ids[is_bos] = tok.bos_id
    flat = np.fromiter(itertools.chain.from_iterable(docs), dtype=np.int64, count=len(ids) - len(docs))
    if len(flat) and flat.max() >= tok.vocab_size:  # check before the cast to uint16 could wrap it
        raise BadLine(f"{tok.name}: encoded id {flat.max()} >= vocab_size {tok.vocab_size} (in {path} lines "
                      f"{first_line}-{first_line + len(lines) - 1}); the tokenizer's meta.json is inconsistent, "
                      f"retrain it with tokenizer.py")
    ids[~is_bos] = flat
    return ids, np.cumsum(lengths) - lengths, len(texts), sum(len(t.encode('utf-8')) for t in texts)


def read_chunks(path, n, first=1, offset=0, sha=None):
    """(number of the chunk's first line, its lines, byte offset after them) for every n lines from `offset`; every
    byte of the file (those before `offset` too) goes into `sha`, so the caller can check the text it encoded."""
    with open(path, 'rb') as f:
        while sha and f.tell() < offset:  # resuming: the lines encoded before are hashed, not encoded, again
            block = f.read(min(1 << 20, offset - f.tell()))
            if not block:
                break
            sha.update(block)
        f.seek(offset)
        chunk = []
        for line in f:
            chunk.append(line)
            offset += len(line)
            if sha:
                sha.update(line)
            if len(chunk) == n:
                yield first, chunk, offset
                chunk, first = [], first + n
        if chunk:
            yield first, chunk, offset


def encoded_chunks(path, tok, tok_path, workers, n_docs, first=1, offset=0, sha=None):
    """(ids, document starts, n_docs, n_bytes, n_lines, byte offset after the chunk) in file order, from line
    `first` at `offset`.
    With workers > 1, a process pool with at most 2 tasks per worker in flight, so memory stays flat however
    large the split is. A bad line ends the run with its one-line message."""
    try:
        if workers <= 1:
            for first, lines, end in read_chunks(path, n_docs, first, offset, sha):
                yield *encode_docs(lines, tok, path, first), len(lines), end
            return
        with mp.get_context('spawn').Pool(workers, initializer=_init_worker, initargs=(tok_path,)) as pool:
            pending = deque()
            for first, lines, end in read_chunks(path, n_docs, first, offset, sha):
                pending.append((pool.apply_async(_encode_task, (lines, path, first)), len(lines), end))
                if len(pending) >= 2 * workers:
                    task, n_lines, end = pending.popleft()
                    yield *task.get(), n_lines, end
            while pending:
                task, n_lines, end = pending.popleft()
                yield *task.get(), n_lines, end
    except BadLine as e:  # raised here or in a worker: the message, not the pool's traceback
        raise SystemExit(str(e)) from None


def other_tokenizer(tokens_dir, tok, splits, cfg):
    """Sidecars in the shard folder written by another tokenizer of the same name: encoding would delete shards
    runs may have been trained on, so it is refused unless overwrite=True."""
    found = [p for p in (os.path.join(tokens_dir, f"{s}.json") for s in splits)
             if read_record(p).get('tokenizer_hash') not in (None, tok.hash)]
    if found and not cfg['overwrite']:
        old = read_record(found[0])['tokenizer_hash']
        raise SystemExit(f"{found[0]}: holds the shards of another tokenizer named {tok.name} (hash {old[:12]}; this "
                         f"one is {tok.hash[:12]}); encoding would delete shards runs may have been trained on: give "
                         f"this tokenizer its own name (train it into another folder), or pass --overwrite=True")


def encode_split(tok, tok_path, corpus_dir, split, tokens_dir, cfg):
    """One split -> shards + sidecar, holding the shard folder's lock; skipped when the sidecar names this tokenizer
    and this text. The shards an interrupted run finished are kept (shards.finished_shards) and encoding resumes
    after them: the same bytes."""
    with locks.hold(tokens_dir, 'shard folder'):
        return _encode_split(tok, tok_path, corpus_dir, split, tokens_dir, cfg)


def _encode_split(tok, tok_path, corpus_dir, split, tokens_dir, cfg):
    src = os.path.join(corpus_dir, f"{split}.jsonl")
    src_sha = split_sha256(corpus_dir, split)
    if not os.path.isfile(src):
        raise SystemExit(f"{src}: missing though {corpus_dir}/meta.json lists it; re-run prepare.py to remake it")
    for stale in [p for pattern in (f"{split}_*.bin.tmp", f"{split}.*.tmp", f"{split}_*.starts.npy.*.tmp")
                  for p in glob.glob(os.path.join(tokens_dir, pattern))]:
        os.remove(stale)  # a killed run's temp files (shards, starts, the sidecar's, the record's): we hold the lock
    sidecar = os.path.join(tokens_dir, f"{split}.json")
    old = previous_meta(sidecar, f"encoding {split} again") or {}
    if os.path.isfile(sidecar):
        if (old.get('tokenizer_hash'), old.get('source_sha256'), old.get('format_version')) == \
                (tok.hash, src_sha, SHARD_VERSION) and shards_unchanged(tokens_dir, old):
            fresh = refresh_doc_starts(tokens_dir, old)  # a sidecar from before starts or sha256
            if fresh is not None:
                write_json_atomic(sidecar, fresh)
                print(f"{sidecar}: already encoded; its shards' sha256 and document starts are "
                      f"recorded now")
                return fresh
            print(f"{sidecar}: already encoded, skipping")
            return old
        other_tokenizer(tokens_dir, tok, [split], cfg)
        os.remove(sidecar)  # stale: the text changed (or overwrite=True: another tokenizer)
    # what decides the shards' bytes: a record made with other values cannot be resumed
    key = {'tokenizer_hash': tok.hash, 'source_sha256': src_sha, 'format_version': SHARD_VERSION,
           'shard_tokens': cfg['shard_tokens'], 'chunk_docs': cfg['chunk_docs']}
    shards, next_line, offset = finished_shards(tokens_dir, split, key)
    keep = {s['file'] for s in shards} | {s['starts']['file'] for s in shards if s.get('starts')}
    for stale in glob.glob(os.path.join(tokens_dir, f"{split}_*.bin")) + glob.glob(os.path.join(
            tokens_dir, f"{split}_*.starts.npy")):  # shards (and their starts) no record lists
        if os.path.basename(stale) not in keep:
            os.remove(stale)
    if shards:
        print(f"{tokens_dir}: reusing {len(shards)} finished {split} shards, resuming at line {next_line:,}")
    workers = cfg['num_workers'] or os.cpu_count()
    writer, t0, n_new, sha = None, time.time(), 0, hashlib.sha256()
    bar = progress(os.path.getsize(src), f"encode {split} with {tok.name}", offset)
    try:
        for ids, starts, n_docs, n_bytes, n_lines, end in encoded_chunks(src, tok, tok_path, workers,
                                                                          cfg['chunk_docs'], next_line, offset, sha):
            if writer is None:
                path = os.path.join(tokens_dir, f"{split}_{len(shards):04d}.bin")
                writer = ShardWriter(path, tok.vocab_size, tok.hash, tok.bos_id)
            writer.write(ids, n_docs, n_bytes, starts)
            next_line, n_new = next_line + n_lines, n_new + n_bytes
            bar.update(end - offset)
            offset = end
            if writer.n_tokens >= cfg['shard_tokens']:
                locks.check_held()  # .lock deleted by hand: another prepare.py may write here
                shards.append(writer.close())
                writer = None
                record_progress(tokens_dir, split, key, shards, next_line, offset)
        if sha.hexdigest() != src_sha:  # the file is not the text meta.json describes: no shard of it is kept
            forget_progress(tokens_dir, split)
            for s in shards:
                remove_quietly(os.path.join(tokens_dir, s['file']))
                if s.get('starts'):
                    remove_quietly(os.path.join(tokens_dir, s['starts']['file']))
            raise SystemExit(f"{src}: its content is not the text {corpus_dir}/meta.json records (sha256 "
                             f"{sha.hexdigest()[:12]}, recorded {src_sha[:12]}): edited after prepare.py made it; "
                             f"restore it, or remake the splits from their sources: "
                             f"`{remake_command()}`")
        if writer is not None:
            shards.append(writer.close())
    except BaseException:  # bad input, a full disk, Ctrl-C: no .tmp shard outlives the run
        if writer is not None:
            writer.abort()
        raise
    bar.close()
    n_tokens = sum(s['n_tokens'] for s in shards)
    n_bytes_total = sum(s['n_bytes'] for s in shards)
    meta = {'format_version': SHARD_VERSION, 'split': split, 'tokenizer': tok.name, 'tokenizer_path': tok_path,
            'tokenizer_hash': tok.hash, 'vocab_size': tok.vocab_size, 'bos_id': tok.bos_id,
            'dtype': dtype_for_vocab(tok.vocab_size).name,
            'n_tokens': n_tokens, 'n_docs': sum(s['n_docs'] for s in shards), 'n_bytes': n_bytes_total,
            'max_id': max((s['max_id'] for s in shards), default=-1),
            'bytes_per_token': n_bytes_total / max(n_tokens, 1), 'source': src, 'source_sha256': src_sha,
            'shards': shards}
    write_json_atomic(sidecar, meta)
    forget_progress(tokens_dir, split)
    dt = time.time() - t0
    print(f"{sidecar}: {n_tokens:,} tokens, {meta['n_docs']:,} docs, {meta['bytes_per_token']:.2f} bytes/token, "
          f"{n_new / 1e6 / dt:.1f} MB/s")
    return meta


def split_sha256(corpus_dir, split):
    meta_path = os.path.join(corpus_dir, 'meta.json')
    meta = read_json(meta_path, 'corpus meta.json', 'remake the splits with prepare.py (without tokenizers)')
    if split not in meta.get('splits', {}):
        raise SystemExit(f"{meta_path}: has no split {split!r} (splits: {', '.join(meta.get('splits', {}))}); "
                         f"set encode_splits to some of them")
    return meta['splits'][split]['sha256']


def tokens_dir_of(cfg, tok):
    return os.path.join(cfg['out_dir'], 'tokens', cfg['corpus'], tok.name)


def encode_corpus(cfg, tok_path, tok=None):
    from uniscale.tokenization import load_tokenizer
    tok = tok or load_tokenizer(tok_path)
    corpus_dir = os.path.join(cfg['out_dir'], 'corpus', cfg['corpus'])
    tokens_dir = tokens_dir_of(cfg, tok)
    return {split: encode_split(tok, tok_path, corpus_dir, split, tokens_dir, cfg) for split in cfg['encode_splits']}


def check_config(cfg):
    """Values no corpus or encoding can use, and splits they would leave empty, refused before any work (one line
    naming the key)."""
    kind = corpus_kind(cfg)
    bad = [(k, why) for k, ok, why in [
        ('embedded_bytes', cfg['embedded_bytes'] > 0, 'must be > 0'),
        ('tok_bytes', cfg['tok_bytes'] > 0, 'must be > 0: the tok split (tokenizers train on it) would be empty'),
        ('eval_fraction', 0 <= cfg['eval_fraction'] < 0.5, 'must be in [0, 0.5): val and test take it each'),
        ('eval_fraction', cfg['eval_fraction'] > 0 or kind not in ('embedded', 'files') or
         {'val', 'test'} <= own_text.given(cfg), 'would leave val and test empty; use e.g. 0.02'),
        *[(f"{s}_files", kind != 'files' or cfg['files'] or s in own_text.given(cfg),
           f"and no --files= to draw {s} from: the {s} split would be empty; give --{s}_files=, or "
           f"your text as --files= (val and test are drawn from it)") for s in ('val', 'test')],
        ('val_fraction', 0 <= cfg['val_fraction'] < 1, 'must be in [0, 1)'),
        ('val_fraction', cfg['val_fraction'] > 0 or kind != 'tinystories', 'would leave val empty; use e.g. 0.01'),
        ('langs', len(cfg['langs']) > 0, 'must name at least one language'),
        ('train_bytes', cfg['train_bytes'] > 0 or kind != 'fineweb2', 'must be > 0: train would be empty'),
        ('eval_docs_per_lang', cfg['eval_docs_per_lang'] > 0 or kind != 'fineweb2',
         'must be >= 1: val and test would be empty'),
        ('temperature', cfg['temperature'] >= 0, 'must be 0 (equal shares) or > 0'),
        ('lang_cap', 0 < cfg['lang_cap'] <= 1, 'must be in (0, 1]'),
        ('lang', bool(cfg['lang'].strip()), "must name a language (e.g. 'und', undetermined)"),
        ('checkpoint_bytes', cfg['checkpoint_bytes'] >= 1, 'must be >= 1'),
        ('encode_splits', set(cfg['encode_splits']) <= set(SPLITS), f"must be some of {', '.join(SPLITS)}"),
        ('shard_tokens', cfg['shard_tokens'] >= 1, 'must be >= 1'),
        ('chunk_docs', cfg['chunk_docs'] >= 1, 'must be >= 1'),
        ('num_workers', cfg['num_workers'] >= 0, 'must be >= 0 (0: one per core)')] if not ok]
    if bad:
        raise SystemExit(f"config error: {bad[0][0]}={cfg[bad[0][0]]!r} {bad[0][1]}")


def main(cfg):
    check_config(cfg)  # an unknown corpus fails here, before a tokenizer is loaded
    check_fineweb2_eval(cfg)
    for key in own_text.KEYS.values():  # a missing file too
        if cfg[key]:
            input_files(cfg[key], key)
    toks = []
    if cfg['tokenizers']:  # a missing tokenizer fails now, not after hours of making splits
        from uniscale.tokenization import load_tokenizer
        toks = [(path, load_tokenizer(path)) for path in cfg['tokenizers']]
    for _, tok in toks:  # and shards of another tokenizer of the same name
        other_tokenizer(tokens_dir_of(cfg, tok), tok, cfg['encode_splits'], cfg)
    make_splits(cfg)
    for tok_path, tok in toks:
        encode_corpus(cfg, tok_path, tok)


if __name__ == '__main__':
    main(configurator.configure(globals()))
