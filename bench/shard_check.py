"""
The cost of checking shard bytes (issue 27: a changed shard is refused before its tokens are trained
on, at <= 1% of a run): the sha256 that TokenShards takes of each shard at its first use, against
the run that pays it, measured in the same process.

    python bench/shard_check.py                          # a make-demo-sized corpus, two demo runs
    python bench/shard_check.py --presets=apertus-micro --repeats=3

1. Hash rate: TokenShards.check_ids over every train and val shard of the demo, and over one
   `rate_mb` shard of random ids (the rate at scale, where a shard holds 100M tokens), page cache
   warm (median of `repeats`) and cold (the cached pages dropped first with posix_fadvise).
2. In a run: train.train on those shards with make demo's settings for each preset
   (config/train_demo.py + config/sweep_demo.py's train_args and preset_args), the shards' pages
   dropped before it, every shards.ids_sha256 call inside the run timed; ratio = hashing seconds
   / the run's wall_s, and / its elapsed_s (training steps only: the stricter one).
The demo's cheapest run (apertus-micro, 100 kB of text) is make demo's hardest case: the least
training per byte of shards read. A run pays its split's size over the hash rate (the seeded
document order maps every shard within the first steps), so the ratio for any run is
split bytes / rate / its training time; the last line turns that into the shortest run that
stays within 1% per GB of shards.
Needs no shards of its own: the corpus, a bpe-2k tokenizer and the shards are made in a temporary
folder under out/bench (on disk, so that the cold read is a disk read).
"""
import json
import os
import runpy
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # the repo root
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/, for machine.py
import machine  # noqa: E402

import configurator  # noqa: E402
import prepare  # noqa: E402
import train  # noqa: E402
from tokenizer import train_bpe  # noqa: E402
from uniscale import shards  # noqa: E402

presets = ['apertus-micro', 'apertus-tiny']  # make demo's two cheapest sizes (~18 and ~35 steps)
embedded_bytes = 4_000_000   # of UTF-8 text: make demo's corpus (config/demo.py)
tok_bytes = 1_500_000
vocab_size = 2000            # bpe-2k, the demo's first tokenizer
repeats = 5                  # warm hash timings (median)
rate_mb = 200                # MB of ids in the synthetic shard for the hash rate (100M uint16 ids)
out_dir = 'out'              # the temporary folder goes under {out_dir}/bench
target = 0.01                # of a run


def make_shards(root):
    """make demo's corpus, a bpe-2k on its tok split, the train/val shards: (tok path, shards)."""
    pcfg = configurator.defaults(prepare)
    pcfg.update(out_dir=root, embedded_bytes=embedded_bytes, tok_bytes=tok_bytes,
                encode_splits=['train', 'val'])
    prepare.make_splits(pcfg)
    with open(os.path.join(root, 'corpus', 'embedded', 'tok.jsonl'), encoding='utf-8') as f:
        texts = [json.loads(line)['text'] for line in f]
    tok_path = os.path.join(root, 'tokenizers', 'bpe-2k')
    train_bpe(texts, vocab_size, tok_path, name='bpe-2k')
    prepare.encode_corpus(pcfg, tok_path)
    return tok_path, os.path.join(root, 'tokens', 'embedded', 'bpe-2k')


def big_shard(root):
    """A shard of rate_mb MB of random ids below vocab_size, with its sidecar: its folder."""
    import numpy as np
    folder = os.path.join(root, 'big')
    os.makedirs(folder)
    writer = shards.ShardWriter(os.path.join(folder, 'train_0000.bin'), vocab_size, '0' * 64, 0)
    rng, n, step = np.random.default_rng(0), rate_mb * 500_000, 1 << 22
    for a in range(0, n, step):
        ids = rng.integers(1, vocab_size, size=min(step, n - a))
        ids[0] = 0  # a document per chunk, BOS first
        writer.write(ids, 1)
    entry = writer.close()
    meta = {'tokenizer': 'random', 'tokenizer_hash': '0' * 64, 'vocab_size': vocab_size,
            'bos_id': 0, 'n_tokens': entry['n_tokens'], 'n_docs': entry['n_docs'], 'n_bytes': 0,
            'shards': [entry]}
    with open(os.path.join(folder, 'train.json'), 'w') as f:
        json.dump({**meta, 'split': 'train'}, f)
    return folder


def rates(folder, splits=('train', 'val')):
    """Checking the shards of a folder's splits: warm (wall, CPU) seconds, medians of repeats;
    cold (wall, CPU) seconds; MB of ids; the paths."""
    runs = [hash_seconds(folder, False, splits)[0] for _ in range(repeats)]
    warm = tuple(statistics.median(r[k] for r in runs) for k in (0, 1))
    cold, paths = hash_seconds(folder, True, splits)
    return warm, cold, sum(os.path.getsize(p) - shards.HEADER_BYTES for p in paths) / 1e6, paths


