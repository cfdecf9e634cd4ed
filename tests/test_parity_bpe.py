"""Parity-aware BPE (uniscale/parity_bpe.py, tokenizer.py train_parity): its merges are the
authors' (Foroutan et al. 2025, parity_aware_learn_bpe.py learn_bpe, --dict-input) on a fixture
computed with their code, and live where PARITY_REPO names a mirror of it; they equal a naive
recount-everything reference on random inputs; a trained 'parity' tokenizer is a stock
tokenizer.json that round-trips text, loads like bpe and records its dev set and choosers."""
import collections
import importlib
import io
import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest

import configurator
import tokenizer
from data.embedded import generate
from uniscale import parity_bpe, parity_inputs
from uniscale.tokenization import load_tokenizer

FIXTURE = os.path.join(os.path.dirname(__file__), 'fixtures', 'parity_authors_merges.json')
CHARS = tokenizer._byte_level_chars()
ALPHABET = sorted(CHARS)


def byte_level(word):
    return ''.join(CHARS[b] for b in word.encode('utf-8'))


def embedded_inputs(n_bytes=40_000, n_stories=8):
    """(langs, train, dev): {lang: {ByteLevel word: count}} of generated documents (train) and
    parallel stories (dev), words cut by the project's pre-tokenization."""
    docs = [(d['text'], d['lang']) for d in generate.generate_documents(n_bytes, seed=11)]
    train, _ = parity_bpe.word_counts_by_lang(docs, tokenizer.trainer_words)
    langs = sorted(train)
    par = generate.generate_parallel(n_stories, seed=12, langs=langs)
    dev, _ = parity_bpe.word_counts_by_lang(((t, lang) for lang in langs for t in par[lang]),
                                            tokenizer.trainer_words)
    as_bl = lambda counts: {lang: {byte_level(w): c for w, c in counts[lang].items()}
                            for lang in langs}
    return langs, as_bl(train), as_bl(dev)


def ours(langs, train, dev, n_merges, min_frequency=2, n_global=0):
    """Our merges as (left, right) strings, on ByteLevel words."""
    symbol_of_byte = np.array([ALPHABET.index(c) for c in CHARS], dtype=np.int64)
    unbl = {c: b for b, c in enumerate(CHARS)}
    raw = lambda counts: {lang: {bytes(unbl[c] for c in w).decode('utf-8'): n
                                 for w, n in counts[lang].items()} for lang in langs}
    words, t, d = parity_bpe.word_table(raw(train), raw(dev), langs, symbol_of_byte)
    out = parity_bpe.learn_parity_merges(words, t, d, ALPHABET, 10**9, min_frequency, n_global,
                                         max_merges=n_merges)
    return [[out['spell'][a], out['spell'][b]] for a, b in out['merges']]


def theirs(repo, tmp_path, langs, train, dev, n_merges, min_frequency=2, n_global=0):
    """The authors' learn_bpe (base variant) on the same words as --dict-input files."""
    src = tmp_path / 'authors'
    src.mkdir(parents=True)
    archive = subprocess.run(['git', '--git-dir', repo, 'archive', 'HEAD'], check=True,
                             capture_output=True).stdout
    subprocess.run(['tar', '-x', '-C', str(src)], input=archive, check=True)
    sys.path.insert(0, str(src))
    try:
        mod = importlib.import_module('parity_aware_bpe.parity_aware_learn_bpe')
        as_dict = lambda counts: io.StringIO(''.join(f"{w} {c}\n" for w, c in counts.items()))
        _, merges = mod.learn_bpe([as_dict(train[lang]) for lang in langs], io.StringIO(),
                                  [as_dict(dev[lang]) for lang in langs], n_merges,
                                  min_frequency, is_dict=True, num_global=n_global)
    finally:
        sys.path.remove(str(src))
        for name in [m for m in sys.modules if m.startswith('parity_aware_bpe')]:
            del sys.modules[name]
    return [list(m) for m in merges]


def test_merges_equal_the_authors_code_on_the_fixture():
    with open(FIXTURE, encoding='utf-8') as f:
        fixture = json.load(f)
    langs, train, dev = embedded_inputs()
    assert langs == fixture['langs']
    for run in fixture['runs']:
        got = ours(langs, train, dev, run['n_merges'], run['min_frequency'], run['n_global'])
        assert got == run['merges']


