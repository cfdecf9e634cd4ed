"""
What a run folder is, in one place: eval_bpb.py, sample.py, sweep.py, export_hf.py and correlate.py all read run
folders through these functions, so "finished", "scored on which set" and "current" mean one thing everywhere.

    out/runs/{run}/config.json   every setting of the run (train.py), incl. total_steps
    out/runs/{run}/ckpt.pt       model, optimizer, step, done (train.py; loads with weights_only=True)
    out/runs/{run}/log.jsonl     one event a line (train.py)
    out/runs/{run}/eval.json     bits per byte of the test split (eval_bpb.py); eval_{split}.json for another split

An eval file says which checkpoint it scored (`step`, `total_steps`, `finished`) and on which set (`eval_set`: corpus,
split, its sha256, documents, max_docs_per_lang, context, overlap); two eval files compare only when their eval_set
is equal. torch, the model and the tokenizers are imported inside the functions that need them, so correlate.py
(JSON only) stays light. The last section is train.py's side: the files rank 0 writes and the refusals of a
checkpoint whose tokenizer or data changed.
"""
import glob
import json
import os
import time

from uniscale import atomic, eval_file, locks
from uniscale.code_identity import code_change, code_identity, run_code
from uniscale.identity import differences

# what fixes a missing or damaged config.json: train.py rewrites it from ckpt.pt (a finished run asked again too)
CONFIG_FIX = "re-run the run's train.py command (add --init_from=resume if unfinished): it rewrites it from ckpt.pt"


# ---------------------------------------------------------------- files
def read_json(path, fix='write it again', default=...):
    """Parsed JSON of path; a missing file returns default when one is given; otherwise a missing or corrupt file is
    a one-line SystemExit naming the file and the fix (atomic.read_json)."""
    if default is not ... and not os.path.isfile(path):
        return default
    return atomic.read_json(path, os.path.basename(path), fix)


def read_log(path):
    """log.jsonl events sorted by step, the last event kept where a resumed run logged a step twice; a line cut
    short by a killed run is skipped."""
    events = {}
    with open(path, encoding='utf-8') as f:
        for i, line in enumerate(f):
            try:
                ev = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(ev, dict):
                events[ev.get('step', i)] = ev
    return [events[k] for k in sorted(events)]


def eval_path(run_dir, split='test'):
    """What eval_bpb.py writes: eval.json for the test split, eval_{split}.json for another."""
    return os.path.join(run_dir, 'eval.json' if split in ('', 'test') else f'eval_{split}.json')


def run_name(run_dir):
    return os.path.basename(os.path.normpath(run_dir))


# ---------------------------------------------------------------- checkpoints
def load_checkpoint(path, mmap=False):
    """A checkpoint dict (path: ckpt.pt or its run folder), loaded with weights_only=True; a missing, truncated or
    foreign file is a one-line SystemExit that names it. mmap=True reads only what is touched (a fast flag check)."""
    import pickle
    import zipfile

    import torch
    if os.path.isdir(path):
        path = os.path.join(path, 'ckpt.pt')
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: no checkpoint; train the run first (python train.py ...) or check the path")
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True, mmap=mmap)
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, pickle.UnpicklingError, zipfile.BadZipFile) as e:
        first = str(e).strip().splitlines()[0][:80] if str(e).strip() else e.__class__.__name__
        raise SystemExit(f"{path}: not a readable uniscale checkpoint (truncated, or not a torch file: {first}); "
                         f"delete it and train the run again (or restore it from a copy)") from None
    if not isinstance(ckpt, dict) or not {'model', 'model_config', 'step'} <= set(ckpt):
        raise SystemExit(f"{path}: a torch file but not a uniscale checkpoint (no model/model_config/step); "
                         f"point at a run folder written by train.py")
    return ckpt


def read_run_config(run_dir):
    """The run's config (config.json; the checkpoint's copy when it is missing or damaged); refuses a folder without
    ckpt.pt."""
    if not os.path.isfile(os.path.join(run_dir, 'ckpt.pt')):
        raise SystemExit(f"{run_dir}: no ckpt.pt; train the run first (python train.py ...) or check the path")
    path = os.path.join(run_dir, 'config.json')
    if config_readable(path):
        return read_json(path, CONFIG_FIX)
    if os.path.isfile(path):
        print(f"note: {path} is damaged; reading the checkpoint's copy ({CONFIG_FIX})")
    return load_checkpoint(run_dir, mmap=True).get('config', {})


