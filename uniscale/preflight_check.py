"""
Preflight: before a grid is submitted, measure each distinct training configuration on the device at hand.

    python sweep.py config/sweep_fineweb2.py --preflight=True       # on one GPU: does each size fit, how fast, how long
    python sweep.py config/sweep_demo.py --preflight=True           # the same checks at toy scale, on CPU
    python sweep.py config/sweep_fineweb2.py --dry_run=True         # estimated FLOPs and GPU-hours, before any data

For each distinct (preset, tokenizer, block_size, micro_batch_size, world size) of the grid (after --only), with the
run's whole train.py config as the sweep launches it: checks that the tokenizer and the train/val shards exist (a
missing one is named with the command that makes it), builds the model and AdamW as train.py does, and times
`preflight_steps` optimizer steps after `preflight_warmup` untimed ones (compiled there, by train_runtime.compile_model), with
the run's compile, compile_mode and dtype, on the first tokens of the train shards (random ids when they are missing;
a missing tokenizer is stood in for by the vocabulary size its name gives). A step here is one micro batch (the
per-process one: micro_batch_size, else batch_size / world; world = num_gpus x the preset's slurm_nodes) and one
update: with gradient accumulation (batch_size / (micro x world) micro batches) the optimizer's share is overcounted,
and the DDP all-reduce is not measured. The step is train.py's own train_step; one validation batch (eval_batch_size,
else the micro batch, through uniscale/bpb.py, eagerly as train.py validates) follows the timed steps, with its own
peak. Peak memory: torch.cuda.max_memory_allocated, and max_memory_reserved beside it, on CUDA; on CPU the rise of the
process's peak RSS (VmHWM, reset before each phase) over its RSS before the model was built. A run under DDP (more
than one process, or any SLURM run: srun sets RANK) keeps its gradients between steps (train_step zeroes them, not
frees them): measured so, in both phases. What a process of the run needs: each phase's peak (reserved on CUDA) +
DDP's buckets (a second copy of the gradients when train_runtime.ddp_options leaves gradient_as_bucket_view off; 0 bytes when
on: the gradients are views of them), times the processes sharing the memory on CPU. The device's memory
(device_memory) is the GPU's total, on CPU the RAM available. An out-of-memory, or a need above the device's memory,
retries at half the micro batch (a divisor of the per-process batch) down to 1: the entry is not ok and says which
fits (or that none does, or that validation's own eval_batch_size must shrink); its figures are measured there.
  flops_per_token = model.flops_per_token(): 6 x matmul weights (the LM head included) + attention scores and values
  train_flops     = train tokens (train.steps_for_budget x batch_size x block_size) x flops_per_token
  est_gpu_hours   = train tokens / measured tok/s of one device / 3600
Writes {sweep_dir}/{name}_preflight.json (fields in DESIGN.md) and prints a table; one line and exit 1 if any is not ok.
The dry run's estimate (planned_cost) needs no GPU and no data: the train tokens follow from the run's budget at the
bytes per token of its train shards, else of its tokenizer on the corpus's val split, else an assumption by vocabulary
size (ASSUMED_BYTES_PER_TOKEN, or the sweep's assume_bytes_per_token), each said where it comes from; the vocabulary
from the tokenizer's meta.json, else its name; GPU-hours = train FLOPs / (assume_mfu x gpu_peak_flops) / 3600.
"""
import contextlib
import ctypes
import functools
import gc
import glob
import json
import math
import os
import re
import shlex
import time
import types
from dataclasses import astuple

import numpy as np
import torch

import configurator
import train
from model import GPT, PRESETS, GPTConfig, make_config
from uniscale import hardware, train_runtime
from uniscale.atomic import write_json_atomic
from uniscale.bpb import score
from uniscale.own_text import KEYS
from uniscale.run_folder import read_json
from uniscale.shards import TokenShards
from uniscale.split_making import split_settings
from uniscale.tokenization import kinds_trained_by, load_tokenizer, tokenizer_name

H100_BF16_FLOPS = 989e12     # sweep.py's default gpu_peak_flops (dense bf16)
ENTRY = ('preset', 'tokenizer', 'block_size', 'micro_batch_size', 'world_size', 'grad_accum', 'device',
         'peak_mem_bytes', 'peak_mem_kind', 'train_peak_mem_bytes', 'val_peak_mem_bytes', 'peak_mem_reserved_bytes',
         'ddp_bucket_bytes', 'mem_need_bytes', 'mem_limit_bytes', 'tok_per_s', 'mfu', 'flops_per_token',
         'train_tokens', 'train_flops', 'est_gpu_hours', 'fits_micro_batch_size', 'warmup_s', 'ok',
         'error')  # DESIGN.md's fields and a few more


