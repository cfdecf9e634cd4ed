"""
Downstream tasks of trained runs with EleutherAI's lm-evaluation-harness, written into each run's eval.json as
tasks.{task}.{metric}, so correlate.py ranks tokenizers by them (--metric=tasks.belebele_eng_Latn.acc_norm).

    python downstream.py --run=out/runs/X --tasks=uniscale_demo_mc,uniscale_bpb           # local tasks: offline
    python downstream.py --runs='out/runs/*' --tasks=belebele_eng_Latn,xnli_en,hellaswag   # hub tasks: online

Each run is exported (export_hf.py, to {hf_dir}/{run}) and scored by lm-eval's HFLM with one change, UniscaleLM
(lm-eval model name 'uniscale'): every request is scored after exactly one BOS, as eval_bpb.py scores it. No
tokenizer setting gets that from lm-eval 0.4.x's plain `hf` model: a loglikelihood_rolling request is
prefix_token_id (the BOS) + whatever the tokenizer adds, so add_bos_token=True gives two BOS; a multiple-choice
context gets only what the tokenizer adds, so without it there is no BOS. UniscaleLM's tokenizer calls add
nothing, a multiple-choice context is BOS + context, and the choice is encoded on its own (as eval_bpb.py does: the
choice's tokens are its own text's, also for BTM, whose tokens span words; a context's trailing whitespace stays in
the context). On the same items rolling bits_per_byte equals eval_bpb.py's bpb, acc its acc and acc_bytes its
acc_norm (lm-eval's own acc_norm divides by characters, not bytes): tests/test_downstream.py checks all three.
It computes as eval_bpb.py does: `dtype` '' = bf16 autocast on a GPU (fp32 weights, fp32 log-softmax, TF32 for the
fp32 matmuls), float32 on CPU; under autocast bits_per_byte equals eval_bpb.py's bpb to bf16's tolerance (tested).

Local tasks live in tasks/lm_eval/*.yaml: uniscale_demo_mc (tasks/demo_mc.jsonl) and uniscale_bpb (the run's
{corpus_dir}/{corpus}/{split}.jsonl, the documents eval_bpb.py scores). Hub tasks need the Hugging Face hub; offline
they stop with a one-line error. The results are merged into the run's eval file (eval_bpb.py must have scored the
same checkpoint of the same run first: its step and run_id), atomically and under the run's eval lock
(uniscale/eval_file.py), keeping every other field; its `lm_eval` entry records the lm-eval version, the invocation,
`scored` ({task: checkpoint step}) and `scored_run_id` ({task: run_id}). A task counts as scored only for the same
step and run_id; eval_bpb.py scoring again keeps these results. lm-eval's own CLI loads the same exports (add
trust_remote_code=True for BTM) but its `hf` model scores multiple-choice contexts without the BOS, so its
accuracies are not these.
"""
import json
import os
import shutil
import tempfile
import time

import configurator
from uniscale import atomic
from uniscale import eval_file, identity
from uniscale.run_folder import (checkpoint_state, eval_path, find_runs, load_checkpoint, read_run_config,
                                 refuse_unfinished, run_name, split_path, split_sha256)
from uniscale.splits import read_docs

# -----------------------------------------------------------------------------
# defaults (override with config/*.py or --key=value)
run = ''                     # one run folder, e.g. out/runs/apertus-50M_bpe-80k_s1
runs = []                    # several run folders, globs allowed: --runs='out/runs/*'
tasks = []                   # lm-eval task or group names, e.g. ['belebele_eng_Latn', 'xnli_en', 'uniscale_bpb']
task_dir = 'tasks/lm_eval'   # local task YAMLs (lm-eval's include_path)
hf_dir = 'out/hf'            # each run is exported to {hf_dir}/{run}
split = 'test'               # the eval file to merge into (eval.json for test), and uniscale_bpb's documents
corpus = ''                  # '' = the run's corpus, for uniscale_bpb
corpus_dir = 'out/corpus'
max_docs_per_lang = 0        # uniscale_bpb: the first N documents of each language, as eval_bpb.py's setting
num_fewshot = 0
limit = 0                    # examples per task; 0 = all (a limited evaluation is recorded as such)
batch_size = 16
device = ''                  # '' = cuda when available, else cpu
dtype = ''                   # compute dtype, as eval_bpb.py's: '' = bfloat16 autocast on cuda (fp32 weights, TF32 for
                             # what stays fp32), float32 on cpu; 'float32' | 'bfloat16' (autocast) to choose
