"""
Tokenizers: train byte-level BPE (Hugging Face `tokenizers`) and UnigramLM (SentencePiece) under one shared
pre-tokenization, load any tokenizer (bpe, unigram, btm, tiktoken gpt2/cl100k_base/o200k_base) behind one
interface, and measure them intrinsically. Parity-aware BPE (kind 'parity', uniscale/parity_bpe.py) is BPE
whose merges serve the language worst compressed on a parallel dev set (the parity_* settings).

    python tokenizer.py config/tokenizers_demo.py                # train every tokenizer listed (finished ones are skipped)
    python tokenizer.py config/tokenizers_fineweb2.py --algorithms=unigram --vocab_sizes=[80000]
    python tokenizer.py eval config/tokenizers_demo.py           # metrics.json, PNG plots and LaTeX tables

Train writes out/tokenizers/{name}/: tokenizer.json (+ spm.model for unigram) and meta.json, written last, so its
presence means "finished". meta.json's `trained_on` ({corpus, split, sha256}) and `settings` say what it was trained
from: a re-run skips a finished tokenizer only when both are unchanged, and refuses (never retrains in place) when the
split or a setting changed. One process trains a folder at a time (its lock, uniscale/locks.py).
Eval (uniscale/tokenizer_metrics.py, with the eval and premium settings below) writes
out/tokenizer_eval/{name}/{corpus}_{split}_{sha12}/metrics.json (one folder per eval text: corpora
side by side) and, for all tokenizers together, out/tokenizer_eval/{corpus}_{split}_{sha12}_*.png
and *.tex; a split edited after prepare.py is refused. A vocab_size more than the training split
can fill is refused before training. The premium (metrics.json `premium`: tokens, premiums, their
Gini; plots {tag}_premium_sorted.png and {tag}_premium_gini.png) is Petrov et al.'s on parallel text
(uniscale/premium.py), e.g. their exact protocol on FLORES-200 files, tiktoken's cl100k_base alone:
    python tokenizer.py eval --algorithms=[] --eval_tokenizers=[cl100k_base] \
        --premium_set=flores200 --flores_dir=flores200_dataset --premium_languages=[fin_Latn]

Every tokenizer has <|bos|> = 0 and <|eos|> = 1 and exactly vocab_size ids (specials included); names round the
size to k (x1000, else x1024): bpe-80k is 80,000 ids, bpe-16k is 16,384; meta.json holds the exact size.
encode() never adds BOS/EOS and never reads special-token text: '<|bos|>' in a document is ordinary text.

How SentencePiece is made to respect the shared pre-tokenization:
  training: every pre-token occurrence of the tok split, in corpus order, is one SentencePiece "sentence"
    (input_format='tsv', count 1; SentencePiece reservoir-samples `unigram_input_sentence_size` of them, which
    bounds its memory), so no piece can span two pre-tokens. (Distinct pre-tokens with their counts would be faster
    but SentencePiece 0.2.3 then finds worse seed pieces: 6-23% fewer bytes per token in our tests.) It runs with
    byte_fallback, normalization 'identity' (no NFKC), no dummy prefix, no whitespace clean-up, no script/number
    splitting; split_by_whitespace=True only makes its EM count each distinct pre-token once (a pre-token has
    whitespace only as a prefix, so it stays one "word"). A tab can't be inside a SentencePiece piece (its internal
    boundary), so tabs are byte tokens.
  encoding: the trained pieces and scores (spm.model) become a `tokenizers` Unigram model behind the same regex
    pre-tokenizer, so each pre-token is segmented on its own by Viterbi over SentencePiece's scores (tests check
    they match SentencePiece's own segmentation), in Rust and in parallel. Pieces keep real spaces instead of
    U+2581, so a literal U+2581 in text stays lossless (byte fallback).
"""
import collections
import glob
import itertools
import json
import math
import os
import re
import shutil
import time
from contextlib import contextmanager

import numpy as np
import tokenizers
from tokenizers import AddedToken, Regex, decoders, models, pre_tokenizers, trainers

import configurator
from uniscale import locks, parity_bpe, parity_inputs, regex_gap, tokenizer_metrics
from uniscale.atomic import read_json, write_atomic, write_error
from uniscale.identity import differences
from uniscale.splits import read_texts
from uniscale.tokenization import (BOS_ID, EOS_ID, KINDS, MIN_VOCAB, PRETOKENIZE_PATTERN,
                                   check_vocab_size, content_hash, kinds_trained_by, load_tokenizer,
                                   pretokenize, tokenizer_name)

