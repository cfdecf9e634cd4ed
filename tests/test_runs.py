"""runs.py: what a run folder is. A checkpoint that is not one is a one-line error in every script that reads it;
finished means train.py wrote the last step; an eval file is current only for the same checkpoint and settings."""
import json
import os
import subprocess
import sys

import pytest
import torch

from helpers import random_model
from uniscale import run_folder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def broken_checkpoints(tmp_path):
    """A text file, a torch file cut in half, and a torch file that holds no uniscale checkpoint."""
    good = tmp_path / 'good.pt'
    torch.save({'model': {'w': torch.zeros(10_000)}, 'model_config': {}, 'step': 3}, good)
    (tmp_path / 'text.pt').write_text('not a checkpoint')
    (tmp_path / 'cut.pt').write_bytes(good.read_bytes()[:good.stat().st_size // 2])
    torch.save({'weights': torch.zeros(3)}, tmp_path / 'foreign.pt')
    return {'text': tmp_path / 'text.pt', 'cut': tmp_path / 'cut.pt', 'foreign': tmp_path / 'foreign.pt'}


@pytest.mark.parametrize('kind', ['text', 'cut', 'foreign'])
@pytest.mark.parametrize('mmap', [False, True])
def test_a_broken_checkpoint_is_one_line_naming_the_file(tmp_path, kind, mmap):
    path = broken_checkpoints(tmp_path)[kind]
    with pytest.raises(SystemExit) as e:
        run_folder.load_checkpoint(str(path), mmap=mmap)
    msg = str(e.value)
    assert msg.startswith(f"{path}: ") and '\n' not in msg and ('train the run again' in msg or 'train.py' in msg)


def test_read_json_names_the_file_for_a_corrupt_or_missing_file(tmp_path):
    bad = tmp_path / 'eval.json'
    bad.write_text('{"bpb": 1.0,')
    with pytest.raises(SystemExit, match=rf"{bad}: corrupt eval.json .*; re-run eval_bpb.py"):
        run_folder.read_json(str(bad), 're-run eval_bpb.py')
    with pytest.raises(SystemExit, match='gone.json: gone.json not found'):
        run_folder.read_json(str(tmp_path / 'gone.json'))
    assert run_folder.read_json(str(tmp_path / 'gone.json'), default=None) is None


def write_run(run_dir, tok_dir, step, total):
    os.makedirs(run_dir, exist_ok=True)
    model = random_model()
    import dataclasses

    from uniscale import tokenization
    cfg = {'preset': 'gpt2-tiny', 'seed': 1, 'tokenizer': tok_dir, 'corpus': 'tiny', 'block_size': 32,
           'tokenizer_hash': tokenization.load_tokenizer(tok_dir).hash, 'total_steps': total}
    (run_dir / 'config.json').write_text(json.dumps(cfg))
    torch.save({'model': model.state_dict(), 'model_config': dataclasses.asdict(model.config), 'config': cfg,
                'step': step, 'done': step == total}, run_dir / 'ckpt.pt')


def test_run_state_says_finished_only_for_the_last_step(tmp_path, tok_dir):
    write_run(tmp_path / 'a', tok_dir, 5, 10)
    write_run(tmp_path / 'b', tok_dir, 10, 10)
    assert run_folder.run_state(str(tmp_path / 'a')) == {'step': 5, 'total_steps': 10, 'finished': False}
    assert run_folder.run_state(str(tmp_path / 'b'))['finished'] and run_folder.run_state(str(tmp_path / 'none')) is None
    with pytest.raises(SystemExit, match=r'unfinished run \(checkpoint at step 5 of 10\)'):
        run_folder.refuse_unfinished('a', run_folder.run_state(str(tmp_path / 'a')))


@pytest.mark.parametrize('script', ['eval_bpb.py', 'sample.py', 'export_hf.py'])
def test_scripts_reading_a_broken_checkpoint_fail_in_one_line(tmp_path, tok_dir, script):
    run_dir = tmp_path / 'run'
    write_run(run_dir, tok_dir, 10, 10)
    (run_dir / 'ckpt.pt').write_bytes((run_dir / 'ckpt.pt').read_bytes()[:5000])  # cut short by a full disk
    args = {'export_hf.py': [f'--run={run_dir}', f'--out={tmp_path / "hf"}']}.get(script, [f'--run={run_dir}'])
    r = subprocess.run([sys.executable, script] + args, cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, 'HF_HUB_OFFLINE': '1'})
    err = r.stderr.strip().splitlines()
    assert r.returncode != 0 and 'Traceback' not in r.stderr and len(err) == 1, r.stderr[-1500:]
    assert err[0].startswith(f"{run_dir / 'ckpt.pt'}: not a readable uniscale checkpoint")