# ---------------------------------------------------------------- a run's config, and the commands for what it lacks
def run_config(train_argv):
    """The run's whole train.py config: train.py's defaults, then the argv the sweep launches train.py with; a
    context given in bytes (context_bytes) becomes the block_size train.py derives from the train split."""
    defaults = configurator.defaults(train)
    rc = configurator.configure(defaults, train_argv)
    if rc['context_bytes'] > 0:
        name = read_json(os.path.join(rc['tokenizer'], 'meta.json'), default={}).get('name') or \
            os.path.basename(os.path.normpath(rc['tokenizer']))
        sidecar = read_json(os.path.join(train.tokens_dir_for(rc, name), 'train.json'), default=None)
        if sidecar and sidecar.get('n_tokens'):
            rc['block_size'] = train.block_size_for(rc, sidecar['n_bytes'] / sidecar['n_tokens'])
    return rc


def model_config(rc, vocab_size, bos_id):
    return train.model_config_for(rc, vocab_size, bos_id, rc['block_size'])


def configs_of(module, required):
    """(path, config) of each config/*.py that sets `required` and only keys of `module`, over its defaults."""
    defaults = configurator.defaults(module)
    for path in sorted(glob.glob(os.path.join('config', '*.py'))):
        ns = {}
        try:
            with open(path) as f:
                exec(compile(f.read(), path, 'exec'), ns)
        except Exception:  # noqa: BLE001 -- another script's config that does not run here is not ours to judge
            continue
        settings = configurator.defaults(ns)
        if required in settings and set(settings) <= set(defaults):
            yield path, {**defaults, **settings}


def flags(pairs):
    return [f"--{k}={v if isinstance(v, str) else repr(v)}" for k, v in pairs]


def tokenizer_command(tok_dir, rc):
    """The command that trains the missing tokenizer folder tok_dir on the run's corpus."""
    import btm
    import tokenizer
    name, out_dir = os.path.basename(os.path.normpath(tok_dir)), os.path.dirname(os.path.normpath(tok_dir))
    where = {'out_dir': out_dir, 'corpus_dir': os.path.join(rc['out_dir'], 'corpus')}
    for script, module, required, makes in (
            ('tokenizer.py', tokenizer, 'vocab_sizes',
             lambda c: {tokenizer_name(a, v) for a in c['algorithms'] for v in c['vocab_sizes']}),
            ('btm.py', btm, 'n_base', lambda c: {c['name'] or btm.default_name(c['n_base'], c['vocab_size'], c['method'])})):
        for path, c in configs_of(module, required):
            if c['corpus'] == rc['corpus'] and name in makes(c):
                return shlex.join(['python', script, path] + flags((k, v) for k, v in where.items() if c[k] != v))
    default_dirs = [(k, v) for k, v in where.items() if getattr(tokenizer, k) != v]
    m = re.fullmatch(r'([a-z]+)-(\d+)(k?)', name)
    if m and m[1] in kinds_trained_by('tokenizer.py'):
        size = int(m[2]) * (1000 if m[3] else 1)
        return shlex.join(['python', 'tokenizer.py'] + flags([('corpus', rc['corpus']), ('algorithms', m[1]),
                                                               ('vocab_sizes', size)] + default_dirs))
    return (f"python tokenizer.py ... (no config/*.py makes {name!r} on corpus {rc['corpus']!r}; "
            f"train it into {tok_dir})")


def prepare_command(tok_dir, rc):
    """The prepare.py command that encodes the run's corpus with tok_dir (None: makes its text splits), with the
    settings its existing text splits were made with (a config/ file that has them, else flags), so that it never
    remakes the splits."""
    import prepare
    made = read_json(corpus_meta_path(rc), default=None)
    settings = (made or {}).get('settings')
    tail = ([f"--tokenizers={tok_dir}"] if tok_dir else []) + \
        flags([('out_dir', rc['out_dir'])] if rc['out_dir'] != prepare.out_dir else [])
    for path, c in configs_of(prepare, 'corpus'):
        if c['corpus'] == rc['corpus'] and settings in (None, json.loads(json.dumps(split_settings(c)))):
            return shlex.join(['python', 'prepare.py', path] + tail)
    changed = {k: v for k, v in (settings or {}).items()
               if k != 'corpus' and hasattr(prepare, k) and v != getattr(prepare, k)}
    changed.update(own_text_files(made))
    return shlex.join(['python', 'prepare.py'] + flags([('corpus', rc['corpus'])] + list(changed.items())) + tail)


def own_text_files(made):
    """Your own text's file settings ({key: 'a,b'}) as meta.json lists the paths given: its settings hold the
    files' sha256s, not their paths (uniscale/own_text.py)."""
    paths = {}
    for f in (made or {}).get('files') or []:
        if isinstance(f, dict) and f.get('path'):
            paths.setdefault(KEYS.get(f.get('split', 'files'), 'files'), []).append(f['path'])
    return {k: ','.join(v) for k, v in paths.items()}


def corpus_meta_path(rc):
    return os.path.join(rc['out_dir'], 'corpus', rc['corpus'], 'meta.json')