bootstrap_iters = 1000       # lm-eval's bootstrap for the stderr of non-mean metrics (0 = none)
force = False                # re-run tasks already in the eval file for this checkpoint
allow_unfinished = False     # score a checkpoint that is not the run's last
# -----------------------------------------------------------------------------
LOCAL_ROLLING = 'uniscale_bpb'  # the task whose documents are the run's split


def lm_class():
    """UniscaleLM: lm-eval's HFLM, each request scored after exactly one BOS (see the docstring)."""
    from lm_eval.api.registry import model_registry, register_model
    from lm_eval.models.huggingface import HFLM

    class UniscaleLM(HFLM):
        def tok_encode(self, string, add_special_tokens=None, left_truncate_len=None, **kwargs):
            ids = self.tokenizer.encode(string, add_special_tokens=False)
            return ids[-left_truncate_len:] if left_truncate_len else ids

        def _encode_pair(self, context, continuation):
            return [self.prefix_token_id] + self.tok_encode(context), self.tok_encode(continuation)

    if 'uniscale' not in getattr(model_registry, '_objs', {}):
        try:
            register_model('uniscale')(UniscaleLM)
        except (AssertionError, ValueError, KeyError):  # registered already by an earlier import
            pass
    return UniscaleLM


def model_args(cfg):
    """lm-eval's HFLM arguments for the compute dtype (lm-eval's --model_args names): fp32 weights, bf16 autocast
    around each forward when the dtype is bfloat16 (as eval_bpb.py scores on a GPU), the log-softmax in fp32 (as
    eval_bpb.py's cross-entropy on logits.float()). Not dtype=bfloat16: bf16 weights are not eval_bpb.py's numbers."""
    from uniscale import hardware
    _, dt = hardware.resolve(cfg['device'], cfg['dtype'])
    return {'dtype': 'float32', 'softmax_dtype': 'float32',
            **({'mixed_precision_dtype': 'bfloat16'} if dt == 'bfloat16' else {})}


def make_lm(hf_path, cfg):
    import torch

    from uniscale import hardware
    dev, _ = hardware.resolve(cfg['device'], cfg['dtype'])
    if dev.startswith('cuda'):  # the fp32 matmuls autocast leaves (or all of them, dtype float32) on tensor cores
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    lm = lm_class()(pretrained=hf_path, backend='causal', trust_remote_code=True, batch_size=cfg['batch_size'],
                    device=dev, **model_args(cfg))
    if lm.tokenizer.bos_token_id is None:
        raise SystemExit(f"{hf_path}: the tokenizer has no BOS token; re-export the run with export_hf.py")
    return lm


# ---------------------------------------------------------------- tasks
def task_names(cfg):
    names = list(cfg['tasks'])
    if not names:
        raise SystemExit("downstream.py: no tasks; pass --tasks=uniscale_demo_mc,uniscale_bpb (local) or lm-eval "
                         "names such as --tasks=belebele_eng_Latn,xnli_en")
    return names


def task_manager(cfg):
    from lm_eval.tasks import TaskManager
    if not os.path.isdir(cfg['task_dir']):
        raise SystemExit(f"{cfg['task_dir']}: no such folder of local lm-eval tasks; run from the repository root "
                         f"or pass --task_dir")
    local = {os.path.splitext(f)[0] for f in os.listdir(cfg['task_dir']) if f.endswith('.yaml')}
    # indexing lm-eval's ~10k built-in tasks takes ~20 s: skip it when every task is a local one
    return TaskManager(include_path=cfg['task_dir'], include_defaults=not set(task_names(cfg)) <= local)


