"""
The analysis of both studies, from JSON only (eval.json, log.jsonl, config.json, token sidecars, tokenizer metrics;
never checkpoints).

    python correlate.py scale --runs_dir=out/runs --name=scale         # does the small-model ranking predict the large?
    python correlate.py scale --metric=tasks.xnli.acc_norm              # any number in eval.json, dotted
    python correlate.py ab --runs=out/runs/gpt2-40M_bpe-16k_s1,out/runs/gpt2-40M_btm-16k_s1 --name=ab

Both modes first check the runs, and refuse in one line naming them when a run is unfinished or not evaluated, when
runs were scored on different evaluation sets, and (scale) when fewer than two sizes are present or a (size,
tokenizer) cell is empty; --allow_missing=True leaves the unusable runs and cells out and lists them at the top of
report.md and in summary.json `left_out`.

scale (uniscale/scale_analysis.py, scale_report.py): what each size held fixed; per (small, large) pair of
sizes Spearman rho, Kendall tau-b with exact permutation p-values, decision accuracy, seed-noise intervals, top-1 and
regret, and a verdict that seed noise cannot move (or 'not resolved' with what would resolve it, in numbers); the
headline bpb language-averaged (--weighting=macro, the default) and byte-weighted; per-algorithm and per-language
pairs with Holm's correction; agreement over training (log.jsonl) and the cheapest point that agrees; the ranking at
equal train FLOPs beside equal bytes; scaling fits bpb = E + A N^-alpha with extrapolation and a backtest
(uniscale/power_law.py); train FLOPs, the LM head's share, tokens per parameter and inference FLOPs beside bpb;
tokenizer metrics as zero-compute predictors.
ab (uniscale/ab_analysis.py): learning curves on shared charts; val bpb at equal bytes, train FLOPs and steps, each
only where every run finished its schedule; the difference over seeds paired by seed (paired t, signed-rank and sign
tests; Welch beside it); the success criterion in words.
Writes out/analysis/{name}/: summary.json, summary.csv, report.md and PNG plots.
"""
import json
import os

import configurator
from uniscale import eval_sets, locks, run_folder, study_inputs
from uniscale.ab_analysis import AB_COLUMNS, AXES, ab_analysis, ab_plots, ab_report, arm_names
from uniscale import atomic
from uniscale.atomic import write_atomic, write_json_atomic
from uniscale.code_identity import changed_files, code_identity, run_code
from uniscale.eval_set_analysis import eval_sets_lines, secondary_analysis, secondary_lines
from uniscale.identity import differences, file_sha256, fingerprint
from uniscale.lr_scan_analysis import lr_scan_lines, lr_scan_summary
from uniscale.report_format import csv_text, json_safe
from uniscale.scale_analysis import metric_value, natural_key, scale_analysis
from uniscale.scale_report import headline_line, scale_plots, scale_report, summary_csv

