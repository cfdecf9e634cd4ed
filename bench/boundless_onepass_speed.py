"""
BoundlessBPE training from one pass over the text (phase 1 merged from the pass's word counts by
the shared engine, issue 28) against plain Hugging Face BPE of the same final vocabulary and
against its two-pass path (phase 1 by tokenizer.train_bpe, then the runs), each training in its
own fresh child process (CPU seconds of the child, threads included, and its peak RSS), the arms
in turn for `rounds` rounds, each arm's least CPU kept; every number a ratio to plain HF BPE
measured in the same run (target: <= 1.5x CPU, <= 1.5x peak RSS).

    python bench/boundless_onepass_speed.py --text=/tmp/text10.json   # a JSON list of documents
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

text = '/tmp/text10.json'    # a JSON list of distinct documents
vocab_size = 16384
n_base = 12288               # BoundlessBPE's phase 1 (config/boundless_tinystories.py's)
min_frequency = 2
rounds = 2
arms = ['hf-bpe', 'one-pass', 'two-pass']
child = ''                   # set by the parent: the arm this child process trains


def train(arm, texts, out):
    import tokenizers
    from tokenizers import decoders, models, pre_tokenizers, trainers
    import btm
    import tokenizer
    from uniscale import boundless
    if arm == 'hf-bpe':
        tok = tokenizers.Tokenizer(models.BPE())
        tok.pre_tokenizer = tokenizer._hf_pre_tokenizer(byte_level=True)
        tok.decoder = decoders.ByteLevel()
        tok.train_from_iterator(texts, trainers.BpeTrainer(
            vocab_size=vocab_size, min_frequency=min_frequency,
            special_tokens=[tokenizer.BOS, tokenizer.EOS],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
        return {}
    hooks = ((tokenizer.bpe_from_word_counts, tokenizer.trainer_words) if arm == 'one-pass'
             else None)
    boundless.train_into(out, lambda: iter(texts), n_base, vocab_size, min_frequency, 0, '',
                         'boundless', False, 1000, {}, None, None, tokenizer.train_bpe,
                         btm.learn_merges_detailed, one_pass_hooks=hooks)
    meta = json.load(open(os.path.join(out, 'meta.json')))
    merges = open(os.path.join(out, 'merges.json'), 'rb').read()
    return {'seconds': meta['train']['seconds'], 'hash': meta['hash'],
            'n_merges_bytes': len(merges)}


def run_child(arm):
    with open(text) as f:
        texts = json.load(f)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    with tempfile.TemporaryDirectory() as d:
        out = train(arm, texts, os.path.join(d, 'b'))
    r = resource.getrusage(resource.RUSAGE_SELF)
    cpu = r.ru_utime + r.ru_stime - r0.ru_utime - r0.ru_stime
    print(json.dumps({'cpu': cpu, 'rss_mib': r.ru_maxrss / 1024, **out}))


def main():
    best, loads = {}, []
    for _ in range(rounds):
        for arm in arms:
            loads.append(os.getloadavg()[0])
            w = time.time()
            out = subprocess.run([sys.executable, __file__, f'--child={arm}', f'--text={text}',
                                  f'--n_base={n_base}', f'--vocab_size={vocab_size}'],
                                 capture_output=True, text=True, check=True, cwd=ROOT)
            got = json.loads(out.stdout.strip().splitlines()[-1])
            got['wall'] = time.time() - w
            print(arm, got, flush=True)
            if arm not in best or got['cpu'] < best[arm]['cpu']:
                best[arm] = got
    hf = best['hf-bpe']
    for arm in arms[1:]:
        b = best[arm]
        print(f"{arm}: {b['cpu']:.2f} CPU-s vs plain HF BPE-{vocab_size} {hf['cpu']:.2f}: "
              f"{b['cpu'] / hf['cpu']:.2f}x CPU; peak RSS {b['rss_mib']:.0f} vs "
              f"{hf['rss_mib']:.0f} MiB: {b['rss_mib'] / hf['rss_mib']:.2f}x; "
              f"phases {b['seconds']}")
    if 'one-pass' in best and 'two-pass' in best:
        print(f"one-pass and two-pass folders identical: "
              f"{best['one-pass']['hash'] == best['two-pass']['hash']}")
    print(f"load average at each child's start: {min(loads):.2f}-{max(loads):.2f}")


if __name__ == '__main__':
    import configurator
    configurator.configure(globals())
    run_child(child) if child else main()