def rolling_docs(run_dir, run_cfg, cfg, tmp):
    """(the jsonl uniscale_bpb reads, the split's sha256): the split eval_bpb.py scores (its first max_docs_per_lang
    per language), refused as eval_bpb.py refuses it when it was edited after prepare.py."""
    path = split_path(run_dir, run_cfg, cfg)
    sha = identity.file_sha256(path)
    recorded = split_sha256(cfg['corpus_dir'], cfg['corpus'] or run_cfg.get('corpus'), cfg['split'])
    if recorded and recorded != sha:
        raise SystemExit(f"{path}: its sha256 is {sha[:12]} but prepare.py recorded {recorded[:12]} in meta.json: "
                         f"the split was edited after prepare.py; restore it, or run prepare.py "
                         f"with the settings that made it: it names the command that remakes it")
    if not cfg['max_docs_per_lang']:
        return os.path.abspath(path), sha
    out, seen = os.path.join(tmp, 'docs.jsonl'), {}
    with open(out, 'w', encoding='utf-8') as g:
        for _, doc in read_docs(path):  # a bad line is one line naming it, as everywhere
            lang = doc.get('lang', 'und')
            seen[lang] = seen.get(lang, 0) + 1
            if seen[lang] <= cfg['max_docs_per_lang']:
                g.write(json.dumps(doc, ensure_ascii=False) + '\n')
    return out, sha


def task_specs(names, docs_path, cfg):
    """lm-eval task specs: names, and uniscale_bpb as an inline config (its YAML) reading docs_path."""
    import yaml
    specs = []
    for n in names:
        if n == LOCAL_ROLLING:
            with open(os.path.join(cfg['task_dir'], f"{n}.yaml"), encoding='utf-8') as f:
                n = {**yaml.safe_load(f), 'dataset_kwargs': {'data_files': {'test': docs_path}}}
        specs.append(n)
    return specs


def hub_errors():
    """The exceptions a task raises when its data set must come from the hub and cannot."""
    errors = [ConnectionError]
    try:
        from datasets.exceptions import DatasetNotFoundError
        errors.append(DatasetNotFoundError)
    except ImportError:
        pass
    try:
        from huggingface_hub.errors import LocalEntryNotFoundError
        errors.append(LocalEntryNotFoundError)
    except ImportError:
        pass
    return tuple(errors)


def failing_task(specs, manager):
    """The first spec whose data cannot be loaded (only asked once an evaluation failed)."""
    for spec in specs:
        try:
            manager.load([spec])
        except Exception:
            return spec['task'] if isinstance(spec, dict) else spec
    return None


def lm_eval_results(lm, specs, manager, cfg):
    import lm_eval
    known = set(manager.all_tasks)
    unknown = [s for s in specs if isinstance(s, str) and s not in known]
    if unknown:
        raise SystemExit(f"downstream.py: {', '.join(unknown)}: not lm-eval tasks (nor in {cfg['task_dir']}); see "
                         f"`lm_eval ls tasks` for the names")
    try:
        return lm_eval.simple_evaluate(model=lm, tasks=specs, task_manager=manager, num_fewshot=cfg['num_fewshot'],
                                       limit=cfg['limit'] or None, bootstrap_iters=cfg['bootstrap_iters'],
                                       log_samples=False)
    except hub_errors() as e:
        name = failing_task(specs, manager) or 'one of ' + ', '.join(map(str, specs))
        first = str(e).strip().splitlines()[0][:160] if str(e).strip() else e.__class__.__name__
        raise SystemExit(f"lm-eval task {name} needs the Hugging Face hub ({first}); run online or use a local "
                         f"task ({cfg['task_dir']}/*.yaml)") from None


