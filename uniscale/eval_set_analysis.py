"""
correlate.py scale's secondary eval sets (uniscale/eval_sets.py says which text a set is): each
run's entry of each secondary set, by identity; each set's ranking and verdict by the primary's own
code (scale_analysis.all_pairs: rank tests, seed intervals, rank_stats.verdict), labelled secondary
and never the headline; the flip table between sets at each size (Spearman, Kendall tau-b, the pairs
that flip, each flip's gap against its seed standard error); the report's section. JSON only.
"""
import itertools
import math
import shlex

import numpy as np

from uniscale import run_folder, study_inputs
from uniscale.eval_sets import eval_file_of, eval_settings, wanted_set
from uniscale.rank_stats import kendall_tau_b, spearman
from uniscale.report_format import fmt, md_table
from uniscale.scale_analysis import all_pairs, build_cells, natural_key, weighting_of


# ---------------------------------------------------------------- each run's entry of each set
def score_command(run_dir, settings):
    """The eval_bpb.py command that scores the run on a set (shell-quoted; a list as a comma
    list, as configurator.py reads it)."""
    args = [f"--{k}={','.join(v) if isinstance(v, (list, tuple)) else v}"
            for k, v in eval_settings(settings).items()]
    return shlex.join(['python', 'eval_bpb.py', f"--run={run_dir}"] + args)


def secondary_entry(rec, name, settings):
    """(the run's entry scored on the secondary set `name`, None) or (None, why): the set's
    identity hashed now, the entry of this run's run_id and of the checkpoint its primary entry
    scored."""
    settings = eval_settings(settings)
    path, command = eval_file_of(rec['dir'], settings), score_command(rec['dir'], settings)
    want = wanted_set(rec['config'], settings)
    ev = run_folder.read_json(path, f"score it again: {command}", default=None)
    entry = None
    if isinstance(ev, dict):
        entry, _ = study_inputs.study_entry(ev, rec['config'], settings, rec['dir'], want=want)
    if entry is None:
        return None, (f"not scored on the secondary eval set {name!r} "
                      f"({study_inputs.described(want)}); score it: {command}")
    if entry.get('step') != rec['eval'].get('step') or entry.get('finished') is not True:
        return None, (f"secondary eval set {name!r} scored step {entry.get('step')} (finished: "
                      f"{entry.get('finished')}), the primary step {rec['eval'].get('step')}; "
                      f"score it again: {command} --force=True")
    return {**entry, '_path': path}, None


def secondary_records(records, cfg):
    """({name: [records whose eval is the run's entry of that set]}, ['run: why'] for each entry
    missing)."""
    out, problems = {}, []
    for name, settings in cfg.get('secondary_eval_sets', {}).items():
        out[name] = []
        for r in records:
            entry, why = secondary_entry(r, name, settings)
            if why:
                problems.append(f"{r['name']}: {why}")
            else:
                out[name].append({**r, 'eval': entry})
    return out, problems


# ---------------------------------------------------------------- each set's ranking and verdict
def primary_name(s):
    es = s.get('eval_set') or {}
    return f"{es.get('corpus')} {es.get('split')}"


def set_identity(es):
    """The keys that say which text a set is (for the report and summary.json)."""
    keys = ('corpus', 'split', 'split_sha256', 'n_docs', 'max_docs_per_lang')
    return {k: (es or {}).get(k) for k in keys}


def set_cells(recs, cfg, weighting):
    """(cells {(tokenizer, size): per-seed values}, weighting used, its note) of one set's
    records, at the headline's weighting where the set allows it (scale_analysis.weighting_of
    says when it does not)."""
    evals = [r['eval'] for r in recs]
    value_of, used, note = weighting_of(evals, {**cfg, 'weighting': weighting or cfg['weighting']})
    return build_cells(evals, value_of), used, note


def secondary_summary(name, settings, recs, sizes, cfg, weighting):
    """One secondary set: its identity and note, every pair of sizes by the primary's code
    (all_pairs: rank tests, seed intervals, rank_stats.verdict), its headline pair (smallest vs
    largest size) and verdict, labelled secondary; and its cells, for the flip table."""
    cells, used, note = set_cells(recs, cfg, weighting)
    pairs = all_pairs(cells, sizes, cfg['higher_is_better'], cfg) if cells else []
    head = next((p for p in pairs if (p['small'], p['large']) == (sizes[0], sizes[-1])), None)
    row = {'name': name, 'role': 'secondary', 'n_runs': len(recs), 'note': settings.get('note'),
           'eval_set': set_identity(recs[0]['eval'].get('eval_set')),
           'weighting': used, 'weighting_note': note, 'pairs': pairs, 'headline': head,
           'verdict': f"secondary: {head['verdict']}" if head else None,
           'means': {f"{t}|{z}": float(c.mean()) for (t, z), c in cells.items()}}
    return row, cells


