# The A/B study, BTM arm: config/tinystories_gpt2_bpe.py with btm-4k-16k (a 4,096 BPE merged up to 16,384 by btm.py)
# in place of bpe-16k; every other setting is that file's.
#   python train.py config/tinystories_gpt2_btm.py
from config.tinystories_gpt2_bpe import *  # noqa: F401,F403 (the configurator runs this from the repo root)

tokenizer = 'out/tokenizers/btm-4k-16k'
