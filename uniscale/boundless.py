"""
BoundlessBPE (Schmidt et al., COLM 2025), two-phase and exact: a word-level BPE, then supermerges
only between adjacent complete pretokens that are each one token. btm.py trains it
(`method='boundless'`); this file holds the method: the runs phase 2 counts, the folder's files and
the encoder uniscale.tokenization.load_tokenizer returns.

    python btm.py config/btm_demo.py --method=boundless --n_base=1000   # -> .../boundless-2k/

The algorithm (docs/DESIGN.md "Merge rules" holds the rules the three methods share):
1. Phase 1: the project's byte-level BPE (tokenizer.train_bpe, the shared pre-tokenizer) with n_base
   ids.
2. Each document is cut into pretokens by the shared pattern and each pretoken is encoded alone by
   phase 1. A pretoken is *eligible* when it is one phase-1 token and its text holds a letter
   (SUPERWORD_PATTERN, the authors' merge pattern). A *run* is a maximal sequence of >= 2 adjacent
   eligible pretokens; nothing else of the document ever takes part in phase 2 (no deletions,
   phase-1 tokens never change).
3. Phase 2: merges over the runs exactly as btm.py's step 3 (counts with overlaps, never across
   runs, ties to the smallest pair, left-to-right replacement, min_frequency), merge k gets id
   n_base + k, up to vocab_size ids. Each DISTINCT run is one unit weighted by its number of
   occurrences. max_pretokens (0 = no limit, the authors' default) caps the pretokens one token may
   span: the pieces the shared pattern cuts its text into, which are the run's own pretokens (DESIGN
   says why).
4. Encoding: steps 1-2, then each run's merges applied in rank order (lowest rank first, leftmost
   first, btm.py's step 4): on training documents this is step 3's segmentation. Decoding expands
   ids to phase-1 ids.
It imports no uniscale module that imports it back: tokenization.load_tokenizer hands the phase-1
BPE in, and btm.py hands its trainer functions to `train_into` (the import direction of DESIGN.md).
"""
import hashlib
import json
import os
import re
import shutil
import time
from array import array

import numpy as np
import regex

from uniscale.atomic import write_atomic
from uniscale.btm_encoding import CHAR0, Chain, apply_merges, merge_engine

# a pretoken may join a superword when its text holds a letter (fastboundlessbpe's merge pattern)
SUPERWORD_PATTERN = r'\p{L}'
MERGES_FILE = 'merges.json'
MAX_CACHED_PRETOKENS = 2_000_000  # distinct pretokens the encoder keeps encoded (~100 B each)


def default_name(vocab_size, size_name):
    """boundless-16k: only the final size names the folder (phase 1's n_base is a setting in
    meta.json)."""
    return size_name('boundless', vocab_size)


def boundless_hash(merges_raw, primitive_hash):
    return hashlib.sha256(b'boundless\0' + merges_raw + primitive_hash.encode()).hexdigest()


class PieceIndex(dict):
    """pretoken text -> its number, a new text numbered as it comes (known ones are looked up at C
    speed)."""

    def __init__(self):
        super().__init__()
        self.texts = []

    def __missing__(self, piece):
        self[piece] = i = len(self.texts)
        self.texts.append(piece)
        return i


class Segmenter:
    """Step 2 for one phase-1 tokenizer: texts -> pretoken numbers, each distinct pretoken encoded
    once. with_ids=False (training) encodes only the pretokens that may be one token (their bytes
    are a token's, their text matches the superword pattern): a pretoken encoded as one token is
    that token's bytes, so no other can be."""

    def __init__(self, primitive, pretokenize_pattern, superword_pattern=SUPERWORD_PATTERN,
                 with_ids=True):
        self.primitive, self.with_ids = primitive, with_ids
        self.findall = regex.compile(pretokenize_pattern).findall
        self.word = regex.compile(superword_pattern).search if superword_pattern else None
        self.index = PieceIndex()
        self.blob = []  # with_ids: per pretoken number, its phase-1 ids as int32 bytes
        self.single = array('i')  # per pretoken number: its one phase-1 id if eligible, else -1
        self.vocab = None if with_ids else {primitive.token_bytes(i): i
                                            for i in range(primitive.vocab_size)}

    def numbers(self, texts):
        """One int32 array: each text's pretoken numbers followed by -1."""
        flat, get = array('i'), self.index.__getitem__
        for t in texts:
            flat.extend(map(get, self.findall(t)))
            flat.append(-1)
        new = self.index.texts[len(self.single):]
        word = self.word or (lambda piece: True)
        if self.with_ids:
            for piece, ids in zip(new, self.primitive.encode_batch(new)):
                self.blob.append(np.asarray(ids, dtype=np.int32).tobytes())
                self.single.append(ids[0] if len(ids) == 1 and word(piece) is not None else -1)
            return np.frombuffer(flat, dtype=np.int32)
        at = len(self.single)
        self.single.extend([-1] * len(new))
        maybe = [j for j, piece in enumerate(new)
                 if piece.encode('utf-8') in self.vocab and word(piece) is not None]
        for j, ids in zip(maybe, self.primitive.encode_batch([new[j] for j in maybe])):
            self.single[at + j] = ids[0] if len(ids) == 1 else -1
        return np.frombuffer(flat, dtype=np.int32)

    def runs(self, flat):
        """(id, starts, ends): the phase-1 id at each position of flat (-1: not eligible or a
        document's end) and the runs [start, end) of >= 2 eligible pretokens."""
        table = (np.frombuffer(self.single, dtype=np.int32) if len(self.single)
                 else np.full(1, -1, np.int32))
        single = table[np.maximum(flat, 0)]  # a fresh array
        single[flat < 0] = -1
        edge = np.diff(np.concatenate([[0], (single >= 0).view(np.int8), [0]]))
        starts, ends = np.flatnonzero(edge == 1), np.flatnonzero(edge == -1)
        long = ends - starts >= 2
        return single, starts[long], ends[long]