# -----------------------------------------------------------------------------
# defaults (override with config/*.py or --key=value)
command = 'scale'            # 'scale' | 'ab'
runs_dir = 'out/runs'
runs = []                    # run folders or names under runs_dir (globs allowed); scale: [] = all of runs_dir
name = ''                    # output folder out/analysis/{name}; '' = the command
analysis_dir = 'out/analysis'
plots = True                 # write the PNG plots (False: summary and report only, e.g. in tests)
allow_missing = False        # leave out unfinished / unevaluated runs and empty (size, tokenizer) cells, and say so
metric = 'bpb'               # scale: a number in eval.json, dotted for nested ones (tasks.hellaswag.acc_norm)
higher_is_better = None      # None: True for accuracies (tasks.*, *acc*), False otherwise (bpb, nll)
split = ''                   # '' or 'test': eval.json; else eval_{split}.json (what eval_bpb.py --split writes)
eval_args = {}               # the study's eval set, eval_bpb.py settings ({} = its defaults):
#                              each run's entry scored on it is read, never the latest entry
#                              (sweep.py passes its own)
secondary_eval_sets = {}     # scale: {name: eval_bpb.py settings} (files, flores_dir or a
#                              split; + 'note' for the report): every run scored on each too;
#                              each its own ranking and verdict, labelled secondary, and the
#                              flip table between sets; never the headline (eval_args is primary)
weighting = 'macro'          # scale, metric bpb: what the verdict ranks by: 'macro' (the mean of eval.json's
#                              per-language bpb, every language counts once) | 'bytes' (eval.json's bpb, pooled over
#                              the test bytes: languages with more text weigh more). The report shows both.
seed = 1337                  # of the bootstraps and the Monte-Carlo permutations
n_bootstrap = 10_000         # redraws of the seed noise, for the intervals of rho and decision accuracy
exact_max_n = 9              # exact p-values by enumerating all n! orderings up to this many tokenizers (9! = 362,880)
n_permutations = 100_000     # Monte-Carlo orderings beyond exact_max_n
agree_target = {'decision_accuracy': 1.0}   # scale: the agreement that counts as "the same decision" ({statistic:
#                              threshold}; statistics 'decision_accuracy' and/or 'spearman', e.g. {'spearman': 0.9})
extrapolate_to = [1e9, 7e9]  # scale: non-embedding parameters to extrapolate each tokenizer's fit to
n_fit_bootstrap = 500        # scale: refits on redrawn seed noise, for the intervals of the fits and p_best
tokenizer_eval_dir = 'out/tokenizer_eval'   # scale: `python tokenizer.py eval`'s metrics
tokenizer_eval_split = 'val' # scale: the split of the study's corpus the predictors are measured on
lr_scan_runs = []            # scale: sweep.py's lr-scan runs (folders or globs): does the small size's ranking survive
#                              the lr? (uniscale/lr_scan_analysis.py; they are never pooled with the grid's runs)
lr_scan_abs = []             # scale: the scan's absolute lrs (sweep.py lr_scan's 'lr=1e-5'): a
#                              scan run at one is labelled "lr 1e-05", any other "x0.5"
tokens_dir = 'out/tokens'    # ab: token sidecars out/tokens/{corpus}/{tokenizer}/{split}.json
token_stats_split = 'val'    # ab: the split whose sidecar gives tokens per document and bytes per token
held_fixed = 'bytes'         # ab: what the headline compares at: 'bytes' (of text) | 'flops' (train) | 'steps'
base_tokenizer = ''          # ab: the arm the others are compared with; '' = the first run's
loss_targets = []            # ab: val loss (nats/token) targets
bpb_targets = []             # ab: val bpb targets; [] = the final val bpb of the worse run
code_changes = ''            # runs of other training or evaluation code (code_identity.py): ''
#                              refuses to pool them; 'keep' pools them (the report lists each)
# -----------------------------------------------------------------------------
NEEDED = ('preset', 'tokenizer', 'seed', 'bpb', 'n_params_nonembedding')   # eval.json keys the analysis reads
AGREE_STATS = ('decision_accuracy', 'spearman')
WEIGHTINGS = ('macro', 'bytes')


def names(items, k=6):
    """'a, b, c (+3 more)': run names for a one-line message."""
    items = list(items)
    return ', '.join(items[:k]) + (f" (+{len(items) - k} more)" if len(items) > k else '')


# ---------------------------------------------------------------- loading
def run_folders(cfg):
    """Run folders from --runs (paths or names under runs_dir, globs allowed; [] = every folder of runs_dir):
    a glob keeps the folders holding config.json (train.py wrote it) or the eval file."""
    patterns = cfg['runs'] or ['*']
    fname = os.path.basename(run_folder.eval_path('', cfg['split']))
    found = run_folder.find_runs(patterns, cfg['runs_dir'], 'config.json') + \
        run_folder.find_runs(patterns, cfg['runs_dir'], fname)
    scan = set(scan_folders(cfg))
    return [d for d in dict.fromkeys(found) if d not in scan]


def scan_folders(cfg):
    """The lr scan's run folders (--lr_scan_runs), [] without one."""
    return run_folder.find_runs(cfg.get('lr_scan_runs') or [], cfg['runs_dir'], 'config.json')


