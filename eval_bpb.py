"""
Bits per byte of trained checkpoints on held-out documents, overall and per language, plus optional multiple-choice
tasks scored by log-likelihood. Writes out/runs/{run}/eval.json (eval_{split}.json for a split other than test,
eval_files.json for --files).

    python eval_bpb.py --run=out/runs/apertus-50M_bpe-80k_s1                 # the test split of the run's corpus
    python eval_bpb.py --runs='out/runs/*' --split=val --overlap=512          # every run; later windows keep context
    python eval_bpb.py --run=out/runs/X --tasks=tasks/demo_mc.jsonl --force=True
    python eval_bpb.py --run=out/runs/X --files='held_out/*.jsonl'            # any text, without preparing it
    python eval_bpb.py --run=out/runs/X --flores_dir=flores200_dataset --flores_langs=eng_Latn

The definition (docs/DESIGN.md; uniscale/bpb.py computes it, for training's validation too): bpb = sum over every
scored token of -log2 p(token | context), divided by the UTF-8 bytes of the scored documents. Each document of
out/corpus/{corpus}/{split}.jsonl is tokenized from its original text (bytes counted on that text, never on a
normalised form), fed after a BOS token, and every one of its tokens is scored exactly once, the first one predicted
from BOS alone. No EOS is appended or scored: prepare.py puts only a BOS before each document, so the models never
learned to predict an end, and scoring one would add a token whose bytes are zero. A document longer than the
context is scored in windows of `context` tokens: overlap=0 gives disjoint windows (as lm-evaluation-harness's
rolling log-likelihood); overlap=k makes each later window re-read at least k tokens already scored, as context, so
later tokens are predicted from more history (k = context-1: every token sees the full context, at ~context times
the cost). The choice is recorded in eval.json under `windowing`.
The documents are streamed: read once for their hashes, count and bad lines (before a model is loaded), then again
while scoring, a group at a time (uniscale/bpb.py score_documents), so memory does not grow with the split; a file
that changed between the two readings is refused, nothing written.

Results accumulate (uniscale/eval_file.py): each scoring is an entry of the eval file's `results`, identified by the
run's `run_id`, the checkpoint step, and the eval set with the sha256 of the text actually read (a split edited
after prepare.py is refused; an edited --files file is a new set, never "already scored"); the latest one is also at
the top level. Scoring again replaces only the entry of the same identity: other sets, eval_bpb.py's tasks and
downstream.py's lm-eval results stay. `--files` takes a glob or comma list of .jsonl ({"text", optional "lang"} a
line) and .txt files (one document each; lang 'und'); its eval set is corpus 'files' with each file's sha256.
`--flores_dir` scores FLORES-200 from a local folder in its own layout
({dir}/{split}/{lang}.{split}, one sentence a line; `flores_split` dev or devtest, `flores_langs` []
= every language there): each sentence a document tagged with its language, hashed like --files;
its eval set is corpus 'flores200', split dev or devtest (uniscale/eval_sets.py; offline only).
Both go to eval_files.json.
It says in one line, and records as `n_docs_in_train`, how many scored documents (by text sha256)
are in the run's training split (null when that split is not here or not the one the run trained
from). A document longer than uniscale/bpb.py's STREAM_CHARS is encoded and scored a piece at a
time: memory is flat in its length too.

Multiple-choice tasks (`tasks`): a jsonl of {"context", "choices", "answer" (index), optional "lang"}; each choice is
scored as the sum of its tokens' log-likelihoods after BOS + context (context and choice encoded separately, so the
choice's tokens are exactly its own text's, even for tokenizers that merge across words); `acc` picks the most likely
choice, `acc_norm` the most likely per UTF-8 byte of the choice. Results go into eval.json under `tasks`, each with
the run_id, step and the task file's sha256 it was scored with.
For the standard multilingual suites (lm-evaluation-harness, every tokenizer kind, BTM included), after this script:
    python downstream.py --run=out/runs/X --tasks=belebele_eng_Latn,xnli_en    # -> eval.json tasks.{task}.{metric}
(downstream.py scores every request after exactly one BOS, as here; see its docstring.)
"""
import hashlib
import json
import os
import time

import numpy as np
import torch

