# The first study with the context held fixed in bytes of text (issue 21, item 5: the scale study's byte-context arm):
# config/sweep_fineweb2.py trains every tokenizer at 2,048 *tokens* of context, so a tokenizer that compresses better
# sees more text per window; here each run's block_size is context_bytes / its tokenizer's bytes per token on the
# train split (train.py: block_size_for, rounded to a multiple of 8), so every window holds the same ~8 kB of text.
# 8,192 bytes is the token arm's 2,048 tokens at the ~4 bytes per token its budget rule assumes. Everything else
# (sizes, budgets in bytes, lr, batch in sequences, seeds, lr scan) is config/sweep_fineweb2.py's; a batch of sequences
# then holds the same text for every tokenizer, its number of tokens differs (that is the point).
# Its own runs folder and analysis: the run names equal those of the token arm.
#   python sweep.py config/sweep_fineweb2_bytes.py --dry_run=True    # each run's block and cost from its bytes/token
#   python sweep.py config/sweep_fineweb2_bytes.py
#   out/analysis/fineweb2_scale_bytes/report.md beside out/analysis/fineweb2_scale/report.md: does the verdict hold
#   when the context is equal in text rather than in tokens?
from config.sweep_fineweb2 import *  # noqa: F403 (the configurator runs this from the repo root)

name = 'fineweb2_scale_bytes'
runs_dir = 'out/runs_bytes'
train_args = {**train_args, 'context_bytes': 8192}  # noqa: F405 (config/sweep_fineweb2.py's)
