"""
BTM's step 1: a corpus through the primitive BPE, as flat id arrays (one large array, not one
small one per document). One process by default: each distinct pre-token is encoded once, in Rust on
all cores (btm_encoding.primitive_flat), so a pool of spawned workers, each re-importing its modules
and keeping its own table, cost more CPU than it saved (issue 28). Below btm.py, above
uniscale/tokenization.py (the worker loads the primitive); btm_encoding holds the encoder itself.
"""
import collections
import itertools
import os

import numpy as np

from uniscale import regex_gap, tokenization
from uniscale.btm_encoding import PretokenIndex, encode_pretokens, primitive_flat

_worker = {}  # an encoding process's primitive tokenizer and pre-token table


def _worker_flat(path, texts):
    if _worker.get('path') != path:
        _worker.update(path=path, tok=tokenization.load_tokenizer(path), cache={})
    return primitive_flat(_worker['tok'], texts, _worker['cache'], tokenization.pretokenize)


def encode_docs(tok, texts, batch_docs=1000, num_proc=1):
    """Stream texts through the primitive: one id array per document, cut at special ids (step 1)."""
    ids, lengths = encode_flat(tok, texts, batch_docs, num_proc)
    return np.split(ids, np.cumsum(lengths)[:-1]) if len(lengths) else []


def encode_flat(tok, texts, batch_docs=1000, num_proc=1):
    """encode_docs as (every document's ids end to end, the documents' lengths): a few large arrays, not one
    small one per document that the allocator would keep after the merges free them. With num_proc > 1, batches
    go to a pool of processes, at most 2 per process in flight, so memory stays flat."""
    import multiprocessing as mp
    from collections import deque
    it = iter(texts)
    batches = iter(lambda: list(itertools.islice(it, batch_docs)), [])  # lists of batch_docs texts until empty
    flat, lengths, specials, cache = [], [], np.array([tok.bos_id, tok.eos_id]), {}

    def add(encoded):
        ids, text_lengths = encoded
        if not len(text_lengths):
            return
        special = np.flatnonzero(np.isin(ids, specials))
        ends = np.cumsum(text_lengths)
        # a document ends at each text's end and at each special (dropped); at one place, the text's end first
        cut = np.sort(np.concatenate([ends * 2, special * 2 + 1]))
        at, is_special = cut // 2, cut % 2 == 1
        starts = np.concatenate([[0], at[:-1] + is_special[:-1]])
        if len(special):
            keep = np.ones(len(ids), dtype=bool)
            keep[special] = False
            ids = ids[keep]
        flat.append(ids)
        lengths.append(at - starts)
    if num_proc <= 1 or not os.path.isdir(getattr(tok, 'path', '')):
        for batch in batches:
            add(primitive_flat(tok, batch, cache, tokenization.pretokenize))
    else:
        with mp.get_context('spawn').Pool(num_proc) as pool:
            pending = deque()
            for batch in batches:
                pending.append(pool.apply_async(_worker_flat, (tok.path, batch)))
                if len(pending) >= 2 * num_proc:
                    add(pending.popleft().get())
            while pending:
                add(pending.popleft().get())
    dtype = np.uint16 if tok.vocab_size <= 2**16 else np.int32
    return (np.concatenate(flat) if flat else np.zeros(0, dtype=dtype),
            np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64))


def number_pretokens(texts, long_words, batch_docs=1000):
    """One pass of the shared pre-tokenizer over texts for BTM's primitive: (distinct pre-tokens in
    order of first sight, every text's pre-tokens as their numbers end to end (int32), each text's
    number of pre-tokens, the counts of the words BPE training sees ({word: count}), {n_docs,
    n_bytes}). long_words(batch) -> {i: words} for the texts of a batch whose words training sees
    are not their pre-tokens: long ones cut, or engines that disagree (tokenizer.trainer_words)."""
    index, numbers, n_pre, counts = PretokenIndex(), [], [], np.zeros(0, dtype=np.int64)
    cut, stats = collections.Counter(), {'n_docs': 0, 'n_bytes': 0}
    it = iter(texts)
    for batch in iter(lambda: list(itertools.islice(it, batch_docs)), []):
        stats['n_docs'] += len(batch)
        stats['n_bytes'] += sum(len(t.encode('utf-8')) for t in batch)
        odd = regex_gap.holding(batch)  # pieces as the primitive's own pre-tokenizer cuts them
        pieces = [regex_gap.rust_pieces(tokenization.PRETOKENIZE_PATTERN, t) if i in odd
                  else tokenization.pretokenize(t) for i, t in enumerate(batch)]
        sizes = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        sid = np.fromiter(map(index.__getitem__, itertools.chain.from_iterable(pieces)),
                          dtype=np.int32, count=int(sizes.sum()))
        index.new.clear()
        counted = np.ones(len(sid), dtype=bool)
        ends = np.cumsum(sizes)
        for i, words in long_words(batch).items():  # their words replace their pre-tokens
            cut.update(words)
            counted[ends[i] - sizes[i]:ends[i]] = False
        counts = np.concatenate([counts, np.zeros(len(index) - len(counts), dtype=np.int64)])
        counts += np.bincount(sid[counted], minlength=len(index))
        numbers.append(sid)
        n_pre.append(sizes)
    words = dict(zip(index, counts.tolist()))
    for w, c in cut.items():
        words[w] = words.get(w, 0) + c
    return (list(index), np.concatenate(numbers) if numbers else np.zeros(0, dtype=np.int32),
            np.concatenate(n_pre) if n_pre else np.zeros(0, dtype=np.int64), words, stats)


def encode_numbered(tok, distinct, numbers, n_pre, chunk=1 << 18):
    """encode_flat's (ids, lengths) from number_pretokens' pass: each distinct pre-token encoded
    once (Rust), the texts' ids gathered by number, chunk pre-tokens at a time (so the temporaries
    stay small); None if one came out as a special id (encode_flat then cuts the text there)."""
    ids, length = encode_pretokens(tok, {}, distinct)
    dtype = np.uint16 if tok.vocab_size <= 2**16 else np.int32
    ids, length, start = ids.astype(dtype), length.astype(np.int32), np.cumsum(length) - length
    if np.isin(ids, [tok.bos_id, tok.eos_id]).any():
        return None
    pre_ends = np.cumsum(n_pre)
    text_ends = np.zeros(len(n_pre), dtype=np.int64)  # in tokens
    flat, done = [], 0
    for i in range(0, len(numbers), chunk):
        num = numbers[i:i + chunk]
        n = length[num]
        ends = np.cumsum(n, dtype=np.int64)
        lo, hi = np.searchsorted(pre_ends, [i, i + len(num)], side='right')  # texts ending in it
        text_ends[lo:hi] = done + ends[pre_ends[lo:hi] - i - 1]
        pos = np.repeat(start[num] - (ends - n), n)
        pos += np.arange(len(pos), dtype=pos.dtype)
        flat.append(ids[pos])
        done += int(ends[-1])
    return (np.concatenate(flat) if flat else ids[:0]), np.diff(text_ends, prepend=0)
