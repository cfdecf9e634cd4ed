"""
BTM's step 1: a corpus through the primitive BPE, as flat id arrays (one large array, not one small one per
document). One process by default: each distinct pre-token is encoded once, in Rust on all cores
(btm_encoding.primitive_flat), so a pool of spawned workers, each re-importing its modules and keeping its own
table, cost more CPU than it saved (issue 28). Below btm.py, above uniscale/tokenization.py (the worker loads the
primitive); btm_encoding holds the encoder itself.
"""
import itertools
import os

import numpy as np

from uniscale import tokenization
from uniscale.btm_encoding import primitive_flat

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
