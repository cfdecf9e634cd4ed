"""
Intrinsic metrics of tokenizers, their plots and LaTeX tables: `python tokenizer.py eval CONFIG` runs eval_all
with tokenizer.py's settings (eval_*, renyi_alpha, premium_*, flores_*).

    python tokenizer.py eval config/tokenizers_demo.py
    python tokenizer.py eval config/tokenizers_fineweb2.py --flores_dir=data/flores200_dataset

Writes out/tokenizer_eval/{name}/{corpus}_{split}_{sha12}/metrics.json per tokenizer and eval text
(per language and overall: bytes and chars per token, fertility, continued words, vocabulary
utilisation, Shannon and Rényi efficiency, the parity premium, Gini; sha12: the split's sha256, so
several corpora stand side by side, uniscale/study_inputs.py) and, for all tokenizers together,
out/tokenizer_eval/{corpus}_{split}_{sha12}_*.png / *.tex. A split whose bytes are not the sha256
prepare.py recorded (edited since) is refused before anything is measured.

The premium is Petrov et al. (2023)'s: tokens of a text / tokens of the same text in the
reference language, on PARALLEL text (uniscale/premium.py: FLORES-200 files, FLORES+ from the hub,
a user's files, or the embedded generator's stories told in every language), their protocol by
default (each language's text joined and encoded once); metrics.json's `premium` holds the counts,
premiums and their Gini (and the per-sentence premium, named so), per_lang[lang]['premium'] and
overall['gini_premium'] repeat them; plots: {tag}_premium_sorted.png (per tokenizer, languages
sorted, the reference at 1) and {tag}_premium_gini.png. Tokens per byte relative to the reference
on the (non-parallel) eval split is kept as `tokens_per_byte_vs_ref`: it is not the premium (it
makes 3-byte scripts look cheap).
"""
import contextlib
import glob
import json
import math
import os
import time
from collections import Counter

import numpy as np

from uniscale.atomic import read_json, write_atomic, write_error
from uniscale.code_identity import code_record
from uniscale.premium import check_premium_config, measure, parallel_set, premium_definition
from uniscale.identity import file_sha256
from uniscale.report_format import pyplot, save_figure
from uniscale.splits import read_docs
from uniscale.study_inputs import metrics_path, text_tag
from uniscale.tokenization import load_tokenizer, tokenizer_name

_WHITESPACE = np.array([c for c in range(0x3001) if chr(c).isspace()], dtype=np.uint32)  # str.split()'s set


def token_byte_lengths(tok):
    """UTF-8 bytes per id; from token_bytes where the tokenizer has it, else (approximately) from decode."""
    if hasattr(tok, 'token_bytes'):
        return np.array([len(tok.token_bytes(i)) for i in range(tok.vocab_size)], dtype=np.int64)
    return np.array([len(tok.decode([i]).encode('utf-8')) for i in range(tok.vocab_size)], dtype=np.int64)


def continued_words(text, ids, tok_len):
    """(words, words covered by 2+ tokens): words are str.split()'s, located in bytes against token spans."""
    cp = np.frombuffer(text.encode('utf-32-le'), dtype=np.uint32)
    if len(cp) == 0:
        return 0, 0
    nb = 1 + (cp >= 0x80) + (cp >= 0x800) + (cp >= 0x10000)  # UTF-8 length of each character
    start = np.cumsum(nb) - nb
    edge = np.diff(np.concatenate([[0], ~np.isin(cp, _WHITESPACE), [0]]).astype(np.int8))
    first, last = np.flatnonzero(edge == 1), np.flatnonzero(edge == -1) - 1  # each word's first and last char
    ends = np.cumsum(tok_len[np.asarray(ids, dtype=np.int64)])
    t_first = np.searchsorted(ends, start[first], side='right')
    t_last = np.searchsorted(ends, start[last] + nb[last] - 1, side='right')
    return len(first), int((t_last > t_first).sum())


def _distribution_stats(counts, vocab_size, alpha):
    p = counts[counts > 0] / counts.sum()
    shannon = float(-(p * np.log2(p)).sum())
    renyi = float(np.log2((p ** alpha).sum()) / (1 - alpha))
    log_v = math.log2(vocab_size)
    return {'shannon_entropy_bits': shannon, 'shannon_efficiency': shannon / log_v,
            'renyi_entropy_bits': renyi, 'renyi_efficiency': renyi / log_v,
            'vocab_used': int((counts > 0).sum()), 'vocab_utilisation': float((counts > 0).sum() / vocab_size)}