def refuse_missing(problems, cfg):
    if problems and not cfg['allow_missing']:
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ''
        raise SystemExit(f"correlate.py scale: {len(problems)} run(s) lack a secondary eval set's "
                         f"entry: {'; '.join(problems[:3])}{more}; score them (python sweep.py "
                         f"CONFIG does), or pass --allow_missing=True to leave them out of that "
                         f"set's analysis (listed at the top of the report)")


def secondary_analysis(records, s, cfg):
    """s['eval_sets'] (the primary, then each secondary set) and s['eval_set_flips'] (the flip
    table at each size); returns what was left out (allow_missing), else refuses in one line runs
    without a secondary entry."""
    sets = cfg.get('secondary_eval_sets') or {}
    if not sets:
        return []
    if cfg['metric'] != 'bpb':
        s['eval_sets_note'] = (f"secondary eval sets are scored for bpb; the metric "
                               f"{cfg['metric']} is not theirs: not analysed")
        return []
    by_set, problems = secondary_records(records, cfg)
    refuse_missing(problems, cfg)
    sizes = [z['preset'] for z in s['sizes']]
    primary, _, _ = set_cells(records, cfg, s['weighting'])
    rows = [{'name': primary_name(s), 'role': 'primary', 'n_runs': s['n_runs'], 'note': None,
             'eval_set': set_identity(s.get('eval_set')), 'weighting': s['weighting'],
             'headline': s['headline'], 'verdict': (s['headline'] or {}).get('verdict')}]
    all_cells = {rows[0]['name']: primary}
    for name, recs in by_set.items():
        if not recs:
            rows.append({'name': name, 'role': 'secondary', 'n_runs': 0, 'eval_set': None,
                         'note': sets[name].get('note'), 'headline': None, 'verdict': None,
                         'pairs': []})
            continue
        row, all_cells[name] = secondary_summary(name, sets[name], recs, sizes, cfg, s['weighting'])
        rows.append(row)
    s['eval_sets'], s['eval_set_flips'] = rows, flip_table(all_cells, sizes)
    return [f"{p} (left out of that set only)" for p in problems]


# ---------------------------------------------------------------- between sets: the flip table
def gap_z(a, b):
    """(mean of a - mean of b) over its standard error from the two cells' seeds; None with one
    seed in either."""
    if len(a) < 2 or len(b) < 2:
        return None
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return float((a.mean() - b.mean()) / se) if se > 0 else None


def flipped_pairs(tokenizers, a, b):
    """[(t, u)] for each pair the two sets order oppositely (a tie in either is no flip); a and
    b: {tokenizer: mean} in one orientation (what counts is the sign of a difference)."""
    return [(t, u) for t, u in itertools.combinations(tokenizers, 2)
            if (a[t] - a[u]) * (b[t] - b[u]) < 0]


