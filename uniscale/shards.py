"""
The token shard format, and the reader that training and evaluation use.

A split of a corpus, encoded by one tokenizer, lives in out/tokens/{corpus}/{tokenizer}/:
    {split}_0000.bin, {split}_0001.bin, ...   shards: a 1 KiB header, then the token ids
    {split}_0000.starts.npy, ...                each shard's document starts (int64 token offsets), as the encoder
                                               knew them; the sidecar records each file's sha256
    {split}.json                               sidecar: tokenizer hash, n_tokens, n_docs, n_bytes, max_id, the shards
                                               (each with the sha256 of its ids)

Header (HEADER_INTS little-endian int64, as llm.c's shards but 64-bit):
    [0] MAGIC  [1] VERSION  [2] n_tokens  [3] bytes per token (2: uint16, 4: uint32)
    [4] n_docs  [5] vocab_size  [6] tokenizer hash (first 15 hex digits as an int)  [7] bos_id
    [8] max_id (the largest id in the shard, -1 if empty; version 2)
Every document starts with BOS, and no document spans two shards. Readers take the document starts from the
starts files (a split's worth of BOS scanning at every run start is 15-45 s on 75 GB of shards); a sidecar from
before they were stored has none, and its shards are scanned for BOS instead (the same starts, with a note).
The sidecar is written last: a split with a sidecar is complete.
Ids are checked against the vocabulary when written, and the largest is recorded, so that a reader checks it
against its model's vocabulary at load (an id past the embedding is an IndexError, or a CUDA device assert).
Version 1 shards (no max_id) are refused with the fix: re-run prepare.py, which re-encodes them.
A shard's identity is its bytes: the sidecar records the sha256 of each shard's ids (the bytes after
the header, hashed as they are written; every header field is checked against the sidecar at load).
TokenShards hashes a shard the first time it is mapped, before any of its tokens reach a batch, and
refuses one whose ids changed. A sidecar from before the hashes were recorded gets them on first use
(under the shard folder's lock; held by another writer: hashed, not recorded); such a first-use hash
cannot see an edit made before it.
How training reads a split is here too (train.py's docstring says why): PackedWindows (the train split as seeded
windows) and eval_set (the fixed validation documents).
"""
import contextlib
import hashlib
import io
import json
import os

import numpy as np

from uniscale import locks
from uniscale.atomic import disk_errors, remove_quietly, write_atomic, write_json_atomic

MAGIC = 0x756E6973  # 'unis'
VERSION = 2  # 2: header[8] and the sidecar record max_id
HEADER_INTS = 128
HEADER_BYTES = HEADER_INTS * 8


def dtype_for_vocab(vocab_size):
    """Little-endian uint16 when every id fits, else uint32."""
    return np.dtype('<u2') if vocab_size <= 2 ** 16 else np.dtype('<u4')


def hash_to_int(tokenizer_hash):
    return int(tokenizer_hash[:15], 16)


# ---------------------------------------------------------------- the sha256 of a shard's ids
def ids_sha256(path, chunk=1 << 23):
    """sha256 of a shard's ids, its bytes after the header: what ShardWriter hashed while writing
    (the header is patched last, so no hash taken on the way can hold it; header_mismatch checks
    its fields one by one)."""
    h = hashlib.sha256()
    try:
        buf = bytearray(max(1, min(chunk, os.path.getsize(path) - HEADER_BYTES)))  # small: no 8 MB
        view = memoryview(buf)
        with open(path, 'rb') as f:
            f.seek(HEADER_BYTES)
            while n := f.readinto(buf):
                h.update(view[:n])
    except OSError as e:
        raise SystemExit(f"{path}: cannot read the shard ({e.strerror}); fix its permissions, or "
                         f"re-run prepare.py with this tokenizer to encode the split again") from None
    return h.hexdigest()


def reencode_fix(meta):
    """The fix for a shard that is not what its sidecar `meta` records: prepare.py checks the
    shards of a split it would skip (shards_unchanged) and encodes the split again."""
    tok = meta.get('tokenizer_path') or meta.get('tokenizer')
    return (f"re-run prepare.py with the settings that made the corpus and --tokenizers={tok}: "
            f"it encodes the split again")