def gini(values):
    """Mean absolute difference over all ordered pairs / (2 x mean): 0 = all equal."""
    x = np.asarray(values, dtype=np.float64)
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())) if len(x) else None


def intrinsic_metrics(tok, docs_by_lang, alpha=2.5, reference='eng', unspaced_codes=(),
                      premium=None):
    """Per language and overall: bytes and chars per token, fertility, continued words, utilisation, Shannon and
    Rényi efficiency (normalised by log2 of the full vocab), Gini of tokens per byte, tokens per byte relative to
    `reference`; with `premium` (uniscale/premium.py's measure of this tokenizer), the parity
    premium: per language its premiums[lang], overall its Gini."""
    tok_len = token_byte_lengths(tok)
    per_lang, total, spaced = {}, np.zeros(tok.vocab_size, dtype=np.int64), np.zeros(3, dtype=np.int64)
    for lang, docs in sorted(docs_by_lang.items()):
        encoded = tok.encode_batch(docs)
        counts = np.bincount(np.fromiter((i for ids in encoded for i in ids), dtype=np.int64), minlength=tok.vocab_size)
        n_tok, n_bytes, n_chars = int(counts.sum()), sum(len(d.encode('utf-8')) for d in docs), sum(map(len, docs))
        n_words, n_cont = np.sum([continued_words(d, ids, tok_len) for d, ids in zip(docs, encoded)], axis=0, dtype=int)
        na = bool({lang, lang.split('_')[0], lang.split('_')[-1]} & set(unspaced_codes))  # e.g. cmn_Hani
        per_lang[lang] = {'n_docs': len(docs), 'n_bytes': n_bytes, 'n_chars': n_chars, 'n_tokens': n_tok,
                          'n_words': int(n_words), 'bytes_per_token': n_bytes / max(n_tok, 1),
                          'chars_per_token': n_chars / max(n_tok, 1), 'tokens_per_byte': n_tok / max(n_bytes, 1),
                          'fertility': None if na else n_tok / max(n_words, 1),
                          'continued_words': None if na else n_cont / max(n_words, 1),
                          'written_without_spaces': na, **_distribution_stats(counts, tok.vocab_size, alpha)}
        spaced += 0 if na else np.array([n_tok, n_words, n_cont])
        total += counts
    n_tok, n_bytes = int(total.sum()), sum(m['n_bytes'] for m in per_lang.values())
    overall = {'n_bytes': n_bytes, 'n_tokens': n_tok, 'bytes_per_token': n_bytes / max(n_tok, 1),
               'chars_per_token': sum(m['n_chars'] for m in per_lang.values()) / max(n_tok, 1),
               'fertility': spaced[0] / spaced[1] if spaced[1] else None,
               'continued_words': spaced[2] / spaced[1] if spaced[1] else None,
               **_distribution_stats(total, tok.vocab_size, alpha)}
    ref = per_lang.get(reference)
    prem = premium['premiums'] if premium else {}
    for lang, m in per_lang.items():
        m['tokens_per_byte_vs_ref'] = m['tokens_per_byte'] / ref['tokens_per_byte'] if ref else None
        m['premium'] = prem.get(lang)
    others = [p for lang, p in prem.items() if lang != (premium or {}).get('reference')]
    overall['gini_tokens_per_byte'] = gini([m['tokens_per_byte'] for m in per_lang.values()])
    overall['premium_mean'] = sum(others) / len(others) if others else None  # over the non-reference languages
    overall['premium_max'] = max(others) if others else None
    overall['gini_premium'] = premium['gini'] if premium else None
    return {'name': tok.name, 'kind': tok.kind, 'vocab_size': tok.vocab_size, 'hash': tok.hash,
            'renyi_alpha': alpha, 'premium_reference': premium['reference'] if premium else None,
            'premium_set': premium['set'] if premium else None, 'premium': premium,
            'definitions': {'premium': premium_definition(premium),
                            'tokens_per_byte_vs_ref': f"tokens per byte / tokens per byte of {reference} on the "
                                                      f"eval split (not parallel text: not the premium)",
                            'fertility': 'tokens per str.split() word; overall over languages written with spaces',
                            'continued_words': 'share of words whose bytes span 2+ tokens',
                            'efficiency': 'entropy of the unigram token distribution / log2(vocab_size)'},
            'overall': overall, 'per_lang': per_lang}


