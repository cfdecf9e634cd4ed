"""
A trained BTM (BPE-TKN-Merge) folder behind the interface every uniscale tokenizer has, and the merge machinery
that training (btm.py) and encoding share: the Chain the merges are replaced in, and step 4 (apply the merges).

    tok = load_tokenizer('out/tokenizers/btm-4k-16k')   # uniscale.tokenization: a BTMTokenizer, handed its primitive

It imports no uniscale module but regex_gap (which imports none): tokenization.load_tokenizer loads
the primitive BPE and hands it in, so the imports run one way (btm_encoding <- tokenization <-
tokenizer.py <- btm.py). The algorithm is stated in btm.py's docstring.
"""
import hashlib
import heapq
import itertools
import json
import os

import numpy as np
import regex

from uniscale import regex_gap

CHAR0 = 0x10000  # primitive id i is spelled chr(CHAR0 + i) for the Rust merge engine (no surrogates up to 1M ids)


class Chain:
    """Documents as one flat array of nodes. val[i] is the id at node i; -1 marks a document boundary (one before,
    between and after the documents), -2 a node a merge removed. A token covers the nodes [i, i + span[i]) and
    its id sits at its first node; its span is written at its last node too, so both neighbours are one lookup
    without next/previous arrays: the next token starts at i + span[i], the previous at i - span[i - 1].
    (A doubly linked list would take 8 bytes a node; val and span take 2 each while ids and spans fit int16.)"""

    def __init__(self, docs, n_base, n_ids, lengths=None, weights=None):
        """docs: id sequences, or (with lengths, the documents' lengths) all of them end to end in
        one array. weights: an integer >= 0 per document, or None (1 each); weight[i] is then node
        i's document's (0 at the boundaries), int64, so that a pair's count is the sum over its
        positions."""
        if lengths is None:
            lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
            docs = np.concatenate([np.asarray(d, dtype=np.int32) for d in docs]) if len(docs) else np.zeros(0)
        n = int(lengths.sum()) + len(lengths) + 1
        self.weight = None
        if weights is not None:
            weights = np.asarray(weights, dtype=np.int64)
            if weights.shape != lengths.shape or (len(weights) and weights.min() < 0):
                raise ValueError(f"btm: weights must be one integer >= 0 per document "
                                 f"({len(lengths)} of them)")
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
    """One id array per text (primitive_flat's, cut per text)."""
    ids, lengths = primitive_flat(tok, texts, cache, pretokenize, max_cache)
    return np.split(ids, np.cumsum(lengths)[:-1]) if len(lengths) else []


def primitive_flat(tok, texts, cache, pretokenize=None, max_cache=2_000_000):
    """(every text's ids end to end, each text's length in ids). For a uniscale BPE and its
    pre-tokenizer: one pass of the pre-tokenizer maps each pre-token to the number of its distinct
    pre-token, the distinct ones not seen before are encoded once (Rust, all cores:
    encode_pretokens) into a table kept in `cache` (cleared past max_cache distinct pre-tokens), and
    numpy gathers the texts' ids from it. A BPE never merges across pre-tokens, so a text's ids are
    its pre-tokens' ids end to end (tests check this equals tok.encode_batch)."""
    dtype = np.uint16 if tok.vocab_size <= 2**16 else np.int32
    if getattr(tok, 'kind', None) != 'bpe' or pretokenize is None:
        encoded = tok.encode_batch(texts)
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        ids = itertools.chain.from_iterable(encoded)
        return np.fromiter(ids, dtype=dtype, count=int(lengths.sum())), lengths
    odd = regex_gap.holding(texts)
    if odd:  # Python's pieces may not be the primitive's own there: its own encoder, spliced in
        return _spliced(tok, texts, odd, lambda t: primitive_flat(tok, t, cache, pretokenize,
                                                                  max_cache), dtype)
    pieces = [pretokenize(t) for t in texts]
    flat = list(itertools.chain.from_iterable(pieces))
    if 'index' not in cache or len(cache['index']) > max_cache:
        cache.update(index=PretokenIndex(), ids=np.zeros(1024, dtype=dtype), n_ids=0,
                     start=np.zeros(1024, dtype=np.int64), length=np.zeros(1024, dtype=np.int64))
    index = cache['index']
    sid = np.fromiter(map(index.__getitem__, flat), dtype=np.int64, count=len(flat))
    new, index.new = index.new, []
    _add_pretokens(tok, cache, new, dtype)
    length, start = cache['length'][sid], cache['start'][sid]
    ends = np.cumsum(length)
    at = np.repeat(start - (ends - length), length) + np.arange(int(ends[-1]) if len(ends) else 0)
    n_pre = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
    pre_ends, ends = np.cumsum(n_pre), np.concatenate([[0], ends])
    return cache['ids'][at], ends[pre_ends] - ends[pre_ends - n_pre]


