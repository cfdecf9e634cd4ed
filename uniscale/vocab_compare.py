"""
What the vocabularies of any set of tokenizers look like and what they buy, on one text split: the
share of multi-word tokens (in the vocabulary, among merged ids, in use), the most frequent
superwords, tokens per byte per language, the overlap with the BPE vocabulary (by bytes), token
lengths. btm.py's `analyze` command loads the tokenizers and calls `compare`:

    python btm.py analyze config/btm_demo.py      # vs bpe-2k -> out/analysis/btm-1k-2k/btm_vocab.*
    python btm.py analyze config/btm_demo.py --compare='["btm-1k-2k","bpe-2k","unigram-2k"]'

Definitions (docs/DESIGN.md says the same): a token is multi-word when its text (UTF-8, a partial
character read as U+FFFD) holds whitespace between two non-whitespace characters (`\\S\\s+\\S`):
' the cat' is, ' the' and 'cat ' are not. A superword is a multi-word token; the most frequent are
ranked by their count in the split's encoding (ties: the smaller id), shown with undecodable
bytes escaped. Tokens per byte per language: a language's tokens over its UTF-8 bytes (the split's
`lang` per document). Overlap with the BPE: the share of a tokenizer's distinct non-empty token
byte strings that the reference BPE's vocabulary (the first tokenizer of kind bpe in the set)
holds too.
"""
import json
import os
import re

import numpy as np

from uniscale.atomic import disk_errors, write_atomic
from uniscale.identity import file_sha256
from uniscale.report_format import pyplot, save_figure
from uniscale.splits import read_docs

TOP = 40  # superwords listed per tokenizer
MULTI_WORD = re.compile(r'\S\s+\S')
ROWS = [('tokens per document (mean)', 'tokens_per_doc', '.1f'),
        ('bytes per token', 'bytes_per_token', '.3f'),
        ('tokens vs the BPE', 'tokens_vs_bpe', '.3f'),
        ('token length in the vocabulary, bytes (mean)', 'vocab_token_bytes', '.2f'),
        ('multi-word tokens in the vocabulary', 'multi_word_vocab', '.1%'),
        ('multi-word tokens among merged ids (>= n_base)', 'multi_word_merged', '.1%'),
        ('multi-word tokens in use', 'multi_word_used', '.1%'),
        ('vocabulary used', 'vocab_used', '.1%'),
        ('vocabulary overlap with the BPE (bytes)', 'overlap_bpe', '.1%')]


def is_multi_word(token):
    """Whitespace between two non-whitespace characters in the token's bytes (see the docstring)."""
    return bool(MULTI_WORD.search(token.decode('utf-8', 'replace')))


def n_base_of(tok):
    """The stage-1 / primitive ids of a superword tokenizer (attribute or meta.json), else None."""
    n = getattr(tok, 'n_base', None) or (getattr(tok, 'meta', None) or {}).get('n_base')
    return n if isinstance(n, int) and n < tok.vocab_size else None