def config_readable(path):
    try:
        with open(path, encoding='utf-8') as f:
            return isinstance(json.load(f), dict)
    except (OSError, ValueError):
        return False


def checkpoint_state(ckpt):
    """{'step', 'total_steps', 'finished'} of a checkpoint dict: finished only when train.py wrote its final step."""
    cfg = ckpt.get('config', {})
    total = cfg.get('total_steps')
    return {'step': ckpt.get('step'), 'total_steps': total, 'finished': bool(ckpt.get('done'))}


def run_state(run_dir):
    """checkpoint_state of the run's ckpt.pt (read through mmap: cheap even for a large model), None without one."""
    if not os.path.isfile(os.path.join(run_dir, 'ckpt.pt')):
        return None
    return checkpoint_state(load_checkpoint(run_dir, mmap=True))


def refuse_unfinished(run_dir, state, allow=False, flag='--allow_unfinished=True'):
    """A one-line refusal of a checkpoint that is not the run's last (unless allowed): its numbers are not the run's."""
    if state['finished'] or allow:
        return
    raise SystemExit(f"{run_dir}: unfinished run (checkpoint at step {state['step']} of {state['total_steps']}); "
                     f"finish it (python train.py ... --init_from=resume) or pass {flag} to score it anyway")


# ---------------------------------------------------------------- tokenizer and model of a run
def check_tokenizer(run_dir, cfg):
    """Load the run's tokenizer, refusing a missing folder or one whose hash differs from the one trained with."""
    from uniscale.tokenization import TIKTOKEN_NAMES, load_tokenizer
    path = cfg.get('tokenizer')
    if not path:
        raise SystemExit(f"{run_dir}/config.json: no 'tokenizer' entry; add the tokenizer folder it was trained with")
    if path not in TIKTOKEN_NAMES and not os.path.isdir(path):
        raise SystemExit(f"{run_dir}: tokenizer folder {path} (from its config) not found; restore it or retrain it "
                         f"with the same settings (python tokenizer.py / btm.py), then check the hash matches")
    tok = load_tokenizer(path)
    trained_with = cfg.get('tokenizer_hash')
    if trained_with is None:
        print(f"note: {run_dir}: config.json records no tokenizer_hash, so {path} cannot be checked against training")
    elif trained_with != tok.hash:
        raise SystemExit(f"{run_dir}: tokenizer {path} has hash {tok.hash[:12]}, but the run was trained with "
                         f"{trained_with[:12]}; the folder was retrained or replaced, restore the original one")
    return tok


def load_model(ckpt, tok, run_dir, dev):
    """The checkpoint's GPT on dev in eval mode, refusing a tokenizer of another vocabulary size."""
    from model import model_from_checkpoint
    model = model_from_checkpoint(ckpt)
    if model.config.vocab_size != tok.vocab_size:
        raise SystemExit(f"{run_dir}: model has vocab_size {model.config.vocab_size} but tokenizer {tok.name} has "
                         f"{tok.vocab_size}; config.json points at the wrong tokenizer folder")
    # every window holds one document, so plain causal attention (the fast SDPA path) is the document mask
    model.config.doc_bos_id = -1
    return model.to(dev).eval()


def split_path(run_dir, run_cfg, cfg):
    """The text split an evaluation of the run reads, {corpus_dir}/{corpus}/{split}.jsonl (cfg: corpus, corpus_dir,
    split; corpus '' = the run's), refusing a split prepare.py never (or not completely) wrote, and the run's own
    corpus when it was rebuilt after the run trained (corpus_rebuilt)."""
    name = cfg['corpus'] or run_cfg.get('corpus', '')
    folder = os.path.join(cfg['corpus_dir'], name)
    path = os.path.join(folder, f"{cfg['split']}.jsonl")
    if not name or not os.path.isfile(path) or not os.path.isfile(os.path.join(folder, 'meta.json')):
        raise SystemExit(f"{path}: split never prepared (run {run_dir} uses corpus '{name}'); run "
                         f"`python prepare.py --corpus={name or '...'}` first, or pass --corpus/--corpus_dir")
    rebuilt = corpus_rebuilt(run_cfg, cfg['corpus_dir']) if name == run_cfg.get('corpus') else None
    if rebuilt:
        raise SystemExit(f"{run_dir}: {rebuilt}; its {cfg['split']} split may hold the run's own training text: "
                         f"score it on the splits it was trained beside (restore them) or retrain it on these")
    return path


