# The first study at toy scale, for `make demo`: 4 tokenizers x 3 tiny model sizes x 2 seeds = 24 CPU runs on the
# generated corpus, then the rank-correlation report (out/analysis/demo_scale/report.md).
#   python sweep.py config/sweep_demo.py --dry_run=True
#   python sweep.py config/sweep_demo.py
# Needs: python prepare.py config/demo.py && python tokenizer.py config/tokenizers_demo.py, and the token shards
# (python prepare.py config/demo.py --tokenizers=out/tokenizers/bpe-2k,...).
name = 'demo_scale'
tokenizers = ['bpe-2k', 'bpe-4k', 'unigram-2k', 'unigram-4k']
presets = ['apertus-micro', 'apertus-tiny', 'apertus-mini']   # ~0.06M, ~0.4M, ~1M non-embedding parameters
seeds = [1, 2]
base_config = 'config/train_demo.py'
# every run sees the same text: a budget in bytes, so the tokenizers are compared on equal text. 400 kB is ~140k tokens;
# the 24 runs, two at a time, take about 4 minutes on a 2-core CPU (timed for make demo).
train_args = {'budget_unit': 'bytes', 'budget': 400_000, 'compile': False,
              'eval_interval': 15,   # ~5 val points per run (~70 steps): agreement over training has a shape
              'eval_docs': 24}       # half the val split per point (the final test bpb is eval_bpb.py's, on all)
parallel = 2                 # two single-threaded tiny runs at once on the 2-core demo box
analysis = 'scale'
