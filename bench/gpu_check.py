"""
The GPU check of issue 22 (item 7): the figures bench/RESULTS.md needs from one GPU, in one run of about 8 minutes.
Each part runs in its own process under its own time limit: a part that is slow, runs out of memory or fails loses
only its own figures (its error in one line), and each part starts on a clean GPU.

    bash bench/gpu_check.sh                                  # on the GPU machine: this script under `timeout`
    python bench/gpu_check.py --device=cuda                  # the same, by hand
    python bench/gpu_check.py --device=cuda --parts=b,e      # some parts again
    python bench/gpu_check.py --smoke=True                   # every part at tiny shapes (on CPU here: ~1-2 minutes)

  a  SDPA: the kernel model.py's Attention runs for an apertus block (GQA, causal), bf16 autocast and fp32, read from
     the profiler (the aten op SDPA dispatched to, and the CUDA kernels), with its forward + backward time; bf16
     without GQA (as many key/value heads as query heads) beside it, since cuDNN's kernel takes no GQA
  b  chunked_loss.chunked_cross_entropy forward + backward under bf16 autocast, chunk body compiled and eager, against
     its three N x V x d matmuls alone (logits, dh, dW) timed in the same process; then other chunk sizes, compiled
  c  a validation step at 256k through uniscale/bpb.py (validation_bpb, eagerly, as train.py) against train.py's
     train_step of the same shape (the sweep's micro batch, block 2048, regional compile): peak allocated, reserved
  d  bench/loss_memory.py: the loss's memory chunked vs materialised (d 2048, 16,384 tokens), and its validation
     mode (apertus-100M, 4 x 2048 tokens: a training micro step, the chunked scorer, the scorer before issue 22)
  e  the FineWeb-2 grid's preflight (sweep.py config/sweep_fineweb2.py --preflight=True) of apertus-100M, 300M and
     1B at 256k, then at 80k: tok/s, MFU, peak memory. With no tokenizer or shards on the machine the preflight
     measures at the vocabulary size the tokenizer's name gives, on random ids, and says so in its error: the entries
     are then 'not ok' for that reason alone, which `fits` (the micro batch fitted) tells apart
  f  bench/train_speed.py: train.py against transformers' loop and Trainer; needs out/tokenizers/bpe-4k and its
     embedded shards, and accelerate (else skipped, with the reason)

Writes {out}/gpu_check.json after every part (out: --out, else $OUT, else out/gpu_check): the GPU, torch, and per
part its status (ok, partial: some figure failed, error, timeout, skipped), seconds, limit and figures.
"""
import gc
import importlib.util
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # the repo root
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/, for machine.py and loss_memory.py
import machine  # noqa: E402
import torch  # noqa: E402

import configurator  # noqa: E402
from uniscale import hardware  # noqa: E402
from uniscale.atomic import write_json_atomic  # noqa: E402

device = ''                  # '' = cuda when available, else cpu
smoke = False                # True: every part at tiny shapes, no compile where a part allows it (a CPU check)
parts = ['a', 'e', 'c', 'b', 'd', 'f']  # run in this order: the preflight first (the goals), its compiled
                             # graphs then cached (inductor's cache dir) for c and b's shapes
out = ''                     # '' = $OUT, else out/gpu_check
budget_s = 450.0             # all parts together; each gets min(its limit, what is left)
part = ''                    # internal: run this one part here
work = ''                    # internal: the parent's scratch folder
deadline = 0.0               # internal: the part's end (time.time())

LIMITS = {'a': 40, 'b': 100, 'c': 90, 'd': 80, 'e': 240, 'f': 200}  # seconds per part, start-up and compile in
MIN_PART_S = 20              # a part with less time left is skipped
TITLES = {'a': 'SDPA kernel', 'b': 'chunked cross-entropy vs its matmuls', 'c': 'validation vs training peak at 256k',
          'd': 'loss memory chunked vs materialised (bench/loss_memory.py)', 'e': 'preflight of the FineWeb-2 grid',
          'f': 'train.py vs transformers Trainer (bench/train_speed.py)'}