def corpus_rebuilt(run_cfg, corpus_dir):
    """Why the run's corpus is not the one it trained beside (its train split's sha256 in meta.json is not the one
    the run's shards were encoded from: prepare.py remade the splits), or None; None for runs that predate it."""
    trained = ((run_cfg.get('inputs') or {}).get('train') or {}).get('text_sha256')
    now = split_sha256(corpus_dir, run_cfg.get('corpus'), 'train')
    if trained and now != trained:
        return (f"corpus {run_cfg.get('corpus')!r} was rebuilt after the run trained (train split sha256 "
                f"{trained[:12]}, now {str(now)[:12]})")
    return None


# ---------------------------------------------------------------- finding runs, and their eval files
def find_runs(patterns, runs_dir='', need='ckpt.pt'):
    """Run folders from paths, bare names (under runs_dir) or globs, in order, each once; a glob keeps only folders
    holding `need`."""
    found = []
    for r in patterns:
        r = r if (os.sep in r or not runs_dir) else os.path.join(runs_dir, r)
        if glob.has_magic(r):
            found += [m for m in sorted(glob.glob(r)) if os.path.isfile(os.path.join(m, need))]
        else:
            found.append(r)
    return list(dict.fromkeys(os.path.normpath(r) for r in found))


def split_sha256(corpus_dir, corpus, split):
    """The sha256 prepare.py recorded for a text split (its meta.json), None when the split was never prepared."""
    meta = read_json(os.path.join(corpus_dir, str(corpus), 'meta.json'), "re-run prepare.py", default=None)
    return ((meta or {}).get('splits', {}).get(split) or {}).get('sha256')


def wanted_eval_set(run_cfg, settings):
    """The eval_set an evaluation with eval_bpb.py `settings` (corpus, corpus_dir, split, max_docs_per_lang, context,
    overlap; missing keys at their defaults) records for the run of config run_cfg, less n_docs (known once read)."""
    corpus = settings.get('corpus') or run_cfg.get('corpus')
    split = settings.get('split') or 'test'
    return {'corpus': corpus, 'split': split,
            'split_sha256': split_sha256(settings.get('corpus_dir', 'out/corpus'), corpus, split),
            'max_docs_per_lang': settings.get('max_docs_per_lang', 0),
            'context': settings.get('context') or run_cfg.get('block_size'), 'overlap': settings.get('overlap', 0)}


def eval_is_current(run_dir, settings, tasks=(), need_finished=True, keep_eval_code=False,
                    want=None, path=None):
    """True when the run's eval file scored its current checkpoint (the same run_id and step;
    finished unless need_finished is False) with eval_bpb.py `settings`, by this evaluation code
    (its `eval_code`; any with keep_eval_code) and holds every task in `tasks`: the evaluation
    need not run again. The run_id compared is the one the run's config.json recorded when it
    trained (eval_bpb.py records the same): it names that training, so an older identity rule
    does not orphan valid scores, and a run trained again in place records another. want, path: the
    eval set and eval file of files or FLORES (uniscale/eval_sets.is_current)."""
    ev = read_json(path or eval_path(run_dir, settings.get('split', 'test')), default=None)
    state = run_state(run_dir)
    if not isinstance(ev, dict) or state is None or (need_finished and not state['finished']):
        return False
    run_cfg = read_json(os.path.join(run_dir, 'config.json'), default={})
    # an entry of this run (not another that had this folder: retrained in place), checkpoint and eval set
    want = want or wanted_eval_set(run_cfg, settings)  # n_docs is known once read: not compared
    same = {} if keep_eval_code else {'eval_code': code_identity('eval')['sha256']}
    entry = eval_file.find(ev, want, keys=tuple(want), run_id=run_cfg.get('run_id'), step=state['step'],
                           finished=state['finished'], **same)
    return entry is not None and all(t in (ev.get('tasks') or {}) for t in tasks)


