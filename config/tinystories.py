# The A/B study's corpus: roneneldan/TinyStories (validation split -> test, seeded 1% of train -> val).
#   python prepare.py config/tinystories.py
corpus = 'tinystories'
tok_bytes = 500_000_000   # text the BPE / BTM tokenizers train on (a prefix of train)
val_fraction = 0.01
