"""
BTM (BPE-TKN-Merge): a small primitive byte-level BPE, then greedy merges of adjacent *tokens* over the token
stream, so a merged token may span words ("Once upon a time").

    python btm.py config/btm_demo.py                  # train -> out/tokenizers/btm-1k-2k/ (1,000 -> 2,000 ids)
    python btm.py config/btm_tinystories.py           # -> out/tokenizers/btm-4k-16k/ (4,096 -> 16,384 ids)
    python btm.py analyze config/btm_demo.py          # vs bpe-2k -> out/analysis/btm-1k-2k/btm_vocab.{md,json,png}

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
   (`merge_engine`), or in numpy (`apply_merges`) where that cannot represent the merges.
   Decoding expands every id to its primitive ids and decodes those: lossless because the primitive is.

Why it is fast: a pair only ever gains occurrences in the merge that creates its newer id (x A B y -> x M y only
adds pairs holding M); afterwards its count only falls. So a pair below min_frequency can be forgotten, every
counted pair enters the heap once when born, and its positions are recorded once; a merge then costs
O(its occurrences) numpy work on a doubly linked list over one flat array.

Files in out/tokenizers/{name}/: meta.json (kind 'btm'), primitive/ (the BPE), merges.json (pairs and their
counts at merge time), pair_graph.npz (a, b, count of every pair in the primitive-encoded tok split).
"""
import collections
import hashlib
import heapq
import itertools
import json
import os
import shutil
import time

import numpy as np

import configurator

# -----------------------------------------------------------------------------
# defaults (override with config/*.py or --key=value)
command = 'train'            # 'train' | 'analyze'
corpus = 'embedded'          # reads out/corpus/{corpus}/tok.jsonl
corpus_dir = 'out/corpus'    # text splits: {corpus_dir}/{corpus}/{split}.jsonl
out_dir = 'out/tokenizers'   # the BTM goes to {out_dir}/{name}/
name = ''                    # '' -> btm-{n_base}-{vocab_size} in k, e.g. btm-4k-16k
n_base = 4096                # primitive BPE vocabulary, specials included
vocab_size = 16384           # primitive + merged tokens
min_frequency = 2            # for the primitive BPE and for the merges
max_words = 0                # constraint: whitespace-separated words per merged token; 0 = no limit
boundaries = []              # constraint: tokens holding one of these strings never merge, e.g. ['\n']
max_tok_bytes = 0            # of UTF-8 text read from the tok split; 0 = all of it
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
def allowed(left, right, max_words=0, boundaries=()):
    """May tokens with these bytes merge? Tokens holding a boundary never merge (so no merge crosses one);
    the merged text may hold at most max_words whitespace-separated words."""
    if any(s in left or s in right for s in boundaries):
        return False
    return not max_words or len((left + right).split()) <= max_words


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


def naive_learn_merges(docs, n_base, n_merges, min_frequency=2, token_bytes=None, max_words=0, boundaries=()):
    """The definition, recounting every pair after every merge: slow on purpose, the reference for tests.
    Returns (merges, final documents)."""
    docs, merges = [list(d) for d in docs], []
    tb = list(token_bytes) if token_bytes is not None else None
    while len(merges) < n_merges:
        counts = collections.Counter(p for d in docs for p in zip(d, d[1:]))
        if tb is not None:
            counts = {p: c for p, c in counts.items() if allowed(tb[p[0]], tb[p[1]], max_words, boundaries)}
        best = min(counts, key=lambda p: (-counts[p], p), default=None)
        if best is None or counts[best] < max(min_frequency, 1):
            break
        docs = [replace_pair(d, *best, n_base + len(merges)) for d in docs]
        merges.append(best)
        if tb is not None:
            tb.append(tb[best[0]] + tb[best[1]])
    return merges, docs


