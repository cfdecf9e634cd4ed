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


def encoded_embedded_corpus(root, name='bpe-a', vocab_size=300, **settings):
    """A small embedded corpus under {root}/out and one BPE trained on its tok split, encoded: a
    private out/ a test may damage. settings: prepare.py's, over the small defaults here."""
    import json

    import configurator
    import prepare
    pcfg = configurator.defaults(prepare)
    pcfg.update({'out_dir': str(root / 'out'), 'embedded_bytes': 120_000, 'tok_bytes': 40_000,
                 'eval_fraction': 0.1, 'num_workers': 1, 'chunk_docs': 16, **settings})
    prepare.make_splits(pcfg)
    with open(root / 'out' / 'corpus' / 'embedded' / 'tok.jsonl') as f:
        texts = [json.loads(line)['text'] for line in f]
    tok = str(root / 'tokenizers' / name)
    tokenizer.train_bpe(texts, vocab_size, tok, name=name)
    prepare.encode_corpus(pcfg, tok)
    return {'out': pcfg['out_dir'], 'tok': tok, 'pcfg': pcfg,
            'tokens': os.path.join(pcfg['out_dir'], 'tokens', 'embedded', name)}


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


# ------------------------------------------------- issue 27: tolerances from the arithmetic
FP32_EPS = torch.finfo(torch.float32).eps  # 2**-23: the relative size of one float32 rounding
# c of a tiny model's forward (norms, attention, MLP, head, log-softmax): ~12 chained fp32 stages
# (2 layers x 5, the head, the log-softmax), each within eps*sqrt(n) of its inputs' scale, x2 for
# the layers' gain
C_FORWARD = 24
# c of its backward as well: about twice the stages, each gradient a sum over the tokens too
C_BACKWARD = 48


def fp32_tolerance(n, c=C_FORWARD):
    """Relative error of an fp32 computation whose longest reduction sums n terms, against the
    same formula in float64: a sum of n rounded terms drifts like eps*sqrt(n) (the probabilistic
    bound, Higham & Mary 2019), c counts the chained stages that each add theirs. No CPU in it:
    BLAS kernels and thread counts differ in the order they sum, not in how much they round."""
    return c * FP32_EPS * n ** 0.5


def fp32_error_ratio(got, ref, n, c=C_FORWARD, scale=None, what=''):
    """max |got - ref| / (fp32_tolerance(n, c) * scale): at most 1 when fp32 `got` is float64
    `ref` up to rounding. scale: what the error is relative to, a number or one per element
    (default max |ref|). With UNISCALE_NUMERIC_LOG set, each ratio is appended to that file with
    the BLAS/CPU path it ran on (bench/RESULTS.md reports the largest)."""
    got, ref = (torch.as_tensor(v, dtype=torch.float64).detach().cpu() for v in (got, ref))
    scale = ref.abs().max() if scale is None else torch.as_tensor(scale, dtype=torch.float64)
    ratio = ((got - ref).abs() / (fp32_tolerance(n, c) * scale)).max().item()
    if os.environ.get('UNISCALE_NUMERIC_LOG'):
        test = os.environ.get('PYTEST_CURRENT_TEST', '?').split(' ')[0]
        cell = (f"MKL_CBWR={os.environ.get('MKL_CBWR', '-')} "
                f"ATEN_CPU_CAPABILITY={os.environ.get('ATEN_CPU_CAPABILITY', '-')} "
                f"threads={torch.get_num_threads()}")
        with open(os.environ['UNISCALE_NUMERIC_LOG'], 'a') as f:
            f.write(f'{cell}\t{test}\t{what}\t{ratio:.4g}\n')
    return ratio


def assert_fp32_close(got, ref, n, c=C_FORWARD, scale=None, what=''):
    """fp32 `got` equals float64 `ref` of the same formula within fp32_tolerance(n, c) * scale
    (see fp32_error_ratio); the message gives the measured error as a fraction of the bound."""
    ratio = fp32_error_ratio(got, ref, n, c, scale, what)
    assert ratio <= 1, f'{what}: fp32 error {ratio:.3g} x the bound {c} eps sqrt({n}) (relative)'


def float64_copy(model):
    """The same weights in float64, for a reference: use it under float64_math()."""
    import copy
    return copy.deepcopy(model).double()


@contextmanager
def float64_math():
    """Within the block, Tensor.float() leaves a float64 tensor float64: model.py upcasts to fp32
    for bf16 inputs (norms, xIELU, RoPE, the loss's logits); a float64 reference of the same
    formula must not round there."""
    original = torch.Tensor.float

    def at_least_fp32(self, *args, **kwargs):
        return self if self.dtype == torch.float64 else original(self, *args, **kwargs)
    torch.Tensor.float = at_least_fp32
    try:
        yield
    finally:
        torch.Tensor.float = original


def longest_reduction(cfg, n_tokens=0):
    """n for fp32_tolerance of a model's forward or loss: its longest sum, the MLP's width, the
    vocabulary's log-softmax, or n_tokens (attention's context, or the tokens a loss or gradient
    sums over)."""
    return max(cfg.n_embd, cfg.d_ff, cfg.vocab_size, n_tokens)