def changed_message(path, sidecar, meta, got, want):
    return (f"{path}: its token ids are not the ones {sidecar} records (sha256 {got[:12]}, "
            f"recorded {want[:12]}): the shard changed after it was written; {reencode_fix(meta)}")


def header_mismatch(header, entry, meta):
    """Every header field against the sidecar (the shard's `entry`, the split's `meta`):
    'field: header x, sidecar y' for the first that differs, else None. With the ids' sha256
    this pins every byte of the file."""
    vocab, tok_hash = meta.get('vocab_size'), meta.get('tokenizer_hash')
    want = {'n_tokens': (2, entry.get('n_tokens')),
            'bytes per token': (3, vocab and dtype_for_vocab(vocab).itemsize),
            'n_docs': (4, entry.get('n_docs')), 'vocab_size': (5, vocab),
            'tokenizer hash': (6, tok_hash and hash_to_int(tok_hash)),
            'bos_id': (7, meta.get('bos_id')), 'max_id': (8, entry.get('max_id'))}
    for name, (k, v) in want.items():
        if v is not None and int(header[k]) != v:
            return f"{name}: header {int(header[k])}, sidecar {v}"
    unused = np.flatnonzero(header[9:])
    if len(unused):
        k = 9 + int(unused[0])
        return f"unused header int {k}: {int(header[k])}, not 0"
    return None


def without_sha256(meta):
    """A sidecar less its shards' sha256: what a reader compares before recording them into it."""
    if not isinstance(meta, dict) or not isinstance(meta.get('shards'), list):
        return meta
    return {**meta, 'shards': [{k: v for k, v in e.items() if k != 'sha256'}
                               if isinstance(e, dict) else e for e in meta['shards']]}


def shards_unchanged(tokens_dir, meta):
    """prepare.py on a split it would skip: True when every shard the sidecar `meta` lists is there
    with the header and (where recorded) the ids' sha256 it records; else it prints which one is
    not, and prepare.py encodes the split again. One read of the shards: far less than encoding."""
    entries, split = meta.get('shards'), meta.get('split')
    if not isinstance(entries, list) or not all(isinstance(e, dict) and 'file' in e
                                                for e in entries):
        return True  # not a complete sidecar: TokenShards refuses it, naming the fix
    for entry in entries:
        why = shard_differs(os.path.join(tokens_dir, entry['file']), entry, meta)
        if why:
            print(f"{why}; encoding {split} again")
            return False
    return True


def shard_differs(path, entry, meta):
    """Why the shard file at path is not the one its record `entry` (of the split's `meta`: a
    sidecar, or the partial encoding's key) describes, as a line naming it: an unreadable header,
    a header field, or its ids' sha256 where recorded; None when it is."""
    try:
        header, _ = read_header(path)
    except SystemExit as e:
        return str(e)
    differs = header_mismatch(header, entry, meta)
    if differs:
        return f"{path}: not the shard its record describes ({differs})"
    if entry.get('sha256') is not None and ids_sha256(path) != entry['sha256']:
        return f"{path}: its ids are not the ones its record describes (sha256 differs)"
    return None


# ---------------------------------------------------------------- document starts
def starts_path(shard_path):
    """train_0003.bin -> train_0003.starts.npy, beside it."""
    return (shard_path[:-len('.bin')] if shard_path.endswith('.bin') else shard_path) + '.starts.npy'


def bos_positions(ids, bos_id, chunk=1 << 24):
    """Offsets of bos_id in ids (a memmap), found in chunks to bound memory: the document starts of a shard whose
    sidecar records none."""
    found = [np.flatnonzero(ids[j:j + chunk] == bos_id) + j for j in range(0, len(ids), chunk)]
    return np.concatenate(found).astype(np.int64) if found else np.zeros(0, dtype=np.int64)


