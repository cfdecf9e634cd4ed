"""
A trained BTM (BPE-TKN-Merge) folder behind the interface every uniscale tokenizer has, and the merge machinery
that training (btm.py) and encoding share: the Chain the merges are replaced in, and step 4 (apply the merges).

    tok = load_tokenizer('out/tokenizers/btm-4k-16k')   # uniscale.tokenization: a BTMTokenizer, handed its primitive

It imports no uniscale module: tokenization.load_tokenizer loads the primitive BPE and hands it in, so the imports
run one way (btm_encoding <- tokenization <- tokenizer.py <- btm.py). The algorithm is stated in btm.py's docstring.
"""
import hashlib
import heapq
import json
import os

import numpy as np
import regex

CHAR0 = 0x10000  # primitive id i is spelled chr(CHAR0 + i) for the Rust merge engine (no surrogates up to 1M ids)


class Chain:
    """Documents as one flat array of nodes. val[i] is the id at node i; -1 marks a document boundary (one before,
    between and after the documents), -2 a node a merge removed. A token covers the nodes [i, i + span[i]) and
    its id sits at its first node; its span is written at its last node too, so both neighbours are one lookup
    without next/previous arrays: the next token starts at i + span[i], the previous at i - span[i - 1].
    (A doubly linked list would take 8 bytes a node; val and span take 2 each while ids and spans fit int16.)"""

    def __init__(self, docs, n_base, n_ids, lengths=None, weights=None):
        """docs: id sequences, or (with lengths, the documents' lengths) all of them end to end in one array.
        weights: an integer >= 0 per document, or None (1 each); weight[i] is then node i's document's (0 at the
        boundaries), int64, so that a pair's count is the sum over its positions."""
        if lengths is None:
            lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
            docs = np.concatenate([np.asarray(d, dtype=np.int32) for d in docs]) if len(docs) else np.zeros(0)
        n = int(lengths.sum()) + len(lengths) + 1
        self.weight = None
        if weights is not None:
            weights = np.asarray(weights, dtype=np.int64)
            if weights.shape != lengths.shape or (len(weights) and weights.min() < 0):
                raise ValueError(f"btm: weights must be one integer >= 0 per document ({len(lengths)} of them)")
            self.weight = np.repeat(np.stack([np.zeros_like(weights), weights], 1).ravel(),
                                    np.stack([np.ones_like(lengths), lengths], 1).ravel())
            self.weight = np.append(self.weight, 0)  # the boundary after the last document
        if n >= 2**31:
            raise SystemExit(f"btm: {n} tokens do not fit int32 positions; lower max_tok_bytes")
        self.val = np.full(n, -1, dtype=np.int16 if n_ids < 2**15 else np.int32)
        is_token = np.ones(n, dtype=bool)
        is_token[np.cumsum(lengths + 1) - lengths - 1] = False
        is_token[-1] = False
        if len(docs):
            if docs.min() < 0 or docs.max() >= n_base:
                raise ValueError(f"btm: document ids must lie in [0, {n_base}), got {docs.min()}..{docs.max()}")
            self.val[is_token] = docs
        self.span = None  # made by the first replace: not needed while the pairs are first counted

    def left_of(self, pos):
        """The first node of the token before each token starting at pos."""
        return pos - self.span[pos - 1]

    def initial_pairs(self, width, chunk=1 << 16):
        """Every pair before any merge (adjacent nodes, both tokens) as key * len(val) + start, where
        key = a * width + b; built a chunk at a time, so no full-size temporary sits beside the result."""
        val, n = self.val, len(self.val)
        ok = (val[:-1] >= 0) & (val[1:] >= 0)
        packed, at = np.empty(int(ok.sum()), dtype=np.int64), 0
        for i in range(0, n - 1, chunk):
            start = np.flatnonzero(ok[i:i + chunk]) + i
            key = val[start].astype(np.int64) * width + val[start + 1]
            packed[at:at + len(start)] = key * n + start
            at += len(start)
        return packed

    def replace(self, pos, a, b, m, width):
        """Step 3's replacement of (a, b) by m, given every position where a b may start (ascending, stale ones
        allowed). Returns (replaced positions, starts of the pairs it destroyed, starts and keys of those it made)."""
        if self.span is None:
            self.span = np.ones(len(self.val), dtype=np.int16)
        val, span = self.val, self.span
        pos = pos[val[pos] == a]  # a stale start is no longer a token's first node or holds another id
        pos = pos[val[pos + span[pos]] == b]
        if a == b and len(pos) > 1:  # a run a a a a: keep the 1st, 3rd, ... start of each chain, left to right
            idx = np.arange(len(pos))
            chained = np.zeros(len(pos), dtype=bool)
            chained[1:] = pos[:-1] + span[pos[:-1]] == pos[1:]
            first = np.maximum.accumulate(np.where(chained, 0, idx))
            pos = pos[(idx - first) % 2 == 0]
        q, x = pos + span[pos], pos - span[pos - 1]
        y = q + span[q]
        x_ok, y_ok = val[x] >= 0, val[y] >= 0  # x or y may be a document boundary
        fresh_x = x_ok.copy()  # x of one occurrence is the q of the one before when they touch: count it once
        fresh_x[1:] &= x[1:] != q[:-1]
        old_starts = np.concatenate([x[fresh_x], pos, q[y_ok]])
        val[pos] = m
        val[q] = -2
        if len(pos) and span.dtype == np.int16 and int((y - pos).max()) >= 2**15:  # a token of 32k+ primitive ids
            self.span = span = span.astype(np.int32)
        span[pos] = span[y - 1] = y - pos
        new_starts = np.concatenate([x[fresh_x], pos[y_ok]])  # (x, m) unless x is an m just made; (m, y)
        new_keys = val[new_starts].astype(np.int64) * width + val[new_starts + span[new_starts]]
        return pos, old_starts, new_starts, new_keys

    def n_tokens(self):
        return int((self.val >= 0).sum())

    def docs(self):
        """The current documents, as int32 arrays."""
        v = self.val[self.val != -2].astype(np.int32)
        return [piece[1:] for piece in np.split(v, np.flatnonzero(v == -1))[1:-1]]