def task_metrics(results):
    """{task: {metric: value}} from lm-eval's results: 'acc,none' -> 'acc' (another filter keeps its name as a
    suffix, 'exact_match_flexible'), stderr 'N/A' -> None, plus n (the examples scored)."""
    out = {}
    n_samples = results.get('n-samples', {})
    for task, res in results['results'].items():
        metrics = {}
        for key, value in res.items():
            if ',' not in key:
                continue
            metric, filt = key.split(',', 1)
            name = metric if filt == 'none' else f"{metric}_{filt}"
            metrics[name] = None if value == 'N/A' else value
        if task in n_samples:
            metrics['n'] = n_samples[task].get('effective')
        out[task] = metrics
    return out


# ---------------------------------------------------------------- eval.json
def check_eval(path, ev, run_dir, state):
    """Refuse an eval dict that is missing or scored another checkpoint or another run than `state`'s (the
    checkpoint's step and the run's run_id); the tasks join the scoring they build on."""
    if not ev:
        raise SystemExit(f"{path}: not found; run `python eval_bpb.py --run={run_dir}` first (downstream results "
                         f"join its file)")
    if ev.get('step') != state['step']:
        raise SystemExit(f"{path}: scored step {ev.get('step')}, but the checkpoint is at step {state['step']}; "
                         f"re-run `python eval_bpb.py --run={run_dir} --force=True` first")
    if ev.get('run_id') != state.get('run_id'):
        raise SystemExit(f"{path}: scored run {ev.get('run_id')}, but the run folder now holds run "
                         f"{state.get('run_id')} (retrained with other settings or inputs); re-run "
                         f"`python eval_bpb.py --run={run_dir} --force=True` first")
    return ev


def read_eval(run_dir, split, state):
    """The run's eval file, refused by check_eval."""
    path = eval_path(run_dir, split)
    return check_eval(path, eval_file.read(path), run_dir, state)


def merge_tasks(run_dir, split, state, metrics, record):
    """Add {task: metrics} under tasks, and `record` (version, invocation) under lm_eval with the step and run_id
    each task scored, to the eval file, keeping every other field: read, checked and written under the run's eval
    lock (uniscale/eval_file.py), so an eval_bpb.py writing at the same time loses nothing and is not lost."""
    path = eval_path(run_dir, split)

    def change(ev):
        check_eval(path, ev, run_dir, state)
        old = ev.get('lm_eval') or {}
        scored = {**old.get('scored', {}), **{t: state['step'] for t in metrics}}
        run_ids = {**old.get('scored_run_id', {}), **{t: state.get('run_id') for t in metrics}}
        return {**ev, 'tasks': {**(ev.get('tasks') or {}), **metrics},
                'lm_eval': {**record, 'scored': scored, 'scored_run_id': run_ids}}
    return eval_file.update(path, change, run_dir)


def run_id(run_dir):
    return read_run_config(run_dir).get('run_id')


def already_done(run_dir, split, state, names):
    """True when the eval file scored this checkpoint of this run (step and run_id) and every task in `names` was
    scored by lm-eval on that same checkpoint and run."""
    ev = eval_file.read(eval_path(run_dir, split))
    rid = state['run_id'] if 'run_id' in state else run_id(run_dir)
    lm = ev.get('lm_eval') or {}
    scored, run_ids = lm.get('scored', {}), lm.get('scored_run_id', {})
    return bool(ev) and ev.get('step') == state['step'] and ev.get('run_id') == rid and \
        all(scored.get(n) == state['step'] and run_ids.get(n) == rid for n in names)


