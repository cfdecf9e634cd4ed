"""btm.py: the merge loop equals its naive definition, encoding reproduces training, the tokenizer is lossless."""
import glob
import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import btm
import configurator
from data.embedded import generate
from uniscale import btm_encoding, merge_loop, primitive_stream, splits, tokenization

SETTINGS = settings(max_examples=250, deadline=None, database=None)


@st.composite
def corpora(draw, max_base=6):
    """(n_base, docs): small id documents built from runs (A A A A), so overlaps and ties are common."""
    n_base = draw(st.integers(1, max_base))
    run = st.tuples(st.integers(0, n_base - 1), st.integers(1, 5))
    doc = st.lists(run, max_size=12).map(lambda runs: [t for t, k in runs for _ in range(k)])
    return n_base, draw(st.lists(doc, max_size=6))


def naive_apply_merges(docs, merges, n_base):
    """Encoding by the definition: each merge in rank order over the whole document."""
    docs = [list(d) for d in docs]
    for k, (a, b) in enumerate(merges):
        docs = [merge_loop.replace_pair(d, a, b, n_base + k) for d in docs]
    return docs


def as_lists(docs):
    return [list(map(int, d)) for d in docs]


@SETTINGS
@given(corpora(), st.integers(0, 40), st.integers(0, 3), st.integers(1, 4))
def test_learn_merges_equals_naive_reference(corpus, n_merges, min_frequency, queue_batch):
    # a small queue_batch makes the heap take the waiting pairs a few at a time, as a large corpus does
    n_base, docs = corpus
    merges, segmented = merge_loop.naive_learn_merges(docs, n_base, n_merges, min_frequency)
    got = btm.learn_merges_detailed(docs, n_base, n_merges, min_frequency, queue_batch=queue_batch)
    assert got['merges'] == merges
    assert as_lists(got['docs']) == segmented
    assert merge_loop.learn_merges(docs, n_base, n_merges, min_frequency) == merges


ALPHABET = [b'a', b' ', b'b', b'\n', b' c', b'd ', b'e']


@SETTINGS
@given(corpora(max_base=len(ALPHABET)), st.integers(0, 40), st.integers(1, 3), st.integers(0, 3),
       st.sampled_from([(), (b'\n',), (b'\n', b'e')]), st.integers(1, 4))
def test_learn_merges_with_constraints_equals_naive_reference(corpus, n_merges, min_frequency, max_words, bounds,
                                                              queue_batch):
    n_base, docs = corpus
    kw = dict(token_bytes=ALPHABET[:n_base], max_words=max_words, boundaries=bounds)
    merges, segmented = merge_loop.naive_learn_merges(docs, n_base, n_merges, min_frequency, **kw)
    got = btm.learn_merges_detailed(docs, n_base, n_merges, min_frequency, queue_batch=queue_batch, **kw)
    assert got['merges'] == merges
    assert as_lists(got['docs']) == segmented


def fresh_tokens_only():
    """(allow, on_merge): a monotone rule following the vocabulary: no token another id spells."""
    seen = set()
    return (lambda left, right: left + right not in seen), seen.add


def shorter_with_each_merge():
    """(allow, on_merge): a monotone rule refusing pairs it allowed: 6 - (merges made) bytes."""
    made = []
    return (lambda left, right: len(left + right) <= 6 - len(made)), made.append


@SETTINGS
@given(corpora(max_base=len(ALPHABET)), st.data(), st.integers(0, 40), st.integers(1, 3),
       st.integers(1, 4), st.sampled_from(['none', 'no a', 'fresh', 'shorter']))
def test_weighted_units_and_allow_rules_equal_the_naive_reference(corpus, data, n_merges,
                                                                  min_frequency, queue_batch, rule):
    # a unit of weight w counts as w copies of it (SuperBPE's distinct chunks, their frequencies)
    n_base, docs = corpus
    weights = data.draw(st.lists(st.integers(0, 4), min_size=len(docs), max_size=len(docs)))
    got = []
    for fast in (False, True):
        allow, on_merge = {'fresh': fresh_tokens_only, 'shorter': shorter_with_each_merge}.get(
            rule, lambda: (None, None))()
        if rule == 'no a':
            allow = lambda left, right: b'a' not in left + right
        if rule == 'fresh':
            for t in ALPHABET[:n_base]:  # the bytes the base ids spell
                on_merge(t)
        kw = dict(token_bytes=ALPHABET[:n_base], weights=weights, allow=allow, on_merge=on_merge)
        if fast:
            out = btm.learn_merges_detailed(docs, n_base, n_merges, min_frequency,
                                            queue_batch=queue_batch, **kw)
            got.append((out['merges'], as_lists(out['docs'])))
        else:
            got.append(merge_loop.naive_learn_merges(docs, n_base, n_merges, min_frequency, **kw))
    assert got[0] == got[1]
    copies = [d for d, w in zip(docs, weights) for _ in range(w)]  # weights = repeated documents
    assert merge_loop.naive_learn_merges(copies, n_base, n_merges, min_frequency)[0] == \
        merge_loop.naive_learn_merges(docs, n_base, n_merges, min_frequency, weights=weights)[0]


