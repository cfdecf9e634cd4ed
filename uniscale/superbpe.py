"""
SuperBPE (Liu et al., COLM 2025), trained as the authors' code does, exported as a stock Hugging
Face tokenizer.

    python btm.py --method=superbpe --n_base=12288 --vocab_size=16384   # -> superbpe-t12k-16k/

Stage 1 is the project's byte-level BPE (tokenizer.train_bpe, shared pre-tokens) up to the
transition point t = n_base ids. Stage 2 cuts each document by COARSE_PATTERN alone (a Split
'isolated': the matches and the gaps between them are the chunks, so a chunk spans spaces), takes
the DISTINCT chunks with their counts, starts each from the t merges replayed over the whole chunk
(as Hugging Face's BPE model encodes one word: `replay`), and goes on with BPE over the chunks
(btm.learn_merges_detailed, weights = counts; the counting, tie and overlap rules are
docs/DESIGN.md's "Merge rules") to vocab_size, never making a token that holds ': ', more than
MAX_WORDS words (nonempty pieces between spaces) or the bytes of an existing token (`rule`).
Merge k of stage 2 makes id n_base + k, so the tokenizer is one flat merge list over the bytes:
its tokenizer.json is stock (pre-tokenizer Sequence[Split(COARSE_PATTERN, isolated), ByteLevel]).

Files in out/tokenizers/{name}/: tokenizer.json, stage2.json (n_base, the stage-2 merges and their
counts), meta.json (kind 'superbpe', last). btm.py trains it (it hands in its merge engine and
tokenizer.train_bpe: this module imports no script); uniscale.tokenization.load_tokenizer loads it
as any tokenizer.json.
"""
import collections
import itertools
import json
import os
import re
import shutil
import time

import numpy as np
import regex
import tokenizers
from tokenizers import Regex, pre_tokenizers

from uniscale import regex_gap
from uniscale.atomic import write_atomic
from uniscale.btm_encoding import Chain
from uniscale.merge_loop import release_freed_memory
from uniscale.tokenization import (BOS_ID, EOS_ID, MIN_VOCAB, PRETOKENIZE_PATTERN, content_hash,
                                   load_tokenizer, trainer_word_counts_by)

# the authors' stage-2 pre-tokenization (PythonNut/superbpe scripts/extend_tokenizer.sh), verbatim
COARSE_PATTERN = r"\p{N}{1,3}| ?[^\s\p{L}\p{N}]{2,}[\r\n/]*| +(?!\S)"
MAX_WORDS = 4          # the released limit: words (pieces between spaces) a token holds at most
NO_TOKEN_HOLDS = b': '  # the released special case: no token holds a colon and a space
N_BYTE_IDS = MIN_VOCAB['bpe']  # the specials and the 256 byte-level characters: ids before merges
ENCODE_BATCH = 8192  # pieces a `tokenizers` call encodes at a time in the stage-1 replay
PIECE_BATCH = 2048  # chunks whose pieces are numbered at a time in the replay
_COARSE_RE = regex.compile(f'({COARSE_PATTERN})')  # a group: split keeps the matches


def coarse_pre_tokenizer():
    """Split(COARSE_PATTERN, 'isolated') run by `tokenizers` (Oniguruma): the export's own splitter,
    so training and the stock tokenizer cut every text alike (Python's `regex` knows newer
    Unicode than Oniguruma)."""
    return pre_tokenizers.Split(Regex(COARSE_PATTERN), behavior='isolated')


def chunk_counts(texts, batch_docs=1000):
    """The distinct coarse chunks of texts with their counts (first seen first). A text holding no
    code point where Python's `regex` and Oniguruma class apart (uniscale/regex_gap.py: measured
    for every class of the shared pattern, so of this one too) is cut by Python's `regex` (faster
    than a `tokenizers` call per text; both engines backtrack alike, so they cut alike: tests), any
    other text by coarse_pre_tokenizer (Oniguruma, as the export)."""
    split, counts, it = coarse_pre_tokenizer(), collections.Counter(), iter(texts)
    fast_split = _COARSE_RE.split
    for batch in iter(lambda: list(itertools.islice(it, batch_docs)), []):
        odd = regex_gap.holding(batch)
        for i, text in enumerate(batch):
            if i in odd:
                counts.update(s for s, _ in split.pre_tokenize_str(text))
            else:
                counts.update(filter(None, fast_split(text)))  # the gaps and the matches, in order
    return counts