def tokenizer_stats(tok, texts, langs):
    """One tokenizer measured on the texts (langs: each text's language)."""
    enc = tok.encode_batch(texts)
    lens = np.array([len(e) for e in enc], dtype=np.int64)
    ids = [np.asarray(e, dtype=np.int64) for e in enc]
    flat = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    use = np.bincount(flat, minlength=tok.vocab_size)
    tb = [tok.token_bytes(i) for i in range(tok.vocab_size)]
    size, multi = np.array([len(b) for b in tb]), np.array([is_multi_word(b) for b in tb])
    n_bytes = np.array([len(t.encode('utf-8')) for t in texts], dtype=np.int64)
    per_lang = {}
    for lang in sorted(set(langs)):
        pick = np.array([x == lang for x in langs])
        per_lang[lang] = float(lens[pick].sum() / max(n_bytes[pick].sum(), 1))
    n_base = n_base_of(tok)
    top = [i for i in np.argsort(-use, kind='stable') if multi[i] and use[i] > 0][:TOP]
    return {'name': tok.name, 'kind': tok.kind, 'path': str(getattr(tok, 'path', tok.name)),
            'hash': tok.hash, 'trained_on': getattr(tok, 'trained_on', None),
            'vocab_size': tok.vocab_size, 'n_base': n_base, 'n_tokens': int(lens.sum()),
            'tokens_per_doc': float(lens.mean()) if len(lens) else 0.0,
            'bytes_per_token': float(n_bytes.sum() / max(lens.sum(), 1)),
            'tokens_per_byte': float(lens.sum() / max(n_bytes.sum(), 1)),
            'tokens_per_byte_by_lang': per_lang,
            'vocab_token_bytes': float(size.mean()),
            'vocab_token_bytes_hist': np.bincount(np.minimum(size, 64)).tolist(),
            'vocab_used': float((use > 0).mean()),
            'multi_word_vocab': float(multi.mean()),
            'multi_word_merged': float(multi[n_base:].mean()) if n_base else None,
            'multi_word_used': float(use[multi].sum() / max(use.sum(), 1)),
            'top_superwords': [{'id': int(i), 'count': int(use[i]),
                                'text': tb[i].decode('utf-8', 'backslashreplace')} for i in top],
            '_bytes': {b for b in tb if b}}


def vocab_report(toks, docs):
    """The report over toks (a list of tokenizers) on docs, a list of (text, lang)."""
    texts, langs = [t for t, _ in docs], [lang for _, lang in docs]
    stats = [tokenizer_stats(t, texts, langs) for t in toks]
    ref = next((s for s in stats if s['kind'] == 'bpe'), None)
    for s in stats:
        common = len(s['_bytes'] & ref['_bytes']) if ref else 0
        s['overlap_bpe'] = common / max(len(s['_bytes']), 1) if ref else None
        s['overlap_bpe_count'] = common if ref else None
        s['tokens_vs_bpe'] = s['n_tokens'] / max(ref['n_tokens'], 1) if ref else None
    for s in stats:
        del s['_bytes']
    lang_bytes = {}
    for text, lang in docs:
        lang_bytes[lang] = lang_bytes.get(lang, 0) + len(text.encode('utf-8'))
    return {'n_docs': len(docs), 'n_bytes': sum(lang_bytes.values()),
            'lang_bytes': dict(sorted(lang_bytes.items())),
            'bpe_reference': ref['name'] if ref else None, 'tokenizers': stats}


def read_split_docs(split_path, max_docs):
    """max_docs documents spread evenly over a split (a split grouped by language keeps all its
    languages), as (text, lang); a document without one: 'und'."""
    n = sum(1 for _ in read_docs(split_path))
    spread = np.linspace(0, n - 1, max_docs).round().astype(int).tolist()
    keep = set(spread) if n > max_docs else None
    docs = enumerate(d for _, d in read_docs(split_path))
    return [(d['text'], str(d.get('lang') or 'und')) for i, d in docs if keep is None or i in keep]


def warn_if_unlike(toks):
    """Print a warning when the tokenizers differ in size or were trained on different text."""
    sizes = {t.vocab_size for t in toks}
    trained = {(t.trained_on or {}).get('sha256') for t in toks if getattr(t, 'trained_on', None)}
    if len(sizes) > 1 or len(trained) > 1:
        print("warning: " + '; '.join(
            f"{t.name} ({t.kind}) {t.vocab_size:,} ids, split sha256 "
            f"{str((getattr(t, 'trained_on', None) or {}).get('sha256'))[:12]}" for t in toks) +
            ": not a like-for-like comparison")