def engine_apply(docs, merges, n_base):
    engine = btm_encoding.merge_engine(n_base, merges)
    spelled = [''.join(chr(btm_encoding.CHAR0 + i) for i in d) for d in docs]
    return [e.ids for e in engine.encode_batch_fast(spelled, add_special_tokens=False)]


@SETTINGS
@given(corpora(), st.integers(0, 40), st.integers(1, 3))
def test_encoding_training_documents_reproduces_training_segmentation(corpus, n_merges, min_frequency):
    n_base, docs = corpus
    got = btm.learn_merges_detailed(docs, n_base, n_merges, min_frequency)
    assert btm_encoding.apply_merges(docs, got['merges'], n_base) == as_lists(got['docs'])
    assert engine_apply(docs, got['merges'], n_base) == as_lists(got['docs'])


@SETTINGS
@given(corpora(), corpora(), st.integers(0, 40))
def test_encoding_new_documents_equals_naive_rank_order(train_corpus, new_corpus, n_merges):
    n_base, docs = train_corpus
    merges = merge_loop.learn_merges(docs, n_base, n_merges, min_frequency=1)
    new = [[t % n_base for t in d] for d in new_corpus[1]]
    expected = naive_apply_merges(new, merges, n_base)
    assert btm_encoding.apply_merges(new, merges, n_base) == expected
    assert engine_apply(new, merges, n_base) == expected


def test_overlapping_runs_count_every_position_and_replace_left_to_right():
    # A A A holds (A, A) twice; it becomes M A; A A A A becomes M M
    assert merge_loop.naive_learn_merges([[0, 0, 0]], 1, 5, 2) == ([(0, 0)], [[1, 0]])
    assert merge_loop.learn_merges([[0, 0, 0]], 1, 5, 2) == [(0, 0)]
    assert merge_loop.learn_merges([[0, 0, 0, 0]], 1, 5, 1, progress=True) == [(0, 0), (1, 1)]
    assert btm_encoding.apply_merges([[0, 0, 0, 0, 0]], [(0, 0)], 1) == [[1, 1, 0]]


def test_ties_go_to_the_smallest_pair_and_pairs_never_cross_documents():
    assert merge_loop.learn_merges([[1, 2], [0, 3], [2, 1]], 4, 1, 1) == [(0, 3)]
    assert merge_loop.learn_merges([[0], [1]] * 5, 2, 3, 1) == []  # (0, 1) only across documents


def test_merge_engine_declines_two_ids_spelling_the_same_primitive_ids():
    assert btm_encoding.merge_engine(3, [(0, 1), (3, 2), (1, 2), (0, 5)]) is None  # 4 and 6 both spell 0 1 2
    assert btm_encoding.merge_engine(3, [(0, 1), (3, 2)]) is not None


# ---------------------------------------------------------------- the tokenizer on text
WORDS = ['Once', 'upon', 'a', 'time', 'there', 'was', 'little', 'cat', 'dog', 'who', 'liked', 'to', 'play', 'in',
         'the', 'park', 'sun', 'happy', 'and', 'big', 'red', 'ball', 'Lily', 'Tom', 'Sie', 'spielte', 'über',
         'Straße', 'chat', 'été', 'ここ', 'で', '猫', 'Привет', 'мир']
ADVERSARIAL = ['', ' ', '\n\n\n', '\r\n\t \x00', 'a' * 300, '  leading and trailing  ', '<|bos|> <|eos|>',
               'e\u0301 combining, ZWJ 👩\u200d👩\u200d👧, flags 🇩🇪', '\ufeff\u2581\u00a0', '日本語のテキスト',
               'mixed 123456789 numbers 3.14159', '\x7f\x80 control', 'Once upon a time' * 20, 'ß' * 33]


SYLLABLES = ['ka', 'lo', 'mi', 'ren', 'tu', 'shi', 'po', 'an', 'el', 'ra', 'qu', 'ix']


def stories(n, seed):
    """Toy stories: a stock phrase, common words and made-up ones (so a BPE of 620 ids has enough pairs)."""
    rng = random.Random(seed)
    word = lambda: rng.choice(WORDS) if rng.random() < 0.7 else ''.join(rng.choices(SYLLABLES, k=rng.randint(1, 3)))
    out = []
    for _ in range(n):
        sents = ['Once upon a time, there was a little ' + rng.choice(WORDS) + '.']
        sents += [' '.join(word() for _ in range(rng.randint(3, 9))) + rng.choice('.!?')
                  for _ in range(rng.randint(2, 6))]
        out.append(' '.join(sents) + rng.choice(['', '\n', '\nThe end.']))
    return out


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp('btm')
    os.makedirs(root / 'corpus' / 'toy')
    for split, seed, n in (('tok', 0, 600), ('val', 1, 60)):
        with open(root / 'corpus' / 'toy' / f'{split}.jsonl', 'w') as f:
            f.writelines(json.dumps({'text': t, 'lang': 'eng'}) + '\n' for t in stories(n, seed))
    cfg = configurator.defaults(btm)
    cfg.update(corpus='toy', corpus_dir=str(root / 'corpus'), out_dir=str(root / 'tokenizers'), n_base=320,
               vocab_size=620, progress=False, analysis_dir=str(root / 'analysis'), name='btm-toy', num_proc=1)
    btm.train_command(cfg)
    return cfg, os.path.join(cfg['out_dir'], 'btm-toy')


