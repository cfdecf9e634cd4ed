"""
Peak memory of eval_bpb.py against the number of tokens it scores: one run folder scored on a test split of N and of
2N tokens (generated documents), each scoring a fresh `python eval_bpb.py` process whose peak RSS (VmHWM, read as it
exits) is printed; with --peer=DIR (another tree: `git archive REV | tar -x -C DIR`), that tree's eval_bpb.py on
copies of the same folders, in the same run, sizes interleaved.

    python bench/eval_memory.py                                    # ~1 and ~2 MB of text, apertus-micro, vocab 2048
    mkdir /tmp/old && git archive a6087f1 | tar -x -C /tmp/old && python bench/eval_memory.py --peer=/tmp/old

Target (issue 22): flat in the number of scored tokens, i.e. the 2N peak equals the N peak up to allocator noise
(bytes per extra token ~0; the code before issue 22 held every text and window of the split: ~160 B per token).
Random weights: memory does not depend on training. Every temporary folder is removed at the end.
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
from uniscale import identity, tokenization  # noqa: E402

n_bytes = 1_000_000  # text of the N split; the 2N split holds twice as much (its first half is the N split)
preset = 'apertus-micro'
vocab_size = 2048
block_size = 256
batch_tokens = 2048  # eval_bpb.py's tokens per forward; a group of documents is 32 forwards of text
# (uniscale/bpb.py GROUP_BATCHES x batch_tokens x 4 characters: 256 kB here), so N holds ~4 groups
peer = ''  # another tree's root, whose eval_bpb.py is measured beside this one
threads = 1  # torch threads in each eval_bpb.py
seed = 0

# runs eval_bpb.py as __main__ (argv after the script), then prints the process's peak RSS as its last line
WRAPPER = """import atexit, runpy, sys
def peak():
    with open('/proc/self/status') as f:
        print('VmHWM', next(int(l.split()[1]) * 1024 for l in f if l.startswith('VmHWM:')), flush=True)
atexit.register(peak)
sys.argv = sys.argv[1:]
sys.path.insert(0, '.')
runpy.run_path(sys.argv[0], run_name='__main__')
"""


def write_split(corpus_dir, name, docs):
    folder = os.path.join(corpus_dir, name)
    os.makedirs(folder)
    path = os.path.join(folder, 'test.jsonl')
    with open(path, 'w', encoding='utf-8') as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + '\n')
    with open(os.path.join(folder, 'meta.json'), 'w') as f:
        json.dump({'corpus': name, 'splits': {'test': {'sha256': identity.file_sha256(path)}}}, f)


def write_run(run_dir, model, tok, corpus):
    """A finished run folder as train.py writes it (config.json, ckpt.pt), scoring `corpus`."""
    os.makedirs(run_dir)
    cfg = {'arch': model.config.arch, 'preset': preset, 'seed': seed, 'tokenizer': tok.path, 'tokenizer_hash': tok.hash,
           'corpus': corpus, 'budget_unit': 'tokens', 'block_size': block_size, 'total_steps': 1, 'run_id': corpus}
    with open(os.path.join(run_dir, 'config.json'), 'w') as f:
        json.dump(cfg, f)
    torch.save({'model': model.state_dict(), 'model_config': model.config.__dict__, 'config': cfg, 'step': 1,
                'done': True, 'tokens_seen': 0, 'bytes_seen': 0}, os.path.join(run_dir, 'ckpt.pt'))


def measure(tree, run_dir, corpus_dir):
    """(peak RSS bytes, scored tokens, bpb, scored tokens/s) of one eval_bpb.py process of `tree` on run_dir."""
    args = [sys.executable, '-c', WRAPPER, os.path.join(tree, 'eval_bpb.py'), f'--run={run_dir}',
            f'--corpus_dir={corpus_dir}', f'--batch_tokens={batch_tokens}', '--device=cpu', '--force=True']
    # one malloc arena and no tokenizer threads: less allocator noise in the peak
    env = {**os.environ, 'OMP_NUM_THREADS': str(threads), 'TQDM_DISABLE': '1', 'MALLOC_ARENA_MAX': '1',
           'TOKENIZERS_PARALLELISM': 'false'}
    out = subprocess.run(args, capture_output=True, text=True, cwd=tree, env=env)
    if out.returncode:
        raise SystemExit(f"bench/eval_memory.py: eval_bpb.py of {tree} failed:\n{out.stderr[-2000:]}")
    peak = int(out.stdout.strip().splitlines()[-1].split()[1])
    with open(os.path.join(run_dir, 'eval.json')) as f:
        ev = json.load(f)
    return peak, ev['n_tokens'], ev['bpb'], ev['tok_per_s']


def main():
    print(f"machine: {machine.describe('cpu')}, load average {os.getloadavg()[0]:.1f}")
    work = tempfile.mkdtemp(prefix='eval_memory_')
    try:
        docs = list(generate.generate_documents(2 * n_bytes + 300_000, seed=seed))
        tok_docs, docs = docs[-200:], docs[:-200]  # the tokenizer learns on other text than it is scored on
        tok_dir = os.path.join(work, f'bpe-{vocab_size}')
        tokenizer.train_bpe([d['text'] for d in tok_docs], vocab_size, tok_dir)
        tok = tokenization.load_tokenizer(tok_dir)
        half, size = [], 0
        for d in docs:
            if size >= n_bytes:
                break
            half.append(d)
            size += len(d['text'].encode('utf-8'))
        whole = half + docs[len(half):2 * len(half)]
        corpus_dir = os.path.join(work, 'corpus')
        write_split(corpus_dir, 'N', half)
        write_split(corpus_dir, '2N', whole)
        torch.manual_seed(seed)
        # an explicit loss_chunk: a peer from before issue 22 refuses -1 (the device's), which scoring never reads
        model = GPT(make_config(preset, vocab_size=tok.vocab_size, block_size=block_size, loss_chunk=128))
        trees = {'this tree': ROOT, **({'peer': os.path.abspath(peer)} if peer else {})}
        runs = {(t, c): os.path.join(work, 'runs', f'{i}_{c}') for i, t in enumerate(trees) for c in ('N', '2N')}
        for (t, c), run_dir in runs.items():
            write_run(run_dir, model, tok, c)
        print(f"eval_bpb.py, {preset} at vocab {tok.vocab_size}, block {block_size}, batch_tokens {batch_tokens}, "
              f"float32, {threads} thread(s); peak RSS of the whole process")
        results = {}
        for c in ('N', '2N'):  # interleaved: both trees at one size, then the other size
            for t in trees:
                results[t, c] = measure(trees[t], runs[t, c], corpus_dir)
        for t in trees:
            (p1, n1, b1, s1), (p2, n2, b2, s2) = results[t, 'N'], results[t, '2N']
            print(f"  {t:>9}: N = {n1:,} tokens: {p1 / 2**20:,.1f} MiB; 2N = {n2:,} tokens: {p2 / 2**20:,.1f} MiB -> "
                  f"ratio {p2 / p1:.3f}, {(p2 - p1) / (n2 - n1):+.1f} bytes per extra token (bpb {b1:.5f}, {b2:.5f}; "
                  f"{s1:,.0f} and {s2:,.0f} scored tok/s)")
        if peer:
            for c in ('N', '2N'):
                a, b = results['this tree', c][2], results['peer', c][2]
                print(f"  bpb {c}: this tree {a:.7f}, peer {b:.7f}, relative difference {abs(a - b) / b:.1e}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    configurator.configure(globals())
    torch.set_num_threads(threads)
    main()