import configurator
from uniscale import atomic
from uniscale import eval_file, eval_sets, hardware, identity
from uniscale.bpb import score, score_documents
from uniscale.code_identity import code_identity, code_record
from uniscale.run_folder import (check_tokenizer, eval_path, find_runs, load_checkpoint, load_model,
                                 read_run_config, refuse_unfinished, run_state, split_path, wanted_eval_set)
from uniscale.splits import BadLine, parse_doc

# -----------------------------------------------------------------------------
# defaults (override with config/*.py or --key=value)
run = ''                     # one run folder, e.g. out/runs/apertus-50M_bpe-80k_s1
runs = []                    # several run folders, comma-separated, globs allowed: --runs='out/runs/*'
split = 'test'               # text split of the run's corpus
corpus = ''                  # '' = the run's corpus (config.json)
corpus_dir = 'out/corpus'    # text splits live in {corpus_dir}/{corpus}/{split}.jsonl
files = ''                   # instead of a split: .jsonl/.txt files, a glob or comma list (-> eval_files.json)
flores_dir = ''              # instead of a split: FLORES-200's folder ({dir}/dev/eng_Latn.dev ...)
flores_split = 'devtest'     # 'dev' | 'devtest' (recorded as the eval set's split)
flores_langs = []            # FLORES languages, e.g. eng_Latn,deu_Latn; [] = every one there
max_docs_per_lang = 0        # 0 = every document; else the first N of each language (recorded)
context = 0                  # tokens per window; 0 = the model's block_size
overlap = 0                  # tokens of already-scored context each later window re-reads; 0 = disjoint windows
batch_tokens = 8192          # tokens per forward pass (windows of similar length are batched together)
tasks = []                   # multiple-choice jsonl files, e.g. tasks/demo_mc.jsonl
device = ''                  # '' = cuda when available, else cpu
dtype = ''                   # '' = bfloat16 autocast on cuda, float32 on cpu; or 'float32' / 'bfloat16'
threads = 0                  # torch CPU threads; 0 = 1 below 10M non-embedding params,
                             # else torch's default (uniscale/hardware.threads_for)
force = False                # re-evaluate runs already scored on this checkpoint with these settings
allow_unfinished = False     # score a checkpoint that is not the run's last (its eval.json then says finished: false)
# -----------------------------------------------------------------------------
RANGES = {'max_docs_per_lang': configurator.at_least(0), 'context': configurator.at_least(0),
          'overlap': configurator.at_least(0), 'batch_tokens': configurator.above(0)}


# ---------------------------------------------------------------- the documents (scored by uniscale/bpb.py)
def file_docs(path, h=None):
    """The (text, lang) documents of a jsonl file (one {"text", optional "lang"} a line, blank lines skipped) or a .txt
    file (one document, lang 'und'), yielded as they are read; h (a hashlib object) gets exactly the bytes read."""
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: no such file; check the path")
    if eval_sets.is_flores(path):  # --flores_dir: a sentence a line (--files takes no such file)
        yield from eval_sets.flores_docs(path, h)
        return
    with open(path, 'rb') as f:
        if path.endswith('.txt'):
            data = f.read()
            if h is not None:
                h.update(data)
            try:
                text = data.decode('utf-8')
            except UnicodeDecodeError as e:
                raise SystemExit(f"{path}: not UTF-8 text (byte {e.start}); convert it to UTF-8") from None
            data = None  # a long document's bytes are not held while it is scored
            yield text, 'und'
            return
        for line_no, line in enumerate(f, 1):
            if h is not None:
                h.update(line)
            if not line.strip():
                continue
            line = utf8_or_bytes(line)  # its bytes go: a long document's line is held once, as text
            try:
                doc = parse_doc(line, path, line_no)
            except BadLine as e:
                raise SystemExit(str(e)) from None
            line = None  # a long document's line is not held while it is scored
            yield doc['text'], str(doc.get('lang') or 'und')


def utf8_or_bytes(line):
    """The line decoded, or its bytes where they are no UTF-8 (parse_doc names the bad byte)."""
    try:
        return line.decode('utf-8')
    except UnicodeDecodeError:
        return line


def set_docs(paths, max_per_lang=0, hashes=None):
    """The documents of the files in order (the first max_per_lang of each language when > 0), yielded one at a
    time; every byte of every file is read (and fed to hashes[path] when given), kept documents or not."""
    seen = {}
    for path in paths:
        for text, lang in file_docs(path, hashes[path] if hashes else None):
            seen[lang] = seen.get(lang, 0) + 1
            if not max_per_lang or seen[lang] <= max_per_lang:
                yield text, lang


