"""
BoundlessBPE (Schmidt et al., COLM 2025), two-phase and exact: a word-level BPE, then supermerges
only between adjacent complete pretokens that are each one token. btm.py trains it
(`method='boundless'`); this file holds the method: the runs phase 2 counts, the folder's files and
the encoder uniscale.tokenization.load_tokenizer returns.

    python btm.py config/btm_demo.py --method=boundless --n_base=1600   # -> .../boundless-2k/

The algorithm (docs/DESIGN.md "Merge rules" holds the rules the three methods share):
1. Phase 1: the project's byte-level BPE (tokenizer.train_bpe, the shared pre-tokenizer) with n_base
   ids. btm.py trains it from the same pass as step 2 (one_pass_phases): the pass's counts of the
   words train_bpe's trainer sees, merged by the shared engine (tokenizer.bpe_from_word_counts:
   the same tokenizer.json, byte for byte), so HF's own counting pass is not paid as well.
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
from collections import Counter

import numpy as np
import regex

from uniscale.atomic import write_atomic
from uniscale.btm_encoding import CHAR0, Chain, apply_merges, merge_engine
from uniscale.merge_loop import release_freed_memory
from uniscale.tokenization import PRETOKENIZE_PATTERN

# a pretoken may join a superword when its text holds a letter (fastboundlessbpe's merge pattern)
SUPERWORD_PATTERN = r'\p{L}'
MERGES_FILE = 'merges.json'
# runs encoded in one call from which numpy's apply_merges beats the Rust engine (half its CPU on
# 212k runs of /tmp/text10.json; below, its per-call set-up of the merge table dominates)
NUMPY_RUNS = 2000
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
        self.single.extend(single_ids(self.primitive, self.vocab, new,
                                      [word(piece) is not None for piece in new]).tolist())
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


def single_ids(primitive, vocab, pieces, letter):
    """Per piece, its one phase-1 id if it holds a letter and encodes as one token, else -1 (an
    int32 array). vocab: {token bytes: id}; a piece encoded as one token is that token's bytes,
    so only those are encoded."""
    single = np.full(len(pieces), -1, dtype=np.int32)
    maybe = [j for j, piece in enumerate(pieces) if letter[j] and piece.encode('utf-8') in vocab]
    for j, ids in zip(maybe, primitive.encode_batch([pieces[j] for j in maybe])):
        if len(ids) == 1:
            single[j] = ids[0]
    return single


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
    return _joined(parts)


COMPACT_MIN = 1 << 21  # one_pass folds its runs together past this many pretoken numbers


def one_pass(texts, pattern, superword_pattern, trainer_words, batch_docs=1000):
    """Step 2's pass for training, before phase 1 exists, so that phase 1 is merged from it too:
    (the counts of the words phase 1's trainer sees {word: count}, the distinct pretokens in
    number order, per pretoken whether it holds a letter, the distinct *candidate* runs as
    (flat pretoken numbers, lengths, weights), {n_docs, n_bytes}). A candidate is a maximal
    sequence of >= 2 adjacent pretokens that hold a letter: every run lies inside one, so
    runs_of_candidates gives count_runs' runs once phase 1 is known. trainer_words(batch) ->
    {i: words} for the texts whose trainer words are not their pretokens
    (tokenizer.trainer_words: long pretokens cut, code points the two regex engines disagree on)."""
    findall = regex.compile(pattern).findall
    word = regex.compile(superword_pattern).search if superword_pattern else None
    index, letter, counts = PieceIndex(), array('b'), np.zeros(0, dtype=np.int64)
    cut, parts, stats = Counter(), [], {'n_docs': 0, 'n_bytes': 0}
    kept = pending = 0  # pretoken numbers in the folded runs, and in the batches' since
    for batch in batches(texts, batch_docs):
        stats['n_docs'] += len(batch)
        stats['n_bytes'] += sum(len(t.encode('utf-8')) for t in batch)
        flat, get = array('i'), index.__getitem__
        for t in batch:
            flat.extend(map(get, findall(t)))
            flat.append(-1)
        new = index.texts[len(letter):]
        letter.extend([word(piece) is not None for piece in new] if word else [1] * len(new))
        nums = np.frombuffer(flat, dtype=np.int32)
        counted, ends = nums >= 0, np.flatnonzero(nums < 0)
        for i, words in trainer_words(batch).items():  # their words replace their pretokens
            cut.update(words)
            counted[(ends[i - 1] + 1 if i else 0):ends[i]] = False
        counts = np.concatenate([counts, np.zeros(len(index) - len(counts), dtype=np.int64)])
        counts += np.bincount(nums[counted], minlength=len(index))
        member = np.frombuffer(letter, dtype=np.int8)[np.maximum(nums, 0)] * (nums >= 0)
        starts, stops = _spans(member)
        parts.append(distinct(nums, starts, stops - starts, np.ones(len(starts), dtype=np.int64)))
        pending += len(parts[-1][0])
        if pending > max(kept, COMPACT_MIN):  # fold the batches' runs together: memory follows
            parts = [_joined(parts)]          # the distinct runs, not the text (amortized O(text))
            kept, pending = len(parts[0][0]), 0
    words = dict(zip(index.texts, counts.tolist()))
    for w, c in cut.items():
        words[w] = words.get(w, 0) + c
    return words, index.texts, letter, _joined(parts), stats


def _spans(member):
    """(starts, ends) of the maximal spans of >= 2 nonzero entries of an int8 array."""
    edge = np.diff(np.concatenate([[0], member.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edge == 1), np.flatnonzero(edge == -1)
    long = ends - starts >= 2
    return starts[long], ends[long]


def _joined(parts):
    """distinct over (flat, lengths, weights) parts, as one."""
    if not parts:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    flat = np.concatenate([p[0] for p in parts])
    lengths = np.concatenate([p[1] for p in parts])
    weights = np.concatenate([p[2] for p in parts])
    return distinct(flat, np.cumsum(lengths) - lengths, lengths, weights)


def runs_of_candidates(single, flat, lengths, weights):
    """count_runs' (distinct runs, lengths, weights) from one_pass's candidates, given per
    pretoken its phase-1 id where it is eligible (else -1): each candidate cut at its pretokens
    that are not, the pieces of >= 2 kept and counted again."""
    sep = np.cumsum(lengths + 1) - 1  # a -1 after each candidate
    ids = np.full(int(lengths.sum()) + len(lengths), -1, dtype=np.int32)
    inside = np.ones(len(ids), dtype=bool)
    inside[sep] = False
    ids[inside] = single[flat]
    starts, ends = _spans(ids >= 0)
    return distinct(ids, starts, ends - starts, weights[np.searchsorted(sep, starts)])


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
    seg = Segmenter(primitive, primitive.meta['pretokenize_pattern'], superword_pattern,
                    with_ids=False)
    runs = count_runs(seg, texts, batch_docs)
    return supermerges(runs, len(seg.single), primitive, n_merges, learn_merges_detailed,
                       min_frequency, max_pretokens, progress)


def supermerges(runs, n_pretokens, primitive, n_merges, learn_merges_detailed, min_frequency,
                max_pretokens, progress):
    """Step 3 over the distinct runs (flat phase-1 ids, lengths, weights): (merges, counts,
    stats)."""
    flat, lengths, weights = runs
    n_base = primitive.vocab_size
    allow = pretoken_cap(max_pretokens, primitive.meta['pretokenize_pattern'])
    tb = [primitive.token_bytes(i) for i in range(n_base)] if allow else None
    chain = Chain(flat, n_base, n_base + n_merges, lengths, weights)
    res = learn_merges_detailed(chain, n_base, n_merges, min_frequency, token_bytes=tb, allow=allow,
                                progress=progress, segmentation=False)
    stats = {'n_pretokens_distinct': n_pretokens, 'n_runs_distinct': len(lengths),
             'n_runs': int(weights.sum()), 'n_run_pretokens': int(lengths @ weights)}
    return res['merges'], res['counts'], stats


def one_pass_phases(text_again, n_base, vocab_size, min_frequency, max_pretokens, name, corpus,
                    progress, batch_docs, prim_settings, trained_on, superword_pattern,
                    learn_merges_detailed, one_pass_hooks, primitive, primitive_dir):
    """Phases 1 and 2 from one pass over the texts (one_pass): phase 1 merged from its word counts
    by the shared engine (tokenizer.bpe_from_word_counts: train_bpe's tokenizer.json, byte for
    byte; train_bpe over the texts again where it returns None), unless a kept one is given.
    Returns (phase 1, merges, counts, stats, seconds of phase 1)."""
    bpe_from_word_counts, trainer_words = one_pass_hooks
    t0 = time.time()
    pattern = primitive.meta['pretokenize_pattern'] if primitive else PRETOKENIZE_PATTERN
    words, pieces, letter, candidates, stats = one_pass(text_again(), pattern, superword_pattern,
                                                        trainer_words, batch_docs)
    if primitive is None:
        learn = lambda docs, nb, nm, mf, w: learn_merges_detailed(
            docs, nb, nm, mf, weights=w, segmentation=False)['merges']
        primitive = bpe_from_word_counts(words, n_base, primitive_dir, learn, min_frequency,
                                         f"{name}-primitive", corpus, trained_on, prim_settings,
                                         stats)
    del words
    if primitive is None:  # two merges spell one string: HF's trainer itself
        return None
    t1 = time.time()
    release_freed_memory()  # phase 1's memory goes back before phase 2 builds its arrays
    vocab = {primitive.token_bytes(i): i for i in range(primitive.vocab_size)}
    runs = runs_of_candidates(single_ids(primitive, vocab, pieces, letter), *candidates)
    del candidates
    merges, counts, stats = supermerges(runs, len(pieces), primitive, vocab_size - n_base,
                                        learn_merges_detailed, min_frequency, max_pretokens,
                                        progress)
    return primitive, merges, counts, stats, t1 - t0


def train_into(tmp, text_again, n_base, vocab_size, min_frequency, max_pretokens, corpus, name,
               progress, batch_docs, settings, sample, trained_on, train_bpe, learn_merges_detailed,
               superword_pattern=SUPERWORD_PATTERN, primitive=None, primitive_dir=None,
               one_pass_hooks=None):
    """Write a BoundlessBPE's files (primitive/, merges.json, meta.json last) into the folder tmp.
    text_again() gives the texts anew. train_bpe: tokenizer.py's; learn_merges_detailed: btm.py's
    (handed in by btm.py). one_pass_hooks: (tokenizer.bpe_from_word_counts,
    tokenizer.trainer_words): both phases from one pass over the texts (one_pass_phases; the same
    files); None: phase 1 by train_bpe, then the runs (two passes). primitive: a phase 1 kept by a
    stopped run (else trained into primitive_dir, default tmp/primitive); it is copied into tmp."""
    t0 = time.time()
    prim_settings = {'n_base': n_base, 'min_frequency': min_frequency, 'sample': sample}
    primitive_dir = primitive_dir or os.path.join(tmp, 'primitive')
    done = one_pass_hooks and one_pass_phases(
        text_again, n_base, vocab_size, min_frequency, max_pretokens, name, corpus, progress,
        batch_docs, prim_settings, trained_on, superword_pattern, learn_merges_detailed,
        one_pass_hooks, primitive, primitive_dir)
    if done:
        prim, merges, counts, stats, phase1 = done
        t1 = t0 + phase1
    else:
        prim = primitive or train_bpe(text_again(), n_base, primitive_dir, min_frequency,
                                      f"{name}-primitive", corpus, trained_on=trained_on,
                                      settings=prim_settings)
        t1 = time.time()
        release_freed_memory()  # phase 1's trainer memory goes back before phase 2 builds its arrays
        merges, counts, stats = learn_supermerges(text_again(), prim, vocab_size - n_base,
                                                  learn_merges_detailed, min_frequency,
                                                  max_pretokens, superword_pattern, progress,
                                                  batch_docs)
    if os.path.abspath(prim.path) != os.path.abspath(os.path.join(tmp, 'primitive')):
        shutil.copytree(prim.path, os.path.join(tmp, 'primitive'))
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
        if self._engine is None or len(docs) >= NUMPY_RUNS:
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