def write_starts(path, starts):
    """A shard's document starts -> path (.npy of int64), atomically; returns the sidecar's record of it, whose
    sha256 ties the file to the sidecar."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(starts, dtype='<i8'), allow_pickle=False)
    data = buf.getvalue()
    write_atomic(path, data)
    return {'file': os.path.basename(path), 'sha256': hashlib.sha256(data).hexdigest()}


def read_starts(tokens_dir, entry, sidecar):
    """The document starts the sidecar's shard `entry` records, checked against the recorded sha256 and the shard's
    size; a missing, foreign or damaged file is one line naming it and the fix."""
    rec = entry['starts']
    path = os.path.join(tokens_dir, str(rec.get('file')) if isinstance(rec, dict) else '?')
    fix = (f"re-run prepare.py with this tokenizer: it finds the document starts of the kept shards again and "
           f"records them in {sidecar}")
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as e:
        raise SystemExit(f"{path}: cannot read the document starts {sidecar} records ({e.strerror}); {fix}") from None
    if not isinstance(rec, dict) or hashlib.sha256(data).hexdigest() != rec.get('sha256'):
        raise SystemExit(f"{path}: not the document starts {sidecar} records (sha256 differs); {fix}")
    starts = np.load(io.BytesIO(data), allow_pickle=False)
    n = entry['n_tokens']
    if starts.ndim != 1 or starts.dtype != np.int64 or (len(starts) and (
            starts[0] != 0 or starts[-1] >= n or np.any(np.diff(starts) <= 0))):
        raise SystemExit(f"{path}: document starts out of order or past the shard's {n} tokens; {fix}")
    return starts


def refresh_doc_starts(tokens_dir, meta):
    """prepare.py on a split it skips: the sidecar `meta` with every shard's document starts and
    ids' sha256 recorded, or None when they all are. A shard whose sidecar entry names no starts
    (written before they were stored), or whose starts file is missing or damaged, gets them by a
    BOS scan (what a reader of such a sidecar does at every start); one with no sha256 gets it by
    hashing its ids (what a reader does on first use)."""
    entries = meta.get('shards')
    if not isinstance(entries, list) or not all(isinstance(e, dict) and 'file' in e for e in entries):
        return None  # not a complete sidecar: TokenShards refuses it, naming the fix
    sidecar, shards, changed = os.path.join(tokens_dir, f"{meta.get('split')}.json"), [], False
    for entry in entries:
        entry = dict(entry)
        if entry.get('sha256') is None:
            entry['sha256'] = ids_sha256(os.path.join(tokens_dir, entry['file']))
            changed = True
        if entry.get('starts') is not None:
            try:
                read_starts(tokens_dir, entry, sidecar)
                shards.append(entry)
                continue
            except SystemExit as e:
                print(f"{e}: finding them again")
        path = os.path.join(tokens_dir, entry['file'])
        header, dtype = read_header(path)
        ids = np.memmap(path, dtype=dtype, mode='r', offset=HEADER_BYTES)
        entry['starts'] = write_starts(starts_path(path), bos_positions(ids, int(header[7])))
        shards.append(entry)
        changed = True
    return {**meta, 'shards': shards} if changed else None


class ShardWriter:
    """Streams id arrays into one shard file: tmp file, header patched at the end, then rename."""

    def __init__(self, path, vocab_size, tokenizer_hash, bos_id):
        self.path, self.tmp = path, f"{path}.tmp"
        self.dtype = dtype_for_vocab(vocab_size)
        self.header = np.zeros(HEADER_INTS, dtype='<i8')
        self.vocab_size, self.bos_id = vocab_size, bos_id
        self.header[[0, 1, 3, 5, 6, 7]] = [MAGIC, VERSION, self.dtype.itemsize, vocab_size,
                                           hash_to_int(tokenizer_hash), bos_id]
        self.f = None
        try:
            with disk_errors(path):
                self.f = open(self.tmp, 'wb')
                self.f.write(self.header.tobytes())
        except BaseException:
            self.abort()
            raise
        self.n_tokens = self.n_docs = self.n_bytes = 0
        self.max_id = -1
        self.starts = []  # document starts, as offsets in the shard
        self.sha = hashlib.sha256()  # of the ids as written: no second read of the shard

    def write(self, ids, n_docs, n_bytes=0, starts=None):
        """Append ids holding n_docs whole documents of n_bytes UTF-8 text (for the sidecar); starts: where each
        document begins in ids (the encoder knows; None: the BOS positions)."""
        ids = np.asarray(ids)
        if starts is None:
            starts = np.flatnonzero(ids == self.bos_id)
        elif len(starts) != n_docs:
            raise ValueError(f"{self.path}: {len(starts)} document starts given for {n_docs} documents")
        if len(ids) and (ids.max() >= self.vocab_size or ids.min() < 0):
            raise SystemExit(f"{self.path}: token id {ids.max()} outside the tokenizer's vocabulary "
                             f"of {self.vocab_size}; the tokenizer's meta.json vocab_size is wrong")
        data = ids.astype(self.dtype, copy=False).tobytes()
        with disk_errors(self.path):
            self.f.write(data)
        self.sha.update(data)
        self.starts.append(starts.astype(np.int64) + self.n_tokens)
        self.n_tokens += len(ids)
        self.max_id = max(self.max_id, int(ids.max())) if len(ids) else self.max_id
        self.n_docs += n_docs
        self.n_bytes += n_bytes

    def abort(self):
        """Drop the unfinished shard: close and remove its temp file (a failed run leaves nothing behind)."""
        try:
            if self.f is not None:
                self.f.close()  # flushing onto a full disk fails again: the file goes anyway
        except OSError:
            pass
        remove_quietly(self.tmp)

    def close(self):
        """Write the document starts, patch the header, rename into place; returns the shard's entry for the
        sidecar."""
        self.header[[2, 4, 8]] = self.n_tokens, self.n_docs, self.max_id
        starts = write_starts(starts_path(self.path), np.concatenate(self.starts) if self.starts else [])
        with disk_errors(self.path):
            self.f.seek(0)
            self.f.write(self.header.tobytes())
            self.f.flush()
            os.fsync(self.f.fileno())
            self.f.close()
            os.replace(self.tmp, self.path)
        return {'file': os.path.basename(self.path), 'n_tokens': self.n_tokens, 'n_docs': self.n_docs,
                'n_bytes': self.n_bytes, 'max_id': self.max_id, 'sha256': self.sha.hexdigest(),
                'starts': starts}


def read_header(path):
    """Check a shard's header and size; return (header, dtype). Each failure is one line naming the file."""
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: shard not found; re-run prepare.py to encode this split")
    size = os.path.getsize(path)
    if size < HEADER_BYTES:
        raise SystemExit(f"{path}: file is {size} bytes, shorter than the {HEADER_BYTES}-byte header; "
                         f"delete it and re-run prepare.py")
    header = np.fromfile(path, dtype='<i8', count=HEADER_INTS)
    if header[0] != MAGIC:
        raise SystemExit(f"{path}: not a uniscale token shard (bad magic {int(header[0]):#x}); "
                         f"re-run prepare.py")
    if header[1] != VERSION:
        old = ' (it does not record its largest token id)' if header[1] == 1 else ''
        raise SystemExit(f"{path}: shard format version {header[1]}{old}, this code reads {VERSION}; "
                         f"re-run prepare.py to re-encode this split")
    if header[3] not in (2, 4):
        raise SystemExit(f"{path}: bytes per token {header[3]} in header (must be 2 or 4); re-run prepare.py")
    dtype = np.dtype('<u2') if header[3] == 2 else np.dtype('<u4')
    expected = HEADER_BYTES + int(header[2]) * int(header[3])
    if size != expected:
        raise SystemExit(f"{path}: truncated or corrupt ({size} bytes, header says {expected}); "
                         f"delete {os.path.dirname(path)} and re-run prepare.py")
    return header, dtype