def trainer_word_counts(texts, trainer_words):
    """The words train_bpe's trainer sees in texts with their counts ({word: count}, {n_docs,
    n_bytes}; tokenization.trainer_word_counts_by, one key). btm.py hands in
    tokenizer.trainer_words (long pre-tokens cut, code points the two engines class apart)."""
    counts, stats = trainer_word_counts_by(((t, 0) for t in texts), trainer_words)
    return counts.get(0, collections.Counter()), stats


def stage1_one_pass(texts, n_base, out_dir, min_frequency, name, corpus, trained_on, settings,
                    learn, one_pass):
    """train_bpe's stage-1 tokenizer from trainer_word_counts merged by the shared engine
    (bpe_from_word_counts: train_bpe's tokenizer.json byte for byte, without HF's counting pass,
    ~2.8 of its ~4 CPU-s on 10 MB), or None (train_bpe then). one_pass: (bpe_from_word_counts,
    trainer_words) from tokenizer.py."""
    bpe_from_word_counts, trainer_words = one_pass
    counts, stats = trainer_word_counts(texts, trainer_words)
    merge = lambda docs, nb, nm, mf, w: learn(docs, nb, nm, mf, weights=w,
                                              segmentation=False)['merges']
    return bpe_from_word_counts(counts, n_base, out_dir, merge, min_frequency, name, corpus,
                                trained_on, settings, stats)


def rule(token_bytes):
    """(allow, on_merge) for the merge engine: a stage-2 token never holds NO_TOKEN_HOLDS, never
    more than MAX_WORDS words, never the bytes another id spells (the authors' trainer reuses that
    id instead: see DESIGN)."""
    spelled = set(token_bytes)

    def allow(left, right):
        token = left + right
        return (NO_TOKEN_HOLDS not in token and token not in spelled
                and sum(1 for w in token.split(b' ') if w) <= MAX_WORDS)
    return allow, spelled.add


def stage1(prim_json):
    """A stage-1 tokenizer.json (dict) -> (vocab, merges as strings). Refuses one whose merge k does
    not make id N_BYTE_IDS + k (HF's trainer reuses the id of a duplicate string; then no flat id
    scheme is exact)."""
    model = prim_json['model']
    vocab = model['vocab']
    merges = [tuple(m.split(' ') if isinstance(m, str) else m) for m in model['merges']]
    made = [vocab.get(a + b) for a, b in merges]
    if len(vocab) != N_BYTE_IDS + len(merges) or made != list(range(N_BYTE_IDS, len(vocab))):
        raise SystemExit(f"superbpe: the stage-1 BPE's {len(merges):,} merges do not make the "
                         f"ids {N_BYTE_IDS}..{len(vocab) - 1} in order (a duplicate token?); "
                         f"retrain it with another n_base or min_frequency")
    return vocab, merges


def word_tokenizer(prim_json):
    """The stage-1 BPE with each whole input as one word (ByteLevel without its regex)."""
    tok = tokenizers.Tokenizer.from_str(json.dumps(prim_json))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    return tok