def group_packed(packed, n_pos, chunk=1 << 16):
    """packed = key * n_pos + start (int64, overwritten) -> (unique keys, first index, count, starts by key and
    then position). One in-place sort and no full-size temporary beside it: the first call sees every position."""
    packed.sort()
    starts = np.empty(len(packed), dtype=np.int32)
    for i in range(0, len(packed), chunk):
        starts[i:i + chunk] = packed[i:i + chunk] % n_pos
    np.floor_divide(packed, n_pos, out=packed)  # now the keys
    edge = np.ones(len(packed), dtype=bool)
    np.not_equal(packed[1:], packed[:-1], out=edge[1:])
    first = edge.nonzero()[0]
    del edge
    counts = np.empty(len(first), dtype=np.int64)
    counts[:-1] = first[1:] - first[:-1]
    counts[-1:] = len(packed) - first[-1:]
    return packed[first], first, counts, starts


def apply_merges(docs, merges, n_base):
    """Step 4 on id sequences (numpy, any batch size): the documents with the merges applied in rank order."""
    width = n_base + len(merges)
    chain = Chain(docs, width, width)
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


def btm_hash(merges_raw, primitive_hash):
    return hashlib.sha256(merges_raw + primitive_hash.encode()).hexdigest()


def primitive_ids(tok, texts, cache, pretokenize=None, max_cache=2_000_000):
    """One id array per text. For a uniscale BPE and its pre-tokenizer, each distinct pre-token is encoded once and
    reused from `cache`: a BPE never merges across pre-tokens, so a text's ids are its pre-tokens' ids end to end
    (tests check this equals tok.encode_batch), and Python's regex pre-tokenizes ~4x faster than the Rust one here."""
    dtype = np.uint16 if tok.vocab_size <= 2**16 else np.int32
    if getattr(tok, 'kind', None) != 'bpe' or pretokenize is None:
        return [np.asarray(ids, dtype=dtype) for ids in tok.encode_batch(texts)]
    pieces = [pretokenize(t) for t in texts]
    if len(cache) > max_cache:
        cache.clear()
    new = list({p for ps in pieces for p in ps if p not in cache})
    cache.update((p, np.asarray(ids, dtype=dtype).tobytes()) for p, ids in zip(new, tok.encode_batch(new)))
    return [np.frombuffer(b''.join(map(cache.__getitem__, ps)), dtype=dtype) for ps in pieces]