def batches(texts, n):
    batch = []
    for t in texts:
        batch.append(t)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch


def count_runs(seg, texts, batch_docs=1000):
    """Step 2 over all texts: the distinct runs end to end (int32 phase-1 ids), their lengths and
    how often each occurs."""
    parts = []
    for batch in batches(texts, batch_docs):
        single, starts, ends = seg.runs(seg.numbers(batch))
        parts.append(distinct(single, starts, ends - starts, np.ones(len(starts), dtype=np.int64)))
    if not parts:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    flat = np.concatenate([p[0] for p in parts])
    lengths = np.concatenate([p[1] for p in parts])
    weights = np.concatenate([p[2] for p in parts])
    return distinct(flat, np.cumsum(lengths) - lengths, lengths, weights)


HASH_BASES = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))  # odd 64-bit constants


def distinct(values, starts, lengths, weights):
    """The distinct segments values[s:s + n] with their summed weights, exactly: grouped by length
    and two polynomial hashes (mod 2**64), then every segment compared with its group's first one,
    so a hash collision stops training instead of merging two different runs. Returns (flat ids of
    the distinct segments, their lengths, their weights)."""
    if not len(starts):
        return values[:0].astype(np.int32), lengths.astype(np.int64), weights.astype(np.int64)
    first = np.cumsum(lengths) - lengths  # where each segment starts in the gathered order
    k = np.arange(int(lengths.sum())) - np.repeat(first, lengths)  # index inside its segment
    at = np.repeat(starts, lengths) + k
    vals = values[at].astype(np.uint64) + np.uint64(1)
    hashes = []
    with np.errstate(over='ignore'):  # the hashes wrap around mod 2**64 on purpose
        for base in HASH_BASES:
            powers = np.cumprod(np.full(int(lengths.max()), base, dtype=np.uint64))
            hashes.append(np.add.reduceat(vals * powers[k], first))
    order = np.lexsort((hashes[1], hashes[0], lengths))
    keys = [lengths[order], hashes[0][order], hashes[1][order]]
    new = np.zeros(len(order), dtype=bool)
    new[0] = True
    for key in keys:
        new[1:] |= key[1:] != key[:-1]
    group_first = np.flatnonzero(new)
    rep = np.empty(len(order), dtype=np.int64)
    rep[order] = order[group_first][np.cumsum(new) - 1]  # each segment's group's first segment
    if not (values[np.repeat(starts[rep], lengths) + k] == values[at]).all():
        raise RuntimeError("boundless: two different runs share their length and both 64-bit "
                           "hashes; report this line (another pair of HASH_BASES resolves it)")
    keep = order[group_first]
    n = lengths[keep]
    inside = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    out = values[np.repeat(starts[keep], n) + inside]
    return out.astype(np.int32), n.astype(np.int64), np.add.reduceat(weights[order], group_first)


def pretoken_cap(max_pretokens, pretokenize_pattern):
    """allow(left_bytes, right_bytes) for the engine: the merged token spans at most max_pretokens
    pretokens (None: no cap). A token's text is whole pretokens, so the shared pattern cuts it into
    exactly those."""
    if not max_pretokens:
        return None
    findall = regex.compile(pretokenize_pattern).findall
    return lambda left, right: len(findall((left + right).decode('utf-8'))) <= max_pretokens


