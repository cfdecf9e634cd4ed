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

Why it is fast enough (bench/parity_speed.py): words are distinct pre-tokens, each with a row of
counts per language (train and dev in one table); a merge touches only the words holding its pair
(an index pair -> words; a word is a str of one character per symbol, so str.find and
str.replace do the merge in C), and their pair-count changes are applied to the (pairs x
languages) count matrix in one numpy call per merge. Each language keeps a lazy max-heap: a pair's
count only falls after it appears, except where a merge respells an existing symbol; every rise
pushes a new entry, so a stale top is re-pushed at its current count or dropped. The authors'
code keeps subword-nmt's pruned stats with full re-syncs: same merges (all 1,742 of parity-2k on
the demo's tok split), 14.3 CPU-s there against 0.73 here (bench/parity_speed.py, RESULTS.md).
Imports only uniscale.tokenization (the shared pre-token pattern).
"""
import collections
import hashlib
import heapq
import itertools
import json

import numpy as np
import regex

from uniscale.tokenization import PRETOKENIZE_PATTERN

CHAR0 = 0x10000  # symbol id i is the character chr(CHAR0 + i) inside a word: no surrogates


def dev_identity(dev):
    """sha256 of a parallel dev set ({lang: [text, ...]}) as read: its languages and texts."""
    blob = json.dumps({lang: dev[lang] for lang in sorted(dev)}, ensure_ascii=False)
    return hashlib.sha256(blob.encode('utf-8', 'surrogatepass')).hexdigest()


def word_counts_by_lang(docs, trainer_words, batch_docs=1000):
    """{lang: Counter(word)} of (text, lang) documents, the words being those train_bpe's trainer
    sees (trainer_words(texts) -> {i: words} where a text's words are not its pre-tokens, as
    uniscale/superbpe.py's trainer_word_counts), and {n_docs, n_bytes}."""
    findall = regex.compile(PRETOKENIZE_PATTERN).findall
    counts, stats, it = {}, {'n_docs': 0, 'n_bytes': 0}, iter(docs)
    for batch in iter(lambda: list(itertools.islice(it, batch_docs)), []):
        texts = [t for t, _ in batch]
        stats['n_docs'] += len(texts)
        stats['n_bytes'] += sum(map(len, map(str.encode, texts)))
        special = trainer_words(texts)
        for i, (text, lang) in enumerate(batch):
            c = counts.setdefault(lang, collections.Counter())
            c.update(special[i] if i in special else findall(text))
    return counts, stats


def word_table(train, dev, langs, symbol_of_byte):
    """One table of the distinct words of training and dev text: (words as lists of symbol ids,
    train counts (n_words x n_langs), dev counts (n_words x n_langs)), int64. train, dev:
    {lang: {word: count}}; symbol_of_byte: the symbol id of each byte value."""
    index, rows = {}, []
    for col, counts in enumerate([train.get(lang, {}) for lang in langs]
                                 + [dev.get(lang, {}) for lang in langs]):
        for w, c in counts.items():
            if c > 0:
                rows.append((index.setdefault(w, len(index)), col, c))
    table = np.zeros((len(index), 2 * len(langs)), dtype=np.int64)
    if rows:
        r = np.array(rows, dtype=np.int64)
        np.add.at(table, (r[:, 0], r[:, 1]), r[:, 2])
    words = [symbol_of_byte[np.frombuffer(w.encode('utf-8', 'surrogatepass'), dtype=np.uint8)]
             .tolist() for w in index]
    return words, table[:, :len(langs)], table[:, len(langs):]


def _inverted(s):
    """A key that sorts strings in reverse (a min-heap then pops the largest): negated code points
    and a closing 1, so a string comes after its own extensions, as max() over strings wants."""
    return tuple(-ord(ch) for ch in s) + (1,)


class _Pairs:
    """Pair ids (by the pair's two characters), their counts per column (n_pairs x n_cols) and the
    words that may hold each."""

    def __init__(self, n_cols):
        self.id, self.ab, self.key, self.where = {}, [], [], []
        self.count = np.zeros((1024, n_cols), dtype=np.int64)

    def get(self, key):
        p = self.id.get(key)
        if p is None:
            p = self.id[key] = len(self.ab)
            self.ab.append((ord(key[0]) - CHAR0, ord(key[1]) - CHAR0))
            self.key.append(key)
            self.where.append(set())
            if p >= len(self.count):
                self.count = np.concatenate([self.count, np.zeros_like(self.count)])
        return p


def learn_parity_merges(words, train_counts, dev_counts, spell, max_symbols, min_frequency=2,
                        n_global=0, max_merges=None):
    """Parity-aware merges over words (lists of ids into spell, the symbols' strings).
    train_counts, dev_counts: (n_words x n_langs) int64, languages in their tie order. Stops when
    spell holds max_symbols distinct symbols, after max_merges merges (None: no limit), or when the
    chosen pair is seen fewer than min_frequency times. Returns {merges: [(a, b) ids], spell: the
    symbols (the input's, then one per new string), chooser: the language index that chose each
    merge (-1: a global merge), counts: the chosen pair's count, dev_tokens: the final dev lengths}.
    words is segmented in place. Inside, a word is a str of one character per symbol, so that
    str.find and str.replace (left to right, without overlap: the merge rule) run in C."""
    cols = train_counts if not n_global else np.column_stack([train_counts, train_counts.sum(1)])
    spell, min_count = list(spell), max(min_frequency, 1)
    symbol = {s: i for i, s in enumerate(spell)}
    keys = [_inverted(s) for s in spell]
    pairs = _Pairs(cols.shape[1])
    lengths = np.array([len(w) for w in words], dtype=np.int64) @ dev_counts
    text = [''.join([chr(CHAR0 + i) for i in word]) for word in words]
    occ_p, occ_w, where, pid = [], [], pairs.where, pairs.id
    for w, word in enumerate(text):
        for k in range(len(word) - 1):
            key = word[k:k + 2]
            p = pid.get(key)
            if p is None:
                p = pairs.get(key)
            occ_p.append(p)
            where[p].add(w)
        occ_w += [w] * (len(word) - 1)
    np.add.at(pairs.count, np.array(occ_p, dtype=np.int64), cols[np.array(occ_w, dtype=np.int64)])
    heaps = []
    for c in range(cols.shape[1]):
        live = np.flatnonzero(pairs.count[:len(pairs.ab), c] >= min_count)
        heap = [(-int(pairs.count[p, c]), keys[pairs.ab[p][0]], keys[pairs.ab[p][1]], int(p))
                for p in live]
        heapq.heapify(heap)
        heaps.append(heap)
    out = {'merges': [], 'chooser': [], 'counts': []}
    while len(spell) < max_symbols and (max_merges is None or len(out['merges']) < max_merges):
        lang = -1 if len(out['merges']) < n_global else int(np.argmax(lengths))
        col = cols.shape[1] - 1 if lang < 0 else lang
        p = _top(heaps[col], pairs.count[:, col], min_count)
        if p is None:
            break
        a, b = pairs.ab[p]
        out['counts'].append(int(pairs.count[p, col]))
        s = spell[a] + spell[b]
        m = symbol.get(s)
        if m is None:
            m = symbol[s] = len(spell)
            spell.append(s)
            keys.append(_inverted(s))
        lengths -= _replace(text, pairs, p, chr(CHAR0 + m), cols, dev_counts, heaps, keys,
                            min_count)
        out['merges'].append((a, b))
        out['chooser'].append(lang)
    words[:] = [[ord(ch) - CHAR0 for ch in word] for word in text]
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


def _replace(text, pairs, p, m, cols, dev_counts, heaps, keys, min_count):
    """Merge pair p into the symbol character m in every word holding it; update the pair counts,
    the index and the heaps; return the dev tokens each language lost. Only the pairs beside a
    replaced occurrence change (the rest keep their one-to-one match between old and new word)."""
    ab, (a, b) = pairs.key[p], pairs.ab[p]
    gone_p, gone_w, made_p, made_w, made_q, done, shrunk = [], [], [], [], set(), [], []
    pid, where, get = pairs.id, pairs.where, pairs.get
    for w in where[p]:
        word = text[w]
        i = word.find(ab)
        if i < 0:
            continue  # a stale entry of the index: the pair left this word in an earlier merge
        new = text[w] = word.replace(ab, m)
        n = len(word)
        j = word.find(ab, i + 2)
        if j < 0:  # most words: the pairs beside one occurrence
            gone, made = [ab], []
            if i:
                gone.append(word[i - 1:i + 1])
                made.append(new[i - 1:i + 1])
            if i + 2 < n:
                gone.append(word[i + 1:i + 3])
                made.append(new[i:i + 2])
            shrunk.append(1)
        else:
            at = [i]
            while j >= 0:
                at.append(j)
                j = word.find(ab, j + 2)
            gone = [word[k:k + 2] for k in {k for i in at for k in (i - 1, i, i + 1)
                                            if 0 <= k < n - 1}]
            made = [new[k:k + 2] for k in {k for j, i in enumerate(at) for k in (i - j - 1, i - j)
                                          if 0 <= k < len(new) - 1}]  # i - j: the j-th m's place
            shrunk.append(len(at))
        for key in gone:
            gone_p.append(pid[key])
        gone_w += [w] * len(gone)
        for key in made:
            q = pid.get(key)
            if q is None:
                q = get(key)
            made_p.append(q)
            made_q.add(q)
            where[q].add(w)
        made_w += [w] * len(made)
        done.append(w)
    where[p] = set()
    if not done:
        raise RuntimeError(f"parity_bpe: internal error, pair {(a, b)} is in no word")
    count = pairs.count
    made_q = np.fromiter(made_q, dtype=np.int64, count=len(made_q))
    before = count[made_q]
    np.subtract.at(count, np.array(gone_p, dtype=np.int64), cols[np.array(gone_w, dtype=np.int64)])
    np.add.at(count, np.array(made_p, dtype=np.int64), cols[np.array(made_w, dtype=np.int64)])
    if count[p].any():
        raise RuntimeError(f"parity_bpe: internal error, pair {(a, b)} left after its merge")
    after = count[made_q]
    rows, cs = np.nonzero((after > before) & (after >= min_count))  # a new entry where it rose
    for q, c, n in zip(made_q[rows].tolist(), cs.tolist(), after[rows, cs].tolist()):
        x, y = pairs.ab[q]
        heapq.heappush(heaps[c], (-n, keys[x], keys[y], q))
    return np.array(shrunk, dtype=np.int64) @ dev_counts[np.array(done, dtype=np.int64)]
