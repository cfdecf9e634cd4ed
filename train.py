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
views, a bucket per block, static_graph without accumulation). These, the processes, signals and the checkpoint
writer live in uniscale/train_runtime.py; the run folder's files and refusals in uniscale/run_folder.py.
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
import signal
import sys


def stopped_while_starting(signum, frame):
    """SIGTERM / SIGUSR1 before train()'s StopSignal takes over (torch's imports take seconds):
    nothing was computed or written. One line, then death by that signal as before (exit status
    128 + signal: the sweep's SLURM task sees no progress and fails, not requeued forever)."""
    print(f"train.py: stopped by {signal.Signals(signum).name} during start-up, before any step: "
          f"nothing to save; run it again", file=sys.stderr, flush=True)
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)


if __name__ == '__main__':  # first of all, before the slow imports; not when train.py is imported
    signal.signal(signal.SIGTERM, stopped_while_starting)  # no loop variable: it would be a key
    signal.signal(signal.SIGUSR1, stopped_while_starting)

import contextlib
import dataclasses
import functools
import json
import math
import os
import time

import torch
import torch.distributed as dist

import configurator
from model import GPT, PRESETS, check_model_args, make_config
from uniscale import hardware, locks
from uniscale import atomic
from uniscale.atomic import disk_errors
from uniscale.bpb import validation_bpb
from uniscale.identity import fingerprint
from uniscale.code_identity import code_identity, code_record
from uniscale.run_folder import (check_code, checkpoint_stamp, code_history, keep_code,
                                 load_checkpoint, move_aside, refuse_changed_inputs,
                                 refuse_retrained_tokenizer, relocate_tokenizer, rewrite_config,
                                 start_log, stop_if_nonfinite)
from uniscale.shards import PackedWindows, TokenShards, eval_set
from uniscale.tokenization import load_tokenizer
from uniscale.train_runtime import (CheckpointWriter, StopSignal, check_fits, compile_model, ddp_options, eager,
                                    restore, rng_states, start_processes, wrap_ddp)

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
threads = 0                  # torch CPU threads; 0 = 1 below 10M non-embedding params,
                             # else torch's default (uniscale/hardware.threads_for)
code_changes = ''            # a run computed by other code (uniscale/code_identity.py) or by
                             # code not recorded: '' refuses; 'keep' counts its results as this
                             # code's (recorded in its config.json); 'retrain' moves it to
                             # {run_dir}/../.replaced/ and trains it again
# -----------------------------------------------------------------------------
# settings a resumed run may change: they do not change what is computed
RESUME_FREE = {'run_dir', 'tokens_dir', 'init_from', 'stop_step', 'compile', 'compile_mode', 'compile_cache_dir',
               'device', 'micro_batch_size', 'eval_batch_size', 'log_interval', 'wandb_log', 'wandb_project',
               'threads', 'code_changes'}
# settings that name a file or folder: they say where to find things, never what a run is
# (tokenizer_hash and the shards' content in `inputs` stand for them), so no spelling of a path
# makes another run
PATH_SETTINGS = {'out_dir', 'run_dir', 'tokens_dir', 'tokenizer', 'compile_cache_dir'}
# settings added after the first runs existed, at the value that reproduces how those runs were
# computed: a key an older run lacks counts as this value in the resume check, the sweep's status
# and cell identity alike; a key that is neither recorded nor here is a difference. Add a new
# setting here with its old behaviour's value.
LEGACY_DEFAULTS = {'context_bytes': 0, 'decay_embeddings': False, 'compile_mode': 'whole',
                   'compile_cache_dir': ''}
RANGES = {k: configurator.above(0) for k in ('block_size', 'batch_size', 'lr')}
RANGES.update({k: configurator.at_least(0) for k in (
    'context_bytes', 'budget', 'max_steps', 'stop_step', 'micro_batch_size', 'min_lr_ratio', 'warmup_steps',
    'weight_decay', 'grad_clip', 'eval_interval', 'eval_docs', 'eval_batch_size', 'log_interval', 'peak_flops',
    'threads')}, dropout=configurator.within(0, 1), decay_frac=configurator.within(0, 1.000001))
CHOICES = {'init_from': ('scratch', 'resume'), 'budget_unit': ('tokens', 'bytes'),
           'schedule': ('cosine', 'wsd', 'constant'), 'dtype': hardware.DTYPES, 'compile_mode': ('regional', 'whole'),
           'code_changes': ('', 'keep', 'retrain')}


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


class NotRecorded:
    """What a run lacks a setting as, when LEGACY_DEFAULTS has no value for it: unequal to every
    value."""
    def __repr__(self):
        return '<not recorded, not in LEGACY_DEFAULTS>'


NOT_RECORDED = NotRecorded()


