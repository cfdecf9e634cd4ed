"""
Bits per byte: the one scorer. Training's validation (train.py), eval_bpb.py and the preflight all score through
`score`, so a number in log.jsonl, in eval.json and in the preflight comes from the same code.

    bpb = sum over every scored token of -log2 p(token | context) / UTF-8 bytes of the scored documents

Each document is scored after a BOS token, every one of its tokens exactly once (the first predicted from BOS
alone), with no EOS; a document longer than the context is scored in windows (`windows`). This is always the plain
-log p of the model's softmax: model.token_losses (the training loss a fork may change) never enters it.

Memory: the (tokens, vocab) logits never exist. The model's final hidden states go through the LM head a chunk of
rows at a time (`target_nll`, chunked_loss.chunk_rows rows), each chunk's -log p taken and its logits dropped, so a
validation step needs less than a training micro step of the same shape (bench/loss_memory.py --validation=True).
`score_documents` reads documents from any iterable a group at a time (eval_bpb.py streams the split): its memory
does not grow with the number of documents. A document longer than STREAM_CHARS characters is
encoded a piece at a time (uniscale/long_text.py: the same ids as encoding it whole) and its
windows are scored as they come (`WindowStream`, `score_long`): memory does not grow with one
document's length either.
"""
import math
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from uniscale.chunked_loss import chunk_rows
from uniscale.hardware import autocast
from uniscale.long_text import PIECE_CHARS, encode_pieces, why_not_exact

LN2 = math.log(2)
GROUP_BATCHES = 32  # score_documents reads about this many forward batches of text at a time (sorted within)
STREAM_CHARS = PIECE_CHARS  # characters above which a document is encoded and scored in pieces


def windows(n, ctx, ovl=0):
    """Windows over a document of n tokens scored after BOS. With x = [BOS, t1 .. t(n-1)] the inputs and
    y = [t1 .. tn] the targets, each (start, first, end) feeds x[start:end] and scores y[first:end]; the scored
    ranges tile [0, n) exactly once. Each window ends `ctx - ovl` tokens after the previous one and reaches back to
    fill the context, so it re-reads at least `ovl` scored tokens (the last one may re-read more, as in lm-eval)."""
    if not 0 <= ovl < ctx:
        raise SystemExit(f"config error: overlap={ovl} must be in [0, context={ctx}); 0 = disjoint windows")
    out, end = [], 0
    while end < n:
        first, end = end, min(n, ctx if end == 0 else end + ctx - ovl)
        out.append((max(0, end - ctx), first, end))
    return out


class WindowStream:
    """`windows` over a document whose ids arrive in pieces: push(ids) returns the (ids, skip) items
    (as score takes them, x = [BOS] + ids) of the windows complete so far, finish() the rest;
    together the same items as windows() over the whole document. Between pieces it holds only the
    tokens a later window can still reach back to."""

    def __init__(self, ctx, ovl, bos_id):
        windows(ctx, ctx, ovl)  # the same refusal of a bad overlap
        self.ctx, self.step = ctx, ctx - ovl
        # x[i] is ([BOS] + ids)[offset + i]
        self.x, self.offset = np.array([bos_id], dtype=np.int64), 0
        self.n, self.done = 0, 0  # ids received; the end of the last window made

    def _next_end(self):
        return self.ctx if self.done == 0 else self.done + self.step

    def _item(self, end):
        start = max(0, end - self.ctx)
        item = (self.x[start - self.offset:end + 1 - self.offset], self.done - start)
        self.done = end
        return item

    def push(self, ids):
        self.x = np.concatenate([self.x, np.asarray(ids, dtype=np.int64)])
        self.n += len(ids)
        out = []
        while self._next_end() <= self.n:  # ends within the ids so far: the whole's window
            out.append(self._item(self._next_end()))
        keep = max(0, self.done - self.ctx)  # later windows start after done - ctx
        self.x, self.offset = self.x[keep - self.offset:], keep
        return out

    def finish(self):
        out = []
        while self.done < self.n:
            out.append(self._item(min(self.n, self._next_end())))
        return out


