"""
Corpora -> text splits -> token shards.

    python prepare.py config/demo.py                                   # generated corpus (offline default)
    python prepare.py --corpus=tinystories --tokenizers=out/tokenizers/bpe-16k
    python prepare.py config/fineweb2.py --tokenizers=out/tokenizers/bpe-80k,out/tokenizers/unigram-80k

1. Text splits: out/corpus/{corpus}/{tok,train,val,test}.jsonl, one {"text", "lang"} a line, and meta.json
   (written last: its presence means the splits are complete; a re-run with the same settings skips).
   - embedded:    stories generated offline by data/embedded/generate.py (synthetic, say so when you report on it)
   - tinystories: roneneldan/TinyStories; its validation split is our test, val is a seeded 1% of train
   - fineweb2:    HuggingFaceFW/fineweb-2 per language (English from HuggingFaceFW/fineweb), streamed,
                  byte budgets split evenly or by temperature sampling, per-language val/test
   Hub corpora can be read from local parquet files instead (tinystories_files, fineweb2_files; uniscale/sources.py).
2. Token shards: with `tokenizers` set, each split in `encode_splits` is encoded (BOS before every document)
   into out/tokens/{corpus}/{tokenizer}/{split}_NNNN.bin + {split}.json (format in uniscale/shards.py).
   Streaming and parallel across cores; a split whose sidecar matches tokenizer and text is skipped, and an
   interrupted one keeps its finished shards ({split}.partial.json) and resumes after them.
"""
import glob
import hashlib
import itertools
import json
import multiprocessing as mp
import os
import random
import time
from collections import deque

import numpy as np

import configurator
from uniscale.atomic import disk_errors, read_json, remove_quietly, write_json_atomic
from uniscale.shards import (VERSION as SHARD_VERSION, ShardWriter, dtype_for_vocab, finished_shards, forget_progress,
                             record_progress)
from uniscale.sources import fineweb2_parquet, local_files, stream_texts
from uniscale.splits import BadLine, parse_doc

# -----------------------------------------------------------------------------
# defaults (override with config/*.py or --key=value)
corpus = 'embedded'          # 'embedded' | 'tinystories' | 'fineweb2'
out_dir = 'out'
seed = 1337
tok_bytes = 1_500_000        # of UTF-8 text: the tokenizer-training split (a prefix of train, per language)
# embedded
embedded_bytes = 4_000_000   # of UTF-8 text, all splits together
eval_fraction = 0.02         # share of embedded documents that go to val, and again to test
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
# encoding
tokenizers = []              # tokenizer folders (or tiktoken names) to encode the splits with
encode_splits = ['train', 'val', 'test']
shard_tokens = 100_000_000   # a new shard starts after this many tokens (documents never span shards)
num_workers = 0              # encoding processes; 0 = one per core
chunk_docs = 512             # documents per encoding task
# -----------------------------------------------------------------------------
SPLITS = ('tok', 'train', 'val', 'test')
HUB = {'tinystories': 'roneneldan/TinyStories', 'fineweb2': 'HuggingFaceFW/fineweb-2',
       'fineweb': 'HuggingFaceFW/fineweb'}


# ---------------------------------------------------------------- text splits
SETTINGS = {'embedded': ['seed', 'embedded_bytes', 'eval_fraction', 'tok_bytes'],
            'tinystories': ['seed', 'tinystories_files', 'val_fraction', 'tok_bytes'],
            'fineweb2': ['seed', 'langs', 'fineweb2_files', 'train_bytes', 'tok_bytes', 'eval_docs_per_lang',
                         'temperature', 'lang_sizes', 'lang_cap', 'shuffle_buffer']}


def split_settings(cfg):
    """The settings that determine a corpus's splits: a re-run with the same ones skips the work."""
    if cfg['corpus'] not in SETTINGS:
        raise SystemExit(f"config error: unknown corpus {cfg['corpus']!r}; use --corpus= one of {', '.join(SETTINGS)}")
    return {'corpus': cfg['corpus'], **{k: cfg[k] for k in SETTINGS[cfg['corpus']]}}


