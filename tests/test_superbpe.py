"""uniscale/superbpe.py: the trainer equals a naive SuperBPE; its stock tokenizer.json gives the
trainer's ids; btm.py and export_hf.py drive it."""
import collections
import glob
import json
import os
import random
import subprocess
import sys

import pytest
import regex
import tokenizers
from tokenizers import pre_tokenizers

import btm
import tokenizer
from data.embedded import generate
from uniscale import btm_encoding, merge_loop, regex_gap, superbpe, tokenization

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALL_LANGS = {lang: 1 for lang in generate.LANGS}
# ties, overlapping runs, double spaces, tabs, newlines, colons, numbers, punctuation runs, empty
# and one-token texts
FIXTURES = ['a a a a', 'a a a a a a a', 'aaaa aaaa', 'cat  mat', 'cat\tmat', 'cat\nmat',
            'cat \n mat', 'cat   mat  ', 'ab ab cd cd', 'cd cd ab ab',
            'note: one two three four five six seven', 'x: y', '12345 678 9',
            'well... ok!! "yes" -- no', 'a\r\n\r\nb', '\t\tindented\n', 'a\t b', '', 'a', ' ', '  ',
            '\n', 'é', '日本語']


def one_doc_per_script(n_chars):
    """A document of every language (script) the embedded corpus holds, cut to n_chars."""
    docs = [next(generate.generate_documents(3000, seed=1, lang_weights={lang: 1}))
            for lang in generate.LANGS]
    return [d['text'][:n_chars] for d in docs]


# tab runs: a stage-1 merge ('\t', '\t') then crosses a shared pre-token boundary inside a coarse
# chunk ('a\t\tb' is 'a', '\t', '\tb' there), so a replay per pre-token would differ; 'col\t  x'
# teaches the merge ('\t', ' '), which 'a\t b' needs across the cut replay makes before a space; a
# frequent phrase meets MAX_WORDS
SMALL = (FIXTURES * 3 + ['x\t\t\t\t\n'] * 20 + ['col\t  x'] * 60 + ['tab\t\tstop\t\tend'] * 3
         + ['we go to the park and we go to the sea'] * 12 + one_doc_per_script(700))


def byte_chars():
    """GPT-2's byte-level alphabet: byte -> the character standing for it."""
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    rest = [b for b in range(256) if b not in printable]
    return {**{b: chr(b) for b in printable}, **{b: chr(256 + i) for i, b in enumerate(rest)}}


def token_bytes(vocab):
    """The bytes of every id of a byte-level tokenizer.json vocab (the specials as their text)."""
    byte_of = {c: b for b, c in byte_chars().items()}
    by_id = sorted(vocab, key=vocab.get)
    return [s.encode() if i < 2 else bytes(byte_of[c] for c in s) for i, s in enumerate(by_id)]


def sequential(ids, merges, first_id):
    """The merges applied in order over one id sequence, each left to right (merge k makes
    first_id + k)."""
    for k, (a, b) in enumerate(merges):
        ids = merge_loop.replace_pair(ids, a, b, first_id + k)
    return ids


def coarse_chunks(text):
    return [c for c in regex.split(f"({superbpe.COARSE_PATTERN})", text) if c]


def naive_superbpe(texts, prim_json, n_merges, min_frequency):
    """SuperBPE by its definition: the coarse chunks (Python regex, the pattern as released) with
    their counts, each the stage-1 merges applied in order over the whole chunk, then naive BPE
    over them under the released rules, recounting all after every merge: (merges, chunks)."""
    chunks = collections.Counter(c for t in texts for c in coarse_chunks(t))
    vocab = prim_json['model']['vocab']
    merges1 = [(vocab[a], vocab[b]) for a, b in prim_json['model']['merges']]
    byte_id = {b: vocab[c] for b, c in byte_chars().items()}
    units = [sequential([byte_id[b] for b in c.encode()], merges1, 258) for c in chunks]
    tb = token_bytes(vocab)
    seen = set(tb)

    def allow(left, right):
        words = [w for w in (left + right).split(b' ') if w]
        return b': ' not in left + right and left + right not in seen and len(words) <= 4
    return merge_loop.naive_learn_merges(units, len(vocab), n_merges, min_frequency, token_bytes=tb,
                                  weights=list(chunks.values()), allow=allow, on_merge=seen.add)