def check_max_id(path, max_id, sidecar_max_id, tok_vocab, model_vocab, sidecar):
    """The largest id of a shard against its sidecar, its tokenizer's vocabulary and the model's."""
    if sidecar_max_id != max_id:
        raise SystemExit(f"{path}: header says the largest id is {max_id}, {sidecar} says {sidecar_max_id}; "
                         f"delete {os.path.dirname(path)} and re-run prepare.py")
    if max_id >= tok_vocab:
        raise SystemExit(f"{path}: holds token id {max_id} >= its tokenizer's vocab_size {tok_vocab}; "
                         f"the shard is corrupt, delete {os.path.dirname(path)} and re-run prepare.py")
    if model_vocab is not None and max_id >= model_vocab:
        raise SystemExit(f"{path}: holds token id {max_id}, the model's vocabulary is {model_vocab}; "
                         f"re-encode the split with the model's tokenizer (prepare.py --tokenizers=...)")


# ---------------------------------------------------------------- resuming an interrupted encoding
def progress_path(tokens_dir, split):
    return os.path.join(tokens_dir, f"{split}.partial.json")


def record_progress(tokens_dir, split, key, shards, next_line, next_offset):
    """After each finished shard: what an interrupted run can reuse. `key` holds everything that decides the
    shards' bytes (tokenizer hash, the split's sha256, format, shard_tokens, chunk_docs); shards end on chunk
    boundaries, so resuming at next_line (byte next_offset) chunks the rest exactly as one run would."""
    write_json_atomic(progress_path(tokens_dir, split), {'key': key, 'shards': shards, 'next_line': next_line,
                                                         'next_offset': next_offset})