def test_load_tokenizer_gives_the_btm_interface(trained):
    cfg, path = trained
    tok = tokenization.load_tokenizer(path)
    meta = json.load(open(os.path.join(path, 'meta.json')))
    assert (tok.kind, tok.vocab_size, tok.bos_id, tok.eos_id) == ('btm', 620, 0, 1)
    assert tok.hash == meta['hash'] and meta['n_base'] == 320 and len(tok.merges) == 300
    assert all(a >= 2 and b >= 2 for a, b in tok.merges)  # specials never merge
    assert os.path.isfile(os.path.join(path, 'primitive', 'tokenizer.json'))


def test_encoding_training_text_reproduces_training_segmentation(trained):
    cfg, path = trained
    tok = btm.load(path)
    texts = list(splits.read_texts(os.path.join(cfg['corpus_dir'], 'toy', 'tok.jsonl')))
    docs = primitive_stream.encode_docs(tok.primitive, texts)
    learned = btm.learn_merges_detailed(docs, 320, 300, cfg['min_frequency'])
    assert learned['merges'] == tok.merges
    assert tok.encode_batch(texts) == as_lists(learned['docs'])
    assert [tok.encode(t) for t in texts[:20]] == as_lists(learned['docs'][:20])
    assert max(len(tok.parts[i]) for i in range(tok.vocab_size)) > 4  # merges do span words here


def test_round_trip_is_lossless_on_adversarial_text(trained):
    tok = btm.load(trained[1])
    texts = ADVERSARIAL + stories(20, 7)
    for text, ids in zip(texts, tok.encode_batch(texts)):
        assert tok.decode(ids) == text
        assert ids == btm_encoding.apply_merges([tok.primitive.encode(text)], tok.merges, tok.n_base)[0]
        assert b''.join(tok.token_bytes(i) for i in ids) == text.encode('utf-8')
    assert tok.encode('<|bos|>') != [tok.bos_id]


def test_save_then_load_gives_identical_encodings(trained, tmp_path):
    cfg, path = trained
    texts = list(splits.read_texts(os.path.join(cfg['corpus_dir'], 'toy', 'tok.jsonl')))
    fresh = btm.train(texts, str(tmp_path / 'again'), 320, 620, corpus='toy', name='btm-toy')
    loaded = btm.load(path)
    probe = stories(30, 3) + ADVERSARIAL
    assert fresh.merges == loaded.merges and fresh.hash == loaded.hash
    reloaded = btm.load(str(tmp_path / 'again'))
    assert fresh.encode_batch(probe) == loaded.encode_batch(probe) == reloaded.encode_batch(probe)


def test_pair_graph_file_holds_every_adjacent_pair_count(trained):
    cfg, path = trained
    tok = btm.load(path)
    texts = list(splits.read_texts(os.path.join(cfg['corpus_dir'], 'toy', 'tok.jsonl')))
    expected = {}
    for d in tok.primitive.encode_batch(texts):
        for p in zip(d, d[1:]):
            expected[p] = expected.get(p, 0) + 1
    g = np.load(os.path.join(path, 'pair_graph.npz'))
    assert dict(zip(zip(g['a'].tolist(), g['b'].tolist()), g['count'].tolist())) == expected
    assert (np.diff(g['count']) <= 0).all()


def test_edited_merges_file_is_refused(trained, tmp_path):
    import shutil
    copy = str(tmp_path / 'copy')
    shutil.copytree(trained[1], copy)
    raw = json.load(open(os.path.join(copy, 'merges.json')))
    raw['merges'] = raw['merges'][:-1]
    open(os.path.join(copy, 'merges.json'), 'w').write(json.dumps(raw))
    with pytest.raises(SystemExit, match='hash'):
        btm.load(copy)


def test_encode_docs_by_pre_token_equals_the_primitive_encoder(trained):
    prim = btm.load(trained[1]).primitive
    texts = ADVERSARIAL + stories(50, 11) + ['  x\n \n\t y 12345 ...!!  ', ' \u3000 \u00a0\u0301 ']
    assert as_lists(primitive_stream.encode_docs(prim, texts, batch_docs=7)) == prim.encode_batch(texts)
    assert as_lists(primitive_stream.encode_docs(prim, texts, batch_docs=9, num_proc=2)) == \
        prim.encode_batch(texts)


def _old_primitive_ids(tok, texts, cache):
    """btm_encoding.primitive_ids before issue 28 (each new pre-token an Encoding of its own),
    the reference."""
    pieces = [tokenization.pretokenize(t) for t in texts]
    new = list({p for ps in pieces for p in ps if p not in cache})
    encoded = tok.encode_batch(new)
    cache.update((p, np.asarray(ids, dtype=np.uint16).tobytes()) for p, ids in zip(new, encoded))
    return [np.frombuffer(b''.join(map(cache.__getitem__, ps)), dtype=np.uint16) for ps in pieces]


