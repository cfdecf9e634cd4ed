"""
Where the two engines that run the shared pre-tokenization disagree: Python's `regex` (which
`tokenization.pretokenize` and the one-pass word counts use) and tokenizers' Oniguruma (the Split
pre-tokenizer that HF's BpeTrainer and encoders run). They follow different Unicode versions, so a
code point can be a letter for one and not for the other (U+0558: a letter for `regex`, not for
Oniguruma; U+0295: Ll for `regex`, Lo for Oniguruma; whole newer blocks). On a text holding one,
`pretokenize` can cut other pieces than the Rust pre-tokenizer, so word counts taken from it are
not what train_bpe's trainer counts, and a BPE run over each of its pieces is not the BPE's own
encoding: such texts take the Rust path (tokenizer.trainer_words, primitive_stream.number_pretokens,
btm_encoding.primitive_flat).

GAP_RANGES is that set of code points, measured (`measure`) over every code point for each class
and case-insensitive letter PRETOKENIZE_PATTERN uses; tests/test_tokenizer.py recomputes it from
the installed engines and fails when they drift (a new `regex` or `tokenizers`): then paste what
`python -m uniscale.regex_gap` prints. On text without such a code point both engines cut the same
pieces: the pattern's other parts (literals, alternation order, greedy quantifiers, the lookahead)
act alike in these two backtracking engines, and tests check it on text from all over Unicode.
Imports no project module.
"""
import functools

import numpy as np

# (first, last) code points, measured with regex 2026.12.2 and tokenizers 0.23.3
GAP_RANGES = (
    (0x295, 0x295), (0x558, 0x558), (0x58B, 0x58C), (0x5C8, 0x5C9), (0x88F, 0x88F), (0xB53, 0xB54),
    (0xC5C, 0xC5C), (0xCDC, 0xCDC), (0x1ACF, 0x1AF0), (0x208F, 0x208F), (0x209D, 0x209F),
    (0xA7CE, 0xA7CF), (0xA7D2, 0xA7D2), (0xA7D4, 0xA7D4), (0xA7DD, 0xA7DD), (0xA7E2, 0xA7E2),
    (0xA7F1, 0xA7F1), (0xAB6C, 0xAB6D), (0x107BB, 0x107BF), (0x10940, 0x10959), (0x10EC5, 0x10EC7),
    (0x10ECB, 0x10ECF), (0x10ED9, 0x10EEE), (0x10EF0, 0x10EFB), (0x11B0A, 0x11B0A),
    (0x11B60, 0x11B67), (0x11DB0, 0x11DDB), (0x11DE0, 0x11DE9), (0x11DF0, 0x11DF1),
    (0x1246F, 0x1246F), (0x12475, 0x1247F), (0x12550, 0x12686), (0x16EA0, 0x16EB8),
    (0x16EBB, 0x16ED3), (0x16FF2, 0x16FF6), (0x187F8, 0x187FF), (0x18CD6, 0x18CDA),
    (0x18D09, 0x18D20), (0x18D80, 0x18DF2), (0x18E00, 0x19191), (0x191A0, 0x191D2),
    (0x1B123, 0x1B128), (0x1B168, 0x1B168), (0x1D127, 0x1D128), (0x1D250, 0x1D252),
    (0x1D25B, 0x1D25C), (0x1D25F, 0x1D25F), (0x1D280, 0x1D281), (0x1D6A6, 0x1D6A6),
    (0x1DF1F, 0x1DF24), (0x1DF2B, 0x1DF81), (0x1DF90, 0x1DF96), (0x1DFCD, 0x1DFFF),
    (0x1E6C0, 0x1E6DE), (0x1E6E0, 0x1E6F5), (0x1E6FE, 0x1E6FF), (0x2B73A, 0x2B73F),
    (0x2B81E, 0x2B81E), (0x2CEA2, 0x2CEAD), (0x323B0, 0x33479), (0x3D000, 0x3FC3F),
)
# the pattern's character classes (its bracketed sets are unions and complements of these) and
# its case-insensitive letters (the contractions 's 't 're 've 'm 'll 'd; no code point folds to
# two of them in either engine, measured too)
CLASSES = (r'\p{L}', r'\p{Lu}', r'\p{Lt}', r'\p{Lm}', r'\p{Lo}', r'\p{Ll}', r'\p{M}', r'\p{N}',
           r'\s', r'\S', r'[\r\n]', r'[\r\n/]', *(f'(?i:{c})' for c in 'strevmld'),
           '(?i:ll)', '(?i:re)', '(?i:ve)')
N_CODE_POINTS = 0x110000
SURROGATES = range(0xD800, 0xE000)  # no Rust string holds one: never measured
_table = []  # the bool table of GAP_RANGES by code point, built on first use


def every_code_point():
    return ''.join(map(chr, [c for c in range(N_CODE_POINTS) if c not in SURROGATES]))


def _removed(text, left):
    """A bool table by code point: the code points of text that are not in left."""
    table = np.zeros(N_CODE_POINTS, dtype=bool)
    table[_code_points(text)] = True
    table[_code_points(left)] = False
    return table


def _code_points(text):
    return np.frombuffer(text.encode('utf-32-le', 'surrogatepass'), dtype=np.uint32)


def measure(classes=CLASSES):
    """GAP_RANGES as the installed engines make it: each class removed from a string of every code
    point by Oniguruma (tokenizers' regex Replace: the engine and options of its Split) and by
    `regex`, the code points removed by one and not the other."""
    import regex
    from tokenizers import Regex, normalizers
    every, gap = every_code_point(), np.zeros(N_CODE_POINTS, dtype=bool)
    for cls in classes:
        onig = normalizers.Replace(Regex(cls), '').normalize_str(every)
        gap |= _removed(every, onig) != _removed(every, regex.sub(cls, '', every))
    edges = np.flatnonzero(np.diff(np.concatenate([[0], gap.view(np.int8), [0]])))
    return tuple(zip(edges[0::2].tolist(), (edges[1::2] - 1).tolist()))


@functools.lru_cache(maxsize=4)
def _rust_split(pattern):
    from tokenizers import Regex, pre_tokenizers
    return pre_tokenizers.Split(Regex(pattern), behavior='isolated')


def rust_pieces(pattern, text):
    """The pieces of text that tokenizers' Split (Oniguruma) cuts by pattern."""
    return [piece for piece, _ in _rust_split(pattern).pre_tokenize_str(text)]


def holding(texts):
    """The indices of texts holding a code point of GAP_RANGES (a numpy pass over the batch)."""
    joined = '\n'.join(texts)
    if joined.isascii():  # the set starts at U+0295
        return set()
    if not _table:
        table = np.zeros(N_CODE_POINTS, dtype=bool)
        for first, last in GAP_RANGES:
            table[first:last + 1] = True
        _table.append(table)
    at = np.flatnonzero(_table[0][_code_points(joined)])
    if not len(at):
        return set()
    ends = np.cumsum([len(t) + 1 for t in texts])  # in code points, the newline after each
    return set(np.searchsorted(ends, at, side='right').tolist())


if __name__ == '__main__':
    items = [f"(0x{a:X}, 0x{b:X})" for a, b in measure()]
    lines, line = [], '   '
    for item in items:
        if len(line) + len(item) + 2 > 100:
            lines.append(line)
            line = '   '
        line += f" {item},"
    print('GAP_RANGES = (\n' + '\n'.join(lines + [line]) + '\n)')