def read_docs_by_lang(path, max_bytes_per_lang=0):
    docs, n = {}, Counter()
    for _, d in read_docs(path):
        lang = d.get('lang') or 'und'
        if max_bytes_per_lang and n[lang] >= max_bytes_per_lang:
            continue
        docs.setdefault(lang, []).append(d['text'])
        n[lang] += len(d['text'].encode('utf-8'))
    return docs


COLUMNS = [('bytes_per_token', 'bytes/tok'), ('chars_per_token', 'chars/tok'), ('fertility', 'fertility'),
           ('continued_words', 'cont. words'), ('vocab_utilisation', 'vocab used'),
           ('renyi_efficiency', 'Rényi eff.'), ('shannon_efficiency', 'Shannon eff.'),
           ('gini_tokens_per_byte', 'Gini tok/byte'), ('premium_mean', 'mean premium'),
           ('gini_premium', 'Gini premium')]


def latex_table(header, rows, caption):
    tex = lambda s: str(s).replace('_', r'\_').replace('%', r'\%')
    cell = lambda v: '--' if v is None else f"{v:.3f}" if isinstance(v, float) else tex(v)
    lines = [r'\begin{table}[t]', r'\centering', r'\begin{tabular}{l' + 'r' * (len(header) - 1) + '}',
             r'\toprule', ' & '.join(map(tex, header)) + r' \\', r'\midrule']
    lines += [' & '.join(cell(v) for v in row) + r' \\' for row in rows]
    lines += [r'\bottomrule', r'\end{tabular}', rf'\caption{{{tex(caption)}}}', r'\end{table}', '']
    return '\n'.join(lines)


def write_reports(results, eval_dir, tag):
    """LaTeX tables and PNG plots comparing every evaluated tokenizer."""
    plt = pyplot()
    names = [r['name'] for r in results]
    langs = sorted({lang for r in results for lang in r['per_lang']})
    write_atomic(os.path.join(eval_dir, f"{tag}_overall.tex"), latex_table(
        ['tokenizer'] + [c for _, c in COLUMNS], [[r['name']] + [r['overall'].get(k) for k, _ in COLUMNS]
                                                 for r in results], f"Intrinsic metrics on {tag}"))
    premium_langs = sorted({lang for r in results for lang in premiums_of(r)})
    for key, what, keys in [('bytes_per_token', f"UTF-8 bytes per token on {tag}", langs),
                            ('premium', premium_caption(results), premium_langs)]:
        value = (lambda r, lang: premiums_of(r).get(lang)) if key == 'premium' else \
            (lambda r, lang: r['per_lang'].get(lang, {}).get(key))
        rows = [[lang] + [value(r, lang) for r in results] for lang in keys]
        write_atomic(os.path.join(eval_dir, f"{tag}_{key}.tex"),
                     latex_table(['language'] + names, rows, f"{what}, per language"))
        fig, ax = plt.subplots(figsize=(max(6, len(keys) * 0.6 * max(1, len(names) / 3)), 4))
        width = 0.8 / len(names)
        for j, r in enumerate(results):
            ax.bar(np.arange(len(keys)) + j * width, [value(r, lang) or 0 for lang in keys], width,
                   label=r['name'])
        ax.set_xticks(np.arange(len(keys)) + 0.4 - width / 2, keys, rotation=45, ha='right')
        ax.set_ylabel(what)
        ax.legend(fontsize='small')
        save_figure(fig, os.path.join(eval_dir, f"{tag}_{key}.png"))
    if premium_langs:
        premium_plots(plt, results, eval_dir, tag)
    n_rows = math.ceil(len(COLUMNS) / 4)
    fig, axes = plt.subplots(n_rows, 4, figsize=(15, 3.5 * n_rows), squeeze=False)
    for ax in axes.flat[len(COLUMNS):]:
        ax.set_visible(False)
    for ax, (key, what) in zip(axes.flat, COLUMNS):
        for kind in sorted({r['kind'] for r in results}):
            rs = sorted((r for r in results if r['kind'] == kind), key=lambda r: r['vocab_size'])
            xs = [r['vocab_size'] for r in rs if r['overall'].get(key) is not None]
            ax.plot(xs, [r['overall'][key] for r in rs if r['overall'].get(key) is not None], 'o-', label=kind)
        ax.set_xscale('log')
        ax.set_title(what)
    axes.flat[0].legend(fontsize='small')
    fig.supxlabel('vocabulary size')
    save_figure(fig, os.path.join(eval_dir, f"{tag}_vs_vocab.png"))


