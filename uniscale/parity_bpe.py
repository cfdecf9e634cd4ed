"""
Parity-aware BPE (Foroutan et al. 2025; the authors' code: github.com/swiss-ai/parity-aware-bpe,
parity_aware_learn_bpe.py `learn_bpe`, its 'base' variant and its hybrid `--global-merges`), over
the project's pre-tokens. tokenizer.py's train_parity turns the merges into a stock tokenizer.json.

The rule, as the authors' code applies it (tests/test_parity_bpe.py compares every merge with it):
- training text and a parallel dev set, both per language (one count column each);
- before each merge, the language whose dev set is now LONGEST in tokens is chosen (ties: the
  first language in order), and the merge is that language's most frequent training pair, ties to
  the lexicographically largest (left, right) pair of symbol strings (their max over (count, pair));
- the first n_global merges take the most frequent pair over all languages together instead;
- training stops when the chosen pair is seen fewer than min_frequency times;
- a merge replaces its pair left to right, without overlap, in training and dev words alike (the
  dev lengths are the dev words' tokens under the merges so far); a symbol is its string, so two
  merges spelling the same string make one symbol (as theirs, whose symbols are strings).

Why it is fast enough (bench/parity_speed.py): no Python loop over words. A unit is a distinct
pre-token in one column (a language's training or dev text) with its count as a scalar weight;
all units sit end to end in one numpy array (btm_encoding.Chain, the BTM/SuperBPE engine's);
every pair has a slot with its counts per language and the positions where it may start, so a
merge is a few numpy calls over its own occurrences (Chain.replace, one np.add.at of the weights
of the pairs it destroyed and made, one bincount of the dev tokens it removed). A merge at few
positions (most of them, late in training) does the same steps in Python on memoryviews, where
numpy's cost per call would dominate. Each language keeps a lazy max-heap: a pair's count only
falls after it appears, except where a merge respells an existing symbol; every rise pushes a
new entry, so a stale top is re-pushed at its current count or dropped. The authors' code keeps
subword-nmt's pruned stats with full re-syncs: same merges, ~75x slower on the demo's split.
Imports uniscale.tokenization (the shared pre-token pattern) and uniscale.btm_encoding (Chain).
"""
import collections
import collections.abc
import hashlib
import heapq
import itertools
import json

import numpy as np

from uniscale.btm_encoding import Chain
from uniscale.tokenization import trainer_word_counts_by


SMALL_MERGE = 48  # a merge recorded at this many positions or fewer runs in Python, not numpy


def dev_identity(dev):
    """sha256 of a parallel dev set ({lang: [text, ...]}) as read: its languages and texts."""
    blob = json.dumps({lang: dev[lang] for lang in sorted(dev)}, ensure_ascii=False)
    return hashlib.sha256(blob.encode('utf-8', 'surrogatepass')).hexdigest()


def word_counts_by_lang(docs, trainer_words):
    """{lang: Counter(word)} of (text, lang) documents, the words those train_bpe's trainer sees
    (tokenization.trainer_word_counts_by), and {n_docs, n_bytes}."""
    return trainer_word_counts_by(docs, trainer_words)


def word_table(train, dev, langs, symbol_of_byte):
    """One table of the distinct words of training and dev text: (Words, train counts (n_words x
    n_langs), dev counts (n_words x n_langs), int64). train, dev: {lang: {word: count}};
    symbol_of_byte: the symbol id of each byte value."""
    index, rows, cols, counts = {}, [], [], []
    for col, by_word in enumerate([train.get(lang, {}) for lang in langs]
                                  + [dev.get(lang, {}) for lang in langs]):
        kept = [(w, c) for w, c in by_word.items() if c > 0]
        rows += [index.setdefault(w, len(index)) for w, _ in kept]
        counts += [c for _, c in kept]
        cols += [col] * len(kept)
    table = np.zeros((len(index), 2 * len(langs)), dtype=np.int64)
    table[np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)] = counts
    encoded = [w.encode('utf-8', 'surrogatepass') for w in index]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    flat = symbol_of_byte[np.frombuffer(b''.join(encoded), dtype=np.uint8)].astype(np.int32)
    return Words(flat, lengths), table[:, :len(langs)], table[:, len(langs):]


