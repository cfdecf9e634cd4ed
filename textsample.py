"""
A text split's documents, all of them or a seeded random sample adding up to a byte budget, streamed from the
jsonl file (never held: an index of 16 bytes a document is), each line checked with a one-line error naming the
file and line. btm.py trains on it (`max_tok_bytes`, `sample_seed`) and records `sample` in meta.json.

    texts, sample = sample_split('out/corpus/tinystories/tok.jsonl', max_bytes=100_000_000, seed=0)
    for text in texts(): ...      # callable again: the same documents in file order
"""
import os
from array import array

import numpy as np

from textsplit import BadLine, parse_doc


def doc_text(line, path, line_no):
    """One jsonl line (bytes) -> (its document's text, UTF-8 bytes of it), or one line naming path:line_no."""
    try:
        text = parse_doc(line, path, line_no)['text']
    except BadLine as e:
        raise SystemExit(str(e)) from None
    return text, len(text.encode('utf-8'))


def index_split(path):
    """(byte offset of the line, UTF-8 bytes of the text) of every document of a jsonl split, each line checked;
    blank lines are skipped. 16 bytes a document, so a split is sampled without holding its text."""
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: text split not found; make it with `python prepare.py config/...` first")
    offsets, sizes, at = array('q'), array('q'), 0
    with open(path, 'rb') as f:
        for line_no, line in enumerate(f, 1):
            if line.strip():
                offsets.append(at)
                sizes.append(doc_text(line, path, line_no)[1])
            at += len(line)
    if not offsets:
        raise SystemExit(f"{path}: no documents; re-make the split with `python prepare.py config/...`")
    return np.frombuffer(offsets, dtype=np.int64), np.frombuffer(sizes, dtype=np.int64)


def chosen_docs(sizes, max_bytes=0, seed=0):
    """(ascending indices of the documents to train on, 'all' | 'random'): every document, or a seeded random
    sample of whole documents adding up to max_bytes of text (the one that crosses it included). A prefix would
    not be a sample of a split ordered by source or time."""
    if not max_bytes or sizes.sum() <= max_bytes:
        return np.arange(len(sizes)), 'all'
    order = np.random.default_rng(seed).permutation(len(sizes))
    k = int(np.searchsorted(np.cumsum(sizes[order]), max_bytes)) + 1
    return np.sort(order[:k]), 'random'


def sample_split(path, max_bytes=0, seed=0):
    """(texts, sample): texts() streams the chosen documents' text in file order, as often as called (training
    reads it twice); sample says which for meta.json: 'sample' ('all' | 'random'), seed, n_docs, n_bytes and the
    split's split_n_docs, split_n_bytes."""
    offsets, sizes = index_split(path)
    chosen, kind = chosen_docs(sizes, max_bytes, seed)

    def texts():
        with open(path, 'rb') as f:
            if kind == 'all':  # every line in order: no seeks
                yield from (doc_text(line, path, n)[0] for n, line in enumerate(f, 1) if line.strip())
                return
            for i in chosen.tolist():
                f.seek(offsets[i])
                yield doc_text(f.readline(), path, f"document {i + 1}")[0]
    return texts, {'sample': kind, 'seed': seed if kind == 'random' else None, 'n_docs': len(chosen),
                   'n_bytes': int(sizes[chosen].sum()), 'split_n_docs': len(sizes), 'split_n_bytes': int(sizes.sum())}
