"""uniscale/preflight_check.py through `sweep.py --preflight=True` and `--dry_run=True`, on CPU, on a tiny grid built
here: the JSON's fields, FLOPs against a count from the presets' shapes, the commands named for a missing tokenizer and
missing shards (run, they make what was missing), an out-of-memory (simulated) that lowers micro_batch_size; the dry
run's cost estimate before any data (bytes per token measured on shards, by the tokenizer on val, or assumed; the lr
scan's share; a byte-context arm; a fresh clone of the study's config), every number recomputed here."""
import json
import math
import os
import shlex
import shutil
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
from uniscale import train_runtime

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
    with pytest.raises(SystemExit, match='does not fit even at micro batch 1: use a smaller vocabulary/preset'):
        sweep.main(cfg)


def test_a_configuration_over_the_devices_memory_is_refused_with_the_micro_batch_that_fits(data, monkeypatch):
    """Issue 22 item 5, with a fake device memory (preflight_check.device_memory: a GPU's total, on CPU the RAM
    available): apertus-mini at block 128 needs ~175 MB at micro batch 8 and ~85 MB at 4 (measured peaks, each run's
    own); a limit of 120 MB refuses 8 and names 4, in one line, with preflight.json written; 1 byte fits nothing;
    plenty fits as before."""
    from uniscale import preflight_check
    cfg = sweep_config(data, presets=['apertus-mini'], seeds=[1],
                       train_args={**sweep_config(data)['train_args'], 'block_size': 128})
    monkeypatch.setattr(preflight_check, 'device_memory', lambda dev: 10**12)
    (entry,) = sweep.main(cfg)  # the case that must still pass
    assert entry['ok'] and entry['mem_limit_bytes'] == 10**12 and entry['fits_micro_batch_size'] == BATCH
    assert entry['mem_need_bytes'] == entry['peak_mem_bytes'] == max(entry['train_peak_mem_bytes'],
                                                                      entry['val_peak_mem_bytes']) > 0
    assert (entry['world_size'], entry['grad_accum'], entry['ddp_bucket_bytes'], entry['peak_mem_reserved_bytes']) \
        == (1, 1, 0, None)  # one process, no DDP; reserved is CUDA's allocator figure

    monkeypatch.setattr(preflight_check, 'device_memory', lambda dev: 120 * 10**6)
    with pytest.raises(SystemExit) as e:
        sweep.main(cfg)
    (entry,) = json.loads((data / 'sweep' / 'pf_preflight.json').read_text())
    msg = str(e.value)
    assert '\n' not in msg and entry['error'] in msg and not entry['ok'] and entry['fits_micro_batch_size'] == 4
    assert msg.endswith(f"training at micro_batch_size={BATCH} needs " + msg.split(' needs ')[1].split(',')[0]
                        + ", more than the 120MB of cpu; micro_batch_size=4 fits (needs "
                        + preflight_check.human(entry['mem_need_bytes'], 'B') + "): set it in the sweep's "
                        "preset_args, e.g. {'apertus-mini': {'micro_batch_size': 4}}")
    assert entry['mem_need_bytes'] <= 120 * 10**6 and entry['micro_batch_size'] == BATCH

    monkeypatch.setattr(preflight_check, 'device_memory', lambda dev: 1)
    with pytest.raises(SystemExit) as e:
        sweep.main(cfg)
    (entry,) = json.loads((data / 'sweep' / 'pf_preflight.json').read_text())
    assert (entry['ok'], entry['fits_micro_batch_size'], entry['micro_batch_size']) == (False, 0, BATCH)
    assert 'training at micro_batch_size=1 needs ' in entry['error'] and entry['peak_mem_bytes'] > 0  # measured at 1
    assert 'does not fit even at micro batch 1: use a smaller vocabulary/preset' in str(e.value)


