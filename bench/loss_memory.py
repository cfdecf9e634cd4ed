"""
Peak memory of the LM loss, forward + backward, at a 256,000 vocabulary: the chunked linear + cross-entropy
(uniscale/chunked_loss.py's chunked_cross_entropy, GPTConfig.loss_chunk tokens at a time; eager, and its chunk body
compiled as in a compiled model) against materialised logits (F.linear + slice + F.cross_entropy, the loss_chunk=0 path), measured in the same
run, each variant in a fresh subprocess. With
--validation=True: a validation step (uniscale/bpb.py's score, the chunked scorer) against a training micro step of
the same shape, and against the scorer before issue 22 (the whole logits, then F.cross_entropy).

    python bench/loss_memory.py                                            # CPU, float32: d 256, 2,048 tokens
    python bench/loss_memory.py --device=cuda --d=2048 --tokens=16384      # GPU, bf16 autocast
    python bench/loss_memory.py --validation=True                          # 4 x 256 tokens, apertus n_embd 128
    python bench/loss_memory.py --table=True    # memory arithmetic of the FineWeb-2 presets at 80 GB (CPU, no GPU)

On CPU the measure is the peak RSS (resource.getrusage(RUSAGE_SELF).ru_maxrss, a high-water mark the kernel keeps,
so other programs' load does not move it) minus the resident set once the inputs are built (the validation mode
resets the high-water mark there, /proc/self/clear_refs, since building a 256k model peaks higher than scoring); on
CUDA it is torch.cuda.max_memory_allocated minus the memory allocated before the loss. Both loss variants must give
the same loss and gradients, both scorers the same -log p, or the bench stops. Target: chunked >= 4x less; a
validation step <= a training micro step. Prints one line per variant and the ratio.
"""
import json
import math
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root, for model.py
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/, for machine.py
import machine  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import configurator  # noqa: E402
from model import PRESETS, GPT, GPTConfig, make_config, token_losses  # noqa: E402
from uniscale.chunked_loss import chunk_rows, chunked_cross_entropy  # noqa: E402
from uniscale import bpb, hardware  # noqa: E402

device = 'cpu'  # 'cpu' or 'cuda'
vocab = 256000
d = 256  # hidden size (n_embd)
tokens = 2048  # rows of the loss: micro batch x block size
chunk = GPTConfig.loss_chunk  # tokens per chunk, as training uses
dtype = ''  # '' = float32 on cpu, bfloat16 autocast on cuda; or 'float32' / 'bfloat16'
threads = 1  # torch threads on CPU; 0: torch's default
seed = 0
variant = ''  # '' runs both in subprocesses; 'chunked' / 'materialised': measure one in this process (internal)
validation = False  # True: a validation step against a training micro step (VALIDATION_VARIANTS)
preset = 'apertus-tiny'  # the validation mode's model (n_embd 128), at `vocab`
micro_batch = 4  # the validation mode's shape: micro_batch x block_size tokens
val_block = 256
table = False  # True: print the FineWeb-2 memory arithmetic instead of measuring
table_compile = False  # True: activations as torch.compile saves them (~2 CPU-minutes of compiling per preset)
table_presets = ['apertus-50M', 'apertus-100M', 'apertus-300M', 'apertus-1B']
table_vocabs = [80000, 128000, 256000]
block_size = 2048  # for the table
gpu_bytes = 80e9  # for the table: an 80 GB GPU
reserve_bytes = 6e9  # of gpu_bytes not for tensors: CUDA context, NCCL buffers, allocator fragmentation

VARIANTS = ('materialised', 'chunked', 'chunked_compiled')
VALIDATION_VARIANTS = ('train_step', 'validation', 'validation_before')


def loss_of(name, h, weight, targets):
    if name.startswith('chunked'):
        return chunked_cross_entropy(h, weight, targets, vocab, token_losses, chunk,
                                     compiled=name == 'chunked_compiled')
    return F.cross_entropy(F.linear(h, weight)[:, :vocab], targets, ignore_index=-1)  # model.py's loss_chunk=0


