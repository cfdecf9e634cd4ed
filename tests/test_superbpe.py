"""uniscale/superbpe.py: the trainer equals a naive SuperBPE, its stock tokenizer.json gives the trainer's ids."""
import collections
import json
import os

import pytest
import regex
import tokenizers

import btm
import tokenizer
from data.embedded import generate
from uniscale import btm_encoding, superbpe, tokenization

# ties, overlapping runs, double spaces, tabs, newlines, colons, numbers, punctuation runs, empty and one-token texts
FIXTURES = ['a a a a', 'a a a a a a a', 'aaaa aaaa', 'cat  mat', 'cat\tmat', 'cat\nmat', 'cat \n mat', 'cat   mat  ',
            'ab ab cd cd', 'cd cd ab ab', 'note: one two three four five six seven', 'x: y', '12345 678 9',
            'well... ok!! "yes" -- no', 'a\r\n\r\nb', '\t\tindented\n', '', 'a', ' ', '  ', '\n', 'é', '日本語']


def one_doc_per_script(n_chars):
    """A document of every language (script) the embedded corpus holds, cut to n_chars characters."""
    return [next(generate.generate_documents(3000, seed=1, lang_weights={lang: 1}))['text'][:n_chars]
            for lang in generate.LANGS]


def byte_chars():
    """GPT-2's byte-level alphabet: byte -> the character standing for it."""
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    rest = [b for b in range(256) if b not in printable]
    return {**{b: chr(b) for b in printable}, **{b: chr(256 + i) for i, b in enumerate(rest)}}


def token_bytes(vocab):
    """The bytes of every id of a byte-level tokenizer.json vocab (the specials as their text)."""
    byte_of = {c: b for b, c in byte_chars().items()}
    return [s.encode() if i < 2 else bytes(byte_of[c] for c in s) for s, i in sorted(vocab.items(), key=lambda x: x[1])]


def sequential(ids, merges, first_id):
    """The merges applied in order over one id sequence, each left to right (merge k makes first_id + k)."""
    for k, (a, b) in enumerate(merges):
        ids = btm.replace_pair(ids, a, b, first_id + k)
    return ids


def naive_superbpe(texts, prim_json, n_merges, min_frequency):
    """SuperBPE by its definition: the coarse chunks (Python regex, the pattern as released) with their counts, each
    the stage-1 merges applied in order over the whole chunk, then naive BPE over them under the released rules
    (recounting everything after every merge). Returns (merges, final chunks)."""
    chunks = collections.Counter(c for t in texts for c in regex.split(f"({superbpe.COARSE_PATTERN})", t) if c)
    vocab = prim_json['model']['vocab']
    merges1 = [(vocab[a], vocab[b]) for a, b in prim_json['model']['merges']]
    byte_id = {b: vocab[c] for b, c in byte_chars().items()}
    units = [sequential([byte_id[b] for b in c.encode()], merges1, 258) for c in chunks]
    tb = token_bytes(vocab)
    seen = set(tb)
    allow = lambda l, r: b': ' not in l + r and l + r not in seen and len([w for w in (l + r).split(b' ') if w]) <= 4
    return btm.naive_learn_merges(units, len(vocab), n_merges, min_frequency, token_bytes=tb,
                                  weights=list(chunks.values()), allow=allow, on_merge=seen.add)


def train(tmp_path, texts, n_base, vocab_size, min_frequency=2, name='sb'):
    return btm.train(texts, str(tmp_path / name), n_base, vocab_size, min_frequency, method='superbpe')


def stock_json(tok):
    with open(os.path.join(tok.path, 'tokenizer.json'), encoding='utf-8') as f:
        return json.load(f)


def stage1_of(tok):
    """The stage-1 BPE inside a SuperBPE's tokenizer.json: its first n_base ids and n_base - 258 merges."""
    j, n = stock_json(tok), tok.meta['n_base']
    j['model']['vocab'] = {s: i for s, i in j['model']['vocab'].items() if i < n}
    j['model']['merges'] = j['model']['merges'][:n - 258]
    return j


# tab runs: a stage-1 merge ('\t', '\t') then crosses a boundary of the shared pre-tokens inside a coarse chunk
# ('a\t\tb' is 'a', '\t', '\tb' there), so a replay per pre-token would differ; a frequent phrase meets MAX_WORDS
SMALL = FIXTURES * 3 + ['x\t\t\t\t\n'] * 20 + ['tab\t\tstop\t\tend'] * 3 + \
    ['we go to the park and we go to the sea'] * 12 + one_doc_per_script(700)


