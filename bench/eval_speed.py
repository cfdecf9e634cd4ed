"""
Scored tokens/s of eval_bpb.py against lm-evaluation-harness-style rolling log-likelihood through transformers (the
same model exported as GPT2LMHeadModel / ApertusForCausalLM, the same documents and disjoint windows), measured in
the same run, repeats interleaved. Both must give the same bits per byte; the script prints the relative difference.

    python bench/eval_speed.py                                   # CPU, float32, tiny presets, generated documents
    python bench/eval_speed.py --device=cuda --presets=apertus-100M,gpt2-40M --block_size=1024 --n_docs=2000

The peer does what lm-eval's HFLM.loglikelihood_rolling does: get_rolling_token_windows (context_len=1), each window
fed as one request, requests sorted by length and padded into batches of `hf_batch_size`, a full log_softmax over the
vocabulary, the continuation's log-probs gathered. lm-eval's default batch size is 1; `hf_batch_size` also runs the
peer with batches as large as ours, so the ratio is not only batching. Target: eval_bpb.py >= 2x the peer.
Random weights (speed does not depend on training); the tokenizer is a BPE trained on the fly on generated text.
"""
import math
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/, for machine.py
import machine  # noqa: E402
import torch
import torch.nn.functional as F
import transformers
from transformers import AutoModelForCausalLM

import configurator
from data.embedded import generate
from export_hf import hf_config, hf_state_dict
from model import GPT, make_config
import tokenizer
from uniscale import bpb, hardware

device = 'cpu'               # 'cpu' or 'cuda'
presets = ['gpt2-tiny', 'apertus-tiny']
vocab_size = 4096
block_size = 256             # context of the model and of the windows
n_docs = 200                 # generated documents (~300-2000 bytes each, 7 languages)
batch_tokens = 8192          # eval_bpb.py's tokens per forward
hf_batch_sizes = [1, 32]     # the peer's windows per forward: lm-eval's default 1, and about ours
repeats = 2                  # timed passes per side (best kept), interleaved
seed = 0



def rolling_windows(tokens, prefix, max_len):
    """lm-eval's get_rolling_token_windows with context_len=1: (input, predicted) pairs, every token once."""
    first = min(max_len, len(tokens))
    yield [prefix] + tokens[:first - 1], tokens[:first]
    predicted = first
    while predicted < len(tokens):
        n = min(len(tokens) - predicted, max_len)
        end = predicted + n
        yield tokens[end - max_len - 1:end - 1], tokens[end - n:end]
        predicted += n


@torch.no_grad()
def hf_rolling_nll(hf, docs_ids, bos, max_len, batch_size, dtype):
    """Total -ln p of every token, lm-eval style: requests sorted longest first, padded batches, full log_softmax."""
    requests = []
    for ids in docs_ids:
        for inp, pred in rolling_windows(ids, bos, max_len):
            context = inp[:len(inp) - (len(pred) - 1)]  # lm-eval's make_disjoint_window
            whole = (context + pred)[-(max_len + 1):]  # context + continuation; the last token is never fed
            requests.append((whole[:-1], len(pred), pred))
    requests.sort(key=lambda r: -len(r[0]))
    total = 0.0
    for i in range(0, len(requests), batch_size):
        batch = requests[i:i + batch_size]
        T = len(batch[0][0])
        x = torch.zeros(len(batch), T, dtype=torch.long)
        for row, (inp, _, _) in enumerate(batch):
            x[row, :len(inp)] = torch.tensor(inp)
        with hardware.autocast(device, dtype):
            logits = hf(input_ids=x.to(device)).logits
        logp = F.log_softmax(logits.float(), dim=-1)
        for row, (inp, n, pred) in enumerate(batch):
            cont = logp[row, len(inp) - n:len(inp)]
            total -= cont.gather(1, torch.tensor(pred, device=device)[:, None]).sum().item()
    return total


def timed(fn):
    if device == 'cuda':
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = fn()
    if device == 'cuda':
        torch.cuda.synchronize()
    return out, time.perf_counter() - t0


def bench_preset(preset, tok, texts, langs):
    torch.manual_seed(seed)
    cfg = make_config(preset, vocab_size=tok.vocab_size, block_size=block_size)
    ours = GPT(cfg).to(device).eval()
    hf = AutoModelForCausalLM.from_config(hf_config(cfg), attn_implementation='sdpa', dtype=torch.float32)
    missing, unexpected = hf.load_state_dict(hf_state_dict(cfg, ours.state_dict()), strict=False)
    assert not unexpected and set(missing) <= {'lm_head.weight'}, (missing, unexpected)  # gpt2's is tied
    hf.to(device).eval()
    dtype = hardware.resolve(device)[1]
    docs_ids = tok.encode_batch(texts)
    n_tokens = sum(len(d) for d in docs_ids)
    n_bytes = sum(len(t.encode('utf-8')) for t in texts)
    sides = {'eval_bpb.py': lambda: bpb.bits_per_byte(ours, tok, texts, langs, device, dtype,
                                                           max_tokens=batch_tokens)['nll_nats']}
    for bs in hf_batch_sizes:
        sides[f'transformers rolling, batch {bs}'] = lambda bs=bs: hf_rolling_nll(hf, docs_ids, tok.bos_id,
                                                                                  block_size, bs, dtype)
    best, nats = {k: math.inf for k in sides}, {}
    for name, fn in sides.items():  # warmup
        timed(fn)
    for _ in range(repeats):
        for name, fn in sides.items():
            nats[name], dt = timed(fn)
            best[name] = min(best[name], dt)
    ref = nats['eval_bpb.py']
    print(f"\n{preset} ({ours.num_params() / 1e6:.2f}M params, vocab {tok.vocab_size}, block {block_size}, {dtype}): "
          f"{len(texts)} docs, {n_tokens:,} tokens, {n_bytes:,} bytes, bpb {ref / math.log(2) / n_bytes:.5f}")
    rows = []
    for name in sides:
        tps = n_tokens / best[name]
        rel = abs(nats[name] - ref) / ref
        ratio = best[name] / best['eval_bpb.py']
        print(f"  {name:32s} {tps:10,.0f} tok/s   {best[name]:7.2f} s   eval_bpb.py is {ratio:5.2f}x faster   "
              f"|bpb diff| {rel:.1e} rel")
        rows.append((name, tps, ratio, rel))
    return rows


def main():
    torch.manual_seed(seed)
    docs = list(generate.generate_documents(2_000_000, seed=seed + 1))
    tok_dir = os.path.join(tempfile.mkdtemp(prefix='eval_speed_'), f'bpe-{vocab_size}')
    tok = tokenizer.train_bpe([d['text'] for d in docs[n_docs:]], vocab_size, tok_dir)
    texts, langs = [d['text'] for d in docs[:n_docs]], [d['lang'] for d in docs[:n_docs]]
    print(f"machine: {machine.describe(device)}, {torch.get_num_threads()} threads; "
          f"transformers {transformers.__version__}")
    for preset in presets:
        bench_preset(preset, tok, texts, langs)


if __name__ == '__main__':
    config = configurator.configure(globals())
    main()
