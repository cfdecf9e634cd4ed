"""
The analysis of both studies, from JSON only (eval.json, log.jsonl, config.json, token sidecars; never checkpoints).

    python correlate.py scale --runs_dir=out/runs --name=scale         # does the small-model ranking predict the large?
    python correlate.py scale --metric=tasks.xnli.acc_norm              # any number in eval.json, dotted
    python correlate.py ab --runs=out/runs/gpt2-40M_bpe-16k_s1,out/runs/gpt2-40M_btm-16k_s1 --name=ab

scale: for every tokenizer and model size (preset) the mean and std of the metric over seeds; for every pair of sizes
(small, large): Spearman rho and Kendall tau-b over tokenizers with exact permutation p-values (all n! orderings up to
exact_max_n tokenizers, seeded Monte-Carlo beyond), a bootstrap CI of rho over seeds, top-1 agreement and the regret of
the small model's pick; seed noise next to the gaps between tokenizers; the same within each algorithm and language.
ab: learning curves of two (or more) runs on shared charts, in loss and in bits per byte, against steps, wall-clock
and bytes of text seen; steps and time to reach targets; tokens per document and bytes per token of each tokenizer.
Writes out/analysis/{name}/: summary.json, summary.csv, report.md and PNG plots.
"""
import csv
import glob
import io
import itertools
import json
import math
import os
import re
from functools import lru_cache

import numpy as np

import configurator
from atomic import write_atomic, write_json_atomic

# -----------------------------------------------------------------------------
# defaults (override with config/*.py or --key=value)
command = 'scale'            # 'scale' | 'ab'
runs_dir = 'out/runs'
runs = []                    # run folders or names under runs_dir (globs allowed); scale: [] = all of runs_dir
name = ''                    # output folder out/analysis/{name}; '' = the command
analysis_dir = 'out/analysis'
metric = 'bpb'               # scale: a number in eval.json, dotted for nested ones (tasks.hellaswag.acc_norm)
higher_is_better = None      # None: True for accuracies (tasks.*, *acc*), False otherwise (bpb, nll)
split = ''                   # '' or 'test': eval.json; else eval_{split}.json (what eval_bpb.py --split writes)
seed = 1337                  # of the bootstrap and the Monte-Carlo permutations
n_bootstrap = 10_000         # resamples of the seeds, for the confidence interval of rho
exact_max_n = 9              # exact p-values by enumerating all n! orderings up to this many tokenizers (9! = 362,880)
n_permutations = 100_000     # Monte-Carlo orderings beyond exact_max_n
tokens_dir = 'out/tokens'    # ab: token sidecars out/tokens/{corpus}/{tokenizer}/{split}.json
token_stats_split = 'val'    # ab: the split whose sidecar gives tokens per document and bytes per token
loss_targets = []            # ab: val loss (nats/token) targets
bpb_targets = []             # ab: val bpb targets; [] = the final val bpb of the worse run
# -----------------------------------------------------------------------------
HIGH, MODERATE = 0.8, 0.5    # verdict thresholds on Spearman rho: > 0.8 high, 0.5-0.8 moderate, < 0.5 low
MIN_GROUP = 3                # tokenizers needed for a within-algorithm correlation


# ---------------------------------------------------------------- rank statistics
def average_ranks(a):
    """Ranks 1..n along the last axis, ties sharing their average rank (as scipy.stats.rankdata)."""
    a = np.asarray(a, dtype=float)
    less = (a[..., :, None] > a[..., None, :]).sum(-1)
    equal = (a[..., :, None] == a[..., None, :]).sum(-1)
    return less + (equal + 1) / 2


def spearman(x, y):
    """Spearman rho: Pearson correlation of the average ranks; nan when either side is constant."""
    return _pearson(average_ranks(x), average_ranks(y))


def _pearson(a, b):
    a, b = a - a.mean(-1, keepdims=True), b - b.mean(-1, keepdims=True)
    den = np.sqrt((a * a).sum(-1) * (b * b).sum(-1))
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(den > 0, (a * b).sum(-1) / np.where(den > 0, den, 1), np.nan)


def _signs(v):
    v = np.asarray(v, dtype=float)
    return np.sign(v[:, None] - v[None, :]).astype(np.int64)