class Words(collections.abc.Sequence):
    """Words as one flat array of symbol ids and their lengths: a sequence of lists of ids, as
    learn_parity_merges takes, without a Python list per word (built and read as arrays)."""

    def __init__(self, flat, lengths):
        self.flat, self.lengths = flat, lengths
        self.starts = np.cumsum(lengths) - lengths

    def __len__(self):
        return len(self.lengths)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self.flat[self.starts[i]:self.starts[i] + self.lengths[i]].tolist()


def _flat(words):
    """(all symbol ids end to end (int32), each word's length (int64)) of Words or lists."""
    if isinstance(words, Words):
        return words.flat, words.lengths
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    flat = np.fromiter(itertools.chain.from_iterable(words), dtype=np.int32,
                       count=int(lengths.sum()))
    return flat, lengths


def _inverted(s):
    """A key that sorts strings in reverse (a min-heap then pops the largest): negated code points
    and a closing 1, so a string comes after its own extensions, as max() over strings wants."""
    return tuple(-ord(ch) for ch in s) + (1,)


def learn_parity_merges(words, train_counts, dev_counts, spell, max_symbols, min_frequency=2,
                        n_global=0, max_merges=None):
    """Parity-aware merges over words (lists of ids into spell, the symbols' strings, or Words).
    train_counts, dev_counts: (n_words x n_langs) int64, languages in their tie order. Stops when
    spell holds max_symbols distinct symbols, after max_merges merges (None: no limit), or when the
    chosen pair is seen fewer than min_frequency times. Returns {merges: [(a, b) ids], spell: the
    symbols (the input's, then one per new string), chooser: the language index that chose each
    merge (-1: a global merge), counts: the chosen pair's count, dev_tokens: the final dev lengths}.
    words is segmented in place."""
    spell, min_count = list(spell), max(min_frequency, 1)
    symbol = {s: i for i, s in enumerate(spell)}
    keys = [_inverted(s) for s in spell]
    flat, lens = _flat(words)  # each merge removes a node: len(flat) bounds the merges
    width = min(max_symbols, len(spell) + (len(flat) if max_merges is None else max_merges))
    pairs = _Pairs(flat, lens, train_counts, dev_counts, len(spell), max(width, len(spell)),
                   n_global)
    lengths = lens @ dev_counts
    heaps = pairs.heaps(keys, min_count)
    out = {'merges': [], 'chooser': [], 'counts': []}
    while len(spell) < max_symbols and (max_merges is None or len(out['merges']) < max_merges):
        lang = -1 if len(out['merges']) < n_global else int(np.argmax(lengths))
        col = pairs.global_col if lang < 0 else lang
        p = _top(heaps[col], pairs.count[:, col], min_count)
        if p is None:
            break
        a, b = divmod(int(pairs.key[p]), pairs.width)
        out['counts'].append(int(pairs.count[p, col]))
        s = spell[a] + spell[b]
        m = symbol.get(s)
        respelt = m is not None
        if m is None:
            m = symbol[s] = len(spell)
            spell.append(s)
            keys.append(_inverted(s))
        more_global = len(out['merges']) + 1 < n_global
        lengths -= pairs.merge(p, a, b, m, respelt, heaps, keys, min_count, more_global)
        out['merges'].append((a, b))
        out['chooser'].append(lang)
    flat, lens = pairs.segmentation()
    if isinstance(words, Words):
        words.__init__(flat, lens)
    else:
        starts = (np.cumsum(lens) - lens).tolist()
        flat = flat.tolist()
        words[:] = [flat[i:i + n] for i, n in zip(starts, lens.tolist())]
    out['spell'], out['dev_tokens'] = spell, lengths.tolist()
    return out


