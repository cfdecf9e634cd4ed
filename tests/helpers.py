"""Helpers shared by the test files that need a small trained tokenizer and a random tiny model."""
import torch

import tokenizer
from data.embedded import generate
from model import GPT, make_config

VOCAB = 400


def train_small_bpe(path):
    """A 400-id BPE on 60 kB of the generated corpus (seed 3): enough structure for eval and sampling tests."""
    tokenizer.train_bpe([d['text'] for d in generate.generate_documents(60_000, seed=3)], VOCAB, path)
    return path


def random_model(preset='gpt2-tiny', block_size=32, seed=0):
    """Every weight perturbed, so predictions vary from token to token and position to position."""
    torch.manual_seed(seed)
    model = GPT(make_config(preset, vocab_size=VOCAB, block_size=block_size)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model
