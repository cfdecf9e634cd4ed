"""Helpers shared by the test files: a small trained tokenizer, a random tiny model, a lock held by another
process, a script run as a user runs it and its one-line refusal."""
import os
import subprocess
import sys
from contextlib import contextmanager

import torch

import tokenizer
from data.embedded import generate
from model import GPT, make_config

VOCAB = 400
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT_ENV = {**os.environ, 'HF_HUB_OFFLINE': '1', 'HF_DATASETS_OFFLINE': '1', 'TOKENIZERS_PARALLELISM': 'false'}


def train_small_bpe(path):
    """A 400-id BPE on 60 kB of the generated corpus (seed 3): enough structure for eval and sampling tests."""
    tokenizer.train_bpe([d['text'] for d in generate.generate_documents(60_000, seed=3)], VOCAB, path)
    return path


def random_model(preset='gpt2-tiny', block_size=32, seed=0):
    """Every weight perturbed, so predictions vary from token to token and position to position."""
    torch.manual_seed(seed)
    model = GPT(make_config(preset, vocab_size=VOCAB, block_size=block_size)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model


@contextmanager
def held_elsewhere(folder, what, name='.lock'):
    """The folder's lock (uniscale/locks.py) held by another process for the block; yields that process's pid."""
    holder = subprocess.Popen([sys.executable, '-c', (
        "import sys, time; sys.path.insert(0, %r); from uniscale import locks\n"
        "with locks.hold(%r, %r, name=%r):\n    print('held', flush=True); time.sleep(60)")
        % (ROOT, str(folder), what, name)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()


def stderr_lines(text):
    """A script's stderr as its lines, less blank ones and progress bars."""
    return [line for line in text.splitlines() if line.strip() and '%|' not in line]


def run_script(*cmd, timeout=600, **kw):
    """A script as a user runs it (python {cmd}, from the repo root, offline) -> (exit code, stderr lines)."""
    p = subprocess.run([sys.executable, *cmd], cwd=ROOT, env=SCRIPT_ENV, capture_output=True, text=True,
                       timeout=timeout, **kw)
    return p.returncode, stderr_lines(p.stderr)


def one_line(rc, err, *needles):
    """A refusal as the project makes them: a non-zero exit, one line on stderr naming each needle, no traceback."""
    assert rc != 0 and len(err) == 1 and 'Traceback' not in err[0], err
    for n in needles:
        assert n in err[0], err[0]
    return err[0]
