"""uniscale/preflight_check.py through `sweep.py --preflight=True` and `--dry_run=True`, on CPU, on a tiny grid built here: the JSON's
fields, FLOPs against a count from the presets' shapes, the commands named for a missing tokenizer and missing shards
(run, they make what was missing), and an out-of-memory (simulated) that lowers micro_batch_size."""
import json
import math
import os
import shlex
import subprocess
import sys

import pytest
import torch

import configurator
import prepare
import sweep
import train
from helpers import train_small_bpe
from model import PRESETS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIELDS = {'preset', 'tokenizer', 'block_size', 'micro_batch_size', 'device', 'peak_mem_bytes', 'tok_per_s', 'mfu',
          'flops_per_token', 'train_flops', 'est_gpu_hours', 'ok', 'error'}  # DESIGN.md's preflight.json entry
BLOCK, BATCH, BUDGET_BYTES = 32, 8, 40_000

pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """Text splits of a small embedded corpus, a 400-id BPE (tests/helpers.py) and its token shards."""
    root = tmp_path_factory.mktemp('preflight')
    pcfg = configurator.defaults(prepare)
    pcfg.update(out_dir=str(root / 'out'), embedded_bytes=150_000, tok_bytes=60_000, eval_fraction=0.1,
                num_workers=1, chunk_docs=64)
    prepare.make_splits(pcfg)
    tok_dir = train_small_bpe(str(root / 'tokenizers' / 'bpe-400'))
    prepare.encode_corpus(pcfg, tok_dir)
    return root


def sweep_config(root, **over):
    ns = configurator.defaults(sweep)
    cfg = configurator.configure(ns, [])
    cfg.update(name='pf', presets=['apertus-micro', 'gpt2-tiny'], tokenizers=['bpe-400'], seeds=[1, 2],
               tokenizers_dir=str(root / 'tokenizers'), runs_dir=str(root / 'runs'), sweep_dir=str(root / 'sweep'),
               train_args={'out_dir': str(root / 'out'), 'corpus': 'embedded', 'block_size': BLOCK,
                           'batch_size': BATCH, 'budget_unit': 'bytes', 'budget': BUDGET_BYTES, 'compile': False,
                           'threads': 1, 'eval_docs': 2},
               preflight=True, preflight_warmup=1, preflight_steps=2, analysis='')
    cfg.update(over)
    return cfg


def expected_flops_per_token(preset, vocab=400, T=BLOCK):
    """6 x every weight a matmul uses (LM head at the padded vocabulary, 64-multiple) plus the norms' and xIELU's
    weights that model.flops_per_token counts with them, + 12 n_layer d T for attention: from the preset's shapes."""
    p = PRESETS[preset]
    d, L, h = p['n_embd'], p['n_layer'], p['n_head']
    hd, V = d // h, -(-vocab // 64) * 64
    if p['arch'] == 'gpt2':  # biases, LayerNorm weight + bias; tied head
        layer = d * 3 * d + 3 * d + d * d + d + d * 4 * d + 4 * d + 4 * d * d + d + 4 * d
        n = L * layer + 2 * d
    else:
        kv, ff = p['n_kv_head'], int(5.25 * d)
        layer = d * (h + 2 * kv) * hd + h * hd * d + 2 * d * ff + 2 * d + 2 * hd + 2
        n = L * layer + d
    return 6 * (n + V * d) + 12 * L * d * T


def expected_train_tokens(root, tok='bpe-400'):
    with open(root / 'out' / 'tokens' / 'embedded' / tok / 'train.json') as f:
        side = json.load(f)
    steps = math.ceil(BUDGET_BYTES / (side['n_bytes'] / side['n_tokens']) / (BATCH * BLOCK))
    return steps * BATCH * BLOCK


def run_named(command):
    """Run a command an error named (`python X.py ...`) with this interpreter, in the repository."""
    argv = shlex.split(command)
    assert argv[0] == 'python'
    subprocess.run([sys.executable] + argv[1:], cwd=ROOT, check=True, capture_output=True)