def forget_progress(tokens_dir, split):
    remove_quietly(progress_path(tokens_dir, split))


def finished_shards(tokens_dir, split, key):
    """(shard entries, next line, next byte offset) an interrupted run left for `key`, or ([], 1, 0) to start over
    (no record, other settings, or a listed shard missing or not as recorded)."""
    path, fresh = progress_path(tokens_dir, split), ([], 1, 0)
    if not os.path.isfile(path):
        return fresh
    try:
        with open(path) as f:
            rec = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError):
        print(f"{path}: unreadable, encoding {split} from the start")
        return fresh
    if rec.get('key') != key:
        print(f"{path}: made with another tokenizer, text or shard settings; encoding {split} from the start")
        return fresh
    for s in rec['shards']:
        why = shard_differs(os.path.join(tokens_dir, s['file']), s,
                            {'tokenizer_hash': key['tokenizer_hash']})
        try:
            if why is None and s.get('starts') is not None:
                read_starts(tokens_dir, s, path)
        except SystemExit as e:
            why = str(e)
        if why:
            print(f"{why}: not reusable, encoding {split} from the start")
            return fresh
    return rec['shards'], rec['next_line'], rec['next_offset']


class TokenShards:
    """
    One split of token shards, checked against the tokenizer the caller uses; with vocab_size (the model's), the
    largest id each shard recorded when it was written is checked to be below it. verify_ids() also scans the data
    (a cold read of the whole split, so on request, not at every load).
    Memmaps are opened per call and not kept: a long-lived np.memmap makes a long run's memory
    grow as pages are touched (nanoGPT #287).
    """

    def __init__(self, tokens_dir, split, tokenizer_hash=None, vocab_size=None, dtype=None):
        self.tokens_dir, self.split = tokens_dir, split
        sidecar = os.path.join(tokens_dir, f"{split}.json")
        if not os.path.isfile(sidecar):
            raise SystemExit(f"{sidecar}: split '{split}' was never encoded (or its encoding did not finish); "
                             f"run prepare.py with this tokenizer first")
        try:
            with open(sidecar) as f:
                self.meta = json.load(f)
        except json.JSONDecodeError as e:
            raise SystemExit(f"{sidecar}: corrupt sidecar ({e}); delete it and re-run prepare.py")
        m = self.meta
        need = ('tokenizer', 'tokenizer_hash', 'vocab_size', 'bos_id', 'n_tokens', 'n_docs', 'n_bytes', 'shards')
        missing = [k for k in need if k not in m] if isinstance(m, dict) else list(need)
        if missing or not all(isinstance(e, dict) and {'file', 'n_tokens'} <= set(e) for e in m['shards']):
            raise SystemExit(f"{sidecar}: not a complete sidecar (missing {missing or 'shard entries'}); "
                             f"delete {tokens_dir} and re-run prepare.py")
        if tokenizer_hash is not None and m['tokenizer_hash'] != tokenizer_hash:
            raise SystemExit(f"{sidecar}: shards were written by tokenizer {m['tokenizer']} "
                             f"(hash {m['tokenizer_hash'][:12]}), this run uses hash {tokenizer_hash[:12]}; "
                             f"re-run prepare.py with this run's tokenizer")
        if vocab_size is not None and m['vocab_size'] > vocab_size:
            raise SystemExit(f"{sidecar}: shards hold ids up to vocab {m['vocab_size']}, "
                             f"the model's vocabulary is {vocab_size}; use the tokenizer the shards were made with")
        self.dtype = dtype_for_vocab(m['vocab_size'])
        if dtype is not None and np.dtype(dtype) != self.dtype:
            raise SystemExit(f"{sidecar}: shards hold {self.dtype.name} ids, asked to read {np.dtype(dtype).name}; "
                             f"read them with the dtype the sidecar gives (vocab {m['vocab_size']})")
        self.paths = [os.path.join(tokens_dir, s['file']) for s in m['shards']]
        for path, s in zip(self.paths, m['shards']):
            header, shard_dtype = read_header(path)
            if shard_dtype != self.dtype or header[2] != s['n_tokens']:
                raise SystemExit(f"{path}: header ({shard_dtype.name}, {header[2]} tokens) disagrees "
                                 f"with {sidecar}; delete {tokens_dir} and re-run prepare.py")
            if header[6] != hash_to_int(m['tokenizer_hash']):
                raise SystemExit(f"{path}: shard was written by another tokenizer than {sidecar} names; "
                                 f"delete {tokens_dir} and re-run prepare.py")
            check_max_id(path, int(header[8]), s.get('max_id'), m['vocab_size'], vocab_size, sidecar)
            differs = header_mismatch(header, s, m)
            if differs:
                raise SystemExit(f"{path}: header disagrees with {sidecar} ({differs}); "
                                 f"{reencode_fix(m)}")
        self.n_tokens, self.n_docs, self.n_bytes = m['n_tokens'], m['n_docs'], m['n_bytes']
        self.bos_id, self.vocab_size = m['bos_id'], m['vocab_size']
        self.max_ids = [s['max_id'] for s in m['shards']]
        self.bytes_per_token = self.n_bytes / max(self.n_tokens, 1)  # of UTF-8 text, for byte budgets
        self.sidecar, self.noted = sidecar, False
        self.checked, self.noted_hash = set(), False  # shards hashed (once each, at first use)

    def verify_ids(self, chunk=1 << 26):
        """Scan every id against the recorded max_id: catches a data region altered after it was written, which
        the header check cannot. numpy scans ~19 GB/s of uint16 from the page cache, but a cold read of a 10 GB
        split costs minutes, and every run start (and each of a sweep's checks) would pay it: ids are checked when
        written (ShardWriter), and this scan is for when a shard is suspect."""
        for i, path in enumerate(self.paths):
            ids = self.unchecked_tokens(i)  # a scan: the sha256 check would hide which id
            for j in range(0, len(ids), chunk):
                part = ids[j:j + chunk]
                if len(part) and int(part.max()) > self.max_ids[i]:
                    at = j + int(part.argmax())
                    raise SystemExit(f"{path}: token {at} is id {int(part[at - j])}, above the largest id written "
                                     f"({self.max_ids[i]}); the shard is corrupt, delete {self.tokens_dir} "
                                     f"and re-run prepare.py")

    def __len__(self):
        return len(self.paths)

    def tokens(self, i):
        """The ids of shard i as a read-only memmap (open it per use, drop it after). The first
        call for a shard checks its ids against the sidecar's sha256 (check_ids): every reader of
        ids goes through here (PackedWindows, eval_set, documents, the BOS scan), so no token of a
        changed shard reaches a batch, and a shard is hashed once per reader, not per window."""
        if i not in self.checked:
            self.check_ids(i)
        return self.unchecked_tokens(i)

    def unchecked_tokens(self, i):
        """Shard i's ids as a read-only memmap, unchecked (tokens() checks them first)."""
        return np.memmap(self.paths[i], dtype=self.dtype, mode='r', offset=HEADER_BYTES)

    def check_ids(self, i):
        """Hash shard i's ids and compare with the sidecar's sha256: a changed shard is one line
        naming it and the fix. A sidecar from before the hashes gets this one (record_sha256)."""
        entry, path = self.meta['shards'][i], self.paths[i]
        got = ids_sha256(path)
        if entry.get('sha256') is None:
            self.record_sha256(i, got)
        elif got != entry['sha256']:
            raise SystemExit(changed_message(path, self.sidecar, self.meta, got, entry['sha256']))
        self.checked.add(i)

    def record_sha256(self, i, got):
        """Record shard i's sha256 in a sidecar written before they were: atomically, under the
        shard folder's lock (prepare.py's). Held by another writer, not writable, or rewritten since
        it was read: kept in memory only, with a note. The hash pins the shard from its first use
        on; an edit made before that cannot be seen."""
        entry = self.meta['shards'][i]
        if not self.noted_hash:
            print(f"note: {self.sidecar} records no sha256 of its shards (written before they "
                  f"were): each is hashed on first use and recorded (an edit made before then "
                  f"cannot be detected)")
            self.noted_hash = True
        held = contextlib.ExitStack()
        try:
            held.enter_context(locks.hold(self.tokens_dir, 'shard folder'))
        except SystemExit:  # another writer holds it, or the folder is read-only
            why = 'its folder is held by another writer, or not writable; a later run records it'
        else:
            with held:
                why = self.write_sha256(i, got)
        if why:
            print(f"note: the sha256 of {entry['file']} is not recorded in {self.sidecar} ({why})")
        entry['sha256'] = got

    def write_sha256(self, i, got):
        """record_sha256's read-modify-write, the lock held: None when written, else why not."""
        try:
            with open(self.sidecar, encoding='utf-8') as f:
                current = json.load(f)
        except (OSError, ValueError) as e:
            return f"unreadable now: {e}"
        if without_sha256(current) != without_sha256(self.meta):
            return 'rewritten since this run read it'
        recorded = current['shards'][i].get('sha256')
        if recorded not in (None, got):  # another reader recorded it before the shard changed
            raise SystemExit(changed_message(self.paths[i], self.sidecar, self.meta, got, recorded))
        current['shards'][i]['sha256'] = got
        try:
            write_json_atomic(self.sidecar, current)
        except SystemExit as e:  # a full or read-only disk: the hash is kept for this run
            return str(e)
        return None

    def doc_starts(self, i):
        """Start offsets (int64) of the documents in shard i: its starts file, or for a sidecar from before they
        were stored, the BOS positions (scanned, with a note once)."""
        entry = self.meta['shards'][i]
        if entry.get('starts') is not None:
            return read_starts(self.tokens_dir, entry, self.sidecar)
        if not self.noted:
            print(f"note: {self.sidecar} records no document starts (encoded before they were stored): scanning the "
                  f"shards for BOS instead; re-run prepare.py with this tokenizer to record them (the shards are kept)")
            self.noted = True
        return bos_positions(self.tokens(i), self.bos_id)

    def doc_index(self):
        """(shard, start, length) of every document, in shard order, as int64 arrays."""
        starts = [self.doc_starts(i) for i in range(len(self))]
        sizes = [s['n_tokens'] for s in self.meta['shards']]
        shard = np.concatenate([np.full(len(s), i, dtype=np.int64) for i, s in enumerate(starts)] or [[]])
        length = np.concatenate([np.diff(np.append(s, n)) for s, n in zip(starts, sizes)] or [[]])
        return shard.astype(np.int64), np.concatenate(starts or [[]]).astype(np.int64), length.astype(np.int64)

    def documents(self):
        """Yield every document's ids (BOS first), in shard order: for evaluation and tests, not the hot path."""
        for i in range(len(self)):
            ids, starts = self.tokens(i), self.doc_starts(i)
            ends = np.append(starts[1:], len(ids))
            for a, b in zip(starts, ends):
                yield np.array(ids[a:b])