@pytest.mark.skipif(not os.environ.get('PARITY_REPO'), reason='PARITY_REPO (the authors\' '
                    'repository, a bare git dir) not set')
def test_merges_equal_the_authors_code_live(tmp_path):
    langs, train, dev = embedded_inputs()
    for n_merges, min_frequency, n_global in [(400, 2, 0), (300, 2, 50), (5000, 3, 0)]:
        want = theirs(os.environ['PARITY_REPO'], tmp_path / str(n_global + n_merges), langs,
                      train, dev, n_merges, min_frequency, n_global)
        assert ours(langs, train, dev, n_merges, min_frequency, n_global) == want


@pytest.mark.skipif(not (os.environ.get('PARITY_REPO') and os.environ.get('PETROV_REPO')),
                    reason='PARITY_REPO and PETROV_REPO (bare git dirs) not set')
def test_merges_equal_the_authors_code_on_flores(tmp_path):
    """Four languages: FLORES-200 dev's first 300 lines train, devtest's first 150 are the dev."""
    archive = subprocess.run(['git', '--git-dir', os.environ['PETROV_REPO'], 'archive', 'HEAD',
                              'flores200_dataset'], check=True, capture_output=True).stdout
    subprocess.run(['tar', '-x', '-C', str(tmp_path)], input=archive, check=True)
    codes = ['eng_Latn', 'deu_Latn', 'rus_Cyrl', 'zho_Hans']
    lines = lambda code, split, n: open(tmp_path / 'flores200_dataset' / split / f"{code}.{split}",
                                        encoding='utf-8').read().splitlines()[:n]
    counts = lambda split, n: {c: {byte_level(w): k for w, k in parity_bpe.word_counts_by_lang(
        ((t, c) for t in lines(c, split, n)), tokenizer.trainer_words)[0][c].items()}
        for c in codes}
    train, dev = counts('dev', 300), counts('devtest', 150)
    want = theirs(os.environ['PARITY_REPO'], tmp_path, codes, train, dev, 800)
    assert ours(codes, train, dev, 800) == want


def naive(words, train, dev, spell, max_symbols, min_frequency=2, n_global=0):
    """The rule restated, recounting every pair and every dev length before each merge."""
    words, spell, merges, chooser = [list(w) for w in words], list(spell), [], []
    while len(spell) < max_symbols:
        lengths = [sum(len(w) * int(dev[i][c]) for i, w in enumerate(words))
                   for c in range(dev.shape[1])]
        lang = -1 if len(merges) < n_global else lengths.index(max(lengths))
        counts = collections.Counter()
        for i, w in enumerate(words):
            weight = int(train[i].sum() if lang < 0 else train[i][lang])
            for p in zip(w, w[1:]):
                counts[p] += weight
        best = max(counts, key=lambda p: (counts[p], (spell[p[0]], spell[p[1]])), default=None)
        if best is None or counts[best] < max(min_frequency, 1):
            break
        s = spell[best[0]] + spell[best[1]]
        if s not in spell:
            spell.append(s)
        m = spell.index(s)
        for i, w in enumerate(words):
            out, j = [], 0
            while j < len(w):
                pair = j + 1 < len(w) and (w[j], w[j + 1]) == best
                out.append(m if pair else w[j])
                j += 2 if pair else 1
            words[i] = out
        merges.append(best)
        chooser.append(lang)
    return merges, chooser, spell, words


@pytest.mark.parametrize('seed', range(150))
def test_fast_merges_equal_a_naive_recount(seed):
    """Small random words over few symbols: ties, overlaps (a a a), two merges spelling one
    string ('a'+'ab' and 'aa'+'b'), languages with no dev text, the global merges."""
    r = random.Random(seed)
    alphabet = ['a', 'b', 'A', 'ab', 'c'][:r.randint(2, 5)]
    n_words, n_langs = r.randint(1, 30), r.randint(1, 4)
    words = [[r.randrange(len(alphabet)) for _ in range(r.randint(1, 9))] for _ in range(n_words)]
    train = np.array([[r.choice([0, 0, 1, 2, 3, 7]) for _ in range(n_langs)]
                      for _ in range(n_words)], dtype=np.int64)
    dev = np.array([[r.choice([0, 1, 2]) for _ in range(n_langs)] for _ in range(n_words)],
                   dtype=np.int64)
    max_symbols, min_frequency = len(alphabet) + r.randint(1, 30), r.choice([1, 2, 3])
    n_global = r.choice([0, 0, 2])
    want = naive(words, train, dev, alphabet, max_symbols, min_frequency, n_global)
    fast = [list(w) for w in words]
    got = parity_bpe.learn_parity_merges(fast, train, dev, alphabet, max_symbols, min_frequency,
                                         n_global)
    assert (got['merges'], got['chooser'], got['spell'], fast) == want
    lengths = np.array([len(w) for w in want[3]]) @ dev
    assert got['dev_tokens'] == lengths.tolist()