def compare(toks, split_path, max_docs, corpus, out_path):
    """btm.py analyze: toks on max_docs documents of split_path spread evenly over it, written to
    out_path with the identities of the tokenizers and of the split. Returns the report."""
    names = [t.name for t in toks]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SystemExit(f"btm.py analyze: two tokenizers named {twice[0]!r} in one comparison "
                         f"(the report names them); compare one of them, or rename a folder's "
                         f"meta.json name")
    warn_if_unlike(toks)
    split = os.path.splitext(os.path.basename(split_path))[0]
    rep = {'corpus': corpus, 'split': split, 'split_sha256': file_sha256(split_path),
           **vocab_report(toks, read_split_docs(split_path, max_docs))}
    write_vocab_report(rep, out_path)
    print(f"{out_path}/btm_vocab.{{md,json,png}}: " + '; '.join(
        f"{s['kind']} {s['name']} {s['bytes_per_token']:.2f} bytes/token, "
        f"{s['multi_word_used']:.1%} multi-word in use" for s in rep['tokenizers']))
    return rep


def cell(v, fmt):
    return '—' if v is None else f"{v:{fmt}}"


def markdown(rep):
    stats = rep['tokenizers']
    head = '| | ' + ' | '.join(f"{s['name']} ({s['kind']})" for s in stats) + ' |'
    rule = '| --- |' + ' ---: |' * len(stats)
    quote = lambda text: repr(text).replace('|', '\\|')  # a pipe would end the table cell
    ref = rep['bpe_reference'] or 'none in the set (no overlap)'
    md = [f"# Vocabularies: {', '.join(s['name'] for s in stats)}", '',
          f"{rep['n_docs']:,} documents, {rep['n_bytes']:,} bytes of {rep.get('corpus')}/"
          f"{rep.get('split')}. The BPE reference: {ref}. A token is multi-word when it holds "
          f"whitespace between two non-whitespace characters; a superword is a multi-word token.",
          '', head, rule, *[f"| {label} | " + ' | '.join(cell(s[k], fmt) for s in stats) + ' |'
                            for label, k, fmt in ROWS],
          '', '## Tokens per byte per language', '',
          head.replace('| |', '| language (bytes) |'), rule,
          *[f"| {lang} ({n:,}) | " + ' | '.join(cell(s['tokens_per_byte_by_lang'].get(lang), '.4f')
                                               for s in stats) + ' |'
            for lang, n in rep['lang_bytes'].items()]]
    for s in stats:
        md += ['', f"## Most frequent superwords: {s['name']}", '']
        md += ['| id | count | text |', '| ---: | ---: | --- |',
               *[f"| {t['id']} | {t['count']:,} | `{quote(t['text'])}` |"
                 for t in s['top_superwords']]]
        if not s['top_superwords']:
            md[-2:] = ['none: no multi-word token occurs in the split']
    return '\n'.join(md) + '\n'


def write_vocab_report(rep, out_path):
    """btm_vocab.json, .md and .png in out_path, each atomically; a full or read-only disk is one
    line."""
    plt = pyplot()
    with disk_errors(out_path):
        os.makedirs(out_path, exist_ok=True)
    write_atomic(os.path.join(out_path, 'btm_vocab.json'),
                 json.dumps(rep, indent=2, ensure_ascii=False))
    write_atomic(os.path.join(out_path, 'btm_vocab.md'), markdown(rep))
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    langs, width = list(rep['lang_bytes']), 0.8 / max(len(rep['tokenizers']), 1)
    for k, s in enumerate(rep['tokenizers']):
        h = np.array(s['vocab_token_bytes_hist'], dtype=float)
        label = f"{s['name']}: {s['bytes_per_token']:.2f} bytes/token"
        left.plot(h / h.sum(), 'o-', ms=3, label=label)
        per_lang = [s['tokens_per_byte_by_lang'][x] for x in langs]
        right.bar(np.arange(len(langs)) + k * width, per_lang, width, label=s['name'])
    left.set(xlabel='token length, UTF-8 bytes (64 = 64+)', ylabel='share of the vocabulary')
    right.set(ylabel='tokens per byte', xticks=np.arange(len(langs)) + 0.4 - width / 2)
    right.set_xticklabels(langs, rotation=45, ha='right')
    left.legend()
    right.legend()
    save_figure(fig, os.path.join(out_path, 'btm_vocab.png'))
