"""
Reading the text splits prepare.py writes (out/corpus/{corpus}/{split}.jsonl, one {"text", "lang"} a line),
whole or as a seeded sample, with one-line errors that name the file, the line and the fix: every script that reads
a split uses these.

    for line_no, doc in read_docs(path): ...        # doc is a dict with a str 'text' (and usually 'lang')
    texts = read_texts(path, max_bytes=1_000_000)   # just the texts, stopping after max_bytes of UTF-8
    texts, sample = sample_split(path, max_bytes=100_000_000, seed=0)   # a seeded random sample (btm.py)
    for text in texts(): ...                        # callable again: the same documents in file order

A blank (whitespace-only) line is no document: every reader here skips it, and so does prepare.py's encoding
(is_blank), with line numbers that count it.

BadLine is a ValueError (not SystemExit) so that it crosses a multiprocessing pool: a worker raising SystemExit
would die and leave its task hanging. Scripts turn it into SystemExit (`raise SystemExit(str(e)) from None`);
read_docs and read_texts do that themselves. A file given by --files (prepare.py's own text,
eval_bpb.py's set) is no split prepare.py could remake: a bad line of it says so (fix_for).

The sample (sample_split) is streamed from the jsonl file, never held: an index of 16 bytes a document is. btm.py
trains on it (`max_tok_bytes`, `sample_seed`) and records `sample` in meta.json.
"""
import json
import os
from array import array

import numpy as np

SPLITS = ('tok', 'train', 'val', 'test')  # prepare.py's: {split}.jsonl beside meta.json
FIX = "fix or delete that line, or remake the split with prepare.py"
FILES_FIX = "fix or delete that line, or leave the file out of --files"  # a file given by --files


def is_blank(line):
    """A whitespace-only line (bytes or str): no document, skipped by every reader and by the encoding."""
    return not line.strip()


class BadLine(ValueError):
    """A line of a split that is not a document; str() is the one-line message."""


def fix_for(path):
    """The advice for a bad line of `path`: remake it, where it is a split prepare.py made
    ({split}.jsonl beside a meta.json); else it is a file someone gave (--files): fix the line or
    leave the file out."""
    folder, name = os.path.split(str(path))
    is_split = name in {f"{s}.jsonl" for s in SPLITS} and \
        os.path.isfile(os.path.join(folder, 'meta.json'))
    return FIX if is_split else FILES_FIX


def parse_doc(line, path, line_no, fix=None):
    """One jsonl line (bytes or str) -> its document dict, or BadLine naming path:line_no and `fix`
    (default: what fits the file, fix_for)."""
    try:
        return document(line)
    except ValueError as e:  # the advice is looked up only for a bad line
        raise BadLine(f"{path}:{line_no}: {e}; {fix or fix_for(path)}") from None


def document(line):
    """One jsonl line (bytes or str) -> its document dict; ValueError saying why it is none."""
    if isinstance(line, bytes):
        try:
            line = line.decode('utf-8')
        except UnicodeDecodeError as e:
            raise ValueError(f"not UTF-8 (byte {e.start})") from None
    try:
        doc = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get('text'), str):
        got = (f'"text" is {type(doc["text"]).__name__}, not a string' if isinstance(doc, dict) and 'text' in doc
               else f'no "text" (keys {sorted(doc)})' if isinstance(doc, dict) else f'no "text" (a {type(doc).__name__})')
        raise ValueError(f"{got}; a document is one JSON object with a string \"text\"")
    line = None  # a long document's line is not held beside its text (when the caller holds none)
    text, step = doc['text'], 1 << 20
    try:  # in pieces: a whole copy of a long document's bytes only to check it
        for i in range(0, len(text), step):
            text[i:i + step].encode('utf-8')
    except UnicodeEncodeError:  # JSON may escape a lone surrogate, which no tokenizer can encode
        raise ValueError("\"text\" holds a lone surrogate escape, which is no UTF-8 text") from None
    return doc


def open_split(path):
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: text split not found; make it with `python prepare.py config/...` first")
    return open(path, 'rb')  # bytes, so that a bad byte is reported with its line, not by the decoder


def read_docs(path):
    """Yield (line_no, doc) for every line of a split (line_no from 1; blank lines skipped); SystemExit on the first
    bad line."""
    with open_split(path) as f:
        for line_no, line in enumerate(f, 1):
            if is_blank(line):
                continue
            try:
                yield line_no, parse_doc(line, path, line_no)
            except BadLine as e:
                raise SystemExit(str(e)) from None


def read_texts(path, max_bytes=0):
    """Documents' text from a split, stopping after max_bytes of UTF-8 (0 = all)."""
    n = 0
    for _, doc in read_docs(path):
        yield doc['text']
        n += len(doc['text'].encode('utf-8'))
        if max_bytes and n >= max_bytes:
            return


# ---------------------------------------------------------------- a seeded sample of a split
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
            if not is_blank(line):
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
                yield from (doc_text(line, path, n)[0] for n, line in enumerate(f, 1) if not is_blank(line))
                return
            for i in chosen.tolist():
                f.seek(offsets[i])
                yield doc_text(f.readline(), path, f"document {i + 1}")[0]
    return texts, {'sample': kind, 'seed': seed if kind == 'random' else None, 'n_docs': len(chosen),
                   'n_bytes': int(sizes[chosen].sum()), 'split_n_docs': len(sizes), 'split_n_bytes': int(sizes.sum())}