def load_run(d, cfg):
    """{'name', 'dir', 'eval' (None when absent), 'config', 'events' (None without log.jsonl)}; a corrupt JSON
    file is a one-line error."""
    if not os.path.isdir(d):
        raise SystemExit(f"{d}: no such run folder; check --runs / --runs_dir")
    ev_path = run_folder.eval_path(d, cfg['split'])
    ev = run_folder.read_json(ev_path, f"re-run python eval_bpb.py --run={d}", default=None)
    config = run_folder.read_json(os.path.join(d, 'config.json'), run_folder.CONFIG_FIX, default={})
    why = None
    if isinstance(ev, dict):  # the entry scored on the study's eval set, never the latest one
        entry, why = study_inputs.study_entry(ev, config, study_inputs.eval_settings(cfg), d)
        ev = entry and {**entry, 'tasks': ev.get('tasks'), 'lm_eval': ev.get('lm_eval'),
                        '_path': ev_path}
        if ev:
            ev['tasks'] = current_tasks(ev)
    log = os.path.join(d, 'log.jsonl')
    return dict(name=run_folder.run_name(d), dir=d, eval=ev, config=config, no_eval=why,
                events=run_folder.read_log(log) if os.path.isfile(log) else None)


def current_tasks(ev):
    """The eval file's tasks scored on the run and checkpoint its bpb result scored (eval_bpb.py records them in the
    task, downstream.py in lm_eval.scored / scored_run_id): results accumulate, so a task of an earlier run in the
    same folder (retrained since) may still be there, and is not this run's."""
    lm = ev.get('lm_eval') or {}
    kept = {}
    for t, m in (ev.get('tasks') or {}).items():
        m = m if isinstance(m, dict) else {}
        step = m.get('step', (lm.get('scored') or {}).get(t, ev.get('step')))
        run_id = m.get('run_id', (lm.get('scored_run_id') or {}).get(t, ev.get('run_id')))
        if (step, run_id) == (ev.get('step'), ev.get('run_id')):
            kept[t] = m
    return kept


def unusable(rec, mode, fname):
    """Why a run cannot be analysed (a few words), or None."""
    ev = rec['eval']
    if ev is None:
        return rec.get('no_eval') or f"no {fname}"
    if ev.get('finished') is not True:
        if 'finished' not in ev:
            return f"{fname} does not say it scored a finished run (written before eval_bpb.py recorded it)"
        return f"unfinished (scored at step {ev.get('step')} of {ev.get('total_steps')})"
    if mode == 'ab' and not rec['events']:
        return 'no log.jsonl'
    return None


def refuse_or_leave_out(problems, what, fix, cfg):
    """problems: ['name: why', ...]. Refuse in one line, or (allow_missing) return them as left out."""
    if problems and not cfg['allow_missing']:
        raise SystemExit(f"correlate.py {cfg['command']}: {what}: {'; '.join(problems[:8])}"
                         f"{f' (+{len(problems) - 8} more)' if len(problems) > 8 else ''}; {fix}, "
                         f"or pass --allow_missing=True to leave them out (listed at the top of the report)")
    return problems


def scored_set(rec):
    """The run's eval_set, its context written 'own block_size' where the run was scored at its training context:
    runs whose context was set in bytes (context_bytes) differ in block_size by design, and still share a set."""
    es = rec['eval'].get('eval_set')
    if isinstance(es, dict) and es.get('context') is not None and es.get('context') == rec['config'].get('block_size'):
        es = {**es, 'context': 'own block_size'}
    return es


def check_eval_sets(records, cfg):
    """Refuse runs scored on different evaluation sets, naming each group and the keys that differ."""
    groups = {}
    for r in records:
        groups.setdefault(json.dumps(scored_set(r), sort_keys=True), []).append(r['name'])
    if len(groups) < 2:
        return
    sets = [json.loads(k) or {} for k in groups]
    differ = sorted({k for s in sets for k in set(s) | set(sets[0]) if s.get(k) != sets[0].get(k)}) or ['eval_set']
    desc = ' vs '.join(f"[{names(g, 4)}] with {', '.join(f'{k}={(s or {}).get(k)}' for k in differ)}"
                       for s, g in zip(sets, groups.values()))
    raise SystemExit(f"correlate.py {cfg['command']}: runs were scored on different evaluation sets (they differ in "
                     f"{', '.join(differ)}): {desc}; re-run eval_bpb.py on one group with the other's settings "
                     f"(--split, --max_docs_per_lang, --context, --overlap)")


