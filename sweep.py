"""
The experiment grid: tokenizers x model sizes (presets) x seeds, trained, evaluated, then analysed.

    python sweep.py config/sweep_demo.py --dry_run=True               # the runs, their budgets, commands and cost
    python sweep.py config/sweep_demo.py --only=apertus-tiny,bpe-*,s1 # a slice: filters by preset, tokenizer, seed
    python sweep.py config/sweep_fineweb2.py --launcher=slurm         # write (and submit) sbatch array scripts

Each run is `python train.py {base_config} --preset=P --tokenizer={tokenizers_dir}/T --seed=S --run_dir=out/runs/R`
with R = {preset}_{tokenizer}_s{seed} (e.g. apertus-50M_bpe-80k_s1), then `python eval_bpb.py --run=out/runs/R`.
lr_scan=[0.5, 2.0] adds, at the smallest preset (fewest non-embedding parameters) and the first seed, each tokenizer's
grid run at --lr = m x its lr, named {preset}_{tokenizer}_s{seed}_lr{m} (m in Python's g format: ..._s1_lr0.5, _lr2;
x1 is the grid's own run), run like the others and passed to the analysis apart (--lr_scan_runs).
An entry 'lr=1e-5' is an absolute lr, the same for every tokenizer (Wang et al.'s tiny proxy lr is
absolute), run as {preset}_{tokenizer}_s{seed}_abslr{lr} (_abslr1e-05); the analysis is told which
lrs are absolute (--lr_scan_abs).
A run is done when its checkpoint is finished, was trained with exactly the settings and inputs (tokenizer and shard
content) the sweep asks for now, and its eval file scored that checkpoint with the sweep's evaluation settings
(uniscale/run_folder.py; never names or file ages): it is skipped; a finished run with a stale eval file is evaluated
again, not retrained; a run with an unfinished ckpt.pt is resumed (--init_from=resume); a run trained with other
settings or inputs stops the grid, naming what differs (never retrained over). `launcher='local'` trains the runs one
after another here (num_gpus > 1: through torchrun), each in its own process group, stopped with the sweep
(SIGINT/SIGTERM); one sweep of a name at a time. Then `correlate.py` (analysis='scale' or 'ab') runs unless its
summary.json was computed from exactly the files and settings it would read now (`analysis_id`).
`launcher='slurm'` writes out/sweep/{name}_{k}node.sbatch, one array task per run (srun starts one train.py
per GPU, across the nodes listed in slurm_nodes; nothing else runs on those GPUs), and {name}_{k}node_eval.sbatch,
the same runs' eval_bpb.py and downstream.py on one GPU each, task i started when training task i finished
(sbatch --dependency=aftercorr); finished runs that only need evaluating go to {name}_eval.sbatch alone. It submits
them when sbatch exists and queues the analysis after the evaluation arrays.
--dry_run=True runs nothing: every run, its commands and estimated cost, and the total (uniscale/preflight_check.py),
and the sbatch files for launcher='slurm', before any data: runs whose inputs do not exist yet are listed as blocked
with the commands that make them (exit 0); it exits 1, as a real sweep does, for what making inputs cannot fix.
"""
import fnmatch
import itertools
import math
import os
import shlex
import signal
import sys

import configurator
from uniscale import atomic, eval_sets, locks, slurm_launch
from uniscale.local_launch import run_command, run_jobs, stop_jobs
from uniscale.study_inputs import EVAL_SET_SETTINGS
from uniscale.code_identity import code_change, code_identity
from uniscale.run_folder import (corpus_rebuilt, eval_is_current, eval_path, keep_code,
                                 load_checkpoint, move_aside, read_json, read_run_config,
                                 relocate_tokenizer, run_state)

# -----------------------------------------------------------------------------
# defaults (override with config/*.py or --key=value)
name = 'sweep'               # the analysis (out/analysis/{name}) and sbatch script names
tokenizers = ['bpe-2k', 'unigram-2k']   # folder names under tokenizers_dir
presets = ['apertus-tiny']   # model sizes (model.PRESETS names)
seeds = [1]
lr_scan = []                 # lr multipliers at the smallest preset, every tokenizer, the first
                             # seed, and absolute lrs as 'lr=1e-5' (e.g. [0.5, 2.0, 'lr=1e-5'];
                             # 1 is the grid's own run): does the small ranking survive the lr?
base_config = ''             # the train.py config every run starts from, e.g. config/fineweb2_apertus.py
tokenizers_dir = 'out/tokenizers'
runs_dir = 'out/runs'
train_args = {}              # train.py overrides for every run, e.g. {'compile': False}
code_changes = ''            # runs computed by other code (or by code not recorded): '' stops the
                             # grid; 'retrain' moves each to {runs_dir}/.replaced/ and trains it
                             # again (nothing lost); 'keep' counts their results as this code's