# ---------------------------------------------------------------- how train.py reads a split
class PackedWindows:
    """The train split as an endless sequence of windows; window j is a pure function of (seed, j) (see the top)."""

    def __init__(self, shards, block_size, seed):
        self.shards, self.block_size, self.seed = shards, block_size, seed
        self.doc_shard, self.doc_start, self.doc_len = shards.doc_index()
        self.windows_per_epoch = (int(self.doc_len.sum()) - 1) // block_size  # the tail of an epoch is left out
        if self.windows_per_epoch < 1:
            raise SystemExit(f"{shards.tokens_dir}: the train split holds {self.doc_len.sum()} tokens, fewer than "
                             f"one window of block_size={block_size}; prepare more text, or lower "
                             f"block_size or context_bytes (a window of "
                             f"{int(self.doc_len.sum()) - 1:,} tokens at most)")
        self._epoch = None

    def doc_order(self, epoch):
        """Document indices in the order epoch `epoch` reads them: seeded, the same for every tokenizer."""
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.doc_len))

    def windows(self, first, n):
        """Windows first .. first + n - 1 as int64 (n, block_size + 1); memmaps opened here and dropped after."""
        T, out, maps = self.block_size, np.empty((n, self.block_size + 1), dtype=np.int64), {}
        for row, j in enumerate(range(first, first + n)):
            epoch, k = divmod(j, self.windows_per_epoch)
            if epoch != self._epoch:
                self._epoch, self._order = epoch, self.doc_order(epoch)
                self._ends = np.cumsum(self.doc_len[self._order])  # stream offset where each document ends
            pos, filled = k * T, 0
            i = int(np.searchsorted(self._ends, pos, side='right'))
            while filled < T + 1:
                d = self._order[i]
                offset = pos - (self._ends[i] - self.doc_len[d])
                take = int(min(T + 1 - filled, self.doc_len[d] - offset))
                shard = int(self.doc_shard[d])
                if shard not in maps:
                    maps[shard] = self.shards.tokens(shard)
                a = int(self.doc_start[d] + offset)
                out[row, filled:filled + take] = maps[shard][a:a + take]
                filled, pos, i = filled + take, pos + take, i + 1
        return out


