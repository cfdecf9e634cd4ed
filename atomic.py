"""
Files written so that a reader never sees half of one: write a temp file beside the target, then rename it into
place (os.replace is atomic on POSIX). A run killed mid-write leaves the old file, or none, never a torn one.
Every uniscale script that writes an artifact (splits, shards' sidecars, tokenizers, eval.json, reports) uses these.
"""
import json
import os


def write_atomic(path, data):
    """str (as UTF-8) or bytes -> path, atomically; makes the parent folder if needed."""
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"  # the pid keeps two writers of one path from sharing a temp file
    with open(tmp, 'wb') as f:
        f.write(data.encode('utf-8') if isinstance(data, str) else data)
    os.replace(tmp, path)


def write_json_atomic(path, obj, indent=1):
    write_atomic(path, json.dumps(obj, indent=indent, ensure_ascii=False) + '\n')
