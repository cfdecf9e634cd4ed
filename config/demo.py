# The whole pipeline on the generated multilingual corpus, on CPU, in minutes (`make demo`).
corpus = 'embedded'
embedded_bytes = 4_000_000   # ~4 MB of generated stories in 6+ languages
tok_bytes = 1_500_000