# -----------------------------------------------------------------------------
# defaults (override with config/*.py or --key=value)
command = 'train'                  # 'train' | 'eval'
corpus = 'embedded'
corpus_dir = 'out/corpus'          # text splits: {corpus_dir}/{corpus}/{split}.jsonl
out_dir = 'out/tokenizers'
algorithms = ['bpe', 'unigram']
vocab_sizes = [2000, 4000]         # ids, specials included
train_split = 'tok'
max_train_bytes = 0                # of UTF-8 text read from the split, for every algorithm alike; 0 = all of it
min_frequency = 2                  # bpe: a pair must occur this often to be merged
unigram_input_sentence_size = 20_000_000  # pre-tokens SentencePiece samples from the split (~150 B of RAM each); 0 = all
unigram_character_coverage = 0.9995  # rarer characters are left to byte fallback
unigram_max_piece_length = 16      # characters (SentencePiece's default)
verbose = True
# parity-aware BPE (kind 'parity'): merges for the language worst compressed on a parallel dev set
parity_dev_set = 'embedded-parallel'  # 'embedded-parallel' (generated, offline) | 'flores200' (dev)
parity_flores_dir = ''             # flores200: the folder holding dev/{code}.dev ('' = flores_dir)
parity_n_stories = 100             # embedded-parallel: stories told in each language
parity_seed = 1                    # embedded-parallel: not the premium's seed (0), its scoring text
parity_global_merges = 0           # the hybrid: this many first merges by counts over all languages
# eval
eval_split = 'val'
eval_tokenizers = []               # more folders or tiktoken names to measure beside the trained ones, e.g. ['gpt2']
eval_max_bytes_per_lang = 5_000_000  # of UTF-8 text per language; 0 = all
eval_dir = 'out/tokenizer_eval'
renyi_alpha = 2.5
premium_reference = 'eng'          # the premium is tokens of a text / tokens of its translation into this language
# parallel text (uniscale/premium.py): 'embedded-parallel' (generated, offline) | 'flores200'
# (FLORES-200 files, flores_dir) | 'flores_plus' (the hub's, flores_repo) | 'files' (premium_files)
premium_set = 'embedded-parallel'
premium_mode = 'petrov'            # 'petrov': its text joined, encoded once | 'per_sentence'
premium_languages = []             # FLORES-200 codes (fin_Latn, zho_Hans); [] = the eval split's
premium_files = ''                 # premium_set='files': 'DIR/*.txt', {lang}.txt (eng, cmn_Hani...)
premium_n_stories = 100            # embedded-parallel: stories told in each eval-split language (~110 kB of English)
premium_seed = 0
flores_dir = ''                    # premium_set='flores200': .../flores200_dataset (dev/, devtest/)
flores_repo = 'openlanguagedata/flores_plus'  # FLORES-200's maintained copy (gated: accept its terms, log in)
flores_split = 'dev+devtest'       # Petrov et al.'s (997 + 1,012 lines each) | 'dev' | 'devtest'
flores_codes = {'eng': 'eng_Latn', 'cmn_Hani': 'cmn_Hans', 'fas_Arab': 'pes_Arab'}  # eval-split code -> FLORES+ config
unspaced = ['zho', 'cmn', 'yue', 'wuu', 'jpn', 'tha', 'lao', 'khm', 'mya', 'bod', 'dzo', 'zh', 'ja', 'th',
            'Hani', 'Hans', 'Hant', 'Jpan', 'Thai', 'Laoo', 'Khmr', 'Mymr', 'Tibt']  # codes or scripts written without spaces

BOS, EOS, UNK = '<|bos|>', '<|eos|>', '<|unk|>'
MAX_IDS = 2 ** 32  # shards hold ids as uint32 at most (uniscale/shards.py), as `tokenizers` does
SPM_SEED_PIECES = 1_000_000  # SentencePiece's seed_sentencepiece_size (default): its first pieces
# the BPE trainer sees longer pre-tokens cut into pieces of this many characters: its merge updates cost O(length)
# per merge of a word, so one 400k-character "word" (a base64 blob, a run of '=') would take minutes, not a second
MAX_PRETOKEN_CHARS = 128


# ---------------------------------------------------------------- training
def _hf_pre_tokenizer(byte_level):
    split = pre_tokenizers.Split(Regex(PRETOKENIZE_PATTERN), behavior='isolated')
    if not byte_level:
        return split
    return pre_tokenizers.Sequence([split, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])


def _finish(tok, out_dir, extra_files, meta):
    """Write the native files, then meta.json last (each atomically): meta.json present = tokenizer finished.
    A disk that is full or read-only is a one-line error, and no temp file is left behind."""
    try:
        return _write_tokenizer(tok, out_dir, extra_files, meta)
    except OSError as e:
        for f in glob.glob(os.path.join(glob.escape(out_dir), '*.tmp')):
            os.remove(f)
        raise write_error(out_dir, e) from None


