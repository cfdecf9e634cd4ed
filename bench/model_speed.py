"""
Training throughput (forward + backward, tokens/s) of model.py against the transformers model of the same config and
weights (GPT2LMHeadModel / ApertusForCausalLM, SDPA attention), measured in the same run, steps interleaved.

    python bench/model_speed.py                     # CPU, float32: gpt2-40M and apertus-50M, vocab 16384
    python bench/model_speed.py --device=cuda --batch_size=16 --block_size=1024 --presets=apertus-100M,gpt2-40M

On CPU the clock is the process's CPU time with one torch thread (--threads): other programs on a shared box slow
the wall clock by whole seconds but barely move CPU time, so CPU numbers are tokens per CPU-second of one core.
On CUDA it is the wall clock; both sides run under bf16 autocast and torch.compile (--compile=False to skip), and MFU
is printed. Targets: model.py >= 1.0x transformers on CPU, >= 1.3x on CUDA.
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root, for model.py
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/, for machine.py
import machine  # noqa: E402
import torch
import transformers
from transformers import AutoModelForCausalLM

import configurator
from export_hf import hf_config, hf_state_dict
from model import GPT, make_config

device = 'cpu'  # 'cpu' or 'cuda'
presets = ['gpt2-40M', 'apertus-50M']
vocab_size = 16384
block_size = 256
batch_size = 2
steps = 8  # timed steps per model, after warmup
warmup = 2
compile = None  # None: on CUDA only
threads = 1  # torch threads on CPU; 0: torch's default
peak_flops = 989e12  # of the GPU in bf16, for MFU (H100 SXM dense; A100: 312e12)
seed = 0



def train_step(model, x, y, is_hf, dtype):
    with torch.autocast(device_type=device, dtype=dtype, enabled=dtype != torch.float32):
        loss = model(input_ids=x, labels=x, use_cache=False).loss if is_hf else model(x, y)[1]
    loss.backward()
    model.zero_grad(set_to_none=True)


def timed(fn):
    """Seconds fn takes: wall clock on CUDA (after synchronising), the process's CPU time on CPU."""
    clock = time.perf_counter if device == 'cuda' else time.process_time
    if device == 'cuda':
        torch.cuda.synchronize()
    t0 = clock()
    fn()
    if device == 'cuda':
        torch.cuda.synchronize()
    return clock() - t0


def bench_preset(preset):
    torch.manual_seed(seed)
    cfg = make_config(preset, vocab_size=vocab_size, block_size=block_size)
    ours = GPT(cfg).to(device)
    theirs = AutoModelForCausalLM.from_config(hf_config(cfg), attn_implementation='sdpa', dtype=torch.float32)
    missing, unexpected = theirs.load_state_dict(hf_state_dict(cfg, ours.state_dict()), strict=False)
    assert not unexpected and set(missing) <= {'lm_head.weight'}, (missing, unexpected)  # gpt2's is tied
    theirs.to(device).train()
    x = torch.randint(0, vocab_size, (batch_size, block_size + 1), device=device)
    x, y = x[:, :-1], x[:, 1:]
    with torch.no_grad():  # same weights, same function: the speed comparison is like for like
        diff = (ours(x)[0].float() - theirs(input_ids=x).logits.float()).abs().max().item()
    dtype = torch.bfloat16 if device == 'cuda' else torch.float32
    use_compile = (device == 'cuda') if compile is None else compile
    runs = {'model.py': torch.compile(ours) if use_compile else ours,
            'transformers': torch.compile(theirs) if use_compile else theirs}
    times = {name: [] for name in runs}
    for i in range(warmup + steps):  # interleaved, so load from other processes hits both sides alike
        for name, model in runs.items():
            t = timed(lambda: train_step(model, x, y, name == 'transformers', dtype))
            if i >= warmup:
                times[name].append(t)
    tok_per_s = {name: batch_size * block_size / statistics.median(ts) for name, ts in times.items()}
    # the median of per-round ratios: each round's two steps see about the same load from other processes
    ratio = statistics.median(t_theirs / t_ours for t_ours, t_theirs in zip(times['model.py'], times['transformers']))
    line = (f"{preset:<13} B={batch_size} T={block_size}  model.py {tok_per_s['model.py']:,.0f} tok/s  "
            f"transformers {tok_per_s['transformers']:,.0f} tok/s  ratio {ratio:.2f}x  (max logit diff {diff:.1e})")
    if device == 'cuda':
        flops = ours.flops_per_token(block_size)
        line += f"  MFU {flops * tok_per_s['model.py'] / peak_flops:.1%} vs {flops * tok_per_s['transformers'] / peak_flops:.1%}"
    print(line, flush=True)
    return ratio


if __name__ == '__main__':
    config = configurator.configure(globals())
    if device == 'cpu' and threads:
        torch.set_num_threads(threads)
    print(f"machine: {machine.describe(device)}, torch threads {torch.get_num_threads()}; "
          f"transformers {transformers.__version__}")
    print(f"device {device}, {'bf16 autocast, wall clock' if device == 'cuda' else 'float32, CPU-time clock'}, "
          f"median of {steps} forward+backward steps after {warmup} warmup, model.py / transformers interleaved; "
          f"ratio: median of the per-round ratios")
    ratios = [bench_preset(p) for p in presets]
    target = 1.3 if device == 'cuda' else 1.0
    print(f"geometric mean ratio {statistics.geometric_mean(ratios):.2f}x (target >= {target}x)")
