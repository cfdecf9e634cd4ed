"""
BTM speed, each number against a peer measured in the same run, on the generated corpus (embedded_corpus.py):
(a) learn_merges vs naive_learn_merges (recount after every merge) on a small corpus: speed-up, same merges
(b) BTM training (primitive BPE + encode + merges) vs a `tokenizers` BPE of the same final vocabulary, same text
    (target: BTM within 3x of plain BPE training time)
(c) encode throughput of the BTM vs that BPE on held-out text (target >= 0.5x)
(d) peak memory (max RSS) of (b)'s two trainings, each in its own forked process
(e) BTM training memory per primitive token: `python btm.py` (num_proc=1, so one process holds everything) on two
    corpus sizes, each run the only child of a fresh parent that reads its peak RSS with
    getrusage(RUSAGE_CHILDREN); bytes per token = the RSS difference / the primitive-token difference (the fixed
    cost, interpreter, libraries and the pre-token cache, cancels), with the merge loop's merges/s beside it

    python bench/btm_speed.py                       # 10 MB for (b): what a 2-core box does in about a minute
    python bench/btm_speed.py --n_bytes=1e8         # the issue's 100 MB
    python bench/btm_speed.py --only_memory=True    # (e) alone
"""
import json
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/, for machine.py
import machine  # noqa: E402
import numpy as np  # noqa: E402
import tokenizers  # noqa: E402

import btm  # noqa: E402
import configurator  # noqa: E402
import embedded_corpus  # noqa: E402
import tokenizer  # noqa: E402

n_bytes = 10_000_000        # of UTF-8 text for (b) and (d)
encode_bytes = 2_000_000    # of held-out text for (c)
n_base = 4096
vocab_size = 16384
naive_bytes = 30_000        # (a): text, primitive ids and merges small enough for the naive reference
naive_base = 300
naive_merges = 300
seed = 0
repeats = 2                 # (c): best of
memory_bytes = [4_000_000, 16_000_000]  # (e): UTF-8 text of the two corpus sizes
only_memory = False         # run (e) alone


def texts_of(n, s):
    return [d['text'] for d in embedded_corpus.generate_documents(n, seed=s)]


