# The first study's corpus: 20 languages of FineWeb-2 (English from FineWeb), streamed from the hub.
#   python prepare.py config/fineweb2.py
# Offline, point fineweb2_files at a folder holding {lang}/*.parquet in FineWeb-2's schema.
from config.langs import LANG_SET_20

corpus = 'fineweb2'
langs = LANG_SET_20
tok_bytes = 2_000_000_000      # 2 GB of text for tokenizer training (a prefix of train, per language)
train_bytes = 84_000_000_000   # 84 GB of text for LM training: apertus-1B's 80 GB budget without repeating a document
eval_docs_per_lang = 1000      # val and test documents per language
temperature = 0.0              # equal bytes per language; set T (and lang_sizes) for temperature sampling
lang_cap = 0.2