H100_BYTES = 81559 * 2 ** 20  # torch's total_memory of an H100 80GB: the grid's GPU
TRAINER_TOKENIZER, TRAINER_SHARDS = 'out/tokenizers/bpe-4k', 'out/tokens/embedded/bpe-4k'  # part f's inputs
FULL = dict(
    sdpa=[('apertus-300M', 'bfloat16', True), ('apertus-300M', 'float32', True), ('apertus-300M', 'bfloat16', False),
          ('apertus-1B', 'bfloat16', True)], sdpa_batch=4, sdpa_block=2048,
    ce=[(32768, 256000, 1024), (16384, 256000, 2048), (32768, 80000, 1024)], ce_chunks=[1024, 2048, 4096], reps=5,
    val=[('apertus-100M', 32), ('apertus-300M', 16)], val_vocab=256000, val_block=2048, val_compile=True,
    loss=dict(d=2048, tokens=16384, vocab=256000), loss_val=dict(preset='apertus-100M', micro_batch=4,
                                                                 val_block=2048, vocab=256000),
    preflight=[('apertus-100M', 'bpe-256k'), ('apertus-300M', 'bpe-256k'), ('apertus-1B', 'bpe-256k'),
               ('apertus-300M', 'bpe-80k'), ('apertus-1B', 'bpe-80k'), ('apertus-100M', 'bpe-80k')],
    preflight_args=[], preflight_limit=100,
    trainer_args=['--preset=apertus-100M', '--block_size=1024', '--batch_size=16', '--steps=12', '--rounds=1',
                  '--log_interval=2'])
SMOKE = dict(
    sdpa=[('apertus-micro', 'bfloat16', True), ('apertus-micro', 'float32', True),
          ('apertus-micro', 'bfloat16', False)], sdpa_batch=2, sdpa_block=64,
    ce=[(512, 1000, 64), (256, 1024, 128)], ce_chunks=[128], reps=2,
    val=[('apertus-micro', 4)], val_vocab=1000, val_block=64, val_compile=False,
    loss=dict(d=64, tokens=256, vocab=1000), loss_val=dict(preset='apertus-micro', micro_batch=2, val_block=32,
                                                            vocab=1000),
    preflight=[('apertus-micro', 'bpe-1k'), ('apertus-tiny', 'bpe-1k')],
    preflight_args=['--presets=[apertus-micro,apertus-tiny]', '--tokenizers=[bpe-1k]', '--preset_args={}',
                    "--train_args={'compile': False, 'block_size': 64, 'batch_size': 8, 'micro_batch_size': 2}"],
    preflight_limit=60,
    trainer_args=['--preset=gpt2-tiny', '--block_size=32', '--batch_size=2', '--steps=4', '--rounds=1',
                  '--warmup=1'])

RESULT = {}  # a part's figures, saved after each (the parent reads them, also after killing the part)


# ---------------------------------------------------------------- helpers of a part
def one_line(e):
    """An error in one line: its first line, and its last where it has more (a subprocess's traceback ends there)."""
    lines = [x.strip() for x in str(e).strip().splitlines() if x.strip()] or ['']
    return f"{type(e).__name__}: {lines[0][:200]}" + (f" ... {lines[-1][:200]}" if len(lines) > 1 else '')


def is_oom(e):
    return isinstance(e, torch.OutOfMemoryError) or 'out of memory' in str(e)


def free_memory():
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def sync():
    if DEV.startswith('cuda'):
        torch.cuda.synchronize()


def seconds_left():
    return deadline - time.time()


def show(k, v):
    """One figure for the log: bytes in GiB, floats to 4 digits."""
    if k.endswith('_bytes') and isinstance(v, (int, float)):
        return f"{k[:-6]} {v / 2**30:.2f} GiB"
    return f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"


