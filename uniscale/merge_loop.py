"""
The merge engine every superword method shares (btm.py trains BTM, SuperBPE and BoundlessBPE with it; tokenizer.py's
one-pass BPE too): units of ids (documents, or distinct chunks with integer weights) in, merges out, by the rules
of docs/DESIGN.md's "Merge rules". `naive_learn_merges` states them in a dozen lines (the tests' reference);
`learn_merges_detailed` computes the same fast.

Why it is fast: a pair only ever gains occurrences in the merge that creates its newer id (x A B y -> x M y only
adds pairs holding M); afterwards its count only falls. So a pair below min_frequency can be forgotten, every
counted pair enters the heap once when born (the heap takes the most frequent first, the rest wait in arrays), and
its positions are recorded once; a merge then costs O(its occurrences) numpy work on one flat array of nodes.
Memory, ~15 bytes per primitive token (bench/btm_speed.py): ids and token spans as int16, one int32 slot per node,
the counted pairs' positions (those of merged pairs are freed), one position per occurrence of each merged id.
"""
import collections
import heapq

import numpy as np

from uniscale.btm_encoding import Chain, group_packed


def allowed(left, right, max_words=0, boundaries=(), allow=None):
    """May tokens with these bytes merge? Tokens holding a boundary never merge (so no merge crosses one);
    the merged text may hold at most max_words whitespace-separated words; allow(left, right), if
    given, must say True (a method's own rule, monotone: once refused, refused for good)."""
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


def naive_learn_merges(docs, n_base, n_merges, min_frequency=2, token_bytes=None, max_words=0,
                       boundaries=(), weights=None, allow=None, on_merge=None):
    """The definition, recounting every pair after every merge: slow on purpose, the reference for tests.
    Returns (merges, final documents). weights: an integer >= 0 per document (a unit, e.g. a
    distinct chunk and its frequency), None = 1 each; a pair's count is the weighted sum.
    allow(left bytes, right bytes) -> bool: a method's own rule beside max_words/boundaries (needs
    token_bytes; the fast loop checks it just before a merge, so it must be monotone: once False,
    False for good); on_merge(new token's bytes), called after each merge, lets a rule follow the
    vocabulary."""
    docs, merges = [list(d) for d in docs], []
    weights = [1] * len(docs) if weights is None else list(weights)
    tb = list(token_bytes) if token_bytes is not None else None
    while len(merges) < n_merges:
        counts = collections.Counter()
        for d, w in zip(docs, weights):
            for p in zip(d, d[1:]):
                counts[p] += w
        if tb is not None:
            counts = {p: c for p, c in counts.items()
                      if allowed(tb[p[0]], tb[p[1]], max_words, boundaries, allow)}
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
                          progress=False, segmentation=True, queue_batch=8192, weights=None,
                          allow=None, on_merge=None):
    """learn_merges plus what training keeps: a dict with merges, counts (of each pair when merged), graph (keys
    a * width + b and counts of every pair before merge 0), width, n_tokens and docs (the final segmentation).
    docs: id sequences, or a Chain of them (so that the caller can drop its lists before the memory peak).
    weights, allow, on_merge: as naive_learn_merges (weights go into the Chain when docs is one).
    queue_batch: about how many waiting pairs enter the heap at a time (tests set it small)."""
    width = n_base + n_merges  # keys a * width + b sort as the pairs (a, b) do
    chain = docs if isinstance(docs, Chain) else Chain(docs, n_base, width, weights=weights)
    if weights is not None and chain.weight is None:
        raise ValueError("btm: with docs a Chain, weights go into it: Chain(..., weights=weights)")
    wt = chain.weight  # None: every position weighs 1, counts are numbers of positions
    n_pos = len(chain.val)
    min_count = max(min_frequency, 1)
    tb, ok = pair_rule(token_bytes, width, max_words, boundaries, allow, on_merge)
    constrained = ok is not None
    weigh = lambda first, n, starts: (n if wt is None or not len(first)
                                      else np.add.reduceat(wt[starts], first))

    # every counted pair gets a slot: its count lives in count[slot]; slot_at[i] is the slot of the pair starting at
    # node i (-1: not counted), so the pairs a merge destroys are decremented without a key lookup. Where its
    # positions are: for a pair counted before merge 0 (src 0), starts[first0[slot]:][:n0[slot]]; for one born in
    # merge k (src k + 1), sources[k + 1] holds where merge k put its id M, the pair's (M, y) starts or, for an
    # (x, M), the tokens before them (one position per occurrence of M instead of one per pair it made)
    if width * width * n_pos >= 2**63:
        raise SystemExit(f"btm: {n_pos:,} tokens with {width:,} ids overflow the int64 pair index; "
                         f"lower max_tok_bytes")
    graph_keys, graph_counts, slot, starts, slot_at, n0 = first_slots(chain, width, min_count, ok,
                                                                      constrained, weigh)
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
        if allow is not None and not allow(tb[key // width], tb[key % width]):  # a monotone rule
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
            raise RuntimeError(f"btm: internal error, merge {len(merges)} {(a, b)} counted {c}, "
                               f"found {found}")
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
    """(tb, ok): the bytes of every id so far (None: no rule needs them) and ok(key) -> may the pair
    be counted at all (max_words, boundaries; None: neither set), checked when a pair is born.
    `allow` is checked only just before a merge: a monotone rule refuses then whatever it would have
    refused earlier, in far fewer calls."""
    rules = allow is not None or on_merge is not None
    if rules and token_bytes is None:
        raise ValueError("btm: allow and on_merge need token_bytes (the bytes of the n_base ids)")
    needed = token_bytes is not None and (max_words or boundaries or rules)
    tb = list(token_bytes) if needed else None
    if tb is None or not (max_words or boundaries):
        return tb, None
    return tb, lambda key: allowed(tb[key // width], tb[key % width], max_words, boundaries)


def first_slots(chain, width, min_count, ok, constrained, weigh):
    """The pairs before merge 0: (keys, weighted counts) of all, and the slots of those counted
    (count >= min_count and ok): slot arrays, their positions grouped by slot, slot_at and n0
    (positions per slot)."""
    n_pos = len(chain.val)
    graph_keys, first, graph_n, starts = group_packed(chain.initial_pairs(width), n_pos)
    graph_counts = weigh(first, graph_n, starts)  # graph_n: positions, graph_counts: weighted
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



def release_freed_memory():
    """Hand memory freed by the last phase back to the system (glibc keeps it otherwise), so that the merges'
    arrays do not come on top of the primitive trainer's and the encoder's leftovers."""
    try:
        import ctypes
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
