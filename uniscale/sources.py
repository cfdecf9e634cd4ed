"""
Where the hub corpora's documents come from: the Hugging Face hub, streamed, or local parquet files of the same
schema (a 'text' column), read in file and row order; and a seeded streaming shuffle that treats both alike.
prepare.py uses these; a missing folder, a file that is not parquet or has no 'text' column is one line naming it.
"""
import glob
import os
import random
import socket


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


def parquet_texts(files):
    """The 'text' column of local parquet files, in file and row order; a file that is not one is one line."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    for path in files:
        try:
            pf = pq.ParquetFile(path)
            if 'text' not in pf.schema_arrow.names:
                raise SystemExit(f"{path}: no 'text' column (has {', '.join(pf.schema_arrow.names)}); point the "
                                 f"*_files setting at TinyStories or FineWeb-2 parquet files")
            for batch in pf.iter_batches(columns=['text'], batch_size=1024):
                for text in batch.column(0).to_pylist():
                    if not isinstance(text, str):
                        raise SystemExit(f"{path}: a row's text is {text!r}, not a string; remove the row or the file")
                    yield text
        except (pa.ArrowException, OSError) as e:
            raise SystemExit(f"{path}: not a readable parquet file ({e}); download it again or remove it") from None


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
