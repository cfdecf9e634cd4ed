"""
How a training process meets its hardware and its disk, for train.py: processes and devices (DDP as the anchors run
it), compile (regional, with inductor's caches kept across requeues), signals, the memory check before any weight,
and checkpoints written in the background. train.py's loop reads top to bottom; these are the parts a researcher
seldom changes.

    stop = StopSignal()                                   # SIGTERM / SIGUSR1 -> checkpoint at this step, exit
    ddp, rank, local_rank, world, dev = start_processes('cuda', threads=0)
    model = compile_model(raw_model, 'regional', 'out/compile_cache')
    model = wrap_ddp(model, dev, ddp_options(raw_model, grad_accum))
    with CheckpointWriter('run/ckpt.pt') as writer:
        writer.save(state)                                # a CPU copy now, the write in a background thread
"""
import dataclasses
import inspect
import math
import os
import signal
import threading

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from model import GPT
from uniscale import hardware
from uniscale.atomic import disk_errors


class StopSignal:
    """SIGTERM / SIGUSR1 (SLURM's warning before the time limit, torchrun's shutdown) ask the loop to checkpoint at the
    current step and exit, so a requeued job resumes where this one stopped."""

    def __init__(self):
        self.received = None
        self.previous = {}
        for sig in (signal.SIGTERM, signal.SIGUSR1):
            try:
                self.previous[sig] = signal.signal(sig, self.handle)
            except ValueError:  # not the main thread (e.g. under a test runner's thread): no handler
                pass

    def handle(self, signum, frame):
        self.received = signal.Signals(signum).name

    def restore(self):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def start_processes(device, threads=0):
    """(ddp, rank, local_rank, world, device): torchrun or srun sets RANK/LOCAL_RANK/WORLD_SIZE; NCCL on CUDA,
    gloo on CPU; a process's GPU is hardware.local_device (cuda:0 where SLURM binds one GPU per task). threads > 0:
    torch's CPU threads."""
    ddp = 'RANK' in os.environ
    dev, _ = hardware.resolve(device)
    rank, local_rank, world = 0, 0, 1
    if ddp:
        rank, local_rank, world = (int(os.environ[k]) for k in ('RANK', 'LOCAL_RANK', 'WORLD_SIZE'))
        if dev.startswith('cuda'):
            dev = hardware.local_device(local_rank)
            torch.cuda.set_device(dev)
        dist.init_process_group(backend='nccl' if dev.startswith('cuda') else 'gloo')
    if threads:
        torch.set_num_threads(threads)
    return ddp, rank, local_rank, world, dev


def check_fits(model_cfg, dev, preset, bytes_per_token=None):
    """Refuse, before any weight is allocated, a model whose weights, gradients and AdamW moments
    (16 bytes a parameter in fp32) exceed the device's free memory: a huge vocabulary would
    otherwise die in an allocation. The advice names what is too large: the context (gpt2's
    learned positions) when its parameters are most of them, with the largest block_size that
    fits (and context_bytes, at bytes_per_token), else the vocabulary."""
    n = n_params(model_cfg)
    need = 16 * n
    if str(dev).startswith('cuda'):
        free = torch.cuda.mem_get_info(torch.device(dev))[0]
    else:
        free = available_memory()
    if free is None or need <= free:
        return
    short = n_params(dataclasses.replace(model_cfg, block_size=8))
    per_token = (n - short) / max(1, model_cfg.block_size - 8)  # the parameters of one position
    fix = 'use a smaller vocabulary or preset'
    if n - short > short:  # the context's parameters are most of them
        largest = 8 + int((free / 16 - short) // per_token) // 8 * 8 if free / 16 > short else 0
        in_bytes = f" (context_bytes {largest * bytes_per_token:,.0f})" if bytes_per_token else ''
        fix = (f"lower block_size or context_bytes: its positions' weights fit up to block_size "
               f"{largest:,}{in_bytes}, activations not counted" if largest >= 8 else
               'use a smaller preset')
    raise SystemExit(f"config error: {preset} at vocab_size {model_cfg.vocab_size:,} and "
                     f"block_size {model_cfg.block_size:,} has {n / 1e9:.2f}B parameters and needs "
                     f"{need / 2**30:.1f} GiB for weights, gradients and AdamW alone, more than "
                     f"the {free / 2**30:.1f} GiB free on {dev}; {fix}")


def n_params(model_cfg):
    """GPT(model_cfg)'s parameter count, built on the meta device: shapes without memory."""
    with torch.device('meta'):
        return GPT(model_cfg).num_params()


def available_memory():
    """Bytes of memory the kernel says are available (MemAvailable), None where /proc/meminfo is not there."""
    try:
        with open('/proc/meminfo') as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith('MemAvailable:'))
    except (OSError, StopIteration, ValueError):
        return None


