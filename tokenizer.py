"""
Tokenizers: train byte-level BPE (Hugging Face `tokenizers`) and UnigramLM (SentencePiece) under one shared
pre-tokenization, load any tokenizer (bpe, unigram, btm, tiktoken gpt2/cl100k_base/o200k_base) behind one
interface, and measure them intrinsically.

    python tokenizer.py config/tokenizers_demo.py                # train every tokenizer listed (finished ones are skipped)
    python tokenizer.py config/tokenizers_fineweb2.py --algorithms=unigram --vocab_sizes=[80000]
    python tokenizer.py eval config/tokenizers_demo.py           # metrics.json, PNG plots and LaTeX tables

Train writes out/tokenizers/{name}/: tokenizer.json (+ spm.model for unigram) and meta.json, written last, so its
presence means "finished". Eval (uniscale/tokenizer_metrics.py, with the eval and premium settings below) writes
out/tokenizer_eval/{name}/metrics.json and, for all tokenizers together, out/tokenizer_eval/{corpus}_{split}_*.png
and *.tex.

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
import glob
import json
import os
import re
import time

import tokenizers
from tokenizers import AddedToken, Regex, decoders, models, pre_tokenizers, trainers

import configurator
from uniscale import tokenizer_metrics
from uniscale.atomic import write_atomic, write_error
from uniscale.splits import read_texts
from uniscale.tokenization import (BOS_ID, EOS_ID, PRETOKENIZE_PATTERN, check_vocab_size, content_hash, load_tokenizer,
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
# eval
eval_split = 'val'
eval_tokenizers = []               # more folders or tiktoken names to measure beside the trained ones, e.g. ['gpt2']
eval_max_bytes_per_lang = 5_000_000  # of UTF-8 text per language; 0 = all
eval_dir = 'out/tokenizer_eval'
renyi_alpha = 2.5
premium_reference = 'eng'          # the premium is tokens of a text / tokens of its translation into this language
premium_set = 'embedded-parallel'  # parallel text: 'embedded-parallel' (generated, offline) | 'flores200' (hub)
premium_n_stories = 100            # embedded-parallel: stories told in each eval-split language (~110 kB of English)
premium_seed = 0
flores_repo = 'openlanguagedata/flores_plus'  # FLORES-200's maintained copy (gated: accept its terms, log in)
flores_split = 'devtest'           # 1,012 sentences per language
flores_codes = {'eng': 'eng_Latn', 'cmn_Hani': 'cmn_Hans', 'fas_Arab': 'pes_Arab'}  # eval-split code -> FLORES+ config
unspaced = ['zho', 'cmn', 'yue', 'wuu', 'jpn', 'tha', 'lao', 'khm', 'mya', 'bod', 'dzo', 'zh', 'ja', 'th',
            'Hani', 'Hans', 'Hant', 'Jpan', 'Thai', 'Laoo', 'Khmr', 'Mymr', 'Tibt']  # codes or scripts written without spaces

BOS, EOS, UNK = '<|bos|>', '<|eos|>', '<|unk|>'


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


def _tally(texts, stats):
    """Pass texts through, counting documents and UTF-8 bytes into stats (for meta.json and error messages)."""
    for t in texts:
        stats['n_docs'] += 1
        stats['n_bytes'] += len(t.encode('utf-8'))
        yield t


def train_bpe(texts, vocab_size, out_dir, min_frequency=2, name=None, corpus='', verbose=False):
    """Byte-level BPE over the shared pre-tokens with <|bos|>=0, <|eos|>=1; exactly vocab_size ids."""
    check_vocab_size('bpe', vocab_size, out_dir)
    t0, stats = time.time(), {'n_docs': 0, 'n_bytes': 0}
    tok = tokenizers.Tokenizer(models.BPE())
    tok.pre_tokenizer = _hf_pre_tokenizer(byte_level=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=[BOS, EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=verbose)
    tok.train_from_iterator(_tally(texts, stats), trainer)
    if tok.get_vocab_size() != vocab_size:
        raise SystemExit(f"{out_dir}: BPE stopped at {tok.get_vocab_size()} of vocab_size={vocab_size} ids: "
                         f"{stats['n_bytes']:,} bytes of text have too few pairs seen >= {min_frequency} times; "
                         f"train on more text or lower vocab_size / min_frequency")
    meta = {'kind': 'bpe', 'name': name or tokenizer_name('bpe', vocab_size), 'vocab_size': vocab_size,
            'corpus': corpus, 'train': {'min_frequency': min_frequency, **stats, 'seconds': round(time.time() - t0, 2)}}
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
                  character_coverage=0.9995, max_piece_length=16, verbose=False):
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
            'corpus': corpus, 'train': {'input_sentence_size': input_sentence_size,
                                        'character_coverage': character_coverage,
                                        'max_piece_length': max_piece_length, **stats,
                                        'seconds': round(time.time() - t0, 2),
                                        'sentencepiece': spm.__version__}}
    return _finish(tok, out_dir, {'spm.model': model.getvalue()}, meta)


def train_all(cfg):
    split_path = os.path.join(cfg['corpus_dir'], cfg['corpus'], f"{cfg['train_split']}.jsonl")
    for algo in cfg['algorithms']:  # the whole grid is checked before anything is trained
        if algo not in ('bpe', 'unigram'):
            raise SystemExit(f"config error: algorithm {algo!r} unknown; use 'bpe' or 'unigram' (BTM: btm.py)")
        for v in cfg['vocab_sizes']:
            check_vocab_size(algo, v, 'config error: vocab_sizes')
    for algo in cfg['algorithms']:
        for v in cfg['vocab_sizes']:
            name = tokenizer_name(algo, v)
            path = os.path.join(cfg['out_dir'], name)
            if os.path.isfile(os.path.join(path, 'meta.json')):
                with open(os.path.join(path, 'meta.json')) as f:
                    meta = json.load(f)
                if (meta['kind'], meta['vocab_size'], meta['corpus']) != (algo, v, cfg['corpus']):
                    raise SystemExit(f"{path}: holds {meta['kind']} {meta['vocab_size']} trained on "
                                     f"{meta['corpus']!r}; delete it or set another --out_dir")
                print(f"{path}: already trained, skipping")
                continue
            t0, texts = time.time(), read_texts(split_path, cfg['max_train_bytes'])
            print(f"training {name} on {split_path}")
            if algo == 'bpe':
                tok = train_bpe(texts, v, path, cfg['min_frequency'], name, cfg['corpus'], cfg['verbose'])
            else:
                tok = train_unigram(texts, v, path, name, cfg['corpus'], cfg['unigram_input_sentence_size'],
                                    cfg['unigram_character_coverage'], cfg['unigram_max_piece_length'], cfg['verbose'])
            print(f"{path}: {tok.vocab_size:,} ids in {time.time() - t0:.1f}s")


if __name__ == '__main__':
    config = configurator.configure(globals())
    if command == 'train':
        train_all(config)
    elif command == 'eval':
        tokenizer_metrics.eval_all(config)
    else:
        raise SystemExit(f"config error: command {command!r} unknown; use 'train' (default) or 'eval'")
