"""
BTM (BPE-TKN-Merge): a small primitive byte-level BPE, then greedy merges of adjacent *tokens* over the token
stream, so a merged token may span words ("Once upon a time").

    python btm.py config/btm_demo.py                  # train -> out/tokenizers/btm-1k-2k/ (1,000 -> 2,000 ids)
    python btm.py config/btm_tinystories.py           # -> out/tokenizers/btm-4k-16k/ (4,096 -> 16,384 ids)
    python btm.py analyze config/btm_demo.py          # vs bpe-2k -> out/analysis/btm-1k-2k/btm_vocab.{md,json,png}
    python btm.py analyze config/btm_demo.py --compare='["btm-1k-2k","bpe-2k","unigram-2k"]'
    python btm.py config/btm_tinystories.py --method=superbpe --n_base=12288  # SuperBPE -> superbpe-t12k-16k/

`method` picks the algorithm: 'btm' (below), 'superbpe' (uniscale/superbpe.py) or 'boundless' (uniscale/boundless.py);
each has its own docstring and DESIGN section.

The folder is named for the sizes (btm-{n_base}-{vocab_size} in k) unless `name` is set. `max_tok_bytes` trains on a
seeded random sample of the tok split's documents (uniscale/splits.py), and meta.json's `sample` says which.

The algorithm, exactly (`naive_learn_merges` states it in a dozen lines; `learn_merges` computes the same fast):
1. Train a primitive byte-level BPE (tokenizer.train_bpe, `n_base` ids with the specials) on the `tok` split and
   encode each document with it (no BOS/EOS). A document is cut at any special id, so specials never enter a pair.
2. The count of a pair (A, B) is the number of positions i in any document with d[i] = A and d[i+1] = B: overlaps
   included (A A A holds (A, A) twice), never across documents. The counts before merge 0 are the pair graph.
3. Merge k = 0, 1, ...: stop if k == n_merges or no pair has a count >= max(min_frequency, 1). Else take the pair
   with the highest count, ties broken by the smallest (A, B); it gets id M = n_base + k; in every document,
   scanning left to right, each A B that does not overlap an earlier replacement becomes M (A A A -> M A).
   The counts are then those of the new documents (kept incrementally here, never recounted).
   Constraints (off by default) make some pairs uncountable, see `allowed`.
4. Encoding: primitive encode, then the merges applied in rank order as in step 3 (lowest-rank pair present
   first, left to right). On the training documents this is exactly step 3's segmentation. It runs in Rust
   (`merge_engine`), or in numpy (`apply_merges`) where that cannot represent the merges (uniscale/btm_encoding.py,
   which uniscale.tokenization.load_tokenizer uses without importing this file).
   Decoding expands every id to its primitive ids and decodes those: lossless because the primitive is.

Why it is fast, and its memory: uniscale/merge_loop.py, which holds the engine (and the naive reference).

Files in out/tokenizers/{name}/: meta.json (kind 'btm'), primitive/ (the BPE), merges.json (pairs and their
counts at merge time), pair_graph.npz (a, b, count of every pair in the primitive-encoded tok split). meta.json's
`trained_on` ({corpus, split, sha256}) and `settings` say what it was trained from: a re-run skips a finished BTM only
when both are unchanged. One process writes a folder at a time (its lock, uniscale/locks.py). While training, the
primitive and its encoding of the split (the slow steps before the merges) are kept in {name}.resume/ beside the
folder, so a run stopped by a signal resumes at the merges; the folder goes once the BTM is finished.
"""
import io
import json
import os
import shutil
import signal
import time

import numpy as np

import configurator
import tokenizer
from uniscale import atomic, boundless, locks, primitive_stream, superbpe, tokenization, vocab_compare
from uniscale.atomic import disk_errors, remove_quietly, remove_stale_temps, write_atomic
from uniscale.btm_encoding import Chain, btm_hash
from uniscale.identity import differences
from uniscale.merge_loop import learn_merges_detailed, release_freed_memory
from uniscale.splits import sample_split