preset_args = {}             # train.py overrides per preset (budgets live here), e.g. {'apertus-50M': {'budget': 4e9}}
tokenizer_args = {}          # train.py overrides per tokenizer
eval_args = {}               # eval_bpb.py overrides, e.g. {'max_docs_per_lang': 200}: the study's
                             # eval set, scored on every run, read by the analysis (--eval_args)
secondary_eval_sets = {}     # {name: eval_bpb.py settings (files, flores_dir, a split; +'note')}:
                             # every run is scored on each too (eval_bpb.py's defaults under the
                             # set's own settings, not eval_args); the scale analysis ranks each
                             # apart, labelled secondary (uniscale/eval_set_analysis.py)
lm_eval_tasks = []           # downstream.py (lm-eval) tasks for every trained run, after eval_bpb.py; [] = none
only = []                    # filters: patterns over presets, tokenizers and seeds ('s1'); alternatives within a kind,
                             # all kinds at once: --only=apertus-50M,apertus-100M,bpe-*,s1
dry_run = False              # print the runs and commands, run nothing
launcher = 'local'           # 'local' (here, one run after another) | 'slurm' (write + submit sbatch array scripts)
num_gpus = 1                 # per node; > 1 launches train.py through torchrun
parallel = 1                 # local runs at once, for CPUs (2 tiny runs on 2 cores); their output goes to files
analysis = 'scale'           # after the grid: 'scale' | 'ab' (correlate.py over the grid's runs) | '' (none)
analysis_dir = 'out/analysis'
analysis_args = {}           # correlate.py overrides, e.g. {'agree_target': {'spearman': 0.9}, 'extrapolate_to': [7e9]}
python = ''                  # the interpreter for every command; '' = the one running sweep.py
sweep_dir = 'out/sweep'      # sbatch scripts and SLURM logs
slurm_nodes = {}             # nodes per preset (default 1), e.g. {'apertus-1B': 2}
slurm_time = '24:00:00'
slurm_eval_time = '04:00:00'  # each evaluation array task (eval_bpb.py, then downstream.py) on one GPU
slurm_signal_s = 300         # SLURM signals the runs this long before the time limit: they checkpoint, then requeue
slurm_partition = ''
slurm_account = ''
slurm_cpus_per_task = 16
slurm_max_parallel = 0       # array tasks running at once; 0 = no limit
slurm_setup = []             # shell lines before the runs, e.g. ['source .venv/bin/activate']
slurm_extra = []             # extra '#SBATCH ...' lines
preflight = False            # measure each distinct configuration here (memory, tok/s, MFU, GPU-hours): uniscale/preflight_check.py
preflight_warmup = 2         # untimed optimizer steps per configuration (torch.compile happens in the first)
preflight_steps = 3          # timed optimizer steps per configuration
assume_mfu = 0.4             # --dry_run's GPU-hours: train FLOPs / (assume_mfu x gpu_peak_flops)
gpu_peak_flops = 989e12      # FLOP/s of one GPU (H100 bf16 dense)
assume_bytes_per_token = {}  # --dry_run before shards: {tokenizer: bytes per token}; else preflight_check's table
# -----------------------------------------------------------------------------
RUN_DIR_KEY = 'run_dir'      # train.py's setting for the run folder
CODE_STATUSES = ('other code', 'code unknown')  # by other code, or code not recorded: never done


# ---------------------------------------------------------------- the grid
def run_name(preset, tokenizer, seed, lr_mult=None, lr_abs=None):
    return f"{preset}_{tokenizer}_s{seed}" + (f"_lr{lr_mult:g}" if lr_mult is not None else '') + (
        f"_abslr{lr_abs:g}" if lr_abs is not None else '')


def expand_grid(cfg):
    """Every run of the grid, in order (preset, tokenizer, seed), then the lr scan's runs (lr_mult: the multiplier
    of the run's lr; None for an absolute lr, lr_abs), filtered by cfg['only']."""
    grid = []
    for p, t, s in itertools.product(cfg['presets'], cfg['tokenizers'], cfg['seeds']):
        name = run_name(p, t, s)
        grid.append(dict(preset=p, tokenizer=t, seed=s, run=name, dir=os.path.join(cfg['runs_dir'], name)))
    if cfg['lr_scan'] and cfg['presets'] and cfg['seeds']:
        from uniscale.preflight_check import smallest_preset  # the model's shapes: only for a scan
        p, s = smallest_preset(tuple(cfg['presets'])), cfg['seeds'][0]
        for m, t in itertools.product(scan_multipliers(cfg), cfg['tokenizers']):
            name = run_name(p, t, s, m)
            grid.append(dict(preset=p, tokenizer=t, seed=s, lr_mult=m, run=name,
                             dir=os.path.join(cfg['runs_dir'], name)))
        grid += scan_absolute_runs(cfg, p, s)
    if len({r['run'] for r in grid}) != len(grid):
        raise SystemExit("sweep: the grid names a run twice; remove duplicates from presets, tokenizers, seeds or "
                         "lr_scan")
    chosen = parse_filters(cfg['only'], cfg)
    return [r for r in grid if all(any(fnmatch.fnmatchcase(kind_value(r, k), p) for p in pats)
                                   for k, pats in chosen.items())]


