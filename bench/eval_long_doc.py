"""
Peak memory of eval_bpb.py --files on ONE long document (issue 27 row 10: a 50 MB document took
7.15 GB and grew, ~140 B per byte). Each measurement is a fresh `python eval_bpb.py` process whose
peak RSS (VmHWM, read as it exits) is printed; in the same run: a short document (the peer: the
process without a long document), the long one, and the whole-document path (uniscale/bpb.py
STREAM_CHARS set above the length: the code before issue 27) on a smaller one.

    python bench/eval_long_doc.py                          # 50 MB; whole-document path on 2 MB
    python bench/eval_long_doc.py --n_mb=8 --whole_mb=1    # quicker

Target (issue 27): the 50 MB document under 1 GB peak RSS, and growth per byte of document ~ the
text held once (Python holds a document as a str of 1, 2 or 4 bytes a character, and json parsing
briefly holds it twice), not the tokens and windows. The document: generated multilingual documents
joined by blank lines (eight languages, CJK included: 2 bytes a character as a Python str). Random
weights, one layer of width 8 over a 400-id BPE (scoring is cheap; the model's memory is in the
short document's peak too). Temporary folders are removed.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # the repo root
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/, for machine.py
import machine  # noqa: E402
import torch  # noqa: E402

import configurator  # noqa: E402
import tokenizer  # noqa: E402
from data.embedded import generate  # noqa: E402
from model import GPT, make_config  # noqa: E402
from uniscale import tokenization  # noqa: E402

n_mb = 50          # UTF-8 megabytes (1e6 bytes) of the long document
whole_mb = 2       # size of the document scored by the whole-document path (its growth per byte)
short_kb = 50      # the peer: a short document, kilobytes
vocab_size = 400
block_size = 256
batch_tokens = 8192
seed = 0

# runs eval_bpb.py (argv after the script) with STREAM_CHARS from the environment; prints the peak
WRAPPER = """import os, runpy, sys
sys.argv = sys.argv[1:]
sys.path.insert(0, '.')
import uniscale.bpb
if os.environ.get('STREAM_CHARS'):
    uniscale.bpb.STREAM_CHARS = int(os.environ['STREAM_CHARS'])
try:
    runpy.run_path(sys.argv[0], run_name='__main__')
finally:
    with open('/proc/self/status') as f:
        peak = next(int(l.split()[1]) * 1024 for l in f if l.startswith('VmHWM:'))
        print('VmHWM', peak, flush=True)
"""


def document(n_bytes, pool):
    """n_bytes (about) of the pool's documents joined by blank lines, cut at a character."""
    text = '\n\n'.join(pool)
    text = text * (n_bytes // len(text.encode('utf-8')) + 1)
    return text.encode('utf-8')[:n_bytes].decode('utf-8', errors='ignore')


def measure(work, run_dir, text, name, stream_chars=0):
    """(peak RSS bytes, bpb, n_bytes) of one eval_bpb.py --files process on one document."""
    path = os.path.join(work, f'{name}.jsonl')
    with open(path, 'w', encoding='utf-8') as f:
        f.write(json.dumps({'text': text, 'lang': 'mul'}, ensure_ascii=False) + '\n')
    args = [sys.executable, '-c', WRAPPER, 'eval_bpb.py', f'--run={run_dir}', f'--files={path}',
            '--threads=1', f'--batch_tokens={batch_tokens}', '--device=cpu', '--force=True']
    env = {**os.environ, 'TQDM_DISABLE': '1', 'MALLOC_ARENA_MAX': '1',
           'TOKENIZERS_PARALLELISM': 'false', 'STREAM_CHARS': str(stream_chars or '')}
    out = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env)
    if out.returncode:
        raise SystemExit(f"bench/eval_long_doc.py: eval_bpb.py failed on {name}:\n"
                         f"{out.stderr[-2000:]}")
    with open(os.path.join(run_dir, 'eval_files.json')) as f:
        ev = json.load(f)
    os.remove(path)
    return int(out.stdout.split('VmHWM')[-1]), ev['bpb'], ev['n_bytes']


def main():
    print(f"machine: {machine.describe('cpu')}, load average {os.getloadavg()[0]:.1f}")
    work = tempfile.mkdtemp(prefix='eval_long_doc_')
    try:
        pool = [d['text'] for d in generate.generate_documents(2_000_000, seed=seed)]
        tok_dir = os.path.join(work, f'bpe-{vocab_size}')
        tokenizer.train_bpe(pool[-100:], vocab_size, tok_dir)
        tok = tokenization.load_tokenizer(tok_dir)
        torch.manual_seed(seed)
        model = GPT(make_config('gpt2-tiny', vocab_size=tok.vocab_size, block_size=block_size,
                                n_layer=1, n_head=1, n_embd=8))
        run_dir = os.path.join(work, 'run')
        os.makedirs(run_dir)
        cfg = {'arch': 'gpt2', 'preset': 'gpt2-tiny', 'seed': seed, 'tokenizer': tok_dir,
               'tokenizer_hash': tok.hash, 'corpus': 'none', 'budget_unit': 'tokens',
               'block_size': block_size, 'total_steps': 1, 'run_id': 'x'}
        with open(os.path.join(run_dir, 'config.json'), 'w') as f:
            json.dump(cfg, f)
        torch.save({'model': model.state_dict(), 'model_config': model.config.__dict__,
                    'config': cfg, 'step': 1, 'done': True, 'tokens_seen': 0, 'bytes_seen': 0},
                   os.path.join(run_dir, 'ckpt.pt'))
        print(f"eval_bpb.py --files, one document; 1-layer width-8 gpt2 over bpe-{vocab_size}, "
              f"block {block_size}, batch_tokens {batch_tokens}, 1 thread; peak RSS of the process")
        short = measure(work, run_dir, document(short_kb * 1000, pool), 'short')
        whole = measure(work, run_dir, document(whole_mb * 10**6, pool), 'whole',
                        stream_chars=10**12)
        long_ = measure(work, run_dir, document(n_mb * 10**6, pool), 'long')
        mib = lambda b: f"{b / 2**20:,.1f} MiB"
        print(f"  short ({short[2]:,} bytes): {mib(short[0])} (the peer)")
        for label, (peak, bpb_, n) in (('whole-document path', whole), ('streamed', long_)):
            print(f"  {label} ({n:,} bytes): {mib(peak)}, +{mib(peak - short[0])} over the peer, "
                  f"{(peak - short[0]) / (n - short[2]):.1f} bytes per extra byte; bpb {bpb_:.5f}")
        per_byte = lambda r: (r[0] - short[0]) / (r[2] - short[2])
        print(f"  the {n_mb} MB document: peak {long_[0] / 1e9:.2f} GB "
              f"({'under' if long_[0] < 1e9 else 'OVER'} 1 GB); growth per byte, streamed / "
              f"whole-document path: {per_byte(long_) / per_byte(whole):.3f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    configurator.configure(globals())
    main()