def train(tmp_path, texts, n_base, vocab_size, min_frequency=2, name='sb'):
    return btm.train(texts, str(tmp_path / name), n_base, vocab_size, min_frequency,
                     method='superbpe')


def stock_json(tok):
    with open(os.path.join(tok.path, 'tokenizer.json'), encoding='utf-8') as f:
        return json.load(f)


def stock(tok):
    return tokenizers.Tokenizer.from_file(os.path.join(tok.path, 'tokenizer.json'))


def stage1_of(tok):
    """The stage-1 BPE in a SuperBPE's tokenizer.json: its first n_base ids, n_base - 258 merges."""
    j, n = stock_json(tok), tok.meta['n_base']
    j['model']['vocab'] = {s: i for s, i in j['model']['vocab'].items() if i < n}
    j['model']['merges'] = j['model']['merges'][:n - 258]
    return j


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


def held_out_documents(n_docs=10_000):
    """n_docs documents never trained on: the fixtures, then paragraphs of the embedded corpus in
    its 8 languages."""
    docs = list(FIXTURES)
    for d in generate.generate_documents(4_000_000, seed=11, lang_weights=ALL_LANGS):
        docs += d['text'].split('\n\n')
        if len(docs) >= n_docs:
            return docs[:n_docs]
    raise AssertionError('the generator gave too few paragraphs')


def test_fast_replay_equals_each_chunk_encoded_whole(tmp_path):
    prim = tokenizer.train_bpe(SMALL, 300, str(tmp_path / 'prim'), 2)
    with open(os.path.join(prim.path, 'tokenizer.json')) as f:
        prim_json = json.load(f)
    tb = [prim.token_bytes(i) for i in range(prim.vocab_size)]
    chunks = list(superbpe.chunk_counts(SMALL + held_out_documents(2000)))
    flat, lengths = superbpe.replay(prim_json, chunks, tb)
    encoded = superbpe.word_tokenizer(prim_json).encode_batch_fast(chunks, add_special_tokens=False)
    whole = [e.ids for e in encoded]
    assert flat.tolist() == [i for ids in whole for i in ids]
    assert lengths.tolist() == list(map(len, whole))
    # 'a\t b' takes the whole-chunk path, and needs it: its pieces' ids end to end differ
    assert superbpe.risky_cut(prim_json, tb).search('a\t b'.encode()) and 'a\t b' in chunks
    assert prim.encode('a\t') + prim.encode(' b') != whole[chunks.index('a\t b')]


def test_ascii_texts_are_chunked_as_oniguruma_chunks_them():
    # chunk_counts cuts an ASCII text with Python's regex: the classes the pattern uses agree on
    # every ASCII character, and random ASCII texts of the characters that matter cut alike
    for cls in (r'\s', r'\p{L}', r'\p{N}'):
        onig = pre_tokenizers.Split(tokenizers.Regex(cls), 'removed')
        assert ([not onig.pre_tokenize_str(chr(i)) for i in range(128)]
                == [bool(regex.fullmatch(cls, chr(i))) for i in range(128)]), cls
    rng, alphabet = random.Random(0), ' \t\n\r\x0b\x0c\x1c/.!:-aB9_' + "'"
    texts = [''.join(rng.choice(alphabet) for _ in range(rng.randrange(40)))
             for _ in range(3000)] + FIXTURES[:-2]
    split = superbpe.coarse_pre_tokenizer()
    for t in texts:
        assert t.isascii() and list(superbpe.chunk_counts([t])) == list(collections.Counter(
            s for s, _ in split.pre_tokenize_str(t))), repr(t)