# -----------------------------------------------------------------------------
# defaults (override with config/*.py or --key=value)
command = 'train'            # 'train' | 'analyze'
method = 'btm'               # 'btm' | 'superbpe' (uniscale/superbpe.py; n_base = its t)
                             # | 'boundless' (uniscale/boundless.py; n_base = phase 1)
corpus = 'embedded'          # reads out/corpus/{corpus}/tok.jsonl
corpus_dir = 'out/corpus'    # text splits: {corpus_dir}/{corpus}/{split}.jsonl
out_dir = 'out/tokenizers'   # the BTM goes to {out_dir}/{name}/
name = ''                    # '' -> btm-{n_base}-{vocab_size} in k, e.g. btm-4k-16k
n_base = 4096                # primitive BPE vocabulary, specials included
vocab_size = 16384           # primitive + merged tokens
min_frequency = 2            # for the primitive BPE and for the merges
max_words = 0                # constraint: whitespace-separated words per merged token; 0 = no limit
max_pretokens = 0            # boundless: pretokens a token may span; 0 = no limit (as the authors)
boundaries = []              # constraint: tokens holding one of these strings never merge, e.g. ['\n']
max_tok_bytes = 0            # of UTF-8 text: a seeded random sample of the tok split's documents; 0 = all of it
sample_seed = 0              # which documents max_tok_bytes samples
encode_batch_docs = 1000     # documents per primitive encoding task while training
num_proc = 1                 # processes encoding the tok split; 0 = one per core
progress = True              # a progress bar over the merges, with merges/s
# analyze
compare = []                 # tokenizers to compare (folders, names under out_dir, tiktoken names);
#                              [] -> this BTM and `baseline`
baseline = ''                # BPE folder of equal vocabulary; '' -> {out_dir}/bpe-{vocab_size in k}, trained if missing
analyze_split = 'val'        # split the encodings are measured on
analyze_max_docs = 5000
analysis_dir = 'out/analysis'  # writes {analysis_dir}/{name}/btm_vocab.{md,json,png}; with
#                                `compare`: {analysis_dir}/{its names joined by '_vs_'}/
# -----------------------------------------------------------------------------


# ---------------------------------------------------------------- the tokenizer: train, save, load
def default_name(n_base, vocab_size, method='btm'):
    """btm-4k-16k, superbpe-t12k-16k (t = n_base), boundless-16k: the row of tokenization.KINDS"""
    return tokenization.kind_name(method, vocab_size, n_base)


PRIMITIVE_MIN = tokenization.MIN_VOCAB['bpe']  # ids the primitive BPE holds before its first merge: bytes + 2 specials


def check_sizes(n_base, vocab_size, method='btm'):
    if n_base < PRIMITIVE_MIN:
        raise SystemExit(f"config error: n_base={n_base} is below the {PRIMITIVE_MIN} ids the primitive BPE holds "
                         f"before learning anything (256 bytes + 2 specials); raise n_base to at least {PRIMITIVE_MIN}")
    if method == 'superbpe' and vocab_size < n_base:
        raise SystemExit(f"config error: vocab_size={vocab_size} is below the transition point "
                         f"n_base={n_base}; raise vocab_size to at least n_base")
    if vocab_size <= n_base and method != 'superbpe':
        raise SystemExit(f"config error: vocab_size={vocab_size} must be above n_base={n_base} (the merges make the "
                         f"ids n_base..vocab_size-1; equal sizes would be a BTM without merges); raise vocab_size")


def check_name(name, n_base, vocab_size, method='btm'):
    """A name that reads as sizes must be these sizes: a 1k -> 2k BTM in btm-4k-16k misleads every later reader."""
    sizes = default_name(n_base, vocab_size, method)
    if tokenization.reads_as_sizes(name, tokenization.kinds_trained_by('btm.py')) and name != sizes:
        raise SystemExit(f"config error: name={name!r} names other sizes than n_base={n_base}, vocab_size="
                         f"{vocab_size}, method={method} ({sizes}); leave name unset, so that it "
                         f"follows the sizes, or give a name that is not sizes")