def checked_runs(cfg, mode):
    """The usable runs, and what was left out (allow_missing): finished, evaluated, on one evaluation set."""
    fname = os.path.basename(run_folder.eval_path('', cfg['split']))
    records = [load_run(d, cfg) for d in run_folders(cfg)]
    if not records:
        raise SystemExit(f"{cfg['runs_dir']}: no runs with {fname}; train and evaluate runs first "
                         f"(python sweep.py config/sweep_demo.py)")
    problems = [f"{r['name']}: {why}" for r in records for why in [unusable(r, mode, fname)] if why]
    left_out = refuse_or_leave_out(problems, f"{len(problems)} of {len(records)} runs are not finished and evaluated",
                                   "finish and evaluate them (python sweep.py CONFIG)", cfg)
    kept = [r for r in records if unusable(r, mode, fname) is None]
    for r in kept:
        missing = [k for k in NEEDED if k not in r['eval']]
        if missing:
            raise SystemExit(f"{r['eval']['_path']}: missing {missing}; re-run eval_bpb.py --run={r['dir']} (forced)")
    if not kept:
        raise SystemExit(f"correlate.py {mode}: no usable run left of {len(records)}: {'; '.join(problems[:4])}")
    check_eval_sets(kept, cfg)
    return kept, left_out


def cell_key(rec):
    """The identity of what a run computed, less its seed and code: train.run_identity's cell_id
    recomputed from its config.json by the current rule (the one of train.py's resume check and the
    sweep: LEGACY_DEFAULTS for keys an older run lacks, paths left out), never a cell_id an older
    rule stored."""
    import train  # the rule's tables live beside train.py's settings (torch comes with it)
    return train.run_identity(rec['config'])['cell_id']


def identity_of(config):
    """What cell_key fingerprints, readable: for naming what differs."""
    import train
    return {**train.identity_settings(config), 'inputs': config.get('inputs') or
            {'tokenizer_hash': config.get('tokenizer_hash')}}


def check_groups(records, cfg, mode):
    """Refuse a cell (scale: preset x tokenizer name; ab: an arm) whose runs were computed from different settings
    or inputs (another tokenizer under the same name, another preset, budget, schedule...), and two runs of one seed
    in a cell (a copied run folder): pooled as seeds, either would change the numbers without a word."""
    labels = arm_names(records) if mode == 'ab' else [(r['eval']['preset'], r['eval']['tokenizer']) for r in records]
    groups = {}
    for rec, label in zip(records, labels):
        groups.setdefault(' '.join(map(str, filter(None, label))), []).append(rec)
    for label, recs in groups.items():
        by_key = {}
        for r in recs:
            by_key.setdefault(cell_key(r), []).append(r)
        if len(by_key) > 1:
            (a, *_), (b, *_) = list(by_key.values())[:2]
            what = differences(identity_of(a['config']), identity_of(b['config']))
            raise SystemExit(f"correlate.py {mode}: {label} pools runs computed differently: "
                             + ' vs '.join(f"[{names(x['name'] for x in g)}]" for g in by_key.values())
                             + f" ({'; '.join(what[:4]) or 'cell_id differs'}); a {'cell' if mode == 'scale' else 'arm'} "
                             f"pools seeds of one setting: pass runs of one setting (--runs)")
        seeds = {}
        for r in recs:
            seeds.setdefault(r['config'].get('seed', r['eval'].get('seed')), []).append(r['name'])
        twice = {s: n for s, n in seeds.items() if len(n) > 1}
        if twice:
            s, n = next(iter(twice.items()))
            raise SystemExit(f"correlate.py {mode}: {label} holds seed {s} twice ({names(n)}; a copied run folder?): "
                             f"one seed is one run, leave the copies out of --runs")


