"""
Which device and compute dtype a script runs on, its autocast, and the peak FLOP/s its MFU divides by: the one
answer for train.py, eval_bpb.py, sample.py, downstream.py and the preflight.

    dev, dt = resolve('', '')            # 'cuda' when available, else 'cpu'; bfloat16 on cuda, float32 on cpu
    with autocast(dev, dt): ...          # bf16 autocast when dt is bfloat16, else plain fp32
    local_device(local_rank)             # a DDP process's GPU: cuda:0 when it sees one (SLURM's per-task binding)
    set_threads(threads, model.num_params(non_embedding=True))   # every script's `threads`
"""
import contextlib
import os

import torch

DTYPES = ('', 'float32', 'bfloat16')
SMALL_MODEL_PARAMS = 10e6  # non-embedding parameters below which threads_for gives one thread
# Dense (no 2:4 sparsity) bf16 tensor-core FLOP/s of one GPU, matched as a substring of torch.cuda.get_device_name
# (e.g. 'NVIDIA H100 80GB HBM3', 'NVIDIA H100 NVL', 'NVIDIA H200 NVL'); the first match wins, so a variant comes
# before the name it contains. Sources: NVIDIA's datasheets, which print the sparse figure: half of it is here.
PEAK_BF16_FLOPS = {
    'H100 PCIe': 756e12,   # H100 datasheet: 1,513 TFLOPS sparse (PCIe, 350 W)
    'H100 NVL': 835e12,    # H100 NVL (94 GB) datasheet: 1,671 TFLOPS sparse per GPU (350-400 W)
    'H100': 989e12,        # H100 SXM5 datasheet: 1,979 TFLOPS sparse (700 W)
    'H200 NVL': 835e12,    # H200 datasheet, NVL column: 1,671 TFLOPS sparse (600 W)
    'H200': 989e12,        # H200 SXM datasheet: 1,979 TFLOPS sparse (GH200 matches here too: its GPU is the same)
    'H800 PCIe': 756e12,   # H800: the H100 with a reduced interconnect; compute as H100 PCIe
    'H800': 989e12,        # H800 SXM5: compute as H100 SXM5 (1,979 TFLOPS sparse)
    'GB200': 2.5e15,       # GB200 NVL72 datasheet: 360 PFLOPS sparse for 72 GPUs = 5 PF sparse per GPU
    'B200': 2.25e15,       # HGX B200 datasheet: 36 PFLOPS sparse for 8 GPUs = 4.5 PF sparse per GPU
    'A100': 312e12,        # A100 datasheet: 624 TFLOPS sparse (SXM4 and PCIe alike)
    'L40S': 362e12,        # L40S datasheet: 733 TFLOPS sparse
    'A10G': 125e12,        # A10 datasheet: 250 TFLOPS sparse (AWS's A10G is rated alike)
    'RTX 4090': 165e12,    # Ada whitepaper: 165 TFLOPS dense with fp32 accumulate
}

def resolve(device='', dtype=''):
    """(device, dtype): device '' = cuda when available, else cpu; dtype '' = bfloat16 on cuda, float32 on cpu.
    A device this machine does not have, or an unknown device or dtype, is one line (scripts call this before they
    load anything)."""
    dev = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    check_device(dev)
    if dtype not in DTYPES:
        raise SystemExit(f"config error: dtype={dtype!r}; choose one of {', '.join(map(repr, DTYPES))} ('' = bfloat16 "
                         f"on cuda, float32 on cpu)")
    dt = dtype or ('bfloat16' if dev.startswith('cuda') else 'float32')
    return dev, dt


def check_device(dev):
    """A one-line SystemExit unless torch can run on dev here: 'cpu', 'cuda', 'cuda:N' (N < the GPUs seen), 'mps'."""
    fix = "use --device=cpu, or --device='' (cuda when present, else cpu)"
    try:
        d = torch.device(dev)
    except (RuntimeError, TypeError, ValueError):
        raise SystemExit(f"config error: device={dev!r} is not a device torch knows; {fix}") from None
    if d.type == 'cuda':
        if not torch.cuda.is_available():
            why = 'this torch is built without CUDA' if torch.version.cuda is None else 'no CUDA GPU is visible'
            raise SystemExit(f"config error: device={dev!r} but {why} (torch {torch.__version__}); {fix}")
        if d.index is not None and d.index >= torch.cuda.device_count():
            raise SystemExit(f"config error: device={dev!r} but {torch.cuda.device_count()} CUDA GPU(s) are visible "
                             f"(cuda:0..cuda:{torch.cuda.device_count() - 1}); {fix}")
    elif d.type == 'mps':
        if not torch.backends.mps.is_available():
            raise SystemExit(f"config error: device={dev!r} but Apple's MPS is not available here; {fix}")
    elif d.type != 'cpu':
        raise SystemExit(f"config error: device={dev!r}: uniscale runs on cpu, cuda and mps; {fix}")


def autocast(dev, dt):
    """The context a forward runs in: bf16 autocast on dev's device type when dt is 'bfloat16', else none (fp32).
    On CUDA the fp32 matmuls that remain (outside autocast) may use TF32."""
    device_type = str(dev).split(':')[0]
    if device_type == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    return torch.autocast(device_type, dtype=torch.bfloat16) if dt == 'bfloat16' else contextlib.nullcontext()


def local_device(local_rank, environ=None, count=None):
    """The CUDA device of the process with this local rank: 'cuda:0' when the process sees one GPU (SLURM binds one
    GPU per task with --gpus-per-task=1: CUDA_VISIBLE_DEVICES names one device, which is cuda:0 whatever the task's
    local rank), else 'cuda:{local_rank}' (torchrun: every process sees the node's GPUs). environ and count (the
    visible GPUs, torch.cuda.device_count() where CUDA_VISIBLE_DEVICES is unset) are for tests."""
    environ = os.environ if environ is None else environ
    visible = environ.get('CUDA_VISIBLE_DEVICES')
    if visible is not None:
        count = len([v for v in visible.split(',') if v.strip()])
    elif count is None:
        count = torch.cuda.device_count()
    if count == 1:
        return 'cuda:0'
    if local_rank >= count:
        raise SystemExit(f"config error: local rank {local_rank} but this process sees {count} GPU(s) "
                         f"(CUDA_VISIBLE_DEVICES={visible!r}); start one process per GPU (srun --gpus-per-task=1, or "
                         f"torchrun --nproc_per_node at most {count})")
    return f'cuda:{local_rank}'


def peak_flops(dev, configured=0.0):
    """FLOP/s of one device for MFU: `configured`, else the GPU's dense bf16 peak by name; 0 on CPU (no MFU)."""
    if configured or not str(dev).startswith('cuda'):
        return configured
    name = torch.cuda.get_device_name(dev)
    return next((f for gpu, f in PEAK_BF16_FLOPS.items() if gpu in name), 0.0)


def threads_for(threads, n_params_nonembedding):
    """torch CPU threads for a script's `threads` setting: a positive value as given; 0 = one thread
    below SMALL_MODEL_PARAMS non-embedding parameters (a small model's ops are too short to share:
    two threads cost ~3x the CPU for the same numbers on a 2-core box, issue 27), else None =
    torch's default (one per core)."""
    if threads > 0:
        return threads
    return 1 if n_params_nonembedding < SMALL_MODEL_PARAMS else None


def set_threads(threads, n_params_nonembedding):
    """Apply threads_for to torch; returns the number of threads torch now uses."""
    n = threads_for(threads, n_params_nonembedding)
    if n:
        torch.set_num_threads(n)
    return torch.get_num_threads()
