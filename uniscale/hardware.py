"""
Which device and compute dtype a script runs on, its autocast, and the peak FLOP/s its MFU divides by: the one
answer for train.py, eval_bpb.py, sample.py, downstream.py and the preflight.

    dev, dt = resolve('', '')            # 'cuda' when available, else 'cpu'; bfloat16 on cuda, float32 on cpu
    with autocast(dev, dt): ...          # bf16 autocast when dt is bfloat16, else plain fp32
"""
import contextlib

import torch

DTYPES = ('', 'float32', 'bfloat16')
# dense bf16 FLOP/s of one GPU, matched against torch.cuda.get_device_name (the first match wins)
PEAK_BF16_FLOPS = {'H100 PCIe': 756e12, 'H100': 989e12, 'H200': 989e12, 'A100': 312e12, 'L40S': 362e12,
                   'A10G': 125e12, 'RTX 4090': 165e12}


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


def peak_flops(dev, configured=0.0):
    """FLOP/s of one device for MFU: `configured`, else the GPU's dense bf16 peak by name; 0 on CPU (no MFU)."""
    if configured or not str(dev).startswith('cuda'):
        return configured
    name = torch.cuda.get_device_name(dev)
    return next((f for gpu, f in PEAK_BF16_FLOPS.items() if gpu in name), 0.0)
