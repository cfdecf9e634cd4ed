# The A/B study's BPE baseline: 16,384 ids on TinyStories' tok split (BTM is trained by btm.py to the same size).
#   python prepare.py config/tinystories.py && python tokenizer.py config/tokenizers_tinystories.py
# 16,384 = 2^14: small enough that token shards store 2 bytes per token (<= 65,536 ids).
corpus = 'tinystories'
algorithms = ['bpe']
vocab_sizes = [16384]             # -> bpe-16k
eval_split = 'val'
eval_tokenizers = []              # e.g. ['out/tokenizers/btm-4k-16k'] to measure the BTM beside it