def kendall_tau_b(x, y):
    """Kendall tau-b: (concordant - discordant) / sqrt((n0 - ties_x)(n0 - ties_y)); nan when either side is constant."""
    sx, sy = _signs(x), _signs(y)
    iu = np.triu_indices(len(sx), 1)
    den = math.sqrt(float((sx[iu] != 0).sum()) * float((sy[iu] != 0).sum()))
    return float((sx[iu] * sy[iu]).sum() / den) if den > 0 else float('nan')


@lru_cache(maxsize=4)
def all_permutations(n):
    return np.array(list(itertools.permutations(range(n))), dtype=np.int64).reshape(-1, n)


def rank_tests(x, y, exact_max_n=9, n_permutations=100_000, seed=1337):
    """rho, its p-value, tau-b, its p-value, and how the p-values were computed ('exact' or 'monte-carlo').

    The null distribution reorders y against x. Both statistics are compared through integer numerators
    (sum of doubled-rank products, concordant minus discordant pairs), whose denominators do not change under
    reordering, so ties are handled exactly and no floating-point tolerance is needed. Two-sided p-values follow
    scipy.stats.permutation_test: 2 * min(P(T <= t), P(T >= t)), capped at 1; Monte-Carlo adds one to both counts."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    rho, tau = float(spearman(x, y)), kendall_tau_b(x, y)
    if n < 2 or math.isnan(rho):
        return rho, float('nan'), tau, float('nan'), 'none'
    rx, ry = (2 * average_ranks(x)).astype(np.int64), (2 * average_ranks(y)).astype(np.int64)
    sx, sy = _signs(x), _signs(y)
    iu, ju = np.triu_indices(n, 1)
    if n <= exact_max_n:
        perms, method, extra = all_permutations(n), 'exact', 0
    else:
        rng = np.random.default_rng(seed)
        perms, method, extra = rng.permuted(np.tile(np.arange(n), (n_permutations, 1)), axis=1), 'monte-carlo', 1
    rho_obs, tau_obs = rx @ ry, (sx[iu, ju] * sy[iu, ju]).sum()
    counts = np.zeros(4, dtype=np.int64)  # rho <=, rho >=, tau <=, tau >=
    for chunk in np.array_split(perms, max(1, len(perms) // 50_000)):
        rho_null = ry[chunk] @ rx
        tau_null = sy[chunk[:, iu], chunk[:, ju]] @ sx[iu, ju]
        counts += [(rho_null <= rho_obs).sum(), (rho_null >= rho_obs).sum(),
                   (tau_null <= tau_obs).sum(), (tau_null >= tau_obs).sum()]
    p = (counts + extra) / (len(perms) + extra)
    return rho, min(1.0, 2 * min(p[0], p[1])), tau, min(1.0, 2 * min(p[2], p[3])), method


def bootstrap_spearman_ci(small, large, n_resamples=10_000, seed=1337, level=0.95):
    """Percentile CI of rho between per-tokenizer means, resampling each cell's seeds with replacement.
    small, large: lists (one per tokenizer) of arrays of per-seed values."""
    rng = np.random.default_rng(seed)

    def resampled_means(cells):
        return np.stack([np.asarray(c, float)[rng.integers(0, len(c), (n_resamples, len(c)))].mean(1)
                         for c in cells], axis=1)
    rhos = spearman(resampled_means(small), resampled_means(large))
    if np.isnan(rhos).all():
        return [float('nan'), float('nan')]
    lo, hi = np.nanpercentile(rhos, [50 * (1 - level), 50 * (1 + level)])
    return [float(lo), float(hi)]


def verdict(rho):
    """The README's words: rho > 0.8 high, 0.5-0.8 moderate, below 0.5 low."""
    if rho is None or math.isnan(rho):
        return 'undefined'
    return 'high' if rho > HIGH else 'moderate' if rho >= MODERATE else 'low'


# ---------------------------------------------------------------- scale mode
def metric_value(ev, key):
    """eval.json's number at a dotted key ('bpb', 'tasks.xnli.acc_norm'); None when absent."""
    v = ev
    for part in key.split('.'):
        if not isinstance(v, dict) or part not in v:
            return None
        v = v[part]
    return float(v) if isinstance(v, (int, float)) else None


def run_folders(runs_dir, runs):
    """Run folders from paths or bare names (under runs_dir), globs allowed; [] = every folder of runs_dir."""
    found = []
    for r in runs or ['*']:
        r = r if os.sep in r else os.path.join(runs_dir, r)
        found += sorted(glob.glob(os.path.join(r, ''))) if glob.has_magic(r) else [r]
    return [os.path.normpath(f) for f in dict.fromkeys(found)]


