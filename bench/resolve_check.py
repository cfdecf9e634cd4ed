"""
The seeds per cell that to_resolve names (uniscale/resolve_sim.py) against a brute-force replication
of 1,000 experiments (issue 29, deliverable 3), and what the simulation costs.

python bench/resolve_check.py                   # three cases, 1,000 brute-force experiments each
python bench/resolve_check.py --n_brute=200     # quicker

Cases (tests/test_resolve.py's): 'min gap' (six tokenizers, two seeds, seed std 0.025, gaps 0.03
except one of 0.02 at the large size), 'demo' (make demo's own headline on this box, issue 28,
apertus-micro -> apertus-mini) and 'flat' (five tokenizers the large size cannot tell apart: gaps
1e-5 at seed std 0.05; with unlimited seeds 30 of the 120 orderings reach a word). The verdict is
the merged rule (rank correlation or decision accuracy, the higher word). For each: the
simulation's answer (K, its share, the share with unlimited seeds) with N_BOOTSTRAP redraws inside
each replication and with the analysis's 10,000 (the change in the answer, and the time ratio);
the brute force (tests/test_resolve.py's own
posterior draws, exact p-values and bootstrap, written apart from the module) at K, at the old
rule's K (the median gap at 2 standard errors), and with unlimited seeds. Prints the machine, the
load, the numbers.
"""
import math
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, 'tests'))  # the brute force lives with the tests (one copy)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/, for machine.py

import numpy as np  # noqa: E402

import configurator  # noqa: E402
import machine  # noqa: E402
from test_resolve import CFG, DEMO, FLAT, MIN_GAP, brute_share, brute_unlimited  # noqa: E402
from uniscale import rank_stats, resolve_sim  # noqa: E402

n_brute = 1000   # brute-force experiments per figure
seed = 1000


def cases():
    yield 'min gap', *MIN_GAP, [f"t-{i}" for i in range(6)]
    toks = sorted(DEMO)
    yield 'demo', [np.array(DEMO[t][0]) for t in toks], [np.array(DEMO[t][1]) for t in toks], \
        toks
    yield 'flat', *FLAT, [f"t-{i}" for i in range(5)]


def line(name, share, n):
    mc = math.sqrt(share * (1 - share) / n)
    return f"{name} {share:.3f} (MC s.e. {mc:.3f}, {n} experiments)"


def main():
    print(machine.describe(), '| load', os.getloadavg())
    for name, xs, ys, toks in cases():
        old = max(rank_stats.noise_vs_gaps(c)['seeds_for_median_gap'] for c in (xs, ys))
        print(f"\n{name}: old rule (median gap at 2 s.e.) K = {old}")
        times, found = {}, {}
        for n_boot in (resolve_sim.N_BOOTSTRAP, 10_000):
            t = time.perf_counter()
            r = resolve_sim.seeds_to_resolve(xs, ys, toks, CFG, n_boot=n_boot)
            times[n_boot], found[n_boot] = time.perf_counter() - t, r['seeds']
            print(f"  simulation, {n_boot} redraws: K = {r['seeds']}, share {r['share']:.3f} ± "
                  f"{r['share_se']:.3f} at {r['seeds_simulated']}, unlimited "
                  f"{r['share_unlimited']:.3f}, searched {r['searched']}, decider "
                  f"{r['decider'] and r['decider']['pair']} (clear: "
                  f"{r['decider'] and r['decider']['clear']}), median discordant pairs of "
                  f"the failing with unlimited seeds {r['discordant_unlimited']}, "
                  f"{times[n_boot]:.1f} s")
        ratio = times[10_000] / times[resolve_sim.N_BOOTSTRAP]
        print(f"  time 10,000 / {resolve_sim.N_BOOTSTRAP} redraws: {ratio:.2f}x")
        k = found[resolve_sim.N_BOOTSTRAP]
        if k is None and r['discordant_unlimited']:
            print('  more tokenizers:', resolve_sim.swaps_reach(len(xs), r['discordant_unlimited'],
                                                                CFG))
        if k:
            share = brute_share(xs, ys, k, n_brute, seed)
            print('  brute force', line(f"at K = {k}:", share, n_brute))
        if old <= resolve_sim.MAX_SEEDS:  # the flat case's old K is ~10^8 seeds
            share = brute_share(xs, ys, old, n_brute, seed + 1)
            print('  brute force', line(f"at the old K = {old}:", share, n_brute))
        print('  brute force', line('unlimited seeds:', brute_unlimited(xs, ys, n_brute, seed + 2),
                                    n_brute))


if __name__ == '__main__':
    configurator.configure(globals())  # --n_brute, --seed (the old exec of the file set nothing)
    main()