ABSOLUTE = 'lr='              # an lr_scan entry 'lr=1e-5' is an absolute lr; a number, a multiplier


def scan_choices(cfg):
    """(multipliers but 1 (the grid's own run), absolute lrs) of lr_scan: a number m is m x each
    run's lr, 'lr=1e-5' the lr 1e-5 for every tokenizer; anything else is a one-line error."""
    listed = cfg['lr_scan'] if isinstance(cfg['lr_scan'], (list, tuple)) else [cfg['lr_scan']]
    example = "give a list, e.g. lr_scan=[0.5, 2.0, 'lr=1e-5'] (1 is the grid's own run)"
    mults, lrs = [], []
    for x in listed:
        v = absolute_lr(x) if isinstance(x, str) and x.startswith(ABSOLUTE) else x
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < math.inf:
            raise SystemExit(f"sweep: lr_scan={cfg['lr_scan']!r}: {x!r} is not a positive "
                             f"multiplier of the runs' lr nor '{ABSOLUTE}<positive lr>'; {example}")
        (lrs if isinstance(x, str) else mults).append(float(v))
    if listed is not cfg['lr_scan']:
        raise SystemExit(f"sweep: lr_scan={cfg['lr_scan']!r}: not a list; {example}")
    if (mults or lrs) and cfg['analysis'] == 'ab':
        raise SystemExit("sweep: lr_scan is the scale study's check (analysis='scale'); the A/B "
                         "analysis does not read it: set lr_scan=[] or analysis='scale'")
    return [m for m in mults if m != 1], lrs


def absolute_lr(entry):
    """'lr=1e-5' -> 1e-5; None where the rest is not a number."""
    try:
        return float(entry[len(ABSOLUTE):])
    except ValueError:
        return None


def scan_multipliers(cfg):
    return scan_choices(cfg)[0]


def scan_absolute_runs(cfg, preset, seed):
    """lr_scan's absolute lrs at (preset, seed): every tokenizer at each. lr_mult None marks them
    scan runs (as the multiplier runs are); an lr that is a tokenizer's grid lr or one of its
    multiplier runs' (to the analysis's 6 significant digits) would be one run twice: a one-line
    error."""
    mults, lrs = scan_choices(cfg)
    if not lrs:
        return []
    from uniscale.lr_scan_analysis import lr_key  # how the analysis tells two lrs apart
    runs = []
    for t in cfg['tokenizers']:
        run = dict(preset=preset, tokenizer=t, seed=seed)
        base = grid_lr({**run, 'dir': run_name(preset, t, seed)}, cfg)  # a folder: not the lr
        taken = {lr_key(base): 'its grid run', **{lr_key(m * base): f"x{m:g}" for m in mults}}
        for lr in lrs:
            if lr_key(lr) in taken:
                raise SystemExit(f"sweep: lr_scan 'lr={lr:g}' is {t}'s lr at "
                                 f"{taken[lr_key(lr)]} ({base:g} x {lr_key(lr / base):g}): one run "
                                 f"twice; drop one from lr_scan")
            name = run_name(preset, t, seed, lr_abs=lr)
            runs.append(dict(run, lr_mult=None, lr_abs=lr, run=name,
                             dir=os.path.join(cfg['runs_dir'], name)))
    return runs


def grid_lr(run, cfg):
    """The lr train.py trains the grid's run of this (preset, tokenizer, seed) with: its defaults, the base config,
    then the sweep's overrides."""
    import train  # its defaults: only when the lr scan needs them
    base = {k: v for k, v in run.items() if k not in ('lr_mult', 'lr_abs')}
    return configurator.configure(configurator.defaults(train), train_command(base, cfg)[1:])['lr']


def kind_value(run, kind):
    return f"s{run['seed']}" if kind == 'seed' else str(run[kind])


