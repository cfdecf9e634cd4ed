"""
What a study reads, chosen by content identity, never by "the latest" or "the one of that name":
from each run's eval file the entry scored on the study's eval set (named in its config), and the
tokenizer metrics measured on the study's corpus text with the tokenizer hash its runs used.
JSON only (correlate.py stays light).

Tokenizer metrics (tokenizer.py eval) live at
{eval_dir}/{name}/{corpus}_{split}_{sha12}/metrics.json, one folder per text (sha12: the first 12
hex digits of the split's sha256), so evaluations on several corpora stand side by side. They are
looked up by (hash, split_sha256): the tokenizer and the text they were computed from; folder
names are for people. An older {eval_dir}/{name}/metrics.json (the layout before) is used only
when its hash and split_sha256 match too.
"""
import glob
import json
import os

from uniscale import eval_file, run_folder
from uniscale.code_identity import changed_files, code_identity
from uniscale.identity import file_sha256

# eval_bpb.py's settings that say which set a run is scored on (run_folder.wanted_eval_set)
EVAL_SET_SETTINGS = ('corpus', 'corpus_dir', 'split', 'max_docs_per_lang', 'context', 'overlap')
CORPUS_DIR = 'out/corpus'  # eval_bpb.py's and tokenizer.py's default
# what an eval set that lacks a key (written before eval_bpb.py recorded it) was scored with
LEGACY_EVAL_SET = {'max_docs_per_lang': 0, 'overlap': 0}


# ---------------------------------------------------------------- the study's eval set
def eval_settings(cfg):
    """The study's eval set as eval_bpb.py settings: correlate.py's eval_args, its --split."""
    settings = {k: v for k, v in (cfg.get('eval_args') or {}).items() if k in EVAL_SET_SETTINGS}
    split = cfg.get('split') or settings.get('split') or 'test'
    if settings.get('split', split) != split:
        raise SystemExit(f"correlate.py: split={cfg.get('split')!r} but eval_args names split "
                         f"{settings['split']!r}; give the study's split once (--split)")
    return {**settings, 'split': split}


def described(eval_set):
    """'split=test, max_docs_per_lang=0, ...' of an eval set, for a message."""
    short = {k: str(v)[:12] if k == 'split_sha256' and v else v for k, v in eval_set.items()}
    return ', '.join(f"{k}={v}" for k, v in short.items())


def eval_command(run_dir, settings):
    """The eval_bpb.py command that scores the run on the study's eval set."""
    extra = ''.join(f" --{k}={v}" for k, v in settings.items() if k != 'split' or v != 'test')
    return f"python eval_bpb.py --run={run_dir}{extra}"


def recorded(entry, key, want, run_cfg):
    """The entry's eval_set[key]; a key it lacks is what eval_bpb.py scored with then
    (LEGACY_EVAL_SET; the run's corpus and block_size); a split sha256 it lacks is unknown and
    matches (as where the corpus is not here)."""
    es = entry.get('eval_set') or {}
    if key in es:
        return es[key]
    legacy = {**LEGACY_EVAL_SET, 'corpus': run_cfg.get('corpus'),
              'context': run_cfg.get('block_size')}
    return legacy[key] if key in legacy else want[key]