class Chain:
    """Documents as one flat array with a doubly linked list over it. val[i] is the id at node i; -1 marks a
    document boundary (one before, between and after the documents), -2 a node a merge removed."""

    def __init__(self, docs, n_ids):
        lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
        n = int(lengths.sum()) + len(docs) + 1
        if n >= 2**31:
            raise SystemExit(f"btm: {n} tokens do not fit int32 positions; lower max_tok_bytes")
        self.val = np.full(n, -1, dtype=np.int32)
        is_token = np.ones(n, dtype=bool)
        is_token[np.cumsum(lengths + 1) - lengths - 1] = False
        is_token[-1] = False
        if len(docs) and n > len(docs) + 1:
            flat = np.concatenate([np.asarray(d, dtype=np.int32) for d in docs])
            if flat.min() < 0 or flat.max() >= n_ids:
                raise ValueError(f"btm: document ids must lie in [0, {n_ids}), got {flat.min()}..{flat.max()}")
            self.val[is_token] = flat
        self.nxt = np.minimum(np.arange(1, n + 1, dtype=np.int32), n - 1)
        self.prv = np.maximum(np.arange(-1, n - 1, dtype=np.int32), 0)

    def initial_pairs(self, width):
        """Every pair before any merge (the list is still the array order) as key * len(val) + start, where
        key = a * width + b; built in place to keep the memory peak down."""
        a, b = self.val[:-1], self.val[1:]
        packed = a.astype(np.int64)
        packed *= width
        packed += b
        packed *= len(self.val)
        packed += np.arange(len(a))
        return packed[(a >= 0) & (b >= 0)]

    def replace(self, pos, a, b, m, width):
        """Step 3's replacement of (a, b) by m, given every position where a b may start (ascending, stale ones
        allowed). Returns (replaced positions, starts of the pairs it destroyed, starts and keys of those it made)."""
        val, nxt, prv = self.val, self.nxt, self.prv
        pos = pos[(val[pos] == a) & (val[nxt[pos]] == b)]
        if a == b and len(pos) > 1:  # a run a a a a: keep the 1st, 3rd, ... start of each chain, left to right
            idx = np.arange(len(pos))
            chained = np.zeros(len(pos), dtype=bool)
            chained[1:] = nxt[pos[:-1]] == pos[1:]
            first = np.maximum.accumulate(np.where(chained, 0, idx))
            pos = pos[(idx - first) % 2 == 0]
        q, x = nxt[pos], prv[pos]
        y = nxt[q]
        x_ok, y_ok = val[x] >= 0, val[y] >= 0  # x or y may be a document boundary
        fresh_x = x_ok.copy()  # x of one occurrence is the q of the one before when they touch: count it once
        fresh_x[1:] &= x[1:] != q[:-1]
        old_starts = np.concatenate([x[fresh_x], pos, q[y_ok]])
        val[pos] = m
        val[q] = -2
        nxt[pos] = y
        prv[y] = pos
        new_starts = np.concatenate([prv[pos][fresh_x], pos[y_ok]])  # (x, m) unless x is an m just made; (m, y)
        new_keys = val[new_starts].astype(np.int64) * width + val[nxt[new_starts]]
        return pos, old_starts, new_starts, new_keys

    def docs(self):
        """The current documents, as int32 arrays."""
        v = self.val[self.val != -2]
        return [piece[1:] for piece in np.split(v, np.flatnonzero(v == -1))[1:-1]]


def group_packed(packed, n_pos):
    """packed = key * n_pos + start (int64, overwritten) -> (unique keys, first index, count, starts by key and
    then position). One in-place sort and no full-size key array beside it: the first call sees every position."""
    packed.sort()
    starts = (packed % n_pos).astype(np.int32)
    packed //= n_pos  # now the keys
    edge = np.ones(len(packed), dtype=bool)
    edge[1:] = packed[1:] != packed[:-1]
    first = edge.nonzero()[0]
    counts = np.empty(len(first), dtype=np.int64)
    counts[:-1] = first[1:] - first[:-1]
    counts[-1:] = len(packed) - first[-1:]
    return packed[first], first, counts, starts