def find_inputs(rc):
    """(tokenizer or None, train shards or None, error or None): what the run reads; a missing piece is named with
    the commands that make it, in order (the corpus first where it is missing too)."""
    tok_dir = rc['tokenizer']
    if not os.path.isfile(os.path.join(tok_dir, 'meta.json')):
        make, shards = tokenizer_command(tok_dir, rc), prepare_command(tok_dir, rc)
        if not os.path.isfile(corpus_meta_path(rc)):
            return None, None, (f"{tok_dir}: tokenizer not found (nor the {rc['corpus']} corpus it trains on); make "
                                f"the corpus with `{prepare_command(None, rc)}`, the tokenizer with `{make}`, then "
                                f"its shards with `{shards}`")
        return None, None, f"{tok_dir}: tokenizer not found; make it with `{make}`, then its shards with `{shards}`"
    tok = load_tokenizer(tok_dir)
    tokens_dir = train.tokens_dir_for(rc, tok.name)
    try:  # train.py reads both
        shards = [TokenShards(tokens_dir, s, tokenizer_hash=tok.hash, vocab_size=tok.vocab_size)
                  for s in ('train', 'val')][0]
    except SystemExit as e:
        return tok, None, f"{e}; make them with `{prepare_command(tok_dir, rc)}`"
    return tok, shards, None


def train_tokens(rc, train_meta):
    """Tokens the run trains on (total steps x batch_size x block_size), from the train split's sidecar; None when
    the budget needs the split (bytes, or one epoch) and train_meta is None."""
    if train_meta is None and rc['max_steps'] <= 0 and (rc['budget'] <= 0 or rc['budget_unit'] == 'bytes'):
        return None
    bytes_per_token = train_meta['n_bytes'] / max(train_meta['n_tokens'], 1) if train_meta else None
    windows = (train_meta['n_tokens'] - 1) // rc['block_size'] if train_meta else None  # as train.PackedWindows
    return train.steps_for_budget(rc, bytes_per_token, windows) * rc['batch_size'] * rc['block_size']


@functools.lru_cache(maxsize=None)
def smallest_preset(presets):
    """The preset of fewest non-embedding parameters (counted on the meta device), where sweep.py's lr scan runs; an
    unknown name (the grid's check names it) counts as the largest."""
    def size(p):
        if p not in PRESETS:
            return math.inf
        with torch.device('meta'):
            return GPT(make_config(p, vocab_size=256, block_size=64)).num_params(non_embedding=True)
    return min(presets, key=size)


@functools.lru_cache(maxsize=None)
def flops_per_token(model_fields):
    """model.flops_per_token() of GPTConfig(*model_fields), built on the meta device: shapes without memory."""
    with torch.device('meta'):
        return GPT(GPTConfig(*model_fields)).flops_per_token()


# ---------------------------------------------------------------- measuring
def proc_status_bytes(field):
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field + ':'))


def reset_peak_rss():
    """Reset the process's peak RSS (VmHWM) to its RSS and return that (Linux); None where /proc cannot do it."""
    try:
        ctypes.CDLL(None).malloc_trim(0)  # glibc: give freed memory back, so that reusing it counts again
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return proc_status_bytes('VmRSS')
    except (OSError, AttributeError):
        return None


def is_oom(e):
    return isinstance(e, torch.cuda.OutOfMemoryError) or 'out of memory' in str(e)


def peaks(dev, rss_before):
    """(peak allocated, peak reserved) since the last reset: CUDA's allocator counters; on CPU the rise of the peak
    RSS over rss_before, reserved None."""
    if dev.startswith('cuda'):
        return torch.cuda.max_memory_allocated(dev), torch.cuda.max_memory_reserved(dev)
    return (rss_before and proc_status_bytes('VmHWM') - rss_before), None


def reset_peaks(dev):
    if dev.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats(dev)
        return None
    return reset_peak_rss()