def drop_cache(paths):
    """Ask the kernel to drop the files' cached pages (clean pages go; no root needed)."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def hash_seconds(tokens_dir, cold, splits):
    """(wall seconds, CPU seconds) for fresh readers of the splits to check every shard
    (check_ids), and the paths. CPU time too: on a loaded 2-core box the wall clock of a
    CPU-bound hash measures the other jobs."""
    readers = [shards.TokenShards(tokens_dir, split) for split in splits]
    paths = [p for r in readers for p in r.paths]
    if cold:
        drop_cache(paths)
    t0, c0 = time.perf_counter(), time.process_time()
    for r in readers:
        for i in range(len(r)):
            r.check_ids(i)
    return (time.perf_counter() - t0, time.process_time() - c0), paths


def run_config(tok_path, tokens_dir, run_dir, preset):
    """make demo's run of `preset` on these shards (config/train_demo.py + config/sweep_demo.py)."""
    cfg = configurator.defaults(train)
    configurator.run_config_file(os.path.join(ROOT, 'config', 'train_demo.py'), cfg, list(cfg))
    sweep = runpy.run_path(os.path.join(ROOT, 'config', 'sweep_demo.py'))
    cfg.update(sweep['train_args'])
    cfg.update(sweep['preset_args'][preset])
    cfg.update(preset=preset, tokenizer=tok_path, tokens_dir=tokens_dir, run_dir=run_dir, seed=1)
    return cfg


def timed_run(cfg, paths):
    """train.train(cfg) with the shards' pages dropped first and every ids_sha256 timed:
    (hashing seconds, hashes, the run's last log event)."""
    real, spent = shards.ids_sha256, []

    def timed(path, *a, **k):
        t0 = time.perf_counter()
        out = real(path, *a, **k)
        spent.append(time.perf_counter() - t0)
        return out
    drop_cache(paths)
    shards.ids_sha256 = timed
    try:
        run_dir = train.train(cfg)
    finally:
        shards.ids_sha256 = real
    with open(os.path.join(run_dir, 'log.jsonl'), encoding='utf-8') as f:
        last = [json.loads(line) for line in f][-1]
    return sum(spent), len(spent), last


def main():
    load = subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()
    print(f"machine: {machine.describe()}\nload: {load}")
    os.makedirs(os.path.join(out_dir, 'bench'), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=os.path.join(out_dir, 'bench')) as root:
        tok_path, tokens_dir = make_shards(root)
        warm, cold, mb, paths = rates(tokens_dir)
        print(f"demo shards: {len(paths)} (train + val), {mb:.2f} MB of ids (bpe-2k, make demo's "
              f"{embedded_bytes / 1e6:.0f} MB corpus): checked in {warm[0] * 1e3:.2f} ms warm "
              f"(median of {repeats}), {cold[0] * 1e3:.2f} ms cold")
        big_warm, big_cold, big_mb, _ = rates(big_shard(root), ['train'])
        rate_warm, rate_cold = big_mb / big_warm[0], big_mb / big_cold[0]
        print(f"hash rate, one {big_mb:.0f} MB shard: warm {rate_warm:,.0f} MB/s wall "
              f"({big_mb / big_warm[1]:,.0f} MB/s of CPU time; median of {repeats}), cold "
              f"{rate_cold:,.0f} MB/s wall ({big_mb / big_cold[1]:,.0f} MB/s of CPU time)")
        worst = 0.0
        for preset in presets:
            cfg = run_config(tok_path, tokens_dir, os.path.join(root, 'runs', preset), preset)
            spent, n, last = timed_run(cfg, paths)
            wall, steps = last['wall_s'], last['elapsed_s']
            worst = max(worst, spent / steps)
            print(f"run {preset} ({last['step']} steps of make demo): wall {wall:.2f} s, training "
                  f"{steps:.2f} s; hashing inside it {spent * 1e3:.2f} ms ({n} shards) = "
                  f"{spent / wall:.4%} of the wall, {spent / steps:.4%} of the training")
        print(f"target <= {target:.0%} of a run: {'met' if worst <= target else 'NOT met'} "
              f"(worst {worst:.4%}, of the training time)")
        cpu_rate = big_mb / big_warm[1]
        print(f"any run pays its split's bytes / the rate: within {target:.0%} when its training "
              f"lasts >= {1e3 / target / rate_cold:,.0f} s per GB of shards at the cold rate, "
              f"{1e3 / target / cpu_rate:,.0f} s per GB at the warm CPU-time rate (a free core)")


if __name__ == '__main__':
    configurator.configure(globals())
    main()