def test_encoding_by_distinct_pre_tokens_equals_the_old_cache_and_the_plain_encoder(trained):
    """The table of distinct pre-tokens (encoded a few joined strings at a time, refilled after
    max_cache) gives the ids the old per-pre-token cache and the primitive's own encode_batch give:
    scripts of the embedded corpus, the adversarial texts, the separator itself in a text (the
    per-pre-token fallback), empty texts."""
    prim = btm.load(trained[1]).primitive
    texts = (ADVERSARIAL + stories(40, 12)
             + [d['text'] for d in generate.generate_documents(200_000, seed=4)]
             + ['', 'a' + btm_encoding.SEPARATOR + 'b <|bos|>', '', '  x\n \n\t y 12345 ...!!  '])
    cache, old_cache, got, old = {}, {}, [], []
    for i in range(0, len(texts), 23):
        got += btm_encoding.primitive_ids(prim, texts[i:i + 23], cache, tokenization.pretokenize,
                                          max_cache=300)
        old += _old_primitive_ids(prim, texts[i:i + 23], old_cache)
    assert cache['joiner'] is not None  # the joined path ran (the separator's batch fell back)
    assert as_lists(got) == as_lists(old) == prim.encode_batch(texts)
    ids, lengths = primitive_stream.encode_flat(prim, texts, batch_docs=50)
    assert as_lists(np.split(ids, np.cumsum(lengths)[:-1])) == prim.encode_batch(texts)


def test_one_pass_counts_and_encodes_as_the_trainer_and_the_encoder_see_the_texts(trained):
    """number_pretokens + encode_numbered (BTM's one pass over the split): the word counts are those
    of the pre-tokens BPE training sees (long ones cut), and the ids are the primitive's
    encode_batch, empty texts too."""
    import collections
    import tokenizer
    prim = btm.load(trained[1]).primitive
    texts = (['', ''] + ADVERSARIAL + stories(30, 13)
             + [d['text'] for d in generate.generate_documents(100_000, 5)]
             + ['x ' + 'ab' * 300 + ' y', '!/' * 200, ''])
    distinct, numbers, n_pre, words, stats = primitive_stream.number_pretokens(
        iter(texts), tokenizer.trainer_words, batch_docs=17)
    want = collections.Counter(w for t in tokenizer.capped_pretokens(texts)
                               for w in tokenization.pretokenize(t))
    assert {w: c for w, c in words.items() if c} == dict(want)
    assert stats == {'n_docs': len(texts), 'n_bytes': sum(len(t.encode('utf-8')) for t in texts)}
    ids, lengths = primitive_stream.encode_numbered(prim, distinct, numbers, n_pre, chunk=50)
    assert as_lists(np.split(ids, np.cumsum(lengths)[:-1])) == prim.encode_batch(texts)


def _weighted_engine():
    import inspect
    if 'weights' not in inspect.signature(btm.learn_merges_detailed).parameters:
        pytest.skip("learn_merges_detailed takes no weights here (helper B's, issue 28)")


def test_btm_from_one_pass_equals_the_btm_from_train_bpe_and_encode_flat(tmp_path, monkeypatch):
    """The primitive merged from word counts by the weighted engine and the split encoded from the
    same pass give the BTM the two passes (HF BpeTrainer, then encode_flat) give: the same primitive
    and merges, byte for byte."""
    _weighted_engine()
    texts = (stories(300, 21) + ADVERSARIAL
             + [d['text'] for d in generate.generate_documents(150_000, 6)])
    one = btm.train(texts, str(tmp_path / 'one'), 400, 560, progress=False)
    monkeypatch.setattr(btm, 'primitive_and_encoding', lambda *a: (None, None))
    two = btm.train(texts, str(tmp_path / 'two'), 400, 560, progress=False)
    for f in ('merges.json', 'primitive/tokenizer.json'):
        assert (tmp_path / 'one' / f).read_bytes() == (tmp_path / 'two' / f).read_bytes()
    assert one.hash == two.hash
    assert one.meta['train']['n_tokens_primitive'] == two.meta['train']['n_tokens_primitive']


def gap_texts(n, seed):
    """Words and numbers holding code points Python's `regex` and Oniguruma classify apart (the
    first of each range of uniscale/regex_gap.GAP_RANGES: U+0295, U+0558, new letters, digits,
    marks), often enough that the primitive's merges depend on where each engine cuts."""
    from uniscale import regex_gap
    rng = random.Random(seed)
    gaps = [chr(a) for a, _ in regex_gap.GAP_RANGES]
    word = lambda g: rng.choice(['ab{g}cd', '{g}{g}ef', 'x{g}', '{g}y', '12{g}3', "'{g}s",
                                 'Q{g}q', ' {g}', '{g}\n']).format(g=g)
    return [' '.join(word(rng.choice(gaps[:8] + [rng.choice(gaps)])) + ' ' + rng.choice(WORDS)
                     for _ in range(rng.randint(1, 30))) for _ in range(n)]