def scan(paths, max_per_lang=0, doc_hashes=None):
    """One pass over the set before anything is scored: (each file's sha256, number of documents
    kept, whether any holds text). A bad line is refused here, before a model is loaded. doc_hashes
    (a dict): counts each kept document's text sha256."""
    hashes = {p: hashlib.sha256() for p in paths}
    n_docs, any_text = 0, False
    for text, _ in set_docs(paths, max_per_lang, hashes):
        n_docs += 1
        any_text = any_text or bool(text)
        if doc_hashes is not None:
            key = bytes.fromhex(identity.text_sha256(text))
            doc_hashes[key] = doc_hashes.get(key, 0) + 1
    return [hashes[p].hexdigest() for p in paths], n_docs, any_text


def docs_in_train(run_cfg, c, doc_hashes):
    """(how many of the scored documents, by text sha256 (doc_hashes: {digest: count}), are in the
    run's training split, or None; the line saying so). The split is
    {corpus_dir}/{corpus}/train.jsonl, trusted only when its sha256 is the one the run trained from
    (config.json inputs.train.text_sha256); read as a stream."""
    corpus = run_cfg.get('corpus')
    path = os.path.join(run_cfg.get('corpus_dir') or c['corpus_dir'], corpus or '?', 'train.jsonl')
    trained = ((run_cfg.get('inputs') or {}).get('train') or {}).get('text_sha256')
    unknown = lambda why: (None, f"eval_bpb.py: unknown how many scored documents the run trained "
                                 f"on: {why} (n_docs_in_train: null)")
    if not trained:
        return unknown("its config.json records no training text sha256 (inputs.train.text_sha256)")
    if not corpus or not os.path.isfile(path):
        return unknown(f"{path} is not here")
    h, left, found = hashlib.sha256(), dict(doc_hashes), 0
    with open(path, 'rb') as f:
        for line_no, line in enumerate(f, 1):
            h.update(line)
            if not line.strip():
                continue
            try:
                text = parse_doc(line, path, line_no)['text']
            except BadLine:
                continue  # the sha256 below decides whether this file is the one trained on
            found += left.pop(bytes.fromhex(identity.text_sha256(text)), 0)
    if h.hexdigest() != trained:
        return unknown(f"{path} (sha256 {h.hexdigest()[:12]}) is not the split the run trained on "
                       f"({trained[:12]})")
    n = sum(doc_hashes.values())
    return found, (f"eval_bpb.py: {found:,} of the {n:,} scored documents are in the run's "
                   f"training split ({path})")


def checked_docs(paths, max_per_lang, shas):
    """set_docs for scoring, streamed (memory flat in the set's size), its bytes hashed again: a file that changed
    after the scan is refused once read, so no eval file records a score of text other than its hash says."""
    hashes = {p: hashlib.sha256() for p in paths}
    yield from set_docs(paths, max_per_lang, hashes)
    for path, sha in zip(paths, shas):
        if hashes[path].hexdigest() != sha:
            raise SystemExit(f"{path}: changed while it was being scored (sha256 {sha[:12]} -> "
                             f"{hashes[path].hexdigest()[:12]}); nothing written; score it again once it is complete")