def code_of(rec):
    """(training code, evaluation code) a run's result was computed by, each {'sha256', 'files',
    ...} or None where the run or its eval entry recorded none (code unknown)."""
    ev_code = rec['eval'].get('code')
    recorded = isinstance(ev_code, dict) and ev_code.get('sha256')
    return run_code(rec['config']), ev_code if recorded else None


def code_versions(records):
    """The code versions the runs were computed by: [{'train_code', 'eval_code' (sha256 or None),
    'commit', 'runs'}], most runs first: what the report lists."""
    groups = {}
    for r in records:
        train_code, eval_code = code_of(r)
        key = ((train_code or {}).get('sha256'), (eval_code or {}).get('sha256'))
        g = groups.setdefault(key, {'train_code': key[0], 'eval_code': key[1], 'runs': [],
                                    'commit': (train_code or {}).get('commit'),
                                    'codes': (train_code, eval_code)})
        g['runs'].append(r['name'])
    return sorted(groups.values(), key=lambda g: -len(g['runs']))


def check_code(records, cfg):
    """Refuse runs computed by different training or evaluation code (or some by code not recorded),
    naming them and the files that differ, unless code_changes='keep' pools them (the report lists
    every version); the code versions, for summary.json."""
    versions = code_versions(records)
    if len(versions) > 1 and cfg['code_changes'] != 'keep':
        pairs = zip(versions[0]['codes'], versions[1]['codes'], ('training', 'evaluation'))
        files = sorted({f for a, b, kind in pairs
                        for f in (changed_files(a, b) if a and b else
                                  [f"{kind} code not recorded"] if a or b else [])})
        short = lambda h: h[:12] if h else 'unknown'
        desc = ' vs '.join(f"[{names(v['runs'], 4)}] train {short(v['train_code'])} eval "
                           f"{short(v['eval_code'])}" for v in versions[:3])
        raise SystemExit(f"correlate.py {cfg['command']}: the runs were computed by "
                         f"{len(versions)} versions of the code: {desc} ({', '.join(files)} "
                         f"differ); bring them to this code (python sweep.py CONFIG: it re-scores "
                         f"them and offers code_changes for training), or pass "
                         f"--code_changes=keep to pool them (the report lists each version)")
    return [{k: v for k, v in g.items() if k != 'codes'} for g in versions]


def code_lines(s):
    """The report's list of the code versions its numbers were computed by."""
    lines = ['', '## Code', '', '| training code | evaluation code | commit | runs |',
             '| --- | --- | --- | --- |']
    short = lambda h: (h or 'not recorded')[:12]
    for v in s.get('code_versions') or []:
        lines.append(f"| {short(v['train_code'])} | {short(v['eval_code'])} | "
                     f"{(v['commit'] or '?')[:10]} | {len(v['runs'])}: {names(v['runs'], 4)} |")
    return lines


def analysis_identity(cfg):
    """What an analysis is computed from: its settings, the bytes of every file it reads (each run's eval file,
    config.json and log.jsonl; the tokenizer metrics) and its own code (code_identity 'analysis': correlate.py
    and every module of ours it imports). summary.json records it; the sweep re-analyses when it differs (never
    by file times)."""
    fname = os.path.basename(run_folder.eval_path('', cfg['split']))
    files = {}
    for d in run_folders(cfg) + scan_folders(cfg):
        for f in (fname, 'config.json', 'log.jsonl'):
            path = os.path.join(d, f)
            if os.path.isfile(path):
                files[path] = file_sha256(path)
    files.update(study_inputs.identity_files(cfg, run_folders(cfg)))  # corpus meta.json, metrics
    for sec in cfg['secondary_eval_sets'].values():  # their eval files, the text they name
        sec = eval_sets.eval_settings(sec)
        for d in run_folders(cfg):
            path = eval_sets.eval_file_of(d, sec)
            files.update({path: file_sha256(path)} if os.path.isfile(path) else {})
        if eval_sets.is_external(sec):
            files.update({p: file_sha256(p) for p in eval_sets.set_paths(sec)})
    settings = {k: v for k, v in cfg.items() if k not in ('plots', 'runs', 'runs_dir')}
    code = code_identity('analysis')
    return {'settings': settings, 'files': files, 'code': code,
            'analysis_id': fingerprint({'settings': settings, 'files': files, 'code': code['sha256']})}