def parse_filters(only, cfg):
    """{kind: [patterns]} from --only: a pattern goes to each kind (preset, tokenizer, seed) it matches a value of."""
    values = {'preset': cfg['presets'], 'tokenizer': cfg['tokenizers'], 'seed': [f's{s}' for s in cfg['seeds']]}
    chosen = {}
    for pat in only:
        kinds = [k for k, vals in values.items() if any(fnmatch.fnmatchcase(str(v), str(pat)) for v in vals)]
        if not kinds:
            raise SystemExit(f"sweep: --only pattern {pat!r} matches no preset {values['preset']}, tokenizer "
                             f"{values['tokenizer']} or seed {values['seed']}")
        for k in kinds:
            chosen.setdefault(k, []).append(str(pat))
    return chosen


def eval_file(cfg):
    """What eval_bpb.py writes: eval.json for the test split, eval_{split}.json for another."""
    return os.path.basename(eval_path('', cfg['eval_args'].get('split', 'test')))


def eval_settings(cfg):
    """eval_bpb.py's settings for this sweep's evaluations: its defaults under the sweep's eval_args."""
    import eval_bpb  # torch and the model: only once a run folder must be judged
    return {**configurator.defaults(eval_bpb), **cfg['eval_args']}


def secondary_settings(cfg):
    """eval_bpb.py's settings for each secondary eval set: its defaults under the set's own
    settings (its note is for the report)."""
    import eval_bpb
    sets = eval_sets.checked_secondary(cfg['secondary_eval_sets'])
    for name, v in sets.items():
        try:  # the text must be here before a run can be called scored on it
            eval_sets.set_paths(v) if eval_sets.is_external(v) else None
        except SystemExit as e:
            raise SystemExit(f"sweep: secondary_eval_sets[{name!r}]: {e}; make that text first "
                             f"(the study's config says how) or fix its path") from None
    base = configurator.defaults(eval_bpb)
    return [{**base, **eval_sets.eval_settings(v)} for v in sets.values()]


def identity_changes(run, cfg):
    """What differs between the run's checkpoint and what the sweep would train now: a setting (train.py's own
    comparison), the tokenizer's content, or the content of its train/val shards; [] when the run is what the
    sweep asks for."""
    import train  # torch: only once a run folder must be judged
    request = configurator.configure(configurator.defaults(train), train_command(run, cfg)[1:])
    ckpt = load_checkpoint(run['dir'], mmap=True)
    changed = train.changed_settings(ckpt, request) if 'request' in ckpt else []
    trained = ckpt.get('config', {})
    meta = read_json(os.path.join(request['tokenizer'], 'meta.json'), default={})
    meta = meta if isinstance(meta, dict) else {}
    if trained.get('tokenizer_hash') and meta.get('hash') and meta['hash'] != trained['tokenizer_hash']:
        changed.append(f"tokenizer {request['tokenizer']} hash {trained['tokenizer_hash'][:12]} (now "
                       f"{meta['hash'][:12]}: retrained or replaced)")
    rebuilt = corpus_rebuilt(trained, os.path.join(request['out_dir'], 'corpus'))
    if rebuilt:
        changed.append(rebuilt + ': its test split may hold its training text')
    if trained.get('inputs') and meta.get('name'):
        tokens_dir = train.tokens_dir_for(request, meta['name'])
        for split in ('train', 'val'):
            sidecar = read_json(os.path.join(tokens_dir, f'{split}.json'), default=None)
            if isinstance(sidecar, dict) and train.data_identity(sidecar) != trained['inputs'].get(split):
                changed.append(f"{split} shards in {tokens_dir} (encoded again from other text or by another "
                               f"tokenizer)")
    return changed


