"""
BoundlessBPE speed against plain Hugging Face `tokenizers` BPE of the same final vocabulary,
measured in the same run on the same text (issue 28: training <= 1.5x plain HF BPE's CPU seconds;
encoding speed is reported):
(a) training CPU seconds (this process, Rust threads included): plain HF BpeTrainer (the shared
    Split pre-tokenizer + ByteLevel, no Python pass over the text) vs `btm.train(method=
    'boundless')` (phase 1 tokenizer.train_bpe to n_base, phase 2 over the distinct runs)
(b) encoding MB per CPU second of all the text: HF encode_batch_fast of that BPE vs the
    BoundlessBPE encoder

    python bench/boundless_speed.py --text=/tmp/text10.json          # a JSON list of documents
"""
import json
import os
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tokenizers  # noqa: E402
from tokenizers import decoders, models, pre_tokenizers, trainers  # noqa: E402

import btm  # noqa: E402
import configurator  # noqa: E402
import tokenizer  # noqa: E402

text = '/tmp/text10.json'   # a JSON list of distinct documents
vocab_size = 16384
n_base = 12288              # BoundlessBPE's phase 1 (config/boundless_tinystories.py's)
min_frequency = 2


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(f, *a, **k):
    c, w = cpu(), time.time()
    out = f(*a, **k)
    return out, cpu() - c, time.time() - w


def plain_hf_bpe(texts):
    tok = tokenizers.Tokenizer(models.BPE())
    tok.pre_tokenizer = tokenizer._hf_pre_tokenizer(byte_level=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                  special_tokens=[tokenizer.BOS, tokenizer.EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return tok


if __name__ == '__main__':
    configurator.configure(globals())
    with open(text) as f:
        texts = json.load(f)
    mb = sum(len(t.encode('utf-8')) for t in texts) / 1e6
    print(f"{text}: {len(texts):,} documents ({len(set(texts)):,} distinct), {mb:.2f} MB; load "
          f"{os.getloadavg()[0]:.2f}")
    hf, hf_cpu, hf_wall = timed(plain_hf_bpe, texts)
    with tempfile.TemporaryDirectory() as d:
        bl, bl_cpu, bl_wall = timed(btm.train, texts, os.path.join(d, 'boundless'), n_base=n_base,
                                    vocab_size=vocab_size, min_frequency=min_frequency,
                                    method='boundless')
        print(f"(a) training: plain HF BPE-{vocab_size} {hf_cpu:.2f} CPU-s ({hf_wall:.2f} wall); "
              f"BoundlessBPE {n_base}->{vocab_size} {bl_cpu:.2f} CPU-s ({bl_wall:.2f} wall): "
              f"{bl_cpu / hf_cpu:.2f}x CPU, {bl_wall / hf_wall:.2f}x wall; its seconds "
              f"{bl.meta['train']['seconds']}")
        _, he_cpu, _ = timed(lambda: hf.encode_batch_fast(texts, add_special_tokens=False))
        _, be_cpu, be_wall = timed(bl.encode_batch, texts)
        print(f"(b) encoding: HF BPE {mb / he_cpu:.2f} MB/CPU-s; BoundlessBPE {mb / be_cpu:.2f} "
              f"MB/CPU-s ({mb / be_wall:.2f} MB/s wall): {he_cpu / be_cpu:.2f}x HF's; load "
              f"{os.getloadavg()[0]:.2f}")