def test_every_text_is_chunked_as_oniguruma_chunks_it():
    # other texts too, where each character is classed alike (checked); U+0558 is a letter for
    # Python's regex, not for Oniguruma: a text holding it goes the Oniguruma way
    rng, alphabet = random.Random(1), ' \t\n/.!a1\u0558\u00e9\u0661\u3000\u2019\u65e5\U0001F600'
    texts = [''.join(rng.choice(alphabet) for _ in range(rng.randrange(30))) for _ in range(2000)]
    texts += ['ab\u0558\u0558cd \u0558\u0558', 'x \u0558\u0558 y'] + held_out_documents(3000)
    split = superbpe.coarse_pre_tokenizer()
    want = collections.Counter(s for t in texts for s, _ in split.pre_tokenize_str(t))
    got = superbpe.chunk_counts(texts)
    assert list(got.items()) == list(want.items())
    assert regex_gap.holding(['a', 'b\u0558', '\u00e9\u65e5']) == {1}


def test_words_joined_encode_as_each_word_alone(tmp_path):
    prim = tokenizer.train_bpe(SMALL, 300, str(tmp_path / 'prim'), 2)
    with open(os.path.join(prim.path, 'tokenizer.json')) as f:
        prim_json = json.load(f)
    tb = [prim.token_bytes(i) for i in range(prim.vocab_size)]
    one = superbpe.word_tokenizer(prim_json)
    words = ['', 'a a a', ' cat', '', 'x\t\t\t\t\n', '<|bos|>', ' mat  ', '日本語', ''] * 700
    for ws in (words, words + ['a\uffffb']):  # with a separator inside: one Encoding a word
        ids, n_ids = superbpe.encode_words(prim_json, ws, tb, per_string=7)
        want = [e.ids for e in one.encode_batch_fast(ws, add_special_tokens=False)]
        assert ids.tolist() == [i for w in want for i in w] and n_ids.tolist() == list(
            map(len, want))


def test_stage1_from_one_pass_is_train_bpes_tokenizer_byte_for_byte(tmp_path):
    # U+0558 is a letter for Python's regex, not for Oniguruma: the texts holding it are cut by
    # Oniguruma, as train_bpe's trainer cuts them; long pre-tokens are cut as train_bpe cuts them
    texts = (SMALL + held_out_documents(1500) + ['ab\u0558cd \u0558\u0558x'] * 400
             + ['=' * 300 + ' z', 'y' * 200, '=' * 300 + '\u0558'] * 3)
    hooks = (tokenizer.bpe_from_word_counts, tokenizer.trainer_words)
    for n_base in (300, 600):
        got = superbpe.stage1_one_pass(texts, n_base, str(tmp_path / f'one{n_base}'), 2, 'x', '',
                                       None, None, merge_loop.learn_merges_detailed, hooks)
        want = tokenizer.train_bpe(texts, n_base, str(tmp_path / f'bpe{n_base}'), 2, 'x')
        for f in ('tokenizer.json',):
            with open(os.path.join(got.path, f), 'rb') as a, open(os.path.join(want.path, f),
                                                                  'rb') as b:
                assert a.read() == b.read()


def test_the_rule_refuses_colon_space_five_words_and_spelled_tokens():
    allow, on_merge = superbpe.rule([b'a', b'b', b' c'])
    assert allow(b'x', b'y') and allow(b'a:', b'b') and allow(b'b', b'  c')
    assert allow(b'one two', b' three four ')
    assert not allow(b'x:', b' y') and not allow(b'one two', b' three four five')
    assert not allow(b'', b' c') and not allow(b'a', b'')  # both spell an existing token
    on_merge(b'xy')
    assert not allow(b'x', b'y') and not allow(b'xy', b'')


def test_transition_at_vocab_size_is_plain_bpe(tmp_path):
    tok = train(tmp_path, SMALL, 320, 320)
    bpe = tokenizer.train_bpe(SMALL, 320, str(tmp_path / 'bpe'), 2)
    got, want = stock_json(tok)['model'], stock_json(bpe)['model']
    assert (got['vocab'], got['merges']) == (want['vocab'], want['merges'])