def test_preflight_measures_each_distinct_configuration_once(data, capsys):
    entries = sweep.main(sweep_config(data))
    with open(data / 'sweep' / 'pf_preflight.json') as f:
        assert json.load(f) == entries
    assert [(e['preset'], e['tokenizer']) for e in entries] == [('apertus-micro', 'bpe-400'), ('gpt2-tiny', 'bpe-400')]
    tokens = expected_train_tokens(data)
    for e in entries:
        assert FIELDS <= set(e) and e['ok'] and e['error'] is None
        assert (e['block_size'], e['micro_batch_size'], e['device'], e['mfu']) == (BLOCK, BATCH, 'cpu', None)
        assert e['flops_per_token'] == expected_flops_per_token(e['preset'])
        assert e['train_flops'] == tokens * e['flops_per_token']
        assert e['est_gpu_hours'] == pytest.approx(tokens / e['tok_per_s'] / 3600, rel=1e-12)
        assert e['tok_per_s'] > 0 and e['peak_mem_bytes'] > 0
    out = capsys.readouterr().out
    assert 'cpu peak RSS increase' in out and out.count(' yes') == 2


def test_peak_memory_on_cpu_grows_with_the_micro_batch(data):
    """The CPU figure is a real high-water mark: 8x the activations need more than a micro batch of 1."""
    small, big = (sweep.main(sweep_config(data, presets=['apertus-mini'], seeds=[1],
                                          train_args={**sweep_config(data)['train_args'], 'micro_batch_size': m,
                                                      'block_size': 128}))[0] for m in (1, 8))
    assert big['peak_mem_bytes'] > small['peak_mem_bytes'] > 0


def test_missing_tokenizer_then_shards_are_named_with_the_commands_that_make_them(data, capsys):
    cfg = sweep_config(data, presets=['apertus-micro'], tokenizers=['bpe-400', 'bpe-1k'], seeds=[1])
    with pytest.raises(SystemExit) as e:
        sweep.main(cfg)
    msg = str(e.value)
    assert '\n' not in msg and '1 of 2 configuration(s) not ok' in msg and 'bpe-1k' in msg
    entry = json.loads((data / 'sweep' / 'pf_preflight.json').read_text())[1]
    assert not entry['ok'] and 'tokenizer not found' in entry['error'] and entry['error'] in msg
    assert 'measured at the vocab_size 1000 its name gives' in entry['error'] and entry['tok_per_s'] > 0
    assert entry['flops_per_token'] == expected_flops_per_token('apertus-micro', vocab=1000)
    run_named(entry['error'].split('`')[1])  # python tokenizer.py ...: trains bpe-1k into the grid's folder

    with pytest.raises(SystemExit) as e:
        sweep.main(cfg)
    entry = json.loads((data / 'sweep' / 'pf_preflight.json').read_text())[1]
    assert not entry['ok'] and 'split \'train\' was never encoded' in entry['error'] and '\n' not in str(e.value)
    command = entry['error'].split('`')[1]
    assert command.startswith('python prepare.py ') and 'bpe-1k' in command
    assert entry['tok_per_s'] > 0 and entry['train_flops'] is None  # measured on random ids; no bytes per token
    run_named(command)  # encodes with bpe-1k, keeping the splits as they are

    assert all(e['ok'] for e in sweep.main(cfg))


