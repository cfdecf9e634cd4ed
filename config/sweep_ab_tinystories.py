# The A/B study: four tokenizers of 16,384 ids on TinyStories, each an arm: BPE (bpe-16k, the
# baseline: the first), BTM (btm-4k-16k: a 4,096 BPE merged up to 16,384), SuperBPE
# (superbpe-t12k-16k: transition point t = 12,288) and BoundlessBPE (boundless-16k). Identical ~40M
# GPT-2 models and data order (same seed), 3 seeds per arm, then learning curves in bits per byte,
# each arm's difference from bpe-16k paired by seed with Holm's correction across the three, tokens
# per byte, steps and time to the target (out/analysis/tinystories_ab/).
# This holds the context fixed in tokens (512 for every arm); config/sweep_ab_tinystories_bytes.py
# holds it fixed in bytes of text (longer tokens then get fewer positions per window).
#   python tokenizer.py config/tokenizers_tinystories.py && python btm.py config/btm_tinystories.py
#   python btm.py config/superbpe_tinystories.py && python btm.py config/boundless_tinystories.py
#   python sweep.py config/sweep_ab_tinystories.py --dry_run=True
#   python sweep.py config/sweep_ab_tinystories.py         # here, one GPU (num_gpus > 1: torchrun)
#   python sweep.py config/sweep_ab_tinystories_bytes.py
name = 'tinystories_ab'
tokenizers = ['bpe-16k', 'btm-4k-16k', 'superbpe-t12k-16k', 'boundless-16k']  # first: the baseline
presets = ['gpt2-40M']
seeds = [1, 2, 3]
# the A/B runs are identical but for the tokenizer, which the sweep passes to each run
base_config = 'config/tinystories_gpt2_bpe.py'
# the study's primary eval set, as eval_bpb.py settings ({}: every document of the corpus's test
# split, each model at its own block_size, disjoint windows): scored on every run; the analysis
# reads each run's entry of it, never the latest entry
eval_args = {}
analysis = 'ab'