def eval_name(split):
    """What eval_bpb.py writes: eval.json for the test split, eval_{split}.json for another."""
    return 'eval.json' if split in ('', 'test') else f'eval_{split}.json'


def read_json(path, default=None):
    if not os.path.isfile(path):
        return default
    with open(path) as f:
        return json.load(f)


def load_evals(runs_dir, split='', runs=()):
    """The eval files of the runs (eval.json, or eval_{split}.json), checked for the keys the analysis needs."""
    fname = eval_name(split)
    folders = run_folders(runs_dir, runs)
    paths = [p for p in (os.path.join(d, fname) for d in folders) if os.path.isfile(p)]
    if runs and len(paths) < len(folders):
        print(f"note: no {fname} yet in {len(folders) - len(paths)} of {len(folders)} runs; analysing the rest")
    evals = []
    for path in paths:
        ev = read_json(path)
        missing = [k for k in ('preset', 'tokenizer', 'seed', 'bpb', 'n_params_nonembedding') if k not in ev]
        if missing:
            raise SystemExit(f"{path}: missing {missing}; re-run eval_bpb.py --run={os.path.dirname(path)} (forced)")
        ev['_path'] = path
        evals.append(ev)
    if not evals:
        raise SystemExit(f"{runs_dir}: no eval.json{' of split ' + split if split else ''}; "
                         f"train and evaluate runs first (python sweep.py config/sweep_demo.py)")
    splits = sorted({str(ev.get('split')) for ev in evals})
    if len(splits) > 1:
        raise SystemExit(f"{runs_dir}: the {fname} files hold several splits {splits}; "
                         f"re-run eval_bpb.py on the odd ones")
    return evals


def natural_key(name):
    """bpe-80k before bpe-128k: digit runs compare as numbers."""
    return [int(p) if p.isdigit() else p for p in re.split(r'(\d+)', name)]


def build_cells(evals, value_of):
    """{(tokenizer, preset): {seed: value}} for the evals where value_of(ev) is a number; duplicates are an error."""
    cells = {}
    for ev in evals:
        v = value_of(ev)
        if v is None:
            continue
        cell = cells.setdefault((ev['tokenizer'], ev['preset']), {})
        if ev['seed'] in cell:
            raise SystemExit(f"{ev['_path']}: a second run of {ev['tokenizer']} {ev['preset']} seed {ev['seed']}; "
                             f"move one of them out of the runs folder")
        cell[ev['seed']] = v
    return {k: np.array([c[s] for s in sorted(c)]) for k, c in cells.items()}


def compare_sizes(cells, tokenizers, small, large, higher, cfg):
    """The statistics of one (small, large) pair over the tokenizers present at both sizes."""
    toks = [t for t in tokenizers if (t, small) in cells and (t, large) in cells]
    out = dict(small=small, large=large, n_tokenizers=len(toks), tokenizers=toks)
    if len(toks) < 2:
        return {**out, 'spearman': None, 'verdict': 'undefined'}
    xs = [cells[t, small] for t in toks]
    ys = [cells[t, large] for t in toks]
    mx, my = np.array([c.mean() for c in xs]), np.array([c.mean() for c in ys])
    rho, p_rho, tau, p_tau, how = rank_tests(mx, my, cfg['exact_max_n'], cfg['n_permutations'], cfg['seed'])
    best = np.argmax if higher else np.argmin
    pick, top = int(best(mx)), int(best(my))
    regret = float(abs(my[pick] - my[top]))
    return {**out, 'spearman': rho, 'spearman_p': p_rho, 'kendall': tau, 'kendall_p': p_tau, 'p_method': how,
            'spearman_ci': bootstrap_spearman_ci(xs, ys, cfg['n_bootstrap'], cfg['seed']),
            'min_seeds': int(min(len(c) for c in xs + ys)), 'small_pick': toks[pick], 'large_best': toks[top],
            'top1_agree': bool(regret == 0.0), 'regret': regret,
            'regret_bpb': regret if cfg['metric'] == 'bpb' else None, 'verdict': verdict(rho)}


