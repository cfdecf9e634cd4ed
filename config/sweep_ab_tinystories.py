# The A/B study: BPE (bpe-16k) vs BTM (btm-4k-16k: a 4,096 BPE merged up to 16,384) on TinyStories, identical ~40M
# GPT-2 models and data order (same seed), then learning curves in bits per byte (out/analysis/tinystories_ab/).
#   python sweep.py config/sweep_ab_tinystories.py --dry_run=True
#   python sweep.py config/sweep_ab_tinystories.py                     # here, one GPU (num_gpus > 1: torchrun)
#   python sweep.py config/sweep_ab_tinystories.py --seeds=1,2,3       # seed noise for the comparison
name = 'tinystories_ab'
tokenizers = ['bpe-16k', 'btm-4k-16k']
presets = ['gpt2-40M']
seeds = [1]
# the A/B runs are identical but for the tokenizer, which the sweep passes to each run
base_config = 'config/tinystories_gpt2_bpe.py'
analysis = 'ab'