def measure(key, fn, *args, need_s=0):
    """RESULT[key] = fn(*args) (a dict), or {'error': its one line}; saved at once, so a part stopped at its limit
    keeps what it measured. need_s: skipped when less time than that is left."""
    if need_s and seconds_left() < need_s:
        RESULT[key] = {'skipped': f"{seconds_left():.0f} s left in the part, {need_s} s needed"}
    else:
        t0 = time.perf_counter()
        try:
            r = fn(*args)
        except (Exception, SystemExit) as e:  # SystemExit: a bench script's one-line refusal
            r = {'error': 'out of memory: ' + one_line(e) if is_oom(e) else one_line(e)}
        free_memory()
        r['seconds'] = round(time.perf_counter() - t0, 1)
        RESULT[key] = r
    write_json_atomic(os.path.join(work, f'part_{part}.json'), RESULT)
    print(f"[{part}] {key}: {', '.join(show(k, v) for k, v in RESULT[key].items())}", flush=True)
    return RESULT[key]


def timed(fn, reps):
    """Seconds per call of fn, after one untimed call."""
    fn()
    sync()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    sync()
    return (time.perf_counter() - t0) / reps


def peaks():
    """(peak allocated, peak reserved) since the last reset on CUDA; (None, None) on CPU."""
    if not DEV.startswith('cuda'):
        return None, None
    sync()
    return torch.cuda.max_memory_allocated(), torch.cuda.max_memory_reserved()


def reset_peaks():
    if DEV.startswith('cuda'):
        sync()
        torch.cuda.reset_peak_memory_stats()


# ---------------------------------------------------------------- a: SDPA kernel
SDPA_OPS = {'_scaled_dot_product_flash_attention_for_cpu': 'flash (cpu)', '_scaled_dot_product_flash_attention':
            'flash', '_scaled_dot_product_efficient_attention': 'efficient', '_scaled_dot_product_cudnn_attention':
            'cudnn', '_scaled_dot_product_attention_math': 'math',
            '_scaled_dot_product_fused_attention_overrideable': 'overrideable'}


def sdpa_kernel(preset, dt, gqa):
    """The aten SDPA op and the CUDA kernels of one forward + backward of model.py's Attention, and its time."""
    from model import Attention, make_config, rope_cos_sin
    S = SHAPES
    cfg = make_config(preset, vocab_size=1024, block_size=S['sdpa_block'], **({} if gqa else {'n_kv_head': 0}))
    attn = Attention(cfg).to(DEV)
    rope = tuple(t.to(DEV) for t in rope_cos_sin(cfg))
    x = torch.randn(S['sdpa_batch'], S['sdpa_block'], cfg.n_embd, device=DEV, requires_grad=True)

    def step():
        with hardware.autocast(DEV, dt):
            y = attn(x, rope=rope)
        y.float().sum().backward()
    step()
    sync()
    activities = [torch.profiler.ProfilerActivity.CPU] + \
        ([torch.profiler.ProfilerActivity.CUDA] if DEV.startswith('cuda') else [])
    with torch.profiler.profile(activities=activities) as prof:
        step()
        sync()
    ops, kernels = set(), set()
    for e in prof.events():
        name = e.name[len('aten::'):] if e.name.startswith('aten::') else None
        match = next((k for k in sorted(SDPA_OPS, key=len, reverse=True) if name and name.startswith(k)), None)
        if match:
            ops.add(SDPA_OPS[match])
        if 'cuda' in str(e.device_type).lower() and re.search(r'(?i)flash|fmha|cudnn|sdpa|attention|softmax', e.name):
            kernels.add(e.name[:90])
    return {'preset': preset, 'dtype': dt, 'gqa': cfg.n_kv_head != cfg.n_head,
            'shape': [S['sdpa_batch'], cfg.n_head, cfg.n_kv_head, S['sdpa_block'], cfg.head_dim],
            'sdpa_op': sorted(ops), 'kernels': sorted(kernels)[:8],
            'fwd_bwd_ms': 1e3 * timed(step, SHAPES['reps'])}


def part_a():
    RESULT['sdpa_backends_enabled'] = {k: getattr(torch.backends.cuda, f'{k}_sdp_enabled', lambda: None)()
                                       for k in ('flash', 'mem_efficient', 'cudnn', 'math')}
    for preset, dt, gqa in SHAPES['sdpa']:
        measure(f"{preset} {dt}{'' if gqa else ' no-GQA'}", sdpa_kernel, preset, dt, gqa)