def test_out_of_memory_halves_micro_batch_until_it_fits(data, monkeypatch):
    real_step = train.train_step

    def step_that_fits_two(model, optimizer, micro_batches, *args):
        if micro_batches[0]()[0].size(0) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return real_step(model, optimizer, micro_batches, *args)
    monkeypatch.setattr(train, 'train_step', step_that_fits_two)
    cfg = sweep_config(data, presets=['apertus-micro'], seeds=[1])
    with pytest.raises(SystemExit) as e:
        sweep.main(cfg)
    (entry,) = json.loads((data / 'sweep' / 'pf_preflight.json').read_text())
    assert (entry['ok'], entry['micro_batch_size'], entry['fits_micro_batch_size']) == (False, BATCH, 2)
    assert 'micro_batch_size=2 fits' in entry['error'] and entry['error'] in str(e.value)
    assert entry['tok_per_s'] > 0 and entry['train_flops'] == expected_train_tokens(data) * entry['flops_per_token']

    monkeypatch.setattr(train, 'train_step', lambda *a: (_ for _ in ()).throw(RuntimeError('out of memory')))
    with pytest.raises(SystemExit, match='even micro_batch_size=1 does not fit'):
        sweep.main(cfg)


def test_a_micro_batch_that_does_not_divide_the_batch_is_a_config_error(data):
    cfg = sweep_config(data, presets=['apertus-micro'], seeds=[1])
    cfg['train_args'] = {**cfg['train_args'], 'micro_batch_size': 3}
    with pytest.raises(SystemExit, match=r'batch_size=8 must be a multiple of micro_batch_size \(3\) x processes'):
        sweep.main(cfg)


def test_dry_run_prints_train_flops_and_gpu_hours_per_run_and_in_total(data, capsys):
    cfg = sweep_config(data, preflight=False, dry_run=True, tokenizers=['bpe-400', 'bpe-9k'], assume_mfu=0.5)
    with pytest.raises(SystemExit, match='bpe-9k: tokenizer not found'):  # the plan is printed, then the problem
        sweep.main(cfg)
    out = capsys.readouterr().out
    tokens, total_flops, total_hours = expected_train_tokens(data), 0, 0
    for preset in cfg['presets']:
        flops = tokens * expected_flops_per_token(preset)
        hours = flops / (0.5 * 989e12) / 3600
        total_flops, total_hours = total_flops + 2 * flops, total_hours + 2 * hours  # two seeds
        assert out.count(f"cost: {flops:.4g} train FLOPs ({tokens:.4g} tokens x "
                         f"{expected_flops_per_token(preset):.4g} FLOPs/token), {hours:.4g} GPU-hours") == 2
    assert out.count('cost: unknown, shards missing (and their tokenizer ') == 4
    assert (f"total: {total_flops:.4g} train FLOPs, {total_hours:.4g} GPU-hours over 4 run(s) at assume_mfu=0.5 "
            f"of gpu_peak_flops=9.89e+14 FLOP/s per GPU (H100 bf16 dense); 4 run(s) not counted") in out


def test_the_whole_grid_is_checked_before_anything_is_launched_dry_run_included(data, tmp_path, capsys):
    cfg = sweep_config(data, preflight=False, dry_run=True, presets=['apertus-micro', 'apertus-5M'],
                       tokenizers=['bpe-400', 'bpe-900'])
    with pytest.raises(SystemExit) as e:
        sweep.main(cfg)
    msg, out = str(e.value), capsys.readouterr().out
    assert '2 problem(s) stop the grid before anything is launched' in msg
    assert "unknown preset 'apertus-5M'" in msg and 'bpe-900: tokenizer not found; make it with `python ' in msg
    assert out.count('blocked ') == 6 and 'todo      apertus-micro_bpe-400_s1' in out  # the plan says which
    slurm = sweep_config(data, preflight=False, presets=['apertus-micro'], tokenizers=['bpe-400'],
                         launcher='slurm', train_args={**sweep_config(data)['train_args'],
                                                       'tokens_dir': str(tmp_path / 'no_shards')})
    with pytest.raises(SystemExit, match=r"train.json: split 'train' was never encoded.*make them with `python "
                                         r"prepare.py"):
        sweep.main(slurm)
    assert not os.path.exists(os.path.join(slurm['sweep_dir'], 'pf_1node.sbatch'))  # nothing written or submitted
    ok = sweep_config(data, preflight=False, dry_run=True, presets=['apertus-micro'], tokenizers=['bpe-400'])
    assert all(r['status'] == 'todo' for r in sweep.main(ok))