def premiums_of(r):
    """{language: premium} of one tokenizer's metrics ({} without parallel text)."""
    return (r.get('premium') or {}).get('premiums') or {}


def premium_caption(results):
    p = next((r['premium'] for r in results if r.get('premium')), None)
    if not p:
        return 'parity premium (no parallel text)'
    return f"parity premium vs {p['reference']} ({p['set']}, {p['mode']})"


def premium_plots(plt, results, eval_dir, tag):
    """{tag}_premium_sorted.png: per tokenizer, its premium per language in increasing order, the
    reference's 1 marked; {tag}_premium_gini.png: the premium's Gini per tokenizer (and the
    per-sentence premium's, where there is one)."""
    rs = [r for r in results if premiums_of(r)]
    cols = min(4, len(rs))
    rows = math.ceil(len(rs) / cols)
    n_langs = max(len(premiums_of(r)) for r in rs)
    fig, axes = plt.subplots(rows, cols, figsize=(max(4, 0.3 * n_langs + 1.5) * cols, 3.6 * rows),
                             squeeze=False, sharey=True)
    for ax in axes.flat[len(rs):]:
        ax.set_visible(False)
    for ax, r in zip(axes.flat, rs):
        ref = r['premium']['reference']
        ranked = sorted(premiums_of(r).items(), key=lambda kv: kv[1])
        ax.bar(range(len(ranked)), [v for _, v in ranked],
               color=['tab:orange' if lang == ref else 'tab:blue' for lang, _ in ranked])
        ax.axhline(1.0, color='grey', lw=0.8, ls='--')
        ax.set_xticks(range(len(ranked)), [lang for lang, _ in ranked], rotation=90,
                      fontsize='x-small')
        ax.set_title(f"{r['name']} (Gini {r['premium']['gini']:.3f})", fontsize='small')
    axes[0][0].set_ylabel(f"premium vs {rs[0]['premium']['reference']} (= 1)")
    fig.suptitle(premium_caption(rs), fontsize='small')
    save_figure(fig, os.path.join(eval_dir, f"{tag}_premium_sorted.png"))
    fig, ax = plt.subplots(figsize=(max(5, 0.6 * len(rs) + 2), 4))
    x = np.arange(len(rs))
    ax.bar(x - 0.2, [r['premium']['gini'] for r in rs], 0.4,
           label=f"premium ({rs[0]['premium']['mode']})")
    ps = [r['premium'].get('gini_per_sentence') for r in rs]
    if None not in ps:
        ax.bar(x + 0.2, ps, 0.4, label='per-sentence premium')
    ax.set_xticks(x, [r['name'] for r in rs], rotation=45, ha='right')
    ax.set_ylabel('Gini across languages (0 = equal)')
    ax.legend(fontsize='small')
    save_figure(fig, os.path.join(eval_dir, f"{tag}_premium_gini.png"))


@contextlib.contextmanager
def writing(eval_dir):
    """A full or read-only disk while writing the metrics is one line, and no temp file is left behind."""
    try:
        yield
    except OSError as e:
        for f in glob.glob(os.path.join(glob.escape(eval_dir), '**', '*.tmp'), recursive=True):
            os.remove(f)
        raise write_error(eval_dir, e, '--eval_dir') from None


def distinct_names(toks):
    """The tokenizers, each once; two of one name (bpe-4k from two folders) would write one metrics.json and one
    legend entry, each taking the other's numbers: refused in one line. The same one listed twice (one hash) is kept
    once."""
    by_name = {}
    for tok in toks:
        other = by_name.setdefault(tok.name, tok)
        if other.hash != tok.hash:
            raise SystemExit(f"tokenizer eval: two tokenizers are named {tok.name!r} ({other.path}, hash "
                             f"{other.hash[:12]}; {tok.path}, hash {tok.hash[:12]}): their metrics would overwrite "
                             f"each other's; evaluate them with separate --eval_dir, or retrain one under another name")
    return list(by_name.values())