# ---------------------------------------------------------------- one run, many runs
def evaluate_run(run_dir, cfg, manager=None):
    """Export one run, score its tasks with lm-eval, merge them into its eval file; returns {task: metrics}."""
    import lm_eval

    import export_hf
    run_cfg = read_run_config(run_dir)
    state = {**checkpoint_state(load_checkpoint(run_dir, mmap=True)), 'run_id': run_cfg.get('run_id')}
    refuse_unfinished(run_dir, state, cfg['allow_unfinished'])
    read_eval(run_dir, cfg['split'], state)  # refuse before the work, not after it
    eval_file.check_writable(eval_path(run_dir, cfg['split']), run_dir)
    names = task_names(cfg)
    manager = manager or task_manager(cfg)
    tmp = tempfile.mkdtemp(prefix='downstream_')
    try:
        docs, docs_sha = rolling_docs(run_dir, run_cfg, cfg, tmp) if LOCAL_ROLLING in names else (None, None)
        hf_path = export_hf.export_run(run_dir, os.path.join(cfg['hf_dir'], run_name(run_dir)))
        t0 = time.time()
        results = lm_eval_results(make_lm(hf_path, cfg), task_specs(names, docs, cfg), manager, cfg)
        seconds = time.time() - t0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    metrics = task_metrics(results)
    from uniscale import hardware
    dev, dt = hardware.resolve(cfg['device'], cfg['dtype'])
    args = ','.join([f"pretrained={hf_path}", 'trust_remote_code=True']
                    + [f"{k}={v}" for k, v in model_args(cfg).items()])
    invocation = {'model': 'uniscale', 'model_args': args, 'device': dev, 'dtype': dt,
                  'tasks': names, 'num_fewshot': cfg['num_fewshot'], 'limit': cfg['limit'] or None,
                  'batch_size': cfg['batch_size'], 'include_path': cfg['task_dir'], 'step': state['step']}
    if docs:
        invocation[LOCAL_ROLLING] = {'corpus': cfg['corpus'] or run_cfg.get('corpus'), 'split': cfg['split'],
                                     'split_sha256': docs_sha, 'max_docs_per_lang': cfg['max_docs_per_lang']}
    record = {'version': lm_eval.__version__ if hasattr(lm_eval, '__version__') else _version('lm_eval'),
              'invocation': invocation, 'seconds': round(seconds, 2),
              'evaluated_at': time.strftime('%Y-%m-%dT%H:%M:%S')}
    merge_tasks(run_dir, cfg['split'], state, metrics, record)
    print(f"{run_name(run_dir)}: " + ', '.join(
        f"{t} " + ' '.join(f"{m} {v:.4f}" for m, v in r.items() if m in ('acc', 'acc_norm', 'bits_per_byte')
                           and isinstance(v, float)) for t, r in metrics.items()))
    return metrics


def _version(package):
    from importlib.metadata import version
    return version(package)


def main(cfg):
    """Score every run asked for; returns {run_dir: {task: metrics}}, None for a run skipped as already scored."""
    from uniscale import hardware  # torch: only once runs are scored
    hardware.resolve(cfg['device'], cfg['dtype'])  # a device this machine lacks, a bad dtype: one line before work
    dirs = find_runs(([cfg['run']] if cfg['run'] else []) + list(cfg['runs']))
    if not dirs:
        raise SystemExit("downstream.py: no runs; pass --run=out/runs/NAME or --runs='out/runs/*'")
    names, manager, results = task_names(cfg), None, {}
    for run_dir in dirs:
        state = {**checkpoint_state(load_checkpoint(run_dir, mmap=True)), 'run_id': run_id(run_dir)}
        if not cfg['force'] and already_done(run_dir, cfg['split'], state, names):
            print(f"skip {run_dir}: {', '.join(names)} already scored on this checkpoint (--force=True to redo)")
            results[run_dir] = None
            continue
        manager = manager or task_manager(cfg)
        results[run_dir] = evaluate_run(run_dir, cfg, manager)
    return results


if __name__ == '__main__':
    atomic.set_output_setting('--hf_dir')  # a failed write's advice names it
    main(configurator.configure(globals()))
