# Tokenizers for `make demo`: BPE and UnigramLM at 2,000, 3,000 and 4,000 ids on the generated corpus, on CPU, in
# seconds (the scale demo, config/sweep_demo.py, trains models on five of them: a ranking of five can be significant).
#   python prepare.py config/demo.py && python tokenizer.py config/tokenizers_demo.py
#   python tokenizer.py config/tokenizers_demo.py --algorithms="['parity']" --vocab_sizes=[2000]
#   python tokenizer.py eval config/tokenizers_demo.py \
#       --eval_tokenizers="['out/tokenizers/parity-2k','cl100k_base']"   # cl100k_base ships offline
# parity-2k: parity-aware BPE, its dev set the generated parallel stories (seed 1), so its Gini on
# the generated stories (seed 0) says nothing about fairness on real text (FLORES-200 does).
corpus = 'embedded'
algorithms = ['bpe', 'unigram']
vocab_sizes = [2000, 3000, 4000]  # -> bpe-2k, bpe-3k, bpe-4k, unigram-2k, unigram-3k, unigram-4k
eval_split = 'val'
eval_tokenizers = []              # make demo adds parity-2k (once trained) and cl100k_base
verbose = False                   # SentencePiece's log and the progress bars are noise at this size
# The premium on the generated stories told in each language (offline): parallel in plot, not word for word, so
# its Gini says nothing about real fairness. Petrov et al.'s protocol on FLORES-200 files instead:
#   python tokenizer.py eval config/tokenizers_demo.py --premium_set=flores200 --flores_dir=.../flores200_dataset
premium_set = 'embedded-parallel'
premium_mode = 'petrov'           # each language's text joined by one space, encoded once (Petrov et al.)
