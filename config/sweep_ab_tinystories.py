# The A/B study: BPE (bpe-16k) vs BTM (btm-4k-16k: a 4,096 BPE merged up to 16,384) on TinyStories, identical ~40M
# GPT-2 models and data order (same seed), 3 seeds per arm, then learning curves in bits per byte, the difference
# over seeds with its test, and the success criterion (out/analysis/tinystories_ab/).
# This arm holds the context fixed in tokens (512 for both); config/sweep_ab_tinystories_bytes.py holds it fixed in
# bytes of text (BTM's longer tokens then get fewer positions per window), the other thing a reviewer asks for.
#   python sweep.py config/sweep_ab_tinystories.py --dry_run=True
#   python sweep.py config/sweep_ab_tinystories.py                     # here, one GPU (num_gpus > 1: torchrun)
#   python sweep.py config/sweep_ab_tinystories_bytes.py
name = 'tinystories_ab'
tokenizers = ['bpe-16k', 'btm-4k-16k']
presets = ['gpt2-40M']
seeds = [1, 2, 3]
# the A/B runs are identical but for the tokenizer, which the sweep passes to each run
base_config = 'config/tinystories_gpt2_bpe.py'
# the study's primary eval set, as eval_bpb.py settings ({}: every document of the corpus's test
# split, each model at its own block_size, disjoint windows): scored on every run; the analysis
# reads each run's entry of it, never the latest entry
eval_args = {}
analysis = 'ab'