def peak_bytes():
    """The high-water mark of this process: CUDA tensors, or the resident set (ru_maxrss is in KiB on Linux)."""
    if device == 'cuda':
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def resident_bytes():
    """This process's resident set now (Linux /proc), the baseline under the peak: ru_maxrss holds earlier peaks."""
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def measure_here(name):
    """Peak bytes one loss forward + backward adds above its inputs, CPU seconds it took, and a result digest."""
    torch.manual_seed(seed)
    padded = -(-vocab // 64) * 64  # as the model's embedding
    h = torch.randn(tokens, d, device=device, requires_grad=True)
    weight = torch.randn(padded, d, device=device).div_(math.sqrt(d)).requires_grad_()  # no temporary
    targets = torch.randint(0, vocab, (tokens,), device=device)
    targets[::10] = -1  # some ignored positions, as at document ends
    if name == 'chunked_compiled':  # compile first (one chunk's shape), outside the measure
        rows = chunk_rows(chunk, vocab, device, tokens)
        with hardware.autocast(device, compute_dtype()):
            loss_of(name, h[:rows], weight, targets[:rows]).backward()
        h.grad = weight.grad = None
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = reset_peak() if name == 'chunked_compiled' else resident_bytes()
    t0 = time.process_time()
    with hardware.autocast(device, compute_dtype()):
        loss = loss_of(name, h, weight, targets)
    loss.backward()
    peak = peak_rss() if name == 'chunked_compiled' and device != 'cuda' else peak_bytes()
    return {'variant': name, 'loss_peak_bytes': peak - base, 'cpu_s': time.process_time() - t0,
            'loss': loss.item(), 'grad_h_norm': h.grad.norm().item(), 'grad_w_norm': weight.grad.norm().item()}


def compute_dtype():
    return hardware.resolve(device, dtype)[1]


def measure_in_subprocess(name):
    args = [f'--variant={name}', f'--device={device}', f'--vocab={vocab}', f'--d={d}', f'--tokens={tokens}',
            f'--chunk={chunk}', f'--dtype={compute_dtype()}', f'--threads={threads}', f'--seed={seed}',
            f'--preset={preset}', f'--micro_batch={micro_batch}', f'--val_block={val_block}']
    out = subprocess.run([sys.executable, os.path.abspath(__file__), *args], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"bench/loss_memory.py: the {name} variant failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def check_same_result(a, b):
    tol = 1e-4 if compute_dtype() == 'float32' else 2e-2
    for key in ('loss', 'grad_h_norm', 'grad_w_norm'):
        if abs(a[key] / b[key] - 1) > tol:
            raise SystemExit(f"bench/loss_memory.py: {key} differs: {a['variant']} {a[key]} vs {b['variant']} "
                             f"{b[key]}; the chunked loss is wrong")


def reset_peak():
    """Reset this process's peak RSS (VmHWM) to its resident set and return that (Linux), after giving freed memory
    back (malloc_trim), as the preflight does."""
    import ctypes
    ctypes.CDLL(None).malloc_trim(0)
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
    return resident_bytes()


def peak_rss():
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith('VmHWM:'))


@torch.no_grad()
def score_before(model, items):
    """uniscale/bpb.py's score before issue 22, for one batch: the whole logits under autocast, fp32 copy, CE."""
    x = torch.stack([torch.as_tensor(ids[:-1]) for ids, _ in items]).to(device)
    y = torch.stack([torch.as_tensor(ids[1:]) for ids, _ in items]).to(device)
    with hardware.autocast(device, compute_dtype()):
        logits, _ = model(x)
    return F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), ignore_index=-1, reduction='none').view(
        len(items), -1).double().sum(1).cpu().numpy()