def rng_states(ddp, world):
    """Every process's torch RNG states (dropout draws from them), gathered for the checkpoint."""
    mine = {'cpu': torch.get_rng_state(), 'cuda': torch.cuda.get_rng_state() if torch.cuda.is_available() else None}
    if not ddp:
        return [mine]
    states = [None] * world
    dist.all_gather_object(states, mine)
    return states


def restore(ckpt, optimizer, rank, world, device_type, log):
    """Load a checkpoint's optimizer state and this process's RNG; returns (step, the clocks so far)."""
    optimizer.load_state_dict(ckpt['optimizer'])
    if len(ckpt['rng']) == world:
        torch.set_rng_state(ckpt['rng'][rank]['cpu'])
        if device_type == 'cuda' and ckpt['rng'][rank]['cuda'] is not None:
            torch.cuda.set_rng_state(ckpt['rng'][rank]['cuda'])
    else:
        log(f"note: resuming on {world} processes, checkpointed on {len(ckpt['rng'])}: dropout RNG reseeded")
    return ckpt['step'], {k: ckpt.get(k, 0.0) for k in ('elapsed_s', 'compile_s', 'wall_s')}


def save_checkpoint(path, state):
    """torch.save to a temp file, then rename: a full or read-only disk keeps the last good checkpoint."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        then = ('then resume (the previous checkpoint is kept)' if os.path.exists(path) else
                'then run it again (no checkpoint was written before this one)')
        raise SystemExit(f"{path}: could not write the checkpoint at step {state['step']} "
                         f"({str(e).splitlines()[0]}); free disk space or fix permissions, "
                         f"{then}") from None


class CheckpointWriter:
    """Rank 0's checkpoint writes without stalling the other ranks: save() copies the state to CPU memory (on CUDA
    into pinned buffers kept from one save to the next; the copy is queued on the stream, so the next step's kernels
    run after it and the thread waits for it on an event) and writes it in a background thread with save_checkpoint
    (temp + rename). The next save, a stop, the end of the run and an error wait for the write in flight; a write
    that failed is raised at that wait, as the one line save_checkpoint gives, or sooner: the loop
    polls the writer after every step (no wait), so a failed write stops the run at the next step,
    not an eval interval later (the steps trained past it would be lost with it)."""

    def __init__(self, path):
        self.path, self.thread, self.error, self.pinned = path, None, None, {}

    def copy(self, obj, key=(), seen=None):
        """obj with every tensor copied to CPU memory the next steps cannot change; a tensor reached twice (tied
        weights) stays one."""
        seen = {} if seen is None else seen
        if isinstance(obj, torch.Tensor):
            t = obj.detach()
            ident = (t.device, t.untyped_storage().data_ptr(), t.storage_offset(), t.shape, t.stride(), t.dtype)
            if ident not in seen:
                if t.is_cuda:
                    buf = self.pinned.get(key)
                    if buf is None or buf.shape != t.shape or buf.dtype != t.dtype:
                        buf = self.pinned[key] = torch.empty(t.shape, dtype=t.dtype, pin_memory=True)
                    seen[ident] = buf.copy_(t, non_blocking=True)
                else:
                    seen[ident] = t.clone()
            return seen[ident]
        if isinstance(obj, dict):
            return type(obj)((k, self.copy(v, key + (k,), seen)) for k, v in obj.items())
        if isinstance(obj, (list, tuple)):
            return type(obj)(self.copy(v, key + (i,), seen) for i, v in enumerate(obj))
        return obj

    def save(self, state):
        self.wait()  # the pinned buffers are free again, and checkpoints land in step order
        seen = {}
        state = self.copy(state, seen=seen)
        ready = None
        if any(key[0].type == 'cuda' for key in seen):  # the thread waits for the queued device-to-host copies
            ready = torch.cuda.Event()
            ready.record()
        self.thread = threading.Thread(target=self.write, args=(state, ready), name='checkpoint-writer')
        self.thread.start()

    def write(self, state, ready):
        try:
            if ready is not None:
                ready.synchronize()
            save_checkpoint(self.path, state)
        except BaseException as e:  # raised in the training thread, at the next wait
            self.error = e

    def poll(self):
        """Raise the error of a write that ended in failure; never waits (is_alive: cheap)."""
        if self.thread is not None and not self.thread.is_alive():
            self.wait()

    def wait(self, quiet=False):
        """Wait for the write in flight; raise its error (quiet: print it, another error being on its way)."""
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        error, self.error = self.error, None
        if error is not None and not quiet:
            raise error
        if error is not None:
            print(error)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        self.wait(quiet=kind is not None)


def use_compile_cache(path):
    """Inductor's on-disk caches (FX graphs, AOTAutograd) in `path`: a requeued job, or another run of the same
    shapes, loads the compiled graphs instead of compiling them again."""
    import torch._functorch.config
    import torch._inductor.config
    with disk_errors(path, '--compile_cache_dir'):
        os.makedirs(path, exist_ok=True)
    os.environ['TORCHINDUCTOR_CACHE_DIR'] = os.path.abspath(path)  # read by inductor at each compile
    torch._inductor.config.fx_graph_cache = True
    torch._functorch.config.enable_autograd_cache = True


def compile_model(raw_model, mode, cache_dir=None):
    """The module train_step runs. 'regional' (torchtitan's and torchtune's way, with nanochat's and modded-nanogpt's
    dynamic=False: the training shapes never change): every transformer block compiled in place; the blocks share one
    graph, compiled once (issue 22: 3.5x faster to the first step than 'whole' at 22 layers; bench/compile_time.py),
    and the model's state_dict keys are unchanged. 'whole': torch.compile of
    the whole model (an OptimizedModule around raw_model). Either way raw_model's own forward stays what validation
    runs (eagerly: see eager()). cache_dir: use_compile_cache."""
    if cache_dir:
        use_compile_cache(cache_dir)
    if mode == 'whole':
        return torch.compile(raw_model, dynamic=False)
    # under DDP, dynamo's DDPOptimizer would cut each block's graph after its first 1 MB of parameters; the blocks'
    # own graphs already let each bucket's all-reduce start as its block's backward ends
    torch._dynamo.config.optimize_ddp = False
    for block in raw_model.blocks:
        block.compile(dynamic=False)
    return raw_model


def eager():
    """A context in which compiled modules run eagerly: validation's batches change shape, and dynamic=False would
    compile each new one."""
    return torch.compiler.set_stance('force_eager')


def ddp_options(raw_model, grad_accum):
    """DDP's settings for this model, as the anchors run it (the same gradients as the defaults: the two-process test):
    - gradient_as_bucket_view: the gradients are views of the all-reduce buckets, not a second fp32 copy of them
      (8.1 GB at 1B@256k); train_step zeroes them in place.
    - bucket_cap_mb: one transformer block's gradients (at least DDP's 25 MB): a bucket is ready when a block's
      backward ends, so the all-reduce overlaps the next block's backward; the whole-model compile is cut at bucket
      edges (dynamo's DDPOptimizer), now about once per block instead of once per 25 MB.
    - static_graph: the graph is the same every step, but torch (2.13 at least) breaks it with no_sync accumulation
      (an INTERNAL ASSERT on the first backward, then gradients no longer all-reduced: pytorch#187732), so only
      without accumulation.
    - buffers synced at each forward only when the model has persistent buffers: its own (RoPE tables) are
      constants every process computes from the config."""
    block_bytes = max((sum(p.numel() * p.element_size() for p in b.parameters()) for b in raw_model.blocks), default=0)
    persistent = set(raw_model.state_dict())
    opts = {'bucket_cap_mb': max(25, math.ceil(block_bytes / 2 ** 20)), 'gradient_as_bucket_view': True,
            'static_graph': grad_accum == 1,
            'sync_buffers': any(name in persistent for name, _ in raw_model.named_buffers())}
    return opts


def wrap_ddp(model, dev, opts):
    """DDP(model) with ddp_options (recorded in config.json); newer torch (2.13 here) names the buffer switch
    forward_sync_buffers and deprecates broadcast_buffers."""
    names = inspect.signature(DDP).parameters
    sync = 'forward_sync_buffers' if 'forward_sync_buffers' in names else 'broadcast_buffers'
    index = torch.device(dev).index if dev.startswith('cuda') else None
    return DDP(model, device_ids=None if index is None else [index], bucket_cap_mb=opts['bucket_cap_mb'],
               gradient_as_bucket_view=opts['gradient_as_bucket_view'], static_graph=opts['static_graph'],
               **{sync: opts['sync_buffers']})