def setting_of(asked, k):
    """The value of setting k a run was asked for (its request or config): recorded, else
    LEGACY_DEFAULTS's."""
    return asked[k] if k in asked else LEGACY_DEFAULTS.get(k, NOT_RECORDED)


def changed_settings(ckpt, cfg):
    """'key=old (now new)' for each setting of cfg that differs from what the checkpoint's run was
    asked for, less those that do not change what is computed (RESUME_FREE) or name a path
    (PATH_SETTINGS); a key the run lacks is its LEGACY_DEFAULTS value (the one rule, setting_of).
    Compared with the request, not with what followed from it (context_bytes)."""
    asked = ckpt.get('request') or ckpt['config']
    return [f"{k}={setting_of(asked, k)!r} (now {cfg[k]!r})" for k in cfg
            if k not in RESUME_FREE | PATH_SETTINGS and setting_of(asked, k) != cfg[k]]


def data_identity(m):
    """What a split of shards is, by content (m: its sidecar): the text it was encoded from (sha256), the tokenizer,
    the shards. A shard's document starts file is left out: the encoder derives it from the same text (the reader
    checks it against the sidecar's sha256), and recording it in an old sidecar (prepare.py) changes no run.
    So is a shard's `sha256` (of its ids): the reader checks the bytes against it before any token
    is used (shards.TokenShards.tokens), it is a function of the tokenizer hash, text sha256, format
    and counts already here, and it is recorded into old sidecars on first use: in the identity,
    that would make every run trained on them 'changed'."""
    shards = m.get('shards')
    if isinstance(shards, list):
        shards = [{k: v for k, v in e.items() if k not in ('starts', 'sha256')}
                  if isinstance(e, dict) else e for e in shards]
    return {'text_sha256': m.get('source_sha256'), 'tokens': fingerprint(
        {**{k: m.get(k) for k in ('tokenizer_hash', 'source_sha256', 'format_version', 'n_tokens', 'n_docs',
                                  'n_bytes')}, 'shards': shards})}


def run_inputs(tokenizer_hash, train_meta, val_meta):
    """The content a run reads (train_meta, val_meta: the shard sidecars): config.json's
    `inputs`."""
    return {'tokenizer_hash': tokenizer_hash, 'train': data_identity(train_meta),
            'val': data_identity(val_meta)}


def identity_settings(config):
    """The settings that make a run what it is, from its request or any run's config.json, by the
    current rule: every train.py setting but RESUME_FREE and PATH_SETTINGS, a key the run lacks at
    its LEGACY_DEFAULTS value (one in neither is left out: it differs from any value). config.json's
    block_size is the one trained with (derived from context_bytes when that is set)."""
    keys = configurator.config_keys(globals())
    return {k: v for k in keys if k not in RESUME_FREE | PATH_SETTINGS
            for v in [setting_of(config, k)] if v is not NOT_RECORDED}


def run_identity(config):
    """{run_id, cell_id} of a run, recomputed from its config (train.py's run config, or config.json
    of any run, old ones included) with the current rule: identity_settings, the content it read
    (`inputs`; a run from before them: its tokenizer_hash) and, for run_id, the training code it
    recorded (`code`). cell_id leaves out the seed and the code: the runs analyses may pool as seeds
    of one cell share it (correlate.py compares code apart). Consumers (the sweep, correlate.py)
    recompute it rather than trust an id an older rule stored."""
    settings = identity_settings(config)
    inputs = config.get('inputs') or {'tokenizer_hash': config.get('tokenizer_hash')}
    code = config.get('code')
    code = code.get('sha256') if isinstance(code, dict) else None
    cell = {'settings': {k: v for k, v in settings.items() if k != 'seed'}, 'inputs': inputs}
    return {'run_id': fingerprint({'settings': settings, 'inputs': inputs, 'code': code}),
            'cell_id': fingerprint(cell)}


def block_size_for(cfg, bytes_per_token):
    """Tokens of context: block_size, or context_bytes of text at the train split's bytes per token (rounded to a
    multiple of 8, for fast kernels), so two tokenizers see the same text per window."""
    if cfg['context_bytes'] <= 0:
        return cfg['block_size']
    return max(8, round(cfg['context_bytes'] / bytes_per_token / 8) * 8)


def tokens_dir_for(cfg, tok_name):
    """Where the run's shards are: tokens_dir, else {out_dir}/tokens/{corpus}/{tokenizer name}."""
    return cfg['tokens_dir'] or os.path.join(cfg['out_dir'], 'tokens', cfg['corpus'], tok_name)