def replay(prim_json, chunks, token_bytes):
    """Each chunk as the stage-1 BPE's ids, its merges replayed over the whole chunk: (flat int32
    ids, lengths). Hugging Face's BPE on one word applies the lowest-rank merge present, leftmost
    first: the merges in order, each left to right (a merge's pairs only involve older ids); tests
    check it against that definition. Fast and exact: a chunk is cut before every space; where no
    merge (a, b) has a ending in the byte before a cut (b beginning with the space), no merge can
    ever cross the cut, so the chunk's ids are its pieces' ids end to end, and each DISTINCT piece
    is encoded once. A chunk with a risky cut (`risky_cut`) is encoded whole."""
    chunks = chunks if isinstance(chunks, list) else list(chunks)
    risky = risky_cut(prim_json, token_bytes)
    whole = (np.zeros(len(chunks), dtype=bool) if risky is None else np.fromiter(
        map(bool, map(risky.search, map(str.encode, chunks))), dtype=bool, count=len(chunks)))
    # the pieces of the other chunks by a join and a split a batch of chunks at a time, numbered
    # by dict.setdefault with a running count (C loops, no Python call a piece; a batch, not all:
    # 2M small strings would be ~120 MB): a piece is a chunk's first (encoded as it is) or a
    # later one (encoded after its space)
    cut = [c for c, w in zip(chunks, whole.tolist()) if not w]
    n_seq = np.ones(len(chunks), dtype=np.int64)
    n_seq[~whole] = np.fromiter(map(str.count, cut, itertools.repeat(' ')), dtype=np.int64,
                                count=len(cut)) + 1
    n_entries = int(n_seq.sum())
    kind = np.int32 if 2 * (n_entries + len(chunks)) < 2**31 else np.int64  # int32: half the RAM
    index, sparse = {}, itertools.count()  # piece -> a number (count() runs on for known ones)
    numbers = [np.fromiter(map(index.setdefault, ' '.join(cut[i:i + PIECE_BATCH]).split(' '),
                               sparse), dtype=kind) for i in range(0, len(cut), PIECE_BATCH)]
    del cut
    key = np.empty(n_entries, dtype=kind)
    at_chunk = np.cumsum(n_seq) - n_seq
    in_cut = np.ones(len(key), dtype=bool)
    in_cut[at_chunk[whole]] = False
    key[in_cut] = np.concatenate(numbers) if numbers else key[:0]
    del numbers
    key[at_chunk[whole]] = [index.setdefault(c, next(sparse)) for c, w in
                            zip(chunks, whole.tolist()) if w]
    dense = np.zeros(next(sparse), dtype=kind)  # the numbers made dense: a piece's row in index
    dense[np.fromiter(index.values(), dtype=np.int64, count=len(index))] = np.arange(
        len(index), dtype=kind)
    key = dense[key]
    del dense
    key *= 2  # an entry: the piece's row * 2 + (a later piece)
    np.add(key, in_cut, out=key, casting='unsafe')
    key[at_chunk[~whole]] -= 1  # each cut chunk's first piece
    del in_cut
    present = np.zeros(2 * len(index), dtype=bool)  # the keys are dense: no sort to number them
    present[key] = True
    entries = np.flatnonzero(present)
    seq = (np.cumsum(present, dtype=kind) - 1)[key]  # each entry's row in the table
    del key, present
    distinct = list(index)
    table = [(' ' if e & 1 else '') + distinct[e >> 1] for e in entries.tolist()]
    del distinct, index
    flat_table, n_ids = encode_words(prim_json, table, token_bytes)
    del table
    return gather(flat_table, n_ids, seq, n_seq)


SEPARATOR = '\uffff'  # a noncharacter: words joined by it are encoded as a few long strings


def encode_words(prim_json, words, token_bytes, per_string=1000):
    """The stage-1 BPE's ids of each word encoded as one word: (ids end to end (int32), each word's
    number of ids). The words go joined by SEPARATOR (a Split removes it, ByteLevel maps the bytes):
    one Encoding per per_string words, not one each; each word must end where a token ends (else,
    or if a word holds the separator, one Encoding each)."""
    n_bytes = np.fromiter(map(len, map(str.encode, words)), dtype=np.int64, count=len(words))
    full = [w for w, n in zip(words, n_bytes.tolist()) if n]
    if full and SEPARATOR not in ''.join(full):
        tok = word_tokenizer(prim_json)
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(SEPARATOR), behavior='removed'),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        joined = [SEPARATOR.join(full[i:i + per_string]) for i in range(0, len(full), per_string)]
        ids = np.fromiter(itertools.chain.from_iterable(
            e.ids for i in range(0, len(joined), 64)
            for e in tok.encode_batch_fast(joined[i:i + 64], add_special_tokens=False)),
            dtype=np.int32)
        token_len = np.fromiter(map(len, token_bytes), dtype=np.int64, count=len(token_bytes))
        token_end = np.cumsum(token_len[ids])
        word_end = np.cumsum(n_bytes[n_bytes > 0])
        at = np.searchsorted(token_end, word_end)
        if len(ids) and at[-1] == len(ids) - 1 and (token_end[at] == word_end).all():
            n_ids = np.zeros(len(words), dtype=np.int64)
            n_ids[n_bytes > 0] = np.diff(at, prepend=-1)
            return ids, n_ids
    tok, ids = word_tokenizer(prim_json), []
    for i in range(0, len(words), ENCODE_BATCH):  # a batch's Encodings hold ~1 kB each: drop them
        batch = tok.encode_batch_fast(words[i:i + ENCODE_BATCH], add_special_tokens=False)
        ids += [e.ids for e in batch]
    n_ids = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    return np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int32,
                       count=int(n_ids.sum())), n_ids