def learn_supermerges(texts, primitive, n_merges, learn_merges_detailed, min_frequency=2,
                      max_pretokens=0, superword_pattern=SUPERWORD_PATTERN, progress=False,
                      batch_docs=1000):
    """Steps 2-3: (merges, counts at merge time, stats) of phase 2 over texts (an iterable of
    strings) for a trained phase-1 BPE. learn_merges_detailed: btm.py's shared merge engine (handed
    in: the import direction)."""
    pattern = primitive.meta['pretokenize_pattern']
    seg = Segmenter(primitive, pattern, superword_pattern, with_ids=False)
    flat, lengths, weights = count_runs(seg, texts, batch_docs)
    n_base = primitive.vocab_size
    allow = pretoken_cap(max_pretokens, pattern)
    tb = [primitive.token_bytes(i) for i in range(n_base)] if allow else None
    chain = Chain(flat, n_base, n_base + n_merges, lengths, weights)
    res = learn_merges_detailed(chain, n_base, n_merges, min_frequency, token_bytes=tb, allow=allow,
                                progress=progress, segmentation=False)
    stats = {'n_pretokens_distinct': len(seg.single), 'n_runs_distinct': len(lengths),
             'n_runs': int(weights.sum()), 'n_run_pretokens': int(lengths @ weights)}
    return res['merges'], res['counts'], stats


def train_into(tmp, text_again, n_base, vocab_size, min_frequency, max_pretokens, corpus, name,
               progress, batch_docs, settings, sample, trained_on, train_bpe, learn_merges_detailed,
               superword_pattern=SUPERWORD_PATTERN, primitive=None, primitive_dir=None):
    """Write a BoundlessBPE's files (primitive/, merges.json, meta.json last) into the folder tmp.
    text_again() gives the texts anew (read twice: phase 1, then the runs). train_bpe:
    tokenizer.py's; learn_merges_detailed: btm.py's (handed in by btm.py). primitive: a phase 1 kept
    by a stopped run (else trained into primitive_dir, default tmp/primitive); it is copied into
    tmp."""
    t0 = time.time()
    prim_settings = {'n_base': n_base, 'min_frequency': min_frequency, 'sample': sample}
    prim = primitive or train_bpe(text_again(), n_base,
                                  primitive_dir or os.path.join(tmp, 'primitive'), min_frequency,
                                  f"{name}-primitive", corpus, trained_on=trained_on,
                                  settings=prim_settings)
    if os.path.abspath(prim.path) != os.path.abspath(os.path.join(tmp, 'primitive')):
        shutil.copytree(prim.path, os.path.join(tmp, 'primitive'))
    t1 = time.time()
    merges, counts, stats = learn_supermerges(text_again(), prim, vocab_size - n_base,
                                              learn_merges_detailed, min_frequency, max_pretokens,
                                              superword_pattern, progress, batch_docs)
    t2 = time.time()
    if len(merges) < vocab_size - n_base:  # as train_bpe: a boundless-16k must have 16,384 ids
        where = re.sub(r'\.\d+\.tmp$', '', tmp)  # the folder being written, not its temp name
        raise SystemExit(f"{where}: BoundlessBPE stopped at {n_base + len(merges):,} of vocab_size="
                         f"{vocab_size:,} ids (no pair of one-token pretokens left seen >= "
                         f"{min_frequency} times); train on more text, raise n_base or lower "
                         f"vocab_size")
    raw = json.dumps({'n_base': n_base, 'merges': merges, 'counts': [int(c) for c in counts],
                      'superword_pattern': superword_pattern,
                      'pretokenize_pattern': prim.meta['pretokenize_pattern']}).encode()
    write_atomic(os.path.join(tmp, MERGES_FILE), raw)
    meta = {'kind': 'boundless', 'name': name, 'vocab_size': n_base + len(merges),
            'bos_id': prim.bos_id, 'eos_id': prim.eos_id, 'corpus': corpus,
            'hash': boundless_hash(raw, prim.hash), 'n_base': n_base, 'n_merges': len(merges),
            'primitive': 'primitive', 'primitive_hash': prim.hash, 'files': [MERGES_FILE],
            'trained_on': trained_on, 'settings': settings or {}, 'sample': sample,
            'train': {'target_vocab_size': vocab_size, 'min_frequency': min_frequency,
                      'max_pretokens': max_pretokens, 'superword_pattern': superword_pattern,
                      **stats,
                      'seconds': {'phase1': round(t1 - t0, 2), 'phase2': round(t2 - t1, 2),
                                  'total': round(time.time() - t0, 2)}}}
    write_atomic(os.path.join(tmp, 'meta.json'), json.dumps(meta, indent=2))