def lr_scan(records, cfg):
    """The lr scan's summary (uniscale/lr_scan_analysis.py) from --lr_scan_runs, None without them; a scan run that
    is not finished and evaluated is refused (or, allow_missing, left out and listed)."""
    dirs = scan_folders(cfg)
    if not dirs:
        return None
    fname = os.path.basename(run_folder.eval_path('', cfg['split']))
    scan = [load_run(d, cfg) for d in dirs]
    problems = [f"{r['name']}: {why}" for r in scan for why in [unusable(r, 'scale', fname)] if why]
    refuse_or_leave_out(problems, f"{len(problems)} lr-scan run(s) are not finished and evaluated",
                        "finish and evaluate them (python sweep.py CONFIG)", cfg)
    for r in scan + records:  # compared with its grid run as cells are (one rule)
        r.setdefault('identity', identity_of(r['config']))
    summary = lr_scan_summary([r for r in scan if unusable(r, 'scale', fname) is None], records, cfg)
    summary['left_out'] = problems + summary['left_out']
    return summary


def check_cells(records, cfg):
    """Refuse fewer than two sizes, and (unless allow_missing) any empty (size, tokenizer) cell."""
    have = {(r['eval']['preset'], r['eval']['tokenizer']) for r in records
            if metric_value(r['eval'], cfg['metric']) is not None}
    sizes = sorted({z for z, _ in have})
    toks = sorted({t for _, t in have}, key=natural_key)
    if len(sizes) < 2:
        raise SystemExit(f"correlate.py scale: {len(sizes)} model size(s) ({names(sizes)}) among the runs "
                         f"{names(r['name'] for r in records)}; the study compares sizes: add runs of another preset")
    empty = [f"{z} x {t}" for z in sizes for t in toks if (z, t) not in have]
    return refuse_or_leave_out([f"cell {c}: no finished run with {cfg['metric']}" for c in empty],
                               f"{len(empty)} (size, tokenizer) cells are empty (every size needs every tokenizer)",
                               "train and evaluate them", cfg)


def tokenizer_metrics(records, cfg):
    """({tokenizer: metrics.json}, notes): the metrics `python tokenizer.py eval` measured on
    the study's corpus text with the runs' tokenizer hash (uniscale/study_inputs.py); the notes
    name that text and what is stale."""
    return study_inputs.study_metrics(records, cfg)


# ---------------------------------------------------------------- main
def checked_config(cfg):
    cfg = {**configurator.defaults(globals()), **cfg}
    if cfg['command'] not in ('scale', 'ab'):
        raise SystemExit(f"correlate.py: unknown command {cfg['command']!r}; use 'scale' or 'ab'")
    if cfg['weighting'] not in WEIGHTINGS:
        raise SystemExit(f"correlate.py: weighting must be one of {list(WEIGHTINGS)}, got {cfg['weighting']!r}")
    if cfg['code_changes'] not in ('', 'keep'):
        raise SystemExit(f"correlate.py: code_changes must be '' or 'keep', got "
                         f"{cfg['code_changes']!r}")
    if cfg['held_fixed'] not in AXES:
        raise SystemExit(f"correlate.py: held_fixed must be one of {list(AXES)}, got {cfg['held_fixed']!r}")
    bad = [k for k in cfg['agree_target'] if k not in AGREE_STATS]
    if not cfg['agree_target'] or bad:
        raise SystemExit(f"correlate.py: agree_target {cfg['agree_target']!r}: give {{statistic: threshold}} with "
                         f"statistics from {AGREE_STATS}, e.g. --agree_target=\"{{'spearman': 0.9}}\"")
    try:
        cfg['extrapolate_to'] = [float(n) for n in cfg['extrapolate_to']]
    except ValueError:
        raise SystemExit(f"correlate.py: extrapolate_to {cfg['extrapolate_to']!r}: give parameter counts, e.g. "
                         f"--extrapolate_to=[1e9,7e9]") from None
    eval_sets.checked_secondary(cfg['secondary_eval_sets'])
    if cfg['higher_is_better'] is None:
        cfg['higher_is_better'] = cfg['metric'].startswith('tasks.') or 'acc' in cfg['metric']
    return cfg


