# The A/B study with the context held fixed in bytes of text: each run's block_size is context_bytes / its
# tokenizer's bytes per token on the train split (train.py), so BPE and BTM windows hold the same text. 2,048 bytes
# is bpe-16k's 512 tokens at ~4 bytes per token. Its own runs folder: the run names equal those of the token arm.
#   python sweep.py config/sweep_ab_tinystories_bytes.py
#   python correlate.py ab --runs='out/runs/gpt2-40M_*,out/runs_ab_bytes/gpt2-40M_*' --name=tinystories_ab_both \
#       --base_tokenizer=bpe-16k    # a glob lists the runs by name: name the baseline
from config.sweep_ab_tinystories import *  # noqa: F401,F403 (the configurator runs this from the repo root)

name = 'tinystories_ab_bytes'
runs_dir = 'out/runs_ab_bytes'
train_args = {'context_bytes': 2048}