def run_status(run, cfg):
    """'done' (finished, and its eval file scored that checkpoint with the sweep's eval settings,
    eval code and lm_eval_tasks), 'evaluate' (finished, its eval file missing, from another
    checkpoint, settings or eval code, or without a task), 'resume' (an unfinished checkpoint),
    'todo', 'changed' (its checkpoint was trained with other settings or inputs than the sweep asks
    for now: run['why'] says which; the grid stops rather than retrain over it), or, by its training
    code (uniscale/code_identity.py): 'other code' / 'code unknown' (the grid stops and offers
    code_changes), 'retrain' (code_changes='retrain': moved aside, then trained). With
    code_changes='keep' such a run goes on as 'done', 'evaluate' or 'resume'. A checkpoint's flag,
    not a file's age, says whether a run is finished."""
    state = run_state(run['dir'])
    if state is None:
        return 'todo'
    changes = identity_changes(run, cfg)
    what = 'finished' if state['finished'] else f"checkpointed at step {state['step']}"
    if changes:
        run['why'] = (f"{run['run']}: {what} with other settings or inputs than this sweep asks for: "
                      f"{'; '.join(changes[:3])}{f' (+{len(changes) - 3} more)' if len(changes) > 3 else ''}; "
                      f"it would have to be retrained: give these settings their own runs_dir, or delete "
                      f"{run['dir']} to retrain it")
        return 'changed'
    change = code_change(read_run_config(run['dir']), code_identity('train'))
    if change and cfg['code_changes'] == 'retrain':
        return 'retrain'
    if change and cfg['code_changes'] != 'keep':
        run['why'] = f"{run['run']}: {what} by {change}"
        return 'other code' if change.startswith('other') else 'code unknown'
    run['keep'] = bool(change)  # code_changes='keep': recorded in config.json when the sweep runs
    if not state['finished']:
        return 'resume'
    keep = cfg['code_changes'] == 'keep'  # an evaluation by other eval code stays too
    if not eval_is_current(run['dir'], eval_settings(cfg), keep_eval_code=keep):
        return 'evaluate'
    if not all(eval_sets.is_current(run['dir'], s, keep) for s in secondary_settings(cfg)):
        return 'evaluate'  # scored on the primary set, not yet on every secondary one
    import downstream  # its own test of 'these tasks were scored on this checkpoint' (lm-eval loads only to run)
    split = cfg['eval_args'].get('split', 'test')
    return 'done' if downstream.already_done(run['dir'], split, state, cfg['lm_eval_tasks']) else 'evaluate'


def code_problem(runs, cfg):
    """One line for the runs computed by other code or by code not recorded ([] when none): what
    differs, and the two settings that go on."""
    odd = [r for r in runs if r['status'] in CODE_STATUSES]
    if not odd:
        return []
    shown = '; '.join(r['why'] for r in odd[:3]) + (f" (+{len(odd) - 3} more)" * (len(odd) > 3))
    aside = os.path.join(cfg['runs_dir'], '.replaced')
    return [f"{len(odd)} run(s) were not computed by this code ({shown}); set "
            f"code_changes='retrain' to train them again (each old run moves to {aside}/, nothing "
            f"is lost) or code_changes='keep' to count their results as this code's (recorded in "
            f"their config.json)"]


def before_launch(runs, cfg):
    """Once the grid may start (never in a dry run): what code_changes asked for ('retrain' moves
    each run aside, then trained as 'todo'; 'keep' records the choice in each finished run's
    config.json, a resumed one records its code_history itself), and a tokenizer folder that moved
    (the same hash under tokenizers_dir) recorded where its runs' evaluations look for it."""
    now = code_identity('train')
    for r in runs:
        if r['status'] in ('done', 'evaluate', 'resume'):  # a moved tokenizers_dir: found again
            relocate_tokenizer(r['dir'], os.path.join(cfg['tokenizers_dir'], r['tokenizer']))
        if r['status'] == 'retrain':
            print(f"{r['run']}: moved to {move_aside(r['dir'])} (code_changes='retrain')")
            r['status'] = 'todo'
        elif r.get('keep') and r['status'] != 'resume':
            keep_code(r['dir'], now, load_checkpoint(r['dir'], mmap=True).get('config', {}))


def grid_problems(runs, cfg):
    """Why runs of the grid that still need training cannot start (an unknown preset; a tokenizer or shards that do
    not exist, named with the commands that make them), each reason once; the runs are marked 'blocked'. Checked for
    the whole grid before anything is launched; a dry run lists them and goes on (cost before data)."""
    from model import PRESETS
    from uniscale import preflight_check  # train.py's config and the shard reader: only once runs must be checked
    problems, seen = [r['why'] for r in runs if r['status'] == 'changed'], {}
    for r in runs:
        if r['status'] in ('done', 'evaluate', 'changed') + CODE_STATUSES:
            continue
        if r['preset'] not in PRESETS:
            why = f"unknown preset {r['preset']!r} (presets); choose from {', '.join(PRESETS)}"
            r['needs'] = 'config'  # making inputs cannot fix it
        else:
            rc = preflight_check.run_config(train_command(r, cfg)[1:])
            key = (rc['tokenizer'], rc['tokens_dir'], rc['out_dir'], rc['corpus'])
            if key not in seen:
                seen[key] = preflight_check.find_inputs(rc)[2]
            why = seen[key]
        if why:
            r['status'] = 'blocked'
            problems += [why] if why not in problems else []
    return problems


def overrides(d):
    return [f"--{k}={v}" for k, v in d.items()]


def run_args(run, cfg):
    """The train.py overrides of one run beyond preset, tokenizer, seed and folder (where budgets live); an lr scan
    run's lr is its multiplier times the grid's run's (12 significant digits, so the command reads
    plainly), or its absolute lr."""
    args = {**cfg['train_args'], **cfg['preset_args'].get(run['preset'], {}),
            **cfg['tokenizer_args'].get(run['tokenizer'], {})}
    if run.get('lr_mult') is not None:
        args['lr'] = float(f"{run['lr_mult'] * grid_lr(run, cfg):.12g}")
    elif run.get('lr_abs') is not None:
        args['lr'] = float(run['lr_abs'])
    return args


