"""
The training loop of every uniscale run, in the style of nanoGPT's train.py: one process or torchrun DDP, CPU or CUDA.

    python train.py config/train_demo.py                        # a tiny GPT-2 on the generated corpus, CPU, ~1 minute
    torchrun --standalone --nproc_per_node=8 train.py config/tinystories_gpt2_bpe.py
    python train.py config/fineweb2_apertus.py --preset=apertus-50M --tokenizer=out/tokenizers/bpe-80k --seed=2
    python train.py config/train_demo.py --init_from=resume     # continue from the run's ckpt.pt

Reads prepare.py's token shards ({out_dir}/tokens/{corpus}/{tokenizer name}/{train,val}_*.bin) and writes run_dir
(default {out_dir}/runs/{preset}_{tokenizer name}_s{seed}, e.g. out/runs/apertus-50M_bpe-80k_s1):
  config.json  every setting, plus what follows from them (arch, tokenizer hash, steps, batch geometry)
  log.jsonl    one JSON event a line: step, tokens, bytes, elapsed_s (training steps only), compile_s, wall_s, lr,
               train_loss, grad_norm, tok_per_s, mfu, and at evaluations val_loss (nats/token) and val_bpb
  ckpt.pt      model, optimizer, step, RNG states, config; written atomically, loadable with weights_only=True, by
               rank 0 in a background thread from a CPU copy (CheckpointWriter: the other ranks do not wait for it)
Compile: each transformer block compiled (compile_mode='regional'; 'whole' for the whole model), inductor's caches
in compile_cache_dir (a requeued job loads them); validation runs eagerly. DDP: ddp_options (gradients as bucket
views, a bucket per block, static_graph without accumulation).
Data (shards.PackedWindows): window j is a pure function of (seed, j). The train documents are read in a seeded order
(a permutation of document indices per epoch: two tokenizers see the same documents in the same order), concatenated
and cut into windows of block_size + 1 tokens, each sharing its last token with the next (every token a target once).
Step s reads windows [s * batch_size, (s + 1) * batch_size), dealt out to micro-steps and processes: the loss curve
does not depend on the number of processes, and resuming needs only the step.
Budget: `budget` in `budget_unit`, 'tokens' or 'bytes' of UTF-8 text (converted with the train split's bytes per
token, so tokenizers are compared on equal text); 0 = one epoch; max_steps > 0 overrides. The log's `bytes` is tokens
seen times that same ratio.
Loss: what model.py's token_losses says (the mean over the targets; `train_step` below is the whole update).
Validation (shards.eval_set): `eval_docs` whole val documents spread evenly over the split (every language when the
split is grouped by language), fixed for the run, scored by uniscale/bpb.py (eval_bpb.py's scorer) with overlap 0
(from BOS, every token once, windows of block_size). val_bpb = nll / ln 2 / the documents' UTF-8 bytes (of their
decoded text; the tokenizers are lossless).
"""
import contextlib
import dataclasses
import functools
import json
import math
import os
import inspect
import signal
import threading
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

import configurator
from model import GPT, PRESETS, make_config
from uniscale import hardware, locks
from uniscale.atomic import disk_errors, remove_stale_temps, write_atomic, write_json_atomic
from uniscale.bpb import validation_bpb
from uniscale.identity import differences, fingerprint
from uniscale.run_folder import load_checkpoint
from uniscale.shards import PackedWindows, TokenShards, eval_set
from uniscale.tokenization import load_tokenizer