def noise_vs_gaps(cells, tokenizers, size):
    """Seed std (pooled over tokenizers) next to the gaps between adjacent tokenizers' means at one size."""
    cs = [cells[t, size] for t in tokenizers if (t, size) in cells]
    var = [c.var(ddof=1) for c in cs if len(c) > 1]
    std = float(np.sqrt(np.mean(var))) if var else None
    means = np.sort([c.mean() for c in cs])
    gaps = np.diff(means)
    some = len(gaps) > 0
    return dict(size=size, n_tokenizers=len(cs), seed_std=std, spread=float(means[-1] - means[0]),
                min_gap=float(gaps.min()) if some else None, median_gap=float(np.median(gaps)) if some else None,
                gaps_over_2std=int((gaps > 2 * std).sum()) if std is not None else None, n_gaps=len(gaps))


def all_pairs(cells, sizes, higher, cfg, tokenizers=None):
    tokenizers = tokenizers or sorted({t for t, _ in cells}, key=natural_key)
    return [compare_sizes(cells, tokenizers, a, b, higher, cfg) for a, b in itertools.combinations(sizes, 2)]


def scale_analysis(evals, cfg):
    """The scale-mode summary (a dict, as written to summary.json) from a list of eval.json dicts."""
    key = cfg['metric']
    higher = cfg['higher_is_better']
    if higher is None:
        higher = key.startswith('tasks.') or 'acc' in key
    cells = build_cells(evals, lambda ev: metric_value(ev, key))
    if not cells:
        raise SystemExit(f"no eval.json holds the metric '{key}'; check --metric (dotted, e.g. tasks.xnli.acc)")
    params = {}
    for ev in evals:
        params.setdefault(ev['preset'], []).append(ev['n_params_nonembedding'])
    sizes = sorted({s for _, s in cells}, key=lambda s: np.median(params[s]))
    tokenizers = sorted({t for t, _ in cells}, key=natural_key)
    pairs = all_pairs(cells, sizes, higher, cfg)
    groups = {}  # algorithm (the name's prefix: bpe, unigram, btm) -> its tokenizers
    for t in tokenizers:
        groups.setdefault(t.split('-')[0], []).append(t)
    by_alg = {a: all_pairs(cells, sizes, higher, cfg, g) for a, g in groups.items() if len(g) >= MIN_GROUP}
    langs = sorted({lang for ev in evals for lang in ev.get('per_lang') or {}}) if key == 'bpb' else []
    by_lang = {lang: all_pairs(build_cells(evals, lambda ev: metric_value(ev.get('per_lang') or {}, f'{lang}.bpb')),
                               sizes, higher, cfg, tokenizers) for lang in langs}
    headline = next((p for p in pairs[::-1] if p['small'] == sizes[0] and p['large'] == sizes[-1]), None)
    return dict(
        metric=key, higher_is_better=higher, split=evals[0].get('split'), n_runs=len(evals),
        sizes=[dict(preset=s, n_params_nonembedding=int(np.median(params[s]))) for s in sizes],
        tokenizers=tokenizers,
        cells=[dict(tokenizer=t, size=s, n_seeds=len(c), mean=float(c.mean()),
                    std=float(c.std(ddof=1)) if len(c) > 1 else None, values=c.tolist())
               for (t, s), c in sorted(cells.items(), key=lambda kv: (natural_key(kv[0][0]), sizes.index(kv[0][1])))],
        pairs=pairs, headline=headline, noise=[noise_vs_gaps(cells, tokenizers, s) for s in sizes],
        by_algorithm=by_alg, by_language=by_lang,
        thresholds=dict(high=HIGH, moderate=MODERATE),
        p_values=f"two-sided permutation test: exact over all n! orderings for n <= {cfg['exact_max_n']} "
                 f"tokenizers, else Monte-Carlo with {cfg['n_permutations']} orderings (seed {cfg['seed']})",
        bootstrap=dict(n_resamples=cfg['n_bootstrap'], seed=cfg['seed'], level=0.95,
                       what='seeds resampled with replacement within each (tokenizer, size) cell'))


