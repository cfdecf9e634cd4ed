"""
Intrinsic metrics of tokenizers, their plots and LaTeX tables: `python tokenizer.py eval CONFIG` runs eval_all
with tokenizer.py's settings (eval_*, renyi_alpha, premium_*, flores_*).

    python tokenizer.py eval config/tokenizers_demo.py
    python tokenizer.py eval config/tokenizers_fineweb2.py --premium_set=flores200

Writes out/tokenizer_eval/{name}/{corpus}_{split}_{sha12}/metrics.json per tokenizer and eval text
(per language and overall: bytes and chars per token, fertility, continued words, vocabulary
utilisation, Shannon and Rényi efficiency, the parity premium, Gini; sha12: the split's sha256, so
several corpora stand side by side, uniscale/study_inputs.py) and, for all tokenizers together,
out/tokenizer_eval/{corpus}_{split}_{sha12}_*.png / *.tex. A split whose bytes are not the sha256
prepare.py recorded (edited since) is refused before anything is measured.

The premium is Petrov et al. (2023)'s: tokens of a text / tokens of the same text in the reference language,
on PARALLEL text, averaged over the parallel set: FLORES-200 devtest (premium_set='flores200', from the hub) or,
offline, the embedded generator's stories told in every language ('embedded-parallel'; parallel in plot and
structure, not word for word). Tokens per byte relative to the reference on the (non-parallel) eval split is
kept as `tokens_per_byte_vs_ref`: it is not the premium (it makes 3-byte scripts look cheap).
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
from uniscale.identity import file_sha256
from uniscale.report_format import pyplot, save_figure
from uniscale.sources import hub_available
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


def parity_premium(tok, parallel, reference='eng'):
    """Petrov et al. 2023 on a parallel set {lang: [text, ...]} aligned by index: per language, the mean over
    the set of tokens(text) / tokens(its `reference` version) (`premium`), and total tokens over total reference
    tokens (`premium_of_totals`). Pairs whose reference text has no tokens are left out."""
    if reference not in parallel:
        raise ValueError(f"parallel set has no {reference!r} texts (languages: {sorted(parallel)})")
    ref = [len(ids) for ids in tok.encode_batch(parallel[reference])]
    out = {}
    for lang, texts in sorted(parallel.items()):
        if len(texts) != len(ref):
            raise ValueError(f"parallel set: {len(texts)} {lang} texts but {len(ref)} {reference} texts")
        n = [len(ids) for ids in tok.encode_batch(texts)] if lang != reference else ref
        pairs = [(a, b) for a, b in zip(n, ref) if b > 0]
        out[lang] = {'premium': sum(a / b for a, b in pairs) / len(pairs) if pairs else None,
                     'premium_of_totals': sum(a for a, _ in pairs) / sum(b for _, b in pairs) if pairs else None,
                     'n_texts': len(pairs)}
    return out


def intrinsic_metrics(tok, docs_by_lang, alpha=2.5, reference='eng', unspaced_codes=(), parallel=None,
                      premium_set=None):
    """Per language and overall: bytes and chars per token, fertility, continued words, utilisation, Shannon and
    Rényi efficiency (normalised by log2 of the full vocab), Gini of tokens per byte, tokens per byte relative to
    `reference`; with a parallel set ({lang: [text]}, named premium_set), the parity premium."""
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
    premium = parity_premium(tok, parallel, reference) if parallel else {}
    for lang, m in per_lang.items():
        m['tokens_per_byte_vs_ref'] = m['tokens_per_byte'] / ref['tokens_per_byte'] if ref else None
        m['premium'] = premium.get(lang, {}).get('premium')
    others = [p['premium'] for lang, p in premium.items() if lang != reference and p['premium'] is not None]
    overall['gini_tokens_per_byte'] = gini([m['tokens_per_byte'] for m in per_lang.values()])
    overall['premium_mean'] = sum(others) / len(others) if others else None  # over the non-reference languages
    overall['premium_max'] = max(others) if others else None
    overall['gini_premium'] = gini([p['premium'] for p in premium.values() if p['premium'] is not None]) \
        if premium else None
    return {'name': tok.name, 'kind': tok.kind, 'vocab_size': tok.vocab_size, 'hash': tok.hash,
            'renyi_alpha': alpha, 'premium_reference': reference if premium else None,
            'premium_set': premium_set if premium else None, 'premium': premium,
            'definitions': {'premium': f"mean over the parallel set ({premium_set}) of tokens of a text / tokens of "
                                       f"its {reference} version (Petrov et al. 2023)",
                            'tokens_per_byte_vs_ref': f"tokens per byte / tokens per byte of {reference} on the "
                                                      f"eval split (not parallel text: not the premium)",
                            'fertility': 'tokens per str.split() word; overall over languages written with spaces',
                            'continued_words': 'share of words whose bytes span 2+ tokens',
                            'efficiency': 'entropy of the unigram token distribution / log2(vocab_size)'},
            'overall': overall, 'per_lang': per_lang}


def check_premium_config(cfg):
    """Fail at once (before the eval split is read) on a premium setting that cannot work."""
    ref, which = cfg['premium_reference'], cfg['premium_set']
    if which == 'embedded-parallel':
        from data.embedded import generate
        if ref not in generate.LANGS:
            raise SystemExit(f"config error: premium_reference={ref!r} is not a language of the embedded corpus "
                             f"{generate.LANGS}; use 'eng' or --premium_set=flores200")
    elif which == 'flores200':
        if not hub_available(cfg['flores_repo']):
            raise SystemExit(f"{cfg['flores_repo']}: the Hugging Face hub cannot be reached (offline, or "
                             f"HF_HUB_OFFLINE=1); use --premium_set=embedded-parallel (the generated stories told in "
                             f"each language)")
    else:
        raise SystemExit(f"config error: premium_set={which!r} unknown; use 'embedded-parallel' or 'flores200'")


def flores_texts(repo, split, langs, codes):
    """{lang: [sentence, ...]} of FLORES-200 (FLORES+ on the hub), each language in the order of the sentence ids."""
    import datasets  # heavy, and only FLORES needs it
    out = {}
    for lang in langs:
        code = codes.get(lang, lang if '_' in lang else f"{lang}_Latn")
        try:
            rows = sorted(datasets.load_dataset(repo, code, split=split), key=lambda r: r['id'])
        except Exception as e:  # gated dataset, unknown config, network: say which language and what to do
            raise SystemExit(f"{repo}: cannot load {code!r} ({split}) for language {lang!r}: {type(e).__name__}: "
                             f"{str(e).strip().splitlines()[0][:200] if str(e).strip() else ''}; accept the "
                             f"dataset's terms on the hub and `huggingface-cli login`, or map the language to its "
                             f"FLORES code with --flores_codes") from None
        out[lang] = [r['text'] if 'text' in r else r['sentence'] for r in rows]
    if len({len(v) for v in out.values()}) > 1:
        raise SystemExit(f"{repo} ({split}): languages have different numbers of sentences "
                         f"{ {k: len(v) for k, v in out.items()} }; it is not parallel, check flores_repo/flores_split")
    return out


def parallel_texts(cfg, langs):
    """The parallel set the premium is measured on, for the eval split's languages (and the reference)."""
    check_premium_config(cfg)
    ref = cfg['premium_reference']
    if cfg['premium_set'] == 'flores200':
        return flores_texts(cfg['flores_repo'], cfg['flores_split'], sorted(set(langs) | {ref}), cfg['flores_codes'])
    from data.embedded import generate
    told = [lang for lang in generate.LANGS if lang in langs or lang == ref]
    return generate.generate_parallel(cfg['premium_n_stories'], cfg['premium_seed'], told)


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
           ('gini_tokens_per_byte', 'Gini tok/byte'), ('premium_mean', 'mean premium')]


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
    premium_set = results[0].get('premium_set') if results else None
    for key, what in [('bytes_per_token', 'UTF-8 bytes per token'),
                      ('premium', f"parity premium vs {results[0].get('premium_reference')} ({premium_set})")]:
        rows = [[lang] + [r['per_lang'].get(lang, {}).get(key) for r in results] for lang in langs]
        write_atomic(os.path.join(eval_dir, f"{tag}_{key}.tex"),
                      latex_table(['language'] + names, rows, f"{what} per language" +
                                  ('' if key == 'premium' else f" on {tag}")))
        fig, ax = plt.subplots(figsize=(max(6, len(langs) * 0.6 * max(1, len(names) / 3)), 4))
        width = 0.8 / len(names)
        for j, r in enumerate(results):
            vals = [r['per_lang'].get(lang, {}).get(key) or 0 for lang in langs]
            ax.bar(np.arange(len(langs)) + j * width, vals, width, label=r['name'])
        ax.set_xticks(np.arange(len(langs)) + 0.4 - width / 2, langs, rotation=45, ha='right')
        ax.set_ylabel(what)
        ax.legend(fontsize='small')
        save_figure(fig, os.path.join(eval_dir, f"{tag}_{key}.png"))
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
    parallel = parallel_texts(cfg, set(docs))
    print(f"parity premium on {cfg['premium_set']}: {len(parallel[cfg['premium_reference']]):,} texts in "
          f"{len(parallel)} languages")
    results = []
    for tok in toks:
        t0 = time.time()
        m = intrinsic_metrics(tok, docs, cfg['renyi_alpha'], cfg['premium_reference'], set(cfg['unspaced']),
                              parallel, cfg['premium_set'])
        m.update(corpus=cfg['corpus'], split=cfg['eval_split'], split_sha256=split_sha, path=tok.path,
                 trained_on=getattr(tok, 'trained_on', None),
                 max_bytes_per_lang=cfg['eval_max_bytes_per_lang'])
        path = metrics_path(cfg['eval_dir'], tok.name, cfg['corpus'], cfg['eval_split'], split_sha)
        with writing(cfg['eval_dir']):
            write_atomic(path, json.dumps(m, indent=2))
        o = m['overall']
        print(f"{tok.name:>16}: {o['bytes_per_token']:.3f} bytes/token, Rényi eff {o['renyi_efficiency']:.3f}, "
              f"vocab used {o['vocab_utilisation']:.1%}, Gini {o['gini_tokens_per_byte']:.3f}, mean premium "
              f"{o['premium_mean'] or float('nan'):.3f} ({time.time() - t0:.1f}s)")
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