# -----------------------------------------------------------------------------
# defaults (override with config/*.py or --key=value)
# run
run_dir = ''                 # the run folder; '' = {out_dir}/runs/{preset}_{tokenizer name}_s{seed}
out_dir = 'out'
init_from = 'scratch'        # 'scratch' | 'resume' (continue the run from its ckpt.pt)
seed = 1
# data
corpus = 'embedded'
tokenizer = 'out/tokenizers/bpe-2k'   # tokenizer folder (or a tiktoken name); its shards must exist
tokens_dir = ''              # '' = {out_dir}/tokens/{corpus}/{tokenizer name}
# model
preset = 'gpt2-tiny'         # a model.PRESETS name: {arch}-{size}
block_size = 256             # tokens of context
context_bytes = 0            # > 0: block_size = context_bytes / the train split's bytes per token (equal text a window)
dropout = 0.0
doc_mask = False             # True: attention never crosses the documents packed into one window
model_args = {}              # GPTConfig overrides on top of the preset, e.g. {'n_layer': 4}
# length of the run
budget_unit = 'bytes'        # 'bytes' (of UTF-8 text, via the train split's bytes per token) | 'tokens'
budget = 0.0                 # in budget_unit; 0 = one epoch of the train split
max_steps = 0                # > 0: exactly this many optimizer steps, whatever the budget
stop_step = 0                # > 0: checkpoint and exit after this step, unfinished (to split a run across jobs)
# batch
batch_size = 32              # sequences per optimizer step, all processes together
micro_batch_size = 0         # sequences per forward pass per process; 0 = batch_size / processes (no accumulation)
# optimizer and schedule
lr = 6e-4                    # peak learning rate
min_lr_ratio = 0.1           # the schedule ends at lr * min_lr_ratio
warmup_steps = 100
schedule = 'cosine'          # 'cosine' | 'wsd' (warmup, stable, linear decay over the last decay_frac) | 'constant'
decay_frac = 0.2             # wsd: share of the steps spent decaying
weight_decay = 0.1           # on the blocks' matrices (not biases, norms, scalars)
decay_embeddings = False     # True: decay wte/lm_head/wpe too; off because it shrinks rare tokens' rows (large vocabs)
beta1 = 0.9
beta2 = 0.95
grad_clip = 1.0              # max global gradient norm; 0 = off
# evaluation, logs, checkpoints
eval_interval = 250          # steps between validations, each followed by a checkpoint
eval_docs = 500              # val documents in the fixed validation set; 0 = all of them
eval_batch_size = 0          # windows per validation forward pass; 0 = micro batch
log_interval = 10            # steps between log lines
peak_flops = 0.0             # FLOP/s of one device for MFU; 0 = from the GPU's name (bf16 dense), none on CPU
wandb_log = False
wandb_project = 'uniscale'
# system
device = ''                  # '' = cuda when available, else cpu
dtype = ''                   # '' = bfloat16 autocast on cuda, float32 on cpu; or 'float32' / 'bfloat16'
compile = True               # torch.compile the model (the first step then takes a while)
compile_mode = 'regional'    # 'regional': each transformer block compiled (once, reused by every layer); 'whole'
compile_cache_dir = ''       # inductor's caches, kept across requeues; '' = $TORCHINDUCTOR_CACHE_DIR, else
                             # {out_dir}/compile_cache (shared by the runs of out_dir)
threads = 0                  # torch CPU threads; 0 = torch's default (one per core); 1 is fastest for tiny models
# -----------------------------------------------------------------------------
# settings a resumed run may change: they do not change what is computed
RESUME_FREE = {'run_dir', 'tokens_dir', 'init_from', 'stop_step', 'compile', 'compile_mode', 'compile_cache_dir',
               'device', 'micro_batch_size', 'eval_batch_size', 'log_interval', 'wandb_log', 'wandb_project',
               'threads'}
RANGES = {k: configurator.above(0) for k in ('block_size', 'batch_size', 'lr')}
RANGES.update({k: configurator.at_least(0) for k in (
    'context_bytes', 'budget', 'max_steps', 'stop_step', 'micro_batch_size', 'min_lr_ratio', 'warmup_steps',
    'weight_decay', 'grad_clip', 'eval_interval', 'eval_docs', 'eval_batch_size', 'log_interval', 'peak_flops',
    'threads')}, dropout=configurator.within(0, 1), decay_frac=configurator.within(0, 1.000001))
CHOICES = {'init_from': ('scratch', 'resume'), 'budget_unit': ('tokens', 'bytes'),
           'schedule': ('cosine', 'wsd', 'constant'), 'dtype': hardware.DTYPES, 'compile_mode': ('regional', 'whole')}


def lr_at(step, cfg, total_steps):
    """Learning rate of the update from `step` to step + 1: linear warmup that starts above zero, then the schedule."""
    peak, floor, warm = cfg['lr'], cfg['lr'] * cfg['min_lr_ratio'], cfg['warmup_steps']
    if step < warm:
        return peak * (step + 1) / (warm + 1)
    if cfg['schedule'] == 'cosine':
        progress = (step - warm) / max(1, total_steps - warm)
        return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * min(1.0, progress)))
    if cfg['schedule'] == 'wsd':
        decay_start = max(warm, total_steps - round(cfg['decay_frac'] * total_steps))
        if step < decay_start:
            return peak
        return peak + (floor - peak) * (step + 1 - decay_start) / max(1, total_steps - decay_start)
    return peak