# ---------------------------------------------------------------- b: chunked cross-entropy vs its matmuls
def matmul_time(N, V, d):
    """The loss's three GEMMs alone in bf16: logits = h W^T (N x V), dh = g W, dW = g^T h."""
    bf16 = torch.bfloat16
    h, w = torch.randn(N, d, device=DEV, dtype=bf16), torch.randn(V, d, device=DEV, dtype=bf16)
    logits, dh, dw = torch.empty(N, V, device=DEV, dtype=bf16), torch.empty_like(h), torch.empty_like(w)

    def step():
        torch.mm(h, w.t(), out=logits)
        torch.mm(logits, w, out=dh)  # logits stand in for their gradient: same shape and dtype
        torch.mm(logits.t(), h, out=dw)
    return timed(step, SHAPES['reps'])


def ce_time(N, V, d, compiled, chunk=-1):
    """Seconds of one chunked_cross_entropy forward + backward (bf16 autocast), first call (compile) apart."""
    import model
    from uniscale import chunked_loss
    torch.manual_seed(0)
    h = torch.randn(N, d, device=DEV, requires_grad=True)
    w = (torch.randn(V, d, device=DEV) / math.sqrt(d)).requires_grad_()
    y = torch.randint(0, V, (N,), device=DEV)
    y[::10] = -1  # ignored positions, as at document ends

    def step():
        h.grad = w.grad = None
        with hardware.autocast(DEV, 'bfloat16'):
            loss = chunked_loss.chunked_cross_entropy(h, w, y, V, model.token_losses, chunk, compiled=compiled)
        loss.backward()
    torch._dynamo.reset()  # a fresh graph per shape: dynamo's recompile limit is never reached
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        t0 = time.perf_counter()
        step()
        sync()
        first_s = time.perf_counter() - t0
        seconds = timed(step, SHAPES['reps'])
    fell_back = [str(c.message).splitlines()[0][:200] for c in caught if 'runs eagerly' in str(c.message)]
    return seconds, first_s, fell_back


def ce_vs_matmuls(N, V, d):
    import model
    from uniscale import chunked_loss
    r = {'rows_per_chunk': chunked_loss.chunk_rows(-1, V, DEV.split(':')[0], N),
         'fused_kernel': chunked_loss.fused_linear_cross_entropy(DEV.split(':')[0], torch.bfloat16,
                                                                 model.token_losses) is not None,
         'dw_fp32_addmm': chunked_loss.fp32_accumulating_addmm(torch.device(DEV))}  # dW summed in fp32, no temporary
    mm = matmul_time(N, V, d)
    free_memory()
    r['matmuls_ms'] = 1e3 * mm
    r['matmuls_tflops'] = 6 * N * V * d / mm / 1e12
    for name, compiled in (('eager', False), ('compiled', True)):
        if compiled and smoke and (N, V, d) != SHAPES['ce'][0]:
            r['compiled'] = 'skipped in smoke (the first shape compiles)'
            continue
        seconds, first_s, fell_back = ce_time(N, V, d, compiled)
        r[f'{name}_ms'] = 1e3 * seconds
        r[f'{name}_ratio'] = seconds / mm  # the loss's time over its matmuls': 1 = it costs its matmuls
        if compiled:
            r['compiled_first_s'] = first_s
            r['compiled_fell_back'] = fell_back or None
        free_memory()
    return r


def ce_chunk(N, V, d, rows):
    seconds, first_s, fell_back = ce_time(N, V, d, True, rows)
    return {'rows_per_chunk': rows, 'compiled_ms': 1e3 * seconds, 'first_s': first_s,
            'fell_back': fell_back or None}


