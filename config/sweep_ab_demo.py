# The A/B study at toy scale, for `make demo`: three arms of 2,000 ids, BPE (bpe-2k, the baseline),
# BTM (btm-1k-2k) and SuperBPE (superbpe-t1.6k-2k), identical tiny GPT-2 models on the generated
# corpus, 2 seeds per arm, then the A/B report (out/analysis/demo_ab/report.md): each arm against
# bpe-2k, paired by seed, Holm's correction across the two.
#   python sweep.py config/sweep_ab_demo.py
# Needs: python tokenizer.py config/tokenizers_demo.py, python btm.py config/btm_demo.py,
# python btm.py config/superbpe_demo.py, and their token shards.
name = 'demo_ab'
tokenizers = ['bpe-2k', 'btm-1k-2k', 'superbpe-t1.6k-2k']  # the first is the baseline
presets = ['gpt2-tiny']
seeds = [1, 2]               # two seeds per arm: the report's difference test needs them
base_config = 'config/train_demo.py'
train_args = {'budget_unit': 'bytes', 'budget': 800_000, 'compile': False,   # equal text, every arm
              'eval_interval': 20}   # a val point every 20 steps, so the learning curves have a shape
parallel = 2
# the study's primary eval set, as eval_bpb.py settings ({}: every document of the corpus's test
# split, each model at its own block_size, disjoint windows): scored on every run; the analysis
# reads each run's entry of it, never the latest entry
eval_args = {}
analysis = 'ab'