def steps_for_budget(cfg, bytes_per_token, windows_per_epoch):
    """Optimizer steps of the run: max_steps, else the budget (tokens, or bytes / bytes per token), else one epoch."""
    if cfg['max_steps'] > 0:
        return cfg['max_steps']
    if cfg['budget'] <= 0:
        return max(1, windows_per_epoch // cfg['batch_size'])
    n_tokens = cfg['budget'] if cfg['budget_unit'] == 'tokens' else cfg['budget'] / bytes_per_token
    return max(1, math.ceil(n_tokens / (cfg['batch_size'] * cfg['block_size'])))


def changed_settings(ckpt, cfg):
    """'key=old (now new)' for each setting of cfg that differs from what the checkpoint's run was asked for, less
    those that do not change what is computed (RESUME_FREE). Compared with the request, not with what followed from
    it (context_bytes)."""
    asked = ckpt.get('request') or ckpt['config']
    return [f"{k}={asked.get(k)!r} (now {cfg[k]!r})" for k in cfg
            if k not in RESUME_FREE and asked.get(k, cfg[k]) != cfg[k]]


def data_identity(m):
    """What a split of shards is, by content (m: its sidecar): the text it was encoded from (sha256), the tokenizer,
    the shards. A shard's document starts file is left out: the encoder derives it from the same text (the reader
    checks it against the sidecar's sha256), and recording it in an old sidecar (prepare.py) changes no run."""
    shards = m.get('shards')
    if isinstance(shards, list):
        shards = [{k: v for k, v in e.items() if k != 'starts'} if isinstance(e, dict) else e for e in shards]
    return {'text_sha256': m.get('source_sha256'), 'tokens': fingerprint(
        {**{k: m.get(k) for k in ('tokenizer_hash', 'source_sha256', 'format_version', 'n_tokens', 'n_docs',
                                  'n_bytes')}, 'shards': shards})}


def run_identity(cfg, tokenizer_hash, train_meta, val_meta):
    """{run_id, cell_id, inputs}: a run is its settings that change what is computed (all but RESUME_FREE) and the
    content of what it reads (train_meta, val_meta: the shard sidecars). cell_id leaves the seed out: the runs that
    analyses may pool as seeds of one cell share it. config.json records all three; the sweep, eval files and
    analyses compare these, never names."""
    inputs = {'tokenizer_hash': tokenizer_hash, 'train': data_identity(train_meta), 'val': data_identity(val_meta)}
    settings = {k: v for k, v in cfg.items() if k not in RESUME_FREE}
    return {'run_id': fingerprint({'settings': settings, 'inputs': inputs}),
            'cell_id': fingerprint({'settings': {k: v for k, v in settings.items() if k != 'seed'}, 'inputs': inputs}),
            'inputs': inputs}


def check_tokenizer(ckpt, tok, ckpt_path, run_dir):
    """Refuse a checkpoint trained with another tokenizer than the folder holds now (retrained under its name)."""
    trained = ckpt['config'].get('tokenizer_hash')
    if trained is not None and trained != tok.hash:
        raise SystemExit(f"{ckpt_path}: the run was trained with tokenizer hash {trained[:12]}, {tok.path} now has "
                         f"{tok.hash[:12]} (retrained or replaced under the same name); restore that tokenizer, or "
                         f"train with this one under a new --run_dir (or delete {run_dir})")


def check_inputs(ckpt, inputs, ckpt_path, run_dir):
    """Refuse a checkpoint whose data changed since it was written (the same names, other content): resuming would
    train on other text and validate on another set; a finished run's numbers are of the old inputs."""
    recorded = ckpt['config'].get('inputs')
    if recorded is None:  # a run from before run identities: nothing to compare
        return
    changed = differences(recorded, inputs)
    if changed:
        what = 'finished' if ckpt['done'] else f"checkpointed at step {ckpt['step']}"
        raise SystemExit(f"{ckpt_path}: this run was {what} on other data than the shards hold now ("
                         + '; '.join(changed[:3]) + f"): prepare.py re-encoded them; train the new data under a new "
                         f"--run_dir (or delete {run_dir}), or restore the old splits")


def check_fits(model_cfg, dev, preset):
    """Refuse, before any weight is allocated, a model whose weights, gradients and AdamW moments (16 bytes a
    parameter in fp32) exceed the device's free memory: a huge vocabulary would otherwise die in an allocation."""
    with torch.device('meta'):
        n = GPT(model_cfg).num_params()
    need = 16 * n
    if str(dev).startswith('cuda'):
        free = torch.cuda.mem_get_info(torch.device(dev))[0]
    else:
        free = available_memory()
    if free is not None and need > free:
        raise SystemExit(f"config error: {preset} at vocab_size {model_cfg.vocab_size:,} has {n / 1e9:.2f}B parameters "
                         f"and needs {need / 2**30:.1f} GiB for weights, gradients and AdamW alone, more than the "
                         f"{free / 2**30:.1f} GiB free on {dev}; use a smaller vocabulary or preset")


def block_size_for(cfg, bytes_per_token):
    """Tokens of context: block_size, or context_bytes of text at the train split's bytes per token (rounded to a
    multiple of 8, for fast kernels), so two tokenizers see the same text per window."""
    if cfg['context_bytes'] <= 0:
        return cfg['block_size']
    return max(8, round(cfg['context_bytes'] / bytes_per_token / 8) * 8)


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


def tokens_dir_for(cfg, tok_name):
    """Where the run's shards are: tokens_dir, else {out_dir}/tokens/{corpus}/{tokenizer name}."""
    return cfg['tokens_dir'] or os.path.join(cfg['out_dir'], 'tokens', cfg['corpus'], tok_name)


def model_config_for(cfg, vocab_size, bos_id, block_size):
    """The GPTConfig of the run: its preset at the tokenizer's vocabulary and the run's context, then model_args."""
    return make_config(cfg['preset'], **{'vocab_size': vocab_size, 'block_size': block_size, 'dropout': cfg['dropout'],
                                         'doc_bos_id': bos_id if cfg['doc_mask'] else -1, **cfg['model_args']})


def run_dir_for(cfg, tok_name):
    return cfg['run_dir'] or os.path.join(cfg['out_dir'], 'runs', f"{cfg['preset']}_{tok_name}_s{cfg['seed']}")


def trim_log(path, last_step):
    """Drop the events a crashed run logged after its last checkpoint, so a resumed run logs each step once."""
    def step_of(line):
        try:
            return json.loads(line)['step']
        except (ValueError, KeyError):
            return None  # a line cut short by a killed run
    if os.path.isfile(path):
        with open(path) as f:
            keep = [line for line in f if (step_of(line) is not None and step_of(line) <= last_step)]
        write_atomic(path, ''.join(keep))


def rng_states(ddp, world):
    """Every process's torch RNG states (dropout draws from them), gathered for the checkpoint."""
    mine = {'cpu': torch.get_rng_state(), 'cuda': torch.cuda.get_rng_state() if torch.cuda.is_available() else None}
    if not ddp:
        return [mine]
    states = [None] * world
    dist.all_gather_object(states, mine)
    return states


def train_step(model, optimizer, micro_batches, grad_clip, autocast, ddp=False):
    """One optimizer update: forward and backward over each (x, y) micro batch (gradient accumulation, each loss
    scaled by 1 / their number), clipping, AdamW. micro_batches is a list of callables returning (x, y) on the
    device, so one micro batch is loaded at a time. Returns (the step's mean loss as a device tensor, grad norm or
    None). Under DDP the gradients are all-reduced in the last micro batch's backward only, and are zeroed, not
    freed, after the update: they are views of DDP's buckets (gradient_as_bucket_view), which accumulate in place (the
    same numbers: every parameter gets a gradient every step). The preflight times this same function."""
    n = len(micro_batches)
    loss_sum = 0.0
    for m, load in enumerate(micro_batches):
        x, y = load()
        sync = model.no_sync() if ddp and m < n - 1 else contextlib.nullcontext()  # set before its forward
        with sync:
            with autocast:
                _, loss = model(x, y)  # the training loss: model.token_losses
                loss = loss / n
            loss.backward()
        loss_sum += loss.detach()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip) if grad_clip else None
    optimizer.step()
    optimizer.zero_grad(set_to_none=not ddp)
    return loss_sum, grad_norm


