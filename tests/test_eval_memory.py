"""One long document, scored a piece at a time (uniscale/long_text.py, uniscale/bpb.py score_long):
the pieces' ids equal the whole document's encoding for every tokenizer kind (bpe, unigram, btm,
tiktoken), the streamed windows equal `windows`, the streamed bpb equals the whole-document path's,
and eval_bpb.py's peak memory on a 1 MB and an 8 MB document stays within 100 MB of its peak on a
short one (measured in a subprocess: VmHWM)."""
import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

import helpers  # tests/helpers.py; the small BPE fixtures tok_dir and tok are in conftest.py
import tokenizer as T
from data.embedded import generate
from test_eval_bpb import write_run
from uniscale import bpb, long_text, tokenization

pytestmark = pytest.mark.usefixtures('one_thread')
EPS32 = float(np.finfo(np.float32).eps)
ADVERSARIAL = ['a  b', 'x \n y', 'end.  ', '  lead', 'tab\t x', "it's 'tis", '12345 678',
               'héllo wörld 你好 😀🎉', 'مرحبا بك', 'a\r\n b', '...  ?!', 'ü ', ' \u00a0 nbsp', 'A B C',
               'ThisIsCamel Case', '\n\n\nx']


def long_text_of(n_chars, seed=0):
    """Generated prose with the adversarial strings dropped in at random places."""
    rng = random.Random(seed)
    docs = generate.generate_documents(max(4 * n_chars, 20_000), seed=seed)
    words = ' '.join(d['text'] for d in docs).split(' ')
    out, size = [], 0
    while size < n_chars:
        w = rng.choice(ADVERSARIAL) if rng.random() < 0.1 else words[rng.randrange(len(words))]
        out.append(w)
        size += len(w) + 1
    return ' '.join(out)


@pytest.fixture(scope='module')
def kinds(tok_dir, tmp_path_factory):
    """Loaded tokenizers of every kind available here: bpe, unigram, btm (trained in tmp),
    cl100k_base offline."""
    root = tmp_path_factory.mktemp('kinds')
    docs = [d['text'] for d in generate.generate_documents(60_000, seed=3)]
    T.train_unigram(docs, 1000, str(root / 'unigram-1k'))
    btm = pytest.importorskip('btm')
    btm.train(docs, str(root / 'btm'), n_base=300, vocab_size=700)
    out = {'bpe': tokenization.load_tokenizer(tok_dir),
           'unigram': tokenization.load_tokenizer(str(root / 'unigram-1k')),
           'btm': tokenization.load_tokenizer(str(root / 'btm'))}
    try:
        out['tiktoken'] = tokenization.load_tokenizer('cl100k_base')
    except SystemExit:  # not available offline here: the other kinds still run
        pass
    return out


@pytest.mark.parametrize('kind', ['bpe', 'unigram', 'btm', 'tiktoken'])
def test_pieces_concatenate_to_the_whole_document_encoding(kinds, kind):
    if kind not in kinds:
        pytest.skip(f"{kind}: no offline encoding here")
    tok = kinds[kind]
    assert long_text.why_not_exact(tok) is None  # every kind here is cut, none encoded whole
    text = long_text_of(30_000, seed=1) + ' '.join(ADVERSARIAL)
    whole = tok.encode(text)
    for piece_chars in (1, 3, 17, 400, 5000):
        pieces = list(long_text.encode_pieces(tok, text, piece_chars))
        assert len(pieces) > 1
        assert np.concatenate(pieces).tolist() == whole, piece_chars