def main(cfg):
    cfg = checked_config(cfg)
    out_dir = os.path.join(cfg['analysis_dir'], cfg['name'] or cfg['command'])
    identity = analysis_identity(cfg)
    runs_out = None
    if cfg['command'] == 'scale':
        records, left_out = checked_runs(cfg, 'scale')
        versions = check_code(records, cfg)
        check_groups(records, cfg, 'scale')
        left_out += check_cells(records, cfg)
        metrics, notes = tokenizer_metrics(records, cfg)
        s = scale_analysis(records, cfg, metrics)
        left_out += secondary_analysis(records, s, cfg)  # s['eval_sets'], s['eval_set_flips']
        s['left_out'] = left_out
        s.update(notes)
        s['lr_scan'] = lr_scan(records, cfg)
    else:
        n_found = len(run_folders(cfg)) if cfg['runs'] else 0  # folders, once patterns are expanded
        if n_found < 2:
            raise SystemExit(f"correlate.py ab: --runs names {n_found} run folder(s); give two or "
                             f"more runs, e.g. --runs=out/runs/A,out/runs/B or --runs='out/runs/*'")
        records, left_out = checked_runs(cfg, 'ab')
        versions = check_code(records, cfg)
        check_groups(records, cfg, 'ab')
        s, runs_out = ab_analysis(records, cfg, run_folder.read_json)
        if len(s['arms']) < 2:
            raise SystemExit(f"correlate.py ab: all runs ({names(r['name'] for r in records)}) are one arm "
                             f"({names(s['arms'])}); give runs of two tokenizers")
        s['left_out'] = left_out
    s['analysis_id'], s['inputs'] = identity['analysis_id'], identity['files']
    s['analysis_code'] = identity['code']
    s['code_versions'] = versions
    with locks.hold(out_dir, 'analysis'):  # one writer: two analyses of one name would mix their plots and files
        write_outputs(cfg, s, runs_out, out_dir)
    return out_dir, s


def write_outputs(cfg, s, runs_out, out_dir):
    """The plots (their names go into s and the report), report.md, summary.csv and summary.json (last)."""
    if cfg['command'] == 'scale':
        s['plots'] = scale_plots(s, out_dir) if cfg['plots'] else []
        report, table = scale_report(s), summary_csv(s)
        report += '\n'.join(eval_sets_lines(s) + [''])
        if s['lr_scan']:
            report += '\n' + '\n'.join(lr_scan_lines(s['lr_scan'])) + '\n'
    else:
        s['plots'] = ab_plots(runs_out, out_dir) if cfg['plots'] else []
        report, table = ab_report(s), csv_text(s['runs'], AB_COLUMNS)
    report += '\n'.join(code_lines(s)) + '\n'
    write_atomic(os.path.join(out_dir, 'summary.csv'), table)
    write_atomic(os.path.join(out_dir, 'report.md'), report)
    write_json_atomic(os.path.join(out_dir, 'summary.json'), json_safe(s))

if __name__ == '__main__':
    atomic.set_output_setting('--analysis_dir')  # a failed write's advice names it
    out, summary = main(configurator.configure(globals()))
    for line in summary.get('left_out') or []:
        print(f"left out: {line}")
    if summary.get('headline'):
        print(headline_line(summary) or 'no headline pair')
    for line in secondary_lines(summary):
        print(line)
    if summary.get('criterion'):
        print(summary['criterion'])
    for row in summary.get('arm_table') or []:  # ab: each arm's verdict against the baseline
        if row['verdict']:
            print(f"{row['arm']}: {row['verdict']}")
    print(f"wrote {out}/report.md, summary.json, summary.csv" + ''.join(f', {p}' for p in summary['plots']))
