"""
sweep.py's SLURM launcher: per node count, a training array (one task per run, every GPU of its nodes) and an
evaluation array of the same runs on one GPU each, which SLURM starts task by task as each training task ends
(--dependency=aftercorr); runs that only need evaluating get an evaluation array alone; the analysis is queued after
the evaluation arrays. sweep.py decides what runs and with which commands; this file only writes and submits the
scripts (it imports no script).
"""
import os
import shlex
import shutil

from uniscale.atomic import write_atomic


def header(cfg, job_name, n, lines):
    """The #SBATCH lines every array shares: name, array range (throttled), log path, partition, account, extras."""
    throttle = f"%{cfg['slurm_max_parallel']}" if cfg['slurm_max_parallel'] else ''
    head = ['#!/bin/bash', f"#SBATCH --job-name={job_name}", f"#SBATCH --array=0-{n - 1}{throttle}"] + lines
    head += [f"#SBATCH --output={cfg['sweep_dir']}/logs/%x_%A_%a.out"]
    head += [f"#SBATCH --partition={cfg['slurm_partition']}"] if cfg['slurm_partition'] else []
    head += [f"#SBATCH --account={cfg['slurm_account']}"] if cfg['slurm_account'] else []
    return head + list(cfg['slurm_extra'])


def state_function(py):
    """A shell function printing a run folder's state: 'finished', else its checkpoint's step (0 without one)."""
    return (f"state() {{ {py} -c 'import sys; from uniscale.run_folder import run_state; s = run_state(sys.argv[1]) "
            f"or {{}}; print(\"finished\" if s.get(\"finished\") else s.get(\"step\", 0))' \"$1\" || true; }}")


def case(tasks, lines_of):
    """The array task's dispatch: task i runs lines_of(task i)."""
    body = ['case "$SLURM_ARRAY_TASK_ID" in']
    for i, task in enumerate(tasks):
        body += [f"  {i})  # {task[0]}"] + [f"    {line}" for line in lines_of(task)]
        body[-1] += ' ;;'
    return body + ['  *) echo "no run for array task $SLURM_ARRAY_TASK_ID" >&2; exit 1 ;;', 'esac']


def train_script(tasks, nodes, cfg, python):
    """The training array, one task per run: train (one srun task per GPU, no torchrun), requeue if the time limit
    stopped it; nothing else holds these GPUs. tasks: [(label, run_dir, train argv, ...)], argv without the
    interpreter. Each array task has its own rendezvous port (from its job id), so two tasks on one node never
    collide; SLURM's USR1 before the time limit makes train.py checkpoint at that step."""
    n, py = len(tasks), shlex.quote(python)
    head = header(cfg, cfg['name'], n, [
        f"#SBATCH --nodes={nodes}", f"#SBATCH --ntasks-per-node={cfg['num_gpus']}",
        f"#SBATCH --gpus-per-node={cfg['num_gpus']}",
        f"#SBATCH --cpus-per-task={max(1, cfg['slurm_cpus_per_task'] // cfg['num_gpus'])}",
        f"#SBATCH --time={cfg['slurm_time']}", f"#SBATCH --signal=USR1@{cfg['slurm_signal_s']}", '#SBATCH --requeue'])
    body = [f"# training: {n} run(s) of sweep '{cfg['name']}' on {nodes} node(s) each; their evaluation is the "
            f"dependent 1-GPU array {cfg['name']}_{nodes}node_eval.sbatch. Written by sweep.py, re-run it to "
            f"regenerate (finished runs are left out)", 'set -euo pipefail', 'cd "${SLURM_SUBMIT_DIR:-.}"']
    body += list(cfg['slurm_setup'])
    body += ['export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
             'export MASTER_PORT=$((20000 + SLURM_JOB_ID % 20000))  # one rendezvous port per array task',
             '# one task per GPU; train.py reads RANK / LOCAL_RANK / WORLD_SIZE (what torchrun would set)',
             "launch=(srun --kill-on-bad-exit=1 bash -c 'RANK=$SLURM_PROCID LOCAL_RANK=$SLURM_LOCALID "
             "WORLD_SIZE=$SLURM_NTASKS exec \"$@\"' _)",
             'resume() { if [ -f "$1/ckpt.pt" ]; then echo --init_from=resume; fi; }', state_function(py),
             '# finished already: nothing to launch. Train; then finished: exit 0 (its evaluation task starts).',
             "# Stopped with progress (the time limit's USR1 checkpoint, even when srun exits non-zero after it: no",
             '# `set -e` exit here): queue this task again (its evaluation task waits). Failed without progress: fail',
             '# (a requeue would fail the same way; its evaluation task is cancelled).',
             'train_or_requeue() {',
             '  local dir=$1 before after rc=0; shift',
             '  before=$(state "$dir")',
             '  if [ "$before" = finished ]; then return 0; fi',
             '  "$@" || rc=$?',
             '  after=$(state "$dir")',
             '  if [ "$after" = finished ]; then return 0; fi',
             '  if [ "$rc" -eq 0 ] || [ "$after" != "$before" ]; then scontrol requeue "$SLURM_JOB_ID"; exit 0; fi',
             '  echo "train.py exited $rc at step ${after:-?} with no progress: not requeued" >&2; exit "$rc"',
             '}', '']

    def lines(task):
        d = shlex.quote(task[1])
        return [f"train_or_requeue {d} \"${{launch[@]}}\" {py} {shlex.join(task[2])} $(resume {d})"]
    return '\n'.join(head + [''] + body + case(tasks, lines)) + '\n'