def test_one_pass_primitive_is_train_bpes_on_text_the_two_engines_cut_apart(tmp_path, monkeypatch):
    """On text holding code points where Python's `regex` and Oniguruma disagree (U+0558 is a
    letter for one only), the one pass still counts the words HF's trainer sees: its primitive is
    train_bpe's byte for byte, and the BTM's merges are the two-pass path's."""
    import tokenizer
    _weighted_engine()
    texts = gap_texts(300, 3) + stories(100, 22) + ['x ' + '\u0558' * 300 + ' y']
    assert any(tokenization.pretokenize(t) != [w for w, _ in tokenizer._hf_pre_tokenizer(
        byte_level=False).pre_tokenize_str(t)] for t in texts)  # the engines do cut them apart
    one = btm.train(texts, str(tmp_path / 'one'), 500, 620, progress=False)
    monkeypatch.setattr(btm, 'primitive_and_encoding', lambda *a: (None, None))
    two = btm.train(texts, str(tmp_path / 'two'), 500, 620, progress=False)
    for f in ('primitive/tokenizer.json', 'merges.json'):
        assert (tmp_path / 'one' / f).read_bytes() == (tmp_path / 'two' / f).read_bytes(), f
    assert one.hash == two.hash


def test_btm_encodes_the_regex_gap_as_its_primitive_and_its_export_do(tmp_path):
    """On text holding code points where Python's `regex` and Oniguruma cut apart (new digits:
    four of U+11DE0 are one piece for Oniguruma, 3 + 1 for `regex`), the BTM's primitive ids are
    its primitive's own encode_batch (what the remote-code export runs) in the encoder, in
    encode_flat and in the one pass that trains it."""
    import tokenizer
    texts = gap_texts(200, 4) + [' '.join(['\U00011de0' * 4, 'the']) * 9] * 30
    tok = btm.train(texts, str(tmp_path / 'b'), 320, 360, progress=False)
    prim, want = tok.primitive, tok.primitive.encode_batch(texts)
    assert as_lists(btm_encoding.primitive_ids(prim, texts, {}, tokenization.pretokenize)) == want
    ids, lengths = primitive_stream.encode_flat(prim, texts, batch_docs=37)
    assert as_lists(np.split(ids, np.cumsum(lengths)[:-1])) == want
    distinct, numbers, n_pre, _, _ = primitive_stream.number_pretokens(
        iter(texts), tokenizer.trainer_words, batch_docs=37)
    ids, lengths = primitive_stream.encode_numbered(prim, distinct, numbers, n_pre)
    assert as_lists(np.split(ids, np.cumsum(lengths)[:-1])) == want
    assert tok.encode_batch(texts) == [tok.encode(t) for t in texts]
    assert as_lists(tok.encode_batch(texts)) == as_lists(tok.apply(want))


def test_encode_docs_cuts_documents_at_special_ids():
    class Fake:
        bos_id, eos_id, vocab_size = 0, 1, 10
        encode_batch = staticmethod(lambda texts: [[5, 0, 6, 7, 1], [8]])
    assert as_lists(primitive_stream.encode_docs(Fake(), ['x', 'y'])) == [[5], [6, 7], [], [8]]


def test_analyze_writes_markdown_json_and_plot(trained):
    cfg, path = trained
    btm.analyze(dict(cfg, analyze_max_docs=50))
    out = os.path.join(cfg['analysis_dir'], 'btm-toy')
    rep = json.load(open(os.path.join(out, 'btm_vocab.json')))
    assert os.path.getsize(os.path.join(out, 'btm_vocab.png')) > 0
    assert 'Most frequent superwords: btm-toy' in open(os.path.join(out, 'btm_vocab.md')).read()
    b, p = rep['tokenizers']
    assert (b['name'], p['name'], p['kind']) == ('btm-toy', 'bpe-620', 'bpe')
    assert b['vocab_size'] == p['vocab_size'] == 620 and rep['bpe_reference'] == 'bpe-620'
    assert b['bytes_per_token'] > p['bytes_per_token']  # merges span words
    assert 0 < b['multi_word_merged'] <= 1 and len(b['top_superwords']) > 0
    assert p['multi_word_vocab'] == 0  # a BPE never crosses its pre-tokens
    assert p['overlap_bpe'] == 1 and 0 < b['overlap_bpe'] < 1
    assert b['hash'] == tokenization.load_tokenizer(path).hash


def test_a_token_longer_than_int16_spans_gives_the_naive_merges():
    # a run of 70,000 ids doubles its token length each merge: spans pass 32,767 and switch to int32
    docs = [[0] * 70_000, [0, 0, 0]]
    merges, segmented = merge_loop.naive_learn_merges(docs, 1, 17, 2)
    got = btm.learn_merges_detailed(docs, 1, 17, 2)
    assert got['merges'] == merges and as_lists(got['docs']) == segmented and len(merges) == 15  # id 15: 32,768 ids
    assert btm_encoding.apply_merges(docs, merges, 1) == naive_apply_merges(docs, merges, 1)


# ---------------------------------------------------------------- bad input, interruptions, the sample, imports
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def toy_split(root, n=80, bad=None):
    """root/corpus/toy/tok.jsonl of n toy stories; with `bad` (bytes) as line 41."""
    os.makedirs(root / 'corpus' / 'toy', exist_ok=True)
    path = root / 'corpus' / 'toy' / 'tok.jsonl'
    lines = [json.dumps({'text': t, 'lang': 'eng'}).encode() + b'\n' for t in stories(n, 5)]
    if bad is not None:
        lines.insert(40, bad)
    path.write_bytes(b''.join(lines))
    return str(path)