def study_entry(ev, run_cfg, settings, run_dir='', want=None):
    """(entry, None): the entry of eval dict ev scored on the study's eval set (eval_bpb.py
    `settings`) for this run (its config's run_id), the finished one where there is one, the last
    scored of that set; else (None, why). Where the corpus is not here to give the split's sha256,
    entries of the other keys qualify, and entries of two versions of the split are refused. want:
    the eval set, where settings name files or FLORES (uniscale/eval_sets.wanted_set)."""
    want = want or run_folder.wanted_eval_set(run_cfg, settings)
    keys = [k for k in want if want[k] is not None or k != 'split_sha256']
    match = [e for e in eval_file.entries(ev)
             if all(recorded(e, k, want, run_cfg) == want[k] for k in keys)
             and e.get('run_id') == run_cfg.get('run_id', e.get('run_id'))]
    shas = {(e.get('eval_set') or {}).get('split_sha256') for e in match} - {None}
    if want['split_sha256'] is None and len(shas) > 1:
        meta = f"{settings.get('corpus_dir', CORPUS_DIR)}/{want['corpus']}/meta.json"
        return None, (f"scored on {len(shas)} versions of the {want['split']} split and its corpus "
                      f"({meta}) is not here to say which is current; analyse where the corpus is, "
                      f"or pass --eval_args with its corpus_dir")
    done = [e for e in match if e.get('finished') is True]
    if match:  # a key it lacks filled as it was scored (so older and newer entries compare)
        entry = (done or match)[-1]
        es = {k: recorded(entry, k, want, run_cfg) for k in want if k != 'split_sha256'}
        return {**entry, 'eval_set': {**es, **(entry.get('eval_set') or {})}}, None
    held = [described({k: (e.get('eval_set') or {}).get(k) for k in keys if k != 'corpus'})
            for e in eval_file.entries(ev)[-3:]]
    return None, (f"not scored on the study's eval set ({described({k: want[k] for k in keys})}; "
                  f"it holds: {'; '.join(held) or 'no scoring'}); "
                  f"score it: {eval_command(run_dir, settings)} "
                  f"(or name the set it holds: --eval_args)")


# ---------------------------------------------------------------- tokenizer metrics, by content
def text_tag(corpus, split, sha):
    """'{corpus}_{split}_{sha12}': the folder (and plot prefix) of one eval text."""
    return f"{corpus}_{split}_{(sha or 'unknown')[:12]}"


def metrics_path(eval_dir, name, corpus, split, sha):
    return os.path.join(eval_dir, name, text_tag(corpus, split, sha), 'metrics.json')


def read_metrics(path):
    """A metrics.json's dict; None when unreadable (a half-copied file: no one's numbers)."""
    try:
        with open(path, encoding='utf-8') as f:
            m = json.load(f)
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) else None


def all_metrics(eval_dir):
    """[(path, name folder, metrics dict)] of every readable metrics.json under eval_dir, both
    layouts."""
    root = glob.escape(eval_dir)
    paths = glob.glob(os.path.join(root, '*', 'metrics.json')) + \
        glob.glob(os.path.join(root, '*', '*', 'metrics.json'))
    found = [(p, os.path.relpath(p, eval_dir).split(os.sep)[0], read_metrics(p))
             for p in sorted(paths)]
    return [(p, name, m) for p, name, m in found if m is not None]


def study_text(records, cfg):
    """{corpus, split, split_sha256, corpus_dir}: the text the intrinsic predictors must be of: the
    study's eval corpus (the runs' eval_set) and correlate.py's tokenizer_eval_split, its sha256
    from the corpus's meta.json (None when the corpus is not here)."""
    corpora = sorted({str((r['eval'].get('eval_set') or {}).get('corpus')
                          or r['config'].get('corpus')) for r in records})
    corpus_dir = eval_settings(cfg).get('corpus_dir', CORPUS_DIR)
    corpus, split = corpora[0], cfg.get('tokenizer_eval_split') or 'val'
    return {'corpus': corpus, 'split': split, 'corpus_dir': corpus_dir,
            'split_sha256': run_folder.split_sha256(corpus_dir, corpus, split)}


def run_hashes(records):
    """{tokenizer name: {the hashes its runs were trained with}} (None: a run recorded none)."""
    hashes = {}
    for r in records:
        h = r['eval'].get('tokenizer_hash') or r['config'].get('tokenizer_hash')
        hashes.setdefault(r['eval']['tokenizer'], set()).add(h)
    return hashes


def not_used(name, hs, mine, sha):
    """Why the metrics under `name` are not the runs' (hs: their hashes), None when none explain."""
    other = [(p, m) for p, m in mine
             if sha and m.get('split_sha256') == sha and m.get('hash') not in hs]
    if other and hs:
        p, m = other[0]
        return (f"{name} ({p} measured hash {str(m.get('hash'))[:12]}, the runs used "
                f"{', '.join(h[:12] for h in hs)})")
    if len(hs) > 1:
        return (f"{name} (its runs used {len(hs)} tokenizers of this name: "
                f"{', '.join(h[:12] for h in hs)})")
    if not hs:
        return f"{name} (its runs recorded no tokenizer hash: which metrics are its cannot be told)"
    return None