def test_ddp_buckets_count_when_gradients_are_not_bucket_views_and_a_cpu_runs_processes_share_its_ram(
        data, monkeypatch):
    """num_gpus=2: two processes of micro batch batch_size / 2. Under DDP the gradients stay allocated between steps
    (measured so: validation carries them); DDP's buckets add 4 bytes a parameter (a second copy of the fp32
    gradients) only when train_runtime.ddp_options turns gradient_as_bucket_view off (train.py turns it on: the gradients
    are views of the buckets); on CPU both processes share the machine's RAM. SLURM's srun makes even one process a
    DDP one."""
    from model import GPT, make_config
    from uniscale import preflight_check
    with torch.device('meta'):
        n_params = GPT(make_config('apertus-mini', vocab_size=448, block_size=BLOCK)).num_params()  # 400 padded
    monkeypatch.setattr(preflight_check, 'device_memory', lambda dev: 10**12)
    real_step, kept = train.train_step, []

    def step(model, optimizer, micro_batches, grad_clip, autocast, ddp=False):
        out = real_step(model, optimizer, micro_batches, grad_clip, autocast, ddp)
        kept.append(all(p.grad is not None for p in model.parameters()))  # kept between steps?
        return out
    monkeypatch.setattr(train, 'train_step', step)
    cfg = sweep_config(data, presets=['apertus-mini'], seeds=[1], num_gpus=2)
    (entry,) = sweep.main(cfg)  # train.py's own DDP options: gradients as bucket views
    assert (entry['world_size'], entry['micro_batch_size'], entry['grad_accum']) == (2, BATCH // 2, 1)
    assert entry['ok'] and entry['ddp_bucket_bytes'] == 0 and entry['mem_need_bytes'] == 2 * entry['peak_mem_bytes']
    assert kept and all(kept)  # as a DDP process keeps them (zeroed, not freed): both phases' peaks carry them
    kept.clear()
    one = sweep.main({**cfg, 'num_gpus': 1, 'train_args': {**cfg['train_args'], 'micro_batch_size': BATCH // 2}})[0]
    assert (one['world_size'], one['grad_accum'], one['ddp_bucket_bytes']) == (1, 2, 0) and not any(kept)

    real = train_runtime.ddp_options
    monkeypatch.setattr(train_runtime, 'ddp_options', lambda m, k: {**real(m, k), 'gradient_as_bucket_view': False})
    (entry,) = sweep.main(cfg)
    assert entry['ddp_bucket_bytes'] == 4 * n_params
    assert entry['mem_need_bytes'] == 2 * (entry['peak_mem_bytes'] + 4 * n_params)
    (slurm,) = sweep.main({**cfg, 'num_gpus': 1, 'launcher': 'slurm'})
    assert (slurm['world_size'], slurm['ddp_bucket_bytes']) == (1, 4 * n_params)
    monkeypatch.setattr(preflight_check, 'device_memory', lambda dev: 1)
    with pytest.raises(SystemExit, match="of it DDP's gradient buckets, more than the 1B of cpu"):
        sweep.main(cfg)


def test_a_validation_that_does_not_fit_names_its_fix(data, monkeypatch):
    """Validation scores eval_batch_size windows per forward (0: the micro batch). Out of memory there (simulated
    above 2 windows): with eval_batch_size 0 a smaller micro batch fixes both; with eval_batch_size set, only a
    smaller eval_batch_size does (the micro batch is kept)."""
    from uniscale import preflight_check
    real_score = preflight_check.score

    def score_that_fits_two(model, items, *args, **kw):
        if len(items) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 40.00 GiB")
        return real_score(model, items, *args, **kw)
    monkeypatch.setattr(preflight_check, 'score', score_that_fits_two)
    cfg = sweep_config(data, presets=['apertus-micro'], seeds=[1])
    with pytest.raises(SystemExit, match=f"out of memory in validation at micro_batch_size={BATCH}; "
                                         f"micro_batch_size=2 fits"):
        sweep.main(cfg)
    cfg['train_args'] = {**cfg['train_args'], 'eval_batch_size': 8}
    with pytest.raises(SystemExit) as e:
        sweep.main(cfg)
    (entry,) = json.loads((data / 'sweep' / 'pf_preflight.json').read_text())
    assert entry['fits_micro_batch_size'] == BATCH and entry['error'] in str(e.value) and entry['error'].startswith(
        f"validation at eval_batch_size=8 does not fit (out of memory in validation at micro_batch_size={BATCH}): "
        f"set a smaller eval_batch_size")
    cfg['train_args'] = {**cfg['train_args'], 'eval_batch_size': 2}
    (entry,) = sweep.main(cfg)
    assert entry['ok'] and entry['val_peak_mem_bytes'] > 0


def test_a_micro_batch_that_does_not_divide_the_batch_is_a_config_error(data):
    cfg = sweep_config(data, presets=['apertus-micro'], seeds=[1])
    cfg['train_args'] = {**cfg['train_args'], 'micro_batch_size': 3}
    with pytest.raises(SystemExit, match=r'batch_size=8 must be a multiple of micro_batch_size \(3\) x processes'):
        sweep.main(cfg)


def cost_line(tokens, preset, vocab, bpt, source, mfu=0.5, T=BLOCK):
    """The dry run's line for one run, from the presets' shapes (expected_flops_per_token), the budget rule and the
    GPU-hours formula: every number computed here, independently of preflight_check."""
    fpt = expected_flops_per_token(preset, vocab=vocab, T=T)
    hours = tokens * fpt / (mfu * 989e12) / 3600
    line = (f"cost (estimate): {tokens * fpt:.4g} train FLOPs ({tokens:.4g} tokens x {fpt:.4g} FLOPs/token, "
            f"block {T}), "
            f"{hours:.4g} GPU-hours at {bpt:.3f} bytes/token ({source})")
    return line, tokens * fpt, hours


def test_dry_run_prints_train_flops_and_gpu_hours_per_run_and_in_total(data, capsys):
    """bpe-400 is measured (its train shards' bytes per token); bpe-9k does not exist yet: its vocabulary comes from
    its name and its bytes per token from the assumption table (4.0 at >= 8,000 ids), said so. The dry run still
    prints every run's cost and the total, lists bpe-9k as blocked with the commands that make it, and exits 0."""
    cfg = sweep_config(data, preflight=False, dry_run=True, tokenizers=['bpe-400', 'bpe-9k'], assume_mfu=0.5)
    runs = sweep.main(cfg)
    out = capsys.readouterr().out
    side = json.loads((data / 'out' / 'tokens' / 'embedded' / 'bpe-400' / 'train.json').read_text())
    assumed_tokens = math.ceil(BUDGET_BYTES / 4.0 / (BATCH * BLOCK)) * BATCH * BLOCK
    total_flops = total_hours = 0
    for preset in cfg['presets']:
        for tok, vocab, bpt, source, tokens in (
                ('bpe-400', 400, side['n_bytes'] / side['n_tokens'], 'measured', expected_train_tokens(data)),
                ('bpe-9k', 9000, 4.0, 'assumed', assumed_tokens)):
            line, flops, hours = cost_line(tokens, preset, vocab, bpt, source)
            assert out.count(line) == 2, line  # two seeds
            total_flops, total_hours = total_flops + 2 * flops, total_hours + 2 * hours
    assert (f"total (estimate): {total_flops:.4g} train FLOPs, {total_hours:.4g} GPU-hours over 8 run(s) at "
            f"assume_mfu=0.5 of gpu_peak_flops=9.89e+14 FLOP/s per GPU (H100 bf16 dense); bytes per token measured "
            f"for 1 tokenizer(s), assumed for 1") in out
    assert f"bytes per token, bpe-400: {side['n_bytes'] / side['n_tokens']:.3f}, measured on the train shards" in out
    assert ("bytes per token, bpe-9k: 4.000, assumed: the ~4 bytes per token the budget rule is written at "
            "(config/fineweb2_apertus.py); vocabulary 9,000 from its name") in out
    blocked = [line for line in out.splitlines() if line.startswith('  blocked: ')]
    assert len(blocked) == 1 and 'bpe-9k: tokenizer not found; make it with `python tokenizer.py ' in blocked[0]
    assert 'then its shards with `python prepare.py ' in blocked[0]
    assert [r['status'] for r in runs].count('blocked') == 4 and [r['status'] for r in runs].count('todo') == 4


def test_dry_run_measures_a_tokenizer_without_shards_on_the_val_split(data, tmp_path, capsys):
    """A tokenizer whose shards do not exist yet is measured on the corpus's val split (every document here: the
    split is below the per-language cap): bytes / tokens of its own encoding, recomputed here document by document."""
    from uniscale.tokenization import load_tokenizer
    cfg = sweep_config(data, preflight=False, dry_run=True, presets=['apertus-micro'], seeds=[1],
                       train_args={**sweep_config(data)['train_args'], 'tokens_dir': str(tmp_path / 'none')})
    sweep.main(cfg)
    out = capsys.readouterr().out
    tok = load_tokenizer(str(data / 'tokenizers' / 'bpe-400'))
    docs = [json.loads(line)['text'] for line in open(data / 'out' / 'corpus' / 'embedded' / 'val.jsonl')]
    bpt = sum(len(d.encode('utf-8')) for d in docs) / sum(len(tok.encode(d)) for d in docs)
    tokens = math.ceil(BUDGET_BYTES / bpt / (BATCH * BLOCK)) * BATCH * BLOCK
    assert cost_line(tokens, 'apertus-micro', 400, bpt, 'measured', mfu=0.4)[0] in out
    assert f"bytes per token, bpe-400: {bpt:.3f}, measured by the tokenizer on <= 100,000 bytes per language" in out


def test_dry_run_prices_the_lr_scan_against_its_presets_grid_runs(data, capsys):
    """lr_scan=[0.5, 2] at 3 seeds: 2 scan runs of the smallest preset against its 3 grid runs, each the same FLOPs
    (an lr does not change the steps): 2/3 of that preset's compute, by hand."""
    cfg = sweep_config(data, preflight=False, dry_run=True, seeds=[1, 2, 3], lr_scan=[0.5, 2.0])
    runs = sweep.main(cfg)
    out = capsys.readouterr().out
    scan = [r for r in runs if 'lr_mult' in r]
    assert [r['run'] for r in scan] == ['apertus-micro_bpe-400_s1_lr0.5', 'apertus-micro_bpe-400_s1_lr2']
    _, flops, hours = cost_line(expected_train_tokens(data), 'apertus-micro', 400, 0, 'measured', mfu=0.4)
    assert (f"lr scan (estimate): 2 run(s) at apertus-micro, {2 * flops:.4g} FLOPs, {2 * hours:.4g} "
            f"GPU-hours = 0.667x the compute of the 3 apertus-micro run(s) of the grid") in out
    gpt2 = cost_line(expected_train_tokens(data), 'gpt2-tiny', 400, 0, '', mfu=0.4)[1]
    total = 3 * flops + 3 * gpt2 + 2 * flops
    assert (f"by preset (estimate): apertus-micro 3 run(s) {3 * flops:.4g} FLOPs, {3 * hours:.4g} GPU-hours "
            f"({100 * 3 * flops / total:.1f}%); gpt2-tiny 3 run(s) {3 * gpt2:.4g} FLOPs") in out
    assert f"lr scan at apertus-micro 2 run(s) {2 * flops:.4g} FLOPs, {2 * hours:.4g} GPU-hours " \
           f"({100 * 2 * flops / total:.1f}%)" in out


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


def fresh_clone(dest):
    """What a clone of the repository holds that the sweep's dry run reads (the scripts, config/, uniscale/, data/),
    without out/ or anything made."""
    os.makedirs(dest)
    for name in os.listdir(ROOT):
        if name.endswith('.py'):
            shutil.copy(os.path.join(ROOT, name), dest)
    for folder in ('config', 'uniscale', 'data'):
        shutil.copytree(os.path.join(ROOT, folder), os.path.join(dest, folder),
                        ignore=shutil.ignore_patterns('__pycache__'))
    return dest


def test_cost_before_data_in_a_fresh_clone(tmp_path):
    """Item 7: `python sweep.py config/sweep_fineweb2.py --dry_run=True` with no out/ (no corpus, tokenizers or
    shards): every run's FLOPs and GPU-hours and the total, marked as an estimate, from the stated assumption (4.0
    bytes per token, vocabulary from the name), each number recomputed here from the presets' shapes and the budget
    rule; the sbatch files it would submit are written; the runs are listed as blocked with the commands that make
    their inputs; exit 0."""
    repo = fresh_clone(str(tmp_path / 'clone'))
    r = subprocess.run([sys.executable, 'sweep.py', 'config/sweep_fineweb2.py', '--dry_run=True'], cwd=repo,
                       capture_output=True, text=True, env={**os.environ, 'HF_HUB_OFFLINE': '1'})
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    out = r.stdout
    cfg = configurator.configure(configurator.defaults(sweep), [os.path.join(ROOT, 'config/sweep_fineweb2.py')])
    runs = sweep.expand_grid(cfg)
    assert len(runs) == 105 and out.count('cost (estimate): ') == 105 and 'cost: unknown' not in out
    total_flops = total_hours = 0
    for run in runs:
        args = {**cfg['train_args'], **cfg['preset_args'][run['preset']]}
        vocab = int(run['tokenizer'].split('-')[1][:-1]) * 1000  # bpe-80k: 80,000 ids
        steps = math.ceil(args['budget'] / 4.0 / (args['batch_size'] * 2048))
        line, flops, hours = cost_line(steps * args['batch_size'] * 2048, run['preset'], vocab, 4.0, 'assumed',
                                       mfu=0.4, T=2048)
        block = out[out.index(f"  blocked   {run['run']} "):]
        assert block.split('\n  blocked   ')[0].count(line) == 1, (run['run'], line)
        total_flops, total_hours = total_flops + flops, total_hours + hours
    assert f"total (estimate): {total_flops:.4g} train FLOPs, {total_hours:.4g} GPU-hours over 105 run(s)" in out
    assert 'bytes per token measured for 0 tokenizer(s), assumed for 7' in out
    assert out.count('assumed: the ~4 bytes per token the budget rule is written at') == 7
    assert 'lr scan (estimate): 21 run(s) at apertus-50M' in out and '= 1x the compute of the 21 apertus-50M' in out
    blocked = [line for line in out.splitlines() if line.startswith('  blocked: ')]
    made_by = {b: 'tokenizers_parity_fineweb2' if '/parity-' in b else 'tokenizers_fineweb2' for b in blocked}
    assert len(blocked) == 7 and all('make the corpus with `python prepare.py config/fineweb2.py`, the tokenizer with '
                                     f'`python tokenizer.py config/{made_by[b]}.py`, then its shards with '
                                     '`python prepare.py config/fineweb2.py --tokenizers=out/tokenizers/' in b
                                     for b in blocked)
    scripts = sorted(os.listdir(os.path.join(repo, 'out', 'sweep')))
    assert scripts == ['fineweb2_scale_1node.sbatch', 'fineweb2_scale_1node_eval.sbatch',
                       'fineweb2_scale_2node.sbatch', 'fineweb2_scale_2node_eval.sbatch', 'logs']
    texts = {'train': '', 'eval': ''}
    for s in scripts[:4]:
        subprocess.run(['bash', '-n', os.path.join(repo, 'out', 'sweep', s)], check=True)
        texts['eval' if s.endswith('_eval.sbatch') else 'train'] += open(os.path.join(repo, 'out', 'sweep', s)).read()
    for text in texts.values():  # every run once in each kind, the lr scan's included
        assert all(text.count(f"# {run['run']}\n") == 1 for run in runs)
    assert 'eval_bpb.py' not in texts['train'] and texts['eval'].count('eval_bpb.py --run=') == len(runs)
    assert sorted(os.listdir(os.path.join(repo, 'out'))) == ['sweep']  # nothing but the scripts was made


def test_dry_run_of_a_byte_context_arm_sizes_each_block_from_its_bytes_per_token(data, capsys):
    """context_bytes (config/sweep_fineweb2_bytes.py's arm): the block is context_bytes / bytes per token rounded to
    a multiple of 8 (train.block_size_for), and the steps and FLOPs follow from that block; recomputed here."""
    cfg = sweep_config(data, preflight=False, dry_run=True, presets=['apertus-micro'], seeds=[1],
                       train_args={**sweep_config(data)['train_args'], 'context_bytes': 120})
    sweep.main(cfg)
    out = capsys.readouterr().out
    side = json.loads((data / 'out' / 'tokens' / 'embedded' / 'bpe-400' / 'train.json').read_text())
    bpt = side['n_bytes'] / side['n_tokens']
    block = max(8, round(120 / bpt / 8) * 8)
    assert block != BLOCK  # the arm changes the block
    tokens = math.ceil(BUDGET_BYTES / bpt / (BATCH * block)) * BATCH * block
    assert cost_line(tokens, 'apertus-micro', 400, bpt, 'measured', mfu=0.4, T=block)[0] in out


def test_dry_run_of_a_one_epoch_budget_counts_the_train_split(data, capsys):
    """budget=0 (one epoch, config/tinystories_gpt2_bpe.py's): windows of the train shards (train.PackedWindows) when
    they exist; before them, the corpus meta.json's train bytes at the assumed bytes per token."""
    cfg = sweep_config(data, preflight=False, dry_run=True, presets=['apertus-micro'], seeds=[1],
                       tokenizers=['bpe-400', 'bpe-9k'], train_args={**sweep_config(data)['train_args'], 'budget': 0})
    sweep.main(cfg)
    out = capsys.readouterr().out
    side = json.loads((data / 'out' / 'tokens' / 'embedded' / 'bpe-400' / 'train.json').read_text())
    tokens = ((side['n_tokens'] - 1) // BLOCK // BATCH) * BATCH * BLOCK
    assert cost_line(tokens, 'apertus-micro', 400, side['n_bytes'] / side['n_tokens'], 'measured', mfu=0.4)[0] in out
    n_bytes = json.loads((data / 'out' / 'corpus' / 'embedded' / 'meta.json').read_text())['splits']['train']['n_bytes']
    tokens = ((int(n_bytes / 4.0) - 1) // BLOCK // BATCH) * BATCH * BLOCK
    assert cost_line(tokens, 'apertus-micro', 9000, 4.0, 'assumed', mfu=0.4)[0] in out