def _write_tokenizer(tok, out_dir, extra_files, meta):
    os.makedirs(out_dir, exist_ok=True)
    for f in glob.glob(os.path.join(glob.escape(out_dir), '*.tmp')):
        os.remove(f)  # left by a run that was killed mid-write: this folder is ours while we train it
    if os.path.exists(os.path.join(out_dir, 'meta.json')):
        os.remove(os.path.join(out_dir, 'meta.json'))  # retraining in place: unfinished until the new one is written
    extra_files = {'tokenizer.json': tok.to_str(pretty=True), **extra_files}  # what tok.save writes, via Python I/O
    for fname, data in extra_files.items():
        write_atomic(os.path.join(out_dir, fname), data)
    files = list(extra_files)
    meta = {**meta, 'bos_id': BOS_ID, 'eos_id': EOS_ID, 'files': files, 'hash': content_hash(out_dir, files),
            'pretokenize_pattern': PRETOKENIZE_PATTERN,
            'versions': {'tokenizers': tokenizers.__version__}}
    write_atomic(os.path.join(out_dir, 'meta.json'), json.dumps(meta, indent=2, ensure_ascii=False))
    return load_tokenizer(out_dir)


# a pre-token longer than MAX_PRETOKEN_CHARS holds a run of half that many characters of one class:
# not whitespace (letters, punctuation), or whitespace, newlines and slashes. numpy finds such runs
# in a batch of texts at once, a character being the first byte of its UTF-8 (0.06 CPU-s per 10 MB;
# the `regex` search it replaces took 1.6, more than the Rust pre-tokenizer; a second Rust Split
# cutting every pre-token cost 1.2): only the texts with one are pre-tokenized here. A character of
# several bytes counts as not whitespace, and also as whitespace where its first byte is one a
# Unicode space starts with (U+0085, U+00A0, U+1680, U+2000-U+205F, U+3000): never a miss
_NOT_SPACE, _SPACE_LIKE = 1, 2  # the two character classes, as bits, by first byte
_BYTE_CLASS = np.full(256, _NOT_SPACE, dtype=np.uint8)
_BYTE_CLASS[list(b' \t\n\r\x0b\x0c/')] = _SPACE_LIKE
_BYTE_CLASS[ord('/')] |= _NOT_SPACE
_BYTE_CLASS[[0xc2, 0xe1, 0xe2, 0xe3]] |= _SPACE_LIKE


