"""
The superword family side by side in ONE run, each training in its own fresh child process (its CPU
seconds, threads and children included, and its peak RSS), every number a ratio to plain Hugging
Face BPE measured in the same run on the same text and final vocabulary:
  hf-bpe     the peer: `tokenizers` BpeTrainer, the shared Split pre-tokenizer + ByteLevel
  bpe        tokenizer.train_bpe (the project's: + the long-pre-token guard, meta.json, files)
  btm        btm.train 4,096 -> 16,384
  superbpe   btm.train(method='superbpe'), t = 12,288 -> 16,384 (skipped, said, if btm lacks it)
  boundless  btm.train(method='boundless'), 12,288 -> 16,384 (skipped, said, if btm lacks it)
then the encoding MB per CPU-second of each trained tokenizer and of tiktoken gpt2 (cl100k_base
where gpt2's file is not cached) on held-out text, each cold (a fresh load) in its own child.

Text: the npm package nlp-corpus 4.4.0's English sentences in groups of 10, shuffled (seed 0),
de-duplicated, plus 2 MB of the embedded corpus (data/embedded, seed 0): ~10.9 MB of distinct
documents. The tarball is looked for in text_cache, else fetched there by
`npm pack nlp-corpus@4.4.0`; without it the text is the embedded corpus alone (a printed line
says so). n_bytes above that: shuffled copies of it (the distinct-document ratio is printed).
Children stream the text from a jsonl file (as btm.py streams a split), so the peak RSS is the
trainer's, not a list of the texts.

    python bench/superword_speed.py                  # the distinct text once (~10.9 MB)
    python bench/superword_speed.py --n_bytes=1e8    # 100 MB of shuffled copies
"""
import fnmatch
import glob
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/, for machine.py

n_bytes = 0                  # of UTF-8 text: 0 = the distinct text once; more: shuffled copies
vocab_size = 16384           # final vocabulary of every method (ids, specials included)
btm_base = 4096              # BTM's primitive
superbpe_t = 12288           # SuperBPE's transition point (its stage-1 vocabulary)
boundless_base = 12288       # BoundlessBPE's phase-1 vocabulary
methods = ['hf-bpe', 'bpe', 'btm', 'superbpe', 'boundless']
encode_bytes = 2_000_000     # held-out text for encoding: the embedded corpus, seed 1
text_cache = 'out/bench/superword_text'  # the npm tarball and the built texts (jsonl) are kept here
npm_tarball = ''             # a nlp-corpus-4.4.0.tgz to use instead of text_cache's / npm's
max_docs = 0                 # 0 = every document; a few hundred for a smoke run
rounds = 1                   # trainings of each method, in turn; the least CPU of each is kept
seed = 0
NPM_PACKAGE = 'nlp-corpus@4.4.0'
EMBEDDED_BYTES = 2_000_000


# ---------------------------------------------------------------- the text
def npm_tarball_path(cache, given):
    """The nlp-corpus tarball: the given one, the cache's, or `npm pack` into the cache, or None."""
    if given:
        return given
    found = glob.glob(os.path.join(cache, 'nlp-corpus-4.4.0.tgz'))
    if not found and shutil.which('npm'):
        subprocess.run(['npm', 'pack', NPM_PACKAGE, '--pack-destination', cache],
                       capture_output=True, timeout=300)
        found = glob.glob(os.path.join(cache, 'nlp-corpus-4.4.0.tgz'))
    return found[0] if found else None


def distinct_documents(tarball):
    """(documents, what they are): nlp-corpus sentences by 10 + the embedded corpus, no repeats."""
    from data.embedded import generate
    docs, seen = [], set()
    what = 'the embedded corpus alone (no nlp-corpus tarball: npm pack failed)'
    if tarball:
        sents = []
        with tarfile.open(tarball) as tar:
            names = sorted(m.name for m in tar.getmembers()
                           if fnmatch.fnmatch(m.name, 'package/builds/doc-*.json'))
            for name in names:
                sents += json.load(tar.extractfile(name))
        random.Random(0).shuffle(sents)
        for i in range(0, len(sents), 10):
            d = ' '.join(sents[i:i + 10])
            if d not in seen:
                seen.add(d)
                docs.append(d)
        what = f"{NPM_PACKAGE} English sentences in groups of 10 ({os.path.basename(tarball)}) + "
    size = EMBEDDED_BYTES if tarball else 10_000_000
    emb = [d['text'] for d in generate.generate_documents(size, seed=0)]
    docs += [e for e in dict.fromkeys(emb) if e not in seen]
    return docs, what + ('2 MB of the embedded corpus' if tarball else '')


