"""
Where the corpora's documents come from: the Hugging Face hub, streamed, or local parquet files of the same
schema (a 'text' column), read in file and row order; a seeded streaming shuffle that treats both alike; and your
own files (prepare.py --files=): .jsonl (one {"text", "lang"} a line), .txt (one document a file), .parquet (a
'text' column, and 'lang' where present). prepare.py uses these; a missing folder or file, a file that is not what
its name says, or a bad line is one line naming it (file:line) and the fix.
"""
import errno
import glob
import os
import random
import socket

from uniscale.splits import FILES_FIX, BadLine, is_blank, parse_doc


def hub_available(repo):
    """Fail at once when offline, instead of datasets' ~23 s of retries."""
    if os.environ.get('HF_HUB_OFFLINE') == '1' or os.environ.get('HF_DATASETS_OFFLINE') == '1':
        return False
    try:
        socket.create_connection(('huggingface.co', 443), timeout=3).close()
        return True
    except OSError:
        return False


def stream_texts(repo, name=None, split='train', files=None, shuffle_seed=None, buffer=10_000):
    """Documents' text from the hub (streamed) or from local parquet files of the same schema."""
    if files:
        texts = parquet_texts(files)
    elif not hub_available(repo):
        raise SystemExit(f"{repo}: the Hugging Face hub cannot be reached (offline, or HF_HUB_OFFLINE=1); "
                         f"use --corpus=embedded, or point {'tinystories_files' if 'Tiny' in repo else 'fineweb2_files'} "
                         f"at local parquet files")
    else:
        import datasets  # heavy, and only the hub corpora need it
        texts = (row['text'] for row in datasets.load_dataset(repo, name=name, split=split, streaming=True))
    yield from texts if shuffle_seed is None else shuffle_buffer_iter(texts, buffer, shuffle_seed)


HUB_FIX = "point the *_files setting at TinyStories or FineWeb-2 parquet files"


def parquet_texts(files):
    """The 'text' column of local parquet files, in file and row order; a file that is not one is one line."""
    for path in files:
        for text, _ in parquet_documents(path, None):
            yield text


def parquet_documents(path, lang, fix=HUB_FIX):
    """(text, lang) of each row of a parquet file: the 'text' column, and the 'lang' column where there is one
    (else `lang`); a file that is not parquet, has no 'text' column or a row that is no text is one line."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    try:
        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        if 'text' not in names:
            raise SystemExit(f"{path}: no 'text' column (has {', '.join(names)}); {fix}")
        columns = ['text'] + (['lang'] if 'lang' in names and lang is not None else [])
        row = 0
        for batch in pf.iter_batches(columns=columns, batch_size=1024):
            langs = batch.column(1).to_pylist() if len(columns) == 2 else [lang] * batch.num_rows
            for text, doc_lang in zip(batch.column(0).to_pylist(), langs):
                row += 1
                if not isinstance(text, str):
                    raise SystemExit(f"{path}: row {row}'s text is {text!r}, not a string; remove the row or the file")
                if lang is not None and (not isinstance(doc_lang, str) or not doc_lang):
                    raise SystemExit(f"{path}: row {row}'s lang is {doc_lang!r}, not a language code; fix the row, "
                                     f"or drop the 'lang' column and set --lang=")
                yield text, doc_lang
    except (pa.ArrowException, OSError) as e:
        raise SystemExit(f"{path}: not a readable parquet file ({e}); download it again or remove it") from None


def parquet_rows(files):
    """Rows of local parquet files, from their footers (no data read)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    n = 0
    for path in files:
        try:
            n += pq.ParquetFile(path).metadata.num_rows
        except (pa.ArrowException, OSError) as e:
            raise SystemExit(f"{path}: not a readable parquet file ({e}); download it again or remove it") from None
    return n


def shuffle_buffer_iter(items, buffer, seed):
    """A seeded streaming shuffle: hold `buffer` items, emit a random one as each new one arrives.
    (datasets' own .shuffle stalls ~5 s per stream here, and this is the same for hub and local files.)"""
    rng, held = random.Random(seed), []
    for item in items:
        if len(held) < buffer:
            held.append(item)
            continue
        i = rng.randrange(buffer)
        yield held[i]
        held[i] = item
    rng.shuffle(held)
    yield from held


def local_files(pattern, what):
    files = sorted(glob.glob(pattern))
    if not files:
        raise SystemExit(f"{pattern}: no parquet files found for {what}; check the folder or unset it to use the hub")
    return files