def may_hold_long_pretokens(texts, half=MAX_PRETOKEN_CHARS // 2):
    """The indices of texts that may hold a pre-token longer than 2 * half characters (all that do,
    and some that do not: never a miss)."""
    utf8 = np.frombuffer('\n'.join(texts).encode('utf-8', 'surrogatepass') + b'\n', dtype=np.uint8)
    cls = _BYTE_CLASS[utf8[(utf8 & 0xc0) != 0x80]]  # one entry per character
    ends = np.cumsum([len(t) + 1 for t in texts], dtype=np.int64)  # texts + newlines, in characters
    cls[ends - 1] = 0  # the newlines between texts are of neither class: no run spans two texts
    flagged = set()
    for bit in (_NOT_SPACE, _SPACE_LIKE):
        member = np.concatenate([[False], (cls & bit) != 0, [False]])
        edges = np.flatnonzero(member[1:] != member[:-1])  # where each run starts and ends
        starts, stops = edges[0::2], edges[1::2]
        flagged.update(np.searchsorted(ends, starts[stops - starts >= half], side='right').tolist())
    return flagged


def capped_pretokens(texts, cap=MAX_PRETOKEN_CHARS, batch=1000):
    """Texts for the BPE trainer, each pre-token longer than cap characters cut into pieces of cap (as users of the
    HF trainer do), so training stays linear in the text. No token longer than cap characters is learned; encoding
    is unchanged (the encoder handles words of any length). The other pre-tokens of such a text stay together."""
    it = iter(texts)
    for texts in iter(lambda: list(itertools.islice(it, batch)), []):
        yield from _capped(texts, may_hold_long_pretokens(texts, cap // 2), cap)


def _capped(texts, flagged, cap):
    for i, text in enumerate(texts):
        if i not in flagged:
            yield text
            continue
        run = []
        for p in pretokenize(text):
            if len(p) <= cap:
                run.append(p)
                continue
            if run:
                yield ''.join(run)
                run = []
            yield from (p[k:k + cap] for k in range(0, len(p), cap))
        if run:
            yield ''.join(run)


def _tally(texts, stats):
    """Pass texts through, counting documents and UTF-8 bytes into stats (for meta.json and error messages)."""
    for t in texts:
        stats['n_docs'] += 1
        stats['n_bytes'] += len(t.encode('utf-8'))
        yield t


def train_bpe(texts, vocab_size, out_dir, min_frequency=2, name=None, corpus='', verbose=False, trained_on=None,
              settings=None):
    """Byte-level BPE over the shared pre-tokens with <|bos|>=0, <|eos|>=1; exactly vocab_size ids. trained_on
    ({corpus, split, sha256}) and settings go into meta.json as they are (None: texts from elsewhere)."""
    check_vocab_size('bpe', vocab_size, out_dir)
    t0, stats = time.time(), {'n_docs': 0, 'n_bytes': 0}
    tok = tokenizers.Tokenizer(models.BPE())
    tok.pre_tokenizer = _hf_pre_tokenizer(byte_level=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=[BOS, EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=verbose)
    tok.train_from_iterator(capped_pretokens(_tally(texts, stats)), trainer)
    if tok.get_vocab_size() != vocab_size:
        raise SystemExit(f"{out_dir}: BPE stopped at {tok.get_vocab_size()} of vocab_size={vocab_size} ids: "
                         f"{stats['n_bytes']:,} bytes of text have too few pairs seen >= {min_frequency} times; "
                         f"train on more text or lower vocab_size / min_frequency")
    meta = {'kind': 'bpe', 'name': name or tokenizer_name('bpe', vocab_size), 'vocab_size': vocab_size,
            'corpus': corpus, 'trained_on': trained_on, 'settings': settings,
            'train': {'min_frequency': min_frequency, 'max_pretoken_chars': MAX_PRETOKEN_CHARS, **stats,
                      'seconds': round(time.time() - t0, 2)}}
    return _finish(tok, out_dir, {}, meta)


def trainer_words(texts, cap=MAX_PRETOKEN_CHARS):
    """{i: the words train_bpe's trainer sees in texts[i]} for the texts whose words are not their
    `pretokenize` pieces: those holding a pre-token longer than cap characters (cut as
    capped_pretokens cuts it), and those holding a code point where Python's `regex` and the
    trainer's Oniguruma classify apart (uniscale/regex_gap.py): theirs come from the trainer's own
    Rust pre-tokenizer over the strings capped_pretokens hands it, exact whatever the engines
    disagree on. Every other text's words are its pre-tokens as they are."""
    long, odd = may_hold_long_pretokens(texts, cap // 2), regex_gap.holding(texts)
    rust = _hf_pre_tokenizer(byte_level=False).pre_tokenize_str if odd else None
    words = {}
    for i in sorted(long | odd):
        pieces = _capped([texts[i]], {0} if i in long else set(), cap)
        words[i] = ([w for p in pieces for w, _ in rust(p)] if i in odd
                    else [w for p in pieces for w in pretokenize(p)])
    return words


def _byte_level_chars():
    """ByteLevel's character for each byte (GPT-2's table: printable bytes stand for themselves)."""
    keep = [*range(ord('!'), ord('~') + 1), *range(ord('\u00a1'), ord('\u00ac') + 1),
            *range(ord('\u00ae'), ord('\u00ff') + 1)]
    others = [b for b in range(256) if b not in keep]
    table = dict(zip(keep + others, keep + [256 + k for k in range(len(others))]))
    return [chr(table[b]) for b in range(256)]


def byte_level_bpe(spell, merges):
    """train_bpe's kind of tokenizer from its pieces: id i is spell[i] (<|bos|>, <|eos|>, the
    byte-level alphabet, then one piece per merge), merges as pairs of pieces; the shared
    pre-tokenizer and ByteLevel decoder."""
    tok = tokenizers.Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(spell)}, merges=merges))
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in (BOS, EOS)])
    tok.pre_tokenizer = _hf_pre_tokenizer(byte_level=True)
    tok.decoder = decoders.ByteLevel()
    return tok