def bench_text(cfg):
    """The bench text as jsonl in the cache -> (path, what it is, n_docs, n_distinct, n_bytes)."""
    os.makedirs(cfg['text_cache'], exist_ok=True)
    docs, what = distinct_documents(npm_tarball_path(cfg['text_cache'], cfg['npm_tarball']))
    docs = docs[:cfg['max_docs'] or None]
    size = sum(len(d.encode('utf-8')) for d in docs)
    out, rng, n_distinct = list(docs), random.Random(cfg['seed']), len(docs)
    while cfg['n_bytes'] and size < cfg['n_bytes']:
        copy = list(docs)
        rng.shuffle(copy)
        for d in copy:
            if size >= cfg['n_bytes']:
                break
            out.append(d)
            size += len(d.encode('utf-8'))
    path = os.path.join(cfg['text_cache'], f"text_{len(out)}_{size}.jsonl")
    if not os.path.isfile(path):
        with open(path + '.tmp', 'w') as f:
            f.writelines(json.dumps({'text': d}) + '\n' for d in out)
        os.replace(path + '.tmp', path)
    return path, what, len(out), n_distinct, size


# ---------------------------------------------------------------- one measurement, in a fresh child
def stream(path):
    with open(path) as f:
        for line in f:
            yield json.loads(line)['text']


def train_one(method, text_path, out, cfg):
    """Train `method` on the text into out; returns a note (what ran)."""
    import btm
    import tokenizer
    texts = lambda: stream(text_path)
    if method == 'hf-bpe':
        import tokenizers
        from tokenizers import models, pre_tokenizers, trainers
        tok = tokenizers.Tokenizer(models.BPE())
        tok.pre_tokenizer = tokenizer._hf_pre_tokenizer(byte_level=True)
        trainer = trainers.BpeTrainer(vocab_size=cfg['vocab_size'], min_frequency=2,
                                      special_tokens=[tokenizer.BOS, tokenizer.EOS],
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False)
        tok.train_from_iterator(texts(), trainer)
        os.makedirs(out)
        tok.save(os.path.join(out, 'tokenizer.json'))
    elif method == 'bpe':
        tokenizer.train_bpe(texts(), cfg['vocab_size'], out)
    elif method == 'btm':
        btm.train(texts, out, cfg['btm_base'], cfg['vocab_size'])
    else:
        base = cfg['superbpe_t'] if method == 'superbpe' else cfg['boundless_base']
        btm.train(texts, out, base, cfg['vocab_size'], method=method)


def encode_one(method, folder, held_path):
    """Load the tokenizer cold and encode the held-out text once -> tokens."""
    texts = list(stream(held_path))
    if method == 'hf-bpe':
        import tokenizers
        tok = tokenizers.Tokenizer.from_file(os.path.join(folder, 'tokenizer.json'))
        encode = lambda t: [e.ids for e in tok.encode_batch_fast(t, add_special_tokens=False)]
    else:
        from uniscale import tokenization
        encode = tokenization.load_tokenizer(folder).encode_batch
    start = cpu_seconds(), time.time()
    n = sum(map(len, encode(texts)))
    return n, cpu_seconds() - start[0], time.time() - start[1]


