"""
BTM (BPE-TKN-Merge): a small primitive byte-level BPE, then greedy merges of adjacent *tokens* over the token
stream, so a merged token may span words ("Once upon a time").

    python btm.py config/btm_demo.py                  # train -> out/tokenizers/btm-1k-2k/ (1,000 -> 2,000 ids)
    python btm.py config/btm_tinystories.py           # -> out/tokenizers/btm-4k-16k/ (4,096 -> 16,384 ids)
    python btm.py analyze config/btm_demo.py          # vs bpe-2k -> out/analysis/btm-1k-2k/btm_vocab.{md,json,png}

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

Why it is fast: a pair only ever gains occurrences in the merge that creates its newer id (x A B y -> x M y only
adds pairs holding M); afterwards its count only falls. So a pair below min_frequency can be forgotten, every
counted pair enters the heap once when born (the heap takes the most frequent first, the rest wait in arrays), and
its positions are recorded once; a merge then costs O(its occurrences) numpy work on one flat array of nodes.
Memory, ~15 bytes per primitive token (bench/btm_speed.py): ids and token spans as int16, one int32 slot per node,
the counted pairs' positions (those of merged pairs are freed), one position per occurrence of each merged id.

Files in out/tokenizers/{name}/: meta.json (kind 'btm'), primitive/ (the BPE), merges.json (pairs and their
counts at merge time), pair_graph.npz (a, b, count of every pair in the primitive-encoded tok split). meta.json's
`trained_on` ({corpus, split, sha256}) and `settings` say what it was trained from: a re-run skips a finished BTM only
when both are unchanged. One process writes a folder at a time (its lock, uniscale/locks.py). While training, the
primitive and its encoding of the split (the slow steps before the merges) are kept in {name}.resume/ beside the
folder, so a run stopped by a signal resumes at the merges; the folder goes once the BTM is finished.
"""
import collections
import heapq
import io
import json
import os
import re
import shutil
import signal
import time

import numpy as np

import configurator
import tokenizer
from uniscale import atomic, boundless, locks, primitive_stream, superbpe, tokenization, vocab_compare
from uniscale.atomic import disk_errors, remove_quietly, remove_stale_temps, write_atomic
from uniscale.btm_encoding import Chain, btm_hash, group_packed
from uniscale.identity import differences
from uniscale.splits import sample_split

# -----------------------------------------------------------------------------
# defaults (override with config/*.py or --key=value)
command = 'train'            # 'train' | 'analyze'
method = 'btm'               # 'btm' | 'superbpe' (uniscale/superbpe.py; n_base = its transition point t)
                             # | 'boundless' (uniscale/boundless.py; n_base = phase 1; boundless-{vocab}k)
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
num_proc = 0                 # processes encoding the tok split; 0 = one per core
progress = True              # a progress bar over the merges, with merges/s
# analyze
baseline = ''                # BPE folder of equal vocabulary; '' -> {out_dir}/bpe-{vocab_size in k}, trained if missing
analyze_split = 'val'        # split the encodings are measured on
analyze_max_docs = 5000
analysis_dir = 'out/analysis'  # writes {analysis_dir}/{name}/btm_vocab.{md,json,png}
# -----------------------------------------------------------------------------


# ---------------------------------------------------------------- the pure core: ids in, ids out
def allowed(left, right, max_words=0, boundaries=(), allow=None):
    """May tokens with these bytes merge? Tokens holding a boundary never merge (so no merge crosses one);
    the merged text may hold at most max_words whitespace-separated words; allow(left, right), if given, must
    say True (a method's own rule: it must be monotone, a pair once refused is refused for good)."""
    if any(s in left or s in right for s in boundaries):
        return False
    if max_words and len((left + right).split()) > max_words:
        return False
    return allow is None or bool(allow(left, right))


def replace_pair(doc, a, b, m):
    """One document with every non-overlapping a b, scanned left to right, replaced by m."""
    out, i = [], 0
    while i < len(doc):
        if i + 1 < len(doc) and doc[i] == a and doc[i + 1] == b:
            out.append(m)
            i += 2
        else:
            out.append(doc[i])
            i += 1
    return out


