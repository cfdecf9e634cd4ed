"""
Time to the first training step with each transformer block compiled (train.py's compile_mode='regional') against
the whole model compiled ('whole'), on a multi-layer model, each in a fresh process with an empty inductor cache;
then 'regional' again in a fresh process on the cache the first one left (a requeued job), and eager for reference.

    python bench/compile_time.py                                   # CPU: gpt2, 4 layers, d 64, block 64, batch 4
    python bench/compile_time.py --arch=apertus --n_layer=22       # the issue's 22-layer apertus (many CPU-minutes)
    python bench/compile_time.py --device=cuda --arch=apertus --n_layer=22 --n_embd=1024 --n_head=16 --block_size=2048

A step is train.py's own train_step (forward with the chunked loss, backward, clipping, AdamW) on the model that
train_runtime.compile_model returns; the first step is timed from the compile_model call to the step's end (torch.compile
compiles inside the first call), wall clock and CPU seconds (this process and the C++ compiler runs; inductor's
parallel compile workers are off, TORCHINDUCTOR_COMPILE_THREADS=1, so that all of it is counted). The next `steps`
steps give a median step time, so a faster compile is seen not to cost speed. Every variant's first loss must match
eager's to 1e-4 or the bench stops. Prints one line per variant and the ratio whole / regional.
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/, for machine.py
import machine  # noqa: E402
import torch  # noqa: E402

import configurator  # noqa: E402
import train  # noqa: E402
from model import GPT, make_config  # noqa: E402
from uniscale import hardware, train_runtime  # noqa: E402

device = 'cpu'
arch = 'gpt2'  # 'gpt2' | 'apertus'
n_layer = 4
n_head = 2
n_embd = 64
vocab = 512
block_size = 64
batch = 4
steps = 5  # steps after the first, for the median step time
threads = 1  # torch threads on CPU; 0: torch's default
seed = 0
variant = ''  # '' runs them all in subprocesses; one of VARIANTS: measure it in this process (internal)
cache_dir = ''  # internal: the variant's inductor cache

VARIANTS = ('eager', 'whole', 'regional', 'regional-warm')


def cpu_seconds():
    """CPU seconds of this process and its finished children (inductor's C++ compiler runs)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def measure_here(name):
    """{first_s, first_cpu_s, step_s, loss} of one variant, in this process."""
    torch.manual_seed(seed)
    cfg = make_config(f'{arch}-tiny', vocab, block_size, n_layer=n_layer, n_head=n_head,
                      n_kv_head=n_head if arch == 'apertus' else 0, n_embd=n_embd)
    raw = GPT(cfg).to(device)
    optimizer = raw.configure_optimizer(0.1, 1e-3, (0.9, 0.95), device.split(':')[0])
    xy = torch.randint(0, vocab, (batch, block_size + 1), generator=torch.Generator().manual_seed(seed)).to(device)
    batches = [lambda: (xy[:, :-1], xy[:, 1:])]
    autocast = hardware.autocast(device, hardware.resolve(device, '')[1])
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    t0, c0 = time.perf_counter(), cpu_seconds()
    model = raw if name == 'eager' else train_runtime.compile_model(raw, name.split('-')[0], cache_dir)
    loss, _ = train.train_step(model, optimizer, batches, 1.0, autocast)
    first_loss = loss.item()
    sync()
    first_s, first_cpu = time.perf_counter() - t0, cpu_seconds() - c0
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        train.train_step(model, optimizer, batches, 1.0, autocast)
        sync()
        times.append(time.perf_counter() - t)
    return {'first_s': first_s, 'first_cpu_s': first_cpu, 'step_s': statistics.median(times), 'loss': first_loss}


def measure_in_subprocess(name, cache):
    args = [f'--{k}={globals()[k]}' for k in configurator.config_keys(globals()) if k not in ('variant', 'cache_dir')]
    env = {**os.environ, 'TORCHINDUCTOR_COMPILE_THREADS': '1'}  # compile in-process: its CPU time is counted
    out = subprocess.run([sys.executable, os.path.abspath(__file__), *args, f'--variant={name}',
                          f'--cache_dir={cache}'], capture_output=True, text=True, env=env)
    if out.returncode:
        raise SystemExit(f"bench/compile_time.py: the {name} variant failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare():
    print(f"{machine.describe(device)}; {arch}, {n_layer} layers, d {n_embd}, vocab {vocab}, {batch} x {block_size}, "
          f"{threads or 'default'} thread(s)")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in VARIANTS:
            cache = os.path.join(tmp, name.split('-')[0])  # regional-warm: the cache regional left behind
            results[name] = r = measure_in_subprocess(name, cache)
            print(f"{name:>14}: first step {r['first_s']:7.1f} s wall, {r['first_cpu_s']:7.1f} s CPU; then "
                  f"{1000 * r['step_s']:7.1f} ms/step; loss {r['loss']:.6f}")
    ref = results['eager']['loss']
    if any(abs(r['loss'] - ref) > 1e-4 * abs(ref) for r in results.values()):
        raise SystemExit(f"bench/compile_time.py: the first losses differ: {[r['loss'] for r in results.values()]}")
    whole, regional, warm = results['whole'], results['regional'], results['regional-warm']
    print(f"time to the first step, whole / regional: {whole['first_s'] / regional['first_s']:.2f}x wall, "
          f"{whole['first_cpu_s'] / regional['first_cpu_s']:.2f}x CPU; regional cold / warm cache (a requeue): "
          f"{regional['first_s'] / warm['first_s']:.2f}x wall; step time regional / whole: "
          f"{regional['step_s'] / whole['step_s']:.2f}")


if __name__ == '__main__':
    configurator.configure(globals())
    if device == 'cpu' and threads:
        torch.set_num_threads(threads)
    if variant:
        print(json.dumps(measure_here(variant)))
    else:
        compare()