def bpe_from_word_counts(counts, vocab_size, out_dir, learn, min_frequency=2, name=None, corpus='',
                         trained_on=None, settings=None, stats=None):
    """train_bpe's tokenizer from the counts of the words its trainer would see ({word: count}),
    merged by `learn(docs, n_base, n_merges, min_frequency, weights) -> merges` (btm.py hands in the
    project's merge engine, whose counts, ties and left-to-right replacement are BpeTrainer's: tests
    check the tokenizer.json is byte-identical). None where two merges spell the same string
    (BpeTrainer would give both one id): train_bpe then. stats: {n_docs, n_bytes} of the text, for
    meta.json."""
    check_vocab_size('bpe', vocab_size, out_dir)
    t0, chars = time.time(), _byte_level_chars()
    alphabet = sorted(chars)  # ids 2.. in code point order after the specials, as BpeTrainer's
    byte_id = np.array([2 + alphabet.index(c) for c in chars], dtype=np.int32)
    words = [w for w, c in counts.items() if c > 0]
    docs = [byte_id[np.frombuffer(w.encode('utf-8'), dtype=np.uint8)] for w in words]
    weights = np.array([counts[w] for w in words], dtype=np.int64)
    merges = learn(docs, MIN_VOCAB['bpe'], vocab_size - MIN_VOCAB['bpe'], min_frequency, weights)
    spell = [BOS, EOS] + alphabet
    for a, b in merges:
        spell.append(spell[a] + spell[b])
    if len(set(spell)) < len(spell):
        return None
    if len(spell) != vocab_size:
        raise SystemExit(f"{out_dir}: BPE stopped at {len(spell)} of vocab_size={vocab_size} ids: "
                         f"{stats['n_bytes']:,} bytes of text have too few pairs seen >= "
                         f"{min_frequency} times; train on more text or lower vocab_size / "
                         f"min_frequency")
    tok = byte_level_bpe(spell, [(spell[a], spell[b]) for a, b in merges])
    meta = {'kind': 'bpe', 'name': name or tokenizer_name('bpe', vocab_size),
            'vocab_size': vocab_size, 'corpus': corpus, 'trained_on': trained_on,
            'settings': settings,
            'train': {'min_frequency': min_frequency, 'max_pretoken_chars': MAX_PRETOKEN_CHARS,
                      **(stats or {}), 'seconds': round(time.time() - t0, 2)}}
    return _finish(tok, out_dir, {}, meta)


def train_parity(docs, dev, vocab_size, out_dir, min_frequency=2, n_global=0, name=None,
                 corpus='', trained_on=None, settings=None):
    """Parity-aware BPE (uniscale/parity_bpe.py) on (text, lang) documents with the parallel dev
    set dev ({lang: [text, ...]}, a key per language of docs): train_bpe's kind of tokenizer.json
    (same specials, alphabet ids, pre-tokenizer, decoder), exactly vocab_size ids."""
    check_vocab_size('parity', vocab_size, out_dir)
    t0, chars = time.time(), _byte_level_chars()
    alphabet = sorted(chars)  # ids 2.. in code point order after the specials, as BpeTrainer's
    train, stats = parity_bpe.word_counts_by_lang(docs, trainer_words)
    langs = sorted(train)
    if set(langs) - set(dev):
        raise SystemExit(f"{out_dir}: the dev set has no text in "
                         f"{', '.join(sorted(set(langs) - set(dev)))}; give a dev set with every "
                         f"language of the training text")
    dev_words, _ = parity_bpe.word_counts_by_lang(
        ((t, lang) for lang in langs for t in dev[lang]), trainer_words)
    symbol_of_byte = np.array([alphabet.index(c) for c in chars], dtype=np.int64)
    words, train_counts, dev_counts = parity_bpe.word_table(train, dev_words, langs, symbol_of_byte)
    learned = parity_bpe.learn_parity_merges(words, train_counts, dev_counts, alphabet,
                                             vocab_size - 2, min_frequency, n_global)
    spell = [BOS, EOS] + learned['spell']
    if len(spell) != vocab_size:
        raise SystemExit(f"{out_dir}: parity-aware BPE stopped at {len(spell)} of vocab_size="
                         f"{vocab_size} ids: the most frequent pair of the language it chose "
                         f"is seen < {min_frequency} times in {stats['n_bytes']:,} bytes; train "
                         f"on more text or lower vocab_size / min_frequency")
    tok = byte_level_bpe(spell, [(learned['spell'][a], learned['spell'][b])
                                 for a, b in learned['merges']])
    chosen = collections.Counter(learned['chooser'])
    meta = {'kind': 'parity', 'name': name or tokenizer_name('parity', vocab_size),
            'vocab_size': vocab_size, 'corpus': corpus, 'trained_on': trained_on,
            'settings': settings,
            'train': {'min_frequency': min_frequency, 'max_pretoken_chars': MAX_PRETOKEN_CHARS,
                      **stats, 'seconds': round(time.time() - t0, 2)},
            'parity': {'languages': langs, 'dev_sha256': parity_bpe.dev_identity(dev),
                       'global_merges': n_global,
                       # the language (index into languages; -1: global) that chose each merge
                       'chooser': learned['chooser'],
                       'merges_chosen': {lang: chosen[i] for i, lang in enumerate(langs)},
                       'dev_tokens': dict(zip(langs, learned['dev_tokens']))}}
    return _finish(tok, out_dir, {}, meta)