def _fmt(v, nd=3):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return '-'
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def md_table(header, rows):
    return '\n'.join(['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)] +
                     ['| ' + ' | '.join(map(str, r)) + ' |' for r in rows])


def pairs_table(pairs):
    rows = []
    for p in pairs:
        if p.get('spearman') is None:
            rows.append([p['small'], p['large'], p['n_tokenizers']] + ['-'] * 5 + ['undefined'])
            continue
        rows.append([p['small'], p['large'], p['n_tokenizers'], f"{_fmt(p['spearman'])} ({_fmt(p['spearman_p'])})",
                     f"[{_fmt(p['spearman_ci'][0])}, {_fmt(p['spearman_ci'][1])}]",
                     f"{_fmt(p['kendall'])} ({_fmt(p['kendall_p'])})",
                     'yes' if p['top1_agree'] else f"no ({p['small_pick']})", _fmt(p['regret'], 4), p['verdict']])
    return md_table(['small', 'large', 'n', 'Spearman ρ (p)', '95% CI', 'Kendall τ-b (p)', 'top-1', 'regret',
                     'verdict'], rows)


def scale_report(s):
    h, sizes = s['headline'], [z['preset'] for z in s['sizes']]
    lines = [f"# Tokenizer ranking across model sizes ({s['metric']}, {s['split']} split)", '']
    if h and h.get('spearman') is not None:
        lines += [f"**Verdict: {h['verdict']}** rank correlation between {h['small']} and {h['large']}: "
                  f"Spearman ρ = {h['spearman']:.3f} (p = {h['spearman_p']:.3f}, {h['p_method']}; 95% CI over seeds "
                  f"[{_fmt(h['spearman_ci'][0])}, {_fmt(h['spearman_ci'][1])}]), Kendall τ-b = {h['kendall']:.3f} "
                  f"(p = {h['kendall_p']:.3f}), over {h['n_tokenizers']} tokenizers. The small model's pick "
                  f"({h['small_pick']}) {'is' if h['top1_agree'] else 'is not'} the large model's best "
                  f"({h['large_best']}); regret {h['regret']:.4f} {s['metric']}.", '']
    cell = {(c['tokenizer'], c['size']): c for c in s['cells']}
    means = [[t] + ['-' if (t, z) not in cell else f"{cell[t, z]['mean']:.4f} ± {_fmt(cell[t, z]['std'], 4)} "
                    f"(n={cell[t, z]['n_seeds']})" for z in sizes] for t in s['tokenizers']]
    noise = [[z['size'], _fmt(z['seed_std'], 4), _fmt(z['min_gap'], 4), _fmt(z['median_gap'], 4), _fmt(z['spread'], 4),
              f"{_fmt(z['gaps_over_2std'])} of {z['n_gaps']}"] for z in s['noise']]
    lines += [f"Thresholds: ρ > {HIGH} high, {MODERATE}–{HIGH} moderate, below {MODERATE} low. P-values: "
              f"{s['p_values']}. {s['n_runs']} runs.", '',
              f"## {s['metric']} per tokenizer and size (mean ± std over seeds)", '',
              md_table(['tokenizer'] + sizes, means), '', '## Every pair of sizes', '', pairs_table(s['pairs']), '',
              '## Seed noise vs gaps between tokenizers', '',
              'Gaps are between adjacent tokenizers sorted by mean; a gap above 2 × seed std is resolved by one run.',
              '',
              md_table(['size', 'seed std', 'min gap', 'median gap', 'spread', 'gaps > 2 std'], noise)]
    for title, groups, empty in (
            ('Within each algorithm', s['by_algorithm'], f"needs ≥ {MIN_GROUP} tokenizers of one algorithm"),
            ('Per language', s['by_language'], 'no per-language bpb in eval.json, or the metric is not bpb')):
        lines += ['', f"## {title}", ''] + ([] if groups else [f"(none: {empty})"])
        for g, pairs in groups.items():
            lines += [f"### {g}", '', pairs_table(pairs), '']
    lines += ['', '## Plots', ''] + [f"![{f}]({f})" for f in s.get('plots', [])]
    return '\n'.join(lines) + '\n'


def csv_text(rows, cols):
    buf = io.StringIO()
    w = csv.DictWriter(buf, cols, extrasaction='ignore')
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def summary_csv(s):
    """One row per (group, small, large): group 'all', 'algorithm:bpe', 'lang:eng', ..."""
    groups = [('all', s['pairs'])] + [(f'algorithm:{g}', p) for g, p in s['by_algorithm'].items()] + \
             [(f'lang:{g}', p) for g, p in s['by_language'].items()]
    rows = [{**p, 'group': g, 'spearman_ci_lo': (p.get('spearman_ci') or [None])[0],
             'spearman_ci_hi': (p.get('spearman_ci') or [None, None])[1]} for g, pairs in groups for p in pairs]
    return csv_text(rows, ['group', 'small', 'large', 'n_tokenizers', 'spearman', 'spearman_p', 'kendall', 'kendall_p',
                           'p_method', 'spearman_ci_lo', 'spearman_ci_hi', 'top1_agree', 'small_pick', 'large_best',
                           'regret', 'verdict'])


# ---------------------------------------------------------------- plots
def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path):
    plt = _pyplot()
    fig.tight_layout()
    fig.savefig(path + '.tmp', format='png', dpi=110)
    plt.close(fig)
    os.replace(path + '.tmp', path)
    return os.path.basename(path)