def in_child(fn, *args):
    """fn(*args) in a forked process -> (its result, CPU seconds of it and its workers, its peak RSS in MB)."""
    def run(conn):
        cpu = lambda: sum(sum(resource.getrusage(who)[:2]) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        t0 = cpu()
        out = fn(*args)
        conn.send((out, cpu() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    parent, child = mp.get_context('fork').Pipe()
    p = mp.get_context('fork').Process(target=run, args=(child,))
    p.start()
    out = parent.recv()
    p.join()
    return out


def train_bpe(texts, path):
    t0 = time.time()
    tokenizer.train_bpe(texts, vocab_size, path)
    return time.time() - t0


def train_btm(texts, path):
    t0 = time.time()
    tok = btm.train(texts, path, n_base, vocab_size, progress=False, num_proc=os.cpu_count())  # as BPE: all cores
    return time.time() - t0, tok.meta['train']['seconds']


def best_time(fn, arg):
    times = []
    for _ in range(repeats):
        t0 = time.time()
        fn(arg)
        times.append(time.time() - t0)
    return min(times)


def btm_peak_rss(texts, root):
    """Train a BTM on texts with `python btm.py` as the only child of a fresh parent -> (peak RSS in bytes of
    that child, meta.json). A fresh parent per size, as RUSAGE_CHILDREN keeps the largest child ever waited for."""
    os.makedirs(os.path.join(root, 'corpus', 'gen'), exist_ok=True)
    with open(os.path.join(root, 'corpus', 'gen', 'tok.jsonl'), 'w') as f:
        f.writelines(json.dumps({'text': t}) + '\n' for t in texts)
    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'btm.py')
    cmd = [sys.executable, script, '--corpus=gen', f"--corpus_dir={root}/corpus", f"--out_dir={root}/tok",
           f"--n_base={n_base}", f"--vocab_size={vocab_size}", '--num_proc=1', '--progress=False', '--name=btm']
    parent = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
              "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, '-c', parent, *cmd], check=True, capture_output=True, text=True).stdout
    with open(os.path.join(root, 'tok', 'btm', 'meta.json')) as f:
        return int(out.split()[-1]) * 1024, json.load(f)  # ru_maxrss is in KiB on Linux


def memory_per_token(sizes, tmp):
    rows = []
    for n in sizes:
        rss, meta = btm_peak_rss(texts_of(int(n), seed + 3), os.path.join(tmp, f"mem{n}"))
        tr = meta['train']
        rows.append((n, tr['n_tokens_primitive'], rss, meta['n_merges'] / tr['seconds']['merges']))
        print(f"(e) {n / 1e6:.0f} MB: {tr['n_tokens_primitive']:,} primitive tokens, peak RSS {rss / 2**20:.0f} MB "
              f"= {rss / tr['n_tokens_primitive']:.1f} B/token all in; merge loop {rows[-1][3]:.0f} merges/s "
              f"({tr['seconds']['merges']}s)")
    (_, t0, r0, _), (_, t1, r1, _) = rows[0], rows[-1]
    print(f"(e) BTM training memory: {(r1 - r0) / (t1 - t0):.1f} bytes per primitive token "
          f"(RSS difference / token difference between the two sizes; target <= 20)")


if __name__ == '__main__':
    cfg = configurator.configure(globals())
    print(f"machine: {machine.describe()}, load average {os.getloadavg()[0]:.1f} (noisy if > cores); "
          f"numpy {np.__version__}, tokenizers {tokenizers.__version__}")
    tmp = tempfile.mkdtemp(prefix='btm_speed_')
    memory_per_token(cfg['memory_bytes'], tmp)  # first: the forked children below would count in RUSAGE_CHILDREN
    if cfg['only_memory']:
        raise SystemExit(0)

    # (a) the merge loop against its definition
    small = texts_of(naive_bytes, seed + 2)
    prim = tokenizer.train_bpe(small, naive_base, os.path.join(tmp, 'naive_prim'))
    docs = btm.encode_docs(prim, small)
    t0 = time.time()
    fast = btm.learn_merges(docs, naive_base, naive_merges)
    t_fast = time.time() - t0
    t0 = time.time()
    ref, _ = btm.naive_learn_merges(docs, naive_base, naive_merges)
    t_naive = time.time() - t0
    print(f"(a) learn_merges vs naive: {naive_merges} merges on {sum(map(len, docs)):,} ids "
          f"({naive_bytes:,} bytes): {t_fast:.3f}s vs {t_naive:.2f}s = {t_naive / t_fast:.0f}x faster, "
          f"same merges: {fast == ref}")

    # (b) + (d) training, each in its own process
    texts = texts_of(int(cfg['n_bytes']), seed)
    mb = sum(len(t.encode('utf-8')) for t in texts) / 1e6
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t_bpe, cpu_bpe, rss_bpe = in_child(train_bpe, texts, os.path.join(tmp, 'bpe'))
    (t_btm, parts), cpu_btm, rss_btm = in_child(train_btm, texts, os.path.join(tmp, 'btm'))
    print(f"(b) training on {mb:.1f} MB: BPE {vocab_size:,} {t_bpe:.1f}s wall ({cpu_bpe:.1f}s CPU); "
          f"BTM {n_base:,} -> {vocab_size:,} {t_btm:.1f}s wall ({cpu_btm:.1f}s CPU; primitive {parts['primitive']}s, "
          f"encode {parts['encode']}s, merges {parts['merges']}s) = {t_btm / t_bpe:.2f}x BPE wall (target <= 3x), "
          f"{cpu_btm / cpu_bpe:.2f}x CPU; {(vocab_size - n_base) / parts['merges']:.0f} merges/s")
    print(f"(d) peak RSS: BPE training {rss_bpe:.0f} MB, BTM training {rss_btm:.0f} MB "
          f"(the parent holding the text: {base_rss:.0f} MB)")

    # (c) encoding held-out text
    bpe, tok = tokenizer.load_tokenizer(os.path.join(tmp, 'bpe')), btm.load(os.path.join(tmp, 'btm'))
    held = texts_of(int(cfg['encode_bytes']), seed + 1)
    mb = sum(len(t.encode('utf-8')) for t in held) / 1e6
    t_bpe = best_time(bpe.encode_batch, held)
    t_btm = best_time(tok.encode_batch, held)
    prim_ids = tok.primitive.encode_batch(held)
    t_np = best_time(lambda d: btm.apply_merges(d, tok.merges, tok.n_base), prim_ids)
    n_btm, n_bpe = sum(map(len, tok.encode_batch(held))), sum(map(len, bpe.encode_batch(held)))
    print(f"(c) encode {mb:.1f} MB: BPE {mb / t_bpe:.2f} MB/s, BTM {mb / t_btm:.2f} MB/s = {t_bpe / t_btm:.2f}x BPE "
          f"(target >= 0.5x); merge step alone: Rust engine {'on' if tok._engine else 'off'}, numpy fallback "
          f"{sum(map(len, prim_ids)) / t_np / 1e6:.2f} M primitive ids/s; tokens: BTM {n_btm:,} vs BPE {n_bpe:,} "
          f"({n_btm / n_bpe:.3f}x)")