@pytest.mark.parametrize('n_base, vocab_size, min_frequency', [(300, 420, 2), (262, 330, 1)])
def test_trainer_equals_the_naive_definition(tmp_path, n_base, vocab_size, min_frequency):
    tok = train(tmp_path, SMALL, n_base, vocab_size, min_frequency)
    want, chunks = naive_superbpe(SMALL, stage1_of(tok), vocab_size - n_base, min_frequency)
    with open(os.path.join(tok.path, 'stage2.json')) as f:
        assert [tuple(m) for m in json.load(f)['merges']] == want
    assert tok.meta['train']['n_chunks'] == len(chunks)
    assert tok.meta['train']['n_tokens_merged'] == sum(map(len, chunks))
    words = [tok.token_bytes(i).strip().count(b' ') for i in range(n_base, vocab_size)]
    assert max(words) >= 1  # the fixture does make tokens across spaces


def test_the_rule_refuses_colon_space_five_words_and_spelled_tokens():
    allow, on_merge = superbpe.rule([b'a', b'b', b' c'])
    assert allow(b'x', b'y') and allow(b'a:', b'b') and allow(b'one two', b' three four ') and allow(b'b', b'  c')
    assert not allow(b'x:', b' y') and not allow(b'one two', b' three four five')
    assert not allow(b'', b' c') and not allow(b'a', b'')  # both spell an existing token
    on_merge(b'xy')
    assert not allow(b'x', b'y') and not allow(b'xy', b'')


def test_transition_at_vocab_size_is_plain_bpe(tmp_path):
    tok = train(tmp_path, SMALL, 320, 320)
    bpe = tokenizer.train_bpe(SMALL, 320, str(tmp_path / 'bpe'), 2)
    got, want = stock_json(tok)['model'], stock_json(bpe)['model']
    assert (got['vocab'], got['merges']) == (want['vocab'], want['merges'])


def held_out_documents(n_docs=10_000):
    """n_docs documents never trained on: paragraphs of the embedded corpus in its 8 languages, and the fixtures."""
    docs = list(FIXTURES)
    for d in generate.generate_documents(4_000_000, seed=11, lang_weights={lang: 1 for lang in generate.LANGS}):
        docs += d['text'].split('\n\n')
        if len(docs) >= n_docs:
            return docs[:n_docs]
    raise AssertionError('the generator gave too few paragraphs')


def reference_encode(docs, tok):
    """The trainer's encoder by definition: the coarse chunks (Python regex), each as bytes with all merges,
    stage 1 then stage 2, applied in order (btm_encoding.apply_merges: rank order, tested against the naive loop)."""
    j = stock_json(tok)
    vocab = j['model']['vocab']
    merges = [(vocab[a], vocab[b]) for a, b in j['model']['merges']]
    byte_id = {b: vocab[c] for b, c in byte_chars().items()}
    chunked = [[c for c in regex.split(f"({superbpe.COARSE_PATTERN})", d) if c] for d in docs]
    flat = btm_encoding.apply_merges([[byte_id[b] for b in c.encode()] for cs in chunked for c in cs], merges, 258)
    out, at = [], 0
    for cs in chunked:
        out.append([i for ids in flat[at:at + len(cs)] for i in ids])
        at += len(cs)
    return out, merges, byte_id


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    texts = [d['text'] for d in generate.generate_documents(150_000, seed=5,
                                                            lang_weights={lang: 1 for lang in generate.LANGS})]
    return train(tmp_path_factory.mktemp('sb'), texts + FIXTURES * 3, 400, 700)


def test_stock_export_gives_the_trainers_ids_on_10000_documents(trained):
    docs = held_out_documents()
    want, merges, byte_id = reference_encode(docs, trained)
    got = [e.ids for e in stock(trained).encode_batch_fast(docs, add_special_tokens=False)]
    assert sum(g != w for g, w in zip(got, want)) == 0
    assert trained.encode_batch(docs) == want
    assert sum(i >= 400 for ids in got for i in ids) > len(docs)  # the stage-2 tokens are in use
    for d, ids in zip(docs[:300], want):  # apply_merges is the sequential definition, per chunk
        chunks = [c for c in regex.split(f"({superbpe.COARSE_PATTERN})", d) if c]
        assert [i for c in chunks for i in sequential([byte_id[b] for b in c.encode()], merges, 258)] == ids


def test_round_trip_is_lossless(trained):
    docs = held_out_documents(2000) + ['<|bos|> text', 'a\x00b\uffff\U0001F600 \u2581 : : x', '\r\n' * 5]
    assert [trained.decode(ids) for ids in trained.encode_batch(docs)] == docs
    assert b''.join(trained.token_bytes(i) for i in trained.encode(docs[20])) == docs[20].encode()


def stock(tok):
    return tokenizers.Tokenizer.from_file(os.path.join(tok.path, 'tokenizer.json'))