def train(texts, out_path, n_base=4096, vocab_size=16384, min_frequency=2, max_words=0, boundaries=(), corpus='',
          name=None, progress=False, batch_docs=1000, settings=None, num_proc=1, sample=None,
          trained_on=None, method='btm', max_pretokens=0):
    """Train a BTM into out_path and load it. texts: a list of strings, or a function that returns an iterable of
    them (called twice, for the primitive BPE and for encoding: a split is streamed, never held). sample: what
    texts are of their split, for meta.json (sample_split's; a list's is 'all' of it). trained_on: the split's
    {corpus, split, sha256} (train_command's); with it the primitive and its encoding are kept for a resume."""
    check_sizes(n_base, vocab_size, method)
    name = name or default_name(n_base, vocab_size, method)
    if not callable(texts):
        texts = list(texts)
        sample = sample or {'sample': 'all', 'seed': None, 'n_docs': len(texts),
                            'n_bytes': sum(len(t.encode('utf-8')) for t in texts)}
    text_again = texts if callable(texts) else (lambda: texts)
    remove_stale_temps(out_path)  # {out_path}.{pid}.tmp of killed runs
    tmp = f"{out_path.rstrip('/')}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    resume = f"{out_path.rstrip('/')}.resume" if trained_on and method != 'superbpe' else None
    try:  # the files go to a temp folder moved into place at the end, so a half-written BTM is never seen
        if method == 'superbpe':  # uniscale/superbpe.py, handed the engine and train_bpe
            superbpe.train_into(tmp, text_again, n_base, vocab_size, min_frequency, name, corpus,
                                settings, trained_on, sample, learn_merges_detailed,
                                tokenizer.train_bpe, progress,
                                (tokenizer.bpe_from_word_counts, tokenizer.trainer_words))
        elif method == 'boundless':
            _train_boundless_into(tmp, text_again, n_base, vocab_size, min_frequency, max_pretokens,
                                  corpus, name, progress, batch_docs, settings, sample, resume,
                                  trained_on)
        else:
            _train_into(tmp, text_again, n_base, vocab_size, min_frequency, max_words, boundaries,
                        corpus, name, progress, batch_docs, settings, num_proc, sample, out_path,
                        resume, trained_on)
        with disk_errors(out_path):
            move_into_place(tmp, out_path)
    finally:  # a failure or a kill (SIGTERM is a KeyboardInterrupt in btm.py) leaves no temp; .resume/ stays
        shutil.rmtree(tmp, ignore_errors=True)
    if resume:
        shutil.rmtree(resume, ignore_errors=True)
    return load(out_path, method)


def move_into_place(tmp, out_path):
    """tmp's files into out_path, meta.json last (present = finished). The folder itself stays: it may hold the
    lock of the process writing it (uniscale/locks.py), which must not be deleted while held."""
    os.makedirs(out_path, exist_ok=True)
    remove_quietly(os.path.join(out_path, 'meta.json'))  # unfinished from here until the new meta.json is in place
    for f in os.listdir(out_path):  # the files of a BTM trained here before
        if not f.startswith(locks.LOCK_NAME):
            old = os.path.join(out_path, f)
            shutil.rmtree(old) if os.path.isdir(old) and not os.path.islink(old) else os.remove(old)
    for f in sorted(os.listdir(tmp), key=lambda f: f == 'meta.json'):
        os.replace(os.path.join(tmp, f), os.path.join(out_path, f))


def kept_encoding(resume, settings, trained_on):
    """(primitive, (ids, lengths) or None) that a stopped training with these settings on this split kept in
    resume/ (primitive/, ids.npz), else (None, None), another training's leftovers removed."""
    try:
        prim = tokenization.load_tokenizer(os.path.join(resume, 'primitive'))
        if (prim.meta.get('settings'), prim.trained_on) != (settings, trained_on):
            raise SystemExit('kept for other settings')
    except SystemExit:  # none kept, half-kept, or another's
        shutil.rmtree(resume, ignore_errors=True)
        return None, None
    try:
        with np.load(os.path.join(resume, 'ids.npz')) as z:
            return prim, ((z['ids'], z['lengths']) if str(z['primitive_hash']) == prim.hash else None)
    except (OSError, ValueError, KeyError):  # the encoding had not finished (or is damaged): encode again
        return prim, None