def cpu_seconds():
    return sum(sum(resource.getrusage(who)[:2])
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def child(job):
    """Run one job (json) in this fresh process; print its measurements as one json line."""
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if job['kind'] == 'train':
        c0, w0 = cpu_seconds(), time.time()
        train_one(job['method'], job['text'], job['out'], job['cfg'])
        res = {'cpu': cpu_seconds() - c0, 'wall': time.time() - w0}
    else:
        n, cpu, wall = encode_one(job['method'], job['out'], job['text'])
        res = {'tokens': n, 'cpu': cpu, 'wall': wall}
    peak = max(resource.getrusage(w).ru_maxrss
               for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(json.dumps({**res, 'rss_mb': peak / 1024, 'rss_start_mb': rss0 / 1024}))


def in_child(job):
    """job in a fresh interpreter -> its json line, or {'error': its last line}."""
    p = subprocess.run([sys.executable, os.path.abspath(__file__), 'child', json.dumps(job)],
                       capture_output=True, text=True, cwd=ROOT)
    if p.returncode:
        return {'error': (p.stderr.strip().splitlines() or ['no message'])[-1][:200]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def has_method(method):
    """Whether btm.train takes this method (the helpers' modules merged); hf-bpe, bpe, btm do."""
    if method in ('hf-bpe', 'bpe', 'btm'):
        return True
    import inspect
    import btm
    src = inspect.getsource(btm)
    return 'method' in inspect.signature(btm.train).parameters and f"'{method}'" in src


def held_out(cfg, tmp):
    from data.embedded import generate
    path = os.path.join(tmp, 'held.jsonl')
    docs = [d['text'] for d in generate.generate_documents(cfg['encode_bytes'], seed=1)]
    with open(path, 'w') as f:
        f.writelines(json.dumps({'text': d}) + '\n' for d in docs)
    return path, sum(len(d.encode('utf-8')) for d in docs) / 1e6


def main(cfg):
    import machine
    print(f"machine: {machine.describe()}; load average {os.getloadavg()[0]:.1f} "
          f"(noisy if > cores)")
    text, what, n_docs, n_distinct, size = bench_text(cfg)
    print(f"text: {what}: {n_docs:,} documents, {size / 1e6:.1f} MB, {n_distinct:,} distinct "
          f"(distinct-document ratio {n_distinct / n_docs:.3f}); {text}")
    tmp = tempfile.mkdtemp(prefix='superword_speed_')
    try:
        rows, trained = {}, {}
        methods = [m for m in cfg['methods'] if has_method(m)]
        for m in cfg['methods']:
            if m not in methods:
                print(f"{m}: skipped (btm.train has no method={m!r} here)")
        for round_ in range(cfg['rounds']):  # the methods in turn; each one's least CPU is kept
            for m in [m for m in methods if 'error' not in rows.get(m, {})]:
                out = os.path.join(tmp, f"{m}{round_}")
                r = in_child({'kind': 'train', 'method': m, 'text': text, 'out': out, 'cfg': cfg})
                if 'error' in r:
                    print(f"{m}: failed: {r['error']}")
                elif r['cpu'] < rows.get(m, {}).get('cpu', float('inf')):
                    if m in trained:  # a slower round's folder
                        shutil.rmtree(trained[m], ignore_errors=True)
                    rows[m], trained[m] = r, out
                else:
                    shutil.rmtree(out, ignore_errors=True)
                rows.setdefault(m, r)
                if 'error' not in r:
                    print(f"{m}: {r['cpu']:.2f} CPU-s, {r['wall']:.2f} s wall, peak RSS "
                          f"{r['rss_mb']:.0f} MB (after imports {r['rss_start_mb']:.0f}), "
                          f"load {os.getloadavg()[0]:.1f}", flush=True)
        peer = rows.get('hf-bpe', {})
        if 'cpu' in peer:
            print(f"training vs hf-bpe, {cfg['vocab_size']:,} ids, {size / 1e6:.1f} MB:")
            for m, r in rows.items():
                if 'cpu' in r:
                    print(f"  {m:10s} {r['cpu'] / peer['cpu']:.2f}x CPU, "
                          f"{r['wall'] / peer['wall']:.2f}x wall, "
                          f"{r['rss_mb'] / peer['rss_mb']:.2f}x peak RSS; "
                          f"{r['cpu'] / size * 1e9:.0f} CPU-s/GB")
        held, mb = held_out(cfg, tmp)
        enc = {}
        tiktoken_name = next((t for t in ('gpt2', 'cl100k_base') if tiktoken_cached(t)), None)
        for m in list(trained) + ['tiktoken']:
            name = trained.get(m) or tiktoken_name
            if name is None:
                print("tiktoken: skipped (neither gpt2's nor cl100k_base's file is cached offline)")
                continue
            enc[m] = in_child({'kind': 'encode', 'method': m, 'text': held, 'out': name})
            if 'error' in enc[m]:
                print(f"encode {m}: failed: {enc[m]['error']}")
                enc.pop(m)
        base = enc.get('hf-bpe')
        print(f"encoding {mb:.1f} MB of held-out text (embedded corpus, seed 1), cold, "
              f"MB per CPU-second:")
        for m, r in enc.items():
            label = m if m != 'tiktoken' else f"tiktoken {tiktoken_name}"
            vs = f" = {base['cpu'] / r['cpu']:.2f}x hf-bpe" if base else ''
            print(f"  {label:22s} {mb / r['cpu']:.2f} MB/CPU-s ({mb / r['wall']:.2f} MB/s wall)"
                  f"{vs}; {r['tokens']:,} tokens")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


def tiktoken_cached(name):
    try:
        from uniscale import tokenization
        tokenization.load_tokenizer(name)
        return True
    except SystemExit:
        return False


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == 'child':
        child(json.loads(sys.argv[2]))
    else:
        import configurator
        config = configurator.configure(globals())
        main(config)