def sentencepiece_lines(texts):
    """SentencePiece's input: one 'pre-token <tab> 1' line per pre-token occurrence, in corpus order. A tab can't be
    in a piece (SentencePiece's internal boundary), so tabs split; U+2581 would read as a space, NUL as an end.
    (Pre-tokenizing in a process pool was no faster: sending the pieces back costs as much as the regex.)"""
    for text in texts:
        for p in pretokenize(text):
            for part in p.split('\t'):
                if part and '\u2581' not in part and '\0' not in part:
                    yield f"{part}\t1"


def _caught(texts, box):
    """Pass texts through; an error while reading them (a bad jsonl line) is kept in box and raised on, so
    SentencePiece stops at once, and train_unigram reports it instead of SentencePiece's wrapper of it."""
    try:
        yield from texts
    except (Exception, SystemExit) as e:
        box.append(e)
        raise


# SentencePiece's names of the settings uniscale exposes -> the config keys
_SPM_SETTING = {'character_coverage': 'unigram_character_coverage',
                'input_sentence_size': 'unigram_input_sentence_size',
                'max_sentencepiece_length': 'unigram_max_piece_length'}


def sentencepiece_error(message, out_dir, vocab_size, n_bytes, character_coverage):
    """SentencePiece's failure as one line with the fix that fits it."""
    last = message.strip().splitlines()[-1] if message.strip() else 'no message'
    if 'sentences_.empty()' in message:
        return (f"{out_dir}: no text to train on ({n_bytes:,} bytes, no pre-token SentencePiece can use: an empty "
                f"split?); train on a split with documents (remake it with prepare.py)")
    if m := re.search(r'Vocabulary size too high \((\d+)\)\. Please set it to a value <= (\d+)', message):
        return (f"{out_dir}: vocab_size={vocab_size} is more than SentencePiece can fill from {n_bytes:,} bytes of "
                f"text (at most {int(m.group(2)):,}); lower vocab_size to <= {int(m.group(2)):,} or train on more text")
    if m := re.search(r'Vocabulary size is smaller than required_chars\. (\d+) vs (\d+)', message):
        return (f"{out_dir}: vocab_size={vocab_size} cannot hold the {int(m.group(2)):,} characters, byte and special "
                f"pieces the text needs at unigram_character_coverage={character_coverage}; raise vocab_size to at "
                f"least {int(m.group(2)):,} or lower unigram_character_coverage")
    if m := re.search(r'\[(trainer_spec[^\]]*)\]', message):  # a setting out of its range, e.g. character_coverage
        cond = re.sub(r'trainer_spec_?\.(\w+)\(\)', lambda g: _SPM_SETTING.get(g.group(1), g.group(1)), m.group(1))
        return f"{out_dir}: SentencePiece needs {cond}; set the setting within that range"
    return (f"{out_dir}: SentencePiece failed on {n_bytes:,} bytes of text: {last[-300:]}; "
            f"check the unigram_* settings and the text")


def train_unigram(texts, vocab_size, out_dir, name=None, corpus='', input_sentence_size=20_000_000,
                  character_coverage=0.9995, max_piece_length=16, verbose=False, trained_on=None, settings=None):
    """UnigramLM by SentencePiece on the shared pre-tokens (see the docstring at the top) with <|bos|>=0,
    <|eos|>=1, <|unk|>=2 (never emitted: byte fallback), 256 byte tokens, exactly vocab_size ids."""
    import io
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # its OpenMP seed search spins idle threads: 4x slower on a busy box
    import sentencepiece as spm
    check_vocab_size('unigram', vocab_size, out_dir)
    t0, stats, model, reading_error = time.time(), {'n_docs': 0, 'n_bytes': 0}, io.BytesIO(), []
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=sentencepiece_lines(_caught(_tally(texts, stats), reading_error)), model_writer=model,
            input_format='tsv', input_sentence_size=input_sentence_size, shuffle_input_sentence=True,
            model_type='unigram', vocab_size=vocab_size, byte_fallback=True, normalization_rule_name='identity',
            add_dummy_prefix=False, remove_extra_whitespaces=False, split_by_whitespace=True,
            allow_whitespace_only_pieces=True, split_by_unicode_script=False, split_by_number=False,
            split_digits=False, character_coverage=character_coverage, max_sentencepiece_length=max_piece_length,
            max_sentence_length=1 << 16, bos_id=BOS_ID, eos_id=EOS_ID, unk_id=2, pad_id=-1, bos_piece=BOS,
            eos_piece=EOS, unk_piece=UNK, num_threads=os.cpu_count() or 1, minloglevel=0 if verbose else 2)
    except (RuntimeError, ValueError) as e:
        if reading_error:
            raise reading_error[0] from None
        raise SystemExit(sentencepiece_error(str(e), out_dir, vocab_size, stats['n_bytes'], character_coverage)) \
            from None
    if reading_error:  # the text ended early at a bad line: never a tokenizer trained on part of the split
        raise reading_error[0]
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    vocab = [(sp.id_to_piece(i) if sp.is_byte(i) or sp.is_control(i) or sp.is_unknown(i)
              else sp.id_to_piece(i).replace('\u2581', ' '), sp.get_score(i)) for i in range(sp.get_piece_size())]
    tok = tokenizers.Tokenizer(models.Unigram(vocab, unk_id=2, byte_fallback=True))
    tok.pre_tokenizer = _hf_pre_tokenizer(byte_level=False)
    tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse()])
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in (BOS, EOS)])
    meta = {'kind': 'unigram', 'name': name or tokenizer_name('unigram', vocab_size), 'vocab_size': vocab_size,
            'corpus': corpus, 'trained_on': trained_on, 'settings': settings,
            'train': {'input_sentence_size': input_sentence_size, 'character_coverage': character_coverage,
                      'max_piece_length': max_piece_length, **stats, 'seconds': round(time.time() - t0, 2),
                      'sentencepiece': spm.__version__}}
    return _finish(tok, out_dir, {'spm.model': model.getvalue()}, meta)