def scale_plots(s, out_dir):
    plt = _pyplot()
    sizes = [z['preset'] for z in s['sizes']]
    cell = {(c['tokenizer'], c['size']): c for c in s['cells']}
    files = []
    for p in s['pairs']:  # small vs large scatter, one per pair
        if p.get('spearman') is None:
            continue
        fig, ax = plt.subplots(figsize=(5.5, 5))
        for t in p['tokenizers']:
            a, b = cell[t, p['small']], cell[t, p['large']]
            ax.errorbar(a['mean'], b['mean'], xerr=a['std'] or 0, yerr=b['std'] or 0, fmt='o', capsize=3)
            ax.annotate(t, (a['mean'], b['mean']), textcoords='offset points', xytext=(4, 4), fontsize=8)
        ax.set(xlabel=f"{s['metric']} at {p['small']}", ylabel=f"{s['metric']} at {p['large']}",
               title=f"ρ = {p['spearman']:.2f} (p = {p['spearman_p']:.3f}), τ-b = {p['kendall']:.2f}")
        files.append(save_figure(fig, os.path.join(out_dir, f"scatter_{p['small']}_vs_{p['large']}.png")))
    rho = np.full((len(sizes), len(sizes)), np.nan)  # heatmap of rho over size pairs
    np.fill_diagonal(rho, 1.0)
    for p in s['pairs']:
        if p.get('spearman') is not None:
            i, j = sizes.index(p['small']), sizes.index(p['large'])
            rho[i, j] = rho[j, i] = p['spearman']
    fig, ax = plt.subplots(figsize=(1.2 * len(sizes) + 2.5, 1.1 * len(sizes) + 1.5))
    im = ax.imshow(rho, vmin=-1, vmax=1, cmap='RdBu')
    for i, j in itertools.product(range(len(sizes)), repeat=2):
        ax.text(j, i, _fmt(rho[i, j], 2), ha='center', va='center', fontsize=9,
                color='white' if abs(np.nan_to_num(rho[i, j])) > 0.6 else 'black')
    ax.set_xticks(range(len(sizes)), sizes, rotation=30, ha='right')
    ax.set_yticks(range(len(sizes)), sizes)
    ax.set_title(f"Spearman ρ of tokenizer {s['metric']} between sizes")
    fig.colorbar(im, ax=ax)
    files.append(save_figure(fig, os.path.join(out_dir, 'rho_heatmap.png')))
    fig, ax = plt.subplots(figsize=(7, 5))  # metric vs non-embedding parameters
    n = {z['preset']: z['n_params_nonembedding'] for z in s['sizes']}
    for t in s['tokenizers']:
        cs = [cell[t, z] for z in sizes if (t, z) in cell]
        ax.errorbar([n[c['size']] for c in cs], [c['mean'] for c in cs], yerr=[c['std'] or 0 for c in cs],
                    marker='o', capsize=3, label=t)
    ax.set_xscale('log')
    ax.set(xlabel='non-embedding parameters', ylabel=s['metric'], title=f"{s['metric']} vs model size")
    ax.legend(fontsize=8)
    files.append(save_figure(fig, os.path.join(out_dir, f"{s['metric'].replace('.', '_')}_vs_params.png")))
    return files


# ---------------------------------------------------------------- A/B mode
def read_log(path):
    """log.jsonl events sorted by step, the last event kept where a resumed run logged a step twice."""
    events = {}
    with open(path) as f:
        for i, line in enumerate(f):
            try:
                ev = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a killed run
            events[ev.get('step', i)] = ev
    return [events[k] for k in sorted(events)]


def token_stats(run_cfg, events, tokens_root, split_name):
    """Tokens per document and bytes per token of the run's tokenizer, from the token sidecar (or the log)."""
    tok = run_cfg.get('tokenizer_name') or os.path.basename(os.path.normpath(str(run_cfg.get('tokenizer', ''))))
    folder = run_cfg.get('tokens_dir') or os.path.join(tokens_root, str(run_cfg.get('corpus', '')), tok)
    path = os.path.join(folder, f'{split_name}.json')
    m = read_json(path)
    if m:
        return dict(tokenizer=tok, source=path, tokens_per_doc=m['n_tokens'] / m['n_docs'],
                    bytes_per_token=m['n_bytes'] / m['n_tokens'])
    last = next((e for e in events[::-1] if e.get('tokens') and e.get('bytes')), None)
    return dict(tokenizer=tok, source='log.jsonl (bytes / tokens seen)', tokens_per_doc=None,
                bytes_per_token=last['bytes'] / last['tokens'] if last else None)