def naive_learn_merges(docs, n_base, n_merges, min_frequency=2, token_bytes=None, max_words=0, boundaries=(),
                       weights=None, allow=None, on_merge=None):
    """The definition, recounting every pair after every merge: slow on purpose, the reference for tests.
    Returns (merges, final documents). weights: an integer >= 0 per document (a unit, e.g. a distinct chunk and its
    frequency), None = 1 each; a pair's count is the weighted sum. allow(left bytes, right bytes) -> bool: a
    method's own rule beside max_words/boundaries (needs token_bytes; the fast loop checks it when a pair is first
    counted and again just before merging it, so it must be monotone: once False, False for good);
    on_merge(new token's bytes), called after each merge, lets a rule follow the vocabulary."""
    docs, merges = [list(d) for d in docs], []
    weights = [1] * len(docs) if weights is None else list(weights)
    tb = list(token_bytes) if token_bytes is not None else None
    while len(merges) < n_merges:
        counts = collections.Counter()
        for d, w in zip(docs, weights):
            for p in zip(d, d[1:]):
                counts[p] += w
        if tb is not None:
            counts = {p: c for p, c in counts.items() if allowed(tb[p[0]], tb[p[1]], max_words, boundaries, allow)}
        best = min(counts, key=lambda p: (-counts[p], p), default=None)
        if best is None or counts[best] < max(min_frequency, 1):
            break
        docs = [replace_pair(d, *best, n_base + len(merges)) for d in docs]
        merges.append(best)
        if tb is not None:
            tb.append(tb[best[0]] + tb[best[1]])
            if on_merge is not None:
                on_merge(tb[-1])
    return merges, docs


