# A tiny GPT-2 (~0.4M non-embedding parameters) on the generated multilingual corpus, on CPU in about a minute: the
# val loss falls from ln(2000) = 7.6 nats at step 0 to about 5.0 (2.5 bits per byte).
#   python prepare.py config/demo.py && python tokenizer.py config/tokenizers_demo.py
#   python prepare.py config/demo.py --tokenizers=out/tokenizers/bpe-2k
#   python train.py config/train_demo.py          # -> out/runs/gpt2-tiny_bpe-2k_s1/
# Also the base of the demo sweeps (config/sweep_demo.py, config/sweep_ab_demo.py), which set preset, tokenizer, seed
# and budget per run.
corpus = 'embedded'
tokenizer = 'out/tokenizers/bpe-2k'
preset = 'gpt2-tiny'
block_size = 128
batch_size = 16
budget_unit = 'bytes'
budget = 1_800_000         # of text: ~300 steps of 16 x 128 tokens at bpe-2k's ~2.9 bytes per token
lr = 3e-3                  # tiny models take a large learning rate
warmup_steps = 30
eval_interval = 100
eval_docs = 0              # every val document (49, ~23k tokens)
log_interval = 20
compile = False            # a cold compile costs more than this whole run on CPU
threads = 1                # a model this small runs fastest on one core (and two runs of a sweep fit a 2-core box)
model_args = {'loss_chunk': 512}  # 2-4k ids: memory is no concern, and 512 rows is the fastest chunk on this CPU
                           # (apertus-mini, 55 steps: 42 s of training vs 47-48 s at the default 128)
