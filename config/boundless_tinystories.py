# The A/B study's BoundlessBPE: phase 1 a word-level BPE of 12,288 ids, then supermerges between adjacent complete
# pretokens that are each one token, up to 16,384 ids (= bpe-16k) on TinyStories' tok split.
#   python prepare.py config/tinystories.py && python btm.py config/boundless_tinystories.py
#   -> out/tokenizers/boundless-16k (only the final size names it; n_base is in meta.json's settings)
# n_base = SuperBPE's transition point t (superbpe-t12k-16k), so the two arms differ in their superword rule only.
method = 'boundless'
corpus = 'tinystories'
n_base = 12288
vocab_size = 16384
max_pretokens = 0          # pretokens one token may span; 0 = no limit (fastboundlessbpe's default)
max_tok_bytes = 0          # all of the tok split, else a seeded random sample
