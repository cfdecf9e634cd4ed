"""Monte Carlo of the verdict rules (rank_stats.verdict_rule through scale_analysis.compare_sizes, the analysis's own
path) at n tokenizers: how often a band word comes out when the true agreement is below that band (the false-band
rate), under pure noise, unrelated true rankings and true rankings a few discordant pairs apart, and how often the
decision-accuracy rule reaches its words (power).

True means: evenly spaced, `gap` apart, at both sizes; the large size's order is the small one's with exactly d
discordant pairs (a random such ranking per experiment), or an independent random ranking ('unrelated'), or all
means equal ('pure noise'). Each cell: k seeds ~ N(true mean, sd). A word is false when its rule's statistic on the
TRUE means is below the word's floor (rank rule: true rho below the band; decision-accuracy rule: true decision
accuracy below the floor); under pure noise every band word is false.

  .venv/bin/python bench/verdict_words_mc.py [--n=6] [--null_experiments=1000] [--power_experiments=200]
"""
import os
import sys
import time
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import machine  # noqa: E402
from uniscale import rank_stats  # noqa: E402
from uniscale.scale_analysis import compare_sizes  # noqa: E402

n = 6                          # tokenizers (the fineweb2 grid's)
seeds = (2, 3)                 # seeds per cell
null_experiments = 1000        # per (null scenario, seeds)
power_experiments = 100        # per (discordant pairs, sd/gap, seeds)
sd_over_gap = (0.1, 0.25, 0.5)  # seed std over the gap between adjacent true means
unrelated_sd_over_gap = (0.1, 0.5)  # the same, for unrelated true rankings
discordant = (1, 2, 3, 4, 5)   # true discordant pairs (n = 6: decision accuracy 0.933 ... 0.667)
n_bootstrap = 10_000           # correlate.py's default
seed = 0
for arg in sys.argv[1:]:       # --key=value, literal Python values
    k, v = arg[2:].split('=', 1)
    globals()[k] = eval(v)

CFG = dict(exact_max_n=9, n_permutations=100_000, seed=1337, n_bootstrap=n_bootstrap, metric='bpb')
TOKS = [f't{i}' for i in range(n)]


def rankings_by_discordant(n):
    import itertools
    by = {}
    for perm in itertools.permutations(range(n)):
        d = sum(perm[i] > perm[j] for i in range(n) for j in range(i + 1, n))
        by.setdefault(d, []).append(perm)
    return by


def experiment(rng, small, large, sd, k):
    """One simulated study: (word, rule, true rho, true decision accuracy)."""
    cells = {}
    for size, means in (('s', small), ('l', large)):
        for t, m in zip(TOKS, means):
            cells[t, size] = m + sd * rng.standard_normal(k)
    p = compare_sizes(cells, TOKS, 's', 'l', False, CFG)
    if np.ptp(large) == 0:
        return p['verdict'], p['verdict_rule'], float('nan'), float('nan')
    return (p['verdict'], p['verdict_rule'], float(rank_stats.spearman(small, large)),
            float(rank_stats.decision_accuracy(small, large)))


def false_band(word, rule, true_rho, true_da):
    if word not in rank_stats.WORDS:
        return False
    if np.isnan(true_rho):
        return True
    if rule == rank_stats.RANK_RULE:
        truth = rank_stats.band(true_rho)[0]
        return truth is None or rank_stats.WORDS.index(truth) > rank_stats.WORDS.index(word)
    return true_da < dict((w, f) for w, f, _ in rank_stats.DA_BANDS)[word]


def run(name, draw, count, k, sd):
    rng = np.random.default_rng([seed, k, zlib.crc32(name.encode())])  # str hash is per process
    out = [experiment(rng, *draw(rng), sd, k) for _ in range(count)]
    words = {}
    for w, r, *_ in out:
        key = w if r is None else f"{w} ({'rank' if r == rank_stats.RANK_RULE else 'DA'})"
        words[key] = words.get(key, 0) + 1
    false = sum(false_band(*o) for o in out)
    return dict(name=name, k=k, count=count, false=false, words=words)


def main():
    print(f"machine: {machine.describe()}")
    print(f"load: {os.getloadavg()}; n = {n}, n_bootstrap = {n_bootstrap}, seed = {seed}")
    gap, base = 0.01, np.arange(n) * 0.01
    by = rankings_by_discordant(n)
    rows, t0 = [], time.time()
    for k in seeds:
        rows.append(run('pure noise', lambda rng: (np.zeros(n), np.zeros(n)), null_experiments, k, gap))
        for r in unrelated_sd_over_gap:
            rows.append(run(f"unrelated, sd/gap {r}", lambda rng: (base, rng.permutation(base)),
                            null_experiments, k, r * gap))
        for d in discordant:
            for r in sd_over_gap:
                rows.append(run(f"d = {d} (DA {1 - d / (n * (n - 1) / 2):.3f}), sd/gap {r}",
                                lambda rng, d=d: (base, base[list(by[d][rng.integers(len(by[d]))])]),
                                power_experiments, k, r * gap))
        print(f"k = {k} done, {time.time() - t0:.0f} s", flush=True)
    print('| scenario | seeds | experiments | false band | verdicts |')
    print('| --- | --- | --- | --- | --- |')
    for r in rows:
        print(f"| {r['name']} | {r['k']} | {r['count']} | {r['false']} | "
              + ', '.join(f"{w} {c}" for w, c in sorted(r['words'].items())) + ' |')
    print(f"{sum(r['count'] for r in rows)} experiments in {time.time() - t0:.0f} s; load {os.getloadavg()}")


if __name__ == '__main__':
    main()
