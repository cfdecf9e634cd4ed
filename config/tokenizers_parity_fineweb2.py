# The parity-aware arm of the FineWeb-2 grid: parity-aware BPE (Foroutan et al. 2025, base variant;
# uniscale/parity_bpe.py) at 128k ids only, on the same tok split, beside bpe-128k. Its dev set is
# FLORES-200 dev (the premium is scored on devtest, so the two never meet), read from a local
# folder; every language of the tok split needs a FLORES-200 code (uniscale/fairness.py).
#   git -C <Petrov's tokenization-fairness repo> archive HEAD flores200_dataset | tar -x -C data
#   python tokenizer.py config/tokenizers_parity_fineweb2.py
#   python tokenizer.py eval config/tokenizers_fineweb2.py \
#       --eval_tokenizers="['cl100k_base','out/tokenizers/parity-128k']"
# Cost: not measured at this size. The merge loop is Python over the distinct words of the split
# (bench/parity_speed.py: 1.2-3x train_bpe's CPU time on a few MB of generated text); its memory
# grows with the distinct words (a Python list each, and the words of each pair) and the distinct
# pairs (20 int64 counts each, and a heap entry per language counting it twice): expect tens of GB.
from config.tokenizers_fineweb2 import *  # noqa: F403 (the grid's corpus, split and eval settings)

algorithms = ['parity']
vocab_sizes = [128000]
parity_dev_set = 'flores200'
parity_flores_dir = 'data/flores200_dataset'
parity_global_merges = 0           # the base variant (the arm); the hybrid with 1/4 of
# the merges global (32000) kept tokens/byte within 1% of BPE's on NTREX text where the base
# variant lost 1.5% (bench/RESULTS.md, issue 30): a second arm to consider