def batches_by_length(items, max_tokens):
    """Item indices, longest first, grouped so that each forward holds at most max_tokens (at least one item)."""
    order = sorted(range(len(items)), key=lambda i: -len(items[i][0]))
    out, i = [], 0
    while i < len(order):
        width = max(1, len(items[order[i]][0]) - 1)  # the longest of the batch: sorted descending
        n = max(1, max_tokens // width)
        out.append(order[i:i + n])
        i += n
    return out


def target_nll(model, h, targets, dt):
    """-ln p (fp32) of each target (N,) from the final hidden states h (N, n_embd) under the model's plain softmax:
    the LM head without its padding rows, chunked_loss.chunk_rows rows at a time (never the (N, vocab) logits), the
    logits in bf16 under dt='bfloat16' (as the autocast forward computes them) and the log-softmax in fp32."""
    cfg = model.config
    dtype = torch.bfloat16 if dt == 'bfloat16' else h.dtype
    w = model.lm_head.weight[:cfg.vocab_size].to(dtype)  # cast once per batch, as autocast does once per forward
    rows = chunk_rows(cfg.loss_chunk, cfg.vocab_size, h.device.type)
    out = torch.empty(h.size(0), dtype=torch.float32, device=h.device)
    for i in range(0, h.size(0), rows):
        logits = (h[i:i + rows].to(dtype) @ w.T).float()
        out[i:i + rows] = F.cross_entropy(logits, targets[i:i + rows], reduction='none')
        del logits  # before the next chunk's exist
    return out


@torch.no_grad()
def score(model, items, dev, dt, max_tokens=8192, desc=None):
    """Sum of -ln p over the scored tokens of each item. An item is (ids, skip): ids[:-1] is fed to the model,
    ids[1:] are the targets, of which the first `skip` are context, not scored. Items are sorted by length and
    batched up to max_tokens per forward; only the scored positions go through the LM head (`target_nll`). Returns
    (nll_nats float64 array, n_scored int array), in item order. Each item holds one document, so the model scores
    with plain causal attention (no document mask)."""
    from tqdm import tqdm
    was_training, saved_mask = model.training, model.config.doc_bos_id
    model.eval()
    model.config.doc_bos_id = -1
    nll, counts = np.zeros(len(items)), np.zeros(len(items), dtype=np.int64)
    try:
        for batch in tqdm(batches_by_length(items, max_tokens), desc=desc, disable=None if desc else True,
                          mininterval=2.0):
            T = max(1, len(items[batch[0]][0]) - 1)
            x = torch.zeros(len(batch), T, dtype=torch.long)  # right padding: causal attention never looks at it
            y = torch.full((len(batch), T), -1, dtype=torch.long)  # padding and context are never scored
            for row, j in enumerate(batch):
                ids, skip = items[j]
                ids = torch.as_tensor(ids, dtype=torch.long)
                x[row, :len(ids) - 1] = ids[:-1]
                y[row, skip:len(ids) - 1] = ids[skip + 1:]
            x, y = x.to(dev), y.to(dev)
            with autocast(dev, dt):
                h = model.final_hidden(x)
            scored = (y >= 0).flatten().nonzero().squeeze(1)  # positions, row-major
            tok_nll = target_nll(model, h.flatten(0, 1)[scored], y.flatten()[scored], dt)
            sums = torch.zeros(len(batch), dtype=torch.float64, device=tok_nll.device)
            nll[batch] = sums.index_add_(0, scored // T, tok_nll.double()).cpu().numpy()
            counts[batch] = (y >= 0).sum(1).cpu().numpy()
    finally:
        model.config.doc_bos_id = saved_mask
        model.train(was_training)
    return nll, counts


def validation_bpb(model, items, n_bytes, dev, dt, max_tokens, rank=0, world=1):
    """(val_loss in nats/token, val_bpb) of training's fixed validation windows (shards.eval_set: (ids, skip) items
    whose documents hold n_bytes of text), shared out among the processes (every process must take part)."""
    nll, counts = score(model, items[rank::world], dev, dt, max_tokens)
    sums = torch.tensor([nll.sum(), counts.sum()], dtype=torch.float64, device=dev)
    if world > 1:
        dist.all_reduce(sums)
    total_nll, n_tokens = sums.tolist()
    return total_nll / n_tokens, total_nll / LN2 / n_bytes


def bits_per_byte(model, tok, texts, langs, dev='cpu', dt='float32', ctx=0, ovl=0, max_tokens=8192, desc=None):
    """Score documents as the definition above says; returns eval.json's numbers (overall, per_lang, windowing)."""
    return score_documents(model, tok, zip(texts, langs), dev, dt, ctx, ovl, max_tokens, desc)


def score_documents(model, tok, docs, dev='cpu', dt='float32', ctx=0, ovl=0, max_tokens=8192, desc=None,
                    n_docs=None):
    """bits_per_byte of the (text, lang) pairs of any iterable, read a group at a time (about GROUP_BATCHES forward
    batches of text, windows sorted by length within it): only per-language sums outlive a group, so memory is flat
    in the number of documents. n_docs: their number, for the progress bar."""
    from tqdm import tqdm
    ctx = ctx or model.config.block_size
    if ctx > model.config.block_size:
        raise SystemExit(f"config error: context={ctx} exceeds the model's block_size {model.config.block_size}")
    sums, n_windows, seconds = {}, 0, 0.0  # lang -> [nll nats, tokens, bytes, docs]
    group, group_bytes, said = [], 0, False
    bar = tqdm(docs, desc=desc, total=n_docs, disable=None if desc else True, mininterval=2.0, unit='doc')
    for text, lang in bar:
        if len(text) > STREAM_CHARS:
            why = why_not_exact(tok)
            if why and not said:
                print(f"note: documents over {STREAM_CHARS:,} characters are encoded whole "
                      f"({why}): memory grows with their length")
                said = True
            n_windows, seconds = score_long(model, tok, text, lang, dev, dt, ctx, ovl, max_tokens,
                                            sums, n_windows, seconds)
            continue
        group.append((text, lang))
        group_bytes += len(text)
        if group_bytes >= GROUP_BATCHES * max_tokens * 4:  # ~4 characters a token
            n_windows, seconds = score_group(model, tok, group, dev, dt, ctx, ovl, max_tokens, sums, n_windows,
                                             seconds)
            group, group_bytes = [], 0
    if group:
        n_windows, seconds = score_group(model, tok, group, dev, dt, ctx, ovl, max_tokens, sums, n_windows, seconds)

    def summary(rows):
        total, n_tok, n_bytes, docs_ = (sum(r[k] for r in rows) for k in range(4))
        return {'bpb': total / LN2 / max(n_bytes, 1), 'nll_per_token': total / max(n_tok, 1), 'nll_nats': total,
                'n_tokens': n_tok, 'n_bytes': n_bytes, 'n_docs': docs_, 'bytes_per_token': n_bytes / max(n_tok, 1)}
    result = summary(list(sums.values()))
    result['per_lang'] = {lang: summary([sums[lang]]) for lang in sorted(sums)}
    result['windowing'] = {'context': ctx, 'overlap': ovl, 'mode': 'disjoint' if ovl == 0 else 'overlapping',
                           'n_windows': n_windows, 'bos_context': True, 'eos_appended': False}
    result['eval_seconds'] = seconds
    result['tok_per_s'] = result['n_tokens'] / max(seconds, 1e-9)
    return result


def score_group(model, tok, group, dev, dt, ctx, ovl, max_tokens, sums, n_windows, seconds):
    """Score one group of (text, lang) documents, adding to sums ({lang: [nll, tokens, bytes, docs]}); returns the
    running window count and scoring seconds."""
    encoded = tok.encode_batch([text for text, _ in group])
    items, owner = [], []
    for d, ids in enumerate(encoded):
        full = np.asarray([tok.bos_id] + list(ids), dtype=np.int64)
        for start, first, end in windows(len(ids), ctx, ovl):
            items.append((full[start:end + 1], first - start))
            owner.append(d)
    t0 = time.time()
    nll, counts = score(model, items, dev, dt, max_tokens)
    seconds += time.time() - t0
    doc_nll, doc_tokens = np.zeros(len(group)), np.zeros(len(group), dtype=np.int64)
    np.add.at(doc_nll, owner, nll)
    np.add.at(doc_tokens, owner, counts)
    if not np.array_equal(doc_tokens, [len(ids) for ids in encoded]):  # "every token once", checked every run
        raise RuntimeError("uniscale/bpb.py: scored token counts differ from the encoded lengths; windowing bug")
    for (text, lang), d_nll, d_tokens in zip(group, doc_nll.tolist(), doc_tokens.tolist()):
        row = sums.setdefault(str(lang), [0.0, 0, 0, 0])
        row[0] += d_nll
        row[1] += d_tokens
        row[2] += len(text.encode('utf-8'))
        row[3] += 1
    return n_windows + len(items), seconds


def utf8_len(text, chunk=1 << 20):
    """UTF-8 bytes of text, encoded a chunk of characters at a time (no copy of a long document)."""
    return sum(len(text[i:i + chunk].encode('utf-8')) for i in range(0, len(text), chunk))


def score_long(model, tok, text, lang, dev, dt, ctx, ovl, max_tokens, sums, n_windows, seconds):
    """Score one long document as score_group would, holding a piece of it: its ids from
    long_text.encode_pieces, its windows from a WindowStream, scored GROUP_BATCHES forward batches
    at a time (whole batches of equal width, as score_group makes them for a document alone: the
    same forwards, the same sums in the same order)."""
    stream, rows = WindowStream(ctx, ovl, tok.bos_id), GROUP_BATCHES * max(1, max_tokens // ctx)
    doc_nll, doc_tokens, pending = 0.0, 0, []

    def flush(items):
        nonlocal doc_nll, doc_tokens, seconds
        t0 = time.time()
        nll, counts = score(model, items, dev, dt, max_tokens)
        seconds += time.time() - t0
        for v in nll.tolist():  # one addition per window, in window order, as np.add.at does
            doc_nll += v
        doc_tokens += int(counts.sum())

    for ids in encode_pieces(tok, text, STREAM_CHARS):  # pieces of about STREAM_CHARS characters
        pending += stream.push(ids)
        while len(pending) >= rows:
            flush(pending[:rows])
            n_windows, pending = n_windows + rows, pending[rows:]
    pending += stream.finish()
    for i in range(0, len(pending), rows):
        flush(pending[i:i + rows])
    n_windows += len(pending)
    if doc_tokens != stream.n:  # "every token once", checked every run
        raise RuntimeError("uniscale/bpb.py: scored token count differs from the encoded length; "
                           "windowing bug")
    row = sums.setdefault(str(lang), [0.0, 0, 0, 0])
    row[0] += doc_nll
    row[1] += doc_tokens
    row[2] += utf8_len(text)
    row[3] += 1
    return n_windows, seconds