def run_btm(root, *args):
    """python btm.py on root's toy corpus -> (exit code, stderr)."""
    r = subprocess.run([sys.executable, os.path.join(ROOT, 'btm.py'), '--corpus=toy', f"--corpus_dir={root / 'corpus'}",
                        f"--out_dir={root / 'tok'}", '--num_proc=1', '--progress=False', *args],
                       capture_output=True, text=True, cwd=ROOT)
    return r.returncode, r.stderr


def leftovers(root):
    return [p for p in glob.glob(str(root / '**' / '*.tmp'), recursive=True)]


def assert_one_line_error(rc, err, expect):
    assert rc == 1 and 'Traceback' not in err, err
    assert len(err.strip().splitlines()) == 1 and expect in err, err


@pytest.mark.parametrize('args,expect', [
    (['--n_base=100', '--vocab_size=2000'], 'n_base=100 is below the 258 ids the primitive BPE holds before '
                                            'learning anything (256 bytes + 2 specials); raise n_base to at least 258'),
    (['--n_base=300', '--vocab_size=300'], 'vocab_size=300 must be above n_base=300'),
    (['--n_base=300', '--vocab_size=200'], 'vocab_size=200 must be above n_base=300'),
    (['--n_base=300', '--vocab_size=400', '--name=btm-4k-16k'], "name='btm-4k-16k' names other sizes than n_base=300"),
])
def test_bad_sizes_and_names_are_one_line_errors_before_any_work(tmp_path, args, expect):
    toy_split(tmp_path)
    rc, err = run_btm(tmp_path, *args)
    assert_one_line_error(rc, err, expect)
    assert 'more text' not in err and not os.path.exists(tmp_path / 'tok')


def test_train_refuses_sizes_the_primitive_cannot_hold(tmp_path):
    with pytest.raises(SystemExit, match='raise n_base to at least 258'):
        btm.train(stories(10, 0), str(tmp_path / 'b'), n_base=100, vocab_size=2000)
    with pytest.raises(SystemExit, match='equal sizes would be a BTM without merges'):
        btm.train(stories(10, 0), str(tmp_path / 'b'), n_base=300, vocab_size=300)
    assert not os.path.exists(tmp_path / 'b') and not leftovers(tmp_path)


def test_the_output_name_follows_the_sizes_unless_set(tmp_path):
    toy_split(tmp_path, n=300)
    rc, err = run_btm(tmp_path, os.path.join(ROOT, 'config/btm_tinystories.py'), '--corpus=toy', '--n_base=300',
                      '--vocab_size=400')
    assert rc == 0, err
    assert os.listdir(tmp_path / 'tok') == ['btm-300-400']
    meta = json.load(open(tmp_path / 'tok' / 'btm-300-400' / 'meta.json'))
    assert (meta['name'], meta['n_base'], meta['vocab_size']) == ('btm-300-400', 300, 400)
    cfg = configurator.defaults(btm)
    assert btm.btm_path(dict(cfg, name='mine', out_dir='o')) == os.path.join('o', 'mine')  # a chosen name is kept
    assert btm.btm_path(dict(cfg, n_base=1000, vocab_size=2000, out_dir='o')) == os.path.join('o', 'btm-1k-2k')


def dead_pid():
    p = subprocess.Popen([sys.executable, '-c', 'pass'])
    p.wait()
    return p.pid


def test_a_full_disk_while_writing_a_btm_is_one_line_and_leaves_no_temp_folder(tmp_path):
    texts = [d['text'] for d in generate.generate_documents(80_000, seed=5)]
    path = tmp_path / 'docs.json'
    path.write_text(json.dumps(texts))
    code = (f"import json, resource, btm; resource.setrlimit(resource.RLIMIT_FSIZE, (4_000, 4_000)); "
            f"btm.train(json.load(open({str(path)!r})), {str(tmp_path / 'tok' / 'btm-x')!r}, n_base=300, "
            f"vocab_size=400)")
    r = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True)
    err = r.stderr.strip().splitlines()
    assert r.returncode == 1 and 'Traceback' not in r.stderr and len(err) == 1, r.stderr[-2000:]
    assert 'cannot write (File too large)' in err[0]
    assert not (tmp_path / 'tok' / 'btm-x').exists() and [p.name for p in (tmp_path / 'tok').iterdir()] == []


def test_a_killed_runs_temp_folder_is_removed_and_a_live_ones_kept(tmp_path):
    out = tmp_path / 'tok' / 'btm-toy'
    stale, live, other = (tmp_path / 'tok' / f'btm-toy.{dead_pid()}.tmp', tmp_path / 'tok' / f'btm-toy.{os.getppid()}.tmp',
                          tmp_path / 'tok' / f'btm-other.{dead_pid()}.tmp')
    for d in (stale, live, other):
        os.makedirs(d / 'primitive')
        (d / 'primitive' / 'tokenizer.json').write_text('half-written')
    tok = btm.train(stories(200, 0), str(out), n_base=300, vocab_size=400)
    assert tok.vocab_size == 400
    assert not stale.exists() and live.exists() and other.exists()  # only this BTM's, only a dead run's
    assert sorted(os.listdir(tmp_path / 'tok')) == sorted(['btm-toy', live.name, other.name])


