"""The CUDA-facing choices of train.py and uniscale/hardware.py, checked on CPU: the MFU peak table, the GPU a DDP
process takes under SLURM, DDP's settings, regional compile (set up, not run: tests/test_train.py runs it once), the
background checkpoint writer. Fast: no compile, no training."""
import os
import warnings

import pytest
import torch

from model import GPT, make_config
from uniscale import hardware, train_runtime

TINY = {'n_layer': 2, 'n_head': 2, 'n_embd': 32}


@pytest.mark.parametrize('name, peak', [
    ('NVIDIA H100 80GB HBM3', 989e12), ('NVIDIA H100 PCIe', 756e12), ('NVIDIA H100 NVL', 835e12),
    ('NVIDIA H200', 989e12), ('NVIDIA H200 NVL', 835e12), ('NVIDIA GH200 480GB', 989e12),
    ('NVIDIA H800', 989e12), ('NVIDIA H800 PCIe', 756e12), ('NVIDIA B200', 2.25e15), ('NVIDIA GB200', 2.5e15),
    ('NVIDIA A100-SXM4-80GB', 312e12), ('NVIDIA A100 80GB PCIe', 312e12), ('Tesla T4', 0.0)])
def test_mfu_peak_is_the_dense_bf16_figure_of_the_gpu_by_name(monkeypatch, name, peak):
    monkeypatch.setattr(torch.cuda, 'get_device_name', lambda dev=None: name)
    assert hardware.peak_flops('cuda:0') == peak
    assert hardware.peak_flops('cuda:0', configured=1e15) == 1e15 and hardware.peak_flops('cpu') == 0.0


@pytest.mark.parametrize('visible, local_rank, want', [
    ('3', 5, 'cuda:0'),                  # SLURM --gpus-per-task=1: the task sees its one GPU as cuda:0
    ('GPU-8f3c2d1e', 2, 'cuda:0'),       # the same with a UUID
    ('0,1,2,3', 2, 'cuda:2'),            # torchrun: every process sees the node's GPUs
    (None, 1, 'cuda:1')])                # unset: torch.cuda.device_count() (4 here)
def test_a_process_that_sees_one_gpu_uses_cuda_0(visible, local_rank, want):
    env = {} if visible is None else {'CUDA_VISIBLE_DEVICES': visible}
    assert hardware.local_device(local_rank, env, count=4) == want


def test_a_local_rank_past_the_visible_gpus_is_one_line():
    with pytest.raises(SystemExit) as e:
        hardware.local_device(3, {'CUDA_VISIBLE_DEVICES': '0,1'})
    msg = str(e.value)
    assert 'local rank 3 but this process sees 2 GPU(s)' in msg and 'srun --gpus-per-task=1' in msg
    assert '\n' not in msg
    assert hardware.local_device(0, {}, count=1) == 'cuda:0'  # a cgroup showing one GPU, no variable set