def _train_boundless_into(tmp, text_again, n_base, vocab_size, min_frequency, max_pretokens, corpus,
                          name, progress, batch_docs, settings, sample, resume, trained_on):
    """method='boundless' (uniscale/boundless.py), handed tokenizer.train_bpe and this file's merge
    engine; its phase-1 BPE is kept in resume/ (as a BTM's primitive is) for a stopped run."""
    prim_settings = {'n_base': n_base, 'min_frequency': min_frequency, 'sample': sample}
    kept = kept_encoding(resume, prim_settings, trained_on)[0] if resume else None
    boundless.train_into(tmp, text_again, n_base, vocab_size, min_frequency, max_pretokens, corpus,
                         name, progress, batch_docs, settings, sample, trained_on,
                         tokenizer.train_bpe, learn_merges_detailed, primitive=kept,
                         primitive_dir=resume and os.path.join(resume, 'primitive'),
                         one_pass_hooks=(tokenizer.bpe_from_word_counts, tokenizer.trainer_words))


def _train_into(tmp, text_again, n_base, vocab_size, min_frequency, max_words, boundaries, corpus, name, progress,
                batch_docs, settings, num_proc, sample, out_path, resume, trained_on):
    t0 = time.time()
    prim_settings = {'n_base': n_base, 'min_frequency': min_frequency, 'sample': sample}  # what the primitive is of
    prim, kept = kept_encoding(resume, prim_settings, trained_on) if resume else (None, None)
    fresh = None  # the primitive's encoding of the split, when made in the pass that trained it
    if prim is None:
        prim, fresh = primitive_and_encoding(text_again, n_base, min_frequency,
                                             os.path.join(resume or tmp, 'primitive'), name, corpus,
                                             trained_on, prim_settings, batch_docs)
    if prim is None:
        prim = tokenizer.train_bpe(text_again(), n_base, os.path.join(resume or tmp, 'primitive'), min_frequency,
                                   f"{name}-primitive", corpus, trained_on=trained_on, settings=prim_settings)
    t1 = time.time()
    release_freed_memory()
    resumed = kept is not None
    if resumed:
        print(f"{out_path}: resuming with the primitive and its encoding of the split kept in {resume}")
    else:
        kept = fresh or primitive_stream.encode_flat(prim, text_again(), batch_docs, num_proc)
        if resume:  # the slow step before the merges, kept for a run stopped during them
            buf = io.BytesIO()
            np.savez(buf, ids=kept[0], lengths=kept[1], primitive_hash=np.array(prim.hash))
            write_atomic(os.path.join(resume, 'ids.npz'), buf.getbuffer())
            del buf
    t2 = time.time()
    (ids, lengths), kept = kept, None
    n_docs, n_tokens = len(lengths), len(ids)
    chain = Chain(ids, n_base, vocab_size, lengths)
    del ids, lengths  # the chain holds them now
    release_freed_memory()
    bnd = tuple(b.encode('utf-8') if isinstance(b, str) else b for b in boundaries)
    tb = [prim.token_bytes(i) for i in range(n_base)] if (max_words or bnd) else None
    res = learn_merges_detailed(chain, n_base, vocab_size - n_base, min_frequency, token_bytes=tb,
                                max_words=max_words, boundaries=bnd, progress=progress, segmentation=False)
    t3 = time.time()
    merges = res['merges']
    if len(merges) < vocab_size - n_base:  # as train_bpe: a btm-4k-16k must have 16,384 ids
        raise SystemExit(f"{out_path}: BTM stopped at {n_base + len(merges)} of vocab_size={vocab_size} ids (no pair "
                         f"left seen >= {min_frequency} times); train on more text or lower vocab_size")
    raw = json.dumps({'n_base': n_base, 'merges': merges, 'counts': res['counts']}).encode()
    write_atomic(os.path.join(tmp, 'merges.json'), raw)
    keys, counts = res['graph']
    order, graph = np.lexsort((keys, -counts)), io.BytesIO()  # by count, then by pair
    np.savez(graph, a=(keys[order] // res['width']).astype(np.int32), b=(keys[order] % res['width']).astype(np.int32),
             count=counts[order].astype(np.int64))
    write_atomic(os.path.join(tmp, 'pair_graph.npz'), graph.getbuffer())
    if resume:  # the kept primitive becomes the BTM's (copied: it stays kept until the BTM is in place)
        with disk_errors(tmp):
            shutil.copytree(os.path.join(resume, 'primitive'), os.path.join(tmp, 'primitive'))
    meta = {'kind': 'btm', 'name': name, 'vocab_size': n_base + len(merges), 'bos_id': prim.bos_id,
            'eos_id': prim.eos_id, 'corpus': corpus, 'hash': btm_hash(raw, prim.hash), 'n_base': n_base,
            'n_merges': len(merges), 'primitive': 'primitive', 'primitive_hash': prim.hash,
            'files': ['merges.json', 'pair_graph.npz'], 'trained_on': trained_on, 'settings': settings or {},
            'sample': sample,
            'train': {'target_vocab_size': vocab_size, 'min_frequency': min_frequency, 'max_words': max_words,
                      'boundaries': [b.decode('utf-8', 'replace') for b in bnd], 'n_docs': n_docs,
                      'n_tokens_primitive': n_tokens, 'n_tokens_merged': res['n_tokens'], 'n_pairs': len(keys),
                      'resumed': resumed,
                      'seconds': {'primitive': round(t1 - t0, 2), 'encode': round(t2 - t1, 2),
                                  'merges': round(t3 - t2, 2), 'total': round(time.time() - t0, 2)}}}
    write_atomic(os.path.join(tmp, 'meta.json'), json.dumps(meta, indent=2))


def load(path, method='btm'):
    """A folder btm.py trained with this method -> its tokenizer (tokenization.load_tokenizer's)."""
    if not os.path.isfile(os.path.join(path, 'meta.json')):
        raise SystemExit(f"{path}: no meta.json, so the BTM is unfinished; re-run `python btm.py` with its config")
    tok = tokenization.load_tokenizer(path)
    if tok.kind != method:
        raise SystemExit(f"{path}: holds a {tok.kind} tokenizer, not a {method}; point at a folder "
                         f"btm.py wrote with --method={method}")
    return tok


# ---------------------------------------------------------------- commands
def btm_path(cfg):
    name = cfg['name'] or default_name(cfg['n_base'], cfg['vocab_size'], cfg['method'])
    return os.path.join(cfg['out_dir'], name)


def train_command(cfg):
    check_method(cfg)
    check_sizes(cfg['n_base'], cfg['vocab_size'], cfg['method'])
    check_name(cfg['name'], cfg['n_base'], cfg['vocab_size'], cfg['method'])
    path, split = btm_path(cfg), os.path.join(cfg['corpus_dir'], cfg['corpus'], 'tok.jsonl')
    keys = ['corpus', 'n_base', 'vocab_size', 'min_frequency', 'max_words', 'boundaries', 'max_tok_bytes']
    keys += ['method'] * (cfg['method'] != 'btm')  # a BTM's settings stay as before methods existed
    if cfg['method'] == 'boundless':  # its own setting in place of BTM's constraints
        keys = [k for k in keys if k not in ('max_words', 'boundaries')] + ['max_pretokens']
    settings = json.loads(json.dumps({k: cfg[k] for k in keys + ['sample_seed'] * bool(cfg['max_tok_bytes'])}))
    trained_on = tokenizer.split_identity(cfg['corpus_dir'], cfg['corpus'], 'tok')
    with tokenizer.training_folder(path):
        if os.path.isfile(os.path.join(path, 'meta.json')) and check_finished(path, settings, trained_on):
            print(f"{path}: already trained, skipping")
            return
        texts, sample = sample_split(split, cfg['max_tok_bytes'], cfg['sample_seed'])
        if not sample['n_bytes']:
            raise SystemExit(f"{split}: no text to train on (its {sample['n_docs']:,} documents are empty); remake "
                             f"the split with prepare.py, or set --corpus to a corpus with text")
        print(f"training {path} ({cfg['n_base']:,} -> {cfg['vocab_size']:,} ids) on {split}: {sample['sample']} "
              f"{sample['n_docs']:,} of {sample['split_n_docs']:,} documents, {sample['n_bytes']:,} bytes")
        tok = train(texts, path, cfg['n_base'], cfg['vocab_size'], cfg['min_frequency'], cfg['max_words'],
                    cfg['boundaries'], cfg['corpus'], os.path.basename(path), cfg['progress'],
                    cfg['encode_batch_docs'], settings, cfg['num_proc'] or os.cpu_count() or 1,
                    sample, trained_on, cfg['method'], cfg['max_pretokens'])
    tr = tok.meta['train']
    if cfg['method'] == 'boundless':
        print(f"{path}: {tok.vocab_size:,} ids; {tr['n_runs']:,} runs ({tr['n_runs_distinct']:,} "
              f"distinct); seconds {tr['seconds']}")
        return
    n_first = tr.get('n_tokens_primitive', tr.get('n_tokens_stage1', 0))  # btm's or superbpe's
    print(f"{path}: {tok.vocab_size:,} ids; {n_first:,} primitive tokens -> "
          f"{tr.get('n_tokens_merged', 0):,}; seconds {tr['seconds']}")


def check_method(cfg):
    methods = tokenization.kinds_trained_by('btm.py')
    if cfg['method'] not in methods:
        raise SystemExit(f"config error: method={cfg['method']!r} unknown; use one of {', '.join(methods)}")
    if cfg['method'] != 'btm' and (cfg['max_words'] or cfg['boundaries']):  # BTM's constraints
        raise SystemExit(f"config error: method={cfg['method']!r} has its own rules (superbpe: at "
                         f"most {superbpe.MAX_WORDS} words, no {superbpe.NO_TOKEN_HOLDS.decode()!r}; "
                         f"boundless: max_pretokens); leave max_words and boundaries unset")


def check_finished(path, settings, trained_on):
    """True when the finished BTM at path was trained with these settings on this split: skip it. Otherwise refuse
    in one line (never retrain over it in place)."""
    meta = tokenization.read_meta(os.path.join(path, 'meta.json'))
    old = meta.get('trained_on') if isinstance(meta.get('trained_on'), dict) else {}
    if meta.get('settings') == settings and old == trained_on:
        return True
    if old.get('sha256') != trained_on['sha256']:
        what = (f"an older tok split (sha256 {str(old['sha256'])[:12]}, now {trained_on['sha256'][:12]})"
                if old.get('sha256') else "a tok split it did not record (made before BTMs recorded their split)")
        raise SystemExit(f"{path}: trained on {what}; retrain under another --out_dir, or delete the folder")
    changed = differences(meta.get('settings') or {}, settings) or differences(old, trained_on)
    raise SystemExit(f"{path}: holds a {meta['kind']} tokenizer trained with other settings ({'; '.join(changed)}); "
                     f"delete it or set another --name")


def primitive_and_encoding(text_again, n_base, min_frequency, path, name, corpus, trained_on,
                           settings, batch_docs):
    """The primitive BPE and its encoding of the texts from one pre-tokenizer pass (issue 28): the
    counts of the words BPE training sees, merged by learn_merges_detailed with weights
    (tokenizer.bpe_from_word_counts: the tokenizer train_bpe makes, byte-identical), each distinct
    pre-token encoded once. (None, None) where the merge engine takes no weights or two merges spell
    one string: train_bpe and encode_flat then."""
    import inspect
    if 'weights' not in inspect.signature(learn_merges_detailed).parameters:
        return None, None
    distinct, numbers, n_pre, words, stats = primitive_stream.number_pretokens(
        text_again(), tokenizer.trainer_words, batch_docs)
    learn = lambda docs, nb, nm, mf, w: learn_merges_detailed(docs, nb, nm, mf, weights=w,
                                                              segmentation=False)['merges']
    prim = tokenizer.bpe_from_word_counts(words, n_base, path, learn, min_frequency,
                                          f"{name}-primitive", corpus, trained_on, settings, stats)
    del words
    if prim is None:
        return None, None
    return prim, primitive_stream.encode_numbered(prim, distinct, numbers, n_pre)


def analyze(cfg):
    """Vocabularies compared on the analyze split (uniscale/vocab_compare.py): --compare (folders,
    names under out_dir or tiktoken names), else the BTM of btm.py's config against --baseline,
    else against the BPE of its size under out_dir, trained if missing on the BTM's sample."""
    split = os.path.join(cfg['corpus_dir'], cfg['corpus'], f"{cfg['analyze_split']}.jsonl")
    if cfg['compare']:
        found = [find_tokenizer(c, cfg['out_dir']) for c in cfg['compare']]
        toks = [tokenization.load_tokenizer(path) for path in found]
        out = os.path.join(cfg['analysis_dir'], '_vs_'.join(t.name for t in toks))
    else:
        tok = load(btm_path(cfg))
        toks, out = [tok, tokenization.load_tokenizer(baseline_of(cfg, tok))], os.path.join(
            cfg['analysis_dir'], tok.name)
    vocab_compare.compare(toks, split, cfg['analyze_max_docs'], cfg['corpus'], out)


def find_tokenizer(name, out_dir):
    """A tokenizer as given (a folder, a tiktoken name), else the folder of the name in out_dir."""
    if not os.path.isdir(name) and os.path.isdir(os.path.join(out_dir, name)):
        return os.path.join(out_dir, name)  # a bare name such as unigram-2k
    return name


def baseline_of(cfg, tok):
    """--baseline, else the BPE of the BTM's size under out_dir, trained if missing (never one
    that was asked for)."""
    if cfg['baseline']:
        return find_tokenizer(cfg['baseline'], cfg['out_dir'])
    base = os.path.join(cfg['out_dir'], tokenization.tokenizer_name('bpe', tok.vocab_size))
    if not os.path.isfile(os.path.join(base, 'meta.json')):
        with tokenizer.training_folder(base):
            print(f"training the baseline {base} ({tok.vocab_size:,} ids) on the BTM's documents "
                  f"of the tok split")
            texts, _ = sample_split(os.path.join(cfg['corpus_dir'], cfg['corpus'], 'tok.jsonl'),
                                    cfg['max_tok_bytes'], cfg['sample_seed'])
            tokenizer.train_bpe(texts(), tok.vocab_size, base, cfg['min_frequency'],
                                os.path.basename(base), cfg['corpus'], trained_on=tok.trained_on)
    return base


def _stopped(signum, frame):
    raise KeyboardInterrupt  # a kill cleans up as Ctrl-C does: the temp folder goes, {name}.resume/ stays


if __name__ == '__main__':
    config = configurator.configure(globals())
    if command not in ('train', 'analyze'):
        raise SystemExit(f"config error: command {command!r} unknown; use 'train' (default) or 'analyze'")
    signal.signal(signal.SIGTERM, _stopped)
    # a failed write's advice names the setting that moves the output
    atomic.set_output_setting('--out_dir' if command == 'train' else '--analysis_dir')
    try:
        train_command(config) if command == 'train' else analyze(config)
    except KeyboardInterrupt:
        raise SystemExit(f"btm.py: stopped; run the same command again to go on (a BTM's primitive and its encoded "
                         f"split are kept in {btm_path(config)}.resume)") from None
