# SuperBPE for `make demo`: BPE to the transition point t = 1,600 ids, then merges across spaces
# up to 2,000 (= bpe-2k and btm-1k-2k: the A/B demo's three arms share a vocabulary size) on the
# generated corpus, seconds on CPU.
#   python prepare.py config/demo.py && python btm.py config/superbpe_demo.py
#   -> out/tokenizers/superbpe-t1.6k-2k
corpus = 'embedded'
method = 'superbpe'
n_base = 1600              # the transition point t
vocab_size = 2000
name = 'superbpe-t1.6k-2k'
progress = False           # a bar for a second of merges is noise
num_proc = 1               # 1.5 MB of text: encoding processes would cost more than they save
