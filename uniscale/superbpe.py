"""
SuperBPE (Liu et al., COLM 2025), trained as the authors' code does, exported as a stock Hugging Face tokenizer.

    python btm.py --method=superbpe --n_base=12288 --vocab_size=16384   # -> out/tokenizers/superbpe-t12k-16k/

Stage 1 is the project's byte-level BPE (tokenizer.train_bpe, shared pre-tokens) up to the transition point
t = n_base ids. Stage 2 cuts each document by COARSE_PATTERN alone (a Split 'isolated': the matches and the gaps
between them are the chunks, so a chunk spans spaces), takes the DISTINCT chunks with their counts, starts each
from the t merges replayed over the whole chunk (as Hugging Face's BPE model encodes one word: `replay`), and goes
on with BPE over the chunks (btm.learn_merges_detailed, weights = counts; the shared counting, tie and overlap
rules are docs/DESIGN.md's "Merge rules") to vocab_size, never making a token that holds ': ', more than
MAX_WORDS words (nonempty pieces between spaces) or the bytes of an existing token (`rule`). Merge k of stage 2
makes id n_base + k, so the tokenizer is one flat merge list over the bytes: its tokenizer.json is stock
(pre-tokenizer Sequence[Split(COARSE_PATTERN, isolated), ByteLevel]), loaded without remote code.

Files in out/tokenizers/{name}/: tokenizer.json, stage2.json (n_base, the stage-2 merges and their counts),
meta.json (kind 'superbpe', last). btm.py trains it (it hands in its merge engine and tokenizer.train_bpe: this
module imports no script); uniscale.tokenization.load_tokenizer loads it as any tokenizer.json.
"""
import collections
import json
import os
import shutil
import time

import numpy as np
import tokenizers
from tokenizers import Regex, pre_tokenizers

from uniscale.atomic import write_atomic
from uniscale.btm_encoding import Chain
from uniscale.tokenization import BOS_ID, EOS_ID, MIN_VOCAB, PRETOKENIZE_PATTERN, content_hash, load_tokenizer

# the authors' stage-2 pre-tokenization (PythonNut/superbpe scripts/extend_tokenizer.sh), verbatim
COARSE_PATTERN = r"\p{N}{1,3}| ?[^\s\p{L}\p{N}]{2,}[\r\n/]*| +(?!\S)"
MAX_WORDS = 4          # the released limit: a token holds at most this many words (pieces between spaces)
NO_TOKEN_HOLDS = b': '  # the released special case: no token holds a colon followed by a space
N_BYTE_IDS = MIN_VOCAB['bpe']  # the specials and the 256 byte-level characters: the ids before any merge


def coarse_pre_tokenizer():
    """Split(COARSE_PATTERN, 'isolated') run by `tokenizers` (Oniguruma): the very splitter of the export, so that
    training and the stock tokenizer cut every text alike (Python's `regex` knows newer Unicode than Oniguruma)."""
    return pre_tokenizers.Split(Regex(COARSE_PATTERN), behavior='isolated')


def chunk_counts(texts):
    """The distinct coarse chunks of texts with their counts (insertion order: first seen first)."""
    split, counts = coarse_pre_tokenizer(), collections.Counter()
    for text in texts:
        counts.update(s for s, _ in split.pre_tokenize_str(text))
    return counts


def rule(token_bytes):
    """(allow, on_merge) for the merge engine: a stage-2 token never holds NO_TOKEN_HOLDS, never more than MAX_WORDS
    words, never the bytes another id spells (the authors' trainer reuses that id instead: see DESIGN)."""
    spelled = set(token_bytes)

    def allow(left, right):
        token = left + right
        return (NO_TOKEN_HOLDS not in token and token not in spelled
                and sum(1 for w in token.split(b' ') if w) <= MAX_WORDS)
    return allow, spelled.add


def stage1(prim_json):
    """A stage-1 tokenizer.json (dict) -> (vocab, merges as strings). Refuses one whose merge k does not make id
    N_BYTE_IDS + k (HF's trainer reuses the id of a duplicate string; then no flat id scheme is exact)."""
    model = prim_json['model']
    vocab, merges = model['vocab'], [tuple(m.split(' ') if isinstance(m, str) else m) for m in model['merges']]
    made = [vocab.get(a + b) for a, b in merges]
    if len(vocab) != N_BYTE_IDS + len(merges) or made != list(range(N_BYTE_IDS, len(vocab))):
        raise SystemExit(f"superbpe: the stage-1 BPE's {len(merges):,} merges do not make the ids "
                         f"{N_BYTE_IDS}..{len(vocab) - 1} in order (a duplicate token?); retrain it with another "
                         f"n_base or min_frequency")
    return vocab, merges


def word_tokenizer(prim_json):
    """The stage-1 BPE with each whole input as one word (ByteLevel without its regex): `replay`'s engine."""
    tok = tokenizers.Tokenizer.from_str(json.dumps(prim_json))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    return tok


def replay(prim_json, chunks):
    """Each chunk as the stage-1 BPE's ids, its merges replayed over the whole chunk: (flat int32 ids, lengths).
    Hugging Face's BPE applies the lowest-rank merge present, leftmost first, which is the merges applied in order
    each left to right (a merge's pairs only ever involve older ids); tests check it against that definition."""
    tok = word_tokenizer(prim_json)
    ids = [e.ids for e in tok.encode_batch_fast(list(chunks), add_special_tokens=False)]
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    flat = np.fromiter((i for d in ids for i in d), dtype=np.int32, count=int(lengths.sum()))
    return flat, lengths


