# The parity-aware arm of the FineWeb-2 grid: parity-aware BPE (Foroutan et al. 2025, base variant;
# uniscale/parity_bpe.py) at 128k ids only, on the same tok split, beside bpe-128k. Its dev set is
# FLORES-200 dev (the premium is scored on devtest, so the two never meet), read from a local
# folder; every language of the tok split needs a FLORES-200 code (uniscale/fairness.py).
#   git -C <Petrov's tokenization-fairness repo> archive HEAD flores200_dataset | tar -x -C data
#   python tokenizer.py config/tokenizers_parity_fineweb2.py
#   python tokenizer.py eval config/tokenizers_fineweb2.py \
#       --eval_tokenizers="['cl100k_base','out/tokenizers/parity-128k']"
# Cost: not measured at this size. On 4.8 MB of real 20-language text (NTREX-128) training took
# 1.3-1.6x train_bpe's wall time at 8k-16k ids and ~560 MB (bpe 260 MB); the merge loop's positions
# are never freed (uniscale/parity_bpe.py), so memory grows with the split's distinct words'
# bytes: check it on a slice of the tok split (--max_train_bytes) before the full 2 GB.
from config.tokenizers_fineweb2 import *  # noqa: F403 (the grid's corpus, split and eval settings)

algorithms = ['parity']
vocab_sizes = [128000]
parity_dev_set = 'flores200'
parity_flores_dir = 'data/flores200_dataset'
parity_global_merges = 0           # the base variant (the arm). On NTREX-128 text in the 20
# languages (bench/parity_fairness.py, bench/RESULTS.md issue 30) it cut BPE's premium Gini to 0.04x
# at 8k-16k ids but cost 3.5-3.8% tokens per byte; the hybrid with 5/8 of the merges global (80000
# here) met both halves of the goal (0.37-0.41x, +0.7-1.0%), with that fraction tuned on devtest: a
# second arm to consider, its G scanned on held-out text
