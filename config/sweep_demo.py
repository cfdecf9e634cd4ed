# The first study at toy scale, for `make demo`: 5 tokenizers x 3 tiny model sizes x 2 seeds = 30 CPU runs on the
# generated corpus, + an lr scan at the smallest size (15 runs), then the rank-correlation report
# (out/analysis/demo_scale/report.md).
#   python sweep.py config/sweep_demo.py --dry_run=True
#   python sweep.py config/sweep_demo.py
# Needs: python prepare.py config/demo.py && python tokenizer.py config/tokenizers_demo.py, and the token shards
# (python prepare.py config/demo.py --tokenizers=out/tokenizers/bpe-2k,...).
name = 'demo_scale'
# five tokenizers, so that a ranking can be significant at all: the smallest two-sided permutation p of n tokenizers
# is 2/n!, 0.083 at 4 (never below 0.05) and 0.017 at 5
# parity-2k (parity-aware BPE, issue 30) beside bpe-2k at equal vocabulary: the report's fairness
# section puts each one's premium Gini beside its bpb (on generated stories: the machinery, not a
# fairness finding)
tokenizers = ['bpe-2k', 'parity-2k', 'bpe-4k', 'unigram-2k', 'unigram-4k']
presets = ['apertus-micro', 'apertus-tiny', 'apertus-mini']   # ~0.06M, ~0.4M, ~1M non-embedding parameters
seeds = [1, 2]
base_config = 'config/train_demo.py'   # lr 3e-3 for every size
# Every run of a size sees the same text (a budget in bytes), so the tokenizers are compared on equal text; the budget
# doubles with each size, as on a compute-optimal ladder. Measured for make demo: with one budget for all (400 kB,
# before issue 21) these models are far from trained: the 1M one lost to the 0.4M one on 2 of 4 tokenizers, and on
# bpe-2k the 0.06M one at lr 1.2e-2 (2.40 bpb) beat the 0.4M and 1M ones at each of 3e-3, 6e-3, 1.2e-2 (2.56). At
# 100 / 200 / 400 kB each size is ahead of the one below by 0.26-0.40 bpb (bpe-2k, unigram-2k; test bpb, mean of 2
# seeds). The 1M model takes 8 x 128-token sequences per step (137 steps): at 16 (69 steps) how long it stalled on a
# plateau depended on the seed (bpe-2k 2.67 / 2.93 bpb), at 8 it did not (2.69 / 2.80), for the same text and FLOPs.
train_args = {'budget_unit': 'bytes', 'compile': False,
              'eval_interval': 15,   # a val point every 15 steps (1M: 30): agreement over training has a shape
              'eval_docs': 24}       # half the val split per point (the final test bpb is eval_bpb.py's, on all)
preset_args = {'apertus-micro': {'budget': 100_000, 'warmup_steps': 5},                  # ~18 steps
               'apertus-tiny': {'budget': 200_000, 'warmup_steps': 10},                  # ~35 steps
               'apertus-mini': {'budget': 400_000, 'warmup_steps': 20, 'batch_size': 8,  # ~137 steps
                                'eval_interval': 30}}
# Does the smallest size's ranking survive the lr? Every tokenizer again at apertus-micro, seed 1, at half and twice
# its lr: 10 runs of the cheapest size, 1x the compute of its 10 grid runs (3% of the grid's FLOPs, ~10% of its CPU
# time: a process's start-up is most of a run this small).
# And at Wang et al.'s tiny proxy lr, 'lr=1e-5' (absolute: 1/300 of the grid's 3e-3): 5 runs
# more, ~20 s of make demo. In 18 steps it does not train: bpe-2k's val bpb went 4.1563 -> 4.1556
# (3e-4: -> 4.1341; the grid's 3e-3: -> 3.88), so its ranking is an untrained model's (near-uniform
# guesses: bits per token ~ log2 of the vocabulary, over bytes per token). The demo shows the
# machinery (an absolute lr, its label, its agreement with the largest size read against seed
# flips), not Wang et al.'s finding, which needs runs long enough to train at 1e-5.
lr_scan = [0.5, 2.0, 'lr=1e-5']
parallel = 2                 # two single-threaded tiny runs at once on the 2-core demo box
# the study's primary eval set, as eval_bpb.py settings ({}: every document of the corpus's test
# split, each model at its own block_size, disjoint windows): scored on every run; the analysis
# reads each run's entry of it, never the latest entry
eval_args = {}
analysis = 'scale'
# A second, offline eval set, scored on every run and analysed apart (labelled secondary; the
# verdict stays the primary's): stories from the same generator (data/embedded/generate.py) with
# seed 2 instead of the corpus's 1337, ~60 kB (the test split: 97 kB; smaller keeps make demo
# within its 12 minutes), written by `make demo` (python -m data.embedded.generate
# --out=out/eval_sets/stories_seed2.jsonl --n_bytes=60000 --seed=2).
secondary_eval_sets = {'stories-seed2': {
    'files': 'out/eval_sets/stories_seed2.jsonl',
    'note': "generated stories, seed 2: the same generator, languages and templates as the "
            "primary set (seed 1337), so agreement between the two is an upper bound on what a "
            "truly different eval set would show"}}
