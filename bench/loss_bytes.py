"""
Bytes written per logit by the LM loss's non-matmul work, forward + backward: model.py's chunked linear +
cross-entropy, eager and compiled, against materialised logits (F.linear + slice + F.cross_entropy, the loss_chunk=0
path) and, with --old, the chunked loss of another model.py, all counted in the same run.

    python bench/loss_bytes.py                                     # fp32 and bf16 autocast, d 128, 64-row chunks
    git show a6087f1:model.py > /tmp/old_model.py && python bench/loss_bytes.py --old=/tmp/old_model.py

How it counts, on CPU: a TorchDispatchMode sees every aten op of the loss and its backward; an op's bytes written
are the tensors it mutates (in-place and out= arguments), else its fresh outputs (views write nothing, nor empty);
matmuls (mm, addmm, bmm...) are left out: they are the work the loss must do. A compiled chunk body runs outside the
mode (dynamo refuses to trace under one), and counts what inductor's plan for it writes (the scheduler's buffers
that are materialised, after fusion: Scheduler.get_write_buffer_sizes of every kernel but the extern matmuls), once
per call; caches are off so that each graph is planned here. Divided by the logits computed (tokens x vocab).
Goal (issue 22): <= 12 bytes per logit. Also prints each variant's loss and gradient norms (they must agree) and
its aten op count. Slow shapes are not needed: per-logit bytes do not depend on the vocabulary, and the per-step
(vocab, d) terms shrink as d / tokens.
"""
import importlib.util
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root, for model.py
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/, for machine.py
import machine  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes  # noqa: E402

import configurator  # noqa: E402
import model  # noqa: E402
from uniscale import chunked_loss  # noqa: E402

# the shape's ratios are apertus-300M's at 256k on a GPU: d / chunk = 2 (d 1024, 512 rows: chunk_rows for
# CUDA) and d / tokens = 1/16 (micro batches of 8 x 2,048 tokens); the vocabulary does not change bytes per logit
vocab = 16384
d = 128  # hidden size (n_embd)
tokens = 2048  # rows of the loss: micro batch x block size
chunk = 64  # rows per chunk of every chunked variant; -1: chunk_rows' choice for the CPU (old: its default)
dtypes = ['float32', 'bfloat16']  # bfloat16: under CPU autocast, as training on a GPU
variants = ['materialised', 'old', 'eager', 'compiled']  # 'old' runs only with --old
old = ''  # another model.py (e.g. `git show REV:model.py > /tmp/old_model.py`), whose chunked_cross_entropy is 'old'
threads = 1  # torch threads; 0: torch's default
seed = 0

MATMULS = {'mm', 'addmm', 'addmm_', 'bmm', 'baddbmm', 'matmul', 'addbmm', '_addmm_activation'}


class WriteCounter(TorchDispatchMode):
    """Bytes written by non-matmul aten ops, by op name, and the number of ops."""

    def __init__(self):
        super().__init__()
        self.bytes, self.ops = {}, 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        self.ops += 1
        name = func._schema.name.split('::')[-1]
        if name in MATMULS or name.startswith(('empty', 'new_empty')):
            return out
        self.add(name, written_bytes(func._schema, args, kwargs, out))
        return out

    def add(self, name, n):
        self.bytes[name] = self.bytes.get(name, 0) + n


def written_bytes(schema, args, kwargs, out):
    """The tensors an op mutates (schema alias_info.is_write), else its outputs that are not views of an input."""
    values = list(args) + [kwargs.get(a.name) for a in schema.arguments[len(args):]]
    mutated = sum(v.numel() * v.element_size() for a, v in zip(schema.arguments, values)
                  if a.alias_info is not None and a.alias_info.is_write and isinstance(v, torch.Tensor))
    if mutated:
        return mutated
    outs = out if isinstance(out, (tuple, list)) else [out]
    return sum(o.numel() * o.element_size() for r, o in zip(schema.returns, outs)
               if isinstance(o, torch.Tensor) and r.alias_info is None)


# ---------------------------------------------------------------- inductor's plan of a compiled chunk body
planned = []  # bytes written by the non-matmul kernels of each graph inductor planned, in order


def record_inductor_plans():
    """Wrap Scheduler.codegen: after fusion, each kernel's materialised writes (extern matmuls left out)."""
    import torch._inductor.config
    from torch._inductor import scheduler
    torch._inductor.config.force_disable_caches = True  # a cached graph is never planned, so never counted
    codegen = scheduler.Scheduler.codegen

    def counting_codegen(self):
        total = 0
        for node in self.nodes:
            kernel = getattr(getattr(node, 'node', None), 'python_kernel_name', None) or ''
            if kernel.split('.')[-1] not in MATMULS:
                total += node.get_write_buffer_sizes()
        planned.append(total)
        return codegen(self)
    scheduler.Scheduler.codegen = counting_codegen


def shapes(args):
    """The shapes of a chunk body's tensor arguments: one inductor plan per shape."""
    return tuple(a.shape for a in args if isinstance(a, torch.Tensor))