def split_identity(corpus_dir, corpus, split):
    """{corpus, split, sha256} of the text split a tokenizer is trained on: the sha256 of its bytes, which must be
    the one prepare.py recorded in the corpus's meta.json (`splits.{split}.sha256`), if there is one."""
    sha = tokenizer_metrics.checked_split_sha(corpus_dir, corpus, split)
    return {'corpus': corpus, 'split': split, 'sha256': sha}


def check_has_text(path, split):
    """An empty split would fail deep inside a trainer: one line naming it instead."""
    if not any(read_texts(path)):
        raise SystemExit(f"{path}: no text to train on (the {split} split is empty); remake it with prepare.py (a "
                         f"larger tok_bytes, or a corpus with documents), or set --corpus / --train_split to a split "
                         f"with text")


def check_finished(path, want):
    """True when the finished tokenizer at path is what `want` (meta.json's kind, vocab_size, corpus, trained_on,
    settings) asks for: skip it. One that differs is refused, never retrained in place over what it was."""
    meta = read_json(os.path.join(path, 'meta.json'), 'tokenizer meta.json', f"delete {path} and train it again")
    got = {k: meta.get(k) if isinstance(meta, dict) else None for k in want}
    if got == want:
        return True
    old, new = got['trained_on'] if isinstance(got.get('trained_on'), dict) else {}, want['trained_on']
    if got['kind'] == want['kind'] and old.get('sha256') != new['sha256']:
        what = (f"an older {new['split']} split (sha256 {old['sha256'][:12]}, now {new['sha256'][:12]})"
                if old.get('sha256') else f"a {new['split']} split it did not record (made before tokenizers "
                                          f"recorded their split)")
        raise SystemExit(f"{path}: trained on {what}; retrain under another --out_dir, or delete the folder")
    raise SystemExit(f"{path}: holds a tokenizer trained otherwise ({'; '.join(differences(got, want))}); retrain "
                     f"under another --out_dir, or delete the folder")


@contextmanager
def training_folder(path):
    """Hold the tokenizer folder's lock (uniscale/locks.py: a second writer refuses in one line naming pid and host)
    while it is checked and trained. A folder made here for a training that then failed is removed again, and so are
    the parent folders made for it if nothing else went into them."""
    made, top = not os.path.isdir(path), os.path.abspath(path)
    while not os.path.exists(os.path.dirname(top)):
        top = os.path.dirname(top)
    try:
        with locks.hold(path, 'tokenizer folder'):
            yield
    except BaseException:
        if made and not os.path.isfile(os.path.join(path, 'meta.json')):
            shutil.rmtree(path, ignore_errors=True)
            folder = os.path.dirname(os.path.abspath(path))
            while len(folder) >= len(top):  # up to the first folder that was there before
                try:
                    os.rmdir(folder)  # only an empty one goes: another writer's folder beside ours stays
                except OSError:
                    break
                folder = os.path.dirname(folder)
        raise


def vocab_limit(algo, n_bytes, max_piece_length):
    """The most ids a tokenizer trained on n_bytes of text can have. BPE: the 258 ids it starts
    with and one per merge, and each merge shortens the text by at least one token. Unigram: its
    byte and special pieces and its seed pieces, which are substrings of the text (at most
    max_piece_length per byte) and, beyond its characters (at most one per byte), no more than
    SentencePiece's SPM_SEED_PIECES."""
    if algo != 'unigram':  # merges: one id per merge
        return min(MAX_IDS, MIN_VOCAB['bpe'] + n_bytes)
    pieces = min(max_piece_length * n_bytes, SPM_SEED_PIECES + n_bytes)
    return min(MAX_IDS, MIN_VOCAB['unigram'] + pieces)


