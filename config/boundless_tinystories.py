# The A/B study's BoundlessBPE: phase 1 a word-level BPE of 12,288 ids, then supermerges between
# adjacent complete pretokens that are each one token, up to 16,384 ids (= bpe-16k); TinyStories.
#   python prepare.py config/tinystories.py && python btm.py config/boundless_tinystories.py
#   -> out/tokenizers/boundless-16k (only the final size names it; n_base is in meta.json)
# n_base = SuperBPE's transition point t (superbpe-t12k-16k): the arms differ in the superword rule.
method = 'boundless'
corpus = 'tinystories'
n_base = 12288
vocab_size = 16384
max_pretokens = 0          # pretokens one token may span; 0 = no limit (fastboundlessbpe's default)
max_tok_bytes = 0          # all of the tok split, else a seeded random sample