def measure(rc, tok, shards, micro, dev, cfg, ddp=False):
    """The run's model and optimizer at micro x block_size: train.py's own train_step, timed, then one validation
    batch (eval_batch_size, else micro) through uniscale/bpb.py's scorer, each with its own peak: {'tok_per_s',
    'warmup_s', 'train_peak_mem_bytes', 'val_peak_mem_bytes', 'peak_mem_bytes' (the larger), 'peak_mem_reserved_bytes'
    (CUDA), '_reserved': (training's, validation's)}; or {'oom': 'training' | 'validation'}, where it ran out of
    memory. ddp: the step keeps the gradients between steps (zeroed, not freed), as train_step does under DDP, so
    both phases carry them as a DDP process does; compiled as train.py compiles (compile_mode), validation eager."""
    cuda, T = dev.startswith('cuda'), rc['block_size']
    dt = hardware.resolve(dev, rc['dtype'])[1]
    autocast = hardware.autocast(dev, dt)
    n = micro * (T + 1)
    ids = (torch.from_numpy(np.resize(np.asarray(shards.tokens(0)[:n], dtype=np.int64), n)) if shards is not None
           else torch.randint(tok.vocab_size, (n,), generator=torch.Generator().manual_seed(0)))
    xy = ids.view(micro, T + 1).to(dev)
    eval_batch = rc['eval_batch_size'] or micro
    val = np.resize(xy.cpu().numpy(), (eval_batch, T + 1))  # validation's windows: eval_batch of them
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    rss_before = reset_peaks(dev)
    phase = 'training'
    try:
        torch.manual_seed(rc['seed'])
        model = GPT(model_config(rc, tok.vocab_size, tok.bos_id)).to(dev)
        optimizer = model.configure_optimizer(rc['weight_decay'], rc['lr'], (rc['beta1'], rc['beta2']),
                                              dev.split(':')[0], rc['decay_embeddings'])
        if rc['compile']:  # a fresh compile per configuration, as its run has: dynamo's cache would otherwise
            torch._dynamo.reset()  # go dynamic across shapes, then give up on compiling after its recompile limit
        step_model = train_runtime.compile_model(model, rc['compile_mode']) if rc['compile'] else model
        sync = torch.cuda.synchronize if cuda else (lambda: None)
        t0 = time.perf_counter()
        for i in range(cfg['preflight_warmup'] + cfg['preflight_steps']):
            if i == cfg['preflight_warmup']:
                sync()
                t1 = time.perf_counter()
            train.train_step(step_model, optimizer, [lambda: (xy[:, :-1], xy[:, 1:])], rc['grad_clip'], autocast,
                             ddp)  # one micro batch: no no_sync, only DDP's gradients kept between steps
        sync()
        seconds = time.perf_counter() - t1
        train_peak, train_reserved = peaks(dev, rss_before)
        reset_peaks(dev)  # validation's own peak, with the weights and AdamW's moments resident as in the run
        phase = 'validation'
        with train_runtime.eager() if rc['compile'] else contextlib.nullcontext():  # as train.py validates
            score(model, [(row, 0) for row in val], dev, dt, max_tokens=eval_batch * T)
        val_peak, val_reserved = peaks(dev, rss_before)
    except RuntimeError as e:
        if not is_oom(e):
            raise
        return {'oom': phase}
    known = [p for p in (train_peak, val_peak) if p is not None]
    return {'tok_per_s': cfg['preflight_steps'] * micro * T / seconds, 'warmup_s': t1 - t0,
            'train_peak_mem_bytes': train_peak, 'val_peak_mem_bytes': val_peak,
            'peak_mem_bytes': max(known) if known else None,
            'peak_mem_reserved_bytes': max(train_reserved, val_reserved) if cuda else None,
            '_reserved': (train_reserved, val_reserved)}


