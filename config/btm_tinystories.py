# The A/B study's BTM: a primitive BPE of 4,096 ids merged up to 16,384 (= bpe-16k) on TinyStories' tok split.
#   python prepare.py config/tinystories.py && python btm.py config/btm_tinystories.py   # -> out/tokenizers/btm-4k-16k
# The name follows n_base and vocab_size (btm-{n_base}-{vocab_size} in k) unless name is set.
#   python btm.py analyze config/btm_tinystories.py   # against bpe-16k (config/tokenizers_tinystories.py)
# Unconstrained, as the plan's algorithm; SuperBPE-style constraints: max_words = 4, boundaries = ['\n'].
corpus = 'tinystories'
n_base = 4096
vocab_size = 16384
max_tok_bytes = 0          # all of the tok split (500 MB in config/tinystories.py), else a seeded random sample
# Memory: training holds ~15 bytes per primitive token (bench/btm_speed.py (e)), ~4 per byte of text: ~2 GB here.