def train_command(run, cfg, resume=False):
    base = [cfg['base_config']] if cfg['base_config'] else []
    return (['train.py'] + base + [f"--preset={run['preset']}",
            f"--tokenizer={os.path.join(cfg['tokenizers_dir'], run['tokenizer'])}", f"--seed={run['seed']}",
            f"--{RUN_DIR_KEY}={run['dir']}"] + overrides(run_args(run, cfg)) +
            (['--init_from=resume'] if resume else []) +
            (['--code_changes=keep'] if run.get('keep') else []))


def eval_command(dirs, cfg, settings=None):
    """eval_bpb.py over dirs on the study's primary set (eval_args), or on a secondary set's
    settings."""
    arg = f"--run={dirs[0]}" if len(dirs) == 1 else f"--runs={','.join(dirs)}"
    return ['eval_bpb.py', arg] + overrides(cfg['eval_args'] if settings is None else settings)


def eval_commands(dirs, cfg):
    """The primary set's eval_bpb.py command, then each secondary set's (each skips runs already
    scored on it)."""
    return [eval_command(dirs, cfg)] + [eval_command(dirs, cfg, eval_sets.eval_settings(v))
                                        for v in cfg['secondary_eval_sets'].values()]


def downstream_command(dirs, cfg):
    """downstream.py over dirs with the sweep's lm_eval_tasks (it skips runs already scored); None without tasks."""
    if not cfg['lm_eval_tasks'] or not dirs:
        return None
    shared = {k: v for k, v in cfg['eval_args'].items() if k in ('split', 'corpus', 'corpus_dir', 'max_docs_per_lang')}
    arg = f"--run={dirs[0]}" if len(dirs) == 1 else f"--runs={','.join(dirs)}"
    return ['downstream.py', arg, f"--tasks={list(cfg['lm_eval_tasks'])}"] + overrides(shared)


def analysis_command(cfg):
    """correlate.py over every run of the grid, filters or not: the study's report covers all that exists. The lr
    scan's runs go apart (--lr_scan_runs): pooled with the grid's they would be other cells of one name."""
    if not cfg['analysis']:
        return None
    if cfg['analysis'] not in ('scale', 'ab'):
        raise SystemExit(f"sweep: analysis must be 'scale', 'ab' or '', got {cfg['analysis']!r}")
    split = [f"--split={cfg['eval_args']['split']}"] if 'split' in cfg['eval_args'] else []
    # the study's eval set (what eval_command scores): the analysis reads each run's entry of it
    study = {k: v for k, v in cfg['eval_args'].items() if k in EVAL_SET_SETTINGS and k != 'split'}
    split += [f"--eval_args={study}"] if study else []
    if cfg['secondary_eval_sets'] and cfg['analysis'] == 'scale':
        split += [f"--secondary_eval_sets={cfg['secondary_eval_sets']}"]
    runs = expand_grid({**cfg, 'only': []})
    scan = [r['dir'] for r in runs if 'lr_mult' in r]
    return ['correlate.py', cfg['analysis'], f"--runs={','.join(r['dir'] for r in runs if 'lr_mult' not in r)}",
            f"--name={cfg['name']}", f"--analysis_dir={cfg['analysis_dir']}"] + split + (
        [f"--lr_scan_runs={','.join(scan)}"] if scan else []) + (
        [f"--lr_scan_abs={scan_choices(cfg)[1]}"] if scan and scan_choices(cfg)[1] else []) + (
        overrides(cfg['analysis_args'])) + (
        ['--code_changes=keep'] if cfg['code_changes'] == 'keep' else []) + (
        [f"--base_tokenizer={cfg['tokenizers'][0]}"] if cfg['analysis'] == 'ab' else []) + (
        ['--allow_missing=True'] if cfg['only'] else [])  # a slice: the rest of the grid may not exist yet (the
                                                            # report's first lines list what it left out)


def launch_prefix(cfg, python):
    if cfg['num_gpus'] > 1:
        return [python, '-m', 'torch.distributed.run', '--standalone', f"--nproc_per_node={cfg['num_gpus']}"]
    return [python]


