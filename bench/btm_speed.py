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
    cost, interpreter, libraries and the pre-token cache, cancels), with the merge loop's merges/s beside it;
    with --memory_peer=OTHER/btm.py the same for another btm.py (an older commit's), sizes interleaved

    python bench/btm_speed.py                       # 10 MB for (b): what a 2-core box does in about a minute
    python bench/btm_speed.py --n_bytes=1e8         # the issue's 100 MB
    python bench/btm_speed.py --only_memory=True    # (e) alone
    git archive e2d694f | tar -x -C /tmp/old && python bench/btm_speed.py --only_memory=True --memory_peer=/tmp/old/btm.py
"""
import json
import multiprocessing as mp
import os
import resource
import shutil
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
from uniscale import btm_encoding, merge_loop, primitive_stream  # noqa: E402
import configurator  # noqa: E402
import tokenizer  # noqa: E402
from data.embedded import generate  # noqa: E402
from uniscale import tokenization  # noqa: E402

n_bytes = 10_000_000        # of UTF-8 text for (b) and (d)
encode_bytes = 2_000_000    # of held-out text for (c)
n_base = 4096
vocab_size = 16384
naive_bytes = 30_000        # (a): text, primitive ids and merges small enough for the naive reference
naive_base = 300
naive_merges = 300
seed = 0
repeats = 2                 # (c): best of
memory_bytes = [8_000_000, 32_000_000]  # (e): UTF-8 text of the two corpus sizes
memory_peer = ''            # (e): another btm.py to measure beside ours, e.g. an older commit's (git archive)
only_memory = False         # run (e) alone


def texts_of(n, s):
    return [d['text'] for d in generate.generate_documents(n, seed=s)]


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


def btm_peak_rss(script, root):
    """Train a BTM on root's corpus with `python {script}` as the only child of a fresh parent -> (peak RSS in
    bytes of that child, meta.json). A fresh parent per run, as RUSAGE_CHILDREN keeps the largest child waited for."""
    out_dir = os.path.join(root, f"tok{abs(hash(script))}")
    cmd = [sys.executable, script, '--corpus=gen', f"--corpus_dir={root}/corpus", f"--out_dir={out_dir}",
           f"--n_base={n_base}", f"--vocab_size={vocab_size}", '--num_proc=1', '--progress=False', '--name=btm']
    parent = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
              "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, '-c', parent, *cmd], check=True, capture_output=True, text=True,
                         cwd=os.path.dirname(script)).stdout
    with open(os.path.join(out_dir, 'btm', 'meta.json')) as f:
        return int(out.split()[-1]) * 1024, json.load(f)  # ru_maxrss is in KiB on Linux


def memory_per_token(sizes, tmp, scripts):
    """(e) for each script (ours, and a peer such as the btm.py of an older commit), sizes interleaved."""
    rows = {script: [] for script in scripts}
    for n in sizes:
        root = os.path.join(tmp, f"mem{n}")
        os.makedirs(os.path.join(root, 'corpus', 'gen'), exist_ok=True)
        with open(os.path.join(root, 'corpus', 'gen', 'tok.jsonl'), 'w') as f:
            f.writelines(json.dumps({'text': t}) + '\n' for t in texts_of(int(n), seed + 3))
        for script in scripts:
            rss, meta = btm_peak_rss(script, root)
            tr = meta['train']
            rows[script].append((tr['n_tokens_primitive'], rss, meta['n_merges'] / tr['seconds']['merges']))
            print(f"(e) {script}, {n / 1e6:.0f} MB: {tr['n_tokens_primitive']:,} primitive tokens, peak RSS "
                  f"{rss / 2**20:.0f} MB = {rss / tr['n_tokens_primitive']:.1f} B/token all in; merge loop "
                  f"{rows[script][-1][2]:.0f} merges/s ({tr['seconds']['merges']}s wall)")
    per_token = {}
    for script, ((t0, r0, _), *_, (t1, r1, _)) in rows.items():
        per_token[script] = (r1 - r0) / (t1 - t0)
        print(f"(e) {script}: {per_token[script]:.1f} bytes per primitive token (RSS difference / token difference "
              f"between {sizes[0] / 1e6:.0f} and {sizes[-1] / 1e6:.0f} MB; target <= 20), merge loop "
              f"{np.mean([r[2] for r in rows[script]]):.0f} merges/s (mean over the sizes)")
    if len(scripts) == 2:
        (ours, peer) = scripts
        speed = [a[2] / b[2] for a, b in zip(rows[ours], rows[peer])]
        print(f"(e) ours vs peer: {per_token[ours] / per_token[peer]:.2f}x the bytes per token; merges/s "
              f"{', '.join(f'{x:.2f}x' for x in speed)} (per size)")


if __name__ == '__main__':
    cfg = configurator.configure(globals())
    print(f"machine: {machine.describe()}, load average {os.getloadavg()[0]:.1f} (noisy if > cores); "
          f"numpy {np.__version__}, tokenizers {tokenizers.__version__}")
    tmp = tempfile.mkdtemp(prefix='btm_speed_')
    ours = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'btm.py')
    memory_per_token(cfg['memory_bytes'], tmp, [ours] + ([os.path.abspath(cfg['memory_peer'])] * bool(cfg['memory_peer'])))
    if cfg['only_memory']:
        shutil.rmtree(tmp)
        raise SystemExit(0)

    # (a) the merge loop against its definition
    small = texts_of(naive_bytes, seed + 2)
    prim = tokenizer.train_bpe(small, naive_base, os.path.join(tmp, 'naive_prim'))
    docs = primitive_stream.encode_docs(prim, small)
    t0 = time.time()
    fast = merge_loop.learn_merges(docs, naive_base, naive_merges)
    t_fast = time.time() - t0
    t0 = time.time()
    ref, _ = merge_loop.naive_learn_merges(docs, naive_base, naive_merges)
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
    bpe, tok = tokenization.load_tokenizer(os.path.join(tmp, 'bpe')), btm.load(os.path.join(tmp, 'btm'))
    held = texts_of(int(cfg['encode_bytes']), seed + 1)
    mb = sum(len(t.encode('utf-8')) for t in held) / 1e6
    t_bpe = best_time(bpe.encode_batch, held)
    t_btm = best_time(tok.encode_batch, held)
    prim_ids = tok.primitive.encode_batch(held)
    t_np = best_time(lambda d: btm_encoding.apply_merges(d, tok.merges, tok.n_base), prim_ids)
    n_btm, n_bpe = sum(map(len, tok.encode_batch(held))), sum(map(len, bpe.encode_batch(held)))
    print(f"(c) encode {mb:.1f} MB: BPE {mb / t_bpe:.2f} MB/s, BTM {mb / t_btm:.2f} MB/s = {t_bpe / t_btm:.2f}x BPE "
          f"(target >= 0.5x); merge step alone: Rust engine {'on' if tok._engine else 'off'}, numpy fallback "
          f"{sum(map(len, prim_ids)) / t_np / 1e6:.2f} M primitive ids/s; tokens: BTM {n_btm:,} vs BPE {n_bpe:,} "
          f"({n_btm / n_bpe:.3f}x)")
    shutil.rmtree(tmp)