def part_b():
    for N, V, d in SHAPES['ce']:
        measure(f"N={N} V={V} d={d}", ce_vs_matmuls, N, V, d, need_s=15)
    N, V, d = SHAPES['ce'][0]
    for rows in SHAPES['ce_chunks']:  # is the device's chunk size (chunked_loss.CHUNK_LOGITS) the fastest?
        measure(f"N={N} V={V} d={d} chunk={rows}", ce_chunk, N, V, d, rows, need_s=25)


# ---------------------------------------------------------------- c: validation vs training peak
def validation_vs_training(preset, micro):
    """Peak memory of train.py's train_step and of a validation step of the same shape (micro x block windows),
    with the weights and AdamW's moments resident, as in a run; each phase's own peak, on a clean allocator."""
    import train
    from model import GPT, make_config
    from uniscale.bpb import validation_bpb
    from uniscale.train_runtime import compile_model, eager
    S = SHAPES
    T, V, dt = S['val_block'], S['val_vocab'], hardware.resolve(DEV, '')[1]
    torch._dynamo.reset()  # a fresh compile per model, as the preflight does
    torch.manual_seed(0)
    model = GPT(make_config(preset, vocab_size=V, block_size=T)).to(DEV)
    optimizer = model.configure_optimizer(0.1, 1e-3, (0.9, 0.95), DEV.split(':')[0])
    step_model = compile_model(model, 'regional') if S['val_compile'] else model
    xy = torch.randint(0, V, (micro, T + 1), generator=torch.Generator().manual_seed(0)).to(DEV)
    autocast = hardware.autocast(DEV, dt)

    def step():
        train.train_step(step_model, optimizer, [lambda: (xy[:, :-1], xy[:, 1:])], 1.0, autocast)
    r = {'preset': preset, 'vocab': V, 'micro_batch': micro, 'block': T, 'compiled': S['val_compile']}
    t0 = time.perf_counter()
    for _ in range(2):  # compiles; AdamW's moments exist after the first
        step()
    sync()
    r['warmup_s'] = time.perf_counter() - t0
    r['resident_bytes'] = torch.cuda.memory_allocated() if DEV.startswith('cuda') else None
    free_memory()
    reset_peaks()
    r['train_step_s'] = timed(step, 1)
    r['train_peak_bytes'], r['train_reserved_bytes'] = peaks()
    free_memory()  # validation's reserved from a clean cache, not training's
    reset_peaks()
    items = [(row, 0) for row in xy.cpu().numpy()]
    t0 = time.perf_counter()
    with eager():  # as train.py validates
        validation_bpb(model, items, micro * T * 4, DEV, dt, micro * T)
    sync()
    r['val_s'] = time.perf_counter() - t0
    r['val_peak_bytes'], r['val_reserved_bytes'] = peaks()
    r['val_logits_before_22_bytes'] = micro * T * V * 10  # bf16 logits, their fp32 copy, fp32 log-softmax (est.)
    if r['val_peak_bytes'] is not None:
        r['val_over_train'] = r['val_peak_bytes'] / r['train_peak_bytes']
        r['fits_h100_80GB'] = max(r['train_reserved_bytes'], r['val_reserved_bytes']) <= H100_BYTES
    return r


def part_c():
    for preset, micro in SHAPES['val']:
        measure(f"{preset} x{micro}", validation_vs_training, preset, micro, need_s=20)


# ---------------------------------------------------------------- d: bench/loss_memory.py
def loss_memory_variant(lm, name):
    r = lm.measure_in_subprocess(name)
    r.pop('variant', None)
    return r