def fineweb2_parquet(root, lang):
    """A language's local parquet files: {root}/{lang}/*.parquet, or the hub snapshot's layout that
    `huggingface-cli download HuggingFaceFW/fineweb-2` leaves, {root}/data/{lang}/train/*.parquet
    (for eng, FineWeb's {root}/sample/10BT/*.parquet)."""
    patterns = [os.path.join(root, lang, '*.parquet'), os.path.join(root, 'data', lang, 'train', '*.parquet')]
    patterns += [os.path.join(root, 'sample', '10BT', '*.parquet')] if lang == 'eng' else []
    for pattern in patterns:
        if glob.glob(pattern):
            return sorted(glob.glob(pattern))
    raise SystemExit(f"{root}: no parquet files for {lang} (looked for {' and '.join(patterns)}); "
                     f"download the language, drop it from langs, or unset fineweb2_files to use the hub")


# ---------------------------------------------------------------- your own text (prepare.py --files=)
OWN_FIX = FILES_FIX
READABLE = ('.jsonl', '.txt', '.parquet')


def input_files(spec, key='files'):
    """--files= (or --train_files= ...: `key`): paths or globs, comma-separated -> the files, in
    the order given (each glob sorted, each path once); a pattern matching nothing, a folder, a
    symlink that leads nowhere (a cycle, or broken) or another kind of file is one line."""
    paths = []
    for pattern in [p.strip() for p in spec.split(',') if p.strip()]:
        found = sorted(glob.glob(os.path.expanduser(pattern)))
        if not found:
            raise SystemExit(f"{pattern}: no such file (--{key}=); check the path or the glob, "
                             f"e.g. --{key}='data/*.jsonl'")
        for path in found:
            unreadable(path, key)
            if os.path.isdir(path):
                raise SystemExit(f"{path}: a folder (--{key}=); give its files, e.g. "
                                 f"--{key}='{path}/*.jsonl'")
            if not path.endswith(READABLE):
                raise SystemExit(f"{path}: not {', '.join(READABLE)} (--{key}=); convert it, or "
                                 f"leave it out")
            if path not in paths:
                paths.append(path)
    return paths


def unreadable(path, key):
    """A path glob lists but no file stands behind (glob lists links as names): a symlink cycle or
    a broken symlink is one line naming it, not a traceback when it is opened."""
    try:
        os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            why, fix = 'a symlink cycle (it leads back to itself)', 'point it at a file'
        elif os.path.islink(path):
            why, fix = f"a symlink to {os.readlink(path)!r}, which does not exist", 'point it at a file'
        else:
            why, fix = e.strerror, 'make it readable'
        raise SystemExit(f"{path}: {why} (--{key}=); {fix}, or leave it out") from None


def jsonl_documents(path, lang):
    """(text, lang) of each line of a jsonl file ({"text": ..., "lang": ...}, lang optional); blank lines skipped."""
    with open(path, 'rb') as f:
        for line_no, line in enumerate(f, 1):
            if line_no == 1 and line.startswith(b'\xef\xbb\xbf'):  # a BOM some editors write
                line = line[3:]
            if is_blank(line):
                continue
            try:
                doc = parse_doc(line, path, line_no, OWN_FIX)
            except BadLine as e:
                raise SystemExit(str(e)) from None
            doc_lang = doc.get('lang', lang)
            if not isinstance(doc_lang, str) or not doc_lang:
                raise SystemExit(f"{path}:{line_no}: \"lang\" is {doc_lang!r}, not a language code; {OWN_FIX}")
            yield doc['text'], doc_lang


def txt_document(path, lang):
    """A .txt file is one document (UTF-8; a leading BOM dropped)."""
    with open(path, 'rb') as f:
        data = f.read()
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as e:
        line = data.count(b'\n', 0, e.start) + 1
        raise SystemExit(f"{path}:{line}: not UTF-8 (byte {e.start}); save the file as UTF-8, or leave it out of "
                         f"--files") from None
    yield text[1:] if text.startswith('\ufeff') else text, lang


def local_documents(paths, lang):
    """(index of the file, text, lang) of every non-empty document of your files, in order; `lang` where a document
    names none."""
    for i, path in enumerate(paths):
        if path.endswith('.jsonl'):
            docs = jsonl_documents(path, lang)
        elif path.endswith('.txt'):
            docs = txt_document(path, lang)
        else:
            docs = parquet_documents(path, lang, "give a parquet file with a 'text' column (and optionally 'lang')")
        for text, doc_lang in docs:
            if text:  # an empty document has nothing to train on or score
                yield i, text, doc_lang