def test_a_cut_anywhere_else_would_change_the_ids(kinds):
    """The check above can fail: a text cut elsewhere, or a btm stretch cut at a pair inside a
    merged token, gives other ids than the whole text."""
    tok, text = kinds['bpe'], 'x \n y  z' + long_text_of(300, seed=3)
    whole = tok.encode(text)
    assert any(tok.encode(text[:i]) + tok.encode(text[i:]) != whole for i in range(1, len(text)))
    btm = kinds['btm']
    text = long_text_of(5000, seed=2)
    prim = btm.primitive.encode(text)
    inside = long_text.inside_pairs(btm)
    inside = set(inside.tolist())
    cuts = [q for q in range(1, len(prim)) if prim[q - 1] * btm.n_base + prim[q] in inside]
    whole = btm.encode(text)
    assert any(btm.apply([prim[:q]])[0] + btm.apply([prim[q:]])[0] != whole for q in cuts[:50])


def test_an_unproven_pre_tokenization_is_encoded_whole(kinds, monkeypatch):
    tok = kinds['bpe']
    monkeypatch.setitem(tok.meta, 'pretokenize_pattern', r'\S+|\s+')
    assert 'pre-tokenization' in long_text.why_not_exact(tok)
    text = long_text_of(3000)
    assert [ids.tolist() for ids in long_text.encode_pieces(tok, text, 10)] == [tok.encode(text)]


def test_text_pieces_join_to_the_text_and_cut_only_after_ascii_before_a_space():
    text = long_text_of(20_000, seed=4)
    for piece_chars in (1, 50, 1000):
        pieces = list(long_text.text_pieces(text, piece_chars))
        assert ''.join(pieces) == text
        for p in pieces[1:]:
            assert p[0] == ' '
        for p in pieces[:-1]:
            assert '!' <= p[-1] <= '~' and len(p) >= piece_chars
    assert list(long_text.text_pieces('你好' * 100, 10)) == ['你好' * 100]  # no cut: one piece