def counted_run_chunk(counter, body_bytes):
    """chunked_loss.run_chunk for counting: a compiled call leaves the dispatch mode and counts inductor's plan."""
    run_chunk = chunked_loss.run_chunk

    def run(fn, compiled, *args):
        if not compiled:
            return run_chunk(fn, compiled, *args)
        with _disable_current_modes():
            n_plans = len(planned)
            out = run_chunk(fn, compiled, *args)
            if len(planned) > n_plans:  # compiled now (first call of this shape): its plan
                body_bytes[fn, shapes(args)] = planned[-1]
        if chunked_loss._compiled.get(fn) is None:
            raise SystemExit(f"bench/loss_bytes.py: {fn.__name__} did not compile; see the warning above")
        counter.add(f'compiled {fn.__name__}', body_bytes[fn, shapes(args)])
        return out
    return run


# ---------------------------------------------------------------- the variants
def load_old(path):
    spec = importlib.util.spec_from_file_location('old_model', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def loss_fn(name, old_module):
    rows = chunked_loss.chunk_rows(chunk, vocab, 'cpu', tokens)
    if name == 'materialised':
        return lambda h, w, t: F.cross_entropy(F.linear(h, w)[:, :vocab], t, ignore_index=-1)
    if name == 'old':
        old_rows = old_module.GPTConfig.loss_chunk if chunk == -1 else chunk  # its own default, or the same rows
        return lambda h, w, t: old_module.chunked_cross_entropy(h, w, t, vocab, old_rows)
    return lambda h, w, t: chunked_loss.chunked_cross_entropy(h, w, t, vocab, model.token_losses, rows,
                                                              compiled=name == 'compiled')


def inputs():
    torch.manual_seed(seed)
    padded = -(-vocab // 64) * 64  # as the model's embedding
    h = torch.randn(tokens, d, requires_grad=True)
    weight = torch.randn(padded, d).div_(math.sqrt(d)).requires_grad_()
    targets = torch.randint(0, vocab, (tokens,))
    targets[::10] = -1  # some ignored positions, as at document ends
    return h, weight, targets


def measure(name, dtype, old_module):
    """Bytes written per logit, aten ops, CPU seconds and the result of one loss forward + backward."""
    fn = loss_fn(name, old_module)
    h, weight, targets = inputs()
    autocast = torch.autocast('cpu', dtype=torch.bfloat16, enabled=dtype == 'bfloat16')
    warmup, counter, body_bytes = WriteCounter(), WriteCounter(), {}
    run_chunk = chunked_loss.run_chunk
    try:
        if name == 'compiled':  # compile (inductor's plans are recorded), then count a second call
            chunked_loss.run_chunk = counted_run_chunk(warmup, body_bytes)
            with autocast:
                loss = fn(h, weight, targets)
            loss.backward()
            h.grad = weight.grad = None
        chunked_loss.run_chunk = counted_run_chunk(counter, body_bytes)
        t0 = time.process_time()
        with counter:
            with autocast:
                loss = fn(h, weight, targets)
            loss.backward()
        seconds = time.process_time() - t0
    finally:
        chunked_loss.run_chunk = run_chunk
    return {'variant': name, 'dtype': dtype, 'bytes_per_logit': sum(counter.bytes.values()) / (tokens * vocab),
            'by_op': {k: v / (tokens * vocab) for k, v in sorted(counter.bytes.items(), key=lambda kv: -kv[1])},
            'ops': counter.ops, 'cpu_s': seconds, 'loss': loss.item(), 'grad_h_norm': h.grad.norm().item(),
            'grad_w_norm': weight.grad.norm().item()}


def check_same_result(results):
    base = results[0]
    tol = 1e-4 if base['dtype'] == 'float32' else 2e-2
    for r in results[1:]:
        for key in ('loss', 'grad_h_norm', 'grad_w_norm'):
            if abs(r[key] / base[key] - 1) > tol:
                raise SystemExit(f"bench/loss_bytes.py: {key} differs: {r['variant']} {r[key]} vs {base['variant']} "
                                 f"{base[key]} ({base['dtype']}); a loss is wrong")


def main():
    print(f"machine: {machine.describe('cpu')}, load average {os.getloadavg()[0]:.1f}")
    print(f"loss forward + backward: vocab {vocab:,}, d {d}, {tokens:,} tokens, chunk rows "
          f"{chunked_loss.chunk_rows(chunk, vocab, 'cpu', tokens)}; bytes written by non-matmul ops per logit "
          f"(goal <= 12)")
    old_module = load_old(old) if old else None
    names = [v for v in variants if v != 'old' or old_module is not None]
    if 'compiled' in names:
        record_inductor_plans()
    for dtype in dtypes:
        results = [measure(name, dtype, old_module) for name in names]
        check_same_result(results)
        peer = results[0]
        for r in results:
            top = ', '.join(f"{k} {v:.2f}" for k, v in list(r['by_op'].items())[:5])
            print(f"  {dtype:>8} {r['variant']:>12}: {r['bytes_per_logit']:6.2f} B/logit "
                  f"(= {r['bytes_per_logit'] / peer['bytes_per_logit']:.2f}x {peer['variant']}'s), "
                  f"{r['ops']:,} aten ops, {r['cpu_s']:.1f} CPU s, loss {r['loss']:.6f} [{top}]")


if __name__ == '__main__':
    configurator.configure(globals())
    if threads:
        torch.set_num_threads(threads)
    main()