# ---------------------------------------------------------------- code_changes 'keep', 'retrain'
def keep_code(run_dir, now, fallback):
    """Record in config.json (`code_kept`) that the run's results count as computed by code `now`
    (code_changes='keep'): from then on it is current for that code (code_identity.run_code); its
    own `code` stays as trained."""
    path = os.path.join(run_dir, 'config.json')
    with locks.hold(run_dir, 'run'):
        config = read_json(path, CONFIG_FIX) if config_readable(path) else dict(fallback)
        was = run_code(config)
        config['code_kept'] = list(config.get('code_kept') or []) + [
            {'sha256': now['sha256'], 'files': now['files'], 'was': was and was['sha256'],
             'kept_at': time.strftime('%Y-%m-%dT%H:%M:%S')}]
        atomic.write_json_atomic(path, config)


def relocate_tokenizer(run_dir, path):
    """Point config.json's `tokenizer` (where eval_bpb.py, sample.py and export_hf.py find it) at
    path when the folder it names is gone and path holds the tokenizer the run trained with (its
    meta.json hash): a moved tokenizers_dir is the same run, and its evaluations still find the
    files. Returns whether it wrote."""
    cfg_path = os.path.join(run_dir, 'config.json')
    config = read_json(cfg_path) if config_readable(cfg_path) else {}
    old, trained = config.get('tokenizer'), config.get('tokenizer_hash')
    same = old and os.path.normpath(old) == os.path.normpath(path)
    if not old or not trained or same or os.path.isdir(old):
        return False
    meta = read_json(os.path.join(path, 'meta.json'), default=None)
    if not isinstance(meta, dict) or meta.get('hash') != trained:
        return False
    with locks.hold(run_dir, 'run'):
        atomic.write_json_atomic(cfg_path, {**config, 'tokenizer': path})
    print(f"{cfg_path}: tokenizer {old} is gone; the same tokenizer (hash {trained[:12]}) is at "
          f"{path}, recorded there")
    return True


def move_aside(run_dir):
    """Move a run computed by other code to {runs_dir}/.replaced/{run}.{its code's first 8 digits}
    (a number added when taken; the runs_dir's globs never reach it), holding its lock:
    code_changes='retrain' loses nothing. Returns where it went."""
    path = os.path.join(run_dir, 'config.json')
    config = read_json(path) if config_readable(path) else {}
    code = (run_code(config) or {}).get('sha256') or 'unknown'
    aside = os.path.join(os.path.dirname(os.path.abspath(run_dir)), '.replaced')
    dest, n = os.path.join(aside, f"{run_name(run_dir)}.{code[:8]}"), 1
    while os.path.exists(dest):
        n += 1
        dest = os.path.join(aside, f"{run_name(run_dir)}.{code[:8]}.{n}")
    with atomic.disk_errors(aside):
        os.makedirs(aside, exist_ok=True)
    with locks.hold(run_dir, 'run'):
        with atomic.disk_errors(dest):
            os.rename(run_dir, dest)
    return dest


# ---------------------------------------------------------------- written by train.py (rank 0)
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
        atomic.write_atomic(path, ''.join(keep))


def start_log(run_dir, run_config, step):
    """config.json always; log.jsonl kept up to the checkpoint's step (a run that died before its first checkpoint
    starts its log again); a checkpoint write cut short by a kill removed."""
    log_path = os.path.join(run_dir, 'log.jsonl')
    atomic.remove_stale_temps(os.path.join(run_dir, 'ckpt.pt'))
    atomic.write_json_atomic(os.path.join(run_dir, 'config.json'), run_config)
    with atomic.disk_errors(log_path):
        if step == 0 and os.path.isfile(log_path):
            os.remove(log_path)
        trim_log(log_path, step)


def rewrite_config(run_dir, config):
    """config.json from the checkpoint's copy when it is missing or damaged (the advice readers give)."""
    path = os.path.join(run_dir, 'config.json')
    try:
        with open(path) as f:
            if isinstance(json.load(f), dict):
                return
    except (OSError, ValueError):
        pass
    atomic.write_json_atomic(path, config)
    print(f"{path}: rewritten from the checkpoint's copy")


