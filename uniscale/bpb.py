"""
Bits per byte: the one scorer. Training's validation (train.py), eval_bpb.py and the preflight all score through
`score`, so a number in log.jsonl, in eval.json and in the preflight comes from the same code.

    bpb = sum over every scored token of -log2 p(token | context) / UTF-8 bytes of the scored documents

Each document is scored after a BOS token, every one of its tokens exactly once (the first predicted from BOS
alone), with no EOS; a document longer than the context is scored in windows (`windows`). This is always the plain
-log p of the model's softmax: model.token_losses (the training loss a fork may change) never enters it.
"""
import math
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from uniscale.hardware import autocast

LN2 = math.log(2)


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


@torch.no_grad()
def score(model, items, dev, dt, max_tokens=8192, desc=None):
    """Sum of -ln p over the scored tokens of each item. An item is (ids, skip): ids[:-1] is fed to the model,
    ids[1:] are the targets, of which the first `skip` are context, not scored. Items are sorted by length and
    batched up to max_tokens per forward. Returns (nll_nats float64 array, n_scored int array), in item order.
    Each item holds one document, so the model scores with plain causal attention (no document mask)."""
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
                logits, _ = model(x)
            tok_nll = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), ignore_index=-1, reduction='none')
            nll[batch] = tok_nll.view(len(batch), T).double().sum(1).cpu().numpy()
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
    ctx = ctx or model.config.block_size
    if ctx > model.config.block_size:
        raise SystemExit(f"config error: context={ctx} exceeds the model's block_size {model.config.block_size}")
    encoded = tok.encode_batch(texts)
    items, owner = [], []
    for d, ids in enumerate(encoded):
        full = [tok.bos_id] + list(ids)
        for start, first, end in windows(len(ids), ctx, ovl):
            items.append((full[start:end + 1], first - start))
            owner.append(d)
    t0 = time.time()
    nll, counts = score(model, items, dev, dt, max_tokens, desc)
    seconds = time.time() - t0
    doc_nll, doc_tokens = np.zeros(len(texts)), np.zeros(len(texts), dtype=np.int64)
    np.add.at(doc_nll, owner, nll)
    np.add.at(doc_tokens, owner, counts)
    n_tokens_encoded = np.array([len(ids) for ids in encoded], dtype=np.int64)
    if not np.array_equal(doc_tokens, n_tokens_encoded):  # the definition's "every token once", checked every run
        raise RuntimeError("uniscale/bpb.py: scored token counts differ from the encoded lengths; windowing bug")
    doc_bytes = np.array([len(t.encode('utf-8')) for t in texts], dtype=np.int64)

    def summary(mask):
        n_bytes, n_tok, total = int(doc_bytes[mask].sum()), int(doc_tokens[mask].sum()), float(doc_nll[mask].sum())
        return {'bpb': total / LN2 / max(n_bytes, 1), 'nll_per_token': total / max(n_tok, 1), 'nll_nats': total,
                'n_tokens': n_tok, 'n_bytes': n_bytes, 'n_docs': int(mask.sum()),
                'bytes_per_token': n_bytes / max(n_tok, 1)}
    langs = np.array(langs)
    result = summary(np.ones(len(texts), dtype=bool))
    result['per_lang'] = {lang: summary(langs == lang) for lang in sorted(set(langs.tolist()))}
    result['windowing'] = {'context': ctx, 'overlap': ovl, 'mode': 'disjoint' if ovl == 0 else 'overlapping',
                           'n_windows': len(items), 'bos_context': True, 'eos_appended': False}
    result['eval_seconds'] = seconds
    result['tok_per_s'] = result['n_tokens'] / max(seconds, 1e-9)
    return result
