"""
sweep.py's local launcher: its jobs as child processes, `parallel` at once, each in its own process
group, and how a stopped sweep stops them (SIGTERM, then SIGKILL after a grace period), so that no job
outlives its sweep. The SLURM launcher is uniscale/slurm_launch.py.
"""
import os
import shlex
import signal
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

from uniscale import locks

CHILDREN = set()             # the jobs running now, each the leader of its own process group
STOPPING = threading.Event()  # set by stop_jobs: no job starts after it
STOP_GRACE_S = 120           # a stopped job's time to checkpoint (train.py does at its next step) before SIGKILL


def run_command(cmd, log=None, capture=False, env=None):
    """The default runner: (exit code, captured stdout). Output goes to the console, or to the file `log`. Each job
    runs in its own process group (so a terminal's Ctrl-C reaches only the sweep), which stop_jobs ends."""
    if STOPPING.is_set():
        return 1, ''
    if log:
        os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, 'a') if log else open(os.devnull) as out:
        p = subprocess.Popen(cmd, stdout=out if log else (subprocess.PIPE if capture else None),
                             stderr=subprocess.STDOUT if log else None, text=True, env=env, start_new_session=True)
        CHILDREN.add(p)
        try:
            stdout, _ = p.communicate()
        finally:
            CHILDREN.discard(p)
    return p.returncode, stdout if capture else ''


def stop_jobs(signum, frame):
    """SIGINT / SIGTERM of the sweep: SIGTERM to every job's process group (train.py checkpoints at its next step
    and exits; torchrun passes it on), SIGKILL after STOP_GRACE_S, then exit: no job outlives its sweep."""
    STOPPING.set()
    jobs = list(CHILDREN)
    for p in jobs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in jobs:
        try:
            p.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
    name = signal.Signals(signum).name
    raise SystemExit(f"sweep: stopped by {name}; {len(jobs)} running job(s) were stopped (train.py checkpoints "
                     f"first); re-run the same command to continue where they stopped")


def run_jobs(jobs, cfg, runner):
    """(label, command, log) jobs, `parallel` at once, each then given its share of the cores; the failed labels."""
    env = None
    if cfg['parallel'] > 1:  # two processes each using every core would fight over them
        env = {**os.environ, 'OMP_NUM_THREADS': str(max(1, (os.cpu_count() or 1) // cfg['parallel']))}

    def one(job):
        label, cmd, log = job
        locks.check_held()  # .lock deleted by hand: another sweep may launch these jobs too
        print(f"$ {shlex.join(cmd)}" + (f"  > {log}" if log else ''), flush=True)
        code, _ = runner(cmd, log=log, env=env)
        if code:
            print(f"FAILED {label} (exit {code})" + (f"; see {log}" if log else ''), flush=True)
        return label if code else None
    with ThreadPoolExecutor(max(1, cfg['parallel'])) as pool:
        return [label for label in pool.map(one, jobs) if label]