@pytest.mark.parametrize('small', [0, 10**9])
def test_the_numpy_and_the_python_merge_each_equal_the_references(monkeypatch, small):
    """A merge with few positions runs in Python, the rest in numpy (parity_bpe.SMALL_MERGE):
    every merge in one of them alone still equals the naive recount and the authors' fixture."""
    monkeypatch.setattr(parity_bpe, 'SMALL_MERGE', small)
    for seed in range(150):
        test_fast_merges_equal_a_naive_recount(seed)
    test_merges_equal_the_authors_code_on_the_fixture()


def test_word_table_words_read_as_lists_and_are_segmented_in_place():
    """word_table's Words (flat ids + lengths) read as each word's bytes as symbol ids, in the
    table's row order; learn_parity_merges segments them in place as it does lists."""
    train = {'a': {'héllo': 3, 'hé': 2, 'x': 0}, 'b': {'hé': 1, '日本': 4}}
    dev = {'a': {'hello': 1}, 'b': {'日本': 2}}
    symbol_of_byte = np.array([ALPHABET.index(c) for c in CHARS], dtype=np.int64)
    words, t, d = parity_bpe.word_table(train, dev, ['a', 'b'], symbol_of_byte)
    assert list(words) == [[int(symbol_of_byte[b]) for b in w.encode()]
                           for w in ['héllo', 'hé', '日本', 'hello']]
    assert (t.tolist(), d.tolist()) == ([[3, 0], [2, 1], [0, 4], [0, 0]],
                                        [[0, 0], [0, 0], [0, 2], [1, 0]])
    lists = [list(w) for w in words]
    got = parity_bpe.learn_parity_merges(words, t, d, ALPHABET, 270, 1)
    assert got == parity_bpe.learn_parity_merges(lists, t, d, ALPHABET, 270, 1)
    assert list(words) == lists and len(got['merges']) == 10  # all the text allows


def corpus_config(tmp_path, n_bytes=60_000, **kw):
    (tmp_path / 'corpus' / 'toy').mkdir(parents=True)
    docs = generate.generate_documents(n_bytes, seed=3)
    (tmp_path / 'corpus' / 'toy' / 'tok.jsonl').write_text(
        ''.join(json.dumps(d, ensure_ascii=False) + '\n' for d in docs), encoding='utf-8')
    return {**configurator.defaults(tokenizer), 'corpus': 'toy',
            'corpus_dir': str(tmp_path / 'corpus'), 'out_dir': str(tmp_path / 'tok'),
            'algorithms': ['parity'], 'vocab_sizes': [600], 'verbose': False,
            'parity_n_stories': 20, **kw}


def test_a_parity_tokenizer_round_trips_loads_and_records_its_dev_set(tmp_path):
    cfg = corpus_config(tmp_path)
    tokenizer.train_all(cfg)
    tok = load_tokenizer(str(tmp_path / 'tok' / 'parity-600'))
    assert (tok.kind, tok.vocab_size, tok.bos_id, tok.eos_id) == ('parity', 600, 0, 1)
    texts = [d['text'] for d in generate.generate_documents(20_000, seed=9)] + [
        'x  y\n\n\t<|bos|> 日本語 ไทย 12345 ...!!', '']
    for text, ids in zip(texts, tok.encode_batch(texts)):
        assert tok.decode(ids) == text and b''.join(map(tok.token_bytes, ids)) == text.encode()
    meta = tok.meta
    par = generate.generate_parallel(20, cfg['parity_seed'], meta['parity']['languages'])
    assert meta['settings']['parity_dev_sha256'] == parity_bpe.dev_identity(par)
    assert len(meta['parity']['chooser']) == 600 - 258  # no two merges spelled alike here
    assert sum(meta['parity']['merges_chosen'].values()) == 600 - 258
    with open(tmp_path / 'tok' / 'parity-600' / 'tokenizer.json', encoding='utf-8') as f:
        model = json.load(f)['model']
    bpe = tokenizer.train_bpe([d['text'] for d in generate.generate_documents(60_000, seed=3)],
                              600, str(tmp_path / 'bpe'))
    with open(tmp_path / 'bpe' / 'tokenizer.json', encoding='utf-8') as f:
        plain = json.load(f)
    assert list(model['vocab'])[:258] == list(plain['model']['vocab'])[:258]
    assert {k: v for k, v in model.items() if k not in ('vocab', 'merges')} == \
        {k: v for k, v in plain['model'].items() if k not in ('vocab', 'merges')}
    assert bpe.vocab_size == tok.vocab_size


