"""Runs fastboundlessbpe's pure-Python trainers (the authors' code, extracted to a temp dir by
bench/superword_authors.py) and writes their merges and CPU seconds as JSON. It runs under the
authors' own virtualenv (regex, heapdict), never the project's, and imports nothing of uniscale.

    python bench/superword_authors_driver.py JOB.json OUT.json

JOB.json: {"src": dir holding boundlessbpe/, "jsonl": the text, one {"text": ...} a line,
"n_docs", "method": "word" | "superbpe" | "boundless", "word_vocab": the first pass's vocab_size
(their count: 243 valid UTF-8 bytes + merges, no specials), "supermerges" (superbpe),
"script_aware": false = their simple mode (the GPT-4o regex alone), "work": a temp folder}.
OUT.json: merges as [left hex, right hex, count] in the order applied, per pass, and CPU seconds.
"""
import contextlib
import json
import os
import sys
import time


def pretokenizer(bb, script_aware):
    if not script_aware:  # one regex over the whole text, as examples/train_*.py --simple
        return bb.Pretokenizer()
    return bb.Pretokenizer(script_specific_regex=bb.SCRIPT_SPECIFIC_GPT4O_REGEX,
                           script_specific_scripts=bb.DEFAULT_SCRIPT_SPECIFIC_SCRIPTS)


def hexpairs(merges):
    """Their InferenceData.merges ({index: ((left, right), count, flag)}) in index order, each
    as [left hex, right hex, count when merged]."""
    return [[a.hex(), b.hex(), c] for _, ((a, b), c, _f) in sorted(merges.items())]


def train_word(bb, job, prefix):
    """First pass: their BpeTrainer with tau=1.1 (no PickyBPE deletions), as their word models."""
    tr = bb.BpeTrainer(pretokenizer(bb, job['script_aware']))
    t0 = time.process_time()
    tr.train(1.1, job['jsonl'], prefix, job['n_docs'], job['word_vocab'], recalc=0, blowup=False,
             max_bytes=1 << 40, checkpoint_iterations=0, verbose=False, progress_interval=0)
    cpu = time.process_time() - t0
    tr.save(prefix + '_final')
    return {'word_merges': hexpairs(tr.inf_data.merges), 'word_vocab': len(tr.vocab),
            'word_cpu_s': cpu}


def train_second(bb, job, prefix, word_file):
    """Second pass; records, for each supermerge, how many word operations were replayed before
    it (BoundlessBPE interleaves the two; SuperBPE applies all word merges first)."""
    cls = bb.SuperBpeTrainer if job['method'] == 'superbpe' else bb.BoundlessBpeTrainer
    tr = cls(pretokenizer(bb, job['script_aware']))
    applied, inner = [], tr.merge_and_delete

    def observed(pair, *rest):
        applied.append(tr.current_word_op_idx)
        return inner(pair, *rest)
    tr.merge_and_delete = observed
    args = dict(recalc=0, word_model_file=word_file, max_bytes=1 << 40, checkpoint_iterations=0,
                verbose=False, progress_interval=0)
    t0 = time.process_time()
    if job['method'] == 'superbpe':
        tr.train(job['jsonl'], prefix + '_super', job['n_docs'], job['supermerges'], **args)
    else:
        tr.train(job['jsonl'], prefix + '_boundless', job['n_docs'], **args)
    cpu = time.process_time() - t0
    kept = tr.current_word_op_idx if job['method'] == 'boundless' else None
    return {'super_merges': hexpairs(tr.inf_data.merges), 'super_after_word_ops': applied,
            'word_ops_kept': kept, 'second_cpu_s': cpu, 'final_vocab': len(tr.vocab)}


def main(job_path, out_path):
    with open(job_path) as f:
        job = json.load(f)
    sys.path.insert(0, job['src'])
    import boundlessbpe as bb  # the extracted copy: the authors' code, as released
    prefix = os.path.join(job['work'], 'model')
    log_path = os.path.join(job['work'], 'authors.log')
    with open(log_path, 'w') as log, contextlib.redirect_stdout(log):
        out = train_word(bb, job, prefix)
        if job['method'] != 'word':
            out.update(train_second(bb, job, prefix, prefix + '_final.model'))
    with open(out_path, 'w') as f:
        json.dump(out, f)


if __name__ == '__main__':
    main(*sys.argv[1:3])