def other_code(name, path, m):
    """Why a metrics.json of the right tokenizer and text is not used: computed by other
    tokenizer-eval code than this checkout's (code_identity 'tokenizer_eval'), or by code that
    recorded none; None when its code is this one."""
    now, recorded = code_identity('tokenizer_eval'), m.get('code')
    if isinstance(recorded, dict) and recorded.get('sha256') == now['sha256']:
        return None
    what = (f"computed by other tokenizer-eval code ({', '.join(changed_files(recorded, now))} "
            f"differ)" if isinstance(recorded, dict) else "records no code (made before metrics did)")
    return (f"{name} ({path}: {what}; re-run `python tokenizer.py eval CONFIG` to measure it with "
            f"this code)")


def lookup(hashes, text, eval_dir):
    """The metrics of each tokenizer (name -> the hashes its runs used) on `text`, by (hash,
    split_sha256): {'metrics': {name: dict}, 'files': {path: sha256}, 'stale': [why],
    'other_text': {name: [text tags it was measured on instead]}}."""
    index, by_name = {}, {}
    for path, folder, m in all_metrics(eval_dir):
        by_name.setdefault(folder, []).append((path, m))
        index.setdefault((m.get('hash'), m.get('split_sha256')), []).append((path, folder, m))
    out, sha = {'metrics': {}, 'files': {}, 'stale': [], 'other_text': {}}, text['split_sha256']
    for name, hs in hashes.items():
        hs = sorted(h for h in hs if h)
        hits = [hit for h in hs for hit in index.get((h, sha), [])] if sha and len(hs) == 1 else []
        hits.sort(key=lambda hit: hit[1] != name)  # the one under the runs' tokenizer name first
        if hits:
            path, _, m = hits[0]
            why = other_code(name, path, m)
            if why:
                out['stale'].append(why)
                continue
            out['metrics'][name], out['files'][path] = m, file_sha256(path)
            continue
        mine = by_name.get(name, [])
        why = not_used(name, hs, mine, sha)
        out['stale'] += [why] if why else []
        seen = sorted({text_tag(m.get('corpus'), m.get('split'), m.get('split_sha256'))
                       for _, m in mine if not sha or m.get('split_sha256') != sha})
        if seen:
            out['other_text'][name] = seen
    return out


def study_metrics(records, cfg):
    """(metrics {tokenizer: metrics.json}, notes for summary.json) for correlate.py scale: the
    metrics of the study's text for the tokenizer hash its runs used; the notes name that text,
    the files used, and what is stale or measured on other text only."""
    text = study_text(records, cfg)
    found = lookup(run_hashes(records), text, cfg['tokenizer_eval_dir'])
    notes = {'intrinsic_text': text, 'intrinsic_files': sorted(found['files']),
             'intrinsic_stale': found['stale'], 'intrinsic_other_text': found['other_text']}
    return found['metrics'], notes


def identity_files(cfg, run_dirs):
    """{path: sha256} of what the study's choices depend on beyond the run folders: the corpora's
    meta.json (the split sha256s that pick eval entries and metrics) and, for scale, the tokenizer
    metrics it would use."""
    corpus = eval_settings(cfg).get('corpus')
    records = []
    for d in run_dirs:
        c = run_folder.read_json(os.path.join(d, 'config.json'), run_folder.CONFIG_FIX, default={})
        c = c if isinstance(c, dict) else {}
        name = os.path.basename(os.path.normpath(str(c.get('tokenizer') or '')))
        records.append({'config': c, 'eval': {'tokenizer': name, 'eval_set': {'corpus': corpus},
                                              'tokenizer_hash': c.get('tokenizer_hash')}})
    corpus_dir = eval_settings(cfg).get('corpus_dir', CORPUS_DIR)
    files = {}
    for c in sorted({str(corpus or r['config'].get('corpus')) for r in records}):
        path = os.path.join(corpus_dir, c, 'meta.json')
        if os.path.isfile(path):
            files[path] = file_sha256(path)
    if cfg.get('command') == 'scale' and records:
        text = study_text(records, cfg)
        files.update(lookup(run_hashes(records), text, cfg['tokenizer_eval_dir'])['files'])
    return files
