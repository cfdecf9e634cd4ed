"""
Encoding throughput of prepare.py (jsonl -> shards, the whole pipeline) against its peer, the bare
`tokenizers` Tokenizer.encode_batch on the same text and tokenizer, measured in the same run; and the
peak memory of prepare's encoding on a small and a 4x larger corpus (it streams: memory should be flat).

    .venv/bin/python bench/prepare_speed.py                       # 50 MB and 200 MB (as the issue asks)
    .venv/bin/python bench/prepare_speed.py --small_mb=10 --large_mb=40 --vocab_size=8192

Prints MB/s of both, the ratio (target >= 0.8) and peak RSS for both sizes (target: flat).
"""
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/, for machine.py
import machine  # noqa: E402
import configurator  # noqa: E402

small_mb = 50
large_mb = 200
vocab_size = 16384
num_workers = 0       # prepare's setting: 0 = one process per core
work_dir = 'out/bench/prepare_speed'
config = configurator.configure(globals())


def run_prepare(corpus_mb, tok_path, encode):
    """One prepare.py run in a fresh process: splits (always) and optionally the encoding; returns its report."""
    out = os.path.join(work_dir, f"{corpus_mb}mb")
    args = [sys.executable, '-c', CHILD, out, str(int(corpus_mb * 1e6)), tok_path if encode else '', str(num_workers)]
    res = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"prepare run failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1]), out


# the child: make splits, then time only the encoding, and report peak memory of itself and its workers
CHILD = r'''
import json, os, resource, sys, time
import prepare
out, n_bytes, tok_path, workers = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
cfg = prepare.configurator.defaults(prepare)
cfg.update(out_dir=out, embedded_bytes=n_bytes, tok_bytes=min(n_bytes // 4, 20_000_000), num_workers=workers)
prepare.make_splits(cfg)
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
report = {'rss_before_encode_mb': rss0 / 1024}
if tok_path:
    cfg['encode_splits'] = ['train']
    t0 = time.time()
    meta = prepare.encode_corpus(cfg, tok_path)['train']
    report.update(seconds=time.time() - t0, n_bytes=meta['n_bytes'], n_tokens=meta['n_tokens'])
report['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
report['peak_rss_workers_mb'] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps(report))
'''


def bare_encode_batch(train_jsonl, tok_path, chunk=512):
    """The peer: the library's own batch encode over the same documents (text already in memory)."""
    from tokenizers import Tokenizer
    with open(train_jsonl, encoding='utf-8') as f:
        texts = [json.loads(line)['text'] for line in f]
    tk = Tokenizer.from_file(os.path.join(tok_path, 'tokenizer.json'))
    n_bytes = sum(len(t.encode('utf-8')) for t in texts)
    t0 = time.time()
    for i in range(0, len(texts), chunk):
        tk.encode_batch(texts[i:i + chunk], add_special_tokens=False)
    return n_bytes / 1e6 / (time.time() - t0)


def main():
    from tokenizer import train_bpe
    os.makedirs(work_dir, exist_ok=True)
    _, small_dir = run_prepare(small_mb, '', encode=False)
    tok_path = os.path.join(work_dir, f"bpe-{vocab_size}")
    if not os.path.isfile(os.path.join(tok_path, 'meta.json')):
        with open(os.path.join(small_dir, 'corpus', 'embedded', 'tok.jsonl'), encoding='utf-8') as f:
            train_bpe((json.loads(line)['text'] for line in f), vocab_size, tok_path)
    for d in (os.path.join(work_dir, f"{m}mb", 'tokens') for m in (small_mb, large_mb)):
        subprocess.run(['rm', '-rf', d])
    small, _ = run_prepare(small_mb, tok_path, encode=True)
    large, large_dir = run_prepare(large_mb, tok_path, encode=True)
    pipeline = small['n_bytes'] / 1e6 / small['seconds']
    bare = bare_encode_batch(os.path.join(small_dir, 'corpus', 'embedded', 'train.jsonl'), tok_path)
    import tokenizers
    print(f"machine: {machine.describe()} | tokenizers {tokenizers.__version__}")
    print(f"tokenizer: byte-level BPE {vocab_size}, num_workers={num_workers or os.cpu_count()}")
    print(f"prepare.py encode (jsonl -> shards), {small_mb} MB: {pipeline:.2f} MB/s")
    print(f"bare tokenizers encode_batch (texts in memory), {small_mb} MB: {bare:.2f} MB/s")
    print(f"ratio prepare / bare: {pipeline / bare:.2f}  (target >= 0.8)")
    for mb, r in ((small_mb, small), (large_mb, large)):
        print(f"peak RSS, {mb} MB: main {r['peak_rss_mb']:.0f} MB, largest worker {r['peak_rss_workers_mb']:.0f} MB")
    print(f"peak memory large/small: {large['peak_rss_mb'] / small['peak_rss_mb']:.2f} (main), "
          f"{large['peak_rss_workers_mb'] / small['peak_rss_workers_mb']:.2f} (worker)  (target: flat, ~1.0)")


if __name__ == '__main__':
    main()