def documents(run_dir, run_cfg, c):
    """(docs, eval_set, eval file path) of what this evaluation scores: the run's split (its sha256 checked against
    the one prepare.py recorded) or --files, read once here (hashes, count, bad lines); docs() streams the documents
    for scoring. Refuses a set with no documents or no text."""
    if eval_sets.is_external(c):
        flag = '--flores_dir' if c['flores_dir'] else '--files'
        if c['corpus'] or c['split'] != 'test' or (c['files'] and c['flores_dir']):
            raise SystemExit(f"eval_bpb.py: {flag} scores the files given, not a corpus split; "
                             f"give one of --files, --flores_dir and drop --corpus/--split")
        paths = eval_sets.set_paths(c)
        doc_hashes = {}  # text sha256 -> count, for docs_in_train
        shas, n_docs, any_text = scan(paths, c['max_docs_per_lang'], doc_hashes)
        # identity is content: the files' hashes (uniscale/eval_sets.external_set)
        eval_set = {**eval_sets.external_set(run_cfg, c, paths, shas),
                    'doc_hashes': doc_hashes}  # evaluate_run takes it out: not the set's identity
        where, out = f"{flag}={c['flores_dir'] or c['files']}", eval_sets.eval_file_of(run_dir, c)
    else:
        path = split_path(run_dir, run_cfg, c)
        paths = [os.path.abspath(path)]
        shas, n_docs, any_text = scan(paths, c['max_docs_per_lang'])
        sha = shas[0]
        eval_set = wanted_eval_set(run_cfg, {**c, 'corpus': c['corpus'] or run_cfg.get('corpus')})
        recorded = eval_set['split_sha256']
        if recorded and recorded != sha:
            raise SystemExit(f"{path}: its sha256 is {sha[:12]} but prepare.py recorded {recorded[:12]} in meta.json: "
                             f"the split was edited after prepare.py; restore it, or run "
                             f"prepare.py with the settings that made it: it names the command "
                             f"that remakes it")
        if not recorded:
            print(f"note: {path}: meta.json records no sha256; scoring it as {sha[:12]} (the hash of its bytes)")
        eval_set['split_sha256'] = sha
        where, out = path, eval_path(run_dir, c['split'])
    if not any_text:  # nothing to score would be written as bpb 0
        what = f"{n_docs} documents but no text" if n_docs else 'no documents'
        limit = f" (max_docs_per_lang={c['max_docs_per_lang']})" if c['max_docs_per_lang'] else ''
        raise SystemExit(f"{where}: {what} to score{limit}; give a set that holds text")
    eval_set['n_docs'] = n_docs
    ctx = eval_set['context']
    if ctx and not 0 <= c['overlap'] < ctx:  # before the model is loaded, naming the key at fault
        raise SystemExit(f"config error: overlap={c['overlap']} must be in [0, context={ctx}); 0 = disjoint windows")
    return (lambda: checked_docs(paths, c['max_docs_per_lang'], shas)), eval_set, out