def model_config_for(cfg, vocab_size, bos_id, block_size):
    """The GPTConfig of the run: its preset at the tokenizer's vocabulary and the run's context, then model_args."""
    return make_config(cfg['preset'], **{'vocab_size': vocab_size, 'block_size': block_size, 'dropout': cfg['dropout'],
                                         'doc_bos_id': bos_id if cfg['doc_mask'] else -1, **cfg['model_args']})


def run_dir_for(cfg, tok_name):
    return cfg['run_dir'] or os.path.join(cfg['out_dir'], 'runs', f"{cfg['preset']}_{tok_name}_s{cfg['seed']}")


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
    check_model_args(cfg['preset'], cfg['model_args'])  # a wrong type or range: one line, now


def open_checkpoint(cfg, ckpt_path, run_dir):
    """The run's checkpoint: None to start from scratch, else the checkpoint (its 'done' says a
    finished run asked again with the same settings); refuses a run asked with other settings,
    computed by other code (check_code), or resumed without asking (or with nothing to resume)."""
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
    if check_code(cfg, ckpt, ckpt_path, run_dir) == 'retrain':
        return {'retrain': True}  # run() moves the run aside once every check passed
    if ckpt['done']:
        return ckpt
    if cfg['init_from'] != 'resume':
        raise SystemExit(f"{ckpt_path}: an unfinished run (checkpoint at step {ckpt['step']}); continue it with "
                         f"--init_from=resume, or delete {run_dir} to start over")
    return load_checkpoint(ckpt_path)  # private copies for the optimizer


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
    ddp, rank, local_rank, world, dev = start_processes(cfg['device'], cfg['threads'])
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
    retrain, ckpt = (True, None) if ckpt and ckpt.get('retrain') else (False, ckpt)
    history = code_history(run_dir, ckpt, code_identity('train'))
    vocab_size = cfg['model_args'].get('vocab_size', tok.vocab_size)
    tokens_dir = tokens_dir_for(cfg, tok.name)
    if ckpt is not None:  # a changed tokenizer first: the shard reader's advice (re-encode) would be wrong here
        refuse_retrained_tokenizer(ckpt, tok, ckpt_path, run_dir)
    train_shards = TokenShards(tokens_dir, 'train', tokenizer_hash=tok.hash, vocab_size=vocab_size)
    val_shards = TokenShards(tokens_dir, 'val', tokenizer_hash=tok.hash, vocab_size=vocab_size)
    inputs = run_inputs(tok.hash, train_shards.meta, val_shards.meta)
    if ckpt is not None:
        refuse_changed_inputs(ckpt, inputs, ckpt_path, run_dir)
    if ckpt is not None and ckpt['done']:
        if master:
            rewrite_config(run_dir, ckpt['config'])
            relocate_tokenizer(run_dir, cfg['tokenizer'])  # a moved tokenizer folder: found again
            if 'code_kept' in ckpt:  # code_changes='keep', every check passed
                keep_code(run_dir, ckpt['code_kept'], ckpt['config'])
                log(f"{run_dir}: computed by other code; its results now count as this code's")
        log(f"{run_dir}: finished at step {ckpt['step']} ({ckpt['tokens_seen']:,} tokens); nothing to do "
            f"(delete the folder to train it again)")
        if ddp:
            dist.destroy_process_group()
        return run_dir
    block_size = block_size_for(cfg, train_shards.bytes_per_token)
    code = code_record('train')
    identity = {'inputs': inputs, 'code': code, 'code_history': history}
    identity.update(run_identity({**cfg, 'block_size': block_size, **identity}))
    model_cfg = model_config_for(cfg, tok.vocab_size, tok.bos_id, block_size)
    check_fits(model_cfg, dev, cfg['preset'], train_shards.bytes_per_token)
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
        if retrain:  # code_changes='retrain': the old run is kept aside
            log(f"{run_dir}: of other code; moved to {move_aside(run_dir)}, training it again")
            seen = checkpoint_stamp(ckpt_path)
        run_lock = held.enter_context(locks.hold(run_dir, 'run'))
        if checkpoint_stamp(ckpt_path) != seen:
            raise SystemExit(f"{ckpt_path}: written by another process while this one was starting; run the same "
                             f"command again")
        held.enter_context(writer)  # an error ends the run only once the checkpoint in flight is written (or failed)

    # ---- model and optimizer (from the checkpoint when resuming)
    torch.manual_seed(cfg['seed'])  # the same initial weights in every process
    raw_model = GPT(model_cfg)
    hardware.set_threads(cfg['threads'], raw_model.num_params(non_embedding=True))
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
        writer.poll()  # a failed checkpoint write stops the run now, not an eval interval later
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
        if master:
            run_lock.check()  # .lock deleted by hand: another train.py may write this run too
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
    atomic.set_output_setting('--run_dir or --out_dir')  # a failed write's advice names them
    train(configurator.configure(globals()))