def part_d():
    import loss_memory as lm
    lm.device = DEV.split(':')[0]
    for k, v in SHAPES['loss'].items():
        setattr(lm, k, v)
    variants = [n for n in lm.VARIANTS if not (smoke and n == 'chunked_compiled')]  # smoke: no compile
    got = {n: measure(f"loss {n}", loss_memory_variant, lm, n) for n in variants}
    ref = got['materialised'].get('loss_peak_bytes')
    for n in variants[1:]:
        if ref and got[n].get('loss_peak_bytes'):
            RESULT[f'ratio materialised / {n}'] = ref / got[n]['loss_peak_bytes']
            print(f"[d] memory ratio materialised / {n}: {RESULT[f'ratio materialised / {n}']:.1f}x", flush=True)
            tol = 2e-2 if DEV.startswith('cuda') else 1e-3  # bf16 on CUDA
            RESULT[f'same loss {n}'] = abs(got[n]['loss'] / got['materialised']['loss'] - 1) < tol
    for k, v in SHAPES['loss_val'].items():
        setattr(lm, k, v)
    val = {n: measure(f"validation mode {n}", loss_memory_variant, lm, n) for n in lm.VALIDATION_VARIANTS}
    train_peak = val['train_step'].get('peak_bytes')
    for n in ('validation', 'validation_before'):
        if train_peak and val[n].get('peak_bytes'):
            RESULT[f'{n} / train_step'] = val[n]['peak_bytes'] / train_peak
            print(f"[d] peak {n} / train_step: {RESULT[f'{n} / train_step']:.2f}", flush=True)
    write_json_atomic(os.path.join(work, f'part_{part}.json'), RESULT)


# ---------------------------------------------------------------- e: the grid's preflight
PREFLIGHT_FIELDS = ('device', 'micro_batch_size', 'world_size', 'grad_accum', 'tok_per_s', 'mfu', 'flops_per_token',
                    'train_peak_mem_bytes', 'val_peak_mem_bytes', 'peak_mem_reserved_bytes', 'mem_need_bytes',
                    'mem_limit_bytes', 'fits_micro_batch_size', 'warmup_s', 'ok', 'error')


