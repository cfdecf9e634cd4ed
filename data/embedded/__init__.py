"""The embedded corpus: generated multilingual children's stories (generate.py) from word lists (words.py)."""