def measure_validation_here(name):
    """Peak bytes above the built model and inputs of one training micro step (forward + backward of the training
    loss, as train_step) or one validation batch (bpb.score, or the scorer before issue 22), and a result digest."""
    torch.manual_seed(seed)
    model = GPT(make_config(preset, vocab_size=vocab, block_size=val_block)).to(device)
    ids = torch.randint(0, vocab, (micro_batch, val_block + 1), generator=torch.Generator().manual_seed(seed))
    items = [(row.numpy(), 0) for row in ids]
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = reset_peak()
    t0 = time.process_time()
    if name == 'train_step':
        x, y = ids[:, :-1].to(device), ids[:, 1:].to(device)
        with hardware.autocast(device, compute_dtype()):
            _, loss = model(x, y)
        loss.backward()
        digest = loss.item()
    elif name == 'validation':
        nll, counts = bpb.score(model, items, device, compute_dtype(), max_tokens=micro_batch * val_block)
        digest = nll.sum() / counts.sum()
    else:
        digest = score_before(model, items).sum() / (micro_batch * val_block)
    if device == 'cuda':
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = peak_rss()
    return {'variant': name, 'peak_bytes': peak - base, 'cpu_s': time.process_time() - t0, 'nll': float(digest),
            'rows': chunk_rows(model.config.loss_chunk, vocab, device)}


def compare_validation():
    print(f"machine: {machine.describe(device)}, load average {os.getloadavg()[0]:.1f}")
    print(f"{preset} (n_embd {PRESETS[preset]['n_embd']}) at vocab {vocab:,}, {micro_batch} x {val_block} tokens, "
          f"{compute_dtype()}: training micro step vs validation step")
    results = {name: measure_in_subprocess(name) for name in VALIDATION_VARIANTS}
    a, b = results['validation'], results['validation_before']
    if abs(a['nll'] / b['nll'] - 1) > (1e-6 if compute_dtype() == 'float32' else 2e-2):
        raise SystemExit(f"bench/loss_memory.py: the scorers differ: {a['nll']} vs {b['nll']} nats/token")
    for r in results.values():
        print(f"  {r['variant']:>17}: peak +{r['peak_bytes'] / 2**20:,.0f} MiB, {r['cpu_s']:.2f} CPU s, "
              f"{'loss' if r['variant'] == 'train_step' else 'nll'} {r['nll']:.6f} nats/token")
    train_peak = results['train_step']['peak_bytes']
    print(f"chunk rows {a['rows']}; validation / training micro step: {a['peak_bytes'] / train_peak:.2f} "
          f"(target <= 1: {'met' if a['peak_bytes'] <= train_peak else 'NOT met'}); before issue 22: "
          f"{b['peak_bytes'] / train_peak:.2f}")


def compare():
    print(f"machine: {machine.describe(device)}, load average {os.getloadavg()[0]:.1f}")
    print(f"loss forward + backward: vocab {vocab:,}, d {d}, {tokens:,} tokens, chunk {chunk}, {compute_dtype()}")
    results = {name: measure_in_subprocess(name) for name in VARIANTS}
    check_same_result(results['chunked'], results['materialised'])
    check_same_result(results['chunked_compiled'], results['materialised'])
    for r in results.values():
        print(f"  {r['variant']:>12}: peak +{r['loss_peak_bytes'] / 2**20:,.0f} MiB, {r['cpu_s']:.2f} CPU s, "
              f"loss {r['loss']:.6f}")
    for name in VARIANTS[1:]:
        ratio = results['materialised']['loss_peak_bytes'] / results[name]['loss_peak_bytes']
        print(f"memory ratio materialised / {name}: {ratio:.1f}x (target >= 4x: {'met' if ratio >= 4 else 'NOT met'})")


def saved_activation_bytes(preset, n_layer, T):
    """Bytes autograd saves for backward in one bf16-autocast training forward of one sequence of T tokens (weights
    and their bf16 casts included, which do not grow with T), measured with saved_tensors_hooks on CPU, eager or
    (table_compile) compiled: the hooks see what the compiled graph saves."""
    model = GPT(make_config(preset, vocab_size=512, block_size=T, n_layer=n_layer))
    run = model
    if table_compile:
        torch._dynamo.reset()  # a fresh model per shape: no recompile limit
        run = torch.compile(model)
    own = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    saved = {}

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in own:
            saved[storage.data_ptr()] = storage.nbytes()
        return t
    idx = torch.randint(0, 512, (1, T))
    if table_compile:
        with torch.autocast('cpu', dtype=torch.bfloat16):
            run(idx, idx)  # compiles
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), torch.autocast('cpu', dtype=torch.bfloat16):
        run(idx, idx)
    return sum(saved.values())