def first_reach(events, key, target):
    """The first eval event whose `key` is at or below target, else None."""
    return next((e for e in events if e.get(key) is not None and e[key] <= target), None)


def at_bytes(events, key, n_bytes):
    """`key` linearly interpolated at n_bytes of text seen."""
    pts = [(e['bytes'], e[key]) for e in events if e.get(key) is not None and e.get('bytes') is not None]
    return float(np.interp(n_bytes, *zip(*pts))) if pts else None


def ab_analysis(run_dirs, cfg):
    """The A/B summary, and each run's events for the plots."""
    runs_out = []
    for d in run_dirs:
        log = os.path.join(d, 'log.jsonl')
        if not os.path.isfile(log):
            raise SystemExit(f"{log}: not found; train the run first (python train.py ...) or fix --runs")
        events = read_log(log)
        val = [e for e in events if e.get('val_loss') is not None]
        last, last_val = (events or [{}])[-1], (val or [{}])[-1]
        ev = read_json(os.path.join(d, eval_name(cfg['split'])), {})
        run_cfg = read_json(os.path.join(d, 'config.json'), {})
        runs_out.append(dict(run=os.path.basename(os.path.normpath(d)), dir=d, events=events, val=val,
                             steps=last.get('step'), tokens=last.get('tokens'), bytes=last.get('bytes'),
                             elapsed_s=last.get('elapsed_s'), tok_per_s=last.get('tok_per_s'),
                             final_val_loss=last_val.get('val_loss'), final_val_bpb=last_val.get('val_bpb'),
                             eval_bpb=ev.get('bpb'),
                             **token_stats(run_cfg, events, cfg['tokens_dir'], cfg['token_stats_split'])))
    finals = [r['final_val_bpb'] for r in runs_out if r['final_val_bpb'] is not None]
    bpb_t = list(cfg['bpb_targets']) or ([max(finals)] if finals else [])
    targets = []
    for key, values in (('val_loss', cfg['loss_targets']), ('val_bpb', bpb_t)):
        for t in values:
            for r in runs_out:
                e = first_reach(r['val'], key, t)
                targets.append(dict(metric=key, target=t, run=r['run'], step=e and e.get('step'),
                                    elapsed_s=e and e.get('elapsed_s'), bytes=e and e.get('bytes')))
    common = min((r['bytes'] for r in runs_out if r['bytes']), default=None)
    for r in runs_out:
        r['val_bpb_at_common_bytes'] = at_bytes(r['val'], 'val_bpb', common) if common else None
    return dict(runs=[{k: v for k, v in r.items() if k not in ('events', 'val')} for r in runs_out],
                targets=targets, common_bytes=common), runs_out


def ab_plots(runs_out, out_dir):
    plt = _pyplot()
    charts = [('val_loss', 'step', 'val loss (nats/token)', 'step'), ('val_loss', 'elapsed_s', 'val loss (nats/token)',
              'wall-clock (s)'), ('val_bpb', 'step', 'val bits per byte', 'step'),
              ('val_bpb', 'elapsed_s', 'val bits per byte', 'wall-clock (s)'),
              ('val_bpb', 'bytes', 'val bits per byte', 'bytes of text seen'),
              ('train_loss', 'step', 'train loss (nats/token)', 'step')]
    files = []
    for y, x, ylabel, xlabel in charts:
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        for r in runs_out:
            pts = [(e[x], e[y]) for e in r['events'] if e.get(x) is not None and e.get(y) is not None]
            if pts:
                ax.plot(*zip(*pts), marker='.' if y.startswith('val') else None, label=f"{r['run']}")
        ax.set(xlabel=xlabel, ylabel=ylabel, title=f"{ylabel} vs {xlabel}")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        files.append(save_figure(fig, os.path.join(out_dir, f"{y}_vs_{'time' if x == 'elapsed_s' else x}.png")))
    return files