# ---------------------------------------------------------------- multiple choice
def read_task(path):
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: task file not found; give a jsonl of {{context, choices, answer}} lines")
    items = []
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                q = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{n}: not JSON ({e.msg} at column {e.colno}); fix or delete that line")
            if not (isinstance(q, dict) and isinstance(q.get('choices'), list) and isinstance(q.get('answer'), int)
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


def scored_with(run_cfg, state):
    """What a result was computed from: the run's identity, its checkpoint, this eval code."""
    return {'run_id': run_cfg.get('run_id'), 'step': state['step'], 'finished': state['finished'],
            'eval_code': code_identity('eval')['sha256']}


def current_entry(ev, eval_set, task_files, ident):
    """The entry of eval dict ev that already scored this checkpoint of this run on eval_set, when it holds every
    task asked for as scored on the same checkpoint from the same task file; else None."""
    entry = eval_file.find(ev, eval_set, **ident)
    tasks = ev.get('tasks') or {}
    same_task = lambda t: {k: (tasks.get(task_name(t)) or {}).get(k) for k in (*ident, 'file_sha256')} == \
        {**ident, 'file_sha256': identity.file_sha256(t) if os.path.isfile(t) else None}
    return entry if entry and all(same_task(t) for t in task_files) else None


def evaluate_run(run_dir, c):
    """Evaluate one run folder with config c (refusals come before the model is built) and merge the result into
    its eval file; returns the file's new content, or None when it already held this scoring (unless c['force'])."""
    run_cfg = read_run_config(run_dir)  # refuses a folder without ckpt.pt
    state = run_state(run_dir)  # a broken checkpoint is refused before any reading
    docs, eval_set, path = documents(run_dir, run_cfg, c)
    doc_hashes = eval_set.pop('doc_hashes', None)  # --files: text sha256s, for docs_in_train
    ident = scored_with(run_cfg, state)
    name = os.path.basename(os.path.normpath(run_dir))
    ev = eval_file.read(path)  # a corrupt one is refused before the work, not after it
    if not c['force']:
        entry = current_entry(ev, eval_set, c['tasks'], ident)
        if entry:
            print(f"skip {run_dir}: {os.path.basename(path)} already scored this checkpoint on this set "
                  f"(entry {entry['eval_id']}; --force=True to redo)")
            if entry['eval_id'] != ev.get('eval_id'):  # make it the top-level result, as asked for last
                eval_file.merge(path, entry, run_dir)
            return None
    refuse_unfinished(run_dir, state, c['allow_unfinished'])
    eval_file.check_writable(path, run_dir)
    in_train = {}
    if doc_hashes is not None:  # --files: may hold text the run trained on
        n, line = docs_in_train(run_cfg, c, doc_hashes)
        print(line)
        in_train = {'n_docs_in_train': n}
    tok = check_tokenizer(run_dir, run_cfg)
    questions = {task_name(t): (read_task(t), identity.file_sha256(t)) for t in c['tasks']}
    ckpt = load_checkpoint(run_dir)
    dev, dt = hardware.resolve(c['device'], c['dtype'])
    model = load_model(ckpt, tok, run_dir, dev)
    hardware.set_threads(c['threads'], model.num_params(non_embedding=True))
    result = score_documents(model, tok, docs(), dev, dt, c['context'], c['overlap'], c['batch_tokens'],
                             desc=f"eval {name}", n_docs=eval_set['n_docs'])
    eval_set['context'] = result['windowing']['context']
    entry = {'eval_id': eval_file.entry_id(ident['run_id'], state['step'], state['finished'], eval_set),
             'run_id': ident['run_id'], 'run': name, 'run_dir': run_dir, 'arch': model.config.arch,
             'eval_code': ident['eval_code'], 'code': code_record('eval'),
             'preset': run_cfg.get('preset'), 'n_params': model.num_params(),
             'n_params_nonembedding': model.num_params(non_embedding=True),
             'flops_per_token': model.flops_per_token(),
             'tokenizer': tok.name, 'tokenizer_path': run_cfg.get('tokenizer'), 'tokenizer_hash': tok.hash,
             'vocab_size': tok.vocab_size, 'seed': run_cfg.get('seed'), 'corpus': eval_set['corpus'],
             'split': eval_set['split'], 'split_sha256': eval_set['split_sha256'],
             'max_docs_per_lang': c['max_docs_per_lang'], **in_train, **result,
             'eval_set': {k: eval_set[k] for k in (*eval_file.EVAL_SET_KEYS, 'files') if k in eval_set},
             'step': state['step'], 'total_steps': state['total_steps'], 'finished': state['finished'],
             'tokens_seen': ckpt.get('tokens_seen'), 'bytes_seen': ckpt.get('bytes_seen'),
             'budget_unit': run_cfg.get('budget_unit'), 'device': dev, 'dtype': dt,
             'torch': torch.__version__, 'evaluated_at': time.strftime('%Y-%m-%dT%H:%M:%S')}
    tasks = {t: {**multiple_choice(model, tok, qs, dev, dt, c['batch_tokens']), **ident, 'file_sha256': sha}
             for t, (qs, sha) in questions.items()}
    out = eval_file.merge(path, entry, run_dir, tasks)
    tasks_line = ''.join(f", {t} acc {r['acc']:.3f}" for t, r in tasks.items())
    print(f"{name}: {eval_set['split']} bpb {entry['bpb']:.4f} ({entry['n_docs']:,} docs, {entry['n_tokens']:,} "
          f"tokens, {entry['n_bytes']:,} bytes, {entry['tok_per_s']:,.0f} tok/s){tasks_line}"
          + ('' if state['finished'] else f"  [UNFINISHED: step {state['step']} of {state['total_steps']}]"))
    return out


def main(cfg):
    """Evaluate every run asked for; returns {run_dir: eval file dict}, None for a run skipped as already scored."""
    configurator.check_ranges(cfg, RANGES)
    hardware.resolve(cfg['device'], cfg['dtype'])  # a device this machine lacks: one line before any reading
    dirs = find_runs(([cfg['run']] if cfg['run'] else []) + list(cfg['runs']))
    if not dirs:
        raise SystemExit("eval_bpb.py: no runs; pass --run=out/runs/NAME or --runs='out/runs/*' (folders with ckpt.pt)")
    return {run_dir: evaluate_run(run_dir, cfg) for run_dir in dirs}


if __name__ == '__main__':
    atomic.set_output_setting(None)  # it writes into the run folders: no setting moves them
    main(configurator.configure(globals()))
