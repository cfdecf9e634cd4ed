# The A/B study, BPE arm: a ~40M GPT-2 on TinyStories with bpe-16k. config/tinystories_gpt2_btm.py is this file with the
# tokenizer changed (btm-4k-16k, the same 16,384 ids), so both runs read the same documents in the same order (same
# seed) and the same text (one epoch of the train split, a budget in bytes); only the tokenizer differs.
#   python prepare.py config/tinystories.py --tokenizers=out/tokenizers/bpe-16k,out/tokenizers/btm-4k-16k
#   python train.py config/tinystories_gpt2_bpe.py     # N GPUs: torchrun --standalone --nproc_per_node=N train.py ...
#   python train.py config/tinystories_gpt2_btm.py
#   python correlate.py ab --runs=out/runs/gpt2-40M_bpe-16k_s1,out/runs/gpt2-40M_btm-4k-16k_s1
corpus = 'tinystories'
tokenizer = 'out/tokenizers/bpe-16k'
preset = 'gpt2-40M'
seed = 1
block_size = 512           # a TinyStories story is ~200 tokens
batch_size = 32            # sequences per step, all GPUs together (16,384 tokens)
budget_unit = 'bytes'
budget = 0.0               # 0 = one epoch: all ~1.9 GB of train text, roughly 30k steps at ~4 bytes per token
lr = 3e-4
min_lr_ratio = 0.1
schedule = 'cosine'
warmup_steps = 1000
weight_decay = 0.1
grad_clip = 1.0
eval_interval = 1000
eval_docs = 1000           # fixed val stories, ~200k tokens
log_interval = 100
compile = True