AB_COLUMNS = ['run', 'tokenizer', 'steps', 'tokens', 'bytes', 'elapsed_s', 'tok_per_s', 'final_val_loss',
              'final_val_bpb', 'val_bpb_at_common_bytes', 'eval_bpb', 'tokens_per_doc', 'bytes_per_token']


def ab_report(s):
    digits = dict(elapsed_s=1, tok_per_s=0, final_val_loss=4, final_val_bpb=4, val_bpb_at_common_bytes=4, eval_bpb=4,
                  tokens_per_doc=1, bytes_per_token=3)
    runs = [[_fmt(r[c], digits.get(c, 3)) for c in AB_COLUMNS] for r in s['runs']]
    targets = [[t['metric'], f"{t['target']:.4f}", t['run'], 'not reached' if t['step'] is None else t['step'],
                _fmt(t['elapsed_s'], 1), _fmt(t['bytes'])] for t in s['targets']]
    return '\n'.join([
        '# A/B learning curves', '',
        '**Per-token loss is not comparable across tokenizers**: a tokenizer that packs more bytes into each token '
        'predicts fewer, harder tokens, so its loss per token is higher for the same model quality. Compare bits per '
        'byte, and compare against bytes of text seen, not steps or tokens.', '',
        md_table(['run', 'tokenizer', 'steps', 'tokens', 'bytes seen', 'wall-clock s', 'tok/s', 'final val loss',
                  'final val bpb', 'val bpb at common bytes', 'eval bpb', 'tokens/doc', 'bytes/token'], runs), '',
        f"Common bytes: {_fmt(s['common_bytes'])} (the least text any run saw). Tokens per document and bytes per "
        f"token come from: {', '.join(sorted({r['source'] for r in s['runs']}))}.", '',
        '## Steps and time to reach a target', '',
        md_table(['metric', 'target', 'run', 'step', 'wall-clock s', 'bytes seen'], targets), '',
        '## Plots', ''] + [f"![{f}]({f})" for f in s.get('plots', [])]) + '\n'


# ---------------------------------------------------------------- main
def json_safe(v):
    """NaN and infinity as null, so summary.json is strict JSON."""
    if isinstance(v, dict):
        return {k: json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    return None if isinstance(v, float) and not math.isfinite(v) else v


def main(cfg):
    out_dir = os.path.join(cfg['analysis_dir'], cfg['name'] or cfg['command'])
    os.makedirs(out_dir, exist_ok=True)
    if cfg['command'] == 'scale':
        s = scale_analysis(load_evals(cfg['runs_dir'], cfg['split'], cfg['runs']), cfg)
        s['plots'] = scale_plots(s, out_dir)
        report, table = scale_report(s), summary_csv(s)
    elif cfg['command'] == 'ab':
        if len(cfg['runs']) < 2:
            raise SystemExit("correlate.py ab: give two or more runs, e.g. --runs=out/runs/A,out/runs/B")
        s, runs_out = ab_analysis(run_folders(cfg['runs_dir'], cfg['runs']), cfg)
        s['plots'] = ab_plots(runs_out, out_dir)
        report, table = ab_report(s), csv_text(s['runs'], AB_COLUMNS)
    else:
        raise SystemExit(f"correlate.py: unknown command {cfg['command']!r}; use 'scale' or 'ab'")
    write_json_atomic(os.path.join(out_dir, 'summary.json'), json_safe(s))
    write_atomic(os.path.join(out_dir, 'summary.csv'), table)
    write_atomic(os.path.join(out_dir, 'report.md'), report)
    return out_dir, s


if __name__ == '__main__':
    out, summary = main(configurator.configure(globals()))
    h = summary.get('headline')
    if h and h.get('spearman') is not None:
        print(f"{h['small']} -> {h['large']}: Spearman rho {h['spearman']:.3f} (p {h['spearman_p']:.3f}), "
              f"Kendall tau-b {h['kendall']:.3f} (p {h['kendall_p']:.3f}): {h['verdict']} rank correlation; "
              f"top-1 {'agrees' if h['top1_agree'] else 'differs'}, regret {h['regret']:.4f}")
    for r in summary.get('runs', []):
        print(f"{r['run']}: final val bpb {_fmt(r['final_val_bpb'], 4)}, at {_fmt(summary['common_bytes'])} bytes "
              f"{_fmt(r['val_bpb_at_common_bytes'], 4)}, {_fmt(r['bytes_per_token'], 2)} bytes/token")
    print(f"wrote {out}/report.md, summary.json, summary.csv and " + ', '.join(summary['plots']))