def test_another_dev_set_is_another_tokenizer(tmp_path):
    cfg = corpus_config(tmp_path)
    tokenizer.train_all(cfg)
    with pytest.raises(SystemExit, match='trained otherwise.*parity_dev_sha256'):
        tokenizer.train_all({**cfg, 'parity_seed': 5})


def test_a_language_without_dev_text_is_refused_in_one_line(tmp_path):
    docs = [('some text here and there', 'eng'), ('etwas Text hier', 'deu_Latn')] * 50
    with pytest.raises(SystemExit) as e:
        tokenizer.train_parity(docs, {'eng': ['some text']}, 300, str(tmp_path / 'p'))
    assert 'no text in deu_Latn' in str(e.value) and '\n' not in str(e.value)


def test_a_split_too_small_for_the_vocabulary_is_refused_in_one_line(tmp_path):
    cfg = corpus_config(tmp_path, n_bytes=3000, vocab_sizes=[2000])
    with pytest.raises(SystemExit) as e:
        tokenizer.train_all(cfg)
    assert 'parity-aware BPE stopped at' in str(e.value) and '\n' not in str(e.value)
    assert not (tmp_path / 'tok' / 'parity-2k').exists()


def flores_dev_folder(root, langs):
    """A FLORES-200 layout ({root}/dev/{code}.dev) with generated parallel stories, a line each."""
    from uniscale.fairness import FLORES200_CODES
    (root / 'dev').mkdir(parents=True)
    par = generate.generate_parallel(20, seed=4, langs=langs)
    for lang in langs:
        lines = [t.replace('\n', ' ') for t in par[lang]]
        (root / 'dev' / f"{FLORES200_CODES[lang]}.dev").write_text('\n'.join(lines) + '\n',
                                                                  encoding='utf-8')
    return {lang: [t.replace('\n', ' ') for t in par[lang]] for lang in langs}


def test_flores200_dev_files_are_the_dev_set_and_its_identity(tmp_path):
    cfg = corpus_config(tmp_path, parity_dev_set='flores200')
    langs = parity_inputs.split_langs(os.path.join(cfg['corpus_dir'], 'toy', 'tok.jsonl'))
    lines = flores_dev_folder(tmp_path / 'flores', langs)
    cfg['parity_flores_dir'] = str(tmp_path / 'flores')
    assert parity_inputs.parallel_dev_set(cfg, langs) == lines
    tokenizer.train_all(cfg)
    meta = load_tokenizer(str(tmp_path / 'tok' / 'parity-600')).meta
    assert meta['settings']['parity_dev_sha256'] == parity_bpe.dev_identity(lines)
    assert meta['parity']['languages'] == langs


def test_a_missing_flores_dev_file_is_refused_in_one_line(tmp_path):
    cfg = corpus_config(tmp_path, parity_dev_set='flores200')
    langs = parity_inputs.split_langs(os.path.join(cfg['corpus_dir'], 'toy', 'tok.jsonl'))
    flores_dev_folder(tmp_path / 'flores', langs)
    os.remove(tmp_path / 'flores' / 'dev' / 'hin_Deva.dev')
    with pytest.raises(SystemExit) as e:
        tokenizer.train_all({**cfg, 'parity_flores_dir': str(tmp_path / 'flores')})
    assert 'hin_Deva.dev: no such FLORES-200 file' in str(e.value) and '\n' not in str(e.value)
