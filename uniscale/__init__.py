"""
uniscale/: the code the scripts at the root share. Nothing here is run directly; each module is one idea.

  atomic            temp file + rename, and one-line disk errors: how every script writes an artifact
  identity          content hashes: fingerprints of settings and inputs, file sha256, what changed
  code_identity     the code a result was computed from: its normalised source's sha256 (train, eval, analysis)
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
  long_text         a long document encoded a piece at a time, equal to encoding it whole
  merge_loop        the merge loop of every superword method (btm, superbpe, boundless) + its naive reference
  superbpe          SuperBPE, two stages on one engine, exported as a stock tokenizer.json
  parity_bpe        parity-aware BPE: each merge for the language a parallel dev set finds worst
  parity_inputs     what parity-aware BPE trains on: the tok split by language, its parallel dev set
  boundless         BoundlessBPE: word-level BPE, then supermerges of adjacent whole pretokens
  btm_encoding      BTM's encoder (merges applied over the primitive BPE), below tokenization
  primitive_stream  BTM step 1: a corpus through the primitive BPE as flat id arrays, in parallel
  regex_gap         code points Python's regex and tokenizers' Oniguruma classify apart (measured; tested)
  hf_remote_btm     BTM as a transformers tokenizer: copied into BTM exports as remote code (imports nothing here)
  hf_remote_boundless  BoundlessBPE as a transformers tokenizer (remote code in its exports)
  tokenizer_metrics intrinsic tokenizer metrics, plots and tables (python tokenizer.py eval)
  fairness          Petrov et al.'s premium protocol (FLORES-200 dev + devtest), premiums, their Gini
  premium           tokenizer.py eval's premium: parallel sets (FLORES-200, FLORES+, files), modes, identity
  vocab_compare     vocabulary report over any set of tokenizers (python btm.py analyze)
  eval_file         the eval file format: entries by identity, merged under a lock, found by eval set
  run_folder        what a run folder is: checkpoints, finished or not, which evaluation set an eval file scored
  eval_sets         which text an eval set is (content hashes); FLORES-200 from its own folder layout
  study_inputs      what a study reads, chosen by content identity (the eval entry, the metrics)
  train_runtime     train.py's processes, DDP, regional compile, signals, memory check, background checkpoints
  preflight_check   sweep.py --preflight / --dry_run: each configuration measured, or its cost estimated
  lr_scan_analysis  does the small size's ranking survive the learning rate? (correlate.py scale --lr_scan_runs)
  local_launch      sweep.py's local jobs: child processes in their own groups, parallel, stopped with the sweep
  slurm_launch      sweep.py's SLURM arrays: training, its dependent 1-GPU evaluation, their submission
  rank_stats        rank correlations with exact p-values, decision accuracy, the seed-noise model, Holm, verdicts
  verdict_words     which verdict words n tokenizers can reach (enumerated) and the rules in words
  resolve_sim       how many seeds per cell would resolve the headline: the study replicated
  power_law         bpb = E + A N^-alpha fits, lack-of-fit test, intervals if the law holds, extrapolation
  scale_analysis    the scale study's numbers (correlate.py scale)
  scale_report      the scale study's report.md, tables and plots
  study_card        the scale report's first tables: the study beside DataDecide's anchor
  agreement_report  the agreement-over-training section and its compute-saving sentence
  eval_set_analysis  secondary eval sets: each one's ranking and verdict, the flip table
  fairness_report   the scale report's fairness section: premium Gini beside bpb, rank agreement
  law_report        the scale report's scaling-fits section (the law, its test, extrapolation, backtest)
  ab_analysis       the A/B study's numbers, report and plots (correlate.py ab)
  report_format     number formatting, Markdown/CSV tables, PNG figures written atomically
"""
