"""
sweep.py's SLURM launcher: one sbatch array script per node count (one array task per run), and their submission with
the analysis queued after them. sweep.py decides what runs and with which commands; this file only writes and submits
the scripts (it imports no script).
"""
import shlex
import shutil


def array_script(tasks, nodes, cfg, python):
    """An sbatch array script, one task per run: train (one srun task per GPU, no torchrun), requeue if the time
    limit stopped it, then the commands after it (evaluation) when finished. tasks: [(label, run_dir, train argv,
    [argv of each command after training])], argv without the interpreter. Each array task has its own rendezvous port (from its job id), so two
    tasks on one node never collide; SLURM's USR1 before the time limit makes train.py checkpoint at that step."""
    n = len(tasks)
    throttle = f"%{cfg['slurm_max_parallel']}" if cfg['slurm_max_parallel'] else ''
    head = ['#!/bin/bash', f"#SBATCH --job-name={cfg['name']}", f"#SBATCH --array=0-{n - 1}{throttle}",
            f"#SBATCH --nodes={nodes}", f"#SBATCH --ntasks-per-node={cfg['num_gpus']}",
            f"#SBATCH --gpus-per-node={cfg['num_gpus']}",
            f"#SBATCH --cpus-per-task={max(1, cfg['slurm_cpus_per_task'] // cfg['num_gpus'])}",
            f"#SBATCH --time={cfg['slurm_time']}", f"#SBATCH --signal=USR1@{cfg['slurm_signal_s']}", '#SBATCH --requeue',
            f"#SBATCH --output={cfg['sweep_dir']}/logs/%x_%A_%a.out"]
    head += [f"#SBATCH --partition={cfg['slurm_partition']}"] if cfg['slurm_partition'] else []
    head += [f"#SBATCH --account={cfg['slurm_account']}"] if cfg['slurm_account'] else []
    head += list(cfg['slurm_extra'])
    py = shlex.quote(python)
    body = [f"# {n} run(s) of sweep '{cfg['name']}' on {nodes} node(s) each; written by sweep.py, re-run it to "
            f"regenerate (finished runs are left out)", 'set -euo pipefail', 'cd "${SLURM_SUBMIT_DIR:-.}"']
    body += list(cfg['slurm_setup'])
    body += ['export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
             'export MASTER_PORT=$((20000 + SLURM_JOB_ID % 20000))  # one rendezvous port per array task',
             '# one task per GPU; train.py reads RANK / LOCAL_RANK / WORLD_SIZE (what torchrun would set)',
             "launch=(srun --kill-on-bad-exit=1 bash -c 'RANK=$SLURM_PROCID LOCAL_RANK=$SLURM_LOCALID "
             "WORLD_SIZE=$SLURM_NTASKS exec \"$@\"' _)",
             'resume() { if [ -f "$1/ckpt.pt" ]; then echo --init_from=resume; fi; }',
             f"state() {{ {py} -c 'import sys; from uniscale.run_folder import run_state; s = run_state(sys.argv[1]) "
             f"or {{}}; print(\"finished\" if s.get(\"finished\") else s.get(\"step\", 0))' \"$1\" || true; }}",
             '# train; then finished: go on. Stopped with progress (the time limit\'s USR1 checkpoint, even when srun',
             '# exits non-zero after it: no `set -e` exit here): queue this task again. Failed without progress: fail',
             '# (a requeue would fail the same way).',
             'train_or_requeue() {',
             '  local dir=$1 before after rc=0; shift',
             '  before=$(state "$dir")',
             '  "$@" || rc=$?',
             '  after=$(state "$dir")',
             '  if [ "$after" = finished ]; then return 0; fi',
             '  if [ "$rc" -eq 0 ] || [ "$after" != "$before" ]; then scontrol requeue "$SLURM_JOB_ID"; exit 0; fi',
             '  echo "train.py exited $rc at step ${after:-?} with no progress: not requeued" >&2; exit "$rc"',
             '}', '', 'case "$SLURM_ARRAY_TASK_ID" in']
    for i, (label, run_dir, train, after) in enumerate(tasks):
        d = shlex.quote(run_dir)
        body += [f"  {i})  # {label}",
                 f"    train_or_requeue {d} \"${{launch[@]}}\" {py} {shlex.join(train)} $(resume {d})"]
        body += [f"    {py} {shlex.join(argv)}" for argv in after]
        body[-1] += ' ;;'
    body += ['  *) echo "no run for array task $SLURM_ARRAY_TASK_ID" >&2; exit 1 ;;', 'esac']
    return '\n'.join(head + [''] + body) + '\n'


def submit(scripts, wrap, cfg, runner):
    """sbatch each script, then the analysis command `wrap` after them all (when sbatch exists and this is not a dry
    run); otherwise print how to."""
    if not cfg['dry_run'] and shutil.which('sbatch'):
        ids = []
        for path in scripts:
            code, out = runner(['sbatch', '--parsable', path], capture=True)
            if code:
                raise SystemExit(f"sweep: sbatch {path} failed (exit {code}); check the #SBATCH lines "
                                 f"(slurm_partition, slurm_account, slurm_extra)")
            ids.append(out.strip().split(';')[0])
            print(f"submitted {path} as job {ids[-1]}")
        if wrap:
            dep = [f"--dependency=afterany:{':'.join(ids)}"] if ids else []
            runner(['sbatch', '--parsable', f"--job-name={cfg['name']}-analysis", *dep, f"--wrap={wrap}"], capture=True)
            print("queued the analysis after them: " + wrap)
    else:
        print("submit with: " + ' && '.join(f"sbatch {p}" for p in scripts) if scripts else "nothing to submit")
        if wrap:
            print(f"then, when they have finished: {wrap}")
