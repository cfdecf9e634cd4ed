"""sweep.py: the grid, its filters, skipping finished runs, resuming, the local launcher (with a fake command runner:
no training here), the SLURM arrays (training, and its evaluation on one GPU after it: checked with bash, and run for
one task with fake srun/python/scontrol; submitted in order with a fake sbatch) and the lr scan (its runs, their lr,
their place in the launchers and the analysis command)."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import json

import torch

import configurator
import sweep
from helpers import held_elsewhere
from uniscale import run_folder, slurm_launch
from uniscale.code_identity import code_identity


@pytest.fixture(autouse=True)
def inputs_exist(monkeypatch):
    """These tests' tokenizer folders are stand-ins (no shards): the grid's input check (tests/test_preflight.py runs
    it on real ones) is not what they test."""
    monkeypatch.setattr(sweep, 'grid_problems', lambda runs, cfg: [])


def fake_checkpoint(run_dir, finished=True, step=10):
    """A checkpoint as train.py writes it (no weights: the sweep reads only its state), and its config.json."""
    os.makedirs(run_dir, exist_ok=True)
    cfg = {'corpus': 'embedded', 'block_size': 128, 'total_steps': 10,
           'code': code_identity('train')}
    with open(os.path.join(run_dir, 'config.json'), 'w') as f:
        json.dump(cfg, f)
    torch.save({'model': {}, 'model_config': {}, 'config': cfg, 'step': step if not finished else 10,
                'done': finished}, os.path.join(run_dir, 'ckpt.pt'))


def fake_eval(run_dir, settings, **change):
    """An eval file as eval_bpb.py with `settings` writes it for the run's current checkpoint."""
    state = run_folder.run_state(run_dir)
    with open(os.path.join(run_dir, 'config.json')) as f:
        want = run_folder.wanted_eval_set(json.load(f), settings)
    ev = {**state, 'bpb': 1.0, 'eval_set': {**want, 'n_docs': 5},
          'eval_code': code_identity('eval')['sha256'], **change}
    with open(run_folder.eval_path(run_dir, settings.get('split', 'test')), 'w') as f:
        json.dump(ev, f)


def config(tmp_path, **over):
    ns = configurator.defaults(sweep)
    cfg = configurator.configure(ns, ['config/sweep_demo.py'])
    cfg.update(runs_dir=str(tmp_path / 'runs'), tokenizers_dir=str(tmp_path / 'tok'), sweep_dir=str(tmp_path / 'sweep'),
               analysis_dir=str(tmp_path / 'analysis'), python='python', parallel=1)
    cfg.update(secondary_eval_sets={})  # tested in tests/test_eval_sets.py (make demo makes the file)
    cfg.update(over)
    for t in cfg['tokenizers']:
        os.makedirs(tmp_path / 'tok' / t, exist_ok=True)
        (tmp_path / 'tok' / t / 'meta.json').write_text('{}')
    return cfg


class FakeRunner:
    """Records every command; 'trains' by writing ckpt.pt and 'evaluates' by writing eval.json."""

    def __init__(self, fail=()):
        self.commands, self.envs, self.fail = [], [], set(fail)

    def __call__(self, cmd, log=None, capture=False, env=None):
        self.commands.append(cmd)
        self.envs.append(env)
        args = dict(a[2:].split('=', 1) for a in cmd if a.startswith('--') and '=' in a)
        if 'train.py' in cmd:
            run_dir = args['run_dir']
            if os.path.basename(run_dir) in self.fail:
                return 1, ''
            fake_checkpoint(run_dir)
        elif 'eval_bpb.py' in cmd:
            settings = {k: configurator.parse_value(v) for k, v in args.items() if k not in ('run', 'runs')}
            for d in (args.get('runs') or args['run']).split(','):
                fake_eval(d, settings)
        return 0, ''

    def scripts(self, name):
        return [c for c in self.commands if name in c]


def test_dry_run_lists_exactly_the_grid(tmp_path, capsys):
    cfg = config(tmp_path, dry_run=True)
    runner = FakeRunner()
    runs = sweep.main(cfg, runner)
    n = len(cfg['presets']) * len(cfg['tokenizers']) * len(cfg['seeds'])
    n_scan = len([m for m in cfg['lr_scan'] if m != 1]) * len(cfg['tokenizers'])  # the smallest size, one seed
    assert n >= 30 and n_scan >= 10 and len(runs) == n + n_scan and runner.commands == []
    names = [r['run'] for r in runs]
    assert len(set(names)) == n + n_scan and f"{cfg['presets'][0]}_{cfg['tokenizers'][0]}_s{cfg['seeds'][0]}" in names
    assert f"{cfg['presets'][0]}_{cfg['tokenizers'][0]}_s{cfg['seeds'][0]}_lr{cfg['lr_scan'][0]:g}" in names
    out = capsys.readouterr().out
    assert all(out.count(f" {r}  ") == 1 for r in names) and out.count(' train.py ') == n + n_scan
    for p, args in cfg['preset_args'].items():  # each run shows its budget
        line = next(l for l in out.splitlines() if f" {p}_" in l and 'todo' in l)
        assert all(f"{k}={v}" in line for k, v in args.items())


def test_run_names_and_train_command():
    cfg = dict(base_config='config/b.py', tokenizers_dir='out/tokenizers',
               train_args={'compile': False}, preset_args={'apertus-50M': {'budget_tokens': 1000}},
               tokenizer_args={}, runs_dir='out/runs', presets=['apertus-50M'], tokenizers=['bpe-80k'], seeds=[1],
               only=[], lr_scan=[])
    (run,) = sweep.expand_grid(cfg)
    assert run['run'] == 'apertus-50M_bpe-80k_s1' and run['dir'] == 'out/runs/apertus-50M_bpe-80k_s1'
    assert sweep.train_command(run, cfg, resume=True) == [
        'train.py', 'config/b.py', '--preset=apertus-50M', '--tokenizer=out/tokenizers/bpe-80k', '--seed=1',
        '--run_dir=out/runs/apertus-50M_bpe-80k_s1', '--compile=False', '--budget_tokens=1000', '--init_from=resume']


