"""
Parity-aware BPE's training time against plain BPE's (tokenizer.train_bpe, Hugging Face's Rust
trainer) at the same vocabulary, measured in the same run on the same documents (target <= 3x):
wall seconds and CPU seconds (all threads; each training in a forked child) of the whole training
(counting, merges, tokenizer.json), parity with the embedded parallel dev set (100 stories; its
generation, in the parity time, is printed apart).

    python bench/parity_speed.py                      # the demo's tok split at 2k, 8k, 16k ids
    python -m data.embedded.generate --out=/tmp/emb8m.jsonl --n_bytes=8000000 --seed=5
    python bench/parity_speed.py --split=/tmp/emb8m.jsonl
    PARITY_REPO=<the authors' repository, bare git dir> python bench/parity_speed.py  # + theirs
    NTREX_REPO=<mirror> PETROV_REPO=<mirror> python bench/parity_speed.py --split=ntrex \
        --vocab_sizes=[8000,16000]

--split=ntrex: real text, bench/parity_fairness.py's workload (NTREX-128 in the study's 20
languages at equal bytes, 4.8 MB; dev set FLORES-200 dev, a file read, timed inside parity).
"""
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/, for machine.py
import machine  # noqa: E402
from btm_speed import in_child  # noqa: E402  (a forked child: result, CPU-s, peak RSS)

import configurator  # noqa: E402
import parity_fairness  # noqa: E402  (bench/: NTREX-128 and FLORES-200 from the mirrors)
import tokenizer  # noqa: E402
from uniscale import parity_inputs  # noqa: E402

split = 'out/corpus/embedded/tok.jsonl'  # a jsonl of {"text", "lang"} documents
vocab_sizes = [2000, 8000, 16000]
repeats = 1                              # the faster of this many runs of each


def refusing(fn):
    """fn's result, or its one-line refusal (a vocabulary the text cannot fill) as a string: a
    child that exits without answering would leave in_child waiting."""
    def run(*args):
        try:
            return fn(*args)
        except SystemExit as e:
            return str(e)
    return run


def documents(path):
    """(text, lang) documents of a jsonl split, or of NTREX-128 (path 'ntrex')."""
    if path != 'ntrex':
        return list(parity_inputs.docs_with_lang(path))
    docs = parity_fairness.equal_bytes(parity_fairness.ntrex_docs(os.environ['NTREX_REPO']))
    return [(t, lang) for lang in docs for t in docs[lang]]


def dev_set(path, cfg, langs):
    """The parity arm's parallel dev set: the embedded stories, or FLORES-200 dev for NTREX."""
    if path != 'ntrex':
        return parity_inputs.parallel_dev_set(cfg, langs)
    dev = parity_fairness.flores_sentences(os.environ['PETROV_REPO'], 'dev')
    return {lang: dev[lang] for lang in langs}


@refusing
def bpe(path, v, out):
    texts = [t for t, _ in documents(path)]
    t0 = time.time()
    tokenizer.train_bpe(texts, v, out)
    return time.time() - t0


@refusing
def parity(path, v, out, cfg):
    docs = documents(path)
    t0 = time.time()
    dev = dev_set(path, cfg, sorted({lang for _, lang in docs}))
    t1 = time.time()
    tokenizer.train_parity(docs, dev, v, out)
    return time.time() - t0, t1 - t0


