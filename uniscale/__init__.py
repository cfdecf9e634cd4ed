"""
uniscale/: the code the scripts at the root share. Nothing here is run directly; each module is one idea.

  atomic            temp file + rename, and one-line disk errors: how every script writes an artifact
  identity          content hashes: fingerprints of settings and inputs, file sha256, what changed
  locks             one writer at a time: a file lock per folder, naming its holder
  splits            reading a text split (one-line errors per bad line), whole or a seeded sample
  sources           hub and local-parquet readers of the corpora (TinyStories, FineWeb-2); your own files
  own_text          your own text's split rule: files by sha256, each document's split from its text
  split_making      prepare.py's corpus makers, impossible splits, never remaking what others were computed from
  shards            the token shard format, its reader, how training reads a split and its validation set
  hardware          which device, dtype, autocast and peak FLOP/s a script uses
  chunked_loss      how model.py's loss is computed without the full logits (imports no project module)
  bpb               the one bits-per-byte scorer: training's validation, eval_bpb.py, the preflight
  tokenization      the shared pre-tokenization, the table of tokenizer kinds (KINDS), load_tokenizer for each
  merge_loop        the merge loop of every superword method (btm, superbpe, boundless) + its naive reference
  btm_encoding      BTM's encoder (merges applied over the primitive BPE), below tokenization
  primitive_stream  BTM step 1: a corpus through the primitive BPE as flat id arrays, in parallel
  regex_gap         code points Python's regex and tokenizers' Oniguruma classify apart (measured; tested)
  hf_remote_btm     BTM as a transformers tokenizer: copied into BTM exports as remote code (imports nothing here)
  tokenizer_metrics intrinsic tokenizer metrics, plots and tables (python tokenizer.py eval)
  vocab_compare     vocabulary report over any set of tokenizers (python btm.py analyze)
  eval_file         the eval file format: entries by identity, merged under a lock, found by eval set
  run_folder        what a run folder is: checkpoints, finished or not, which evaluation set an eval file scored
  train_runtime     train.py's processes, DDP, regional compile, signals, memory check, background checkpoints
  preflight_check   sweep.py --preflight / --dry_run: each configuration measured, or its cost estimated
  lr_scan_analysis  does the small size's ranking survive the learning rate? (correlate.py scale --lr_scan_runs)
  slurm_launch      sweep.py's SLURM arrays: training, its dependent 1-GPU evaluation, their submission
  rank_stats        rank correlations with exact p-values, decision accuracy, the seed-noise model, Holm, verdicts
  power_law         bpb = E + A N^-alpha fits, lack-of-fit test, intervals if the law holds, extrapolation
  scale_analysis    the scale study's numbers (correlate.py scale)
  scale_report      the scale study's report.md, tables and plots
  law_report        the scale report's scaling-fits section (the law, its test, extrapolation, backtest)
  ab_analysis       the A/B study's numbers, report and plots (correlate.py ab)
  report_format     number formatting, Markdown/CSV tables, PNG figures written atomically
"""