def whole_vocab_sizes(sizes):
    """vocab_sizes as ints (1e9 from the command line is a float); a fraction is refused."""
    for v in sizes:
        number = isinstance(v, (int, float)) and not isinstance(v, bool)
        if not number or not math.isfinite(v) or v != int(v):
            raise SystemExit(f"config error: vocab_sizes: {v!r} is not a whole number of ids; "
                             f"give e.g. --vocab_sizes=[2000,4000]")
    return [int(v) for v in sizes]


def check_vocab_fits(cfg, split_path):
    """Refuse in one line, before any training, a vocab_size of more ids than the algorithm can
    learn from the training split (its file size bounds its text): 1e9 aborted inside the
    trainer's allocation, 5e6 on a few MB was refused only after training."""
    n_bytes = os.path.getsize(split_path)
    for v in cfg['vocab_sizes']:
        for algo in cfg['algorithms']:
            most = vocab_limit(algo, n_bytes, cfg['unigram_max_piece_length'])
            if v > most:
                why = 'uint32 token ids' if most == MAX_IDS else f"{n_bytes:,} bytes"
                raise SystemExit(f"config error: vocab_sizes: {algo} cannot learn {v:,} ids from "
                                 f"{split_path} ({why}: at most {most:,}); lower vocab_sizes to "
                                 f"<= {most:,} or train on more text")


def train_all(cfg):
    split_path = os.path.join(cfg['corpus_dir'], cfg['corpus'], f"{cfg['train_split']}.jsonl")
    cfg = {**cfg, 'vocab_sizes': whole_vocab_sizes(cfg['vocab_sizes'])}
    for algo in cfg['algorithms']:  # the whole grid is checked before anything is trained
        ours, others = kinds_trained_by('tokenizer.py'), kinds_trained_by('btm.py')
        if algo not in ours:
            raise SystemExit(f"config error: algorithm {algo!r} unknown; use one of "
                             f"{', '.join(ours)} ({', '.join(others)}: btm.py)")
        for v in cfg['vocab_sizes']:
            check_vocab_size(algo, v, 'config error: vocab_sizes')
    if not cfg['algorithms'] or not cfg['vocab_sizes']:
        return
    trained_on = split_identity(cfg['corpus_dir'], cfg['corpus'], cfg['train_split'])
    check_has_text(split_path, cfg['train_split'])
    check_vocab_fits(cfg, split_path)
    dev = None  # parity's parallel dev set, read (and its settings checked) before anything trains
    if 'parity' in cfg['algorithms']:
        dev = parity_inputs.parallel_dev_set(
            cfg, parity_inputs.split_langs(split_path, cfg['max_train_bytes']))
    for algo in cfg['algorithms']:
        for v in cfg['vocab_sizes']:
            name = tokenizer_name(algo, v)
            path = os.path.join(cfg['out_dir'], name)
            settings = {k: cfg[k] for k in KINDS[algo].settings}
            if algo == 'parity':  # the dev set is part of what it is: its content, not its name
                settings['parity_dev_sha256'] = parity_bpe.dev_identity(dev)
            want = {'kind': algo, 'vocab_size': v, 'corpus': cfg['corpus'], 'trained_on': trained_on,
                    'settings': settings}
            with training_folder(path):
                if os.path.isfile(os.path.join(path, 'meta.json')) and check_finished(path, want):
                    print(f"{path}: already trained, skipping")
                    continue
                t0 = time.time()
                texts = read_texts(split_path, cfg['max_train_bytes']) if algo != 'parity' else None
                print(f"training {name} on {split_path}")
                if algo == 'bpe':
                    tok = train_bpe(texts, v, path, cfg['min_frequency'], name, cfg['corpus'], cfg['verbose'],
                                    trained_on, settings)
                elif algo == 'parity':
                    docs = parity_inputs.docs_with_lang(split_path, cfg['max_train_bytes'])
                    tok = train_parity(docs, dev, v, path, cfg['min_frequency'],
                                       cfg['parity_global_merges'], name, cfg['corpus'], trained_on,
                                       settings)
                else:
                    tok = train_unigram(texts, v, path, name, cfg['corpus'], cfg['unigram_input_sentence_size'],
                                        cfg['unigram_character_coverage'], cfg['unigram_max_piece_length'],
                                        cfg['verbose'], trained_on, settings)
            print(f"{path}: {tok.vocab_size:,} ids in {time.time() - t0:.1f}s")


if __name__ == '__main__':
    config = configurator.configure(globals())
    if command == 'train':
        train_all(config)
    elif command == 'eval':
        tokenizer_metrics.eval_all(config)
    else:
        raise SystemExit(f"config error: command {command!r} unknown; use 'train' (default) or 'eval'")