class BoundlessTokenizer:
    """A trained BoundlessBPE folder (meta.json kind 'boundless') with its loaded phase-1 BPE
    (tokenization. load_tokenizer builds it): encode, encode_batch, decode, token_bytes, vocab_size,
    bos_id, eos_id, name, hash."""
    kind = 'boundless'

    def __init__(self, path, meta, primitive):
        self.path, self.name, self.meta, self.primitive = path, meta['name'], meta, primitive
        self.vocab_size, self.bos_id, self.eos_id, self.n_base = (
            meta[k] for k in ('vocab_size', 'bos_id', 'eos_id', 'n_base'))
        self.trained_on = meta.get('trained_on')
        retrain = "delete the folder and retrain it with `python btm.py --method=boundless`"
        try:
            with open(os.path.join(path, MERGES_FILE), 'rb') as f:
                raw = f.read()
            m = json.loads(raw)
        except (OSError, ValueError) as e:
            raise SystemExit(f"{path}/{MERGES_FILE}: cannot be read ({str(e)[:80]}); half-copied "
                             f"or damaged: {retrain}") from None
        self.hash = boundless_hash(raw, primitive.hash)
        if self.hash != meta['hash'] or primitive.hash != meta.get('primitive_hash'):
            raise SystemExit(f"{path}: {MERGES_FILE} or primitive/ do not match the hash in "
                             f"meta.json (edited or half-copied); {retrain}")
        self.merges = [tuple(p) for p in m['merges']]
        if (primitive.vocab_size, self.n_base + len(self.merges)) != (self.n_base, self.vocab_size):
            raise SystemExit(f"{path}/meta.json: says n_base {self.n_base:,} and vocab_size "
                             f"{self.vocab_size:,}, the files hold {primitive.vocab_size:,} "
                             f"primitive ids and {len(self.merges):,} merges (edited or mixed up); "
                             f"{retrain}")
        self.parts = [(i,) for i in range(self.n_base)]  # every id as phase-1 ids
        for a, b in self.merges:
            self.parts.append(self.parts[a] + self.parts[b])
        self.patterns = m['pretokenize_pattern'], m['superword_pattern']
        self.segmenter = Segmenter(primitive, *self.patterns)
        keys = ('n_base', 'merges', 'superword_pattern', 'pretokenize_pattern')
        self.record = {k: m[k] for k in keys}  # what the export's remote code reads
        self._engine, self._runs = merge_engine(self.n_base, self.merges), {}

    def _merged(self, keys):
        """Step 4 on runs (int32 bytes of phase-1 ids) not seen before: their ids as int32 bytes,
        cached."""
        new = [k for k in dict.fromkeys(keys) if k not in self._runs]
        if len(self._runs) + len(new) > 1_000_000:
            self._runs.clear()  # bound the cache; the batch's own runs are encoded below
            new = list(dict.fromkeys(keys))
        docs = [np.frombuffer(k, dtype=np.int32) for k in new]
        if self._engine is None:
            out = apply_merges(docs, self.merges, self.n_base)
        else:
            spelled = [(d.astype(np.uint32) + CHAR0).tobytes().decode('utf-32-le') for d in docs]
            out = [e.ids for e in self._engine.encode_batch_fast(spelled, add_special_tokens=False)]
        self._runs.update((k, np.asarray(ids, dtype=np.int32).tobytes())
                          for k, ids in zip(new, out))

    def encode_batch(self, texts):
        if len(self.segmenter.blob) > MAX_CACHED_PRETOKENS:  # bound a long encoding job's memory
            self.segmenter = Segmenter(self.primitive, *self.patterns)
        seg = self.segmenter
        flat = seg.numbers(texts)
        single, starts, ends = seg.runs(flat)
        raw = single.tobytes()
        keys = [raw[4 * s:4 * e] for s, e in zip(starts.tolist(), ends.tolist())]
        self._merged(keys)
        if not seg.blob:  # no pretoken yet: every text is empty
            return [[] for _ in texts]
        # a document's end (-1) gets the last pretoken's blob: it is never joined
        blobs = list(map(seg.blob.__getitem__, flat.tolist()))
        for s, e, k in zip(starts.tolist(), ends.tolist(), keys):
            blobs[s] = self._runs[k]
            blobs[s + 1:e] = [b''] * (e - s - 1)
        ends_of_docs = np.flatnonzero(flat < 0).tolist()
        out, at = [], 0
        for end in ends_of_docs:
            out.append(np.frombuffer(b''.join(blobs[at:end]), dtype=np.int32).tolist())
            at = end + 1
        return out

    def encode(self, text):
        return self.encode_batch([text])[0]

    def decode(self, ids):
        return self.primitive.decode([p for i in ids for p in self.parts[i]])

    def token_bytes(self, i):
        return b''.join(self.primitive.token_bytes(p) for p in self.parts[i])
