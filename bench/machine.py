"""The machine line every bench script prints: CPU, cores, python, torch, and the GPU when the bench runs on one.

Bench scripts import it with bench/ on sys.path (`import machine`); bench/ is not a package.
"""
import importlib.metadata
import importlib.util
import os
import platform


def cpu_name():
    """The CPU's model name from /proc/cpuinfo; platform.processor() or 'unknown CPU' where there is none."""
    try:
        with open('/proc/cpuinfo') as f:
            return next(line.split(':', 1)[1].strip() for line in f if line.startswith('model name'))
    except (OSError, StopIteration):
        return platform.processor() or 'unknown CPU'


def torch_version():
    """torch's version without importing it (benches that measure peak RSS must not pay for torch), or None."""
    if importlib.util.find_spec('torch') is None:
        return None
    try:
        return importlib.metadata.version('torch')
    except importlib.metadata.PackageNotFoundError:
        import torch
        return torch.__version__


def describe(device='cpu'):
    """One line: [CUDA device name, ] CPU name, core count, python version[, torch version]. No hostname."""
    parts = []
    if str(device).startswith('cuda'):
        import torch
        parts.append(torch.cuda.get_device_name(device))
    parts += [cpu_name(), f"{os.cpu_count()} cores", f"python {platform.python_version()}"]
    version = torch_version()
    if version:
        parts.append(f"torch {version}")
    return ', '.join(parts)
