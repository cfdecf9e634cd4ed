"""
SuperBPE speed against plain Hugging Face BPE measured in the same run, on the same text (a JSON
list of documents):
(a) training CPU seconds (all threads: getrusage in a forked child) and peak RSS: SuperBPE t ->
    vocab_size (btm.py --method=superbpe's train; stage 1 from one pass, stage1_one_pass) vs a bare
    `tokenizers` BpeTrainer of vocab_size under the shared pre-tokenization (target <= 1.5x CPU)
(b) encoding MB per CPU second of the SuperBPE's stock tokenizer.json vs that BPE's
    (encode_batch_fast of every document; target >= 1.0x)

    python bench/superbpe_speed.py                    # /tmp/text10.json, t = 12,288 -> 16,384
    python bench/superbpe_speed.py --text=/tmp/text100.json --n_base=12288 --vocab_size=16384
"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/, for machine.py
import machine  # noqa: E402
from btm_speed import in_child  # noqa: E402  (a forked child: result, CPU-s, peak RSS)
import tokenizers  # noqa: E402
from tokenizers import Regex, decoders, models, pre_tokenizers, trainers  # noqa: E402

import btm  # noqa: E402
import configurator  # noqa: E402
import tokenizer  # noqa: E402
from uniscale import superbpe as sb  # noqa: E402
from uniscale.tokenization import PRETOKENIZE_PATTERN  # noqa: E402

text = '/tmp/text10.json'  # a JSON list of distinct documents (bench/RESULTS.md says which)
n_base = 12288             # SuperBPE's transition point t
vocab_size = 16384


def plain_bpe(texts, out):
    tok = tokenizers.Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_PATTERN), 'isolated'),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2,
                                  special_tokens=['<|bos|>', '<|eos|>'], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    tok.save(out)
    return tok.get_vocab_size()


def stage1(texts, out):
    """SuperBPE's stage 1 as btm.train runs it: one pass (superbpe.stage1_one_pass), else
    train_bpe."""
    tok = sb.stage1_one_pass(texts, n_base, out, 2, None, '', None, None,
                             btm.learn_merges_detailed,
                             (tokenizer.bpe_from_word_counts, tokenizer.trainer_words))
    return (tok or tokenizer.train_bpe(texts, n_base, out)).vocab_size


def superbpe(texts, out):
    tok = btm.train(texts, out, n_base, vocab_size, method='superbpe')
    return tok.meta['train']['seconds']


def encode_all(path, texts):
    tok = tokenizers.Tokenizer.from_file(path)
    return sum(len(e.ids) for e in tok.encode_batch_fast(texts, add_special_tokens=False))


def main():
    with open(text, encoding='utf-8') as f:
        texts = json.load(f)
    n_mb = sum(len(t.encode('utf-8')) for t in texts) / 1e6
    tmp = tempfile.mkdtemp(prefix='superbpe_speed_')
    try:
        bpe_json, sb_dir = os.path.join(tmp, 'bpe.json'), os.path.join(tmp, 'superbpe')
        _, bpe_cpu, bpe_rss = in_child(plain_bpe, texts, bpe_json)
        seconds, sb_cpu, sb_rss = in_child(superbpe, texts, sb_dir)
        _, s1_cpu, s1_rss = in_child(stage1, texts, os.path.join(tmp, 'stage1'))
        n_bpe, bpe_enc = in_child(encode_all, bpe_json, texts)[:2]
        n_sb, sb_enc = in_child(encode_all, os.path.join(sb_dir, 'tokenizer.json'), texts)[:2]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(machine.describe(), f"load {os.getloadavg()}")
    print(f"text {text}: {len(texts):,} docs, {n_mb:.1f} MB; t = {n_base:,} -> {vocab_size:,}")
    print(f"training: plain HF BPE-{vocab_size} {bpe_cpu:.2f} CPU-s ({bpe_rss:.0f} MiB peak), "
          f"SuperBPE {sb_cpu:.2f} CPU-s ({sb_rss:.0f} MiB; wall by phase {seconds}); ratio "
          f"{sb_cpu / bpe_cpu:.2f}x (target <= 1.5x), memory {sb_rss / bpe_rss:.2f}x")
    print(f"  stage 1 alone (one pass, else train_bpe; to {n_base:,}, apart) {s1_cpu:.2f} CPU-s "
          f"({s1_rss:.0f} MiB), so stage 2 ~{sb_cpu - s1_cpu:.2f} CPU-s")
    print(f"encoding: HF BPE {n_mb / bpe_enc:.2f} MB/CPU-s ({n_bpe / n_mb / 1e6:.3f} tokens/byte), "
          f"SuperBPE stock {n_mb / sb_enc:.2f} MB/CPU-s ({n_sb / n_mb / 1e6:.3f} tokens/byte); "
          f"ratio {bpe_enc / sb_enc:.2f}x (target >= 1.0x)")


if __name__ == '__main__':
    configurator.configure(globals())
    main()
