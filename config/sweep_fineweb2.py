# The first study: 7 tokenizers x 4 Apertus sizes x 3 seeds = 84 runs on 20 languages of FineWeb-2, + 21 lr-scan runs.
#   python sweep.py config/sweep_fineweb2.py --preflight=True               # memory, tok/s, MFU, GPU-hours per size
#   python sweep.py config/sweep_fineweb2.py --dry_run=True                 # the 105 runs, budgets, FLOPs, GPU-hours
#                                                                            # (an estimate; works before any data)
#   python sweep.py config/sweep_fineweb2.py                                 # write + submit the SLURM arrays
#   python sweep.py config/sweep_fineweb2.py --only=apertus-50M,s1 --launcher=local --num_gpus=8   # one slice here
# Then: out/analysis/fineweb2_scale/report.md (written by the analysis job queued after the arrays).
name = 'fineweb2_scale'
# parity-128k: the parity-aware arm (config/tokenizers_parity_fineweb2.py), beside bpe-128k
tokenizers = ['bpe-80k', 'bpe-128k', 'bpe-256k', 'unigram-80k', 'unigram-128k', 'unigram-256k',
              'parity-128k']
presets = ['apertus-50M', 'apertus-100M', 'apertus-300M', 'apertus-1B']
seeds = [1, 2, 3]
base_config = 'config/fineweb2_apertus.py'
# Does the 50M ranking survive the learning rate? (Wang et al., ICLR 2026: a small proxy's ranking can flip with a
# small lr change; a tiny proxy lr, ~1e-5, restored it.) Every tokenizer again at apertus-50M,
# seed 1, at half and twice its lr and at the absolute lr 1e-5 (1/200 of its 2e-3): 21 runs, the 21
# apertus-50M grid runs' compute (~0.4% of the grid's); the report compares each with the rankings
# at x1 and at apertus-1B, against seed flips.
lr_scan = [0.5, 2.0, 'lr=1e-5']
#
# The per-size recipe, one rule for every size (N = non-embedding parameters, D = train tokens, C = 6 N D FLOPs):
# - Budget: ~20 tokens per parameter (Chinchilla, Hoffmann et al. 2022) at ~4 bytes per token, given in bytes so
#   every tokenizer of a size trains on the same text: 80 bytes per parameter.
# - Peak lr and batch: DeepSeek LLM's compute-optimal fits (Bi et al. 2024, eq. 1), lr = 0.3118 C^-0.125 and
#   batch = 0.2920 C^0.3271 tokens, the batch rounded to a power of two of 2,048-token sequences:
#     size          N       D      C         lr (rule)  batch (rule)    batch used          lr used
#     apertus-50M   51.1M   1e9    3.1e17    2.0e-3     153k tokens     64 x 2048 = 131k    2e-3
#     apertus-100M  101M    2e9    1.2e18    1.7e-3     240k            128 x 2048 = 262k   1.7e-3
#     apertus-300M  300M    6e9    1.1e19    1.3e-3     491k            256 x 2048 = 524k   1.3e-3
#     apertus-1B    982M    2e10   1.2e20    9.7e-4     1.07M           512 x 2048 = 1.05M  1e-3
# - Warmup: 5% of the run's steps (at ~4 bytes per token: 7.6k, 7.6k, 11.4k, 19k steps), between Pythia's 1%
#   (Biderman et al. 2023) and DeepSeek's 2,000 steps; WSD schedule with a 20% linear decay (as Apertus).
# - Weight decay 0.1 on matrices only: embeddings and the LM head are not decayed (model.configure_optimizer), since
#   decay shrinks the rows of rare tokens, which hurts a 256k vocabulary more than an 80k one.
# - Micro batch per GPU (H100 80 GB, torch.compile, bf16 autocast, AdamW fp32: 16 bytes per parameter with the
#   embeddings and head; the chunked LM-head loss never holds the full logits). bench/loss_memory.py --table=True
#   prints the arithmetic (bench/RESULTS.md): fixed memory at 256k ids 6.9 / 10.5 / 16.7 / 39.4 GB, activations per
#   2,048-token sequence ~0.7 / 0.9 / 2.0 / 3.2 GB compiled, so at most ~99 / 71 / 28 / 10 sequences fit in 74 GB.
#   Used: 16 (all of 50M's 64 / 4 GPUs, no accumulation), 32, 16 and 8 (1B: 2 nodes, 8 accumulation steps), each a
#   divisor of batch / GPUs. Without compile the activations are ~3x larger: 1B then fits 3 (set 2). Check on the GPU
#   with --preflight=True before submitting.
# - Data: config/fineweb2.py prepares 84 GB of train text, so no run of this grid reads a document twice (1B reads
#   80 GB); train.py records `epochs` in config.json and says so when a run would repeat data.
train_args = {'budget_unit': 'bytes', 'schedule': 'wsd', 'decay_frac': 0.2}
preset_args = {
    'apertus-50M': {'budget': 4_000_000_000, 'lr': 2e-3, 'batch_size': 64, 'micro_batch_size': 16,
                    'warmup_steps': 380},
    'apertus-100M': {'budget': 8_000_000_000, 'lr': 1.7e-3, 'batch_size': 128, 'micro_batch_size': 32,
                     'warmup_steps': 380},
    'apertus-300M': {'budget': 24_000_000_000, 'lr': 1.3e-3, 'batch_size': 256, 'micro_batch_size': 16,
                     'warmup_steps': 570},
    'apertus-1B': {'budget': 80_000_000_000, 'lr': 1e-3, 'batch_size': 512, 'micro_batch_size': 8,
                   'warmup_steps': 950},
}
# Downstream tasks (secondary metric), run by downstream.py after eval_bpb.py for every run (needs the hub): the
# lm-eval tasks that cover these languages (Belebele all 20; XNLI, XCOPA, XStoryCloze where they have them) and
# HellaSwag/ARC-Easy for English. Rank by one: python correlate.py scale --metric=tasks.belebele_eng_Latn.acc_norm
lm_eval_tasks = ['belebele_eng_Latn', 'belebele_zho_Hans', 'belebele_spa_Latn', 'belebele_arb_Arab',
                 'belebele_rus_Cyrl', 'belebele_deu_Latn', 'belebele_fra_Latn', 'belebele_jpn_Jpan',
                 'belebele_hin_Deva', 'belebele_por_Latn', 'belebele_ind_Latn', 'belebele_vie_Latn',
                 'belebele_tur_Latn', 'belebele_pol_Latn', 'belebele_ell_Grek', 'belebele_swh_Latn',
                 'belebele_pes_Arab', 'belebele_ben_Beng', 'belebele_tha_Thai', 'belebele_kor_Hang',
                 'xnli_en', 'xnli_zh', 'xnli_es', 'xnli_ar', 'xnli_ru', 'xnli_de', 'xnli_fr', 'xnli_hi', 'xnli_vi',
                 'xnli_tr', 'xnli_el', 'xnli_sw', 'xnli_th', 'xcopa_zh', 'xcopa_id', 'xcopa_vi', 'xcopa_tr',
                 'xcopa_sw', 'xcopa_th', 'xstorycloze_en', 'xstorycloze_zh', 'xstorycloze_es', 'xstorycloze_ar',
                 'xstorycloze_ru', 'xstorycloze_hi', 'xstorycloze_id', 'xstorycloze_sw', 'hellaswag', 'arc_easy']
launcher = 'slurm'
num_gpus = 4                 # per node
slurm_nodes = {'apertus-1B': 2}
slurm_time = '24:00:00'
slurm_setup = ['source .venv/bin/activate']
# the study's primary eval set, as eval_bpb.py settings ({}: every document of the corpus's test
# split, each model at its own block_size, disjoint windows): scored on every run; the analysis
# reads each run's entry of it, never the latest entry
eval_args = {}
# secondary eval sets, scored on every run and ranked apart (labelled secondary; never the verdict):
# e.g. FLORES-200 devtest in the grid's languages, from a local copy of its release (offline), as
# {'flores-devtest': {'flores_dir': 'data/flores200_dataset', 'flores_split': 'devtest',
#                     'flores_langs': ['eng_Latn', 'deu_Latn', ...]}}
secondary_eval_sets = {}
analysis = 'scale'