def micro_batches(data, step, batch_size, micro, grad_accum, rank, world, dev):
    """This process's micro batches of `step`, as loaders of (x, y) on dev: step s reads the windows
    [s * batch_size, (s + 1) * batch_size), dealt out to micro-steps and processes; window j is a pure function of
    (seed, j) (shards.PackedWindows), so the curve does not depend on the number of processes."""
    def load(m):
        xy = torch.from_numpy(data.windows(step * batch_size + (m * world + rank) * micro, micro))
        if str(dev).startswith('cuda'):
            xy = xy.pin_memory().to(dev, non_blocking=True)
        return xy[:, :-1], xy[:, 1:]
    return [functools.partial(load, m) for m in range(grad_accum)]


def append_event(log_path, event, wandb=None):
    with disk_errors(log_path), open(log_path, 'a') as f:
        f.write(json.dumps(event) + '\n')
    if wandb is not None:
        wandb.log(event, step=event['step'])


def check_settings(cfg):
    """Settings that need no file to check, refused before any work."""
    configurator.check_ranges(cfg, RANGES)
    for key, allowed in CHOICES.items():
        if cfg[key] not in allowed:
            raise SystemExit(f"config error: {key}={cfg[key]!r}; choose one of {', '.join(map(repr, allowed))}")
    if cfg['preset'] not in PRESETS:
        raise SystemExit(f"config error: preset={cfg['preset']!r} is not a model.py preset; choose one of "
                         f"{', '.join(PRESETS)}")