def gather(flat_table, n_ids, seq, n_seq):
    """The ids of the table entries seq end to end (flat_table, n_ids: the entries' ids), cut into
    units of n_seq entries: (flat int32 ids, lengths)."""
    uses = np.bincount(seq, minlength=len(n_ids))  # entries of each table row
    kind = np.int32 if int((n_ids * uses).sum()) + len(flat_table) < 2**31 else np.int64
    start = (np.cumsum(n_ids, dtype=kind) - n_ids).astype(kind)
    n = n_ids.astype(kind)[seq]
    ends = np.cumsum(n, dtype=kind)
    off = start[seq]  # each entry's ids: its start, minus where it lands (in place: less RAM)
    off -= ends
    off += n
    del start
    at = np.repeat(off, n)
    del off
    at += np.arange(len(at), dtype=kind)
    unit_end = ends[np.cumsum(n_seq, dtype=np.int64) - 1] if len(n_seq) else ends[:0]
    lengths = np.diff(unit_end, prepend=0).astype(np.int64)
    return flat_table[at], lengths


def risky_cut(prim_json, token_bytes):
    """A bytes regex finding a cut (a space, with the byte before it) that a stage-1 merge (a, b)
    could cross: a ends in that byte and b begins with the space. None: no b begins with a space."""
    vocab, merges = stage1(prim_json)
    last = {token_bytes[vocab[a]][-1] for a, b in merges if token_bytes[vocab[b]][:1] == b' '}
    if not last:
        return None
    return re.compile(b'[' + b''.join(re.escape(bytes([x])) for x in sorted(last)) + b'] ')


def stage2_json(prim_json, stage2_merges):
    """The stock tokenizer.json: stage-1's, with the stage-2 merges appended (merge k makes id
    n_base + k) and the coarse pre-tokenizer in front of ByteLevel."""
    out = json.loads(json.dumps(prim_json))
    vocab, merges = out['model']['vocab'], out['model']['merges']
    spell = sorted(vocab, key=vocab.get)  # id -> its byte-level string
    as_text = bool(merges) and isinstance(merges[0], str)  # older files spell a merge "a b"
    for a, b in stage2_merges:
        vocab[spell[a] + spell[b]] = len(spell)
        merges.append(f"{spell[a]} {spell[b]}" if as_text else [spell[a], spell[b]])
        spell.append(spell[a] + spell[b])
    out['pre_tokenizer'] = {'type': 'Sequence', 'pretokenizers': [
        {'type': 'Split', 'pattern': {'Regex': COARSE_PATTERN}, 'behavior': 'Isolated',
         'invert': False},
        {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True,
         'use_regex': False}]}
    # pretty-printed by `tokenizers` (Python's json indents in Python: ~0.5 CPU-s for 16k ids)
    return tokenizers.Tokenizer.from_str(json.dumps(out)).to_str(pretty=True)


def learn_stage2(prim_json, prim, texts, vocab_size, min_frequency, learn, progress=False):
    """Stage 2 on texts over the stage-1 tokenizer (its tokenizer.json as a dict, and loaded):
    (merges, counts, stats). learn: btm.learn_merges_detailed."""
    stage1(prim_json)
    counts = chunk_counts(texts)
    chunks = list(counts)
    weights = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
    del counts  # the chunks' text is not needed once replayed: freed before the merges
    n_base = prim.vocab_size
    tb = [prim.token_bytes(i) for i in range(n_base)]
    flat, lengths = replay(prim_json, chunks, tb)
    n_chunks = len(chunks)
    del chunks
    release_freed_memory()
    allow, on_merge = rule(tb)
    chain = Chain(flat, n_base, vocab_size, lengths, weights=weights)
    del flat
    res = learn(chain, n_base, vocab_size - n_base, min_frequency, token_bytes=tb, allow=allow,
                on_merge=on_merge, progress=progress, segmentation=False, weights=weights)
    stats = {'n_chunks': n_chunks, 'n_chunk_occurrences': int(weights.sum()),
             'n_tokens_stage1': int(lengths.sum()), 'n_tokens_merged': res['n_tokens']}
    return res['merges'], res['counts'], stats