@pytest.mark.parametrize('ctx', [1, 2, 7, 32])
def test_window_stream_gives_the_windows_of_the_whole_document(ctx):
    rng = random.Random(ctx)
    for n in sorted({0, 1, ctx - 1, ctx, ctx + 1, 2 * ctx, 10 * ctx + 3} - {-1}):
        ids = np.arange(10, 10 + n)
        full = np.concatenate([[0], ids])
        for ovl in sorted({0, 1, ctx // 2, ctx - 1} & set(range(ctx))):
            want = [(full[s:e + 1].tolist(), f - s) for s, f, e in bpb.windows(n, ctx, ovl)]
            stream, got, at = bpb.WindowStream(ctx, ovl, 0), [], 0
            while at < n:
                k = rng.randint(0, 2 * ctx)
                got += stream.push(ids[at:at + k])
                at += k
            got += stream.finish()
            assert [(x.tolist(), skip) for x, skip in got] == want, (n, ovl)


@pytest.mark.parametrize('ovl', [0, 5, 24])
def test_a_streamed_document_scores_as_the_whole_document_path(tok, monkeypatch, ovl):
    """A document alone: the same forward batches, the same sums in the same order: equal to
    1e-12."""
    model, text = helpers.random_model('gpt2-tiny', 32), long_text_of(12_000, seed=5)
    whole = bpb.score_documents(model, tok, [(text, 'eng')], ctx=32, ovl=ovl, max_tokens=256)
    monkeypatch.setattr(bpb, 'STREAM_CHARS', 500)
    streamed = bpb.score_documents(model, tok, [(text, 'eng')], ctx=32, ovl=ovl, max_tokens=256)
    assert streamed['bpb'] == pytest.approx(whole['bpb'], rel=1e-12, abs=0)
    for key in ('n_tokens', 'n_bytes', 'n_docs', 'windowing'):
        assert streamed[key] == whole[key]


def test_long_documents_among_short_ones_score_as_before(tok, monkeypatch):
    """Mixed with short documents the long ones' windows are batched apart from theirs: the same
    numbers up to fp32 rounding of other batch shapes (each token's -log p to a few fp32 eps: rel 8
    eps32 on the sum)."""
    model = helpers.random_model('gpt2-tiny', 32)
    docs = [(d['text'][:300], d['lang']) for d in generate.generate_documents(20_000, 6)]
    docs = (docs[:5] + [(long_text_of(6000, seed=7), 'eng')] + docs[5:9]
            + [(long_text_of(4000, seed=8), 'deu')])
    whole = bpb.score_documents(model, tok, docs, ctx=32, ovl=8, max_tokens=256)
    monkeypatch.setattr(bpb, 'STREAM_CHARS', 1000)
    streamed = bpb.score_documents(model, tok, docs, ctx=32, ovl=8, max_tokens=256)
    assert streamed['nll_nats'] == pytest.approx(whole['nll_nats'], rel=8 * EPS32)
    for lang in whole['per_lang']:
        for key in ('n_tokens', 'n_bytes', 'n_docs'):
            assert streamed['per_lang'][lang][key] == whole['per_lang'][lang][key]
    assert streamed['windowing'] == whole['windowing']


# ---------------------------------------------------------------- memory, in a subprocess
PEAK = """import sys
sys.path[:0] = [{root!r}]
import configurator
import eval_bpb
eval_bpb.main({{**configurator.defaults(eval_bpb), **{cfg!r}}})
with open('/proc/self/status') as f:
    print('VmHWM', next(int(line.split()[1]) * 1024 for line in f if line.startswith('VmHWM:')))
"""


# glibc's mmap threshold is dynamic: freeing a large block raises it, so later large blocks come
# from the heap and may stay mapped after their free, and the peak then depends on the order of
# frees (measured here: 56-127 MB of growth for one 8 MB document, run to run, on unchanged code).
# A fixed threshold maps every large block on its own and unmaps it on free: the peak is the live
# memory (51.5-51.7 MB over 5 runs)
FIXED_MMAP = {'MALLOC_MMAP_THRESHOLD_': str(1 << 17)}


def eval_peak_rss(tmp_path, run_dir, text, name):
    """Peak RSS (bytes) of a fresh process scoring one document with eval_bpb.py --files."""
    path = tmp_path / f'{name}.jsonl'
    line = json.dumps({'text': text, 'lang': 'eng'}, ensure_ascii=False)
    path.write_text(line + '\n', encoding='utf-8')
    cfg = {'run': run_dir, 'files': str(path), 'threads': 1, 'batch_tokens': 8192, 'force': True}
    out = subprocess.run([sys.executable, '-c', PEAK.format(root=helpers.ROOT, cfg=cfg)],
                         capture_output=True, text=True, env={**helpers.SCRIPT_ENV, **FIXED_MMAP}, cwd=tmp_path,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return int(out.stdout.split('VmHWM')[-1])


@pytest.fixture(scope='module')
def small_run(tmp_path_factory, tok_dir):
    """A run folder whose model is one layer of width 8 over the 400-id BPE: scoring is cheap (the
    LM head's cost is tokens x vocabulary), the memory measured is the document's, its pieces' and
    its windows'."""
    from model import GPT, make_config
    torch.manual_seed(0)
    model = GPT(make_config('gpt2-tiny', vocab_size=helpers.VOCAB, block_size=256, n_layer=1,
                            n_head=1, n_embd=8))
    return write_run(str(tmp_path_factory.mktemp('memrun') / 'run'), model, tok_dir)


@pytest.mark.parametrize('n_mb', [1, 8])
def test_peak_memory_is_flat_in_one_documents_length(tmp_path, small_run, n_mb):
    text = long_text_of(200_000, seed=11)
    base = eval_peak_rss(tmp_path, small_run, text[:20_000], 'short')
    big = eval_peak_rss(tmp_path, small_run, (text * (n_mb * 5 + 1))[:n_mb * 1_000_000], 'long')
    growth_mb = (big - base) / 1e6
    assert growth_mb < 100, f"{n_mb} MB document: peak RSS {growth_mb:.0f} MB above a short one's"