def run_logged(cmd, limit, indent='    ', own_group=False):
    """(exit code, or None when killed at `limit` seconds, and the output) of a command, its output printed as it
    comes; killed at the limit or when this process stops (SIGTERM). own_group: in a process group of its own, killed
    whole (its children too); else in this process's group, which the parent kills whole."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                            start_new_session=own_group)
    lines = []
    reader = threading.Thread(target=lambda: [lines.append(x) or print(indent + x, end='', flush=True)
                                              for x in proc.stdout], daemon=True)
    reader.start()
    try:
        rc = proc.wait(timeout=max(1, limit))
    except subprocess.TimeoutExpired:
        rc = None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL) if own_group else proc.kill()  # inductor's workers follow
            proc.wait()
    reader.join(5)
    return rc, ''.join(lines)


def preflight(preset, tok):
    name = f"pf_{preset}_{tok}".replace('-', '_')
    sweep_dir = os.path.join(work, 'preflight')
    cmd = [sys.executable, '-u', 'sweep.py', 'config/sweep_fineweb2.py', '--preflight=True',
           f'--only={preset},{tok},s1', f'--sweep_dir={sweep_dir}', f'--name={name}', *SHAPES['preflight_args']]
    rc, output = run_logged(cmd, min(SHAPES['preflight_limit'], seconds_left() - 3))
    path = os.path.join(sweep_dir, f'{name}_preflight.json')
    if not os.path.isfile(path):
        last = [x for x in output.splitlines() if x.strip()][-1:] or ['no output']
        raise RuntimeError(f"killed at its limit of {SHAPES['preflight_limit']} s" if rc is None else
                           f"exit code {rc}, no preflight.json: {last[0][:300]}")
    with open(path) as f:
        entry = json.load(f)[0]
    os.remove(path)
    r = {'preset': preset, 'tokenizer': tok, **{k: entry.get(k) for k in PREFLIGHT_FIELDS}}
    r['fits'] = bool(entry.get('fits_micro_batch_size')) and entry['fits_micro_batch_size'] == entry['micro_batch_size']
    # the preflight's error: inputs missing here (measured on random ids), then whatever does not fit
    error = r.pop('error') or ''
    r['inputs_missing'] = 'on random ids)' in error
    r['fit_error'] = error.split('on random ids)', 1)[-1].lstrip('; ')[:300] or None
    need = entry.get('mem_need_bytes')
    r['fits_h100_80GB'] = need <= H100_BYTES if need else None
    return r


def part_e():
    for preset, tok in SHAPES['preflight']:
        measure(f"{preset} {tok}", preflight, preset, tok, need_s=25)


# ---------------------------------------------------------------- f: train.py vs transformers Trainer
def trainer_ratio():
    missing = [p for p in (os.path.join(TRAINER_TOKENIZER, 'meta.json'), os.path.join(TRAINER_SHARDS, 'train.json'))
               if not os.path.isfile(os.path.join(ROOT, p))]
    if missing:
        return {'skipped': f"{', '.join(missing)} not here: make them (bench/gpu_check.sh --prepare says how) and "
                           f"carry them"}
    if importlib.util.find_spec('accelerate') is None:
        return {'skipped': 'accelerate is not installed (transformers.Trainer needs it): carry it in .gpu_deps'}
    cmd = [sys.executable, '-u', 'bench/train_speed.py', f'--device={DEV}', f'--tokenizer={TRAINER_TOKENIZER}',
           '--corpus=embedded', '--out_dir=out', *SHAPES['trainer_args']]
    rc, output = run_logged(cmd, seconds_left() - 3)
    if rc != 0:
        last = [x for x in output.splitlines() if x.strip()][-1:] or ['no output']
        raise RuntimeError('killed at the part limit' if rc is None else f"exit code {rc}: {last[0][:300]}")
    ours = re.search(r'train\.py ([\d,]+) tok/s, transformers loop ([\d,]+) tok/s, ratio ([\d.]+)x', output)
    trainer = re.search(r'Trainer ([\d,]+) tok/s, ratio train\.py / Trainer ([\d.]+)x', output)
    mfu = re.search(r'MFU ([\d.]+)% vs ([\d.]+)%', output)
    number = lambda s: float(s.replace(',', ''))
    r = {'args': ' '.join(SHAPES['trainer_args'])}
    if ours:
        r.update(train_py_tok_per_s=number(ours[1]), hf_loop_tok_per_s=number(ours[2]), ratio_vs_loop=number(ours[3]))
    if trainer:
        r.update(trainer_tok_per_s=number(trainer[1]), ratio_vs_trainer=number(trainer[2]))
    if mfu:
        r.update(mfu_train_py=number(mfu[1]) / 100, mfu_hf_loop=number(mfu[2]) / 100)
    r['lines'] = [x for x in output.splitlines() if 'ratio' in x or 'target' in x][-3:]
    return r


def part_f():
    measure('train_speed', trainer_ratio)


# ---------------------------------------------------------------- the parent: every part, each in its own process
def gpu_line():
    """nvidia-smi's name, memory and driver, without starting CUDA in this process (the parts' memory is theirs)."""
    try:
        return subprocess.run(['nvidia-smi', '--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'],
                              capture_output=True, text=True, timeout=20).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def run_part(p, limit):
    """One part in a fresh process group (a kill at the limit takes its children too): its status and figures."""
    cmd = [sys.executable, '-u', os.path.abspath(__file__), f'--part={p}', f'--device={DEV}', f'--smoke={smoke}',
           f'--work={work}', f'--deadline={time.time() + limit - 2}']
    t0 = time.perf_counter()
    rc, output = run_logged(cmd, limit, indent='', own_group=True)  # a SIGTERM to this process ends it too
    path = os.path.join(work, f'part_{p}.json')
    results = {}
    if os.path.isfile(path):
        with open(path) as f:
            results = json.load(f)
    figures = [v for v in results.values() if isinstance(v, dict)]
    failed = [k for k, v in results.items() if isinstance(v, dict) and 'error' in v]
    r = {'title': TITLES[p], 'status': 'ok', 'seconds': round(time.perf_counter() - t0, 1), 'limit_s': round(limit),
         'error': None, 'results': results}
    if rc is None:
        r['status'], r['error'] = 'timeout', f"killed at its limit of {limit:.0f} s; the figures before it are kept"
    elif rc != 0:
        last = [x.strip() for x in output.splitlines() if x.strip()][-1:] or ['no output']
        r['status'], r['error'] = 'error', f"exit code {rc}: {last[0][:300]}"
    elif failed:
        r['status'], r['error'] = 'partial', f"{len(failed)} figure(s) failed: {', '.join(failed)}"
    elif figures and all('skipped' in v for v in figures):
        r['status'] = 'skipped'
    return r


def main():
    global work
    out_dir = out or os.environ.get('OUT') or os.path.join(ROOT, 'out', 'gpu_check')
    path = os.path.join(out_dir, 'gpu_check.json')
    unknown = [p for p in parts if p not in LIMITS]
    if unknown:
        raise SystemExit(f"config error: --parts has {unknown}; choose among {', '.join(LIMITS)}")
    report = {'device': DEV, 'gpu': None, 'nvidia_smi': gpu_line() if DEV.startswith('cuda') else None,
              'torch': torch.__version__, 'cuda': torch.version.cuda, 'machine': machine.describe('cpu'),
              'smoke': smoke, 'budget_s': budget_s, 'started': time.strftime('%Y-%m-%d %H:%M:%S'),
              'inductor_cache': os.environ['TORCHINDUCTOR_CACHE_DIR'], 'total_s': None, 'parts': {}}
    print(f"gpu_check on {DEV}{' (smoke)' if smoke else ''}: {report['nvidia_smi'] or ''} {report['machine']}; "
          f"parts {','.join(parts)} in {budget_s:.0f} s; writes {path}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the outer timeout: the JSON so far stays written
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix='gpu_check_') as work:
        try:
            for p in parts:
                left = budget_s - (time.time() - t0)
                if left < MIN_PART_S:
                    report['parts'][p] = {'title': TITLES[p], 'status': 'skipped', 'seconds': 0, 'limit_s': 0,
                                          'error': f"no time left ({left:.0f} s of budget_s)", 'results': {}}
                else:
                    print(f"== part {p}: {TITLES[p]} (limit {min(LIMITS[p], left):.0f} s)", flush=True)
                    report['parts'][p] = {'title': TITLES[p], 'status': 'interrupted', 'seconds': None,
                                          'limit_s': round(min(LIMITS[p], left)), 'results': {},
                                          'error': 'the check was stopped (SIGTERM: the outer timeout) in this part'}
                    report['parts'][p] = r = run_part(p, min(LIMITS[p], left))
                    report['gpu'] = report['gpu'] or r['results'].pop('gpu', None)
                    r['results'].pop('gpu', None)
                    print(f"== part {p}: {r['status']} in {r['seconds']} s" + (f": {r['error']}" if r['error'] else ''),
                          flush=True)
                report['total_s'] = round(time.time() - t0, 1)
                write_json_atomic(path, report)
        finally:
            for p, r in report['parts'].items():  # the figures an interrupted part saved before it was stopped
                fragment = os.path.join(work, f'part_{p}.json')
                if r['status'] == 'interrupted' and os.path.isfile(fragment):
                    with open(fragment) as f:
                        r['results'] = json.load(f)
                    r['results'].pop('gpu', None)
            report['total_s'] = round(time.time() - t0, 1)
            write_json_atomic(path, report)
    statuses = ', '.join(f"{p} {r['status']}" for p, r in report['parts'].items())
    print(f"gpu_check: {statuses}; {report['total_s']} s; wrote {path}")


def main_part():
    """One part, in this process; its figures go to {work}/part_{part}.json as they come."""
    if DEV.startswith('cuda') and part in 'abc':  # d, e and f measure in subprocesses: no CUDA context here
        RESULT['gpu'] = torch.cuda.get_device_name(DEV)
    {'a': part_a, 'b': part_b, 'c': part_c, 'd': part_d, 'e': part_e, 'f': part_f}[part]()


if __name__ == '__main__':
    configurator.configure(globals())
    DEV = hardware.resolve(device, '')[0]
    SHAPES = SMOKE if smoke else FULL
    os.environ.setdefault('TORCHINDUCTOR_CACHE_DIR', os.path.join(tempfile.gettempdir(), 'gpu_check_inductor'))
    if part:
        main_part()
    else:
        main()