@pytest.mark.parametrize('only,want', [
    (['apertus-tiny'], lambda r: r['preset'] == 'apertus-tiny'),
    (['bpe-*'], lambda r: r['tokenizer'].startswith('bpe-')),
    (['s1'], lambda r: r['seed'] == 1),
    (['bpe-2k', 'unigram-4k', 's2'], lambda r: r['tokenizer'] in ('bpe-2k', 'unigram-4k') and r['seed'] == 2),
])
def test_filters_pick_by_preset_tokenizer_and_seed(tmp_path, only, want):
    cfg = config(tmp_path)
    full = sweep.expand_grid(cfg)
    got = sweep.expand_grid({**cfg, 'only': only})
    assert got == [r for r in full if want(r)] and 0 < len(got) < len(full)


def test_a_filter_that_matches_nothing_is_an_error(tmp_path):
    with pytest.raises(SystemExit, match="'gpt-9'"):
        sweep.expand_grid({**config(tmp_path), 'only': ['gpt-9']})


@pytest.fixture
def correlate_reads_the_scan(monkeypatch):
    """correlate.py's --lr_scan_runs (the lead wires uniscale/lr_scan_analysis.py into correlate.py): its default,
    where correlate.py does not have it yet, so that the sweep's analysis command configures."""
    import correlate
    if not hasattr(correlate, 'lr_scan_runs'):
        monkeypatch.setattr(correlate, 'lr_scan_runs', [], raising=False)


def test_local_sweep_trains_evaluates_analyses_then_skips_everything(tmp_path, correlate_reads_the_scan):
    cfg = config(tmp_path, only=['s1'])
    runner = FakeRunner()
    runs = sweep.main(cfg, runner)
    trains = runner.scripts('train.py')
    assert sorted(c[c.index('train.py') + 1 + 4][len('--run_dir='):] for c in trains) == sorted(r['dir'] for r in runs)
    assert all('--init_from=resume' not in c for c in trains)
    (ev,) = runner.scripts('eval_bpb.py')
    assert ev[2] == '--runs=' + ','.join(r['dir'] for r in runs)
    (an,) = runner.scripts('correlate.py')
    assert an[2] == 'scale' and f"--name={cfg['name']}" in an
    grid = sweep.expand_grid({**cfg, 'only': []})
    assert an[3] == '--runs=' + ','.join(r['dir'] for r in grid if 'lr_mult' not in r)  # the whole study
    assert f"--lr_scan_runs={','.join(r['dir'] for r in grid if 'lr_mult' in r)}" in an  # apart: other cells
    assert '--allow_missing=True' in an  # a slice: the report says what of the grid it left out
    assert '--allow_missing=True' not in sweep.analysis_command({**cfg, 'only': []})  # the whole grid must be there
    # the analysis was computed from exactly these files and settings: a second sweep does nothing at all
    write_summary(cfg)
    again = FakeRunner()
    assert all(r['status'] == 'done' for r in sweep.main(cfg, again)) and again.commands == []
    # row 9: another tokenizer list or other analysis settings: the analysis runs again (it used to say "nothing
    # to do" from file times)
    for change in ({'tokenizers': cfg['tokenizers'][:-1]}, {'analysis_args': {'n_bootstrap': 999}}):
        assert not sweep.analysis_is_current({**cfg, **change})
    assert sweep.analysis_is_current(cfg)
    eval_json = os.path.join(runs[0]['dir'], 'eval.json')
    with open(eval_json) as f:
        ev = json.load(f)
    with open(eval_json, 'w') as f:  # re-scored: other content under the same name
        json.dump({**ev, 'bpb': 1.5}, f)
    assert not sweep.analysis_is_current(cfg)


def write_summary(cfg):
    """summary.json as correlate.py would write it for the sweep's analysis command now (its analysis_id)."""
    import correlate
    ccfg = correlate.checked_config(configurator.configure(configurator.defaults(correlate),
                                                           sweep.analysis_command(cfg)[1:]))
    os.makedirs(os.path.join(cfg['analysis_dir'], cfg['name']), exist_ok=True)
    with open(os.path.join(cfg['analysis_dir'], cfg['name'], 'summary.json'), 'w') as f:
        json.dump({'analysis_id': correlate.analysis_identity(ccfg)['analysis_id']}, f)


def test_interrupted_runs_resume_and_stale_evals_redo(tmp_path):
    cfg = config(tmp_path, only=['s1'], analysis='')
    runs = sweep.expand_grid(cfg)
    a, b, c, d, e = runs[:5]
    settings = sweep.eval_settings(cfg)
    fake_checkpoint(a['dir'], finished=False, step=5)  # interrupted: checkpoint, no eval
    fake_checkpoint(b['dir'], finished=False, step=5)
    fake_eval(b['dir'], settings)  # scored while unfinished (--allow_unfinished), then training went on
    fake_checkpoint(b['dir'])
    fake_checkpoint(c['dir'])
    fake_eval(c['dir'], settings)  # done
    fake_checkpoint(d['dir'])
    fake_eval(d['dir'], settings, eval_set={**json.load(open(run_folder.eval_path(c['dir'])))['eval_set'],
                                           'max_docs_per_lang': 7})  # scored on another set
    fake_checkpoint(e['dir'])
    open(run_folder.eval_path(e['dir']), 'w').write('{"bpb": 1.0}')  # no step, no eval_set: an old eval file
    assert [sweep.run_status(r, cfg) for r in (a, b, c, d, e)] == ['resume', 'evaluate', 'done', 'evaluate',
                                                                   'evaluate']
    runner = FakeRunner()
    sweep.main(cfg, runner)
    trained = {cm[cm.index('train.py') + 5][len('--run_dir='):]: '--init_from=resume' in cm
               for cm in runner.scripts('train.py')}
    assert trained == {r['dir']: r is a for r in runs if r not in (b, c, d, e)}  # finished runs are not retrained
    (ev,) = runner.scripts('eval_bpb.py')
    evaluated = ev[2].split('=', 1)[1].split(',')
    assert all(r['dir'] in evaluated for r in (a, b, d, e)) and c['dir'] not in evaluated


def test_a_failed_run_is_reported_and_the_others_go_on(tmp_path):
    cfg = config(tmp_path, only=['s1'], analysis='')
    runs = sweep.expand_grid(cfg)
    runner = FakeRunner(fail=[runs[0]['run']])
    with pytest.raises(SystemExit, match=f"1 run\\(s\\) failed: {runs[0]['run']}"):
        sweep.main(cfg, runner)
    (ev,) = runner.scripts('eval_bpb.py')
    evaluated = ev[2].split('=', 1)[1].split(',')
    assert runs[0]['dir'] not in evaluated and runs[1]['dir'] in evaluated