def authors(path, n_merges, cfg, repo):
    """CPU-s of the authors' learn_bpe (base, --dict-input; the repository at PARITY_REPO, a bare
    git dir) and of our merge loop on the same words, n_merges merges each, and are they equal."""
    import importlib
    import io
    import subprocess
    import numpy as np
    from uniscale import parity_bpe
    src = tempfile.mkdtemp()
    archive = subprocess.run(['git', '--git-dir', repo, 'archive', 'HEAD'], check=True,
                             capture_output=True).stdout
    subprocess.run(['tar', '-x', '-C', src], input=archive, check=True)
    sys.path.insert(0, src)
    learn_bpe = importlib.import_module('parity_aware_bpe.parity_aware_learn_bpe').learn_bpe
    docs = documents(path)
    langs = sorted({lang for _, lang in docs})
    dev = dev_set(path, cfg, langs)
    train, _ = parity_bpe.word_counts_by_lang(docs, tokenizer.trainer_words)
    dev, _ = parity_bpe.word_counts_by_lang(((t, lang) for lang in langs for t in dev[lang]),
                                            tokenizer.trainer_words)
    chars = tokenizer._byte_level_chars()
    as_file = lambda counts: io.StringIO(''.join(
        f"{''.join(chars[b] for b in w.encode())} {c}\n" for w, c in counts.items()))
    t0 = time.process_time()
    _, theirs = learn_bpe([as_file(train[lang]) for lang in langs], io.StringIO(),
                          [as_file(dev[lang]) for lang in langs], n_merges, 2, is_dict=True)
    t_theirs = time.process_time() - t0
    alphabet = sorted(chars)
    words, t, d = parity_bpe.word_table(train, dev, langs,
                                        np.array([alphabet.index(c) for c in chars]))
    t0 = time.process_time()
    out = parity_bpe.learn_parity_merges(words, t, d, alphabet, 10**9, 2, max_merges=n_merges)
    t_ours = time.process_time() - t0
    ours = [(out['spell'][a], out['spell'][b]) for a, b in out['merges']]
    shutil.rmtree(src)
    return t_theirs, t_ours, ours == [tuple(m) for m in theirs], len(ours)


def main():
    cfg = configurator.defaults(tokenizer)
    if split == 'ntrex' and not (os.environ.get('NTREX_REPO') and os.environ.get('PETROV_REPO')):
        raise SystemExit("--split=ntrex: set NTREX_REPO and PETROV_REPO to the bare git mirrors "
                         "(bench/parity_fairness.py's docstring)")
    size = 'NTREX-128' if split == 'ntrex' else f"{os.path.getsize(split) / 1e6:.1f} MB"
    print(machine.describe(), '| load', os.getloadavg()[0], '|', split, size)
    work = tempfile.mkdtemp()
    try:
        for v in vocab_sizes:
            b = min((in_child(bpe, split, v, os.path.join(work, f'b{v}-{r}'))
                     for r in range(repeats)), key=lambda x: x[1])
            p = min((in_child(parity, split, v, os.path.join(work, f'p{v}-{r}'), cfg)
                     for r in range(repeats)), key=lambda x: x[1])
            if isinstance(b[0], str) or isinstance(p[0], str):
                print(f"{v:>6} ids: refused: {b[0] if isinstance(b[0], str) else p[0]}")
                continue
            print(f"{v:>6} ids: bpe {b[0]:.2f} s wall {b[1]:.2f} CPU-s | parity {p[0][0]:.2f} s "
                  f"wall (dev set {p[0][1]:.2f} s) {p[1]:.2f} CPU-s | ratio wall "
                  f"{p[0][0] / b[0]:.2f}x, CPU {p[1] / b[1]:.2f}x (target <= 3x) | peak RSS "
                  f"{b[2]:.0f} / {p[2]:.0f} MB")
    finally:
        shutil.rmtree(work)
    if os.environ.get('PARITY_REPO'):  # the merge loops alone, theirs and ours
        n = vocab_sizes[0] - 258
        r = in_child(authors, split, n, cfg, os.environ['PARITY_REPO'])[0]
        print(f"{n} merges: the authors' learn_bpe {r[0]:.2f} CPU-s, ours {r[1]:.2f} CPU-s "
              f"({r[0] / r[1]:.0f}x); the {r[3]} merges equal: {r[2]}")


if __name__ == '__main__':
    globals().update(configurator.configure(globals()))
    main()