def flip_row(ca, cb, z, names):
    """One size, two sets (cells ca, cb): the statistics between their rankings and the flips."""
    toks = sorted({t for t, zz in ca if zz == z and (t, z) in cb}, key=natural_key)
    a = {t: float(ca[t, z].mean()) for t in toks}
    b = {t: float(cb[t, z].mean()) for t in toks}
    x, y = np.array([a[t] for t in toks]), np.array([b[t] for t in toks])
    defined = len(toks) >= 2 and np.ptp(x) > 0 and np.ptp(y) > 0
    flips = [{'pair': [t, u], 'gap_a': a[t] - a[u], 'gap_b': b[t] - b[u],
              'z_a': gap_z(ca[t, z], ca[u, z]), 'z_b': gap_z(cb[t, z], cb[u, z])}
             for t, u in flipped_pairs(toks, a, b)]
    return {'size': z, 'sets': list(names), 'n_tokenizers': len(toks),
            'spearman': float(spearman(x, y)) if defined else None,
            'kendall': kendall_tau_b(x, y) if defined else None,
            'n_pairs': len(toks) * (len(toks) - 1) // 2, 'flipped': flips}


def flip_table(cells_by_set, sizes):
    """Per size, per pair of sets (the primary first): Spearman and Kendall tau-b between the sets'
    rankings of the tokenizers measured in both (cell means), and the pairs that flip with each
    set's gap and its z (gap over the standard error of the two cells' means from their seeds).
    cells_by_set: {set: {(tokenizer, size): per-seed values}}."""
    return [flip_row(cells_by_set[sa], cells_by_set[sb], z, (sa, sb))
            for z in sizes for sa, sb in itertools.combinations(list(cells_by_set), 2)]


# ---------------------------------------------------------------- the report's section
def set_row(r):
    es, h = r.get('eval_set') or {}, r.get('headline') or {}
    sha = str(es.get('split_sha256'))[:12]
    ident = f"{es.get('corpus')}/{es.get('split')} sha256 {sha}" if es else '-'
    verdict = r['verdict'] if r['role'] == 'primary' else (r['verdict'] or 'no runs')
    return [r['name'], r['role'], ident, fmt(es.get('n_docs')), r.get('weighting') or '-',
            fmt(h.get('spearman')), fmt(h.get('kendall')), fmt(h.get('decision_accuracy')),
            h.get('large_best', '-'), verdict]


def set_table(s):
    return md_table(['set', 'role', 'identity', 'documents', 'weighting', 'ρ', 'τ-b',
                     'decision accuracy', "large size's best", 'verdict'],
                    [set_row(r) for r in s['eval_sets']])


def flip_words(f, sa, sb):
    z = [v for v in (f['z_a'], f['z_b']) if v is not None]
    noise = ('seed z unknown (one seed)' if len(z) < 2 else
             'beyond 2 seed standard errors in both sets' if min(map(abs, z)) >= 2 else
             'within 2 seed standard errors in at least one set')
    zs = lambda v: '' if v is None else f" (z {v:+.1f})"
    return (f"{f['pair'][0]} vs {f['pair'][1]}: {sa} {f['gap_a']:+.4f}{zs(f['z_a'])}, "
            f"{sb} {f['gap_b']:+.4f}{zs(f['z_b'])}; {noise}")


def flip_rows(s):
    rows, flips = [], []
    for f in s['eval_set_flips']:
        sa, sb = f['sets']
        rows.append([f['size'], f"{sa} vs {sb}", f['n_tokenizers'], fmt(f['spearman']),
                     fmt(f['kendall']), f"{len(f['flipped'])} of {f['n_pairs']}"])
        flips += [f"- {f['size']}: " + flip_words(p, sa, sb) for p in f['flipped']]
    return rows, flips


FLIP_INTRO = (
    "Do the sets rank the tokenizers alike? At each size, Spearman ρ and Kendall τ-b between two "
    "sets' rankings of the tokenizers (cell means over seeds, the headline's weighting), and the "
    "pairs of tokenizers the two sets order oppositely. No p-value: the question is how often the "
    "order changes, not whether it is random.")
FLIPS_INTRO = (
    "Pairs that flip (the gap is the first tokenizer minus the second in each set; z = the gap "
    "over the standard error of the two cells' means from their seeds):")


def eval_sets_lines(s):
    """The report's section on the eval sets: each set's identity and headline pair (secondary ones
    labelled, never the verdict), the notes, and the flip table between sets at each size."""
    if s.get('eval_sets_note'):
        return ['', '## Eval sets', '', s['eval_sets_note'] + '.']
    if not s.get('eval_sets'):
        return []
    h = s['headline'] or {}
    lines = ['', '## Eval sets: the primary decides, secondary sets check', '',
             f"The headline and the verdict are read on the primary set only "
             f"({s['eval_sets'][0]['name']}). Each secondary set gets its own ranking and verdict "
             f"from the same analysis (rank tests, seed intervals, the verdict rule), at the "
             f"headline's weighting ({s['weighting']}) where the set allows it; a secondary "
             f"verdict never changes the headline. Headline pair: {h.get('small')} vs "
             f"{h.get('large')}.",
             '', set_table(s), '']
    lines += [f"- {r['name']}: {r['note']}" for r in s['eval_sets'] if r.get('note')]
    lines += [f"- {r['name']}: {r['weighting_note']} (not the headline's weighting)"
              for r in s['eval_sets'] if r['role'] == 'secondary' and r.get('weighting')
              and r['weighting'] != s['weighting']]
    rows, flips = flip_rows(s)
    header = ['size', 'sets', 'tokenizers', 'Spearman ρ', 'Kendall τ-b', 'pairs that flip']
    lines += ['', FLIP_INTRO, '', md_table(header, rows), '']
    return lines + ([FLIPS_INTRO] + flips if flips else
                    ['No pair of tokenizers flips between the sets at any size.'])


def secondary_lines(s):
    """correlate.py's console lines: each secondary set's headline verdict, labelled secondary."""
    out = []
    for r in (s.get('eval_sets') or [])[1:]:
        h = r.get('headline') or {}
        out.append(f"secondary eval set {r['name']} (not the verdict): " + (
            f"{h['small']} -> {h['large']} Spearman rho {fmt(h.get('spearman'))}, decision "
            f"accuracy {fmt(h.get('decision_accuracy'))}: {h['verdict']}" if h else 'no runs'))
    return out