def start_processes(cfg):
    """(ddp, rank, local_rank, world, device): torchrun or srun sets RANK/LOCAL_RANK/WORLD_SIZE; NCCL on CUDA,
    gloo on CPU; a process's GPU is hardware.local_device (cuda:0 where SLURM binds one GPU per task)."""
    ddp = 'RANK' in os.environ
    dev, _ = hardware.resolve(cfg['device'])
    rank, local_rank, world = 0, 0, 1
    if ddp:
        rank, local_rank, world = (int(os.environ[k]) for k in ('RANK', 'LOCAL_RANK', 'WORLD_SIZE'))
        if dev.startswith('cuda'):
            dev = hardware.local_device(local_rank)
            torch.cuda.set_device(dev)
        dist.init_process_group(backend='nccl' if dev.startswith('cuda') else 'gloo')
    if cfg['threads']:
        torch.set_num_threads(cfg['threads'])
    return ddp, rank, local_rank, world, dev


def open_checkpoint(cfg, ckpt_path, run_dir):
    """The run's checkpoint: None to start from scratch, else the checkpoint (its 'done' says a finished run asked
    again with the same settings); refuses a run asked with other settings, or resumed without asking (or with
    nothing to resume)."""
    if not os.path.isfile(ckpt_path):
        if cfg['init_from'] == 'resume':
            raise SystemExit(f"{ckpt_path}: not found, nothing to resume; drop --init_from=resume to start the run")
        return None
    ckpt = load_checkpoint(ckpt_path, mmap=True)  # mmap: read the flag and settings fast
    changed = changed_settings(ckpt, cfg)
    if changed:
        what = 'finished' if ckpt['done'] else f"checkpointed at step {ckpt['step']}"
        raise SystemExit(f"{ckpt_path}: this run was {what} with other settings: " + ', '.join(changed)
                         + f"; give these settings their own --run_dir (or delete {run_dir} to retrain it)")
    if ckpt['done']:
        return ckpt
    if cfg['init_from'] != 'resume':
        raise SystemExit(f"{ckpt_path}: an unfinished run (checkpoint at step {ckpt['step']}); continue it with "
                         f"--init_from=resume, or delete {run_dir} to start over")
    return load_checkpoint(ckpt_path)  # private copies for the optimizer


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
        raise SystemExit(f"{path}: could not write the checkpoint at step {state['step']} "
                         f"({str(e).splitlines()[0]}); free disk space or fix permissions, then resume (the "
                         f"previous checkpoint is kept)") from None


class CheckpointWriter:
    """Rank 0's checkpoint writes without stalling the other ranks: save() copies the state to CPU memory (on CUDA
    into pinned buffers kept from one save to the next; the copy is queued on the stream, so the next step's kernels
    run after it and the thread waits for it on an event) and writes it in a background thread with save_checkpoint
    (temp + rename). The next save, a stop, the end of the run and an error wait for the write in flight; a write
    that failed is raised at that wait, as the one line save_checkpoint gives."""

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
    with disk_errors(path):
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


def stop_if_nonfinite(ok, what, step, run_dir, ckpt_path, first_ckpt_step):
    if ok:
        return
    kept = load_checkpoint(ckpt_path, mmap=True)['step'] if os.path.isfile(ckpt_path) else None
    where = (f"the last good checkpoint (step {kept}) is kept in {ckpt_path}" if kept is not None else
             f"no checkpoint was written (the first comes at step {first_ckpt_step})")
    raise SystemExit(f"{run_dir}: {what} is not finite at step {step}; stopped, {where}. A resumed run keeps its "
                     f"settings, so retrain with a lower lr or more warmup_steps under a new --run_dir "
                     f"(or delete {run_dir})")


def start_log(run_dir, run_config, step):
    """config.json always; log.jsonl kept up to the checkpoint's step (a run that died before its first checkpoint
    starts its log again); a checkpoint write cut short by a kill removed."""
    log_path = os.path.join(run_dir, 'log.jsonl')
    remove_stale_temps(os.path.join(run_dir, 'ckpt.pt'))
    write_json_atomic(os.path.join(run_dir, 'config.json'), run_config)
    with disk_errors(log_path):
        if step == 0 and os.path.isfile(log_path):
            os.remove(log_path)
        trim_log(log_path, step)


def checkpoint_stamp(path):
    """(size, mtime) of the checkpoint, None without one: to notice another writer between reading and locking."""
    try:
        st = os.stat(path)
        return st.st_size, st.st_mtime_ns
    except OSError:
        return None


def available_memory():
    """Bytes of memory the kernel says are available (MemAvailable), None where /proc/meminfo is not there."""
    try:
        with open('/proc/meminfo') as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith('MemAvailable:'))
    except (OSError, StopIteration, ValueError):
        return None


def rewrite_config(run_dir, config):
    """config.json from the checkpoint's copy when it is missing or damaged (the advice readers give)."""
    path = os.path.join(run_dir, 'config.json')
    try:
        with open(path) as f:
            if isinstance(json.load(f), dict):
                return
    except (OSError, ValueError):
        pass
    write_json_atomic(path, config)
    print(f"{path}: rewritten from the checkpoint's copy")