def learn_merges_detailed(docs, n_base, n_merges, min_frequency=2, token_bytes=None, max_words=0, boundaries=(),
                          progress=False, segmentation=True):
    """learn_merges plus what training keeps: a dict with merges, counts (of each pair when merged), graph (keys
    a * width + b and counts of every pair before merge 0), width, n_tokens and docs (the final segmentation)."""
    chain = Chain(docs, n_base)
    width = n_base + n_merges  # keys a * width + b sort as the pairs (a, b) do
    min_count = max(min_frequency, 1)
    constrained = token_bytes is not None and bool(max_words or boundaries)
    tb = list(token_bytes) if constrained else None
    ok = lambda key: not constrained or allowed(tb[key // width], tb[key % width], max_words, boundaries)

    # every counted pair gets a slot: its count lives in count[slot] and its positions in sources[src[slot]], from
    # first[slot], n[slot] of them; slot_at[i] is the slot of the pair starting at node i (-1: not counted), so
    # the pairs a merge destroys are decremented without a key lookup
    if width * width * len(chain.val) >= 2**63:
        raise SystemExit(f"btm: {len(chain.val):,} tokens with {width:,} ids overflow the int64 pair index; "
                         f"lower max_tok_bytes")
    graph_keys, first, graph_counts, starts = group_packed(chain.initial_pairs(width), len(chain.val))
    keep = graph_counts >= min_count
    if constrained:
        keep &= np.array([ok(k) for k in graph_keys.tolist()], dtype=bool)
    n_slots = int(keep.sum())
    slot = {'count': graph_counts[keep], 'src': np.zeros(n_slots), 'first': first[keep], 'n': graph_counts[keep]}
    slot = {k: v.astype(np.int32) for k, v in slot.items()}  # < 2**31 as positions are
    sources = [starts]
    slot_of = np.full(len(graph_keys), -1, dtype=np.int32)
    slot_of[keep] = np.arange(n_slots)
    slot_at = np.full(len(chain.val), -1, dtype=np.int32)
    slot_at[starts] = np.repeat(slot_of, graph_counts)
    heap = list(zip((-graph_counts[keep]).tolist(), graph_keys[keep].tolist(), range(n_slots)))
    heapq.heapify(heap)

    from tqdm import tqdm
    bar = tqdm(total=n_merges, unit='merge', disable=not progress, mininterval=1.0)
    merges, merge_counts = [], []
    while len(merges) < n_merges:
        count = slot['count']
        while heap and count[heap[0][2]] != -heap[0][0]:  # lazy heap: the top entry may be stale
            _, key, s = heap[0]
            if count[s] >= min_count:
                heapq.heapreplace(heap, (-int(count[s]), key, s))
            else:  # it can never be chosen again: counts only fall after a pair is born
                heapq.heappop(heap)
        if not heap:
            break
        c, key, s = heapq.heappop(heap)
        c, (a, b), m = -c, divmod(key, width), n_base + len(merges)
        pos = sources[slot['src'][s]][slot['first'][s]:slot['first'][s] + slot['n'][s]]
        pos, old_starts, new_starts, new_keys = chain.replace(pos, a, b, m, width)
        lost = slot_at[old_starts]
        lost = lost[lost >= 0]
        if int((lost == s).sum()) != c:
            raise RuntimeError(f"btm: internal error, merge {len(merges)} {(a, b)} counted {c}, found "
                               f"{int((lost == s).sum())}")
        np.subtract.at(count, lost, 1)
        merges.append((a, b))
        merge_counts.append(c)
        if tb is not None:
            tb.append(tb[a] + tb[b])
        new_keys, first, made, new_starts = group_packed(new_keys * len(chain.val) + new_starts, len(chain.val))
        born = (made >= min_count).nonzero()[0]
        if constrained:
            born = born[np.array([ok(k) for k in new_keys[born].tolist()], dtype=bool)]
        ids = np.arange(n_slots, n_slots + len(born))
        if n_slots + len(born) > len(count):
            grow = max(len(count), len(born))
            slot = {k: np.concatenate([v, np.zeros(grow, dtype=v.dtype)]) for k, v in slot.items()}
        for k, v in (('count', made[born]), ('src', len(sources)), ('first', first[born]), ('n', made[born])):
            slot[k][ids] = v
        sources.append(new_starts)
        new_slot = np.full(len(new_keys), -1, dtype=np.int32)
        new_slot[born] = ids
        slot_at[new_starts] = np.repeat(new_slot, made)
        for item in zip((-made[born]).tolist(), new_keys[born].tolist(), ids.tolist()):
            heapq.heappush(heap, item)
        n_slots += len(born)
        bar.update(1)
        if progress and len(merges) % 256 == 0:
            bar.set_postfix(count=c, refresh=False)
    bar.close()
    return {'merges': merges, 'counts': merge_counts, 'graph': (graph_keys, graph_counts), 'width': width,
            'n_tokens': int((chain.val >= 0).sum()), 'docs': chain.docs() if segmentation else None}


def learn_merges(docs, n_base, n_merges, min_frequency=2, **constraints):
    """Step 3 on id sequences: the list of merged pairs (a, b); merge k creates id n_base + k."""
    return learn_merges_detailed(docs, n_base, n_merges, min_frequency, **constraints)['merges']


def apply_merges(docs, merges, n_base):
    """Step 4 on id sequences (numpy, any batch size): the documents with the merges applied in rank order."""
    chain = Chain(docs, n_base + len(merges))
    width = n_base + len(merges)
    merge_keys = np.array([a * width + b for a, b in merges], dtype=np.int64)
    order = np.argsort(merge_keys)
    sorted_keys = merge_keys[order]

    def ranks_of(starts, keys):
        i = np.minimum(np.searchsorted(sorted_keys, keys), max(len(sorted_keys) - 1, 0))
        hit = sorted_keys[i] == keys if len(sorted_keys) else np.zeros(len(keys), dtype=bool)
        return group_packed(order[i[hit]] * len(chain.val) + starts[hit], len(chain.val))

    groups = {}
    packed = chain.initial_pairs(width)
    ranks, first, n, starts = ranks_of(packed % len(chain.val), packed // len(chain.val))
    for r, f, c in zip(ranks.tolist(), first.tolist(), n.tolist()):
        groups[r] = starts[f:f + c]
    heap = sorted(groups)
    while heap:
        r = heapq.heappop(heap)
        a, b = merges[r]
        _, _, new_starts, new_keys = chain.replace(groups.pop(r), a, b, n_base + r, width)
        ranks, first, n, starts = ranks_of(new_starts, new_keys)
        for r2, f, c in zip(ranks.tolist(), first.tolist(), n.tolist()):
            # a pair only gains positions in the merge creating its newer id, which ranks below it
            groups[r2] = starts[f:f + c]
            heapq.heappush(heap, r2)
    return [d.tolist() for d in chain.docs()]


# ---------------------------------------------------------------- the tokenizer: train, save, load
CHAR0 = 0x10000  # primitive id i is spelled chr(CHAR0 + i) for the Rust merge engine (no surrogates up to 1M ids)


def merge_engine(n_base, merges):
    """The merges as a `tokenizers` BPE over one stand-in character per primitive id, a whole document being one
    'word': its Rust loop (lowest rank first, then leftmost, stale entries skipped) is step 4 exactly, and runs
    multithreaded. None when two merged ids spell the same primitive ids (that BPE keys tokens by their text);
    apply_merges is then used. Tests check both against naive_apply_merges."""
    import tokenizers
    spell = [chr(CHAR0 + i) for i in range(n_base)]
    for a, b in merges:
        spell.append(spell[a] + spell[b])
    if len(set(spell)) < len(spell):
        return None
    model = tokenizers.models.BPE(vocab={s: i for i, s in enumerate(spell)},
                                  merges=[(spell[a], spell[b]) for a, b in merges], cache_capacity=0)
    return tokenizers.Tokenizer(model)


class BTMTokenizer:
    """A trained BTM folder behind the interface every uniscale tokenizer has (tokenizer.load_tokenizer)."""
    kind = 'btm'

    def __init__(self, path):
        import tokenizer
        with open(os.path.join(path, 'meta.json')) as f:
            meta = json.load(f)
        self.path, self.name, self.meta = path, meta['name'], meta
        self.vocab_size, self.bos_id, self.eos_id, self.n_base = (meta[k] for k in
                                                                  ('vocab_size', 'bos_id', 'eos_id', 'n_base'))
        self.primitive = tokenizer.load_tokenizer(os.path.join(path, meta['primitive']))
        with open(os.path.join(path, 'merges.json'), 'rb') as f:
            raw = f.read()
        self.hash = btm_hash(raw, self.primitive.hash)
        if self.hash != meta['hash']:
            raise SystemExit(f"{path}: merges.json or primitive/ do not match the hash in meta.json (edited or "
                             f"half-copied); delete the folder and retrain with `python btm.py`")
        self.merges = [tuple(p) for p in json.loads(raw)['merges']]
        self.parts = [(i,) for i in range(self.n_base)]  # every id as primitive ids
        for a, b in self.merges:
            self.parts.append(self.parts[a] + self.parts[b])
        self._engine, self._cache = merge_engine(self.n_base, self.merges), {}

    def apply(self, docs):
        """Primitive id sequences -> BTM id sequences (step 4)."""
        if self._engine is None:
            return apply_merges(docs, self.merges, self.n_base)
        spelled = [(np.asarray(d, dtype=np.uint32) + CHAR0).tobytes().decode('utf-32-le') for d in docs]
        return [e.ids for e in self._engine.encode_batch_fast(spelled, add_special_tokens=False)]

    def encode(self, text):
        return self.encode_batch([text])[0]

    def encode_batch(self, texts):
        return self.apply(primitive_ids(self.primitive, texts, self._cache))

    def decode(self, ids):
        return self.primitive.decode([p for i in ids for p in self.parts[i]])

    def token_bytes(self, i):
        return b''.join(self.primitive.token_bytes(p) for p in self.parts[i])


def btm_hash(merges_raw, primitive_hash):
    return hashlib.sha256(merges_raw + primitive_hash.encode()).hexdigest()


def load(path):
    """A BTM folder -> BTMTokenizer (tokenizer.load_tokenizer calls this for meta.json kind 'btm')."""
    if not os.path.isfile(os.path.join(path, 'meta.json')):
        raise SystemExit(f"{path}: no meta.json, so the BTM is unfinished; re-run `python btm.py` with its config")
    return BTMTokenizer(path)


def primitive_ids(tok, texts, cache, max_cache=2_000_000):
    """One id array per text. For a uniscale BPE each distinct pre-token is encoded once and reused from `cache`:
    a BPE never merges across pre-tokens, so a text's ids are its pre-tokens' ids end to end (tests check this
    equals tok.encode_batch), and Python's regex pre-tokenizes ~4x faster than the Rust one here."""
    import tokenizer
    dtype = np.uint16 if tok.vocab_size <= 2**16 else np.int32
    if getattr(tok, 'kind', None) != 'bpe':
        return [np.asarray(ids, dtype=dtype) for ids in tok.encode_batch(texts)]
    pieces = [tokenizer.pretokenize(t) for t in texts]
    if len(cache) > max_cache:
        cache.clear()
    new = list({p for ps in pieces for p in ps if p not in cache})
    cache.update((p, np.asarray(ids, dtype=dtype).tobytes()) for p, ids in zip(new, tok.encode_batch(new)))
    return [np.frombuffer(b''.join(map(cache.__getitem__, ps)), dtype=dtype) for ps in pieces]


_worker = {}  # an encoding process's primitive tokenizer and pre-token cache


def _worker_ids(path, texts):
    if _worker.get('path') != path:
        import tokenizer
        _worker.update(path=path, tok=tokenizer.load_tokenizer(path), cache={})
    return primitive_ids(_worker['tok'], texts, _worker['cache'])


def encode_docs(tok, texts, batch_docs=1000, num_proc=1):
    """Stream texts through the primitive: one id array per document, cut at special ids (step 1). With
    num_proc > 1, batches go to a pool of processes, at most 2 per process in flight, so memory stays flat."""
    import multiprocessing as mp
    from collections import deque
    it = iter(texts)
    batches = iter(lambda: list(itertools.islice(it, batch_docs)), [])  # lists of batch_docs texts until empty
    docs, specials, cache = [], np.array([tok.bos_id, tok.eos_id]), {}

    def add(encoded):
        for ids in encoded:
            pieces = np.split(ids, np.flatnonzero(np.isin(ids, specials)))  # all but the first start with a special
            docs.extend([pieces[0]] + [p[1:] for p in pieces[1:]])
    if num_proc <= 1 or not os.path.isdir(getattr(tok, 'path', '')):
        for batch in batches:
            add(primitive_ids(tok, batch, cache))
        return docs
    with mp.get_context('spawn').Pool(num_proc) as pool:
        pending = deque()
        for batch in batches:
            pending.append(pool.apply_async(_worker_ids, (tok.path, batch)))
            if len(pending) >= 2 * num_proc:
                add(pending.popleft().get())
        while pending:
            add(pending.popleft().get())
    return docs


def default_name(n_base, vocab_size):
    import tokenizer
    return tokenizer.tokenizer_name('btm', n_base) + tokenizer.tokenizer_name('', vocab_size)  # btm-4k + -16k


def train(texts, out_path, n_base=4096, vocab_size=16384, min_frequency=2, max_words=0, boundaries=(), corpus='',
          name=None, progress=False, batch_docs=1000, settings=None, num_proc=1):
    """Train a BTM into out_path and load it. texts: a list of strings, or a function that returns an iterable of
    them (called twice, for the primitive BPE and for encoding: a split is streamed, never held)."""
    import tokenizer
    name = name or default_name(n_base, vocab_size)
    if vocab_size < n_base:
        raise SystemExit(f"config error: vocab_size={vocab_size} < n_base={n_base}")
    text_again = texts if callable(texts) else (lambda held=list(texts): held)
    tmp = f"{out_path.rstrip('/')}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    t0 = time.time()
    prim = tokenizer.train_bpe(text_again(), n_base, os.path.join(tmp, 'primitive'), min_frequency,
                               name=f"{name}-primitive", corpus=corpus)
    t1 = time.time()
    docs = encode_docs(prim, text_again(), batch_docs, num_proc)
    t2 = time.time()
    bnd = tuple(b.encode('utf-8') if isinstance(b, str) else b for b in boundaries)
    tb = [prim.token_bytes(i) for i in range(n_base)] if (max_words or bnd) else None
    res = learn_merges_detailed(docs, n_base, vocab_size - n_base, min_frequency, token_bytes=tb,
                                max_words=max_words, boundaries=bnd, progress=progress, segmentation=False)
    t3 = time.time()
    merges = res['merges']
    if len(merges) < vocab_size - n_base:  # as train_bpe: a btm-4k-16k must have 16,384 ids
        raise SystemExit(f"{out_path}: BTM stopped at {n_base + len(merges)} of vocab_size={vocab_size} ids (no pair "
                         f"left seen >= {min_frequency} times); train on more text or lower vocab_size")
    # the files go to a temp folder renamed into place at the end, so a half-written BTM is never seen
    raw = json.dumps({'n_base': n_base, 'merges': merges, 'counts': res['counts']}).encode()
    with open(os.path.join(tmp, 'merges.json'), 'wb') as f:
        f.write(raw)
    keys, counts = res['graph']
    order = np.lexsort((keys, -counts))  # by count, then by pair
    np.savez(os.path.join(tmp, 'pair_graph.npz'), a=(keys[order] // res['width']).astype(np.int32),
             b=(keys[order] % res['width']).astype(np.int32), count=counts[order].astype(np.int64))
    meta = {'kind': 'btm', 'name': name, 'vocab_size': n_base + len(merges), 'bos_id': prim.bos_id,
            'eos_id': prim.eos_id, 'corpus': corpus, 'hash': btm_hash(raw, prim.hash), 'n_base': n_base,
            'n_merges': len(merges), 'primitive': 'primitive', 'primitive_hash': prim.hash,
            'files': ['merges.json', 'pair_graph.npz'], 'settings': settings or {},
            'train': {'target_vocab_size': vocab_size, 'min_frequency': min_frequency, 'max_words': max_words,
                      'boundaries': [b.decode('utf-8', 'replace') for b in bnd], 'n_docs': len(docs),
                      'n_tokens_primitive': int(sum(map(len, docs))), 'n_tokens_merged': res['n_tokens'],
                      'n_pairs': len(keys),
                      'seconds': {'primitive': round(t1 - t0, 2), 'encode': round(t2 - t1, 2),
                                  'merges': round(t3 - t2, 2), 'total': round(time.time() - t0, 2)}}}
    with open(os.path.join(tmp, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=2)
    if os.path.isdir(out_path):
        shutil.rmtree(out_path)
    os.replace(tmp, out_path)
    return load(out_path)


# ---------------------------------------------------------------- commands
def btm_path(cfg):
    return os.path.join(cfg['out_dir'], cfg['name'] or default_name(cfg['n_base'], cfg['vocab_size']))


def train_command(cfg):
    import tokenizer
    path, split = btm_path(cfg), os.path.join(cfg['corpus_dir'], cfg['corpus'], 'tok.jsonl')
    settings = json.loads(json.dumps({k: cfg[k] for k in ('corpus', 'n_base', 'vocab_size', 'min_frequency',
                                                           'max_words', 'boundaries', 'max_tok_bytes')}))
    if os.path.isfile(os.path.join(path, 'meta.json')):
        meta = json.load(open(os.path.join(path, 'meta.json')))
        if meta.get('settings') == settings:
            print(f"{path}: already trained, skipping")
            return
        raise SystemExit(f"{path}: holds a BTM trained with other settings ({meta.get('settings')}); delete it or "
                         f"set another --name")
    print(f"training {path} ({cfg['n_base']:,} -> {cfg['vocab_size']:,} ids) on {split}")
    tok = train(lambda: tokenizer.read_texts(split, cfg['max_tok_bytes']), path, cfg['n_base'], cfg['vocab_size'],
                cfg['min_frequency'], cfg['max_words'], cfg['boundaries'], cfg['corpus'], os.path.basename(path),
                cfg['progress'], cfg['encode_batch_docs'], settings, cfg['num_proc'] or os.cpu_count() or 1)
    tr = tok.meta['train']
    print(f"{path}: {tok.vocab_size:,} ids; {tr['n_tokens_primitive']:,} primitive tokens -> "
          f"{tr['n_tokens_merged']:,}; seconds {tr['seconds']}")


if __name__ == '__main__':
    config = configurator.configure(globals())
    if command == 'train':
        train_command(config)
    elif command == 'analyze':
        import btm_vocab  # the vocabulary analysis is its own idea, in its own file
        btm_vocab.analyze(config)
    else:
        raise SystemExit(f"config error: command {command!r} unknown; use 'train' (default) or 'analyze'")