def _top(heap, count, min_count):
    """The pair id with the largest (count, pair strings) in one column, or None below min_count.
    Stale entries are re-pushed at their current count (it fell) or dropped (a newer entry holds
    the risen count)."""
    while heap:
        c, ka, kb, p = heap[0]
        now = int(count[p])
        if now == -c:
            return p if now >= min_count else None
        if min_count <= now < -c:
            heapq.heapreplace(heap, (-now, ka, kb, p))
        else:
            heapq.heappop(heap)
    return None


def _per_node(values, lengths):
    """A unit's value at each of its nodes in a Chain of units of these lengths, 0 at the
    boundaries (one before, between and after the units)."""
    out = np.repeat(np.stack([np.zeros_like(values), values], 1).ravel(),
                    np.stack([np.ones_like(lengths), lengths], 1).ravel())
    return np.append(out, 0)


def _first_pairs(val, n_base, width):
    """The pairs before any merge, as btm_encoding.group_packed groups them: (keys a * width + b
    ascending, first index, number of positions, their starts grouped by key, ascending), by a
    stable sort of a * n_base + b (a radix sort where it fits 16 bits: byte-level's 256 symbols)."""
    starts = np.flatnonzero((val[:-1] >= 0) & (val[1:] >= 0))
    code = val[starts].astype(np.int64) * n_base + val[starts + 1]
    if n_base * n_base <= 1 << 16:
        code = code.astype(np.uint16)
    order = np.argsort(code, kind='stable')
    code, starts = code[order].astype(np.int64), starts[order].astype(np.int32)
    edge = np.ones(len(code), dtype=bool)
    np.not_equal(code[1:], code[:-1], out=edge[1:])
    first = np.flatnonzero(edge)
    code = code[first]
    return (code // n_base * width + code % n_base, first,
            np.diff(np.append(first, len(starts))), starts)