class BTMTokenizer:
    """A trained BTM folder (meta.json kind 'btm') with its loaded primitive tokenizer (tokenization.load_tokenizer
    builds it): encode, encode_batch, decode, token_bytes, vocab_size, bos_id, eos_id, name, hash."""
    kind = 'btm'

    def __init__(self, path, meta, primitive):
        self.path, self.name, self.meta, self.primitive = path, meta['name'], meta, primitive
        self.vocab_size, self.bos_id, self.eos_id, self.n_base = (meta[k] for k in
                                                                  ('vocab_size', 'bos_id', 'eos_id', 'n_base'))
        self.trained_on = meta.get('trained_on')  # {corpus, split, sha256} of the text split, None if not recorded
        retrain = "delete the folder and retrain it with `python btm.py`"
        try:
            with open(os.path.join(path, 'merges.json'), 'rb') as f:
                raw = f.read()
        except OSError as e:
            raise SystemExit(f"{path}/merges.json: cannot be read ({e.strerror}); half-copied or damaged: "
                             f"{retrain}") from None
        self.hash = btm_hash(raw, primitive.hash)
        if self.hash != meta['hash'] or primitive.hash != meta.get('primitive_hash', primitive.hash):
            raise SystemExit(f"{path}: merges.json or primitive/ do not match the hash in meta.json (edited or "
                             f"half-copied); {retrain}")
        self.merges = [tuple(p) for p in json.loads(raw)['merges']]
        if (primitive.vocab_size, self.n_base + len(self.merges)) != (self.n_base, self.vocab_size):
            raise SystemExit(f"{path}/meta.json: says n_base {self.n_base:,} and vocab_size {self.vocab_size:,}, the "
                             f"files hold {primitive.vocab_size:,} primitive ids and {len(self.merges):,} merges "
                             f"(edited or mixed up); {retrain}")
        self.parts = [(i,) for i in range(self.n_base)]  # every id as primitive ids
        for a, b in self.merges:
            self.parts.append(self.parts[a] + self.parts[b])
        self._engine, self._cache = merge_engine(self.n_base, self.merges), {}
        self._pretokenize = None  # the primitive's own pre-tokenization (as it recorded it), for primitive_ids
        prim_meta = os.path.join(path, meta['primitive'], 'meta.json')
        if primitive.kind == 'bpe' and os.path.isfile(prim_meta):
            with open(prim_meta) as f:
                pattern = json.load(f).get('pretokenize_pattern')
            self._pretokenize = regex.compile(pattern).findall if pattern else None

    def apply(self, docs):
        """Primitive id sequences -> BTM id sequences (step 4)."""
        if self._engine is None:
            return apply_merges(docs, self.merges, self.n_base)
        spelled = [(np.asarray(d, dtype=np.uint32) + CHAR0).tobytes().decode('utf-32-le') for d in docs]
        return [e.ids for e in self._engine.encode_batch_fast(spelled, add_special_tokens=False)]

    def encode(self, text):
        return self.encode_batch([text])[0]

    def encode_batch(self, texts):
        return self.apply(primitive_ids(self.primitive, texts, self._cache, self._pretokenize))

    def decode(self, ids):
        return self.primitive.decode([p for i in ids for p in self.parts[i]])

    def token_bytes(self, i):
        return b''.join(self.primitive.token_bytes(p) for p in self.parts[i])
