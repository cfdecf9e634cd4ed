"""
The eval file (a run's eval.json, eval_{split}.json, eval_files.json): its one home. eval_bpb.py and downstream.py
write through here, so results accumulate instead of overwriting one another.

    {"bpb": ..., "eval_set": {...}, "step": ..., "eval_id": ..., ...   the latest scoring's fields, at the top level
     "tasks": {task: metrics}, "lm_eval": {...},                      eval_bpb.py's and downstream.py's tasks
     "results": {eval_id: {the same fields}, ...}}                    every scoring of the run, one per identity

A scoring's identity, `eval_id` = fingerprint of (run_id, step, finished, eval_set): the run it scored (train.py's
config.json `run_id`; null for runs trained before runs recorded one), its checkpoint, and the set it scored (the
EVAL_SET_KEYS, whose split_sha256 is the hash of the text actually read, so an edited file is another
set). Scoring again replaces only the entry with the same identity; other sets, steps and tasks stay. The top
level is the latest scoring, for people; programs pick an entry by its identity, never "the latest": `find`
(run_folder.eval_is_current, the sweep's "done") and uniscale/study_inputs.study_entry (correlate.py: the entry
of the study's eval set).

A writer holds the run folder's eval lock ({run_dir}/.eval.lock) from reading the file to writing it back, so two
writers (eval_bpb.py and downstream.py on one run) never lose each other's results; it waits up to WAIT_S for
another writer's few milliseconds, then refuses naming it (uniscale/locks.py). JSON only: no torch here.
"""
import errno
import json
import os

from uniscale import identity, locks
from uniscale.atomic import remove_quietly

EVAL_SET_KEYS = ('corpus', 'split', 'split_sha256', 'n_docs', 'max_docs_per_lang', 'context', 'overlap')
KEEP = ('results', 'tasks', 'lm_eval')  # top-level keys that belong to no one scoring
LOCK = '.eval.lock'
WAIT_S = 60  # a writer holds the lock for milliseconds: wait that long for one rather than lose hours of scoring
CANNOT_WRITE = {
    errno.ENOSPC: 'the disk is full: free space, or copy the run folder to a disk with room and score the copy',
    errno.EDQUOT: 'over the disk quota: free space, or copy the run folder elsewhere and score the copy',
}
WRITABLE_FIX = "make the run folder writable (chmod u+w), or copy it elsewhere (cp -r) and score the copy (--run=COPY)"


def entry_id(run_id, step, finished, eval_set):
    """The identity of one scoring (see the docstring): 16 hex digits."""
    keys = EVAL_SET_KEYS
    return identity.fingerprint({'run_id': run_id, 'step': step, 'finished': finished,
                                 'eval_set': {k: (eval_set or {}).get(k) for k in keys}})


def read(path):
    """The eval file's dict; {} when there is none; a corrupt one is a one-line SystemExit with the fix."""
    if not os.path.isfile(path):
        return {}
    fix = (f"move it aside (mv {path} {path}.bad) and score the run again (eval_bpb.py, then downstream.py for "
           f"its tasks)")
    try:
        with open(path, encoding='utf-8') as f:
            ev = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SystemExit(f"{path}: corrupt eval file ({e}); {fix}") from None
    except OSError as e:
        raise SystemExit(f"{path}: cannot read ({e.strerror or e}); check its permissions") from None
    if not isinstance(ev, dict):
        raise SystemExit(f"{path}: not an eval file (a JSON {type(ev).__name__}, not an object); {fix}")
    return ev


def top_entry(ev):
    """The scoring the top-level fields hold (everything but the KEEP keys), {} when they hold none."""
    top = {k: v for k, v in ev.items() if k not in KEEP}
    if not top.get('eval_set') and 'bpb' not in top:
        return {}
    if 'eval_id' not in top:  # written before entries had identities: give it the one its fields say
        top['eval_id'] = entry_id(top.get('run_id'), top.get('step'), top.get('finished'), top.get('eval_set'))
    return top


def entries(ev):
    """Every scoring of eval dict ev, oldest first; the one at the top level is the latest."""
    results = dict(ev.get('results') or {})
    top = top_entry(ev)
    if top and top['eval_id'] not in results:
        results[top['eval_id']] = top
    return list(results.values())


def find(ev, want_eval_set, keys=None, **same):
    """The entry of eval dict ev (the top level first, then the latest of `results`) whose eval_set equals
    want_eval_set on `keys` (default EVAL_SET_KEYS) and whose fields equal `same` (e.g. run_id=...,
    step=...); None when there is none."""
    keys = EVAL_SET_KEYS if keys is None else keys
    top = top_entry(ev)
    for e in ([top] if top else []) + entries(ev)[::-1]:
        have = e.get('eval_set') or {}
        if all(have.get(k) == want_eval_set.get(k) for k in keys) and all(e.get(k) == v for k, v in same.items()):
            return e
    return None


def merged(ev, entry, tasks=None):
    """ev with `entry` put under results[entry['eval_id']] (replacing only the entry with that identity) and at the
    top level; tasks ({task: metrics}) added to ev's tasks; every other key and result kept."""
    entry = {k: v for k, v in entry.items() if k not in KEEP}
    # the scoring on top: its fields as results holds them (a key added beside them is not its own), else the top
    prev = (ev.get('results') or {}).get(ev.get('eval_id')) or top_entry(ev)
    results = {e['eval_id']: e for e in entries(ev) if e['eval_id'] != entry['eval_id']}
    results[entry['eval_id']] = entry  # last: results are in the order they were scored
    # the previous scoring's fields leave the top level (they live on in results); other keys stay
    others = {k: v for k, v in ev.items() if k not in prev and k not in entry and k != 'results'}
    if tasks:
        others['tasks'] = {**(ev.get('tasks') or {}), **tasks}
    return {**entry, **others, 'results': results}


def check_writable(path, lock_folder):
    """Refuse in one line, naming the eval file, a run folder where it cannot be written (a read-only disk): called
    before hours of scoring, and by `update` (filelock would say it in words of its own)."""
    try:
        with open(locks.lock_path(lock_folder, LOCK), 'a'):
            pass
    except OSError as e:
        raise cannot_write(path, e) from None


def update(path, change, lock_folder):
    """Read the eval file, apply change(ev) -> new ev, write it back atomically, all under the run folder's eval
    lock; returns the new ev. change may raise SystemExit to refuse (nothing is written then)."""
    check_writable(path, lock_folder)
    with locks.hold(lock_folder, 'eval file', name=LOCK, wait_s=WAIT_S):
        ev = change(read(path))
        write(path, ev)
    return ev


def merge(path, entry, lock_folder, tasks=None):
    """Add one scoring (a dict with eval_id) to the eval file at path, as `merged` says, under the lock."""
    return update(path, lambda ev: merged(ev, entry, tasks), lock_folder)


def cannot_write(path, err):
    fix = CANNOT_WRITE.get(err.errno, WRITABLE_FIX)
    return SystemExit(f"{path}: cannot write the eval file ({err.strerror or err}); {fix}")


def write(path, ev):
    """ev -> path atomically (a temp file beside it, then a rename); a failed write leaves the old file, no temp."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(json.dumps(ev, indent=1, ensure_ascii=False) + '\n')
        os.replace(tmp, path)
    except OSError as e:
        raise cannot_write(path, e) from None
    finally:
        remove_quietly(tmp)