def measure_what_fits(rc, tok, shards, micro, per_process, dev, cfg, over, ddp=False):
    """(the micro batch whose training fits, its measurement, [(micro batch, phase, measurement)] of each that did
    not): `micro`, else the next smaller divisor of the per-process batch at or below half of it after each
    out-of-memory or over(measurement) naming a phase over the device's memory; (0, the last measured or None, ...)
    when even 1 does not fit. A validation at its own eval_batch_size that does not fit stops the search: a smaller
    micro batch would not change it."""
    failed, last = [], None
    while micro:
        m = measure(rc, tok, shards, micro, dev, cfg, ddp)
        phase = m.get('oom') or over(m)
        if phase is None or (phase == 'validation' and rc['eval_batch_size']):
            return micro, m, failed + ([(micro, phase, m)] if phase else [])
        failed.append((micro, phase, m))
        last = m if 'oom' not in m else last
        del m
        gc.collect()  # the failed attempt's tensors are gone
        if dev.startswith('cuda'):
            torch.cuda.empty_cache()
        micro = next((k for k in range(micro // 2, 0, -1) if per_process % k == 0), 0)
    return 0, last, failed


@functools.lru_cache(maxsize=None)
def grad_bytes(model_fields):
    """Bytes of the trainable parameters' gradients of GPTConfig(*model_fields) (their dtype, fp32), on meta."""
    with torch.device('meta'):
        return sum(p.numel() * p.element_size() for p in GPT(GPTConfig(*model_fields)).parameters()
                   if p.requires_grad)


def grads_are_bucket_views(model_fields, grad_accum):
    """Whether train.py's DDP (train_runtime.ddp_options of this model) makes the gradients views of its buckets; when not,
    DDP keeps the buckets beside the gradients, a second copy of them."""
    with torch.device('meta'):
        return bool(train_runtime.ddp_options(GPT(GPTConfig(*model_fields)), grad_accum)['gradient_as_bucket_view'])


def device_memory(dev):
    """Bytes one process of the run may use: the GPU's total memory; on CPU the RAM available now (MemAvailable),
    which every process of the run shares. None when unknown."""
    if dev.startswith('cuda'):
        return torch.cuda.get_device_properties(torch.device(dev)).total_memory
    return train_runtime.available_memory()


def memory_need(m, phase, extra, sharing, cuda):
    """What the run needs of the device's memory in a phase: its peak (reserved on CUDA, where the allocator's
    cache counts; the RSS rise on CPU) + DDP's buckets, times the processes sharing the memory (CPU)."""
    peak = m['_reserved'][phase == 'validation'] if cuda else \
        m['train_peak_mem_bytes' if phase == 'training' else 'val_peak_mem_bytes']
    return None if peak is None else (peak + extra) * sharing


def preflight_entry(run, rc, world, dev, cfg):
    """One configuration's checks and measurements, as a preflight.json entry."""
    micro = rc['micro_batch_size'] or rc['batch_size'] // world
    cuda = dev.startswith('cuda')
    name = torch.cuda.get_device_name(dev) if cuda else ''
    e = {**dict.fromkeys(ENTRY), 'preset': run['preset'], 'tokenizer': run['tokenizer'], 'block_size': rc['block_size'],
         'micro_batch_size': micro, 'device': f"{dev} ({name})" if name else dev, 'ok': False, 'world_size': world,
         'grad_accum': rc['batch_size'] // (micro * world) if micro else None,
         'peak_mem_kind': 'cuda max_memory_allocated' if name else 'cpu peak RSS increase'}
    threads = torch.get_num_threads()
    try:
        if micro < 1 or rc['batch_size'] % (micro * world):
            raise SystemExit(f"config error: batch_size={rc['batch_size']} must be a multiple of micro_batch_size "
                             f"({micro}) x processes ({world}); change one of them")
        tok, shards, missing = find_inputs(rc)
        vocab = re.fullmatch(r'.*-(\d+)(k?)', run['tokenizer'])  # bpe-80k: 80,000 ids (tokenization.tokenizer_name)
        if tok is None and not vocab:
            e['error'] = missing
            return e
        if tok is None:  # memory and speed are still worth knowing before the tokenizer is trained
            tok = types.SimpleNamespace(vocab_size=int(vocab[1]) * (1000 if vocab[2] else 1), bos_id=0)
            missing += f" (measured at the vocab_size {tok.vocab_size} its name gives, on random ids)"
        fields = astuple(model_config(rc, tok.vocab_size, tok.bos_id))
        e['flops_per_token'] = flops_per_token(fields)
        e['train_tokens'] = train_tokens(rc, shards.meta if shards else None)
        e['train_flops'] = e['train_tokens'] * e['flops_per_token'] if e['train_tokens'] else None
        # srun sets RANK even for one process, and train.py then wraps the model in DDP
        ddp = world > 1 or cfg['launcher'] == 'slurm'
        views = ddp and grads_are_bucket_views(fields, e['grad_accum'])
        e['ddp_bucket_bytes'] = grad_bytes(fields) if ddp and not views else 0
        e['mem_limit_bytes'] = limit = device_memory(dev)
        sharing = 1 if cuda else cfg['num_gpus']  # a CPU run's processes share this machine's RAM

        def need(m, phase):
            return memory_need(m, phase, e['ddp_bucket_bytes'], sharing, cuda)

        def over(m):
            return next((p for p in ('training', 'validation') if limit is not None and (need(m, p) or 0) > limit),
                        None)
        if rc['threads']:
            torch.set_num_threads(rc['threads'])
        fits, m, failed = measure_what_fits(rc, tok, shards, micro, rc['batch_size'] // world, dev, cfg, over,
                                            ddp)
        e['fits_micro_batch_size'] = fits
        if m and 'oom' not in m:
            e.update({k: v for k, v in m.items() if not k.startswith('_')})
            e['mem_need_bytes'] = max((n for n in (need(m, 'training'), need(m, 'validation')) if n is not None),
                                      default=None)
            peak_flops = hardware.peak_flops(dev, rc['peak_flops'])
            e['mfu'] = e['flops_per_token'] * m['tok_per_s'] / peak_flops if peak_flops else None
            e['est_gpu_hours'] = e['train_tokens'] / m['tok_per_s'] / 3600 if e['train_tokens'] else None
        errors = ([missing] if missing else []) + ([fit_error(e, run, rc, failed, need)] if failed else [])
        e['ok'], e['error'] = not errors, '; '.join(errors) or None
    except SystemExit as x:
        e['error'] = str(x)
    except RuntimeError as x:
        e['error'] = f"{type(x).__name__}: {(str(x).strip().splitlines() or [''])[0]}"
    finally:
        torch.set_num_threads(threads)
    return e


def fit_error(e, run, rc, failed, need):
    """The one-line refusal of a configuration that does not fit, with its fix. need(m, phase): bytes needed."""
    fits = e['fits_micro_batch_size']

    def why(micro, phase, m):
        if 'oom' in m:
            return f"out of memory in {phase} at micro_batch_size={micro}"
        ddp = f", {human(e['ddp_bucket_bytes'], 'B')} of it DDP's gradient buckets" if e['ddp_bucket_bytes'] else ''
        return (f"{phase} at micro_batch_size={micro} needs {human(need(m, phase), 'B')}{ddp}, more than the "
                f"{human(e['mem_limit_bytes'], 'B')} of {e['device']}")
    errors = []
    if fits and failed[-1][1] == 'validation' and rc['eval_batch_size']:  # its own batch: the micro batch is no fix
        errors.append(f"validation at eval_batch_size={rc['eval_batch_size']} does not fit ({why(*failed.pop())}): "
                      f"set a smaller eval_batch_size in the sweep's train_args (0 = the micro batch)")
    if fits and failed:
        errors.insert(0, f"{why(*failed[0])}; micro_batch_size={fits} fits (needs {human(e['mem_need_bytes'], 'B')}):"
                         f" set it in the sweep's preset_args, e.g. {{'{run['preset']}': {{'micro_batch_size': "
                         f"{fits}}}}}")
    if not fits:
        errors.append(f"{why(*failed[-1])}: does not fit even at micro batch 1: use a smaller vocabulary/preset or a "
                      f"device with more memory (block_size={rc['block_size']}; DDP holds the whole model on each GPU)")
    return '; '.join(errors)


def human(n, unit=''):
    """1.23G-style numbers for the table; '-' for None."""
    if n is None:
        return '-'
    k = min(int(math.log10(abs(n)) // 3), 6) if abs(n) >= 1 else 0
    return f"{n / 1e3 ** k:.3g}{' kMGTPE'[k].strip()}{unit}"


def print_table(entries, hours_label='GPU-hours'):
    print(f"{'preset':16s} {'tokenizer':14s} {'block':>5s} {'micro':>5s} {'peak mem':>9s} {'need/limit':>15s} "
          f"{'tok/s':>8s} {'MFU':>6s} {'FLOPs/tok':>9s} {'train FLOPs':>11s} {hours_label:>9s}  ok")
    for e in entries:
        mfu = '-' if e['mfu'] is None else f"{100 * e['mfu']:.1f}%"
        hours = '-' if e['est_gpu_hours'] is None else f"{e['est_gpu_hours']:.3g}"
        need = f"{human(e['mem_need_bytes'], 'B')}/{human(e['mem_limit_bytes'], 'B')}"
        print(f"{e['preset']:16s} {e['tokenizer']:14s} {e['block_size']:5d} {e['micro_batch_size']:5d} "
              f"{human(e['peak_mem_bytes'], 'B'):>9s} {need:>15s} {human(e['tok_per_s']):>8s} {mfu:>6s} "
              f"{human(e['flops_per_token']):>9s} {human(e['train_flops']):>11s} {hours:>9s}  "
              + ('yes' if e['ok'] else f"NO: {e['error']}"))


def run_preflight(runs, cfg):
    """runs: [(sweep run, train.py argv)]. Measures each distinct configuration once, writes
    {sweep_dir}/{name}_preflight.json, prints the table; one line and exit 1 when any is not ok. Returns the entries."""
    if cfg['preflight_steps'] < 1 or cfg['preflight_warmup'] < 0:
        raise SystemExit("sweep: preflight_steps must be >= 1 and preflight_warmup >= 0")
    dev, seen, entries = 'cuda' if torch.cuda.is_available() else 'cpu', set(), []
    for run, argv in runs:
        rc = run_config(argv)
        world = cfg['num_gpus'] * (int(cfg['slurm_nodes'].get(run['preset'], 1)) if cfg['launcher'] == 'slurm' else 1)
        key = (run['preset'], run['tokenizer'], rc['block_size'], rc['micro_batch_size'] or rc['batch_size'] // world,
               world)
        if key not in seen:
            seen.add(key)
            entries.append(preflight_entry(run, rc, world, rc['device'] or dev, cfg))
    path = os.path.join(cfg['sweep_dir'], f"{cfg['name']}_preflight.json")
    write_json_atomic(path, entries)
    # est_gpu_hours (DESIGN's name) is device-hours at the measured speed: on a CPU they are CPU-hours, said so
    label = 'GPU-hours' if str(entries[0]['device']).startswith('cuda') else 'CPU-hours'
    print(f"preflight of {cfg['name']} on {entries[0]['device']}: {cfg['preflight_steps']} timed steps per "
          f"configuration; peak memory is the {entries[0]['peak_mem_kind']}; need/limit = the larger phase's peak "
          f"(reserved on CUDA) + DDP's buckets against the device's memory; {label} = train tokens / tok/s / 3600"
          + ('' if label == 'GPU-hours' else ' on this CPU (est_gpu_hours in the JSON): run on the GPU for GPU-hours'))
    print_table(entries, label)
    print(f"wrote {path}")
    bad = [e for e in entries if not e['ok']]
    if bad:
        raise SystemExit(f"sweep: preflight: {len(bad)} of {len(entries)} configuration(s) not ok: " + '; '.join(
            f"{e['preset']} {e['tokenizer']} block {e['block_size']} micro {e['micro_batch_size']}: {e['error']}"
            for e in bad))
    return entries


# ---------------------------------------------------------------- the dry run's estimate
# Bytes per token where nothing measured is at hand (no shards, and no tokenizer or no val split to measure it on):
# ASSUMED, not measured, by vocabulary size (the first row whose bound is above it). Override per tokenizer with the
# sweep's assume_bytes_per_token.
ASSUMED_BYTES_PER_TOKEN = (
    (8_000, 3.0, "assumed: the demo's 2k-4k BPE and Unigram tokenizers measure 2.5-3.6 on its generated corpus"),
    (math.inf, 4.0, "assumed: the ~4 bytes per token the budget rule is written at (config/fineweb2_apertus.py)"))
SAMPLE_BYTES_PER_LANG = 100_000   # the val text a tokenizer is measured on, per language, when no shards exist


def vocab_of(meta, name):
    """(vocabulary size, where from): the tokenizer's meta.json, else its name (bpe-80k: 80,000), else (None, ...)."""
    if meta.get('vocab_size'):
        return int(meta['vocab_size']), 'meta.json'
    m = re.fullmatch(r'.*-(\d+)(k?)', name)  # bpe-80k, btm-4k-16k: the last number (tokenization.tokenizer_name)
    return (int(m[1]) * (1000 if m[2] else 1), 'its name') if m else (None, None)


@functools.lru_cache(maxsize=None)
def sampled_bytes_per_token(tok_dir, split_path):
    """Bytes per token of the tokenizer on a text split, up to SAMPLE_BYTES_PER_LANG of each language (equal bytes
    per language where each has that much, as FineWeb-2's train split at temperature 0); None when the split is
    missing or empty."""
    from uniscale.tokenizer_metrics import read_docs_by_lang
    if not os.path.isfile(split_path):
        return None
    docs = [d for ds in read_docs_by_lang(split_path, SAMPLE_BYTES_PER_LANG).values() for d in ds]
    try:
        n_tokens = sum(len(ids) for ids in load_tokenizer(tok_dir).encode_batch(docs)) if docs else 0
    except SystemExit:  # an unreadable tokenizer: the grid's input check names it; the estimate assumes instead
        return None
    return sum(len(d.encode('utf-8')) for d in docs) / n_tokens if n_tokens else None


def bytes_per_token(rc, meta, name, vocab, cfg):
    """(bytes per token, where from, the train shards' sidecar or None) for the estimate: measured on the train
    shards of this tokenizer (what train.py converts the budget with), else by the tokenizer on the corpus's val
    split, else assumed (the sweep's assume_bytes_per_token, else ASSUMED_BYTES_PER_TOKEN)."""
    tokens_dir = train.tokens_dir_for(rc, name)
    side = read_json(os.path.join(tokens_dir, 'train.json'), default=None)
    same = not meta.get('hash') or (side or {}).get('tokenizer_hash') in (None, meta['hash'])  # not a retrained one's
    if isinstance(side, dict) and side.get('n_tokens') and same:
        return side['n_bytes'] / side['n_tokens'], f"measured on the train shards ({tokens_dir})", side
    val = os.path.join(rc['out_dir'], 'corpus', rc['corpus'], 'val.jsonl')
    measured = sampled_bytes_per_token(rc['tokenizer'], val) if meta else None
    if measured:
        return measured, f"measured by the tokenizer on <= {SAMPLE_BYTES_PER_LANG:,} bytes per language of {val}", None
    if name in cfg['assume_bytes_per_token']:
        return float(cfg['assume_bytes_per_token'][name]), 'assumed (assume_bytes_per_token)', None
    return next((v, why, None) for bound, v, why in ASSUMED_BYTES_PER_TOKEN if vocab < bound)


def estimated_tokens(rc, bpt, side):
    """Train tokens (steps x batch_size x block_size) at bpt bytes per token; a one-epoch budget from the shards'
    sidecar, else from the corpus's train split bytes; None when neither exists."""
    windows = None
    if side is not None:
        windows = (side['n_tokens'] - 1) // rc['block_size']  # as train.PackedWindows
    elif rc['max_steps'] <= 0 and rc['budget'] <= 0:
        made = read_json(corpus_meta_path(rc), default=None)
        n_bytes = ((made or {}).get('splits') or {}).get('train', {}).get('n_bytes')
        if not n_bytes:
            return None
        windows = (int(n_bytes / bpt) - 1) // rc['block_size']
    return train.steps_for_budget(rc, bpt, windows) * rc['batch_size'] * rc['block_size']


def planned_cost(train_argv, cfg):
    """The dry run's estimate of one run, before any data if need be: {'train_tokens', 'flops_per_token',
    'train_flops', 'gpu_hours' (train FLOPs / (assume_mfu x gpu_peak_flops) / 3600), 'block_size', 'vocab_size',
    'vocab_from', 'bytes_per_token', 'bytes_per_token_from', 'tokenizer'}; or a string saying why there is none."""
    rc = configurator.configure(configurator.defaults(train), train_argv)
    meta = read_json(os.path.join(rc['tokenizer'], 'meta.json'), default=None)
    meta = meta if isinstance(meta, dict) else {}
    name = meta.get('name') or os.path.basename(os.path.normpath(rc['tokenizer']))
    vocab, vocab_from = vocab_of(meta, name)
    if vocab is None:
        return f"unknown: no tokenizer {rc['tokenizer']} yet, and its name gives no vocabulary size"
    bpt, bpt_from, side = bytes_per_token(rc, meta, name, vocab, cfg)
    rc['block_size'] = train.block_size_for(rc, bpt)  # context_bytes: the block follows the bytes per token
    tokens = estimated_tokens(rc, bpt, side)
    if tokens is None:
        return (f"unknown: the budget is one epoch of the {rc['corpus']} train split, whose size is known once "
                f"prepare.py has made it")
    fpt = flops_per_token(astuple(model_config(rc, vocab, meta.get('bos_id', 0))))
    return {'train_tokens': tokens, 'flops_per_token': fpt, 'train_flops': tokens * fpt,
            'gpu_hours': tokens * fpt / (cfg['assume_mfu'] * cfg['gpu_peak_flops']) / 3600,
            'block_size': rc['block_size'], 'vocab_size': vocab, 'vocab_from': vocab_from, 'bytes_per_token': bpt,
            'bytes_per_token_from': bpt_from, 'tokenizer': name}


def describe_cost(cost):
    if isinstance(cost, str):
        return f"cost: {cost}"
    return (f"cost (estimate): {cost['train_flops']:.4g} train FLOPs ({cost['train_tokens']:.4g} tokens x "
            f"{cost['flops_per_token']:.4g} FLOPs/token, block {cost['block_size']}), {cost['gpu_hours']:.4g} "
            f"GPU-hours at {cost['bytes_per_token']:.3f} bytes/token "
            f"({cost['bytes_per_token_from'].split(':')[0].split(' ')[0]})")  # 'measured' or 'assumed'


def describe_plan_cost(planned, cfg):
    """The dry run's closing lines: where each tokenizer's bytes per token (and vocabulary) come from, the total, each
    preset's share, and the lr scan against the grid runs of its preset. planned: [(sweep run, planned_cost)]."""
    known = [(r, c) for r, c in planned if not isinstance(c, str)]
    lines, sources = [], {}
    for r, c in known:
        sources.setdefault(r['tokenizer'], c)
    for t, c in sources.items():
        lines.append(f"bytes per token, {t}: {c['bytes_per_token']:.3f}, {c['bytes_per_token_from']}"
                     + (f"; vocabulary {c['vocab_size']:,} from {c['vocab_from']}" if c['vocab_from'] != 'meta.json'
                        else ''))
    if not known:
        return lines + [f"total (estimate): unknown for all {len(planned)} run(s)"]
    flops, hours = sum(c['train_flops'] for _, c in known), sum(c['gpu_hours'] for _, c in known)
    peak = cfg['gpu_peak_flops']
    assumed = sum(c['bytes_per_token_from'].startswith('assumed') for c in sources.values())
    lines.append(f"total (estimate): {flops:.4g} train FLOPs, {hours:.4g} GPU-hours over {len(known)} run(s) at "
                 f"assume_mfu={cfg['assume_mfu']} of gpu_peak_flops={peak:.4g} FLOP/s per GPU"
                 + (' (H100 bf16 dense)' if peak == H100_BF16_FLOPS else '')
                 + f"; bytes per token measured for {len(sources) - assumed} tokenizer(s), assumed for {assumed}"
                 + (f"; {len(planned) - len(known)} run(s) not counted (cost unknown)" if len(known) < len(planned)
                    else '') + "; --preflight=True measures tok/s on the GPU")
    groups = {}  # each preset's grid runs, then the lr scan's
    for r, c in known:
        groups.setdefault(r['preset'] if 'lr_mult' not in r else f"lr scan at {r['preset']}", []).append(c)
    lines.append('by preset (estimate): ' + '; '.join(
        f"{g} {len(cs)} run(s) {sum(c['train_flops'] for c in cs):.4g} FLOPs, {sum(c['gpu_hours'] for c in cs):.4g} "
        f"GPU-hours ({100 * sum(c['train_flops'] for c in cs) / flops:.1f}%)" for g, cs in groups.items()))
    for g, scan in groups.items():
        if g.startswith('lr scan at '):
            p = g[len('lr scan at '):]
            base = sum(c['train_flops'] for c in groups.get(p, []))
            ratio = sum(c['train_flops'] for c in scan) / base if base else math.inf
            lines.append(f"lr scan (estimate): {len(scan)} run(s) at {p}, {sum(c['train_flops'] for c in scan):.4g} "
                         f"FLOPs, {sum(c['gpu_hours'] for c in scan):.4g} GPU-hours = {ratio:.3g}x the compute of "
                         f"the {len(groups.get(p, []))} {p} run(s) of the grid"
                         + (" (more than 1.5x: fewer multipliers keep the check cheaper than the size it checks)"
                            if ratio > 1.5 else ''))
    return lines