def test_a_failed_training_leaves_no_temp_folder(tmp_path):
    with pytest.raises(SystemExit, match='BTM stopped at .* train on more text or lower vocab_size'):
        btm.train(stories(5, 0), str(tmp_path / 'tok' / 'b'), n_base=300, vocab_size=5000)
    assert os.listdir(tmp_path / 'tok') == []


BAD_LINES = [(b'{"text": "ok"\n', 'not JSON'), (b'{"txt": "x"}\n', 'no "text" (keys [\'txt\'])'),
             (b'["a"]\n', 'no "text" (a list)'), (b'{"text": 5}\n', '"text" is int, not a string'),
             (b'{"text": "caf\xe9"}\n', 'not UTF-8'),
             (b'{"text": "\\ud800"}\n', 'lone surrogate')]


@pytest.mark.parametrize('bad,what', BAD_LINES)
def test_a_bad_line_in_the_split_names_file_and_line(tmp_path, bad, what):
    path = toy_split(tmp_path, bad=bad)
    with pytest.raises(SystemExit) as e:
        splits.sample_split(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}:41: ") and what in msg and 'fix or delete that line' in msg and '\n' not in msg


def test_a_bad_line_stops_btm_py_in_one_line_before_training(tmp_path):
    path = toy_split(tmp_path, bad=b'{"text": "ok"\n')
    rc, err = run_btm(tmp_path, '--n_base=300', '--vocab_size=400')
    assert_one_line_error(rc, err, f"{path}:41: not JSON")
    assert not os.path.exists(tmp_path / 'tok') and not leftovers(tmp_path)


def test_max_tok_bytes_trains_on_a_seeded_random_sample_of_documents(tmp_path):
    path = toy_split(tmp_path, n=400)
    docs = [json.loads(line)['text'] for line in open(path, encoding='utf-8')]
    sizes = [len(d.encode()) for d in docs]
    budget = sum(sizes) // 4
    texts, sample = splits.sample_split(path, budget, seed=1)
    got = list(texts())
    assert got == list(texts())  # read again for the second pass: the same documents
    idx = [docs.index(t) for t in got]
    assert idx == sorted(idx) and len(set(idx)) == len(idx)  # whole documents, in file order
    assert sample == {'sample': 'random', 'seed': 1, 'n_docs': len(got), 'n_bytes': sum(sizes[i] for i in idx),
                      'split_n_docs': 400, 'split_n_bytes': sum(sizes)}
    assert budget <= sample['n_bytes'] < budget + max(sizes)  # up to the budget, the document crossing it included
    assert idx != list(range(len(idx))) and max(idx) > 300  # not a prefix: spread over the split
    again, other = splits.sample_split(path, budget, seed=1)[0], splits.sample_split(path, budget, seed=2)[0]
    assert list(again()) == got and list(other()) != got
    whole = splits.sample_split(path)
    assert list(whole[0]()) == docs and whole[1]['sample'] == 'all' and whole[1]['seed'] is None