class _Pairs:
    """The words as units in one Chain (uniscale/btm_encoding.py): a unit per (word, column) with a
    nonzero count, columns 0..L-1 the training text of each language, L..2L-1 its dev text, so
    that a node's weight is one number. Every pair ever seen has a slot: its key a * width + b,
    its counts per count column (n_slots x (L + 1 [+ 1]): the languages' training text, one sink
    for dev text, their sum where there are global merges), and where it may start (a slice of
    one source array, plus `extra` slices where a respelt symbol made it again; Chain.replace
    drops the stale ones). slot_at[i]: the slot of the pair starting at node i."""

    def __init__(self, flat, lens, train_counts, dev_counts, n_base, width, n_global):
        table = np.concatenate([train_counts, dev_counts], 1).astype(np.int64)
        n_langs = train_counts.shape[1]
        mask = table != 0
        mask[~mask.any(1), 0] = True  # a word without counts is still segmented: weight 0
        w, c = np.nonzero(mask)
        self.first_unit = np.searchsorted(w, np.arange(len(lens)))
        ulens = lens[w]
        at = np.repeat((np.cumsum(lens) - lens)[w] - (np.cumsum(ulens) - ulens), ulens)
        self.chain = Chain(flat[at + np.arange(len(at))], n_base, width, lengths=ulens,
                           weights=table[w, c])
        self.chain.span = np.ones(len(self.chain.val), dtype=np.int16)  # as Chain.replace's
        self.width, self.n_langs = width, n_langs
        self.col = _per_node(c.astype(np.int16), ulens)  # 0..2L-1
        self.ccol = _per_node(np.minimum(c, n_langs).astype(np.int16), ulens)  # dev: sink L
        self.global_col = n_langs + 1 if n_global else None
        self.n_cols = n_langs + 1 + bool(n_global)
        self._first_count(n_base)

    def _first_count(self, n_base):
        chain, n_pos = self.chain, len(self.chain.val)
        keys, first, n, starts = _first_pairs(chain.val, n_base, self.width)
        self.n_slots = n_slots = len(keys)
        self.key = keys
        self.src = np.zeros(n_slots, dtype=np.int64)
        self.off, self.n = first.astype(np.int64), n.astype(np.int64)
        self.sources, self.extra = [starts], {}
        self.slot_at = np.full(n_pos, -1, dtype=np.int32)
        slots = np.repeat(np.arange(n_slots, dtype=np.int32), n)
        self.slot_at[starts] = slots
        self.count = np.zeros((n_slots, self.n_cols), dtype=np.int64)
        flat = slots.astype(np.int64) * self.n_cols + self.ccol[starts]
        np.add.at(self.count.reshape(-1), flat, chain.weight[starts])
        if self.global_col is not None:
            self.count[:, self.global_col] = self.count[:, :self.n_langs].sum(1)

    def heaps(self, keys, min_count):
        """A lazy max-heap per count column (None for the dev sink): (-count, left's key, right's
        key, slot) of the pairs counted >= min_count."""
        out = []
        for c in range(self.n_cols):
            if c == self.n_langs:
                out.append(None)
                continue
            live = np.flatnonzero(self.count[:self.n_slots, c] >= min_count)
            a, b = np.divmod(self.key[live], self.width)
            heap = list(zip((-self.count[live, c]).tolist(), [keys[x] for x in a.tolist()],
                            [keys[y] for y in b.tolist()], live.tolist()))
            heapq.heapify(heap)
            out.append(heap)
        return out

    def positions(self, p):
        """Every node where pair p may start, ascending (stale ones included); then forgotten."""
        parts = [self.sources[self.src[p]][self.off[p]:self.off[p] + self.n[p]]]
        parts += [self.sources[k][o:o + n] for k, o, n in self.extra.pop(p, [])]
        self.n[p] = 0
        return np.sort(np.concatenate(parts), kind='stable') if len(parts) > 1 else parts[0]

    def merge(self, p, a, b, m, respelt, heaps, keys, min_count, more_global):
        """Replace pair p = (a, b) by m everywhere (respelt: m is an older symbol); update
        counts, positions and heaps (a new entry where a count rose); return the dev tokens
        each language lost. Few positions: in Python (numpy's cost per call is larger)."""
        pos = self.positions(p)
        small = len(pos) <= SMALL_MERGE
        lost = (self._merge_small if small else self._merge_numpy)(
            pos, a, b, m, respelt, heaps, keys, min_count, more_global)
        if lost is None:
            raise RuntimeError(f"parity_bpe: internal error, pair {(a, b)} is in no word")
        if self.count[p, :self.n_cols if more_global else self.n_langs + 1].any():
            raise RuntimeError(f"parity_bpe: internal error, pair {(a, b)} left after its merge")
        return lost

    def _merge_numpy(self, pos, a, b, m, respelt, heaps, keys, min_count, more_global):
        chain, n_cols = self.chain, self.n_cols
        pos, old, new, new_keys = chain.replace(pos, a, b, m, self.width)
        if not len(pos):
            return None
        weight = chain.weight
        flat = self.slot_at[old].astype(np.int64) * n_cols + self.ccol[old]
        self._add(flat, -weight[old], old, more_global)
        made, n, starts = self._group(new_keys, new, m if respelt else None)
        before = self.count[made]
        rep = np.repeat(made, n)
        self.slot_at[starts] = rep
        self._add(rep * n_cols + self.ccol[starts], weight[starts], starts, more_global)
        self._push(made, before, heaps, keys, min_count, more_global)
        lost = np.bincount(self.col[pos], weights=weight[pos], minlength=2 * self.n_langs)
        return lost[self.n_langs:].astype(np.int64)

    def _add(self, flat, weight, at, more_global):
        np.add.at(self.count.reshape(-1), flat, weight)
        if more_global:  # the languages' sum, while a global merge is still to come
            train = self.ccol[at] < self.n_langs
            np.add.at(self.count[:, self.global_col], flat[train] // self.n_cols, weight[train])

    def _group(self, new_keys, new, respelt):
        """The slots of the pairs a merge made (new ones for keys not seen before: all of them
        unless the merge respelt the symbol `respelt`) and their positions grouped by slot,
        ascending: (slots, number of positions each, positions)."""
        order = (np.argsort(new_keys, kind='stable') if respelt is None
                 else np.lexsort((new, new_keys)))  # a respelt (m, m) may come from both sides
        sk, starts = new_keys[order], new[order]
        edge = np.ones(len(sk), dtype=bool)
        np.not_equal(sk[1:], sk[:-1], out=edge[1:])
        first = np.flatnonzero(edge)
        n = np.empty_like(first)
        n[:-1], n[-1:] = first[1:] - first[:-1], len(sk) - first[-1:]
        src, fresh = len(self.sources), np.arange(len(first))
        self.sources.append(starts)
        made = np.full(len(first), -1, dtype=np.int64)
        if respelt is not None:
            seen = self._slots_holding(respelt)
            made[:] = [seen.get(k, -1) for k in sk[first].tolist()]
            for i in np.flatnonzero(made >= 0).tolist():
                self.extra.setdefault(int(made[i]), []).append((src, int(first[i]), int(n[i])))
            fresh = np.flatnonzero(made < 0)
        self._grow(len(fresh))
        new_slots = np.arange(self.n_slots, self.n_slots + len(fresh))
        made[fresh] = new_slots
        self.key[new_slots] = sk[first[fresh]]
        self.src[new_slots], self.off[new_slots], self.n[new_slots] = src, first[fresh], n[fresh]
        self.n_slots += len(fresh)
        return made, n, starts

    def _slots_holding(self, s):
        """{key: slot} of the pairs holding symbol s (only a respelling merge asks: rare)."""
        key = self.key[:self.n_slots]
        at = np.flatnonzero((key // self.width == s) | (key % self.width == s))
        return dict(zip(key[at].tolist(), at.tolist()))

    def _grow(self, k):
        if self.n_slots + k <= len(self.key):
            return
        extra = max(len(self.key), k)
        grow = lambda x: np.concatenate([x, np.zeros((extra,) + x.shape[1:], dtype=x.dtype)])
        self.key, self.src, self.off, self.n, self.count = map(
            grow, (self.key, self.src, self.off, self.n, self.count))

    def _push(self, made, before, heaps, keys, min_count, more_global):
        """A heap entry for each (pair, column) whose count rose to >= min_count."""
        after = self.count[made]
        rose = (after > before) & (after >= min_count)
        rose[:, self.n_langs] = False
        if self.global_col is not None and not more_global:
            rose[:, self.global_col] = False
        rows, cs = np.nonzero(rose)
        a, b = np.divmod(self.key[made[rows]], self.width)
        for c, n, x, y, q in zip(cs.tolist(), after[rows, cs].tolist(), a.tolist(), b.tolist(),
                                 made[rows].tolist()):
            heapq.heappush(heaps[c], (-n, keys[x], keys[y], q))

    def _merge_small(self, pos, a, b, m, respelt, heaps, keys, min_count, more_global):
        """_merge_numpy's work one occurrence at a time, on memoryviews (Python ints): the same
        three steps as Chain.replace (read the neighbours, rewrite, read the new pairs)."""
        chain = self.chain
        val, span, weight = memoryview(chain.val), memoryview(chain.span), memoryview(chain.weight)
        occ = self._occurrences(pos.tolist(), a, b, val, span)
        if occ is None:  # a token of 32k+ symbols: Chain.replace widens the spans
            return self._merge_numpy(pos, a, b, m, respelt, heaps, keys, min_count, more_global)
        if not occ:
            return None
        slot_at, ccol = memoryview(self.slot_at), memoryview(self.ccol)
        gone = {}  # (slot, count column) -> change (a dict: Counter's misses run in Python)
        for i, q, x, y, x_new, y_ok in occ:  # the pairs destroyed: (x, a), (a, b), (b, y)
            k = slot_at[i], ccol[i]
            gone[k] = gone.get(k, 0) - weight[i]
            if x_new:
                k = slot_at[x], ccol[x]
                gone[k] = gone.get(k, 0) - weight[x]
            if y_ok:
                k = slot_at[q], ccol[q]
                gone[k] = gone.get(k, 0) - weight[q]
        lost, col, n_langs = [0] * self.n_langs, memoryview(self.col), self.n_langs
        for i, q, x, y, x_new, y_ok in occ:
            c = col[i]
            if c >= n_langs:
                lost[c - n_langs] += weight[i]
            val[i], val[q] = m, -2
            span[i] = span[y - 1] = y - i
        made = {}  # key -> its new positions, ascending
        width = self.width
        for i, q, x, y, x_new, y_ok in occ:
            if x_new:
                made.setdefault(val[x] * width + m, []).append(x)
            if y_ok:
                made.setdefault(m * width + val[y], []).append(i)
        self._count(gone, more_global)
        rose = self._count(self._place(made, respelt, m), more_global)
        for (s, c), n in rose:
            if n >= min_count and c != n_langs and (more_global or c != self.global_col):
                x, y = divmod(int(self.key[s]), width)
                heapq.heappush(heaps[c], (-n, keys[x], keys[y], s))
        return np.array(lost, dtype=np.int64)

    @staticmethod
    def _occurrences(pos, a, b, val, span):
        """(i, q, x, y, x_new, y_ok) of each occurrence of a b left to right without overlap,
        read before any is rewritten: a at i, b at q, x before, y after; x_new: (x, m) is made
        (x is a token and not the b of the occurrence before), y_ok: y is a token. None where a
        new token would span 32k+ nodes."""
        out, last = [], -1
        for i in pos:
            if val[i] != a:
                continue
            q = i + span[i]
            if val[q] != b or i == last:  # stale, or a a a: the second a is the first's b
                continue
            x, y = i - span[i - 1], q + span[q]
            if y - i >= 2**15 - 1:
                return None
            out.append((i, q, x, y, val[x] >= 0 and x != last, val[y] >= 0))
            last = q
        return out

    def _place(self, made, respelt, m):
        """Slots and positions for the pairs a merge made ({key: positions}); returns
        {(slot, count column): weight added}."""
        seen = self._slots_holding(m) if respelt else {}
        self._grow(len(made))
        src, flat, added = len(self.sources), [], {}
        slot_at, ccol, weight = (memoryview(self.slot_at), memoryview(self.ccol),
                                 memoryview(self.chain.weight))
        for k, at in made.items():
            s = seen.get(k)
            if s is None:
                s, self.n_slots = self.n_slots, self.n_slots + 1
                self.key[s], self.src[s], self.off[s], self.n[s] = k, src, len(flat), len(at)
            else:
                self.extra.setdefault(s, []).append((src, len(flat), len(at)))
            flat += at
            for i in at:
                slot_at[i] = s
                k = s, ccol[i]
                added[k] = added.get(k, 0) + weight[i]
        self.sources.append(np.array(flat, dtype=np.int32))
        return added

    def _count(self, delta, more_global):
        """Apply {(slot, column): change} to the counts (and their sum to the global column);
        returns [((slot, column), new count)] where a count rose."""
        if more_global:
            summed, g = {}, self.global_col
            for (s, c), d in delta.items():
                if c < self.n_langs:
                    summed[s, g] = summed.get((s, g), 0) + d
            delta = {**delta, **summed}  # no key in both: delta's columns are <= L < g
        count, n_cols, rose = memoryview(self.count.reshape(-1)), self.n_cols, []
        for (s, c), d in delta.items():
            count[s * n_cols + c] += d
            if d > 0:
                rose.append(((s, c), count[s * n_cols + c]))
        return rose

    def segmentation(self):
        """(symbols end to end, lengths) of each word now: its first unit's (all units of a word
        are segmented alike)."""
        val = self.chain.val
        is_token = val >= 0
        n_tok = np.add.reduceat(is_token, np.flatnonzero(val == -1)[:-1])
        unit = np.repeat(np.arange(len(n_tok)), n_tok)
        first = np.zeros(len(n_tok), dtype=bool)
        first[self.first_unit] = True
        return (val[is_token][first[unit]].astype(np.int32),
                n_tok[self.first_unit].astype(np.int64))