def analysis_is_current(cfg):
    """True when summary.json was computed from exactly what correlate.py would read now, with the same settings
    (its analysis_id: the grid's runs, the bytes of their files, the analysis settings; never file times)."""
    import correlate
    summary = read_json(os.path.join(cfg['analysis_dir'], cfg['name'], 'summary.json'), default=None)
    if not isinstance(summary, dict) or 'analysis_id' not in summary:
        return False
    ccfg = correlate.checked_config(configurator.configure(configurator.defaults(correlate), analysis_command(cfg)[1:]))
    return summary['analysis_id'] == correlate.analysis_identity(ccfg)['analysis_id']


# ---------------------------------------------------------------- local launcher (uniscale/local_launch.py)
def run_local(runs, cfg, python, runner):
    """Train what is missing, evaluate what was trained, then analyse the grid; finished runs cost nothing."""
    todo = [r for r in runs if r['status'] != 'done']
    k = cfg['parallel']

    def log(path):  # one process at a time writes to the console; several write to files
        return path if k > 1 else None
    failed = run_jobs([(r['run'], launch_prefix(cfg, python) + train_command(r, cfg, r['status'] == 'resume'),
                        log(os.path.join(r['dir'], 'sweep.log'))) for r in todo if r['status'] != 'evaluate'],
                      cfg, runner)
    trained = [r['dir'] for r in todo if r['run'] not in failed]
    chunks = [trained[i::k] for i in range(k) if trained[i::k]]  # eval_bpb.py takes several runs per process
    logs = lambda i, j: log(os.path.join(cfg['sweep_dir'],  # one per job: they run at once
                                         f"{cfg['name']}_eval{i}{f'_{j}' if j else ''}.log"))
    if run_jobs([(f"eval_bpb.py on {len(c)} run(s)", [python] + cmd, logs(i, j))
                 for i, c in enumerate(chunks) for j, cmd in enumerate(eval_commands(c, cfg))],
                cfg, runner):
        raise SystemExit("sweep: eval_bpb.py failed; re-run the same command to see why (trained runs are kept)")
    down = downstream_command([r['dir'] for r in runs if r['run'] not in failed
                               and os.path.isfile(os.path.join(r['dir'], 'ckpt.pt'))], cfg)
    down_log = log(os.path.join(cfg['sweep_dir'], f"{cfg['name']}_lm_eval.log"))
    if down and run_jobs([("downstream.py", [python] + down, down_log)], cfg, runner):
        raise SystemExit("sweep: downstream.py (lm-eval) failed; re-run the same command to see why")
    cmd = analysis_command(cfg)
    if cmd and (trained or not analysis_is_current(cfg)):
        cmd = [python] + cmd
        print(f"$ {shlex.join(cmd)}", flush=True)
        if runner(cmd)[0]:
            raise SystemExit(f"sweep: the analysis failed; re-run `{shlex.join(cmd)}` to see why")
    elif cmd:
        print(f"{cfg['analysis_dir']}/{cfg['name']}: current (same analysis_id), nothing to do")
    if failed:
        raise SystemExit(f"sweep: {len(failed)} run(s) failed: {', '.join(failed)}; fix and re-run the same command "
                         f"(finished runs are skipped)")


# ---------------------------------------------------------------- SLURM launcher (uniscale/slurm_launch.py)
def slurm_task(run, cfg):
    """(label, run folder, train argv, [eval argv, downstream argv]) of one array task."""
    down = downstream_command([run['dir']], cfg)
    evals = eval_commands([run['dir']], cfg) + ([down] if down else [])
    return run['run'], run['dir'], train_command(run, cfg), evals


def run_slurm(runs, cfg, python, runner):
    """Per node count, a training array and its evaluation array (one GPU per task, task i after training task i);
    runs that only need evaluating, an evaluation array alone (node count 0): no training allocation waits on an
    evaluation. Submitted with the analysis after the evaluations when sbatch exists. [(training or None, eval)]."""
    groups = {}
    for r in runs:
        if r['status'] != 'done':
            nodes = 0 if r['status'] == 'evaluate' else int(cfg['slurm_nodes'].get(r['preset'], 1))
            groups.setdefault(nodes, []).append(slurm_task(r, cfg))
    arrays = slurm_launch.write_arrays(groups, cfg, python)
    analysis = analysis_command(cfg)
    slurm_launch.submit(arrays, shlex.join([python] + analysis) if analysis else None, cfg, runner)
    return arrays