def train_into(tmp, text_again, n_base, vocab_size, min_frequency, name, corpus, settings,
               trained_on, sample, learn, train_bpe, progress=False, one_pass=None):
    """Train into the folder tmp (btm.train moves it into place): stage 1 in tmp/stage1 (removed
    at the end; from one pass with one_pass's hooks, see stage1_one_pass, else train_bpe), then
    stage 2, then tokenizer.json, stage2.json and meta.json (last)."""
    t0 = time.time()
    prim_settings = {'n_base': n_base, 'min_frequency': min_frequency, 'sample': sample}
    stage1_dir, stage1_name = os.path.join(tmp, 'stage1'), f"{name}-stage1"
    prim = one_pass and stage1_one_pass(text_again(), n_base, stage1_dir, min_frequency,
                                        stage1_name, corpus, trained_on, prim_settings, learn,
                                        one_pass)
    if prim is None:
        prim = train_bpe(text_again(), n_base, stage1_dir, min_frequency, stage1_name, corpus,
                         trained_on=trained_on, settings=prim_settings)
    t1 = time.time()
    release_freed_memory()  # stage 1 freed memory (HF's trainer ~100 MB) glibc would keep
    with open(os.path.join(prim.path, 'tokenizer.json'), encoding='utf-8') as f:
        prim_json = json.load(f)
    merges, counts, stats = [], [], {}
    if vocab_size > n_base:
        merges, counts, stats = learn_stage2(prim_json, prim, text_again(), vocab_size,
                                             min_frequency, learn, progress)
    t2 = time.time()
    if len(merges) < vocab_size - n_base:  # as train_bpe: a superbpe-t12k-16k has 16,384 ids
        raise SystemExit(f"{tmp.rsplit('.', 2)[0]}: SuperBPE stopped at {n_base + len(merges)} of "
                         f"vocab_size={vocab_size} ids (no pair left seen >= {min_frequency} times "
                         f"that may merge); train on more text or lower vocab_size")
    write_atomic(os.path.join(tmp, 'tokenizer.json'), stage2_json(prim_json, merges))
    write_atomic(os.path.join(tmp, 'stage2.json'),
                 json.dumps({'n_base': n_base, 'merges': merges, 'counts': counts}))
    files = ['stage2.json', 'tokenizer.json']
    transition = {'t': n_base, 'n_merges_stage1': n_base - N_BYTE_IDS,
                  'n_merges_stage2': len(merges), 'stage1_hash': prim.hash,
                  'stage1_pretokenize_pattern': PRETOKENIZE_PATTERN}
    seconds = {'stage1': round(t1 - t0, 2), 'stage2': round(t2 - t1, 2),
               'total': round(time.time() - t0, 2)}
    meta = {'kind': 'superbpe', 'name': name, 'vocab_size': vocab_size, 'bos_id': BOS_ID,
            'eos_id': EOS_ID, 'corpus': corpus, 'files': files, 'hash': content_hash(tmp, files),
            'n_base': n_base, 'transition': transition, 'coarse_pattern': COARSE_PATTERN,
            'max_words': MAX_WORDS, 'no_token_holds': NO_TOKEN_HOLDS.decode(),
            'trained_on': trained_on, 'settings': settings or {}, 'sample': sample,
            'versions': {'tokenizers': tokenizers.__version__},
            'train': {'target_vocab_size': vocab_size, 'min_frequency': min_frequency, **stats,
                      'seconds': seconds}}
    shutil.rmtree(os.path.join(tmp, 'stage1'))
    write_atomic(os.path.join(tmp, 'meta.json'), json.dumps(meta, indent=2))
    return load_tokenizer(tmp)  # the stock file loads and holds exactly vocab_size ids
