"""
Issue 30's goal for the parity-aware arm, measured offline on real text: plain BPE and parity-aware
BPE at equal vocabulary (8k, 16k ids), each trained on one tok split, scored on FLORES-200 devtest
(dev is the parity arm's training signal, so it is never scored): the premium per language (per
sentence and of totals), its Gini (the reference's 1 included) and global tokens per byte (all of
devtest). Goal: parity's Gini <= half of BPE's with tokens per byte within 1% of BPE's.

The tok split is NTREX-128 (Microsoft, CC BY-SA 4.0: WMT newstest2019 translated into 128
languages, 1,997 sentences each, ~0.25-0.67 MB a language): real news text in all 20 study
languages, offline. It is parallel, unlike FineWeb-2, so plain BPE sees every language's content
once; what is measured is the algorithm's effect, not FineWeb-2's mixture. FLORES-200 comes from
Petrov et al.'s copy. Both are read from bare git mirrors:

    NTREX_REPO=/work/.mirror/MicrosoftTranslator+NTREX/repo \
    PETROV_REPO=/work/.mirror/AleksandarPetrov+tokenization-fairness/repo \
    python bench/parity_fairness.py --vocab_sizes=8000,16000

Prints one table per size and the ratios; writes out/bench/parity_fairness.json.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/, for machine.py
import machine  # noqa: E402

import tokenizer  # noqa: E402
from uniscale import fairness  # noqa: E402
from uniscale.atomic import write_atomic  # noqa: E402
from uniscale.tokenization import load_tokenizer  # noqa: E402

# study code -> NTREX-128 file code (newstest2019-ref.{code}.txt)
NTREX_CODES = {
    'eng': 'eng-US', 'cmn_Hani': 'zho-CN', 'spa_Latn': 'spa', 'arb_Arab': 'arb', 'rus_Cyrl': 'rus',
    'deu_Latn': 'deu', 'fra_Latn': 'fra', 'jpn_Jpan': 'jpn', 'hin_Deva': 'hin', 'por_Latn': 'por',
    'ind_Latn': 'ind', 'vie_Latn': 'vie', 'tur_Latn': 'tur', 'pol_Latn': 'pol', 'ell_Grek': 'ell',
    'swh_Latn': 'swa', 'fas_Arab': 'fas', 'ben_Beng': 'ben', 'tha_Thai': 'tha', 'kor_Hang': 'kor',
}
REFERENCE = 'eng'


def git_show(repo, path):
    return subprocess.run(['git', '--git-dir', repo, 'show', f'HEAD:{path}'], check=True,
                          capture_output=True).stdout.decode('utf-8')


def ntrex_docs(repo):
    """{lang: [sentence, ...]}: each NTREX line one document (the tok split's unit)."""
    return {lang: [s for s in git_show(repo, f'NTREX-128/newstest2019-ref.{code}.txt').splitlines()
                   if s.strip()] for lang, code in NTREX_CODES.items()}


def equal_bytes(docs):
    """Each language's first sentences up to the smallest language's bytes: the study's mixture
    (config/fineweb2.py: temperature 0, equal bytes per language), not NTREX's equal content."""
    cap, out = min(sum(len(s.encode('utf-8')) for s in d) for d in docs.values()), {}
    for lang, sentences in docs.items():
        out[lang], n = [], 0
        for s in sentences:
            if n >= cap:
                break
            out[lang].append(s)
            n += len(s.encode('utf-8'))
    return out


def flores_sentences(repo, split):
    """{lang: [sentence, ...]} of FLORES-200 `split`, line-aligned across languages."""
    out = {}
    for lang, code in fairness.FLORES200_CODES.items():
        text = git_show(repo, f'flores200_dataset/{split}/{code}.{split}')
        out[lang] = text.split('\n')[:-1] if text.endswith('\n') else text.split('\n')
    if len({len(v) for v in out.values()}) != 1:
        raise SystemExit(f"FLORES-200 {split}: languages have different line counts")
    return out


def scores(tok, devtest):
    """Premiums (per sentence and of totals) vs REFERENCE, their Gini, global tokens per byte."""
    n = {lang: [len(ids) for ids in tok.encode_batch(s)] for lang, s in devtest.items()}
    ref = n[REFERENCE]
    per_sentence = {lang: sum(a / b for a, b in zip(c, ref)) / len(ref) for lang, c in n.items()}
    totals = fairness.premiums({lang: sum(c) for lang, c in n.items()}, REFERENCE)
    n_bytes = sum(len(x.encode('utf-8')) for s in devtest.values() for x in s)
    return {'per_sentence': per_sentence, 'totals': totals,
            'gini_per_sentence': fairness.gini(per_sentence.values()),
            'gini_totals': fairness.gini(totals.values()),
            'tokens_per_byte': sum(map(sum, n.values())) / n_bytes}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--vocab_sizes', default='8000,16000')
    ap.add_argument('--out', default='out/bench/parity_fairness.json')
    ap.add_argument('--global_merges', type=int, default=0)
    ap.add_argument('--mixture', default='equal_bytes', choices=['equal_bytes', 'equal_content'],
                    help="equal_bytes: the study's mixture; equal_content: all of NTREX")
    args = ap.parse_args()
    ntrex, petrov = os.environ.get('NTREX_REPO'), os.environ.get('PETROV_REPO')
    if not ntrex or not petrov:
        raise SystemExit("set NTREX_REPO and PETROV_REPO to the bare git mirrors "
                         "(see the docstring)")
    print(f"machine: {machine.describe()}, load average {os.getloadavg()[0]:.1f}")
    docs = ntrex_docs(ntrex)
    docs = equal_bytes(docs) if args.mixture == 'equal_bytes' else docs
    dev, devtest = flores_sentences(petrov, 'dev'), \
        flores_sentences(petrov, 'devtest')
    texts = [s for lang in docs for s in docs[lang]]
    print(f"tok split: NTREX-128 ({args.mixture}), {len(docs)} languages, "
          f"{len(texts):,} sentences, "
          f"{sum(len(t.encode()) for t in texts) / 1e6:.1f} MB; dev {len(dev[REFERENCE])}, "
          f"devtest {len(devtest[REFERENCE])} sentences a language")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for v in [int(x) for x in args.vocab_sizes.split(',')]:
            row = {}
            t0 = time.time()
            tokenizer.train_bpe(texts, v, os.path.join(tmp, f'bpe-{v}'))
            row['bpe'] = {'seconds': time.time() - t0,
                          **scores(load_tokenizer(os.path.join(tmp, f'bpe-{v}')), devtest)}
            t0 = time.time()
            tokenizer.train_parity(((t, lang) for lang in docs for t in docs[lang]),
                                   {lang: dev[lang] for lang in docs}, v,
                                   os.path.join(tmp, f'parity-{v}'), n_global=args.global_merges)
            row['parity'] = {'seconds': time.time() - t0,
                             **scores(load_tokenizer(os.path.join(tmp, f'parity-{v}')), devtest)}
            results[v] = row
            report(v, row)
    write_atomic(args.out, json.dumps({'mixture': args.mixture, 'sizes': results}, indent=1))
    print(f"{args.out}: written")


def report(v, row):
    b, p = row['bpe'], row['parity']
    print(f"\n{v:,} ids, FLORES-200 devtest (premium vs {REFERENCE}; Gini with {REFERENCE}'s 1)")
    print(f"{'':>10} {'Gini/sent':>10} {'Gini/tot':>9} {'tok/byte':>9} {'train s':>8}")
    for name, r in (('bpe', b), ('parity', p)):
        print(f"{name:>10} {r['gini_per_sentence']:10.4f} {r['gini_totals']:9.4f} "
              f"{r['tokens_per_byte']:9.5f} {r['seconds']:8.1f}")
    print(f"{'parity/bpe':>10} {p['gini_per_sentence'] / b['gini_per_sentence']:10.3f} "
          f"{p['gini_totals'] / b['gini_totals']:9.3f} "
          f"{p['tokens_per_byte'] / b['tokens_per_byte']:9.4f} {p['seconds'] / b['seconds']:8.2f}")
    print("goal: Gini ratio <= 0.5, tokens/byte ratio within [0.99, 1.01]")
    worst = sorted(p['totals'], key=lambda lang: -b['totals'][lang])[:5]
    print("highest BPE premiums (totals), bpe -> parity: " + ', '.join(
        f"{lang} {b['totals'][lang]:.2f}->{p['totals'][lang]:.2f}" for lang in worst))


if __name__ == '__main__':
    main()
