"""
Bits per byte of trained checkpoints on held-out documents, overall and per language, plus optional multiple-choice
tasks scored by log-likelihood. Writes out/runs/{run}/eval.json (eval_{split}.json for a split other than test).

    python eval_bpb.py --run=out/runs/apertus-50M_bpe-80k_s1                 # the test split of the run's corpus
    python eval_bpb.py --runs='out/runs/*' --split=val --overlap=512          # every run; later windows keep context
    python eval_bpb.py --run=out/runs/X --tasks=tasks/demo_mc.jsonl --force=True

The definition (docs/DESIGN.md; uniscale/bpb.py computes it, for training's validation too): bpb = sum over every
scored token of -log2 p(token | context), divided by the UTF-8 bytes of the scored documents. Each document of out/corpus/{corpus}/{split}.jsonl is tokenized from its original
text (bytes counted on that text, never on a normalised form), fed after a BOS token, and every one of its tokens is
scored exactly once, the first one predicted from BOS alone. No EOS is appended or scored: prepare.py puts only a BOS
before each document, so the models never learned to predict an end, and scoring one would add a token whose bytes
are zero. A document longer than the context is scored in windows of `context` tokens: overlap=0 gives disjoint
windows (as lm-evaluation-harness's rolling log-likelihood); overlap=k makes each later window re-read at least k
tokens already scored, as context, so later tokens are predicted from more history (k = context-1: every token sees
the full context, at ~context times the cost). The choice is recorded in eval.json under `windowing`.

Multiple-choice tasks (`tasks`): a jsonl of {"context", "choices", "answer" (index), optional "lang"}; each choice is
scored as the sum of its tokens' log-likelihoods after BOS + context (context and choice encoded separately, so the
choice's tokens are exactly its own text's, even for tokenizers that merge across words); `acc` picks the most likely
choice, `acc_norm` the most likely per UTF-8 byte of the choice. Results go into eval.json under `tasks`.
For the standard multilingual suites (lm-evaluation-harness, every tokenizer kind, BTM included), after this script:
    python downstream.py --run=out/runs/X --tasks=belebele_eng_Latn,xnli_en    # -> eval.json tasks.{task}.{metric}
(downstream.py scores every request after exactly one BOS, as here; see its docstring.)
"""
import json
import os
import time

import numpy as np
import torch

import configurator
from uniscale import hardware
from uniscale.atomic import write_json_atomic
from uniscale.bpb import bits_per_byte, score
from uniscale.run_folder import (EVAL_SET_KEYS, check_tokenizer, checkpoint_state, eval_is_current, eval_path,
                                 find_runs, load_checkpoint, load_model, read_run_config, refuse_unfinished, split_path,
                                 wanted_eval_set)
from uniscale.splits import read_docs

# -----------------------------------------------------------------------------
# defaults (override with config/*.py or --key=value)
run = ''                     # one run folder, e.g. out/runs/apertus-50M_bpe-80k_s1
runs = []                    # several run folders, comma-separated, globs allowed: --runs='out/runs/*'
split = 'test'               # text split of the run's corpus
corpus = ''                  # '' = the run's corpus (config.json)
corpus_dir = 'out/corpus'    # text splits live in {corpus_dir}/{corpus}/{split}.jsonl
max_docs_per_lang = 0        # 0 = every document; else the first N of each language (recorded)
context = 0                  # tokens per window; 0 = the model's block_size
overlap = 0                  # tokens of already-scored context each later window re-reads; 0 = disjoint windows
batch_tokens = 8192          # tokens per forward pass (windows of similar length are batched together)
tasks = []                   # multiple-choice jsonl files, e.g. tasks/demo_mc.jsonl
device = ''                  # '' = cuda when available, else cpu
dtype = ''                   # '' = bfloat16 autocast on cuda, float32 on cpu; or 'float32' / 'bfloat16'
force = False                # re-evaluate runs already scored on this checkpoint with these settings
allow_unfinished = False     # score a checkpoint that is not the run's last (its eval.json then says finished: false)
# -----------------------------------------------------------------------------
RANGES = {'max_docs_per_lang': configurator.at_least(0), 'context': configurator.at_least(0),
          'overlap': configurator.at_least(0), 'batch_tokens': configurator.above(0)}


# ---------------------------------------------------------------- the documents (scored by uniscale/bpb.py)
def read_split(path, max_per_lang=0):
    """(texts, langs) of a jsonl split, the first max_per_lang documents of each language when > 0."""
    texts, langs, seen = [], [], {}
    for _, doc in read_docs(path):
        lang = doc.get('lang', 'und')
        seen[lang] = seen.get(lang, 0) + 1
        if max_per_lang and seen[lang] > max_per_lang:
            continue
        texts.append(doc['text'])
        langs.append(lang)
    return texts, langs


# ---------------------------------------------------------------- multiple choice
def read_task(path):
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: task file not found; give a jsonl of {{context, choices, answer}} lines")
    items = []
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            q = json.loads(line)
            if not (isinstance(q.get('choices'), list) and isinstance(q.get('answer'), int)
                    and 0 <= q['answer'] < len(q['choices']) and isinstance(q.get('context'), str)):
                raise SystemExit(f"{path}:{n}: needs 'context' (text), 'choices' (a list) and 'answer' (an index)")
            items.append(q)
    return items


