"""
What a BTM vocabulary looks like and what it buys, against a baseline tokenizer of the same size on the same text
(a plain BPE by default; the report names the baseline's kind): token length distribution, share of tokens spanning a
word boundary, the most frequent merged tokens as text, tokens per document and bytes per token. btm.py's `analyze`
command loads both tokenizers and calls these, with its settings:

    python btm.py analyze config/btm_demo.py      # vs bpe-2k -> out/analysis/btm-1k-2k/btm_vocab.{md,json,png}
    python btm.py analyze config/btm_demo.py --baseline=unigram-2k
"""
import json
import os

import numpy as np

from uniscale.atomic import disk_errors, write_atomic
from uniscale.identity import file_sha256
from uniscale.report_format import pyplot, save_figure
from uniscale.splits import read_texts

ROWS = [('tokens per document (mean)', 'tokens_per_doc', '.1f'), ('bytes per token', 'bytes_per_token', '.3f'),
        ('token length in the vocabulary, bytes (mean)', 'vocab_token_bytes', '.2f'),
        ('vocabulary spanning 2+ words', 'vocab_spanning_words', '.1%'),
        ('merged tokens spanning 2+ words', 'merged_spanning_words', '.1%'),
        ('used tokens spanning 2+ words', 'used_spanning_words', '.1%'), ('vocabulary used', 'vocab_used', '.1%')]


def vocab_report(tok, base, texts):
    """What BTM's vocabulary looks like and what it buys, against a baseline of equal size (`baseline_kind`: bpe,
    unigram, ...) on the same texts. A token spans a word boundary when its text holds 2+ whitespace-separated words
    (bytes.split())."""
    rep = {'btm': tok.name, 'baseline': base.name, 'baseline_kind': base.kind, 'n_docs': len(texts),
           'n_bytes': sum(len(t.encode()) for t in texts)}
    for key, t in (('btm_stats', tok), ('baseline_stats', base)):
        enc = t.encode_batch(texts)
        lens, use = [len(e) for e in enc], np.bincount([i for e in enc for i in e], minlength=t.vocab_size)
        tb = [t.token_bytes(i) for i in range(t.vocab_size)]
        size, span = np.array([len(b) for b in tb]), np.array([len(b.split()) >= 2 for b in tb])
        n_base = getattr(t, 'n_base', t.vocab_size)
        rep[key] = {'vocab_size': t.vocab_size, 'n_tokens': sum(lens), 'tokens_per_doc': float(np.mean(lens)),
                    'bytes_per_token': rep['n_bytes'] / max(sum(lens), 1), 'vocab_token_bytes': float(size.mean()),
                    'vocab_token_bytes_hist': np.bincount(np.minimum(size, 64)).tolist(),
                    'vocab_spanning_words': float(span.mean()), 'vocab_used': float((use > 0).mean()),
                    'merged_spanning_words': float(span[n_base:].mean()) if t.vocab_size > n_base else 0.0,
                    'used_spanning_words': float(use[span].sum() / max(use.sum(), 1))}
        if t is tok:
            top = n_base + np.argsort(-use[n_base:], kind='stable')[:40]
            rep['top_merged'] = [{'id': int(i), 'count': int(use[i]), 'text': tb[i].decode('utf-8', 'replace'),
                                  'n_primitive': len(tok.parts[i])} for i in top]
    rep['token_ratio'] = rep['btm_stats']['n_tokens'] / max(rep['baseline_stats']['n_tokens'], 1)
    return rep


def compare(tok, base, split_path, max_docs, corpus, out_path):
    """btm.py analyze: tok (a BTM) against base on the first max_docs documents of split_path, written to out_path
    with the identities of both tokenizers and of the split. Returns the report."""
    theirs, ours = (base.trained_on or {}).get('sha256'), (tok.trained_on or {}).get('sha256')
    if base.vocab_size != tok.vocab_size or (theirs and ours and theirs != ours):
        print(f"warning: baseline {base.path} ({base.kind}) has {base.vocab_size:,} ids trained on split sha256 "
              f"{str(theirs)[:12]}, the BTM {tok.vocab_size:,} on {str(ours)[:12]}: not a like-for-like comparison")
    texts = [t for t, _ in zip(read_texts(split_path), range(max_docs))]
    split = os.path.splitext(os.path.basename(split_path))[0]
    rep = {'corpus': corpus, 'split': split, 'split_sha256': file_sha256(split_path), 'btm_hash': tok.hash,
           'baseline_hash': base.hash, **vocab_report(tok, base, texts)}
    write_vocab_report(rep, out_path)
    print(f"{out_path}/btm_vocab.{{md,json,png}}: BTM {rep['btm_stats']['bytes_per_token']:.2f} bytes/token vs "
          f"{base.kind} {base.name} {rep['baseline_stats']['bytes_per_token']:.2f}; "
          f"{rep['btm_stats']['merged_spanning_words']:.1%} of merged tokens span 2+ words")
    return rep


def write_vocab_report(rep, out_path):
    """btm_vocab.json, .md and .png in out_path, each atomically; a full or read-only disk is one line."""
    plt = pyplot()
    with disk_errors(out_path):
        os.makedirs(out_path, exist_ok=True)
    write_atomic(os.path.join(out_path, 'btm_vocab.json'), json.dumps(rep, indent=2, ensure_ascii=False))
    b, p = rep['btm_stats'], rep['baseline_stats']
    cell = lambda text: repr(text).replace('|', '\\|')  # a pipe would end the table cell
    md = [f"# BTM vocabulary: {rep['btm']} vs {rep['baseline']} ({rep['baseline_kind']})", '',
          f"{rep['n_docs']:,} documents, {rep['n_bytes']:,} bytes of {rep.get('corpus')}/{rep.get('split')}; "
          f"vocabularies {b['vocab_size']:,} and {p['vocab_size']:,}. BTM needs {rep['token_ratio']:.3f}x the tokens "
          f"of the {rep['baseline_kind']} baseline.", '',
          f"| | {rep['btm']} | {rep['baseline']} ({rep['baseline_kind']}) |",
          '| --- | ---: | ---: |', *[f"| {label} | {b[k]:{fmt}} | {p[k]:{fmt}} |" for label, k, fmt in ROWS], '',
          '## Most frequent merged tokens', '', '| id | count | primitive tokens | text |',
          '| ---: | ---: | ---: | --- |',
          *[f"| {t['id']} | {t['count']:,} | {t['n_primitive']} | `{cell(t['text'])}` |" for t in rep['top_merged']]]
    write_atomic(os.path.join(out_path, 'btm_vocab.md'), '\n'.join(md) + '\n')
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, st in ((rep['btm'], b), (f"{rep['baseline']} ({rep['baseline_kind']})", p)):
        h = np.array(st['vocab_token_bytes_hist'], dtype=float)
        ax.plot(h / h.sum(), 'o-', ms=3, label=f"{label}: {st['bytes_per_token']:.2f} bytes/token in use")
    ax.set(xlabel='token length, UTF-8 bytes (64 = 64+)', ylabel='share of the vocabulary')
    ax.legend()
    save_figure(fig, os.path.join(out_path, 'btm_vocab.png'))

