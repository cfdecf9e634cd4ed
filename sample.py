"""
Generations from fixed prompts, for one run or several side by side (the A/B study reads these next to the numbers).

    python sample.py --run=out/runs/gpt2-40M_btm-4k-16k_s1                      # -> that run's samples.md
    python sample.py --runs=out/runs/gpt2-40M_btm-4k-16k_s1,out/runs/gpt2-40M_bpe-16k_s1 --out=out/samples/ab.md
    python sample.py --run=out/runs/X --prompts=my_prompts.json --temperature=0 --max_new_tokens=200

Prompts: a .txt file, one prompt a line (blank lines and lines starting with # skipped; a literal \\n becomes a
newline), or a .json list of strings or of {"prompt": ...}. Each prompt is encoded after a BOS token, as the models
saw documents in training, and continued with model.generate (KV cache: linear, not quadratic, in length). A
generated BOS or EOS ends the sample: BOS is where the model starts a new document. Sampling is seeded per prompt
(seed + prompt number), so every run gets the same random stream for the same prompt, and one prompt's samples do not
depend on which prompts come before it. Writes the markdown (one table per prompt, a column per run, a row per
sample) and, beside it, the same samples as .json.
"""
import json
import os
import tempfile
import time

import torch

import configurator
from uniscale import hardware
from uniscale import atomic
from uniscale.atomic import write_atomic
from uniscale.run_folder import check_tokenizer, find_runs, load_checkpoint, load_model, read_run_config

# -----------------------------------------------------------------------------
# defaults (override with config/*.py or --key=value)
run = ''                              # one run folder
runs = []                             # several run folders side by side, comma-separated, globs allowed
prompts = 'prompts/ab_prompts.txt'    # .txt (one a line) or .json
out = ''                              # '' = {run}/samples.md for one run, out/samples/{a}_vs_{b}.md for several
num_samples = 2                       # per prompt and run
max_new_tokens = 128
temperature = 0.8                     # 0 = greedy
top_k = 200                           # 0 = no top-k cut
seed = 1337
device = ''                           # '' = cuda when available, else cpu
dtype = ''                            # '' = bfloat16 autocast on cuda, float32 on cpu
threads = 0                           # torch CPU threads; 0 = 1 below 10M non-embedding params,
                                      # else torch's default (uniscale/hardware.threads_for)
# -----------------------------------------------------------------------------
RANGES = {'num_samples': configurator.above(0), 'max_new_tokens': configurator.above(0),
          'temperature': configurator.at_least(0), 'top_k': configurator.at_least(0)}


def read_prompts(path):
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: prompt file not found; give --prompts=FILE (.txt one a line, or .json)")
    try:
        with open(path, encoding='utf-8') as f:
            if path.endswith('.json'):
                items = json.load(f)
                found = [p.get('prompt') if isinstance(p, dict) else p for p in items] if isinstance(items, list) \
                    else []
            else:
                found = [line.rstrip('\n').replace('\\n', '\n') for line in f
                         if line.strip() and not line.startswith('#')]
    except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError
        raise SystemExit(f"{path}: not a prompt file ({str(e)[:100]}); .txt one prompt a line, or .json a list of "
                         f"strings or of {{\"prompt\": ...}}") from None
    if not found or not all(isinstance(p, str) and p for p in found):
        raise SystemExit(f"{path}: no prompts, or an empty/non-text one; every prompt must be a non-empty string")
    return found


@torch.no_grad()
def complete(model, tok, prompt, n, max_new, temp, k, seed_, dev='cpu', dt='float32'):
    """n continuations of prompt (text only, prompt excluded), cut at the first generated BOS or EOS."""
    ids = [tok.bos_id] + tok.encode(prompt)
    idx = torch.tensor([ids] * n, dtype=torch.long, device=dev)
    torch.manual_seed(seed_)  # seeds the CUDA generators too
    with hardware.autocast(dev, dt):
        out = model.generate(idx, max_new, temperature=temp, top_k=k or None)
    texts = []
    for row in out[:, len(ids):].tolist():
        ends = [i for i, t in enumerate(row) if t in (tok.bos_id, tok.eos_id)]
        texts.append(tok.decode(row[:ends[0]] if ends else row))
    return texts


