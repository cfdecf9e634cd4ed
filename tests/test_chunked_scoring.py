"""The one chunked scorer (issue 22): uniscale/bpb.py scores through the model's final hidden states and the LM head a
chunk of rows at a time, never the (tokens, vocab) logits, with the numbers of the materialising
scorer (both within fp32 rounding of the float64 forward, tests/helpers.py; on run folders as the
tests write them too); eval_bpb.py streams its documents (a group at a time, the split read again
while scoring and refused if it changed). Tiny CPU models, as tests/test_eval_bpb.py."""
import math
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

import eval_bpb
import helpers
from helpers import VOCAB
from model import GPT, make_config
from test_eval_bpb import config, sample_docs, write_run, write_split
from uniscale import bpb

pytestmark = pytest.mark.usefixtures('one_thread')


def random_model(preset, block_size=64, seed=0, **overrides):
    torch.manual_seed(seed)
    model = GPT(make_config(preset, vocab_size=VOCAB, block_size=block_size, **overrides)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model


@torch.no_grad()
def materialising_score(model, items):
    """The scorer as it was before issue 22: the full logits of each item, F.cross_entropy, summed
    per item (in float64 for a float64 model under helpers.float64_math: the reference)."""
    out = []
    for ids, skip in items:
        ids = torch.as_tensor(ids, dtype=torch.long)
        logits, _ = model(ids[None, :-1])
        nll = F.cross_entropy(logits[0].float(), ids[1:], reduction='none')
        out.append(nll[skip:].double().sum().item())
    return np.array(out)


def random_items(n=9, block=64, seed=3):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(2, block + 2, (n,), generator=g).tolist()
    return [(torch.randint(0, VOCAB, (k,), generator=g).numpy(), int(k // 3)) for k in lengths]


def float64_score(model, items):
    with helpers.float64_math():
        return materialising_score(helpers.float64_copy(model), items)


@pytest.mark.numeric
@pytest.mark.parametrize('preset, loss_chunk', [('gpt2-tiny', -1), ('apertus-tiny', 7), ('apertus-tiny', 0)])
def test_score_equals_the_materialising_scorer(preset, loss_chunk):
    """Both fp32 scorers within fp32 rounding of the float64 forward (so of each other, on any BLAS)."""
    model = random_model(preset, loss_chunk=loss_chunk)
    items = random_items()
    nll, counts = bpb.score(model, items, 'cpu', 'float32', max_tokens=150)  # several batches, right padding
    assert counts.tolist() == [len(ids) - 1 - skip for ids, skip in items]
    ref, n = float64_score(model, items), helpers.longest_reduction(model.config, 65)
    # relative to each item's sum (of positive terms)
    helpers.assert_fp32_close(nll, ref, n, scale=ref, what='chunked scorer')
    old = materialising_score(model, items)
    helpers.assert_fp32_close(old, ref, n, scale=ref, what='materialising')


@pytest.mark.numeric
def test_one_token_more_or_less_fails_the_tolerance():
    """The bound still sees a real bug: one token too few scored, or one too many (context)."""
    model = random_model('gpt2-tiny')
    items = random_items()
    nll, _ = bpb.score(model, items, 'cpu', 'float32', max_tokens=150)
    ref, n = float64_score(model, items), helpers.longest_reduction(model.config, 65)
    for shift in (1, -1):
        wrong = float64_score(model, [(ids, max(0, skip + shift)) for ids, skip in items])
        ratio = helpers.fp32_error_ratio(nll, wrong, n, scale=ref, what=f'bug: skip {shift:+d}')
        assert ratio > 1, shift


def test_score_in_bfloat16_stays_close_to_the_autocast_forward():
    model = random_model('apertus-tiny')
    items = random_items()
    nll, _ = bpb.score(model, items, 'cpu', 'bfloat16')
    with torch.autocast('cpu', dtype=torch.bfloat16):
        ref = materialising_score(model, items)
    np.testing.assert_allclose(nll, ref, rtol=2e-2)


class LargestLogits(TorchDispatchMode):
    """The most elements of any fresh tensor (not a view) whose last dimension is the vocabulary, made by any op."""

    def __init__(self, *vocab):
        super().__init__()
        self.vocab, self.largest = vocab, 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for r, t in zip(func._schema.returns, out if isinstance(out, (tuple, list)) else [out]):
            fresh = isinstance(t, torch.Tensor) and r.alias_info is None and t.dim() > 0  # a view holds nothing new
            if fresh and t.size(-1) in self.vocab:
                self.largest = max(self.largest, t.numel())
        return out


def test_score_never_holds_more_than_a_chunk_of_logits():
    model = random_model('apertus-tiny', loss_chunk=16)
    items = random_items(n=6)
    n_scored = sum(len(ids) - 1 - skip for ids, skip in items)
    vocabs = VOCAB, model.config.padded_vocab  # 400 ids, 448 rows in the head
    watch = LargestLogits(*vocabs)
    with watch:
        bpb.score(model, items, 'cpu', 'float32', max_tokens=4096)  # one batch of every item
    assert n_scored > 64 and watch.largest == 16 * VOCAB
    watch = LargestLogits(*vocabs)
    with watch, torch.no_grad():
        model(torch.zeros(6, 64, dtype=torch.long))  # the plain forward does hold them all: what the scorer avoids
    assert watch.largest >= 6 * 64 * VOCAB


def old_bits_per_byte(model, tok, texts):
    """bits per byte as uniscale/bpb.py computed it before issue 22: every window of every document in one list,
    full logits per item (materialising_score), summed over the split."""
    items = []
    for ids in tok.encode_batch(texts):
        full = [tok.bos_id] + list(ids)
        items += [(full[s:e + 1], f - s) for s, f, e in bpb.windows(len(ids), model.config.block_size)]
    nats = materialising_score(model, items).sum()
    return nats / math.log(2) / sum(len(t.encode('utf-8')) for t in texts)


@pytest.mark.numeric
def test_eval_bpb_of_a_run_folder_gives_the_bpb_of_before(tmp_path, tok_dir, tok):
    texts, _ = write_split(tmp_path / 'corpus')
    model = helpers.random_model('gpt2-tiny', 32, seed=4)  # block 32: long documents take several windows
    run = write_run(str(tmp_path / 'runs' / 'r'), model, tok_dir)
    out = eval_bpb.main(config(tmp_path, run=run))[run]
    with helpers.float64_math():
        ref = old_bits_per_byte(helpers.float64_copy(model), tok, texts)
    n = helpers.longest_reduction(model.config, 32)
    helpers.assert_fp32_close(out['bpb'], ref, n, what='eval_bpb.py')
    one_token_dropped = ref * (1 - 1 / out['n_tokens'])  # a token of mean loss
    assert helpers.fp32_error_ratio(out['bpb'], one_token_dropped, n, what='bug: a drop') > 1
    assert out['n_docs'] == len(texts) and out['eval_set']['n_docs'] == len(texts)


@pytest.mark.numeric
def test_documents_are_scored_a_group_at_a_time_with_the_numbers_of_one_group(tok, monkeypatch):
    model = random_model('gpt2-tiny', block_size=32)
    texts, langs = sample_docs()
    whole = bpb.bits_per_byte(model, tok, texts, langs)  # 12 short documents: one group
    read, at_scoring = [], []

    def docs():
        for doc in zip(texts, langs):
            read.append(doc)
            yield doc
    score = bpb.score

    def watched_score(*args, **kwargs):
        at_scoring.append(len(read))
        return score(*args, **kwargs)
    monkeypatch.setattr(bpb, 'GROUP_BATCHES', 1e-3)  # a group closes at ~33 characters: about one document
    monkeypatch.setattr(bpb, 'score', watched_score)
    streamed = bpb.score_documents(model, tok, docs(), max_tokens=8192)
    assert len(at_scoring) >= 8 and at_scoring[0] <= 2 and at_scoring == sorted(at_scoring)  # read as it is scored
    for key in ('n_tokens', 'n_bytes', 'n_docs'):
        assert streamed[key] == whole[key]
        assert {k: v[key] for k, v in streamed['per_lang'].items()} == {k: v[key] for k, v in whole['per_lang'].items()}
    n = helpers.longest_reduction(model.config, 32)  # two fp32 scores (other batches): two bounds
    helpers.assert_fp32_close(streamed['bpb'], whole['bpb'], n, 2 * helpers.C_FORWARD)
    assert streamed['windowing']['n_windows'] == whole['windowing']['n_windows']


def test_a_file_changed_while_it_is_scored_is_refused_and_nothing_is_written(tmp_path, tok_dir, monkeypatch):
    texts, langs = sample_docs()
    held_out = tmp_path / 'held_out.txt'
    held_out.write_text(texts[3], encoding='utf-8')
    run = write_run(str(tmp_path / 'runs' / 'r'), helpers.random_model('gpt2-tiny', 32), tok_dir)
    load_model = eval_bpb.load_model

    def load_then_edit(*args, **kwargs):  # after the scan (hash, count), before the documents are read again
        with open(held_out, 'a', encoding='utf-8') as f:
            f.write(' and then some more.')
        return load_model(*args, **kwargs)
    monkeypatch.setattr(eval_bpb, 'load_model', load_then_edit)
    with pytest.raises(SystemExit) as e:
        eval_bpb.main(config(tmp_path, run=run, files=str(held_out)))
    msg = str(e.value)
    assert 'held_out.txt: changed while it was being scored' in msg and '\n' not in msg
    assert not os.path.exists(os.path.join(run, 'eval_files.json'))
    assert not [f for f in os.listdir(run) if f.endswith('.tmp')]
    monkeypatch.setattr(eval_bpb, 'load_model', load_model)  # the case that must still pass: scored once complete
    out = eval_bpb.main(config(tmp_path, run=run, files=str(held_out)))[run]
    assert out['n_docs'] == 1 and out['n_bytes'] == len(held_out.read_bytes())