class SplitWriter:
    """Writes the four jsonl splits to temp files, hashing as it goes; `finish` renames them and writes meta.json."""

    def __init__(self, corpus_dir):
        self.dir, self.files = corpus_dir, {}
        self.sha = {s: hashlib.sha256() for s in SPLITS}
        self.stats = {s: {'n_docs': 0, 'n_bytes': 0, 'per_lang': {}} for s in SPLITS}
        try:
            with disk_errors(corpus_dir):
                os.makedirs(corpus_dir, exist_ok=True)
                for s in SPLITS:
                    self.files[s] = open(os.path.join(corpus_dir, f"{s}.jsonl.tmp"), 'wb')
        except BaseException:
            self.abort()
            raise

    def add(self, split, text, lang):
        line = (json.dumps({'text': text, 'lang': lang}, ensure_ascii=False) + '\n').encode('utf-8')
        with disk_errors(os.path.join(self.dir, f"{split}.jsonl")):
            self.files[split].write(line)
        self.sha[split].update(line)
        n_bytes = len(text.encode('utf-8'))
        st = self.stats[split]
        st['n_docs'] += 1
        st['n_bytes'] += n_bytes
        st['per_lang'][lang] = st['per_lang'].get(lang, 0) + n_bytes
        return n_bytes

    def finish(self, meta):
        for s, f in self.files.items():
            with disk_errors(os.path.join(self.dir, f"{s}.jsonl")):
                f.close()
                os.replace(f.name, os.path.join(self.dir, f"{s}.jsonl"))
            self.stats[s]['sha256'] = self.sha[s].hexdigest()
        meta = {**meta, 'splits': self.stats}
        write_json_atomic(os.path.join(self.dir, 'meta.json'), meta)
        return meta

    def abort(self):
        """Remove the temp files (bad input, a full disk, Ctrl-C); without meta.json the splits read as unmade."""
        for f in self.files.values():
            try:
                f.close()  # flushing onto a full disk fails again: the file goes anyway
            except OSError:
                pass
            remove_quietly(f.name)


def make_embedded(w, cfg):
    """Generated stories: each document goes to val or test with eval_fraction, else train; tok = train prefix."""
    from data.embedded.generate import generate_documents  # only this corpus needs it
    rng = random.Random(cfg['seed'])
    bar = progress(cfg['embedded_bytes'], 'embedded corpus')
    for doc in generate_documents(int(cfg['embedded_bytes']), seed=cfg['seed']):
        r = rng.random()
        split = 'val' if r < cfg['eval_fraction'] else 'test' if r < 2 * cfg['eval_fraction'] else 'train'
        n = w.add(split, doc['text'], doc['lang'])
        bar.update(n)
        if split == 'train' and w.stats['tok']['n_bytes'] < cfg['tok_bytes']:
            w.add('tok', doc['text'], doc['lang'])
    bar.close()
    return {'generated': True,
            'source': 'synthetic children\'s stories from data/embedded/generate.py (generated, not real text)'}


def make_tinystories(w, cfg):
    """TinyStories: validation -> test; a seeded val_fraction of train -> val; tok = train prefix of tok_bytes."""
    root = cfg['tinystories_files']
    files = {s: local_files(os.path.join(root, 'data', f"{s}-*.parquet"), f"TinyStories {s}")
             for s in ('train', 'validation')} if root else {'train': None, 'validation': None}
    for text in stream_texts(HUB['tinystories'], split='validation', files=files['validation']):
        w.add('test', text, 'eng')
    rng = random.Random(cfg['seed'])
    bar = progress(None, 'tinystories train')
    for text in stream_texts(HUB['tinystories'], split='train', files=files['train']):
        split = 'val' if rng.random() < cfg['val_fraction'] else 'train'
        bar.update(w.add(split, text, 'eng'))
        if split == 'train' and w.stats['tok']['n_bytes'] < cfg['tok_bytes']:
            w.add('tok', text, 'eng')
    bar.close()
    return {'generated': False, 'source': root or HUB['tinystories']}


