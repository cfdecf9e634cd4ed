"""
Identity is content: what an artifact was computed from is recorded as hashes, and a consumer compares hashes, never
names or file times. A tokenizer's identity is the hash of its files (uniscale/tokenization.content_hash), a text
split's the sha256 of its bytes (prepare.py's meta.json), a run's the fingerprint of its settings and inputs
(train.py's config.json `run_id`), an evaluation's the fingerprint of run, checkpoint step and eval set.
"""
import hashlib
import json


def fingerprint(obj):
    """16 hex digits of the sha256 of obj's canonical JSON: the identity of a dict of settings and hashes."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode('utf-8')).hexdigest()[:16]


def file_sha256(path, chunk=1 << 20):
    """sha256 of a file's bytes, read in chunks (a split of many GB never sits in memory)."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            h.update(block)
    return h.hexdigest()


def differences(recorded, current, prefix=''):
    """'key: old -> new' for every leaf where two nested dicts differ (what changed, for a refusal's message)."""
    out = []
    for k in sorted(set(recorded) | set(current), key=str):
        a, b = recorded.get(k), current.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, f"{prefix}{k}.")
        elif a != b:
            short = lambda v: v[:12] if isinstance(v, str) and len(v) == 64 else v  # a sha256: its first digits
            out.append(f"{prefix}{k}: {short(a)!r} -> {short(b)!r}")
    return out


def text_sha256(text):
    """A document's identity: the sha256 of its UTF-8 text. One text under two file names, or repeated, is one
    document (prepare.py's dedup and split assignment, eval_bpb.py's overlap with a run's training split)."""
    return hashlib.sha256(text.encode('utf-8')).hexdigest()
