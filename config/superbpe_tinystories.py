# The A/B study's SuperBPE: BPE up to the transition point t = 12,288 ids with the
# whitespace-respecting pre-tokenizer, then BPE goes on over coarse chunks (merges across spaces)
# up to 16,384 (= bpe-16k), as the authors' code does (btm.py method='superbpe'; its rules in
# docs/DESIGN.md), on TinyStories' tok split.
#   python prepare.py config/tinystories.py && python btm.py config/superbpe_tinystories.py
#   -> out/tokenizers/superbpe-t12k-16k
corpus = 'tinystories'
method = 'superbpe'
n_base = 12288             # the transition point t: ids of the stage-1 BPE, specials included
vocab_size = 16384
name = 'superbpe-t12k-16k'
max_tok_bytes = 0          # all of the tok split (500 MB here), else a seeded random sample