def lang_budgets(total, langs, temperature, sizes, cap):
    """
    Bytes per language. temperature 0: equal shares. T > 0: p ~ size^(1/T) (T=1 natural, large T -> equal),
    then no language above `cap` of the total, the excess handed to the others in proportion.
    """
    if temperature == 0:
        weights = {l: 1.0 for l in langs}
    else:
        missing = [l for l in langs if l not in sizes]
        if missing:
            raise SystemExit(f"temperature sampling needs lang_sizes for {missing}; set lang_sizes in the config "
                             f"(natural size per language, e.g. GB on disk) or use --temperature=0")
        weights = {l: sizes[l] ** (1.0 / temperature) for l in langs}
    share = {l: w / sum(weights.values()) for l, w in weights.items()}
    cap = max(cap, 1.0 / len(langs))  # a cap below an equal share cannot be met
    for _ in range(len(langs)):  # water-filling: clip, hand the excess to the unclipped languages
        over = {l for l, s in share.items() if s > cap + 1e-12}
        if not over:
            break
        excess = sum(share[l] - cap for l in over)
        free = {l: s for l, s in share.items() if s < cap - 1e-12}
        for l in over:
            share[l] = cap
        for l, s in free.items():
            share[l] += excess * s / sum(free.values())
    return {l: int(total * s) for l, s in share.items()}


def fill_language(w, lang, st, train_budget, tok_budget, cfg, bar):
    """Stream a language from where it stopped (st['read'] documents): its eval documents first (test, then val),
    then train up to train_budget bytes, the first tok_budget of them also to tok. Sets st['out'] at the end."""
    repo, name = (HUB['fineweb'], 'sample-10BT') if lang == 'eng' else (HUB['fineweb2'], lang)
    files = fineweb2_parquet(cfg['fineweb2_files'], lang) if cfg['fineweb2_files'] else None
    texts = stream_texts(repo, name, files=files, shuffle_seed=cfg['seed'], buffer=cfg['shuffle_buffer'])
    texts = itertools.islice(texts, st['read'], None)  # a second visit re-reads the seeded stream up to here
    n_eval = cfg['eval_docs_per_lang']
    while st['eval'] < 2 * n_eval or st['train'] < train_budget:
        text = next(texts, None)
        if text is None:
            st['out'] = True
            return
        st['read'] += 1
        if st['eval'] < 2 * n_eval:
            w.add('test' if st['eval'] < n_eval else 'val', text, lang)
            st['eval'] += 1
            continue
        n = w.add('train', text, lang)
        st['train'] += n
        bar.update(n)
        if st['tok'] < tok_budget:
            st['tok'] += w.add('tok', text, lang)


def pass_on(budgets, lang, used, takers):
    """Give lang's unused budget (beyond `used`) to `takers`, in proportion to their own budgets."""
    spare, budgets[lang] = budgets[lang] - used, used
    total = sum(budgets[t] for t in takers) or len(takers)
    for t in takers:
        budgets[t] += int(spare * (budgets[t] or 1) / total)