def test_torchrun_when_more_than_one_gpu(tmp_path):
    cfg = config(tmp_path, only=['s1', 'bpe-2k'], analysis='', num_gpus=4)
    runner = FakeRunner()
    sweep.main(cfg, runner)
    assert all(c[:5] == ['python', '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=4']
               for c in runner.scripts('train.py'))


def test_slurm_scripts_are_valid_bash_naming_every_run_once_evaluation_only_off_the_training_array(tmp_path):
    """Item 4 (issue 22): each training array has a 1-GPU evaluation array of the same runs in the same order; the
    training script holds no evaluation, the evaluation script no training, and each names every run once."""
    cfg = config(tmp_path, launcher='slurm', num_gpus=4, slurm_nodes={'apertus-mini': 2}, slurm_partition='gpu',
                 slurm_setup=['source .venv/bin/activate'], lm_eval_tasks=['uniscale_bpb'])
    runs = sweep.expand_grid(cfg)
    runner = FakeRunner()
    arrays = sweep.main(cfg, runner)
    assert runner.commands == []  # no sbatch on this machine: written, not submitted
    assert [tuple(map(os.path.basename, a)) for a in arrays] == [
        (f"{cfg['name']}_1node.sbatch", f"{cfg['name']}_1node_eval.sbatch"),
        (f"{cfg['name']}_2node.sbatch", f"{cfg['name']}_2node_eval.sbatch")]
    for train, ev in arrays:
        subprocess.run(['bash', '-n', train], check=True)
        subprocess.run(['bash', '-n', ev], check=True)
        t, e = open(train).read(), open(ev).read()
        tasks = re.findall(r'^  \d+\)  # .*$', t, re.M)
        assert tasks and tasks == re.findall(r'^  \d+\)  # .*$', e, re.M)  # task i is run i in both
        assert 'eval_bpb.py' not in t and 'downstream.py' not in t and t.count(' python train.py ') == len(tasks)
        assert 'train.py' not in e and 'srun' not in e and e.count('python eval_bpb.py --run=') == len(tasks)
        assert e.count('python downstream.py --run=') == len(tasks)
        assert '#SBATCH --gpus=1\n' in e and '#SBATCH --ntasks=1\n' in e and '#SBATCH --nodes=1\n' in e
        assert '#SBATCH --partition=gpu' in e and 'source .venv/bin/activate' in e
        assert f"#SBATCH --time={cfg['slurm_eval_time']}" in e and '#SBATCH --kill-on-invalid-dep=yes' in e
        assert 'gpus-per-node' not in e and '--signal' not in e
    texts = [(open(t).read(), open(e).read()) for t, e in arrays]
    for k in (0, 1):
        named = [r['run'] for pair in texts for r in runs if f"# {r['run']}\n" in pair[k]]
        assert sorted(named) == sorted(r['run'] for r in runs)  # every run once, across the scripts of a kind
    (one, _), (two, _) = texts
    assert '#SBATCH --nodes=2' in two and '#SBATCH --gpus-per-node=4' in two and '#SBATCH --partition=gpu' in one
    n_two = sum(r['preset'] == 'apertus-mini' for r in runs)
    assert f"#SBATCH --array=0-{n_two - 1}\n" in two and 'apertus-mini_' in two and 'apertus-mini_' not in one


def test_runs_that_only_need_evaluating_get_an_evaluation_array_alone(tmp_path):
    """A finished run without a current eval file holds no training allocation: it is in {name}_eval.sbatch only."""
    cfg = config(tmp_path, launcher='slurm', only=['s1', 'bpe-2k'])
    done, evaluate, todo = sweep.expand_grid(cfg)[:3]
    for r in (done, evaluate):
        fake_checkpoint(r['dir'])
    fake_eval(done['dir'], sweep.eval_settings(cfg))
    arrays = sweep.main(cfg, FakeRunner())
    assert [tuple(os.path.basename(p) if p else None for p in pair) for pair in arrays] == [
        (None, f"{cfg['name']}_eval.sbatch"), (f"{cfg['name']}_1node.sbatch", f"{cfg['name']}_1node_eval.sbatch")]
    alone, train = open(arrays[0][1]).read(), open(arrays[1][0]).read()
    assert f"# {evaluate['run']}\n" in alone and '#SBATCH --array=0-0\n' in alone and 'train.py' not in alone
    assert f"# {evaluate['run']}\n" not in train and f"# {todo['run']}\n" in train
    assert all(f"# {done['run']}\n" not in open(p).read() for pair in arrays for p in pair if p)
    subprocess.run(['bash', '-n', arrays[0][1]], check=True)