def _spliced(tok, texts, odd, fast, dtype):
    """primitive_flat's (ids, lengths) with the texts whose indices are in odd encoded by
    tok.encode_batch and the others by fast(texts)."""
    keep = [i for i in range(len(texts)) if i not in odd]
    ids, lengths = fast([texts[i] for i in keep])
    per = dict(zip(keep, np.split(ids, np.cumsum(lengths)[:-1]) if len(keep) else []))
    per.update(zip(sorted(odd), (np.array(e, dtype=dtype)
                                 for e in tok.encode_batch([texts[i] for i in sorted(odd)]))))
    out = [per[i] for i in range(len(texts))]
    return np.concatenate(out), np.array([len(o) for o in out], dtype=np.int64)


class PretokenIndex(dict):
    """Distinct pre-token -> its number, in order of first sight; a lookup of an unseen one numbers
    it and lists it in .new (one Python call per new pre-token, none per known one)."""

    def __init__(self):
        super().__init__()
        self.new = []

    def __missing__(self, key):
        self[key] = n = len(self)
        self.new.append(key)
        return n


def _add_pretokens(tok, cache, new, dtype):
    """Encode the pre-tokens `new` (numbered after those in cache's table) and append their ids to
    the table (arrays that double)."""
    if not new:
        return
    ids, length = encode_pretokens(tok, cache, new)
    first, n_ids, n_new = len(cache['index']) - len(new), cache['n_ids'], int(length.sum())
    cache['start'] = _grown(cache['start'], first + len(new))
    cache['length'] = _grown(cache['length'], first + len(new))
    cache['start'][first:first + len(new)] = n_ids + np.cumsum(length) - length
    cache['length'][first:first + len(new)] = length
    cache['ids'] = _grown(cache['ids'], n_ids + n_new)
    cache['ids'][n_ids:n_ids + n_new] = ids
    cache['n_ids'] = n_ids + n_new


def _grown(a, n):
    """a, or a copy with room for at least n items and at least twice as many as a has."""
    return a if len(a) >= n else np.concatenate([a, np.zeros(max(n, 2 * len(a)) - len(a), a.dtype)])


SEPARATOR = '\uffff'  # a noncharacter: pre-tokens joined by it are encoded as a few long strings


def encode_pretokens(tok, cache, new, per_string=1000, group=64):
    """(ids of the pre-tokens `new` end to end, each one's length in ids). The primitive's BPE model
    runs over a few strings of them joined by SEPARATOR, split there and byte-mapped (its
    pre-tokenizer's second step): one Rust call per core instead of one Encoding per pre-token. Per
    pre-token (tok.encode_batch) where the tokenizer is not the uniscale BPE this assumes or a
    pre-token holds the separator; checked either way."""
    if 'joiner' not in cache:
        cache['joiner'] = _joined_encoder(tok)
        cache['token_len'] = np.array([len(tok.token_bytes(i)) for i in range(tok.vocab_size)],
                                      dtype=np.int64)
    body = ''.join(new)
    if cache['joiner'] is not None and SEPARATOR not in body:
        # strings of per_string pre-tokens, `group` of them a call (longer ones cost memory)
        parts = [SEPARATOR.join(new[i:i + per_string]) for i in range(0, len(new), per_string)]
        ids = np.concatenate([np.array(e.ids, dtype=np.int64) for g in range(0, len(parts), group)
                              for e in cache['joiner'].encode_batch_fast(parts[g:g + group],
                                                                         add_special_tokens=False)])
        # each pre-token must end, in bytes, where a token ends: the tokens between are its own
        token_end = np.cumsum(cache['token_len'][ids])
        pre_end = np.cumsum(np.fromiter((len(p.encode('utf-8')) for p in new), dtype=np.int64,
                                        count=len(new)))
        at = np.searchsorted(token_end, pre_end)
        if len(ids) and at[-1] == len(ids) - 1 and (token_end[at] == pre_end).all():
            return ids, np.diff(at, prepend=-1)
    encoded = tok.encode_batch(new)
    length = np.fromiter(map(len, encoded), dtype=np.int64, count=len(new))
    ids = itertools.chain.from_iterable(encoded)
    return np.fromiter(ids, dtype=np.int64, count=int(length.sum())), length


def _joined_encoder(tok):
    """A copy of tok's `tokenizers` object whose pre-tokenizer splits at SEPARATOR (dropping it) and
    byte-maps, when tok is the uniscale byte-level BPE (Split on the shared pattern, then ByteLevel
    without a regex, no normalizer); else None."""
    import tokenizers
    from tokenizers import Regex, pre_tokenizers
    inner = getattr(tok, '_tok', None)
    if not isinstance(inner, tokenizers.Tokenizer):
        return None
    spec = json.loads(inner.to_str())
    steps = (spec.get('pre_tokenizer') or {}).get('pretokenizers') or []
    if (spec.get('normalizer') is not None or (spec.get('model') or {}).get('type') != 'BPE'
            or len(steps) != 2
            or steps[0].get('type') != 'Split' or steps[1].get('type') != 'ByteLevel'
            or steps[1].get('use_regex') or steps[1].get('add_prefix_space')):
        return None
    joiner = tokenizers.Tokenizer.from_str(inner.to_str())
    joiner.encode_special_tokens = True
    joiner.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SEPARATOR), behavior='removed'),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    return joiner


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