def make_fineweb2(w, cfg):
    """Per language: the first eval docs -> test, the next -> val, then train up to its budget; tok = train prefix.
    A language that runs out passes its unused train and tok budgets on to the languages that have text left."""
    langs = cfg['langs']
    train_b = lang_budgets(cfg['train_bytes'], langs, cfg['temperature'], cfg['lang_sizes'], cfg['lang_cap'])
    tok_b = lang_budgets(cfg['tok_bytes'], langs, cfg['temperature'], cfg['lang_sizes'], cfg['lang_cap'])
    planned, ran_out = dict(train_b), []
    state = {l: {'read': 0, 'eval': 0, 'train': 0, 'tok': 0, 'out': False} for l in langs}
    bar, queue = progress(sum(train_b.values()), 'fineweb2 train'), list(langs)
    while queue:
        lang = queue.pop(0)
        st, budget = state[lang], train_b[lang]
        fill_language(w, lang, st, budget, tok_b[lang], cfg, bar)
        if not st['out'] or st['train'] >= budget:
            continue
        ran_out.append(lang)
        takers = [l for l in langs if not state[l]['out']]
        if takers:
            pass_on(train_b, lang, st['train'], takers)
            pass_on(tok_b, lang, min(st['tok'], tok_b[lang]), takers)
            queue += [l for l in takers if l not in queue]  # those already filled are visited again
        print(f"note: {lang} ran out at {st['train']:,} of {budget:,} train bytes; its unused "
              f"{budget - st['train']:,} bytes go to {', '.join(takers) if takers else 'no language (all ran out)'}")
    bar.close()
    return {'generated': False, 'source': cfg['fineweb2_files'] or f"{HUB['fineweb2']} (+ {HUB['fineweb']} "
            f"sample-10BT for eng)", 'train_budget_bytes': train_b, 'tok_budget_bytes': tok_b,
            'planned_train_budget_bytes': planned, 'ran_out': ran_out}


def previous_meta(path, then):
    """The JSON record of earlier work (meta.json, a sidecar), or None: none, or unreadable (a damaged record
    means doing the work again, which loses nothing; `then` says so)."""
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding='utf-8') as f:
            meta = json.load(f)
        return meta if isinstance(meta, dict) else None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        print(f"{path}: unreadable ({e}); {then}")
        return None


def make_splits(cfg):
    """Text splits for cfg['corpus'], skipped when meta.json records the same settings."""
    corpus_dir = os.path.join(cfg['out_dir'], 'corpus', cfg['corpus'])
    meta_path = os.path.join(corpus_dir, 'meta.json')
    settings = split_settings(cfg)
    for stale in glob.glob(f"{meta_path}.*.tmp"):  # a killed run's (the splits' own temp files are reused)
        os.remove(stale)
    meta = previous_meta(meta_path, 'remaking the splits')
    if meta is not None:
        missing = [s for s in SPLITS if not os.path.isfile(os.path.join(corpus_dir, f"{s}.jsonl"))]
        if meta.get('settings') == settings and not missing:
            print(f"{corpus_dir}: splits already made with these settings, skipping")
            return meta
        print(f"{corpus_dir}: {'settings changed' if not missing else f'{missing} missing'}, remaking the splits")
    makers = {'embedded': make_embedded, 'tinystories': make_tinystories, 'fineweb2': make_fineweb2}
    t0 = time.time()
    w = SplitWriter(corpus_dir)
    try:
        extra = makers[cfg['corpus']](w, cfg)
        meta = w.finish({'corpus': cfg['corpus'], 'settings': settings, **extra})
    except BaseException:
        w.abort()
        raise
    sizes = ', '.join(f"{s} {meta['splits'][s]['n_bytes'] / 1e6:.1f} MB" for s in SPLITS)
    print(f"{corpus_dir}: {sizes} in {time.time() - t0:.1f}s")
    return meta


# ---------------------------------------------------------------- token shards
_worker_tok = None  # each encoding process loads the tokenizer once


def _init_worker(tok_path):
    global _worker_tok
    os.environ['TOKENIZERS_PARALLELISM'] = 'false'  # parallel across processes, not threads inside each
    from uniscale.tokenization import load_tokenizer
    _worker_tok = load_tokenizer(tok_path)


def _encode_task(lines, path, first_line):
    """encode_lines in a pool worker: a SystemExit there would kill the worker and hang its task forever."""
    try:
        return encode_lines(lines, _worker_tok, path, first_line)
    except SystemExit as e:
        raise BadLine(str(e)) from None