def learn_merges_detailed(docs, n_base, n_merges, min_frequency=2, token_bytes=None, max_words=0, boundaries=(),
                          progress=False, segmentation=True, queue_batch=8192, weights=None, allow=None,
                          on_merge=None):
    """learn_merges plus what training keeps: a dict with merges, counts (of each pair when merged), graph (keys
    a * width + b and counts of every pair before merge 0), width, n_tokens and docs (the final segmentation).
    docs: id sequences, or a Chain of them (so that the caller can drop its lists before the memory peak).
    weights, allow, on_merge: as naive_learn_merges (weights go into the Chain when docs is one).
    queue_batch: about how many waiting pairs enter the heap at a time (tests set it small)."""
    width = n_base + n_merges  # keys a * width + b sort as the pairs (a, b) do
    chain = docs if isinstance(docs, Chain) else Chain(docs, n_base, width, weights=weights)
    if weights is not None and chain.weight is None:
        raise ValueError("btm: weights go into the Chain when docs is a Chain: Chain(..., weights=weights)")
    wt = chain.weight  # None: every position weighs 1, counts are numbers of positions
    n_pos = len(chain.val)
    min_count = max(min_frequency, 1)
    tb, ok = pair_rule(token_bytes, width, max_words, boundaries, allow, on_merge)
    constrained = ok is not None
    weigh = lambda first, n, starts: n if wt is None else np.add.reduceat(wt[starts], first) if len(first) else n

    # every counted pair gets a slot: its count lives in count[slot]; slot_at[i] is the slot of the pair starting at
    # node i (-1: not counted), so the pairs a merge destroys are decremented without a key lookup. Where its
    # positions are: for a pair counted before merge 0 (src 0), starts[first0[slot]:][:n0[slot]]; for one born in
    # merge k (src k + 1), sources[k + 1] holds where merge k put its id M, the pair's (M, y) starts or, for an
    # (x, M), the tokens before them (one position per occurrence of M instead of one per pair it made)
    if width * width * n_pos >= 2**63:
        raise SystemExit(f"btm: {n_pos:,} tokens with {width:,} ids overflow the int64 pair index; "
                         f"lower max_tok_bytes")
    graph_keys, graph_counts, slot, starts, slot_at, n0 = first_slots(chain, width, min_count, ok, constrained,
                                                                      weigh)
    n_slots, first0, sources = len(n0), np.cumsum(n0, dtype=np.int64) - n0, [starts]
    del starts
    release_freed_memory()  # the grouping's temporaries
    finished = 0  # positions in sources[0] of pairs merged since its last compaction
    # the heap holds every slot counted >= floor (a Python tuple is ~150 bytes; most pairs are never merged), the
    # rest wait in the slot arrays: a top >= floor is the true maximum, as counts never rise after a pair is born
    heap = []
    floor = queue_more(slot, n_slots, heap, min_count, queue_batch)

    from tqdm import tqdm
    bar = tqdm(total=n_merges, unit='merge', disable=not progress, mininterval=1.0)
    merges, merge_counts = [], []
    while len(merges) < n_merges:
        count = slot['count']
        while True:
            while heap and count[heap[0][2]] != -heap[0][0]:  # lazy heap: the top entry may be stale
                _, key, s = heap[0]
                if count[s] >= min_count:
                    heapq.heapreplace(heap, (-int(count[s]), key, s))
                else:  # it can never be chosen again: counts only fall after a pair is born
                    heapq.heappop(heap)
            if (heap and -heap[0][0] >= floor) or floor <= min_count:
                break
            floor = queue_more(slot, n_slots, heap, min_count, queue_batch)
        if not heap:
            break
        c, key, s = heapq.heappop(heap)
        if allow is not None and not allow(tb[key // width], tb[key % width]):  # never merged: a monotone rule
            count[s] = 0  # below min_count for good, whatever it loses later
            continue
        c, (a, b), m = -c, divmod(key, width), n_base + len(merges)
        src = int(slot['src'][s])
        if 4 * finished > len(sources[0]):  # a quarter of it is dead: O(positions) over the whole run
            first0, n0 = drop_finished(slot, n_slots, sources, n0, min_count)
            finished = 0
        finished += int(n0[s]) if src == 0 else 0
        if src == 0:
            pos = sources[0][first0[s]:first0[s] + n0[s]]
        else:
            pos = sources[src]
            if a != n_base + src - 1:  # (x, M): the tokens before M's that are still M
                pos = chain.left_of(pos[chain.val[pos] == b])
        pos, old_starts, new_starts, new_keys = chain.replace(pos, a, b, m, width)
        lost = slot_at[old_starts]
        counted = lost >= 0
        lost, lost_w = lost[counted], (1 if wt is None else wt[old_starts[counted]])
        found = int((lost == s).sum()) if wt is None else int(lost_w[lost == s].sum())
        if found != c:
            raise RuntimeError(f"btm: internal error, merge {len(merges)} {(a, b)} counted {c}, found {found}")
        np.subtract.at(count, lost, lost_w)
        merges.append((a, b))
        merge_counts.append(c)
        if tb is not None:
            tb.append(tb[a] + tb[b])
            if on_merge is not None:
                on_merge(tb[-1])
        new_keys, first, made, new_starts = group_packed(new_keys * n_pos + new_starts, n_pos)
        made_w = weigh(first, made, new_starts)  # made: positions, made_w: their weighted sum
        is_born = made_w >= min_count
        if constrained:
            is_born[is_born] = np.array([ok(k) for k in new_keys[is_born].tolist()], dtype=bool)
        born = is_born.nonzero()[0]
        ids = np.arange(n_slots, n_slots + len(born), dtype=np.int32)
        if n_slots + len(born) > len(count):
            grow = max(len(count) // 2, len(born))
            slot = {k: np.concatenate([v, np.zeros(grow, dtype=v.dtype)]) for k, v in slot.items()}
        new_slot = np.full(len(new_keys), -1, dtype=np.int32)
        new_slot[born] = ids
        slot_at[new_starts] = np.repeat(new_slot, made)
        kept = made_w[born]
        for k, v in (('count', kept), ('src', len(sources)), ('key', new_keys[born]), ('queued', kept >= floor)):
            slot[k][ids] = v
        sources.append(pos if len(born) else pos[:0].copy())
        up = kept >= floor
        for item in zip((-kept[up]).tolist(), new_keys[born][up].tolist(), ids[up].tolist()):
            heapq.heappush(heap, item)
        n_slots += len(born)
        bar.update(1)
        if progress and len(merges) % 256 == 0:
            bar.set_postfix(count=c, refresh=False)
    bar.close()
    return {'merges': merges, 'counts': merge_counts, 'graph': (graph_keys, graph_counts), 'width': width,
            'n_tokens': chain.n_tokens(), 'docs': chain.docs() if segmentation else None}


def pair_rule(token_bytes, width, max_words, boundaries, allow, on_merge):
    """(tb, ok): the bytes of every id so far (None: no rule needs them) and ok(key) -> may the pair be counted at
    all (max_words, boundaries; None: neither set), checked when a pair is born. `allow` is checked only just before
    a merge: a monotone rule refuses then whatever it would have refused earlier, in far fewer calls."""
    rules = allow is not None or on_merge is not None
    if rules and token_bytes is None:
        raise ValueError("btm: allow and on_merge need token_bytes (the bytes of the n_base ids)")
    tb = list(token_bytes) if token_bytes is not None and (max_words or boundaries or rules) else None
    if tb is None or not (max_words or boundaries):
        return tb, None
    return tb, lambda key: allowed(tb[key // width], tb[key % width], max_words, boundaries)


def first_slots(chain, width, min_count, ok, constrained, weigh):
    """The pairs before merge 0: (keys, weighted counts) of all, and the slots of those counted (count >= min_count
    and ok): slot arrays, their positions grouped by slot, slot_at and n0 (positions per slot)."""
    n_pos = len(chain.val)
    graph_keys, first, graph_n, starts = group_packed(chain.initial_pairs(width), n_pos)
    graph_counts = weigh(first, graph_n, starts)  # graph_n: positions, graph_counts: their weighted sum
    keep = graph_counts >= min_count
    if constrained:  # only the pairs counted often enough: the rule may be a Python function
        keep[keep] = np.array([ok(k) for k in graph_keys[keep].tolist()], dtype=bool)
    starts = starts[np.repeat(keep, graph_n)]  # only the counted pairs' positions
    n_slots, kept = int(keep.sum()), graph_n[keep].astype(np.int32)  # < 2**31 as positions are
    key_type = np.int32 if width * width < 2**31 else np.int64
    slot = {'count': graph_counts[keep].astype(np.int32 if chain.weight is None else np.int64),
            'src': np.zeros(n_slots, dtype=np.int32), 'key': graph_keys[keep].astype(key_type),
            'queued': np.zeros(n_slots, dtype=bool)}
    slot_at = np.full(n_pos, -1, dtype=np.int32)
    slot_at[starts] = np.repeat(np.arange(n_slots, dtype=np.int32), kept)
    return graph_keys, graph_counts, slot, starts, slot_at, kept


def drop_finished(slot, n_slots, sources, n0, min_count, chunk=1 << 16):
    """Free the positions of pairs that were merged or fell below min_count (their count is final): sources[0]
    is compacted in place and shrunk, a merge's positions are dropped once none of its born pairs is left.
    Returns the new (first0, n0) of the pairs counted before merge 0."""
    live = slot['count'][:n_slots] >= min_count
    live0, starts = live[:len(n0)], sources[0]
    keep, w = np.repeat(live0, n0), 0
    for i in range(0, len(starts), chunk):  # kept positions only move left: in place, a chunk at a time
        sel = starts[i:i + chunk][keep[i:i + chunk]]
        starts[w:w + len(sel)] = sel
        w += len(sel)
    starts.resize(w, refcheck=False)  # no view of it is alive between merges
    in_use = np.zeros(len(sources), dtype=bool)
    in_use[slot['src'][:n_slots][live]] = True
    for k in np.flatnonzero(~in_use[1:]) + 1:
        sources[k] = sources[k][:0]
    n0 = np.where(live0, n0, 0).astype(np.int32)
    return np.cumsum(n0, dtype=np.int64) - n0, n0


def queue_more(slot, n_slots, heap, min_count, batch):
    """Push onto the heap the waiting slots counted >= a lower floor, about `batch` of them (all once the floor
    is min_count); returns the new floor."""
    count, queued = slot['count'][:n_slots], slot['queued'][:n_slots]
    wait = np.flatnonzero(~queued & (count >= min_count))
    floor = min_count if len(wait) <= batch else max(min_count, int(np.partition(count[wait], -batch)[-batch]))
    wait = wait[count[wait] >= floor]
    queued[wait] = True
    for item in zip((-count[wait]).tolist(), slot['key'][wait].tolist(), wait.tolist()):
        heapq.heappush(heap, item)
    return floor


def learn_merges(docs, n_base, n_merges, min_frequency=2, **constraints):
    """Step 3 on id sequences: the list of merged pairs (a, b); merge k creates id n_base + k."""
    return learn_merges_detailed(docs, n_base, n_merges, min_frequency, **constraints)['merges']


# ---------------------------------------------------------------- the tokenizer: train, save, load
def release_freed_memory():
    """Hand memory freed by the last phase back to the system (glibc keeps it otherwise), so that the merges'
    arrays do not come on top of the primitive trainer's and the encoder's leftovers."""
    try:
        import ctypes
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def default_name(n_base, vocab_size, method='btm'):
    if method == 'superbpe':  # superbpe-t12k-16k: t = n_base, the transition point
        return f"superbpe-t{tokenization.tokenizer_name('', n_base)[1:]}{tokenization.tokenizer_name('', vocab_size)}"
    if method == 'boundless':  # boundless-16k: its phase-1 n_base is a setting in meta.json
        return boundless.default_name(vocab_size, tokenization.tokenizer_name)
    return tokenization.tokenizer_name('btm', n_base) + tokenization.tokenizer_name('', vocab_size)  # btm-4k + -16k


PRIMITIVE_MIN = tokenization.MIN_VOCAB['bpe']  # ids the primitive BPE holds before its first merge: bytes + 2 specials


def check_sizes(n_base, vocab_size, method='btm'):
    if n_base < PRIMITIVE_MIN:
        raise SystemExit(f"config error: n_base={n_base} is below the {PRIMITIVE_MIN} ids the primitive BPE holds "
                         f"before learning anything (256 bytes + 2 specials); raise n_base to at least {PRIMITIVE_MIN}")
    if method == 'superbpe' and vocab_size < n_base:
        raise SystemExit(f"config error: vocab_size={vocab_size} is below the transition point n_base={n_base}; "
                         f"raise vocab_size to at least n_base")
    if vocab_size <= n_base and method != 'superbpe':
        raise SystemExit(f"config error: vocab_size={vocab_size} must be above n_base={n_base} (the merges make the "
                         f"ids n_base..vocab_size-1; equal sizes would be a BTM without merges); raise vocab_size")


def check_name(name, n_base, vocab_size, method='btm'):
    """A name that reads as sizes must be these sizes: a 1k -> 2k BTM in btm-4k-16k misleads every later reader."""
    sizes = re.fullmatch(r'(btm-|superbpe-t)\d+k?-\d+k?|boundless-\d+k?', name)
    if sizes and name != default_name(n_base, vocab_size, method):
        raise SystemExit(f"config error: name={name!r} names other sizes than n_base={n_base}, vocab_size="
                         f"{vocab_size}, method={method} ({default_name(n_base, vocab_size, method)}); leave name unset, so that it follows "
                         f"the sizes, or give a name that is not sizes")


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
        if method == 'superbpe':  # its own module, handed the merge engine and the BPE trainer (no resume)
            superbpe.train_into(tmp, text_again, n_base, vocab_size, min_frequency, name, corpus, settings,
                                trained_on, sample, learn_merges_detailed, tokenizer.train_bpe, progress)
        elif method == 'boundless':
            _train_boundless_into(tmp, text_again, n_base, vocab_size, min_frequency, max_pretokens,
                                  corpus, name, progress, batch_docs, settings, sample, resume,
                                  trained_on)
        else:
            _train_into(tmp, text_again, n_base, vocab_size, min_frequency, max_words, boundaries, corpus, name,
                        progress, batch_docs, settings, num_proc, sample, out_path, resume, trained_on)
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
                         primitive_dir=resume and os.path.join(resume, 'primitive'))


def _train_into(tmp, text_again, n_base, vocab_size, min_frequency, max_words, boundaries, corpus, name, progress,
                batch_docs, settings, num_proc, sample, out_path, resume, trained_on):
    t0 = time.time()
    prim_settings = {'n_base': n_base, 'min_frequency': min_frequency, 'sample': sample}  # what the primitive is of
    prim, kept = kept_encoding(resume, prim_settings, trained_on) if resume else (None, None)
    if prim is None:
        prim = tokenizer.train_bpe(text_again(), n_base, os.path.join(resume or tmp, 'primitive'), min_frequency,
                                   f"{name}-primitive", corpus, trained_on=trained_on, settings=prim_settings)
    t1 = time.time()
    release_freed_memory()
    resumed = kept is not None
    if resumed:
        print(f"{out_path}: resuming with the primitive and its encoding of the split kept in {resume}")
    else:
        kept = primitive_stream.encode_flat(prim, text_again(), batch_docs, num_proc)
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
    """A folder btm.py trained with this method -> its tokenizer (what tokenization.load_tokenizer gives for it)."""
    if not os.path.isfile(os.path.join(path, 'meta.json')):
        raise SystemExit(f"{path}: no meta.json, so the BTM is unfinished; re-run `python btm.py` with its config")
    tok = tokenization.load_tokenizer(path)
    if tok.kind != method:
        raise SystemExit(f"{path}: holds a {tok.kind} tokenizer, not a {method}; point at a folder btm.py wrote "
                         f"with --method={method}")
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
                    cfg['encode_batch_docs'], settings, cfg['num_proc'] or os.cpu_count() or 1, sample, trained_on,
                    cfg['method'], cfg['max_pretokens'])
    tr = tok.meta['train']
    if cfg['method'] == 'boundless':
        print(f"{path}: {tok.vocab_size:,} ids; {tr['n_runs']:,} runs ({tr['n_runs_distinct']:,} "
              f"distinct); seconds {tr['seconds']}")
        return
    print(f"{path}: {tok.vocab_size:,} ids; {tr.get('n_tokens_primitive', tr.get('n_tokens_stage1', 0)):,} "
          f"primitive tokens -> {tr.get('n_tokens_merged', 0):,}; seconds {tr['seconds']}")


def check_method(cfg):
    if cfg['method'] not in ('btm', 'superbpe', 'boundless'):
        raise SystemExit(f"config error: method={cfg['method']!r} unknown; use 'btm', 'superbpe' or "
                         f"'boundless'")
    if cfg['method'] in ('superbpe', 'boundless') and (cfg['max_words'] or cfg['boundaries']):
        raise SystemExit(f"config error: method={cfg['method']!r} has its own rules (superbpe: at most "
                         f"{superbpe.MAX_WORDS} words, no {superbpe.NO_TOKEN_HOLDS.decode()!r}; boundless: "
                         f"max_pretokens); leave max_words and boundaries unset")


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


def analyze(cfg):
    """The BTM of btm.py's config against a tokenizer of equal size: --baseline (a folder, a name under out_dir or a
    tiktoken name), else the BPE of its size under out_dir, trained if missing on the BTM's sample. uniscale/
    vocab_compare.py measures both on the analyze split and writes btm_vocab.{md,json,png}."""
    tok = load(btm_path(cfg))
    base = cfg['baseline'] or os.path.join(cfg['out_dir'], tokenization.tokenizer_name('bpe', tok.vocab_size))
    if cfg['baseline'] and not os.path.isdir(base) and os.path.isdir(os.path.join(cfg['out_dir'], base)):
        base = os.path.join(cfg['out_dir'], base)  # a bare name such as unigram-2k
    if not cfg['baseline'] and not os.path.isfile(os.path.join(base, 'meta.json')):  # never one that was asked for
        with tokenizer.training_folder(base):
            print(f"training the baseline {base} ({tok.vocab_size:,} ids) on the BTM's documents of the tok split")
            texts, _ = sample_split(os.path.join(cfg['corpus_dir'], cfg['corpus'], 'tok.jsonl'),
                                    cfg['max_tok_bytes'], cfg['sample_seed'])
            tokenizer.train_bpe(texts(), tok.vocab_size, base, cfg['min_frequency'], os.path.basename(base),
                                cfg['corpus'], trained_on=tok.trained_on)
    vocab_compare.compare(tok, tokenization.load_tokenizer(base),
                          os.path.join(cfg['corpus_dir'], cfg['corpus'], f"{cfg['analyze_split']}.jsonl"),
                          cfg['analyze_max_docs'], cfg['corpus'], os.path.join(cfg['analysis_dir'], tok.name))


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
