# The first study: 6 tokenizers x 4 Apertus sizes x 3 seeds = 72 runs on 20 languages of FineWeb-2.
#   python sweep.py config/sweep_fineweb2.py --dry_run=True                 # the 72 runs and their budgets
#   python sweep.py config/sweep_fineweb2.py                                 # write + submit the SLURM arrays
#   python sweep.py config/sweep_fineweb2.py --only=apertus-50M,s1 --launcher=local --num_gpus=8   # one slice here
# Then: out/analysis/fineweb2_scale/report.md (written by the analysis job queued after the arrays).
name = 'fineweb2_scale'
tokenizers = ['bpe-80k', 'bpe-128k', 'bpe-256k', 'unigram-80k', 'unigram-128k', 'unigram-256k']
presets = ['apertus-50M', 'apertus-100M', 'apertus-300M', 'apertus-1B']
seeds = [1, 2, 3]
base_config = 'config/fineweb2_apertus.py'
# Budgets in bytes of text (equal text for every tokenizer), ~20 tokens per non-embedding parameter at ~4 bytes per
# token (Chinchilla-style): 50M -> 4 GB, 100M -> 8 GB, 300M -> 24 GB, 1B -> 80 GB.
train_args = {'budget_unit': 'bytes'}
preset_args = {
    'apertus-50M': {'budget': 4_000_000_000},
    'apertus-100M': {'budget': 8_000_000_000},
    'apertus-300M': {'budget': 24_000_000_000},
    'apertus-1B': {'budget': 80_000_000_000},
}
launcher = 'slurm'
num_gpus = 4                 # per node
slurm_nodes = {'apertus-1B': 2}
slurm_time = '24:00:00'
slurm_setup = ['source .venv/bin/activate']
analysis = 'scale'