def test_meta_json_says_which_documents_the_btm_saw(tmp_path):
    path = toy_split(tmp_path, n=400)
    n_bytes = sum(len(json.loads(line)['text'].encode()) for line in open(path, encoding='utf-8'))
    for max_bytes, kind in ((n_bytes // 2, 'random'), (0, 'all')):
        rc, err = run_btm(tmp_path, '--n_base=300', '--vocab_size=400', f'--max_tok_bytes={max_bytes}',
                          '--sample_seed=3', f'--name=b{max_bytes}')
        assert rc == 0, err
        meta = json.load(open(tmp_path / 'tok' / f'b{max_bytes}' / 'meta.json'))
        texts, sample = splits.sample_split(path, max_bytes, 3)
        assert meta['sample'] == sample and sample['sample'] == kind
        assert meta['train']['n_docs'] == sample['n_docs']  # no specials in the text: one document each
        assert meta['train']['n_tokens_primitive'] == sum(map(len, btm.load(str(tmp_path / 'tok' / f'b{max_bytes}'))
                                                               .primitive.encode_batch(list(texts()))))
        assert ('sample_seed' in meta['settings']) == (kind == 'random')


def test_btm_py_analyze_command_writes_the_vocabulary_report(trained, tmp_path):
    cfg, path = trained
    args = [f'--{k}={cfg[k]}' for k in ('corpus', 'corpus_dir', 'out_dir', 'n_base', 'vocab_size', 'name')]
    r = subprocess.run([sys.executable, os.path.join(ROOT, 'btm.py'), 'analyze', *args, '--analyze_max_docs=20',
                        f"--analysis_dir={tmp_path}"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    rep = json.load(open(tmp_path / 'btm-toy' / 'btm_vocab.json'))
    assert rep['tokenizers'][0]['name'] == 'btm-toy' and rep['n_docs'] == 20


# ---------------------------------------------------------------- provenance, one writer, resuming (issue 20)
def toy_cfg(root, **kw):
    return {**configurator.defaults(btm), 'corpus': 'toy', 'corpus_dir': str(root / 'corpus'),
            'out_dir': str(root / 'tok'), 'n_base': 300, 'vocab_size': 400, 'progress': False, 'num_proc': 1, **kw}


def test_a_btm_records_its_split_and_a_changed_split_is_refused_not_skipped(tmp_path, capsys):
    import hashlib
    path = toy_split(tmp_path, n=300)
    rc, err = run_btm(tmp_path, '--n_base=300', '--vocab_size=400')
    assert rc == 0, err
    out = tmp_path / 'tok' / 'btm-300-400'
    meta = json.load(open(out / 'meta.json'))
    sha = hashlib.sha256(open(path, 'rb').read()).hexdigest()
    assert meta['trained_on'] == {'corpus': 'toy', 'split': 'tok', 'sha256': sha}
    assert json.load(open(out / 'primitive' / 'meta.json'))['trained_on'] == meta['trained_on']
    assert sorted(os.listdir(tmp_path / 'tok')) == ['btm-300-400']  # no .resume/ or temp left beside it
    btm.train_command(toy_cfg(tmp_path))  # the same split and settings: skipped as before
    assert f"{out}: already trained, skipping" in capsys.readouterr().out
    with open(path, 'a') as f:
        f.write(json.dumps({'text': 'Once upon a time there was one more story.', 'lang': 'eng'}) + '\n')
    new_sha = hashlib.sha256(open(path, 'rb').read()).hexdigest()
    rc, err = run_btm(tmp_path, '--n_base=300', '--vocab_size=400')
    assert_one_line_error(rc, err, f"{out}: trained on an older tok split (sha256 {sha[:12]}, now {new_sha[:12]}); "
                                   f"retrain under another --out_dir, or delete the folder")
    assert json.load(open(out / 'meta.json')) == meta


def test_a_second_btm_writer_is_refused_naming_pid_and_host(tmp_path):
    import socket

    from test_tokenizer import hold_lock
    toy_split(tmp_path, n=300)
    out = tmp_path / 'tok' / 'btm-300-400'
    holder = hold_lock(out)
    try:
        rc, err = run_btm(tmp_path, '--n_base=300', '--vocab_size=400')
        assert_one_line_error(rc, err, f"{out}: this tokenizer folder is being written by pid {holder.pid} on host "
                                       f"{socket.gethostname()}")
    finally:
        holder.kill()
        holder.wait()
    rc, err = run_btm(tmp_path, '--n_base=300', '--vocab_size=400')
    assert rc == 0, err
    assert btm.load(str(out)).vocab_size == 400 and '.lock' in os.listdir(out)


def test_a_btm_stopped_during_the_merges_resumes_without_training_or_encoding_again(tmp_path, monkeypatch):
    toy_split(tmp_path, n=300)
    cfg = toy_cfg(tmp_path)
    out, resume = tmp_path / 'tok' / 'btm-300-400', tmp_path / 'tok' / 'btm-300-400.resume'

    def stop(*a, **k):
        raise KeyboardInterrupt
    with monkeypatch.context() as m:
        m.setattr(btm, 'learn_merges_detailed', stop)
        with pytest.raises(KeyboardInterrupt):
            btm.train_command(cfg)
    assert not os.path.exists(out / 'meta.json') and not leftovers(tmp_path)
    assert sorted(os.listdir(resume)) == ['ids.npz', 'primitive']

    def never(*a, **k):
        raise AssertionError('done again after the stop')
    with monkeypatch.context() as m:
        m.setattr(primitive_stream, 'encode_flat', never)
        m.setattr(btm.tokenizer, 'train_bpe', never)
        btm.train_command(cfg)
    resumed = btm.load(str(out))
    assert resumed.meta['train']['resumed'] and not resume.exists() and not leftovers(tmp_path)
    btm.train_command(toy_cfg(tmp_path, out_dir=str(tmp_path / 'whole')))  # never stopped
    whole = btm.load(str(tmp_path / 'whole' / 'btm-300-400'))
    assert resumed.merges == whole.merges and resumed.hash == whole.hash and not whole.meta['train']['resumed']


def test_sigterm_during_the_merges_leaves_no_temp_and_the_next_run_resumes(tmp_path):
    toy_split(tmp_path, n=300)
    args = ['--corpus=toy', f"--corpus_dir={tmp_path / 'corpus'}", f"--out_dir={tmp_path / 'tok'}", '--num_proc=1',
            '--progress=False', '--n_base=300', '--vocab_size=400']
    code = ("import os, runpy, signal, sys\nfrom uniscale import btm_encoding\nreplace = btm_encoding.Chain.replace\n"
            "def killed(self, pos, a, b, m, *r):\n    if m >= 300:\n"  # a BTM merge
            "        os.kill(os.getpid(), signal.SIGTERM)\n"
            "    return replace(self, pos, a, b, m, *r)\n"
            f"btm_encoding.Chain.replace = killed\nsys.argv = ['btm.py', *{args!r}]\n"
            "runpy.run_path('btm.py', run_name='__main__')")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    err = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(err) == 1 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    assert err[0].startswith('btm.py: stopped; run the same command again') and '.resume' in err[0]
    assert not leftovers(tmp_path) and not os.path.exists(tmp_path / 'tok' / 'btm-300-400' / 'meta.json')
    rc, err = run_btm(tmp_path, '--n_base=300', '--vocab_size=400')
    assert rc == 0, err
    meta = json.load(open(tmp_path / 'tok' / 'btm-300-400' / 'meta.json'))
    assert meta['train']['resumed'] and sorted(os.listdir(tmp_path / 'tok')) == ['btm-300-400']