def encode_lines(lines, tok, path='', first_line=1):
    """jsonl lines -> (ids with BOS before each document, n_docs, n_bytes of text). Bad input raises BadLine
    (a ValueError, so that it crosses the process pool) naming path:line."""
    texts = [parse_doc(line, path, first_line + i)['text'] for i, line in enumerate(lines)]
    docs = tok.encode_batch(texts)
    lengths = np.array([len(d) + 1 for d in docs])
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
    return ids, len(texts), sum(len(t.encode('utf-8')) for t in texts)


def read_chunks(path, n, first=1, offset=0):
    """(number of the chunk's first line, its lines, byte offset after them) for every n lines from `offset`."""
    with open(path, 'rb') as f:
        f.seek(offset)
        chunk = []
        for line in f:
            chunk.append(line)
            offset += len(line)
            if len(chunk) == n:
                yield first, chunk, offset
                chunk, first = [], first + n
        if chunk:
            yield first, chunk, offset


def encoded_chunks(path, tok, tok_path, workers, n_docs, first=1, offset=0):
    """(ids, n_docs, n_bytes, byte offset after the chunk) in file order, from line `first` at `offset`.
    With workers > 1, a process pool with at most 2 tasks per worker in flight, so memory stays flat however
    large the split is. A bad line ends the run with its one-line message."""
    try:
        if workers <= 1:
            for first, lines, end in read_chunks(path, n_docs, first, offset):
                yield *encode_lines(lines, tok, path, first), end
            return
        with mp.get_context('spawn').Pool(workers, initializer=_init_worker, initargs=(tok_path,)) as pool:
            pending = deque()
            for first, lines, end in read_chunks(path, n_docs, first, offset):
                pending.append((pool.apply_async(_encode_task, (lines, path, first)), end))
                if len(pending) >= 2 * workers:
                    task, end = pending.popleft()
                    yield *task.get(), end
            while pending:
                task, end = pending.popleft()
                yield *task.get(), end
    except BadLine as e:  # raised here or in a worker: the message, not the pool's traceback
        raise SystemExit(str(e)) from None


def encode_split(tok, tok_path, corpus_dir, split, tokens_dir, cfg):
    """One split -> shards + sidecar; skipped when the sidecar names this tokenizer and this text. The shards an
    interrupted run finished are kept (shards.finished_shards) and encoding resumes after them: the same bytes."""
    src = os.path.join(corpus_dir, f"{split}.jsonl")
    src_sha = split_sha256(corpus_dir, split)
    if not os.path.isfile(src):
        raise SystemExit(f"{src}: missing though {corpus_dir}/meta.json lists it; re-run prepare.py to remake it")
    sidecar = os.path.join(tokens_dir, f"{split}.json")
    old = previous_meta(sidecar, f"encoding {split} again") or {}
    if os.path.isfile(sidecar):
        if (old.get('tokenizer_hash'), old.get('source_sha256'), old.get('format_version')) == \
                (tok.hash, src_sha, SHARD_VERSION):
            print(f"{sidecar}: already encoded, skipping")
            return old
        os.remove(sidecar)  # stale: the text or the tokenizer changed
    # what decides the shards' bytes: a record made with other values cannot be resumed
    key = {'tokenizer_hash': tok.hash, 'source_sha256': src_sha, 'format_version': SHARD_VERSION,
           'shard_tokens': cfg['shard_tokens'], 'chunk_docs': cfg['chunk_docs']}
    shards, next_line, offset = finished_shards(tokens_dir, split, key)
    keep = {s['file'] for s in shards}
    # unfinished shards, and the temp files of a killed run (shards, the sidecar's and the record's)
    for stale in glob.glob(os.path.join(tokens_dir, f"{split}_*.bin*")) + glob.glob(os.path.join(tokens_dir,
                                                                                             f"{split}.*.tmp")):
        if os.path.basename(stale) not in keep:
            os.remove(stale)
    if shards:
        print(f"{tokens_dir}: reusing {len(shards)} finished {split} shards, resuming at line {next_line:,}")
    workers = cfg['num_workers'] or os.cpu_count()
    writer, t0, n_new = None, time.time(), 0
    bar = progress(os.path.getsize(src), f"encode {split} with {tok.name}")
    bar.update(offset)
    try:
        for ids, n_docs, n_bytes, end in encoded_chunks(src, tok, tok_path, workers, cfg['chunk_docs'],
                                                         next_line, offset):
            if writer is None:
                path = os.path.join(tokens_dir, f"{split}_{len(shards):04d}.bin")
                writer = ShardWriter(path, tok.vocab_size, tok.hash, tok.bos_id)
            writer.write(ids, n_docs, n_bytes)
            next_line, n_new = next_line + n_docs, n_new + n_bytes
            bar.update(end - offset)
            offset = end
            if writer.n_tokens >= cfg['shard_tokens']:
                shards.append(writer.close())
                writer = None
                record_progress(tokens_dir, split, key, shards, next_line, offset)
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