# ---------------------------------------------------------------- main
def print_plan(runs, cfg, python):
    if cfg['dry_run']:
        from model import PRESETS
        from uniscale import preflight_check  # torch and the model: only for the dry run's FLOPs
        planned = []
    statuses = ('done', 'evaluate', 'resume', 'todo', 'blocked', 'changed', 'retrain') + CODE_STATUSES
    counts = {s: sum(r['status'] == s for r in runs) for s in statuses}
    scanned = [r for r in runs if 'lr_mult' in r]
    mults, lrs = scan_choices(cfg)
    choices = [f"x{m:g}" for m in mults] + [f"{x:g} (absolute)" for x in lrs]
    scan = (f" + {len(scanned)} lr-scan runs at {scanned[0]['preset']}, seed {scanned[0]['seed']} (lr "
            f"{', '.join(choices)})" if scanned else '')
    print(f"sweep {cfg['name']}: {len(runs)} runs ({len(cfg['presets'])} presets x {len(cfg['tokenizers'])} tokenizers "
          f"x {len(cfg['seeds'])} seeds{scan}"
          + f"{', filtered by ' + ','.join(map(str, cfg['only'])) if cfg['only'] else ''}): "
          f"{counts['done']} done, {counts['evaluate']} to evaluate, {counts['resume']} to resume, "
          f"{counts['todo']} to train" + (f", {counts['blocked']} blocked" if counts['blocked'] else '')
          + (f", {counts['changed']} changed (trained with other settings or inputs)" if counts['changed'] else '')
          + ''.join(f", {counts[s]} {s}" for s in ('retrain',) + CODE_STATUSES if counts[s]))
    for r in runs:
        budget = ' '.join(f"{k}={v}" for k, v in run_args(r, cfg).items())
        print(f"  {r['status']:8s}  {r['run']:40s}  {budget}")
        if cfg['dry_run'] and r['status'] not in ('done', 'evaluate', 'changed') + CODE_STATUSES:
            train = launch_prefix(cfg, python) + train_command(r, cfg, r['status'] == 'resume')
            print(f"          $ {shlex.join(train)}")
            for cmd in eval_commands([r['dir']], cfg):
                print(f"          $ {shlex.join([python] + cmd)}")
        if cfg['dry_run']:
            cost = (preflight_check.planned_cost(train_command(r, cfg)[1:], cfg) if r['preset'] in PRESETS else
                    f"unknown preset {r['preset']!r}")
            planned.append((r, cost))
            print(f"          {preflight_check.describe_cost(cost)}")
    cmd = analysis_command(cfg)
    if cfg['dry_run'] and cmd:
        print(f"then: $ {shlex.join([python] + cmd)}")
    if cfg['dry_run']:
        print('\n'.join(preflight_check.describe_plan_cost(planned, cfg)))


def main(cfg, runner=run_command):
    python = cfg['python'] or sys.executable
    if cfg['launcher'] not in ('local', 'slurm'):
        raise SystemExit(f"sweep: launcher must be 'local' or 'slurm', got {cfg['launcher']!r}")
    if cfg['code_changes'] not in ('', 'keep', 'retrain'):
        raise SystemExit(f"sweep: code_changes must be '', 'keep' or 'retrain', got "
                         f"{cfg['code_changes']!r}")
    runs = expand_grid(cfg)
    if not runs:
        raise SystemExit("sweep: no run left after the filters (--only); check the patterns")
    if cfg['preflight']:
        from uniscale import preflight_check  # torch and the model: only when asked
        return preflight_check.run_preflight([(r, train_command(r, cfg)[1:]) for r in runs], cfg)
    for r in runs:
        r['status'] = run_status(r, cfg)
    problems = grid_problems(runs, cfg) + code_problem(runs, cfg)
    print_plan(runs, cfg, python)
    stops = ('changed',) + CODE_STATUSES  # making inputs cannot fix these
    inputs_only = not any(r['status'] in stops or r.get('needs') == 'config' for r in runs)
    if problems and not (cfg['dry_run'] and inputs_only):  # nothing is launched (or written) while any run of the
        raise SystemExit(f"sweep {cfg['name']}: {len(problems)} problem(s) stop the grid before anything is launched:\n"
                         + '\n'.join(f"  {p}" for p in problems))  # grid cannot start
    if problems:  # a dry run before the data: the plan and its cost stand; these inputs come first
        print(f"blocked: {sum(r['status'] == 'blocked' for r in runs)} run(s) wait for inputs that do not exist yet; "
              f"make them, then run the sweep:\n" + '\n'.join(f"  blocked: {p}" for p in problems))
    if cfg['launcher'] == 'slurm':
        if not cfg['dry_run']:
            before_launch(runs, cfg)
        return run_slurm(runs, cfg, python, runner)
    if not cfg['dry_run']:
        with locks.hold(cfg['sweep_dir'], f"sweep {cfg['name']}", name=f".{cfg['name']}.lock"):
            before_launch(runs, cfg)
            previous = {sig: signal.signal(sig, stop_jobs) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                run_local(runs, cfg, python, runner)
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
    return runs


if __name__ == '__main__':
    atomic.set_output_setting('--sweep_dir')  # a failed write's advice names it
    main(configurator.configure(globals()))