def eval_script(tasks, cfg, python, after_training=True):
    """The evaluation array: one GPU, one process per task, running the commands after training (eval_bpb.py, then
    downstream.py) of run i in task i. after_training: submitted with --dependency=aftercorr on the training array
    of the same runs in the same order, so task i starts when training task i exited 0; a run that is not finished
    even so (requeued under it, or a stale plan) exits 0 without work. tasks: [(label, run_dir, train argv,
    [argv of each command after training])], argv without the interpreter."""
    n, py = len(tasks), shlex.quote(python)
    head = header(cfg, f"{cfg['name']}-eval", n, [
        '#SBATCH --nodes=1', '#SBATCH --ntasks=1', '#SBATCH --gpus=1',
        f"#SBATCH --cpus-per-task={max(1, cfg['slurm_cpus_per_task'] // cfg['num_gpus'])}",
        f"#SBATCH --time={cfg['slurm_eval_time']}", '#SBATCH --requeue',
        '#SBATCH --kill-on-invalid-dep=yes'])  # a training task that failed cancels its evaluation (not pending)
    why = ('task i starts when training task i finished its run (--dependency=aftercorr)' if after_training else
           'runs trained already')
    body = [f"# evaluation: {n} run(s) of sweep '{cfg['name']}' on one GPU each; {why}. Written by sweep.py, re-run "
            f"it to regenerate", 'set -euo pipefail', 'cd "${SLURM_SUBMIT_DIR:-.}"']
    body += list(cfg['slurm_setup'])
    body += [state_function(py),
             'finished_or_leave() {  # a run not finished has nothing to evaluate yet: its training task requeued',
             '  if [ "$(state "$1")" != finished ]; then',
             '    echo "$1 is not finished: nothing to evaluate; re-run sweep.py once its training ended" >&2; exit 0',
             '  fi', '}', '']

    def lines(task):
        return [f"finished_or_leave {shlex.quote(task[1])}"] + [f"{py} {shlex.join(argv)}" for argv in task[3]]
    return '\n'.join(head + [''] + body + case(tasks, lines)) + '\n'


def write_arrays(groups, cfg, python):
    """groups: {node count: tasks} (0: runs trained already, evaluation only). Writes {name}_{k}node.sbatch and
    {name}_{k}node_eval.sbatch per node count, {name}_eval.sbatch for group 0, into sweep_dir; returns [(training
    script or None, evaluation script)]."""
    os.makedirs(os.path.join(cfg['sweep_dir'], 'logs'), exist_ok=True)
    arrays = []
    for nodes, tasks in sorted(groups.items()):
        stem = os.path.join(cfg['sweep_dir'], f"{cfg['name']}_{nodes}node" if nodes else cfg['name'])
        train, ev = (stem + '.sbatch' if nodes else None), stem + '_eval.sbatch'
        if train:
            write_atomic(train, train_script(tasks, nodes, cfg, python))
        write_atomic(ev, eval_script(tasks, cfg, python, after_training=bool(nodes)))
        arrays.append((train, ev))
        print(f"wrote {train}: {len(tasks)} training array task(s) on {nodes} node(s) each; {ev}: their evaluation, "
              f"one GPU each, task by task after them" if train else
              f"wrote {ev}: {len(tasks)} evaluation array task(s) of trained runs, one GPU each")
    return arrays


def submit(arrays, wrap, cfg, runner):
    """arrays: [(training script or None, its evaluation script)]. sbatch each training script, its evaluation
    script after it task by task (aftercorr), and the analysis command `wrap` after every evaluation array (when
    sbatch exists and this is not a dry run); otherwise print how to."""
    if not cfg['dry_run'] and shutil.which('sbatch'):
        evals = []
        for train, ev in arrays:
            dep = []
            if train:
                dep = [f"--dependency=aftercorr:{sbatch(runner, train)}"]
            evals.append(sbatch(runner, ev, *dep))
        if wrap:
            dep = [f"--dependency=afterany:{':'.join(evals)}"] if evals else []
            runner(['sbatch', '--parsable', f"--job-name={cfg['name']}-analysis", *dep, f"--wrap={wrap}"], capture=True)
            print("queued the analysis after the evaluations: " + wrap)
        return
    if not arrays:
        print("nothing to submit")
    for i, (train, ev) in enumerate(arrays):
        if train:
            print(f"submit with: t{i}=$(sbatch --parsable {train}) && sbatch --parsable "
                  f"--dependency=aftercorr:${{t{i}%%;*}} {ev}")
        else:
            print(f"submit with: sbatch --parsable {ev}")
    if wrap:
        print(f"then, when the evaluations have finished: {wrap}")


def sbatch(runner, path, *options):
    """Submit one script; its job id."""
    code, out = runner(['sbatch', '--parsable', *options, path], capture=True)
    if code:
        raise SystemExit(f"sweep: sbatch {path} failed (exit {code}); check the #SBATCH lines "
                         f"(slurm_partition, slurm_account, slurm_extra)")
    job = out.strip().split(';')[0]
    print(f"submitted {path} as job {job}" + (f" ({' '.join(options)})" if options else ''))
    return job
