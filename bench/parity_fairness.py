"""
Issue 30's goal for the parity arm, on the real text at hand: plain BPE and parity-aware BPE trained
on the same multilingual text (NTREX-128, newstest2019 in 8 of the study's languages, English in
its 4 versions so that it is ~1/3 of the bytes), parity's dev set FLORES-200 dev; measured on
FLORES-200 devtest only: the premium Gini (per sentence, and of totals; reference English, all 8
languages) and global tokens per byte (all of devtest). Goal: Gini <= half of BPE's, tokens per
byte within 1% of BPE's. The training text is small (~3.6 MB): sizes it can fill only.

    git -C <MicrosoftTranslator/NTREX mirror> archive HEAD NTREX-128 | tar -x -C /tmp/ntrex
    git -C <Petrov's mirror> archive HEAD flores200_dataset | tar -x -C /tmp/flores
    python bench/parity_fairness.py --ntrex_dir=/tmp/ntrex/NTREX-128 \
        --flores_dir=/tmp/flores/flores200_dataset --vocab_sizes=[8000]
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import configurator  # noqa: E402
import tokenizer  # noqa: E402
from uniscale.fairness import FLORES200_CODES, gini  # noqa: E402

ntrex_dir = '/tmp/ntrex/NTREX-128'
flores_dir = '/tmp/flores/flores200_dataset'
vocab_sizes = [8000]
global_merges = 0  # the hybrid: this many first merges by the summed counts
NTREX = {'eng': ['src.eng', 'ref.eng-GB', 'ref.eng-IN', 'ref.eng-US'], 'deu_Latn': ['ref.deu'],
         'spa_Latn': ['ref.spa'], 'fra_Latn': ['ref.fra'], 'rus_Cyrl': ['ref.rus'],
         'cmn_Hani': ['ref.zho-CN'], 'arb_Arab': ['ref.arb'], 'hin_Deva': ['ref.hin']}


def lines(path):
    with open(path, encoding='utf-8') as f:
        out = f.read().split('\n')
    return out[:-1] if out[-1:] == [''] else out


def measure(tok, devtest):
    """Premium Gini per sentence and of totals (reference eng) and tokens per byte on devtest."""
    counts = {lang: [len(ids) for ids in tok.encode_batch(s)] for lang, s in devtest.items()}
    per_sentence = {lang: sum(c / r for c, r in zip(counts[lang], counts['eng'])) / len(c_)
                    for lang, c_ in counts.items()}
    totals = {lang: sum(c) / sum(counts['eng']) for lang, c in counts.items()}
    n_bytes = sum(len(t.encode()) for s in devtest.values() for t in s)
    return gini(per_sentence.values()), gini(totals.values()), \
        sum(map(sum, counts.values())) / n_bytes, totals


def main():
    docs = [(t, lang) for lang, names in NTREX.items() for n in names
            for t in lines(os.path.join(ntrex_dir, f"newstest2019-{n}.txt"))]
    flores = lambda split: {lang: lines(os.path.join(flores_dir, split,
                                                     f"{FLORES200_CODES[lang]}.{split}"))
                            for lang in NTREX}
    dev, devtest = flores('dev'), flores('devtest')
    print(f"training text: {sum(len(t.encode()) for t, _ in docs) / 1e6:.1f} MB, "
          f"{len(docs)} lines; devtest {len(devtest['eng'])} sentences x {len(devtest)} languages")
    work = tempfile.mkdtemp()
    try:
        for v in vocab_sizes:
            bpe = tokenizer.train_bpe([t for t, _ in docs], v, os.path.join(work, f'b{v}'))
            parity = tokenizer.train_parity(docs, dev, v, os.path.join(work, f'p{v}'),
                                            n_global=global_merges)
            b, p = measure(bpe, devtest), measure(parity, devtest)
            print(f"{v} ids ({global_merges} global): premium Gini per sentence bpe {b[0]:.4f} "
                  f"parity {p[0]:.4f} "
                  f"({p[0] / b[0]:.2f}x), of totals bpe {b[1]:.4f} parity {p[1]:.4f} "
                  f"({p[1] / b[1]:.2f}x); tokens/byte bpe {b[2]:.4f} parity {p[2]:.4f} "
                  f"({100 * (p[2] / b[2] - 1):+.2f}%)")
            print('   premiums of totals, bpe:   ', {k: round(x, 3) for k, x in b[3].items()})
            print('   premiums of totals, parity:', {k: round(x, 3) for k, x in p[3].items()})
    finally:
        shutil.rmtree(work)


if __name__ == '__main__':
    globals().update(configurator.configure(globals()))
    main()
