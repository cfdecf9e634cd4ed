"""
One long document's token ids a piece at a time, equal to encoding it whole, so that scoring it
(uniscale/bpb.py) holds a piece, not the document's ids: eval_bpb's memory is flat in one document's
length.

    for ids in encode_pieces(tok, text): ...  # concatenated: tok.encode(text), for every kind

Why the pieces are exact (tests check them against whole-document encoding for bpe, unigram, btm and
tiktoken):
1. bpe, unigram and tiktoken encode each pre-token (a match of their pre-tokenization regex) on its
   own and concatenate. The text is cut only just before a space (U+0020) whose left neighbour is a
   printable ASCII character other than a space (`CUT`). In every pattern of EXACT_PATTERNS no
   alternative matches a non-space character followed by a space (a space only ever starts a match,
   or sits in a run of whitespace), and the end-sensitive parts (`(?!\\S)`, `$`) follow `\\s+`, so
   they never look at the cut from its left: each match left of the cut is the same in the piece as
   in the whole text, the cut is a match boundary, and matching to its right starts afresh there (no
   pattern looks behind). ASCII on the left keeps the rule out of any Unicode-table difference
   between regex engines.
2. btm: the primitive BPE's ids come piece by piece (1.); the merges then run over a held stretch of
   primitive ids, cut at a position q whose two primitive neighbours never sit side by side inside
   any merged token. No token of the whole document can then span q, and when no token spans q,
   merging (lowest rank first, leftmost first) never mixes the two sides: every merge chosen on the
   whole sequence is the one each side alone would choose next, so the whole's result is the left's
   result followed by the right's.
A tokenizer outside these (another pattern, a normalizer) is encoded whole (`why_not_exact` says
why).
"""
import numpy as np
import regex

from uniscale.tokenization import KINDS, PRETOKENIZE_PATTERN

PIECE_CHARS = 1 << 15  # characters a piece holds (at least: it ends at a CUT); ~5 MB to encode
CUT = regex.compile(r'(?<=[!-~]) ')  # a space after a printable ASCII non-space character
# pre-tokenization regexes the cut rule is proven for (the docstring's 1.), checked by hand
EXACT_PATTERNS = {
    PRETOKENIZE_PATTERN,  # uniscale's bpe and unigram (and tiktoken o200k_base: the same pattern)
    # tiktoken gpt2
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s""",
    # tiktoken cl100k_base
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|"""
    r"""\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
}
_INSIDE = {}  # btm tokenizer hash -> sorted keys a * n_base + b of the pairs inside merged tokens


def text_pieces(text, piece_chars=PIECE_CHARS):
    """Consecutive slices of text, ''.join(them) == text, each cut before a CUT space at least
    piece_chars after the last cut (text without such a space stays one piece)."""
    start = 0
    while len(text) - start > piece_chars:
        m = CUT.search(text, start + piece_chars)
        if m is None:
            break
        yield text[start:m.start()]
        start = m.start()
    yield text[start:]


def pattern_of(tok):
    """The pre-tokenization regex of a bpe, unigram or tiktoken tokenizer; None if not recorded."""
    if tok.kind == 'tiktoken':
        return getattr(tok._enc, '_pat_str', None)
    if getattr(tok, '_tok', None) is not None and tok._tok.normalizer is not None:
        return None  # a normalizer may change text across a cut
    return tok.meta.get('pretokenize_pattern')


def why_not_exact(tok):
    """None when encode_pieces is proven to equal tok.encode for tok, else why not (then the
    document is encoded whole)."""
    base = tok.primitive if tok.kind == 'btm' else tok
    if base.kind != 'tiktoken' and not KINDS[base.kind].per_pretoken:
        return f"tokenizer kind {base.kind!r} has no proven cut rule"
    if pattern_of(base) not in EXACT_PATTERNS:
        return (f"{base.name}'s pre-tokenization (pattern or normalizer) is not one the cut "
                f"rule is proven for")
    return None


def encode_pieces(tok, text, piece_chars=PIECE_CHARS):
    """Token id arrays (int64) whose concatenation equals tok.encode(text), a piece of about
    piece_chars characters at a time; the whole text at once where why_not_exact(tok) says so."""
    if why_not_exact(tok):
        yield np.asarray(tok.encode(text), dtype=np.int64)
    elif tok.kind == 'btm':
        yield from btm_pieces(tok, text, piece_chars)
    else:
        for piece in text_pieces(text, piece_chars):
            yield np.asarray(tok.encode(piece), dtype=np.int64)


def inside_pairs(tok):
    """Sorted keys a * n_base + b of every two primitive ids adjacent inside some merged token of a
    btm tokenizer."""
    if tok.hash not in _INSIDE:
        merged = tok.parts[tok.n_base:]
        keys = {p[i] * tok.n_base + p[i + 1] for p in merged for i in range(len(p) - 1)}
        _INSIDE[tok.hash] = np.array(sorted(keys), dtype=np.int64)
    return _INSIDE[tok.hash]


def btm_pieces(tok, text, piece_chars):
    """The docstring's 2.: primitive ids held until a free cut appears, the merges applied up to the
    last one."""
    inside, held = inside_pairs(tok), np.zeros(0, dtype=np.int64)
    for piece in text_pieces(text, piece_chars):
        held = np.concatenate([held, np.asarray(tok.primitive.encode(piece), dtype=np.int64)])
        free = np.flatnonzero(~np.isin(held[:-1] * tok.n_base + held[1:], inside))
        if len(free):
            q = int(free[-1]) + 1  # no merged token holds (held[q - 1], held[q]): none spans q
            yield np.asarray(tok.apply([held[:q]])[0], dtype=np.int64)
            held = held[q:]
    if len(held):
        yield np.asarray(tok.apply([held])[0], dtype=np.int64)