def test_ddp_buckets_hold_one_block_and_static_graph_only_without_accumulation():
    tiny = GPT(make_config('gpt2-tiny', 300, 32, **TINY))
    opts = train_runtime.ddp_options(tiny, grad_accum=1)
    assert opts == {'bucket_cap_mb': 25, 'gradient_as_bucket_view': True, 'static_graph': True, 'sync_buffers': False}
    assert train_runtime.ddp_options(tiny, grad_accum=4)['static_graph'] is False  # no_sync breaks static_graph (torch 2.13)
    with torch.device('meta'):  # apertus-1B at 256k: one block's fp32 gradients, not DDP's 25 MB
        big = GPT(make_config('apertus-1B', 262_144, 4096))
    block = sum(p.numel() * 4 for p in big.blocks[0].parameters())
    assert train_runtime.ddp_options(big, 1)['bucket_cap_mb'] == -(-block // 2 ** 20) > 100
    assert train_runtime.ddp_options(big, 1)['sync_buffers'] is False  # RoPE tables: constants, not in the state_dict

    tiny.register_buffer('running', torch.zeros(3))  # a persistent buffer (say, a fork's running statistics)
    assert train_runtime.ddp_options(tiny, 1)['sync_buffers'] is True


def test_ddp_takes_the_options_without_a_deprecation_warning(tmp_path):
    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        model = GPT(make_config('gpt2-tiny', 300, 32, **TINY))
        opts = train_runtime.ddp_options(model, grad_accum=1)
        with warnings.catch_warnings():
            warnings.simplefilter('error', FutureWarning)
            ddp = train_runtime.wrap_ddp(model, 'cpu', opts)
        assert ddp.gradient_as_bucket_view and ddp.static_graph and ddp.bucket_bytes_cap == 25 * 2 ** 20
        del ddp
    finally:
        dist.destroy_process_group()


def test_regional_compile_keeps_the_state_dict_and_validation_runs_eagerly(tmp_path, monkeypatch):
    import torch._dynamo
    import torch._inductor.config
    from torch._dynamo.utils import counters
    monkeypatch.setenv('TORCHINDUCTOR_CACHE_DIR', str(tmp_path / 'before'))  # restored after the test
    monkeypatch.setattr(torch._dynamo.config, 'optimize_ddp', torch._dynamo.config.optimize_ddp)
    model = GPT(make_config('gpt2-tiny', 300, 32, **TINY))
    keys = list(model.state_dict())
    assert train_runtime.compile_model(model, 'regional', str(tmp_path / 'cache')) is model
    assert list(model.state_dict()) == keys and all(b._compiled_call_impl is not None for b in model.blocks)
    assert os.environ['TORCHINDUCTOR_CACHE_DIR'] == str(tmp_path / 'cache') and os.path.isdir(tmp_path / 'cache')
    assert torch._inductor.config.fx_graph_cache and torch._dynamo.config.optimize_ddp is False
    graphs = counters['stats']['unique_graphs']
    with train_runtime.eager(), torch.no_grad():  # what validate() runs under: no compile for each new shape
        for T in (5, 9):
            model(torch.zeros(1, T, dtype=torch.long))
    assert counters['stats']['unique_graphs'] == graphs
    whole = train_runtime.compile_model(GPT(make_config('gpt2-tiny', 300, 32, **TINY)), 'whole')
    assert isinstance(whole, torch._dynamo.eval_frame.OptimizedModule)


def test_the_checkpoint_copy_is_independent_of_later_steps_and_keeps_tied_weights_one(tmp_path):
    w = torch.ones(3, 2)
    writer = train_runtime.CheckpointWriter(str(tmp_path / 'ckpt.pt'))
    state = {'model': {'wte.weight': w, 'lm_head.weight': w.detach()}, 'optimizer': {'state': {0: {
        'step': torch.tensor(5.0)}}, 'param_groups': [{'lr': 0.1, 'params': [0]}]}, 'rng': [torch.zeros(2)], 'step': 7}
    copy = writer.copy(state)
    w.add_(1)
    state['optimizer']['param_groups'][0]['lr'] = 0.2
    assert torch.equal(copy['model']['wte.weight'], torch.ones(3, 2))
    assert copy['model']['wte.weight'] is copy['model']['lm_head.weight']  # one storage in the file, as before
    assert copy['optimizer']['param_groups'][0]['lr'] == 0.1 and copy['step'] == 7
    writer.save(state)
    writer.wait()
    back = torch.load(tmp_path / 'ckpt.pt', weights_only=True)
    assert back['step'] == 7 and torch.equal(back['model']['wte.weight'], torch.full((3, 2), 2.0))


def test_a_failed_background_write_is_raised_in_one_line_at_the_next_wait(tmp_path, monkeypatch, capsys):
    import errno

    def full_disk(obj, path, *a, **k):
        with open(path, 'wb') as f:
            f.write(b'partial')
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(torch, 'save', full_disk)
    writer = train_runtime.CheckpointWriter(str(tmp_path / 'ckpt.pt'))
    writer.save({'step': 3, 'model': {}})
    with pytest.raises(SystemExit) as e:
        writer.wait()
    assert 'ckpt.pt: could not write the checkpoint at step 3 (' in str(e.value) and '\n' not in str(e.value)
    assert os.listdir(tmp_path) == []  # no temp file, and the (absent) previous checkpoint untouched
    writer.wait()  # raised once
    writer.save({'step': 4, 'model': {}})
    writer.wait(quiet=True)  # another error on its way: printed, not raised
    assert 'at step 4' in capsys.readouterr().out
