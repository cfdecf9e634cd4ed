# The first study's runs: Apertus models on 20 languages of FineWeb-2. config/sweep_fineweb2.py trains 7 tokenizers x
# 4 sizes x 3 seeds from this file and sets preset, tokenizer, seed and budget per run; one by hand:
#   python prepare.py config/fineweb2.py --tokenizers=out/tokenizers/bpe-80k
#   torchrun --standalone --nproc_per_node=4 train.py config/fineweb2_apertus.py --preset=apertus-50M \
#       --tokenizer=out/tokenizers/bpe-80k --seed=1 --budget=4e9
#
# Budget rule: a run's length is bytes of text, the same for every tokenizer at one model size, so the tokenizers are
# compared on equal text (a tokenizer that compresses better takes fewer, longer-reaching steps). The amount is ~80
# bytes per non-embedding parameter, Chinchilla's ~20 tokens per parameter at ~4 bytes per token:
#   apertus-50M -> 4e9, apertus-100M -> 8e9, apertus-300M -> 24e9, apertus-1B -> 80e9 bytes.
# train.py converts bytes to steps with the train split's bytes per token of the run's tokenizer. Beyond the train
# split's size (config/fineweb2.py: train_bytes = 84 GB) the data would repeat, each epoch in a new seeded order;
# train.py says so and records `epochs`. Per-size lr, batch, warmup and micro batch: config/sweep_fineweb2.py.
corpus = 'fineweb2'
tokenizer = 'out/tokenizers/bpe-80k'
preset = 'apertus-50M'
seed = 1
block_size = 2048
batch_size = 64            # sequences per step, all GPUs together: 131,072 tokens (apertus-50M's)
micro_batch_size = 16      # per GPU and forward pass (apertus-50M's; the sweep sets each size's)
budget_unit = 'bytes'
budget = 4e9               # apertus-50M's; the sweep sets each size's (rule above)
lr = 2e-3                  # apertus-50M's; the sweep sets each size's (DeepSeek LLM's rule, config/sweep_fineweb2.py)
schedule = 'wsd'           # warmup, stable, then linear decay over the last decay_frac of the steps (as Apertus)
decay_frac = 0.2
min_lr_ratio = 0.01
warmup_steps = 380         # 5% of apertus-50M's steps
weight_decay = 0.1         # on the blocks' matrices; embeddings and head are not decayed (decay_embeddings)
grad_clip = 1.0
eval_interval = 1000
eval_docs = 2000           # spread evenly over val's 20 languages (100 documents each)
log_interval = 50
compile = True