def sample_run(run_dir, tok, prompt_list, cfg, dev='cpu', dt='float32'):
    """{'run', 'step', 'tokenizer', 'samples': [[text per sample] per prompt]} for one run folder."""
    ckpt = load_checkpoint(run_dir)
    model = load_model(ckpt, tok, run_dir, dev)
    hardware.set_threads(cfg.get('threads', 0), model.num_params(non_embedding=True))
    t0 = time.time()
    samples = [complete(model, tok, p, cfg['num_samples'], cfg['max_new_tokens'], cfg['temperature'], cfg['top_k'],
                        cfg['seed'] + i, dev, dt) for i, p in enumerate(prompt_list)]
    print(f"{run_dir}: {len(prompt_list)} prompts x {cfg['num_samples']} samples in {time.time() - t0:.1f}s")
    return {'run': os.path.basename(os.path.normpath(run_dir)), 'run_dir': run_dir, 'step': ckpt.get('step'),
            'tokens_seen': ckpt.get('tokens_seen'), 'tokenizer': tok.name, 'samples': samples}


def cell(text):
    """Text as one markdown table cell: newlines as <br>, pipes and HTML escaped, edges kept visible."""
    text = text.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;').replace('|', '\\|')
    return '…' + text.replace('\r', '').replace('\n', '<br>')


def to_markdown(results, prompt_list, cfg):
    settings = (f"temperature {cfg['temperature']}, top_k {cfg['top_k'] or 'off'}, max_new_tokens "
                f"{cfg['max_new_tokens']}, seed {cfg['seed']} (+ prompt number), {cfg['num_samples']} per prompt")
    lines = [f"# Samples: {' vs '.join(r['run'] for r in results)}", '', settings, '',
             '| run | step | tokens seen | tokenizer |', '| --- | --- | --- | --- |']
    lines += [f"| {r['run']} | {r['step']} | {r['tokens_seen']} | {r['tokenizer']} |" for r in results]
    for i, prompt in enumerate(prompt_list):
        lines += ['', f"## {i + 1}. {prompt.replace(chr(10), ' ⏎ ')}", '',
                  '| # | ' + ' | '.join(r['run'] for r in results) + ' |',
                  '| --- |' + ' --- |' * len(results)]
        for j in range(cfg['num_samples']):
            lines.append(f"| {j + 1} | " + ' | '.join(cell(r['samples'][i][j]) for r in results) + ' |')
    return '\n'.join(lines) + '\n'


def output_path(run_dirs, cfg):
    if cfg['out']:
        return cfg['out']
    if len(run_dirs) == 1:
        return os.path.join(run_dirs[0], 'samples.md')
    names = '_vs_'.join(os.path.basename(os.path.normpath(r)) for r in run_dirs)
    return os.path.join('out', 'samples', f"{names[:200]}.md")


def check_writable(path):
    """Refuse in one line before any generation when the output's folder cannot be written (made if
    missing)."""
    try:
        os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
        with tempfile.TemporaryFile(dir=os.path.dirname(path) or '.'):
            pass
    except OSError as e:
        raise SystemExit(f"{path}: cannot write there ({e.strerror}); give --out=FILE.md in a "
                         f"writable folder") from None


def main(cfg):
    configurator.check_ranges(cfg, RANGES)
    dev, dt = hardware.resolve(cfg['device'], cfg['dtype'])  # a device this machine lacks: one line, before loading
    run_dirs = find_runs(([cfg['run']] if cfg['run'] else []) + list(cfg['runs']))
    if not run_dirs:
        raise SystemExit("sample.py: no runs; pass --run=out/runs/NAME or --runs=A,B (folders with ckpt.pt)")
    prompt_list = read_prompts(cfg['prompts'])
    toks = [check_tokenizer(r, read_run_config(r)) for r in run_dirs]  # every refusal before any generation
    path = output_path(run_dirs, cfg)
    check_writable(path)
    results = [sample_run(r, tok, prompt_list, cfg, dev, dt) for r, tok in zip(run_dirs, toks)]
    write_atomic(path, to_markdown(results, prompt_list, cfg))
    settings = {k: cfg[k] for k in ('num_samples', 'max_new_tokens', 'temperature', 'top_k', 'seed')}
    write_atomic(os.path.splitext(path)[0] + '.json',
                 json.dumps({'settings': settings, 'prompts': prompt_list, 'runs': results}, indent=2,
                            ensure_ascii=False))
    print(f"wrote {path}")
    return path, results


if __name__ == '__main__':
    atomic.set_output_setting('--out')  # a failed write's advice names it
    main(configurator.configure(globals()))