def activation_bytes_per_token(preset):
    """(per layer, outside the layers) bytes per token saved for backward, from the growth between 64 and 128 tokens
    and between 1 and 2 layers. torch.compile saves less: it recomputes the fp32 elementwise ops in backward."""
    s = {(n, T): saved_activation_bytes(preset, n, T) for n in (1, 2) for T in (64, 128)}
    per_layer = ((s[2, 128] - s[1, 128]) - (s[2, 64] - s[1, 64])) / 64
    outside = (s[1, 128] - s[1, 64]) / 64 - per_layer
    return per_layer, outside


def memory_row(preset, vocab_size, per_layer, outside):
    """The 80 GB arithmetic of one (preset, vocabulary) at block_size, bf16 autocast, fp32 AdamW, chunked loss."""
    with torch.device('meta'):
        model = GPT(make_config(preset, vocab_size=vocab_size, block_size=block_size))
    cfg = model.config
    n_params = sum(p.numel() for p in model.parameters())  # padding rows included: they are allocated
    n_block_weights = sum(p.numel() for n, p in model.named_parameters() if p.dim() == 2 and n.startswith('blocks'))
    V, D = cfg.padded_vocab, cfg.n_embd
    state = 16 * n_params  # fp32 weights 4 + grads 4 + AdamW exp_avg 4 + exp_avg_sq 4
    casts = 2 * n_block_weights + 2 * V * D  # bf16 copies of the matrices, saved for backward; the head's own copy
    # the fp32 dW buffer (bf16 chunks are added into it, no temporary) and one chunk of the loss under bf16
    # autocast: at most ~14 bytes per logit (eager: bf16 logits, their fp32 copy, token_losses' saved log-softmax,
    # the gradients; measured on CPU, d 64; compiled, less), at the rows the GPU gets (chunk_rows)
    loss_fixed = 4 * V * D + 14 * chunk_rows(cfg.loss_chunk, cfg.vocab_size, 'cuda') * V
    per_seq = block_size * (cfg.n_layer * per_layer + outside + 4 * D)  # + its fp32 dh buffer
    free = gpu_bytes - reserve_bytes - state - casts - loss_fixed
    return {'preset': preset, 'vocab': vocab_size, 'params': n_params, 'state_gb': state / 1e9,
            'fixed_gb': (state + casts + loss_fixed) / 1e9, 'act_gb_per_seq': per_seq / 1e9,
            'max_micro_batch': max(0, int(free // per_seq))}


def print_table():
    print(f"memory at {gpu_bytes / 1e9:.0f} GB ({reserve_bytes / 1e9:.0f} GB reserved), block {block_size}, "
          f"bf16 autocast, {'compiled' if table_compile else 'eager'} activations (no checkpointing), fp32 AdamW, "
          f"chunked loss ({chunk_rows(GPTConfig.loss_chunk, table_vocabs[-1], 'cuda')} rows at {table_vocabs[-1]:,})")
    print(f"{'preset':>13} {'vocab':>7} {'params':>8} {'w+g+Adam':>9} {'fixed':>7} {'act/seq':>8} {'max B':>6}")
    for preset in table_presets:
        per_layer, outside = activation_bytes_per_token(preset)
        for v in table_vocabs:
            r = memory_row(preset, v, per_layer, outside)
            print(f"{preset:>13} {v:>7,} {r['params'] / 1e6:>7.0f}M {r['state_gb']:>7.1f}GB {r['fixed_gb']:>5.1f}GB "
                  f"{r['act_gb_per_seq']:>6.2f}GB {r['max_micro_batch']:>6}")
        print(f"{'':>13} activations: {per_layer / PRESETS[preset]['n_embd']:.1f} d bytes per token per layer, "
              f"{outside / PRESETS[preset]['n_embd']:.1f} d outside the layers")


if __name__ == '__main__':
    configurator.configure(globals())
    if device == 'cpu' and threads:
        torch.set_num_threads(threads)
    if table:
        print_table()
    elif variant in VALIDATION_VARIANTS:
        print(json.dumps(measure_validation_here(variant)))
    elif variant:
        print(json.dumps(measure_here(variant)))
    elif validation:
        compare_validation()
    else:
        compare()