def encode_corpus(cfg, tok_path, tok=None):
    from uniscale.tokenization import load_tokenizer
    tok = tok or load_tokenizer(tok_path)
    corpus_dir = os.path.join(cfg['out_dir'], 'corpus', cfg['corpus'])
    tokens_dir = os.path.join(cfg['out_dir'], 'tokens', cfg['corpus'], tok.name)
    with disk_errors(tokens_dir):
        os.makedirs(tokens_dir, exist_ok=True)
    return {split: encode_split(tok, tok_path, corpus_dir, split, tokens_dir, cfg) for split in cfg['encode_splits']}


def progress(total, desc):
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit='B', unit_scale=True, mininterval=2.0, disable=None)


def check_config(cfg):
    """Values no corpus or encoding can use, refused before any work (one line naming the key)."""
    bad = [(k, why) for k, ok, why in [
        ('embedded_bytes', cfg['embedded_bytes'] > 0, 'must be > 0'),
        ('eval_fraction', 0 <= cfg['eval_fraction'] < 0.5, 'must be in [0, 0.5): val and test take it each'),
        ('val_fraction', 0 <= cfg['val_fraction'] < 1, 'must be in [0, 1)'),
        ('langs', len(cfg['langs']) > 0, 'must name at least one language'),
        ('temperature', cfg['temperature'] >= 0, 'must be 0 (equal shares) or > 0'),
        ('lang_cap', 0 < cfg['lang_cap'] <= 1, 'must be in (0, 1]'),
        ('encode_splits', set(cfg['encode_splits']) <= set(SPLITS), f"must be some of {', '.join(SPLITS)}"),
        ('shard_tokens', cfg['shard_tokens'] >= 1, 'must be >= 1'),
        ('chunk_docs', cfg['chunk_docs'] >= 1, 'must be >= 1'),
        ('num_workers', cfg['num_workers'] >= 0, 'must be >= 0 (0: one per core)')] if not ok]
    if bad:
        raise SystemExit(f"config error: {bad[0][0]}={cfg[bad[0][0]]!r} {bad[0][1]}")


def main(cfg):
    check_config(cfg)
    split_settings(cfg)  # an unknown corpus fails here, before a tokenizer is loaded
    toks = []
    if cfg['tokenizers']:  # a missing tokenizer fails now, not after hours of making splits
        from uniscale.tokenization import load_tokenizer
        toks = [(path, load_tokenizer(path)) for path in cfg['tokenizers']]
    make_splits(cfg)
    for tok_path, tok in toks:
        encode_corpus(cfg, tok_path, tok)


if __name__ == '__main__':
    main(configurator.configure(globals()))