def train(cfg):
    """Train (or resume, or find finished) the run that cfg describes; returns its folder. The stop handler goes in
    first (a SIGTERM during the setup still ends in a checkpoint, not a killed process), and the run folder is held
    by one writer at a time (uniscale/locks.py)."""
    stop = StopSignal()
    try:
        with contextlib.ExitStack() as held:
            return run(cfg, stop, held)
    finally:
        stop.restore()


def run(cfg, stop, held):
    """train()'s body: held (an ExitStack) takes the run folder's lock once the folder is known."""
    t0 = time.time()  # wall_s: everything this process does for the run
    check_settings(cfg)
    ddp, rank, local_rank, world, dev = start_processes(cfg)
    master = rank == 0
    log = print if master else (lambda *a, **k: None)
    device_type = dev.split(':')[0]
    dt = hardware.resolve(dev, cfg['dtype'])[1]
    autocast = hardware.autocast(dev, dt)

    # ---- tokenizer, run folder, shards, batch geometry: every check before any compute
    tok = load_tokenizer(cfg['tokenizer'])
    run_dir = run_dir_for(cfg, tok.name)
    ckpt_path, log_path = os.path.join(run_dir, 'ckpt.pt'), os.path.join(run_dir, 'log.jsonl')
    seen = checkpoint_stamp(ckpt_path)
    ckpt = open_checkpoint(cfg, ckpt_path, run_dir)
    vocab_size = cfg['model_args'].get('vocab_size', tok.vocab_size)
    tokens_dir = tokens_dir_for(cfg, tok.name)
    if ckpt is not None:  # a changed tokenizer first: the shard reader's advice (re-encode) would be wrong here
        check_tokenizer(ckpt, tok, ckpt_path, run_dir)
    train_shards = TokenShards(tokens_dir, 'train', tokenizer_hash=tok.hash, vocab_size=vocab_size)
    val_shards = TokenShards(tokens_dir, 'val', tokenizer_hash=tok.hash, vocab_size=vocab_size)
    identity = run_identity(cfg, tok.hash, train_shards.meta, val_shards.meta)
    if ckpt is not None:
        check_inputs(ckpt, identity['inputs'], ckpt_path, run_dir)
    if ckpt is not None and ckpt['done']:
        if master:
            rewrite_config(run_dir, ckpt['config'])
        log(f"{run_dir}: finished at step {ckpt['step']} ({ckpt['tokens_seen']:,} tokens); nothing to do "
            f"(delete the folder to train it again)")
        if ddp:
            dist.destroy_process_group()
        return run_dir
    block_size = block_size_for(cfg, train_shards.bytes_per_token)
    model_cfg = model_config_for(cfg, tok.vocab_size, tok.bos_id, block_size)
    check_fits(model_cfg, dev, cfg['preset'])
    micro = cfg['micro_batch_size'] or cfg['batch_size'] // world
    if micro < 1 or cfg['batch_size'] % (micro * world):
        raise SystemExit(f"config error: batch_size={cfg['batch_size']} must be a multiple of micro_batch_size "
                         f"({micro}) x processes ({world}); change one of them")
    grad_accum = cfg['batch_size'] // (micro * world)
    data = PackedWindows(train_shards, block_size, cfg['seed'])
    eval_windows, eval_n_docs, eval_bytes = eval_set(val_shards, tok, cfg['eval_docs'], block_size)
    total_steps = steps_for_budget({**cfg, 'block_size': block_size}, train_shards.bytes_per_token,
                                   data.windows_per_epoch)
    tokens_per_step, bpt = cfg['batch_size'] * block_size, train_shards.bytes_per_token
    epochs = total_steps * cfg['batch_size'] / data.windows_per_epoch  # how often the run reads its train split
    first_ckpt_step = min(cfg['eval_interval'] or total_steps, total_steps)

    writer = CheckpointWriter(ckpt_path)
    if master:  # every check passed (a refusal writes nothing): from here on this process is the run's one writer
        held.enter_context(locks.hold(run_dir, 'run'))
        if checkpoint_stamp(ckpt_path) != seen:
            raise SystemExit(f"{ckpt_path}: written by another process while this one was starting; run the same "
                             f"command again")
        held.enter_context(writer)  # an error ends the run only once the checkpoint in flight is written (or failed)

    # ---- model and optimizer (from the checkpoint when resuming)
    torch.manual_seed(cfg['seed'])  # the same initial weights in every process
    raw_model = GPT(model_cfg)
    if ckpt is not None:
        raw_model.load_state_dict(ckpt['model'])
    raw_model.to(dev)
    optimizer = raw_model.configure_optimizer(cfg['weight_decay'], cfg['lr'], (cfg['beta1'], cfg['beta2']),
                                              device_type, cfg['decay_embeddings'])
    step, clock = 0, {'elapsed_s': 0.0, 'compile_s': 0.0, 'wall_s': 0.0}  # summed over resumes
    torch.manual_seed(cfg['seed'] * 1000 + rank)  # dropout: a stream per process
    if ckpt is not None:
        step, clock = restore(ckpt, optimizer, rank, world, device_type, log)
        del ckpt
    cache_dir = cfg['compile_cache_dir'] or os.environ.get('TORCHINDUCTOR_CACHE_DIR') or os.path.join(
        cfg['out_dir'], 'compile_cache')
    model = compile_model(raw_model, cfg['compile_mode'], cache_dir) if cfg['compile'] else raw_model
    ddp_opts = ddp_options(raw_model, grad_accum) if ddp else None
    if ddp:
        model = wrap_ddp(model, dev, ddp_opts)
    peak = hardware.peak_flops(dev, cfg['peak_flops'])
    flops_per_token = raw_model.flops_per_token()

    # ---- the run folder: config.json always, log.jsonl appended (after the checkpoint's step when resuming)
    run_config = {**cfg, 'block_size': block_size, 'epochs': epochs, **identity,
                  'run_name': os.path.basename(os.path.normpath(run_dir)), 'run_dir': run_dir,
                  'arch': model_cfg.arch, 'tokenizer_name': tok.name, 'tokenizer_hash': tok.hash,
                  'vocab_size': tok.vocab_size, 'tokens_dir': tokens_dir, 'n_params': raw_model.num_params(),
                  'n_params_nonembedding': raw_model.num_params(non_embedding=True), 'total_steps': total_steps,
                  'tokens_per_step': tokens_per_step, 'train_bytes_per_token': bpt,
                  'world_size': world, 'micro_batch_size_used': micro, 'grad_accum': grad_accum, 'dtype_used': dt,
                  'ddp': ddp_opts,
                  'eval_n_docs': eval_n_docs, 'eval_n_bytes': eval_bytes}
    if master:
        start_log(run_dir, run_config, step)
    if cfg['wandb_log'] and master:
        import wandb  # only when asked for
        wandb.init(project=cfg['wandb_project'], name=run_config['run_name'], config=run_config, resume='allow')
    log(f"{run_dir}: {model_cfg.arch} {raw_model.num_params(non_embedding=True) / 1e6:.2f}M non-embedding params, "
        f"{tok.name} ({tok.vocab_size:,} ids), {total_steps:,} steps of {tokens_per_step:,} tokens "
        f"({cfg['batch_size']} x {block_size}; {world} x {micro} x {grad_accum} accum) on {dev} {dt}"
        + (f", resuming at step {step}" if step else ''))
    if epochs > 1:
        log(f"note: this run reads its train split {epochs:.2f} times (data repeats: "
            f"{total_steps * cfg['batch_size']:,} windows of {data.windows_per_epoch:,}); prepare a larger train split "
            f"to see each document once")

    def write_event(event):  # one line of log.jsonl (and wandb), from rank 0
        if master:
            append_event(log_path, event, wandb if cfg['wandb_log'] else None)

    def check_finite(ok, what):
        if not ok:
            writer.wait(quiet=True)  # the message names the checkpoint that is kept: the one in flight, once written
        stop_if_nonfinite(ok, what, step, run_dir, ckpt_path, first_ckpt_step)

    def clocks():  # the run's clocks, summed over resumes: training only, the first compiled step, everything
        return {'elapsed_s': clock['elapsed_s'] + train_s, 'compile_s': clock['compile_s'] + compile_s,
                'wall_s': clock['wall_s'] + time.time() - t0}

    def save(done):  # every process takes part (the finite check, the RNG gather); rank 0 writes, in the background
        check_finite(all(torch.isfinite(p).all() for p in raw_model.parameters()), 'a weight')
        states = rng_states(ddp, world)
        if master:
            writer.save({
                'model': raw_model.state_dict(), 'model_config': dataclasses.asdict(model_cfg), 'config': run_config,
                'request': dict(cfg), 'optimizer': optimizer.state_dict(), 'step': step,
                'windows_seen': step * cfg['batch_size'], 'tokens_seen': step * tokens_per_step,
                'bytes_seen': round(step * tokens_per_step * bpt), **clocks(), 'rng': states, 'done': done})

    def validate():  # (val_loss, val_bpb) through uniscale/bpb.py, every process taking part, eagerly
        max_tokens = (cfg['eval_batch_size'] or micro) * block_size
        with eager():
            return validation_bpb(raw_model, eval_windows, eval_bytes, dev, dt, max_tokens, rank, world)

    # ---- the loop. Clocks: train_s counts training steps only (no validation, checkpoints or the first compiled
    # step, which holds the compile and goes to compile_s); wall_s counts everything.
    train_s, compile_s, first_step = 0.0, 0.0, True
    tokens_last = step * tokens_per_step
    if step == 0:  # where the curve starts
        val_loss, val_bpb = validate()
        write_event({'step': 0, 'tokens': 0, 'bytes': 0, 'elapsed_s': 0.0, 'compile_s': 0.0,
                     'wall_s': clocks()['wall_s'], 'lr': lr_at(0, cfg, total_steps),
                     'val_loss': val_loss, 'val_bpb': val_bpb})
        log(f"step 0: val loss {val_loss:.4f}, {val_bpb:.4f} bpb")
    nonfinite = torch.zeros((), dtype=torch.bool, device=dev)  # set on device, read at log steps: no sync per step
    every = lambda n: n > 0 and step % n == 0
    t_mark, train_last = time.time(), 0.0
    while step < total_steps:
        lr_now = lr_at(step, cfg, total_steps)
        for group in optimizer.param_groups:
            group['lr'] = lr_now
        batches = micro_batches(data, step, cfg['batch_size'], micro, grad_accum, rank, world, dev)
        loss, grad_norm = train_step(model, optimizer, batches, cfg['grad_clip'], autocast, ddp)
        step += 1
        nonfinite |= ~torch.isfinite(loss)
        if first_step and cfg['compile']:  # the first compiled step is mostly the compile: its own clock
            if device_type == 'cuda':
                torch.cuda.synchronize(dev)  # the clock reads only after the device has finished the step
            compile_s, t_mark = time.time() - t_mark, time.time()
        first_step = False
        is_eval = every(cfg['eval_interval']) or step == total_steps
        stopping = step == cfg['stop_step'] and step < total_steps
        signalled = stop.received is not None and not ddp  # one process: stop at this step
        if not (is_eval or stopping or signalled or every(cfg['log_interval'])):
            continue
        asked_to_stop = torch.tensor(float(stop.received is not None), device=dev)
        stats = torch.stack([loss, nonfinite.float(), asked_to_stop])
        if ddp:  # the mean over every sequence of the step, as one process computes it (gloo has no AVG)
            dist.all_reduce(stats)
        train_loss, n_nonfinite, n_signalled = (stats / world).tolist()
        train_s += time.time() - t_mark  # .tolist() waited for the device: the steps since t_mark are done
        signalled = n_signalled > 0 and step < total_steps  # any process signalled: all stop at this step
        check_finite(n_nonfinite == 0, 'the train loss (of this step or one since the last log)')
        tokens = step * tokens_per_step
        tok_per_s = (tokens - tokens_last) / max(train_s - train_last, 1e-9)
        event = {'step': step, 'tokens': tokens, 'bytes': round(tokens * bpt), **clocks(),
                 'lr': lr_now, 'train_loss': train_loss, 'grad_norm': None if grad_norm is None else grad_norm.item(),
                 'tok_per_s': tok_per_s, 'mfu': flops_per_token * tok_per_s / (world * peak) if peak else None}
        line = (f"step {step}/{total_steps} | loss {train_loss:.4f} | lr {lr_now:.2e} | {tok_per_s:,.0f} tok/s"
                + (f" | mfu {100 * event['mfu']:.1f}%" if peak else ''))
        if is_eval:
            event['val_loss'], event['val_bpb'] = validate()
            check_finite(math.isfinite(event['val_loss']), 'the val loss')
            line += f" | val loss {event['val_loss']:.4f}, {event['val_bpb']:.4f} bpb"
        write_event(event)
        log(line)
        if is_eval or stopping or signalled:
            save(done=step == total_steps)
        if stopping or signalled:
            writer.wait()
            why = f"signal {stop.received or 'from another process'}" if signalled else 'stop_step'
            log(f"{run_dir}: stopped at step {step} of {total_steps} ({why}), checkpointed; continue with "
                f"--init_from=resume")
            break
        t_mark, train_last, tokens_last = time.time(), train_s, tokens
    writer.wait()  # the last checkpoint is on disk (or its write error raised) before the run ends
    if step == total_steps:
        c = clocks()
        log(f"{run_dir}: done, {step:,} steps, {step * tokens_per_step:,} tokens in {c['elapsed_s']:.0f}s of training "
            f"({c['compile_s']:.0f}s compile, {c['wall_s']:.0f}s in all)")
    if ddp:  # DDP's reducer holds the process group: free it first, or its destructor can hang once gloo is gone
        del model
        dist.destroy_process_group()
    return run_dir


if __name__ == '__main__':
    train(configurator.configure(globals()))