def test_slurm_task_runs_its_own_run(tmp_path):
    cfg = config(tmp_path, launcher='slurm', only=['s1', 'bpe-2k'])
    runs = sweep.expand_grid(cfg)
    ((script, eval_script),) = sweep.main(cfg, FakeRunner())
    bin_dir = tmp_path / 'bin'
    os.makedirs(bin_dir)
    for tool in ('srun', 'python', 'scontrol'):  # each logs its arguments instead of running anything
        (bin_dir / tool).write_text(f'#!/bin/bash\necho "{tool} $*" >> {tmp_path}/calls\n'
                                    + ('[ "$1" != -c ]\n' if tool == 'python' else ''))  # -c: 'not finished'
        os.chmod(bin_dir / tool, 0o755)
    fake_checkpoint(runs[1]['dir'], finished=False, step=5)  # stopped by the time limit: resumes
    env = {**os.environ, 'PATH': f"{bin_dir}:{os.environ['PATH']}", 'SLURM_ARRAY_TASK_ID': '1',
           'SLURM_JOB_NODELIST': 'node1', 'SLURM_NNODES': '1', 'SLURM_JOB_ID': '7', 'SLURM_SUBMIT_DIR': str(ROOT)}
    with open(script) as f:
        text = f.read()
    assert '#SBATCH --signal=USR1@300' in text and '#SBATCH --requeue' in text and os.getcwd() not in text
    assert 'cd "${SLURM_SUBMIT_DIR:-.}"' in text and 'torch.distributed.run' not in text
    # each array task its own rendezvous port, from its own job id: two tasks on one node cannot collide
    port = subprocess.run(['bash', '-c', text[text.index('export MASTER_PORT'):].splitlines()[0].split('#')[0]
                           + '; echo $MASTER_PORT'], env={**os.environ, 'SLURM_JOB_ID': '123457'},
                          capture_output=True, text=True).stdout.split()
    assert port == [str(20000 + 123457 % 20000)]
    # the fake python answers 'not finished' to the checks around training: the task requeues itself
    subprocess.run(['bash', script], check=True, env=env, cwd=tmp_path)
    calls = (tmp_path / 'calls').read_text().splitlines()
    before, launch, after, requeue = [c for c in calls if not c.startswith('scontrol show')]
    assert launch.startswith("srun --kill-on-bad-exit=1 bash -c") and ' python train.py ' in launch
    assert f"--run_dir={runs[1]['dir']}" in launch and launch.endswith('--init_from=resume')
    assert before == after and before.startswith('python -c import sys; from uniscale.run_folder import run_state')
    assert requeue == 'scontrol requeue 7'
    # its evaluation task (started by aftercorr when it exits 0) finds the run unfinished: exit 0, no work
    (tmp_path / 'calls').unlink()
    r = subprocess.run(['bash', eval_script], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0 and 'is not finished: nothing to evaluate' in r.stderr
    assert [c.split(' ', 2)[1] for c in (tmp_path / 'calls').read_text().splitlines()] == ['-c']  # the check only
    # a finished run: the training task launches nothing, the evaluation task scores it (the real python answers)
    (bin_dir / 'python').write_text(f'#!/bin/bash\nif [ "$1" = -c ]; then exec {sys.executable} "$@"; fi\n'
                                    f'echo "python $*" >> {tmp_path}/calls\n')
    fake_checkpoint(runs[1]['dir'])
    (tmp_path / 'calls').unlink()
    subprocess.run(['bash', script], check=True, env={**env, 'PYTHONPATH': str(ROOT)}, cwd=tmp_path)
    assert [c.split(' ', 1)[0] for c in (tmp_path / 'calls').read_text().splitlines()] == ['scontrol']  # no srun
    (tmp_path / 'calls').unlink()
    subprocess.run(['bash', eval_script], check=True, env={**env, 'PYTHONPATH': str(ROOT)}, cwd=tmp_path)
    calls = [c for c in (tmp_path / 'calls').read_text().splitlines() if not c.startswith('scontrol show')]
    assert calls == [f"python eval_bpb.py --run={runs[1]['dir']}"]  # no srun: the batch step's one GPU
    for path in (script, eval_script):
        bad = subprocess.run(['bash', path], env={**env, 'SLURM_ARRAY_TASK_ID': '99'}, cwd=tmp_path,
                             capture_output=True)
        assert bad.returncode == 1 and b'no run for array task 99' in bad.stderr


def test_slurm_task_requeues_after_a_signal_even_when_srun_fails_and_not_after_a_failure(tmp_path):
    """Item 6: under `set -e` a task whose srun exits non-zero after the time limit's USR1 checkpoint still requeues
    (the checkpoint moved on); a train.py that fails without progress is not requeued forever."""
    cfg = config(tmp_path, launcher='slurm', only=['s1', 'bpe-2k'])
    runs = sweep.expand_grid(cfg)
    ((script, _),) = sweep.main(cfg, FakeRunner())
    run_dir = runs[0]['dir']
    bin_dir = tmp_path / 'bin'
    os.makedirs(bin_dir)
    # srun 'trains' to step 7 (progress) or not at all, then exits 143 like a task killed after its checkpoint
    (bin_dir / 'srun').write_text(
        f'#!/bin/bash\nif [ -n "$PROGRESS" ]; then {sys.executable} -c "import sys; sys.path.insert(0, {str(ROOT)!r}); '
        f'sys.path.insert(0, {os.path.join(ROOT, "tests")!r}); from test_sweep import fake_checkpoint; '
        f'fake_checkpoint({run_dir!r}, finished=False, step=7)"; fi\nexit 143\n')
    (bin_dir / 'scontrol').write_text(f'#!/bin/bash\necho "scontrol $*" >> {tmp_path}/calls\n')
    (bin_dir / 'python').write_text(f'#!/bin/bash\nexec {sys.executable} "$@"\n')  # the real one, for the checks
    for tool in ('srun', 'scontrol', 'python'):
        os.chmod(bin_dir / tool, 0o755)
    fake_checkpoint(run_dir, finished=False, step=5)
    env = {**os.environ, 'PATH': f"{bin_dir}:{os.environ['PATH']}", 'SLURM_ARRAY_TASK_ID': '0',
           'SLURM_JOB_NODELIST': 'node1', 'SLURM_JOB_ID': '7', 'PYTHONPATH': str(ROOT)}
    script_text = open(script).read()
    r = subprocess.run(['bash', '-c', script_text], env={**env, 'PROGRESS': '1'}, cwd=ROOT, capture_output=True,
                       text=True)
    calls = [c for c in (tmp_path / 'calls').read_text().splitlines() if not c.startswith('scontrol show')]
    assert r.returncode == 0 and calls == ['scontrol requeue 7'], r.stderr
    (tmp_path / 'calls').unlink()
    r = subprocess.run(['bash', '-c', script_text], env=env, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 143 and 'with no progress: not requeued' in r.stderr
    assert not [c for c in (tmp_path / 'calls').read_text().splitlines() if 'requeue' in c]


def test_slurm_submits_training_then_its_evaluation_task_by_task_then_the_analysis(tmp_path, monkeypatch):
    monkeypatch.setattr(slurm_launch.shutil, 'which', lambda name: '/usr/bin/sbatch')
    cfg = config(tmp_path, launcher='slurm', slurm_nodes={'apertus-mini': 2})
    calls = []

    def runner(cmd, log=None, capture=False, env=None):
        calls.append(cmd)
        return 0, f"{100 + len(calls)};cluster\n"
    arrays = sweep.main(cfg, runner)
    assert [c[:2] for c in calls] == [['sbatch', '--parsable']] * 5
    (t1, e1), (t2, e2) = arrays
    assert calls[0][2:] == [t1] and calls[1][2:] == ['--dependency=aftercorr:101', e1]
    assert calls[2][2:] == [t2] and calls[3][2:] == ['--dependency=aftercorr:103', e2]
    assert calls[4][3] == '--dependency=afterany:102:104' and 'correlate.py scale' in calls[4][4]


def test_slurm_dry_run_says_how_to_submit_with_the_dependencies(tmp_path, capsys):
    cfg = config(tmp_path, launcher='slurm', dry_run=True, only=['s1', 'bpe-2k'])
    ((train, ev),) = sweep.main(cfg, FakeRunner())
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith('submit with: '))
    assert line == (f"submit with: t0=$(sbatch --parsable {train}) && sbatch --parsable "
                    f"--dependency=aftercorr:${{t0%%;*}} {ev}")
    assert 'then, when the evaluations have finished: python correlate.py scale' in out
    subprocess.run(['bash', '-n', '-c', line[len('submit with: '):]], check=True)


def test_an_eval_split_other_than_test_is_followed_through(tmp_path):
    cfg = config(tmp_path, only=['s1', 'bpe-2k'], eval_args={'split': 'val'})
    run = sweep.expand_grid(cfg)[0]
    fake_checkpoint(run['dir'])
    fake_eval(run['dir'], {'split': 'test'})  # the test split's: not what this sweep asks for
    assert sweep.run_status(run, cfg) == 'evaluate'
    fake_eval(run['dir'], sweep.eval_settings(cfg))
    assert sweep.run_status(run, cfg) == 'done'
    assert '--split=val' in sweep.analysis_command(cfg)


def test_a_run_without_the_sweeps_downstream_tasks_is_evaluated_again(tmp_path):
    cfg = config(tmp_path, only=['s1', 'bpe-2k'], lm_eval_tasks=['xnli_en'])
    run = sweep.expand_grid(cfg)[0]
    fake_checkpoint(run['dir'])
    fake_eval(run['dir'], sweep.eval_settings(cfg))
    assert sweep.run_status(run, cfg) == 'evaluate'  # bpb is current, the task is not there
    fake_eval(run['dir'], sweep.eval_settings(cfg), lm_eval={'scored': {'xnli_en': 9}})
    assert sweep.run_status(run, cfg) == 'evaluate'  # scored on another checkpoint
    fake_eval(run['dir'], sweep.eval_settings(cfg), lm_eval={'scored': {'xnli_en': 10}})
    assert sweep.run_status(run, cfg) == 'done'


def test_parallel_local_runs_share_the_cores_and_log_to_files(tmp_path):
    cfg = config(tmp_path, only=['s1'], analysis='', parallel=2)
    runs = sweep.expand_grid(cfg)
    runner = FakeRunner()
    sweep.main(cfg, runner)
    trains, evals = runner.scripts('train.py'), runner.scripts('eval_bpb.py')
    assert len(trains) == len(runs) and len(evals) == 2  # the trained runs evaluated in two processes
    assert sorted(d for e in evals for d in e[2].split('=', 1)[1].split(',')) == sorted(r['dir'] for r in runs)
    threads = str(max(1, (os.cpu_count() or 1) // 2))
    assert all(env['OMP_NUM_THREADS'] == threads for env in runner.envs)


@pytest.mark.parametrize('path,n_runs', [('config/sweep_demo.py', 5 * 3 * 2 + 3 * 5), ('config/sweep_ab_demo.py', 6),
                                         ('config/sweep_fineweb2.py', 84 + 3 * 7),
                                         ('config/sweep_fineweb2_bytes.py', 84 + 3 * 7),
                                         ('config/sweep_ab_tinystories.py', 12),
                                         ('config/sweep_ab_tinystories_bytes.py', 12)])
def test_the_study_configs_load_and_size_their_grids(path, n_runs):
    """Each study's grid (+ its lr scan: 2 multipliers and 1 absolute lr x every tokenizer at the smallest size)."""
    ns = configurator.defaults(sweep)
    cfg = configurator.configure(ns, [path])
    assert len(sweep.expand_grid(cfg)) == n_runs and cfg['base_config'].startswith('config/')


def test_dry_run_shows_finished_runs_without_commands(tmp_path, capsys):
    cfg = config(tmp_path, dry_run=True, only=['s1', 'bpe-2k'])
    done, todo = sweep.expand_grid(cfg)[:2]
    fake_checkpoint(done['dir'])
    fake_eval(done['dir'], sweep.eval_settings(cfg))
    sweep.main(cfg, FakeRunner())
    out = capsys.readouterr().out
    assert f"done      {done['run']}" in out and f"todo      {todo['run']}" in out
    assert f"--run_dir={done['dir']} " not in out and f"--run_dir={todo['dir']} " in out


def test_the_fineweb2_recipe_follows_its_written_rule_and_never_repeats_data():
    """config/sweep_fineweb2.py: lr and batch from DeepSeek LLM's fits at C = 6 N D (D at 4 bytes per token), batches
    that divide into micro batch x GPUs, warmup 5% of the steps, budgets within the prepared train split."""
    import math

    from model import GPT, make_config
    ns = configurator.defaults(sweep)
    cfg = configurator.configure(ns, ['config/sweep_fineweb2.py'])
    prep = {}
    exec(open('config/fineweb2.py').read(), prep)
    for preset, args in cfg['preset_args'].items():
        with torch.device('meta'):  # the parameter count without allocating a 1B model
            n = GPT(make_config(preset, vocab_size=80_000, block_size=2048)).num_params(non_embedding=True)
        tokens = args['budget'] / 4
        c = 6 * n * tokens
        assert args['lr'] == pytest.approx(0.3118 * c ** -0.125, rel=0.05), preset
        batch_rule = 0.2920 * c ** 0.3271 / 2048  # sequences
        assert abs(math.log2(args['batch_size'] / batch_rule)) <= 0.5, preset  # the nearest power of two
        gpus = cfg['num_gpus'] * cfg['slurm_nodes'].get(preset, 1)
        assert args['batch_size'] % (args['micro_batch_size'] * gpus) == 0, preset
        steps = tokens / (args['batch_size'] * 2048)
        assert args['warmup_steps'] == pytest.approx(0.05 * steps, rel=0.05), preset
        assert args['budget'] <= prep['train_bytes'], preset  # one epoch at most


# ---------------------------------------------------------------- issue 20: a run is done only as what it is
def checkpoint_as_sweep_asks(run, cfg, **config_extra):
    """A finished checkpoint whose request is exactly what the sweep would launch train.py with now."""
    import train
    request = configurator.configure(configurator.defaults(train), sweep.train_command(run, cfg)[1:])
    fake_checkpoint(run['dir'])
    ckpt_path = os.path.join(run['dir'], 'ckpt.pt')
    ckpt = torch.load(ckpt_path, weights_only=True)
    ckpt['request'] = request
    ckpt['config'].update(config_extra)
    torch.save(ckpt, ckpt_path)


def test_changed_settings_or_tokenizer_are_not_done_and_stop_the_grid(tmp_path, capsys, monkeypatch):
    """Row 2: new budget and lr (or a replaced tokenizer) beside runs trained with the old ones used to say
    '24 done'. Now the run says what differs and that it must be retrained, and nothing launches."""
    monkeypatch.setattr(sweep, 'grid_problems', ORIGINAL_GRID_PROBLEMS)
    cfg = config(tmp_path, only=['s1', 'bpe-2k', 'apertus-micro'], lr_scan=[])
    (run,) = sweep.expand_grid(cfg)
    (tmp_path / 'tok' / 'bpe-2k' / 'meta.json').write_text(json.dumps({'hash': 'a' * 64, 'name': 'bpe-2k'}))
    checkpoint_as_sweep_asks(run, cfg, tokenizer_hash='a' * 64)
    fake_eval(run['dir'], sweep.eval_settings(cfg))
    assert sweep.run_status(dict(run), cfg) == 'done'  # unchanged: still done
    budget = cfg['preset_args']['apertus-micro']['budget']
    changed = {**cfg, 'train_args': {**cfg['train_args'], 'lr': 0.01},
               'preset_args': {**cfg['preset_args'], 'apertus-micro': {'budget': 800_000}}}
    r = dict(run)
    assert sweep.run_status(r, changed) == 'changed'
    assert f'budget={float(budget)} (now 800000.0)' in r['why'] and 'lr=' in r['why'] and 'retrained' in r['why']
    runner = FakeRunner()
    with pytest.raises(SystemExit) as e:
        sweep.main(changed, runner)
    assert 'problem(s) stop the grid' in str(e.value) and runner.commands == []
    with pytest.raises(SystemExit, match='problem\\(s\\) stop the grid'):  # making inputs cannot fix it: a dry run
        sweep.main({**changed, 'dry_run': True}, runner)                  # says so too, and exits 1
    (tmp_path / 'tok' / 'bpe-2k' / 'meta.json').write_text(json.dumps({'hash': 'b' * 64, 'name': 'bpe-2k'}))
    r = dict(run)
    assert sweep.run_status(r, cfg) == 'changed' and 'retrained or replaced' in r['why']


ORIGINAL_GRID_PROBLEMS = sweep.grid_problems


def test_a_second_sweep_on_one_grid_refuses(tmp_path):
    """Row 7: two sweeps of one grid would train every run twice; the second refuses in one line."""
    cfg = config(tmp_path, only=['s1', 'bpe-2k'])
    with held_elsewhere(cfg['sweep_dir'], 'sweep', name=f".{cfg['name']}.lock") as pid:
        runner = FakeRunner()
        with pytest.raises(SystemExit) as e:
            sweep.main(cfg, runner)
        assert f"pid {pid}" in str(e.value) and '\n' not in str(e.value) and runner.commands == []
    sweep.main(cfg, FakeRunner())  # the holder is gone


def test_a_stopped_sweep_stops_its_jobs(tmp_path):
    """Row 8: SIGTERM to a sweep reaches its running train.py (its own process group), which is gone when the
    sweep exits; no orphan keeps writing."""
    cfg = config(tmp_path, only=['s1', 'bpe-2k', 'apertus-micro'])
    marker = tmp_path / 'job'
    # the 'python' of the sweep: records its pid, and on SIGTERM writes 'term' (as train.py checkpoints) and exits
    fake = tmp_path / 'fake_python'
    fake.write_text(f"#!{sys.executable}\nimport os, signal, sys, time\n"
                    f"signal.signal(signal.SIGTERM, lambda *a: (open({str(marker)!r}, 'a').write('term'), sys.exit(0)))\n"
                    f"open({str(marker)!r}, 'w').write(str(os.getpid()) + ' ')\ntime.sleep(120)\n")
    os.chmod(fake, 0o755)
    code = ("import sys; sys.path.insert(0, %r); sys.path.insert(0, %r); import sweep\n"
            "sweep.grid_problems = lambda runs, cfg: []\nsweep.main(%r)") % (ROOT, os.path.join(ROOT, 'tests'),
                                                                                {**cfg, 'python': str(fake)})
    p = subprocess.Popen([sys.executable, '-c', code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    for _ in range(300):
        if marker.exists() and marker.read_text().strip():
            break
        time.sleep(0.1)
    job_pid = int(marker.read_text().split()[0])
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 1 and err.strip().splitlines()[-1].startswith('sweep: stopped by SIGTERM; 1 running job')
    assert 'Traceback' not in err and marker.read_text().endswith('term')  # the job was asked to stop, and did
    with pytest.raises(ProcessLookupError):
        os.kill(job_pid, 0)


# ---------------------------------------------------------------- issue 21: the lr scan
def lr_of(argv):
    """The lr train.py would train with for these arguments: its own defaults and config reading."""
    import train
    return configurator.configure(configurator.defaults(train), argv)['lr']


def test_lr_scan_runs_are_the_smallest_sizes_runs_at_multiples_of_their_lr(tmp_path, capsys, correlate_reads_the_scan):
    """lr_scan=[0.5, 1, 2]: at the smallest preset (listed last here) and the first seed, every tokenizer once per
    multiplier but 1 (the grid's own run), named {preset}_{tokenizer}_s{seed}_lr{m}, --lr = m x the lr the grid's run
    trains with (base config, preset_args, tokenizer_args); trained, evaluated and analysed apart."""
    cfg = config(tmp_path, presets=['apertus-tiny', 'apertus-micro'], seeds=[3, 1], lr_scan=[0.5, 1, 2.0],
                 preset_args={'apertus-micro': {'lr': 4e-3, 'budget': 200_000}},
                 tokenizer_args={'bpe-4k': {'lr': 1e-3}})
    runs = sweep.expand_grid(cfg)
    scan = [r for r in runs if 'lr_mult' in r]
    assert [r['run'] for r in scan] == [f"apertus-micro_{t}_s3_lr{m}" for m in ('0.5', '2') for t in cfg['tokenizers']]
    assert all(r['dir'] == os.path.join(cfg['runs_dir'], r['run']) for r in scan)
    for r in scan:
        argv = sweep.train_command(r, cfg)[1:]
        base = sweep.train_command({k: v for k, v in r.items() if k != 'lr_mult'}, cfg)[1:]
        assert sum(a.startswith('--lr=') for a in argv) == 1 and '--budget=200000' in argv
        assert lr_of(argv) == pytest.approx(r['lr_mult'] * lr_of(base), rel=1e-12)
        assert lr_of(base) == (1e-3 if r['tokenizer'] == 'bpe-4k' else 4e-3)  # the grid run's own lr
        assert [a for a in argv if not a.startswith(('--lr=', '--run_dir='))] == \
            [a for a in base if not a.startswith(('--lr=', '--run_dir='))]  # nothing else differs
    # the plan shows them; the local launcher trains and evaluates them; the analysis gets them apart
    runner = FakeRunner()
    sweep.main(cfg, runner)
    out = capsys.readouterr().out
    assert all(f"  todo      {r['run']} " in out for r in scan) and '+ 10 lr-scan runs at apertus-micro, seed 3' in out
    trained = {c[c.index('train.py') + 5][len('--run_dir='):] for c in runner.scripts('train.py')}
    assert trained == {r['dir'] for r in runs}
    assert {d for c in runner.scripts('eval_bpb.py') for d in c[2].split('=', 1)[1].split(',')} == trained
    (an,) = runner.scripts('correlate.py')
    assert an[3] == '--runs=' + ','.join(r['dir'] for r in runs if 'lr_mult' not in r)
    assert f"--lr_scan_runs={','.join(r['dir'] for r in scan)}" in an
    # filters pick scan runs as the others (by preset, tokenizer, seed)
    assert [r['run'] for r in sweep.expand_grid({**cfg, 'only': ['bpe-2k', 's3', 'apertus-micro']})] == [
        'apertus-micro_bpe-2k_s3', 'apertus-micro_bpe-2k_s3_lr0.5', 'apertus-micro_bpe-2k_s3_lr2']
    assert all('lr_mult' not in r for r in sweep.expand_grid({**cfg, 'only': ['s1']}))
    # no scan: no scan runs and no --lr_scan_runs
    assert '--lr_scan_runs' not in ' '.join(sweep.analysis_command({**cfg, 'lr_scan': []}))


def test_lr_scan_runs_go_into_the_slurm_arrays(tmp_path):
    cfg = config(tmp_path, launcher='slurm', only=['s1'], lr_scan=[0.5, 2.0])
    ((script, ev),) = sweep.main(cfg, FakeRunner())
    text = open(script).read()
    scan = [r for r in sweep.expand_grid(cfg) if 'lr_mult' in r]
    assert len(scan) == 2 * len(cfg['tokenizers'])
    for r in scan:
        assert text.count(f"# {r['run']}\n") == 1
        lr = float(f"{r['lr_mult'] * 3e-3:.12g}")  # config/train_demo.py's lr times the multiplier
        assert f"--run_dir={r['dir']} " in text and f" --lr={lr}" in text
        assert open(ev).read().count(f"# {r['run']}\n") == 1
    subprocess.run(['bash', '-n', script], check=True)


@pytest.mark.parametrize('scan,match', [
    ([0], "0 is not a positive multiplier"), ([-1.0], "-1.0 is not a positive multiplier"),
    (['a'], "'a' is not a positive multiplier"), ([True], "True is not a positive multiplier"),
    ([2, 2.0], "names a run twice"),
])
def test_a_bad_lr_scan_is_one_line(tmp_path, scan, match):
    with pytest.raises(SystemExit, match=match) as e:
        sweep.expand_grid(config(tmp_path, lr_scan=scan))
    assert '\n' not in str(e.value)
    with pytest.raises(SystemExit, match="lr_scan is the scale study's check"):
        sweep.expand_grid(config(tmp_path, lr_scan=[0.5], analysis='ab'))
    assert sweep.expand_grid(config(tmp_path, lr_scan=[1])) == sweep.expand_grid(config(tmp_path, lr_scan=[]))


def test_the_smallest_preset_is_counted_not_listed_first():
    from model import GPT, PRESETS, make_config
    from uniscale import preflight_check
    with torch.device('meta'):
        sizes = {p: GPT(make_config(p, vocab_size=256, block_size=64)).num_params(non_embedding=True)
                 for p in ('apertus-mini', 'gpt2-tiny', 'apertus-micro', 'apertus-tiny')}
    assert preflight_check.smallest_preset(tuple(sizes)) == min(sizes, key=sizes.get) == 'apertus-micro'
    assert 'apertus-5M' not in PRESETS  # an unknown name: the grid's check names it; it is not the smallest
    assert preflight_check.smallest_preset(('apertus-5M', 'apertus-tiny')) == 'apertus-tiny'


# ---------------------------------------------------------- issue 27 row 1: other code is not done
@pytest.fixture
def fork(tmp_path, monkeypatch):
    """Switch the code identity to a fork's checkout: model.py's token_losses with label
    smoothing."""
    from test_code_identity import LABEL_SMOOTHING, PLAIN_LOSS, edit, source_copy
    from uniscale import code_identity
    root = source_copy(tmp_path)
    edit(root / 'model.py', PLAIN_LOSS, LABEL_SMOOTHING)
    return lambda: monkeypatch.setattr(code_identity, 'ROOT', str(root))


def test_runs_of_other_code_are_their_own_status_stop_the_grid_and_are_kept(tmp_path, fork, capsys):
    cfg = config(tmp_path, only=['s1', 'bpe-2k', 'apertus-micro'], lr_scan=[], analysis='')
    (run,) = sweep.expand_grid(cfg)
    checkpoint_as_sweep_asks(run, cfg)
    fake_eval(run['dir'], sweep.eval_settings(cfg))
    assert sweep.run_status(dict(run), cfg) == 'done'
    fork()  # row 1: it used to stay "done"
    r = dict(run)
    assert sweep.run_status(r, cfg) == 'other code' and 'differs in model.py' in r['why']
    for dry in (True, False):
        runner = FakeRunner()
        with pytest.raises(SystemExit) as e:
            sweep.main({**cfg, 'dry_run': dry}, runner)
        (line,) = [x for x in str(e.value).splitlines() if 'not computed by this code' in x]
        assert "code_changes='retrain'" in line and "code_changes='keep'" in line
        assert 'model.py' in line
        assert runner.commands == []
    assert 'other code' in capsys.readouterr().out
    runner = FakeRunner()
    sweep.main({**cfg, 'code_changes': 'keep'}, runner)  # counted as this code's: nothing runs
    assert runner.commands == [] and len(read_config(run)['code_kept']) == 1
    assert sweep.run_status(dict(run), cfg) == 'evaluate'  # kept; its eval code (model.py) differs
    runner = FakeRunner()
    sweep.main({**cfg, 'code_changes': 'retrain'}, runner)  # nothing to retrain: kept
    assert runner.scripts('train.py') == [] and runner.scripts('eval_bpb.py')
    assert sweep.run_status(dict(run), cfg) == 'done'


def read_config(run):
    with open(os.path.join(run['dir'], 'config.json')) as f:
        return json.load(f)


def test_retrain_moves_a_run_of_other_code_aside_and_trains_it_again(tmp_path, fork):
    cfg = config(tmp_path, only=['s1', 'bpe-2k', 'apertus-micro'], lr_scan=[], analysis='')
    (run,) = sweep.expand_grid(cfg)
    checkpoint_as_sweep_asks(run, cfg)
    old = read_config(run)['code']['sha256']
    fork()
    runner = FakeRunner()
    sweep.main({**cfg, 'code_changes': 'retrain'}, runner)
    (moved,) = os.listdir(os.path.join(cfg['runs_dir'], '.replaced'))
    assert moved == f"{run['run']}.{old[:8]}"  # nothing lost
    assert os.path.isfile(os.path.join(cfg['runs_dir'], '.replaced', moved, 'ckpt.pt'))
    (train_cmd,) = runner.scripts('train.py')
    assert '--init_from=resume' not in train_cmd and sweep.run_status(dict(run), cfg) == 'done'


def test_a_run_without_a_code_identity_is_code_unknown(tmp_path):
    cfg = config(tmp_path, only=['s1', 'bpe-2k', 'apertus-micro'], lr_scan=[], analysis='')
    (run,) = sweep.expand_grid(cfg)
    checkpoint_as_sweep_asks(run, cfg)
    c = read_config(run)
    del c['code']  # written before runs recorded their code
    with open(os.path.join(run['dir'], 'config.json'), 'w') as f:
        json.dump(c, f)
    r = dict(run)
    assert sweep.run_status(r, cfg) == 'code unknown' and 'code unknown' in r['why']


# ---------------------------------------------------------- issue 27 rows 2, 4: one rule, no paths
def test_a_neutral_new_key_keeps_old_runs_done_and_moved_tokenizers_too(tmp_path, monkeypatch):
    import train
    cfg = config(tmp_path, only=['s1', 'bpe-2k', 'apertus-micro'], lr_scan=[], analysis='')
    (run,) = sweep.expand_grid(cfg)
    checkpoint_as_sweep_asks(run, cfg)
    fake_eval(run['dir'], sweep.eval_settings(cfg))
    monkeypatch.setattr(train, 'z_loss', 0.0, raising=False)  # row 2: a key the old run lacks
    r = dict(run)
    assert sweep.run_status(r, cfg) == 'changed'
    assert 'z_loss=<not recorded, not in LEGACY_DEFAULTS> (now 0.0)' in r['why']
    monkeypatch.setitem(train.LEGACY_DEFAULTS, 'z_loss', 0.0)  # listed, at its old behaviour
    assert sweep.run_status(dict(run), cfg) == 'done'
    moved = tmp_path / 'moved_tokenizers'  # row 4: the tokenizers moved (same content)
    shutil.copytree(cfg['tokenizers_dir'], moved)
    for spelling in (str(moved), str(moved) + '/', os.path.relpath(moved)):
        assert sweep.run_status(dict(run), {**cfg, 'tokenizers_dir': spelling}) == 'done'
    elsewhere = {**cfg, 'train_args': {**cfg['train_args'], 'out_dir': '/else/out'}}
    assert sweep.run_status(dict(run), elsewhere) == 'done'


def test_a_moved_tokenizer_folder_is_recorded_where_evaluations_find_it(tmp_path):
    cfg = config(tmp_path, only=['s1', 'bpe-2k', 'apertus-micro'], lr_scan=[], analysis='')
    (run,) = sweep.expand_grid(cfg)
    meta = json.dumps({'hash': 'a' * 64, 'name': 'bpe-2k'})
    (tmp_path / 'tok' / 'bpe-2k' / 'meta.json').write_text(meta)
    checkpoint_as_sweep_asks(run, cfg, tokenizer_hash='a' * 64)
    c = read_config(run)
    with open(os.path.join(run['dir'], 'config.json'), 'w') as f:
        json.dump({**c, 'tokenizer': str(tmp_path / 'tok' / 'bpe-2k'), 'tokenizer_hash': 'a' * 64},
                  f)
    fake_eval(run['dir'], sweep.eval_settings(cfg))
    shutil.move(tmp_path / 'tok', tmp_path / 'moved')
    moved = {**cfg, 'tokenizers_dir': str(tmp_path / 'moved')}
    assert sweep.run_status(dict(run), moved) == 'done'
    sweep.main(moved, FakeRunner())
    assert read_config(run)['tokenizer'] == str(tmp_path / 'moved' / 'bpe-2k')


def test_ab_analysis_names_the_sweeps_first_tokenizer_its_baseline(tmp_path):
    import correlate
    cfg = config(tmp_path, analysis='ab', lr_scan=[],
                 tokenizers=['bpe-2k', 'btm-1k-2k', 'superbpe-t1.6k-2k'])
    cmd = sweep.analysis_command(cfg)
    ccfg = correlate.checked_config(configurator.configure(configurator.defaults(correlate),
                                                           cmd[1:]))
    assert cmd[1] == 'ab' and ccfg['base_tokenizer'] == 'bpe-2k'
    scale = sweep.analysis_command({**cfg, 'analysis': 'scale'})
    assert not any(a.startswith('--base_tokenizer') for a in scale)