def eval_set(shards, tok, n_docs, block_size):
    """The fixed validation set: n_docs whole documents spread evenly over the split, cut into windows (ids, skip) of
    up to block_size + 1 tokens whose targets after the first `skip` are scored: the first window from BOS, each next
    one scoring the next block_size tokens, the last reaching back for a full context (as eval_bpb.py with overlap 0),
    so every token is scored once. Longest first; with the number of documents and their UTF-8 bytes."""
    if shards.n_docs == 0:
        raise SystemExit(f"{shards.tokens_dir}/val.json: the val split has no documents; re-run prepare.py")
    n = shards.n_docs if n_docs <= 0 else min(n_docs, shards.n_docs)
    pick = sorted(set(np.linspace(0, shards.n_docs - 1, n).round().astype(int).tolist()))
    doc_shard, doc_start, doc_len = shards.doc_index()  # read straight from the picked documents, none between
    windows, n_bytes, maps = [], 0, {}
    for i in pick:
        if i >= len(doc_start):  # a BOS-scanned sidecar with fewer BOS than documents: as the old reader did
            break
        shard, a = int(doc_shard[i]), int(doc_start[i])
        if shard not in maps:
            maps[shard] = shards.tokens(shard)
        ids = np.array(maps[shard][a:a + int(doc_len[i])], dtype=np.int64)
        n_bytes += len(tok.decode(ids[1:].tolist()).encode('utf-8'))
        for first in range(0, len(ids) - 1, block_size):
            end = min(len(ids) - 1, first + block_size)
            start = max(0, end - block_size)
            windows.append((ids[start:end + 1], first - start))
    windows.sort(key=lambda w: -len(w[0]))
    return windows, len(pick), n_bytes