def eval_all(cfg):
    paths = [os.path.join(cfg['out_dir'], tokenizer_name(a, v)) for a in cfg['algorithms']
             for v in cfg['vocab_sizes']]
    toks = distinct_names([load_tokenizer(p) for p in paths + list(cfg['eval_tokenizers'])])  # before the slow part
    check_premium_config(cfg)
    split_path = os.path.join(cfg['corpus_dir'], cfg['corpus'], f"{cfg['eval_split']}.jsonl")
    split_sha = checked_split_sha(cfg['corpus_dir'], cfg['corpus'], cfg['eval_split'])  # the text
    docs = read_docs_by_lang(split_path, cfg['eval_max_bytes_per_lang'])
    if not docs:
        raise SystemExit(f"{split_path}: no documents; re-run prepare.py for corpus {cfg['corpus']!r}")
    tag = text_tag(cfg['corpus'], cfg['eval_split'], split_sha)
    pset = parallel_set(cfg, set(docs))
    print(f"parity premium ({cfg['premium_mode']}) on {pset['set']}: {len(pset['texts'])} "
          f"languages, reference {pset['reference']}, text sha256 {pset['identity'][:12]}")
    results, code = [], code_record('tokenizer_eval')  # what computed them: study 1 checks it
    for tok in toks:
        t0 = time.time()
        premium = measure(tok, pset, cfg['premium_mode'])
        m = intrinsic_metrics(tok, docs, cfg['renyi_alpha'], pset['reference'],
                              set(cfg['unspaced']), premium)
        m.update(corpus=cfg['corpus'], split=cfg['eval_split'], split_sha256=split_sha, path=tok.path,
                 trained_on=getattr(tok, 'trained_on', None), code=code,
                 max_bytes_per_lang=cfg['eval_max_bytes_per_lang'])
        path = metrics_path(cfg['eval_dir'], tok.name, cfg['corpus'], cfg['eval_split'], split_sha)
        with writing(cfg['eval_dir']):
            write_atomic(path, json.dumps(m, indent=2))
        o = m['overall']
        print(f"{tok.name:>16}: {o['bytes_per_token']:.3f} bytes/token, Rényi eff {o['renyi_efficiency']:.3f}, "
              f"vocab used {o['vocab_utilisation']:.1%}, Gini tok/byte "
              f"{o['gini_tokens_per_byte']:.3f}, mean premium "
              f"{o['premium_mean'] or float('nan'):.3f}, "
              f"premium Gini {o['gini_premium']:.3f} ({time.time() - t0:.1f}s)")
        results.append(m)
    with writing(cfg['eval_dir']):
        write_reports(results, cfg['eval_dir'], tag)
    n_plots = len(glob.glob(os.path.join(glob.escape(cfg['eval_dir']), tag + '_*')))
    print(f"{cfg['eval_dir']}: {{name}}/{tag}/metrics.json per tokenizer, {n_plots} plots and "
          f"tables ({tag}_*)")


def remake_advice(corpus):
    """The command that remakes a corpus's splits (prepare.py skips made ones unless told)."""
    return (f"remake it with `python prepare.py CONFIG --corpus={corpus} --overwrite=True` "
            f"(CONFIG: the one that made it)")


def checked_split_sha(corpus_dir, corpus, split):
    """The sha256 of a text split's bytes, refused in one line when it is not the one prepare.py
    recorded in the corpus's meta.json (edited, or half-rebuilt, since): numbers of it would be of
    text no artifact names."""
    path = os.path.join(corpus_dir, corpus, f"{split}.jsonl")
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: text split not found; make it with "
                         f"`python prepare.py CONFIG --corpus={corpus}`")
    sha, meta_path = file_sha256(path), os.path.join(corpus_dir, corpus, 'meta.json')
    meta = None
    if os.path.isfile(meta_path):
        meta = read_json(meta_path, 'corpus meta.json', remake_advice(corpus))
    splits = meta.get('splits') if isinstance(meta, dict) else None
    recorded = ((splits or {}).get(split) or {}).get('sha256')
    if recorded and recorded != sha:
        raise SystemExit(f"{path}: the {split} split's bytes (sha256 {sha[:12]}) are not the "
                         f"{recorded[:12]} prepare.py recorded in {meta_path}: edited since; "
                         f"{remake_advice(corpus)}, or restore it")
    return sha