def stage2_json(prim_json, stage2_merges):
    """The stock tokenizer.json: stage-1's, with the stage-2 merges appended (merge k makes id n_base + k) and
    the coarse pre-tokenizer in front of ByteLevel."""
    out = json.loads(json.dumps(prim_json))
    vocab, merges = out['model']['vocab'], out['model']['merges']
    spell = sorted(vocab, key=vocab.get)  # id -> its byte-level string
    for a, b in stage2_merges:
        vocab[spell[a] + spell[b]] = len(spell)
        merges.append([spell[a], spell[b]])
        spell.append(spell[a] + spell[b])
    out['pre_tokenizer'] = {'type': 'Sequence', 'pretokenizers': [
        {'type': 'Split', 'pattern': {'Regex': COARSE_PATTERN}, 'behavior': 'Isolated', 'invert': False},
        {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': False}]}
    return json.dumps(out, ensure_ascii=False, indent=2)


def learn_stage2(prim_json, prim, texts, vocab_size, min_frequency, learn, progress=False):
    """Stage 2 on texts over the stage-1 tokenizer (its tokenizer.json as a dict, and loaded): (merges, counts,
    stats). learn: btm.learn_merges_detailed."""
    stage1(prim_json)
    counts = chunk_counts(texts)
    flat, lengths = replay(prim_json, counts)
    n_base = prim.vocab_size
    weights = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
    tb = [prim.token_bytes(i) for i in range(n_base)]
    allow, on_merge = rule(tb)
    chain = Chain(flat, n_base, vocab_size, lengths, weights=weights)
    del flat
    res = learn(chain, n_base, vocab_size - n_base, min_frequency, token_bytes=tb, allow=allow,
                on_merge=on_merge, progress=progress, segmentation=False, weights=weights)
    stats = {'n_chunks': len(counts), 'n_chunk_occurrences': int(weights.sum()),
             'n_tokens_stage1': int(lengths.sum()), 'n_tokens_merged': res['n_tokens']}
    return res['merges'], res['counts'], stats


def train_into(tmp, text_again, n_base, vocab_size, min_frequency, name, corpus, settings, trained_on, sample,
               learn, train_bpe, progress=False):
    """Train into the folder tmp (btm.train moves it into place): stage 1 in tmp/stage1 (removed at the end),
    then stage 2, then tokenizer.json, stage2.json and meta.json (last)."""
    t0 = time.time()
    prim_settings = {'n_base': n_base, 'min_frequency': min_frequency, 'sample': sample}
    prim = train_bpe(text_again(), n_base, os.path.join(tmp, 'stage1'), min_frequency, f"{name}-stage1", corpus,
                     trained_on=trained_on, settings=prim_settings)
    t1 = time.time()
    with open(os.path.join(prim.path, 'tokenizer.json'), encoding='utf-8') as f:
        prim_json = json.load(f)
    merges, counts, stats = (([], [], {}) if vocab_size == n_base else
                             learn_stage2(prim_json, prim, text_again(), vocab_size, min_frequency, learn, progress))
    t2 = time.time()
    if len(merges) < vocab_size - n_base:  # as train_bpe: a superbpe-t12k-16k must have 16,384 ids
        raise SystemExit(f"{tmp}: SuperBPE stopped at {n_base + len(merges)} of vocab_size={vocab_size} ids (no "
                         f"pair left seen >= {min_frequency} times that may merge); train on more text or lower "
                         f"vocab_size")
    write_atomic(os.path.join(tmp, 'tokenizer.json'), stage2_json(prim_json, merges))
    write_atomic(os.path.join(tmp, 'stage2.json'),
                 json.dumps({'n_base': n_base, 'merges': merges, 'counts': counts}))
    files = ['stage2.json', 'tokenizer.json']
    meta = {'kind': 'superbpe', 'name': name, 'vocab_size': vocab_size, 'bos_id': BOS_ID, 'eos_id': EOS_ID,
            'corpus': corpus, 'files': files, 'hash': content_hash(tmp, files), 'n_base': n_base,
            'transition': {'t': n_base, 'n_merges_stage1': n_base - N_BYTE_IDS, 'n_merges_stage2': len(merges),
                           'stage1_hash': prim.hash, 'stage1_pretokenize_pattern': PRETOKENIZE_PATTERN},
            'coarse_pattern': COARSE_PATTERN, 'max_words': MAX_WORDS, 'no_token_holds': NO_TOKEN_HOLDS.decode(),
            'trained_on': trained_on, 'settings': settings or {}, 'sample': sample,
            'versions': {'tokenizers': tokenizers.__version__},
            'train': {'target_vocab_size': vocab_size, 'min_frequency': min_frequency, **stats,
                      'seconds': {'stage1': round(t1 - t0, 2), 'stage2': round(t2 - t1, 2),
                                  'total': round(time.time() - t0, 2)}}}
    shutil.rmtree(os.path.join(tmp, 'stage1'))
    write_atomic(os.path.join(tmp, 'meta.json'), json.dumps(meta, indent=2))
    return load_tokenizer(tmp)  # the stock file must load and hold exactly vocab_size ids
