"""
Reading the text splits prepare.py writes (out/corpus/{corpus}/{split}.jsonl, one {"text", "lang"} a line),
with one-line errors that name the file, the line and the fix: every script that reads a split uses these.

    for line_no, doc in read_docs(path): ...        # doc is a dict with a str 'text' (and usually 'lang')
    texts = read_texts(path, max_bytes=1_000_000)   # just the texts, stopping after max_bytes of UTF-8

BadLine is a ValueError (not SystemExit) so that it crosses a multiprocessing pool: a worker raising SystemExit
would die and leave its task hanging. Scripts turn it into SystemExit (`raise SystemExit(str(e)) from None`);
read_docs and read_texts do that themselves.
"""
import json
import os

FIX = "fix or delete that line, or remake the split with prepare.py"


class BadLine(ValueError):
    """A line of a split that is not a document; str() is the one-line message."""


def parse_doc(line, path, line_no):
    """One jsonl line (bytes or str) -> its document dict, or BadLine naming path:line_no."""
    where = f"{path}:{line_no}"
    if isinstance(line, bytes):
        try:
            line = line.decode('utf-8')
        except UnicodeDecodeError as e:
            raise BadLine(f"{where}: not UTF-8 (byte {e.start}); {FIX}") from None
    try:
        doc = json.loads(line)
    except json.JSONDecodeError as e:
        raise BadLine(f"{where}: not JSON ({e.msg} at column {e.colno}); {FIX}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get('text'), str):
        got = (f'"text" is {type(doc["text"]).__name__}, not a string' if isinstance(doc, dict) and 'text' in doc
               else f'no "text" (keys {sorted(doc)})' if isinstance(doc, dict) else f'no "text" (a {type(doc).__name__})')
        raise BadLine(f"{where}: {got}; a document is one JSON object with a string \"text\"; {FIX}")
    try:
        doc['text'].encode('utf-8')
    except UnicodeEncodeError:  # JSON may escape a lone surrogate, which no tokenizer can encode
        raise BadLine(f"{where}: \"text\" holds a lone surrogate escape, which is no UTF-8 text; {FIX}") from None
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
            if not line.strip():
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
