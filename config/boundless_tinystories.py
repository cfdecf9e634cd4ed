# The A/B study's BoundlessBPE: a phase-1 BPE of n_base ids (btm.py's default, 4,096, as
# btm-4k-16k's primitive), then word-level merges and supermerges of adjacent complete pretokens
# that are each one token, up to 16,384 ids (= bpe-16k) on TinyStories' tok split (btm.py
# method='boundless'; its rules in docs/DESIGN.md).
#   python prepare.py config/tinystories.py && python btm.py config/boundless_tinystories.py
#   -> out/tokenizers/boundless-16k
corpus = 'tinystories'
method = 'boundless'
vocab_size = 16384
name = 'boundless-16k'
max_tok_bytes = 0          # all of the tok split (500 MB here), else a seeded random sample