def multiple_choice(model, tok, questions, dev='cpu', dt='float32', max_tokens=8192):
    """Accuracy and byte-length-normalised accuracy of picking the answer by log-likelihood (see the docstring)."""
    ctx = model.config.block_size
    items, lengths = [], []
    for q in questions:
        context_ids = [tok.bos_id] + tok.encode(q['context'])
        for choice in q['choices']:
            choice_ids = tok.encode(choice)
            full = (context_ids + choice_ids)[-(ctx + 1):]  # keep the end, as lm-eval does
            items.append((full, max(0, len(full) - 1 - len(choice_ids))))
            lengths.append(max(1, len(choice.encode('utf-8'))))
    nll, _ = score(model, items, dev, dt, max_tokens)
    correct, correct_norm, chance, per_lang, k = [], [], [], {}, 0
    for q in questions:
        m = len(q['choices'])
        loglik, nbytes = -nll[k:k + m], np.array(lengths[k:k + m])
        k += m
        correct.append(int(np.argmax(loglik)) == q['answer'])
        correct_norm.append(int(np.argmax(loglik / nbytes)) == q['answer'])
        chance.append(1 / m)
        per_lang.setdefault(q.get('lang', 'und'), []).append((correct[-1], correct_norm[-1]))
    return {'n': len(questions), 'acc': float(np.mean(correct)), 'acc_norm': float(np.mean(correct_norm)),
            'chance': float(np.mean(chance)),
            'per_lang': {lang: {'n': len(v), 'acc': float(np.mean([a for a, _ in v])),
                                'acc_norm': float(np.mean([b for _, b in v]))} for lang, v in sorted(per_lang.items())}}


# ---------------------------------------------------------------- one run, many runs
def task_name(path):
    return os.path.splitext(os.path.basename(path))[0]


_docs_cache = {}  # (split file, max per lang) -> (texts, langs): several runs on one split read it once


def evaluate_run(run_dir, c):
    """Evaluate one run folder with config c (refusals come before the model is built); write its eval file."""
    run_cfg = read_run_config(run_dir)
    tok = check_tokenizer(run_dir, run_cfg)
    path = split_path(run_dir, run_cfg, c)
    ckpt = load_checkpoint(run_dir)
    state = checkpoint_state(ckpt)
    refuse_unfinished(run_dir, state, c['allow_unfinished'])
    task_files = list(c['tasks'])
    questions = {task_name(t): read_task(t) for t in task_files}
    key = (os.path.abspath(path), c['max_docs_per_lang'])
    if key not in _docs_cache:
        _docs_cache.clear()
        _docs_cache[key] = read_split(path, c['max_docs_per_lang'])
    texts, langs = _docs_cache[key]
    dev, dt = hardware.resolve(c['device'], c['dtype'])
    model = load_model(ckpt, tok, run_dir, dev)
    name = os.path.basename(os.path.normpath(run_dir))
    result = bits_per_byte(model, tok, texts, langs, dev, dt, c['context'], c['overlap'], c['batch_tokens'],
                           desc=f"eval {name}")
    corpus = c['corpus'] or run_cfg.get('corpus')
    eval_set = {**wanted_eval_set(run_cfg, {**c, 'corpus': corpus}), 'n_docs': result['n_docs'],
                'context': result['windowing']['context']}
    out = {'run': name, 'run_dir': run_dir, 'arch': model.config.arch, 'preset': run_cfg.get('preset'),
           'n_params': model.num_params(), 'n_params_nonembedding': model.num_params(non_embedding=True),
           'flops_per_token': model.flops_per_token(),
           'tokenizer': tok.name, 'tokenizer_path': run_cfg.get('tokenizer'), 'tokenizer_hash': tok.hash,
           'vocab_size': tok.vocab_size, 'seed': run_cfg.get('seed'), 'corpus': corpus,
           'split': c['split'], 'split_sha256': eval_set['split_sha256'], 'max_docs_per_lang': c['max_docs_per_lang'],
           **result, 'eval_set': {k: eval_set[k] for k in EVAL_SET_KEYS},
           **state, 'tokens_seen': ckpt.get('tokens_seen'), 'bytes_seen': ckpt.get('bytes_seen'),
           'budget_unit': run_cfg.get('budget_unit'), 'device': dev, 'dtype': dt,
           'torch': torch.__version__, 'evaluated_at': time.strftime('%Y-%m-%dT%H:%M:%S')}
    if questions:
        out['tasks'] = {t: multiple_choice(model, tok, qs, dev, dt, c['batch_tokens']) for t, qs in questions.items()}
    write_json_atomic(eval_path(run_dir, c['split']), out)
    tasks_line = ''.join(f", {t} acc {r['acc']:.3f}" for t, r in out.get('tasks', {}).items())
    print(f"{name}: {c['split']} bpb {out['bpb']:.4f} ({out['n_docs']:,} docs, {out['n_tokens']:,} tokens, "
          f"{out['n_bytes']:,} bytes, {out['tok_per_s']:,.0f} tok/s){tasks_line}"
          + ('' if state['finished'] else f"  [UNFINISHED: step {state['step']} of {state['total_steps']}]"))
    return out


def main(cfg):
    """Evaluate every run asked for; returns {run_dir: eval dict}, None for a run skipped as already evaluated."""
    configurator.check_ranges(cfg, RANGES)
    results = {}
    dirs = find_runs(([cfg['run']] if cfg['run'] else []) + list(cfg['runs']))
    if not dirs:
        raise SystemExit("eval_bpb.py: no runs; pass --run=out/runs/NAME or --runs='out/runs/*' (folders with ckpt.pt)")
    for run_dir in dirs:
        if not cfg['force'] and eval_is_current(run_dir, cfg, [task_name(t) for t in cfg['tasks']],
                                                need_finished=False):
            print(f"skip {run_dir}: {os.path.basename(eval_path(run_dir, cfg['split']))} already scored this "
                  f"checkpoint with these settings (--force=True to redo)")
            results[run_dir] = None
            continue
        results[run_dir] = evaluate_run(run_dir, cfg)
    return results


if __name__ == '__main__':
    main(configurator.configure(globals()))