def reference_encode(docs, tok):
    """The trainer's encoder by definition: the coarse chunks (Python regex), each as bytes with
    all merges, stage 1 then stage 2, applied in order (btm_encoding.apply_merges: rank order,
    tested against the naive loop in test_btm.py). Returns (ids per doc, merges, byte -> id)."""
    j = stock_json(tok)
    vocab = j['model']['vocab']
    merges = [(vocab[a], vocab[b]) for a, b in j['model']['merges']]
    byte_id = {b: vocab[c] for b, c in byte_chars().items()}
    chunked = [coarse_chunks(d) for d in docs]
    units = [[byte_id[b] for b in c.encode()] for cs in chunked for c in cs]
    flat = btm_encoding.apply_merges(units, merges, 258)
    out, at = [], 0
    for cs in chunked:
        out.append([i for ids in flat[at:at + len(cs)] for i in ids])
        at += len(cs)
    return out, merges, byte_id


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    docs = generate.generate_documents(150_000, seed=5, lang_weights=ALL_LANGS)
    texts = [d['text'] for d in docs]
    return train(tmp_path_factory.mktemp('sb'), texts + FIXTURES * 3, 400, 700)


def test_stock_export_gives_the_trainers_ids_on_10000_documents(trained):
    docs = held_out_documents()
    want, merges, byte_id = reference_encode(docs, trained)
    got = [e.ids for e in stock(trained).encode_batch_fast(docs, add_special_tokens=False)]
    assert sum(g != w for g, w in zip(got, want)) == 0
    assert trained.encode_batch(docs) == want
    assert sum(i >= 400 for ids in got for i in ids) > len(docs)  # stage-2 tokens are in use
    for d, ids in zip(docs[:300], want):  # apply_merges is the sequential definition, per chunk
        seq = [sequential([byte_id[b] for b in c.encode()], merges, 258) for c in coarse_chunks(d)]
        assert [i for s in seq for i in s] == ids


def test_round_trip_is_lossless(trained):
    docs = held_out_documents(2000) + ['<|bos|> text', 'a\x00b\uffff\U0001F600 \u2581 : : x']
    assert [trained.decode(ids) for ids in trained.encode_batch(docs)] == docs
    assert b''.join(trained.token_bytes(i) for i in trained.encode(docs[20])) == docs[20].encode()


def test_export_alone_loads_in_stock_transformers_without_remote_code(trained, tmp_path):
    import export_hf
    from transformers import AutoTokenizer, PreTrainedTokenizerFast
    out = export_hf.export_tokenizer(trained.path, str(tmp_path / 'hf'))
    assert not [f for f in os.listdir(out) if f.endswith('.py')]
    docs = held_out_documents(3000)
    want = trained.encode_batch(docs)
    for hf in (AutoTokenizer.from_pretrained(out), PreTrainedTokenizerFast.from_pretrained(out)):
        assert [hf.encode(d) for d in docs] == want
        assert hf.decode(want[5]) == docs[5]


def run_btm(tmp_path, *args):
    return subprocess.run([sys.executable, os.path.join(ROOT, 'btm.py'), '--corpus=toy',
                           '--progress=False', f"--corpus_dir={tmp_path / 'corpus'}",
                           f"--out_dir={tmp_path / 'tok'}", *args],
                          capture_output=True, text=True, cwd=ROOT)


def test_btm_py_trains_superbpe_skips_it_when_unchanged_and_refuses_btm_constraints(tmp_path):
    os.makedirs(tmp_path / 'corpus' / 'toy')
    with open(tmp_path / 'corpus' / 'toy' / 'tok.jsonl', 'w', encoding='utf-8') as f:
        f.writelines(json.dumps({'text': t, 'lang': 'x'}) + '\n' for t in SMALL)
    sizes = ['--method=superbpe', '--n_base=300', '--vocab_size=400']
    r = run_btm(tmp_path, *sizes)
    assert r.returncode == 0, r.stderr
    tok = tokenization.load_tokenizer(str(tmp_path / 'tok' / 'superbpe-t300-400'))
    assert (tok.kind, tok.vocab_size) == ('superbpe', 400)
    assert tok.meta['settings']['method'] == 'superbpe'
    assert 'already trained' in run_btm(tmp_path, *sizes).stdout
    r = run_btm(tmp_path, *sizes, '--max_words=2')
    assert r.returncode == 1 and 'leave max_words and boundaries unset' in r.stderr
    assert not glob.glob(str(tmp_path / 'tok' / '*.tmp'))
