# BTM for `make demo`: a primitive BPE of 1,000 ids merged up to 2,000 on the generated corpus, seconds on CPU.
#   python prepare.py config/demo.py && python btm.py config/btm_demo.py
#   python btm.py analyze config/btm_demo.py   # against bpe-2k (config/tokenizers_demo.py), trained if missing
corpus = 'embedded'
n_base = 1000
vocab_size = 2000          # = bpe-2k's, so analyze compares equal vocabularies; the name follows: btm-1k-2k
progress = False           # a bar for a second of merges is noise
num_proc = 1               # 1.5 MB of text: starting encoding processes would cost more than it saves