# ---------------------------------------------------------------- train.py: a checkpoint of other code
def recorded_config(run_dir, ckpt):
    """The run's config.json (which holds code_changes='keep' choices), else the checkpoint's
    copy."""
    path = os.path.join(run_dir, 'config.json')
    return read_json(path, default=None) if config_readable(path) else ckpt['config']


def code_history(run_dir, ckpt, now):
    """The training code a resumed run was computed by before now ([{code, until_step}], carried
    over resumes); [] for a run trained by this code throughout."""
    if ckpt is None:
        return []
    before = recorded_config(run_dir, ckpt)
    history, code = list(before.get('code_history') or []), before.get('code')
    if not isinstance(code, dict) or code.get('sha256') != now['sha256']:
        code = code if isinstance(code, dict) else {'sha256': None}
        history.append({**code, 'until_step': ckpt['step']})
    return history


def check_code(cfg, ckpt, ckpt_path, run_dir):
    """'same' when the checkpoint was computed by this training code (code_identity); for other code
    (or none recorded) what code_changes says: 'keep' (its results count as this code's: marked
    in ckpt['code_kept'], recorded by run() in a finished run's config.json; a resumed run records
    its `code_history`), 'retrain' (run() moves the run aside, nothing lost, and trains it again);
    '' refuses in one line naming the files that differ. Writes nothing."""
    now = code_identity('train')
    change = code_change(recorded_config(run_dir, ckpt), now)
    if change is None:
        return 'same'
    what = 'finished' if ckpt['done'] else f"checkpointed at step {ckpt['step']}"
    aside = os.path.join(os.path.dirname(os.path.abspath(run_dir)), '.replaced')
    if cfg['code_changes'] == 'retrain' and int(os.environ.get('WORLD_SIZE', '1')) > 1:
        raise SystemExit(f"{run_dir}: {what} by {change}; move it aside before a run of several "
                         f"processes retrains it (mkdir -p {aside} && mv {run_dir} {aside}/), then "
                         f"start it again")
    if cfg['code_changes'] == 'keep':
        ckpt['code_kept'] = now
    if cfg['code_changes']:
        return cfg['code_changes']
    raise SystemExit(f"{ckpt_path}: this run was {what} by {change}, so its results are not this "
                     f"code's: train it again with --code_changes=retrain (the old run is moved to "
                     f"{aside}/), or count them as this code's with --code_changes=keep")


def checkpoint_stamp(path):
    """(size, mtime) of the checkpoint, None without one: to notice another writer between reading and locking."""
    try:
        st = os.stat(path)
        return st.st_size, st.st_mtime_ns
    except OSError:
        return None


def refuse_retrained_tokenizer(ckpt, tok, ckpt_path, run_dir):
    """Refuse a checkpoint trained with another tokenizer than the folder holds now (retrained under its name)."""
    trained = ckpt['config'].get('tokenizer_hash')
    if trained is not None and trained != tok.hash:
        raise SystemExit(f"{ckpt_path}: the run was trained with tokenizer hash {trained[:12]}, {tok.path} now has "
                         f"{tok.hash[:12]} (retrained or replaced under the same name); restore that tokenizer, or "
                         f"train with this one under a new --run_dir (or delete {run_dir})")


def refuse_changed_inputs(ckpt, inputs, ckpt_path, run_dir):
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


def stop_if_nonfinite(ok, what, step, run_dir, ckpt_path, first_ckpt_step):
    """Stop a run whose loss or weights went inf/nan, naming the checkpoint that is kept (or that none was)."""
    if ok:
        return
    kept = load_checkpoint(ckpt_path, mmap=True)['step'] if os.path.isfile(ckpt_path) else None
    where = (f"the last good checkpoint (step {kept}) is kept in {ckpt_path}" if kept is not None else
             f"no checkpoint was written (the first comes at step {first_ckpt_step})")
    raise SystemExit(f"{run_dir}: {what} is not finite at step {step}; stopped, {where}. A resumed run keeps its "
                     f"settings, so retrain with a lower lr or more warmup_steps under a new --run_dir "
                     f"(or delete {run_dir})")
