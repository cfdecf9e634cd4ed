"""BoundlessBPE (btm.py method='boundless', uniscale/boundless.py): phase 2 equals its naive
definition, the encoder reproduces training, the tokenizer is lossless and its folder is checked
like every other."""
import itertools
import json
import os
import random
from collections import Counter

import pytest
import regex

import btm
import tokenizer
from data.embedded import generate
from uniscale import boundless, merge_loop, tokenization


def naive_boundless(docs, token_bytes, n_base, n_merges, min_frequency=2, max_pretokens=0):
    """The definition, every run occurrence its own list, all pairs recounted after every merge.
    docs: per document its pretokens, each as its phase-1 ids. Returns (merges, each document's
    final ids)."""
    letter = regex.compile(r'\p{L}').search
    eligible = lambda p: len(p) == 1 and letter(token_bytes[p[0]].decode('utf-8')) is not None
    segs = []
    for d in docs:  # a run of >= 2 eligible pretokens is one mutable list, others stay tuples
        segs.append([])
        for ok, grp in itertools.groupby(d, key=eligible):
            grp = [tuple(p) for p in grp]
            segs[-1] += [[p[0] for p in grp]] if ok and len(grp) > 1 else grp
    runs, span, merges = [s for seg in segs for s in seg if isinstance(s, list)], [1] * n_base, []
    while len(merges) < n_merges:
        counts = Counter(p for r in runs for p in zip(r, r[1:])
                         if not max_pretokens or span[p[0]] + span[p[1]] <= max_pretokens)
        best = min(counts, key=lambda p: (-counts[p], p), default=None)
        if best is None or counts[best] < max(min_frequency, 1):
            break
        for r in runs:
            r[:] = merge_loop.replace_pair(r, *best, n_base + len(merges))
        merges.append(best)
        span.append(span[best[0]] + span[best[1]])
    return merges, [[t for s in seg for t in s] for seg in segs]


def phase1_docs(prim, texts):
    return [[prim.encode(p) for p in tokenization.pretokenize(t)] for t in texts]


WORDS = ['the', 'cat', 'sat', 'on', 'mat', 'of', 'a', 'dog', 'and', 'it', 'was', 'once', 'upon',
         'time']


def english(n, seed):
    rng = random.Random(seed)
    sep = lambda: rng.choice([' '] * 12 + ['  ', '\t', '\n', ', ', '. ', ' 12 '])
    return [''.join(rng.choice(WORDS) + sep() for _ in range(rng.randint(0, 30))) for _ in range(n)]


# ties (two pairs seen equally often), overlapping runs, double spaces, tabs, newlines, empty and
# one-token documents, and every script of the embedded corpus
FIXTURES = {
    'ties': ['ab cd ab cd', 'cd ab cd ab', 'x y x y'] * 3,
    'overlaps': [' a a a a', 'b b b', ' a a a a a'] * 4 + ['a a a a'] * 3,
    'spaces': ['cat  mat', 'cat\tmat', 'cat\nmat', 'cat mat', 'cat \tmat \n cat mat'] * 4,
    'edges': ['', 'a', ' ', 'cat', '\n', 'the cat'] * 4,
    'english': english(200, 0),
    'scripts': [d['text'] for d in generate.generate_documents(40_000, seed=1)],
}
N_BASE = 300
# phase-1 sizes where it is not N_BASE: enough for words of every spaced script to be one token
BASES = {'scripts': 1500}


@pytest.fixture(scope='module')
def phase1(tmp_path_factory):
    """One phase-1 BPE per fixture, trained on that fixture's texts (so many pretokens are one
    token)."""
    root = tmp_path_factory.mktemp('phase1')
    return {k: tokenizer.train_bpe(texts + english(50, 9), BASES.get(k, N_BASE), str(root / k))
            for k, texts in FIXTURES.items()}


def test_the_embedded_fixture_holds_every_script_of_the_corpus():
    langs = {d['lang'] for d in generate.generate_documents(40_000, seed=1)}
    assert langs == set(generate.LANGS)


@pytest.mark.parametrize('fixture', sorted(FIXTURES))
@pytest.mark.parametrize('n_merges,min_frequency,max_pretokens',
                         [(40, 2, 0), (400, 1, 0), (60, 2, 2), (400, 1, 3)])
def test_supermerges_equal_the_naive_reference(phase1, fixture, n_merges, min_frequency,
                                               max_pretokens):
    prim, texts = phase1[fixture], FIXTURES[fixture]
    tb = [prim.token_bytes(i) for i in range(prim.vocab_size)]
    want, _ = naive_boundless(phase1_docs(prim, texts), tb, len(tb), n_merges, min_frequency,
                              max_pretokens)
    got, counts, stats = boundless.learn_supermerges(texts, prim, n_merges,
                                                     btm.learn_merges_detailed, min_frequency,
                                                     max_pretokens, batch_docs=7)
    assert got == want
    assert len(counts) == len(got) and stats['n_runs'] >= stats['n_runs_distinct']


def test_the_fixtures_exercise_what_they_are_named_for(phase1):
    """The reference sees overlapping runs, superwords of 3+ pretokens and spaced scripts besides
    Latin (else the tests above prove little)."""
    prim = phase1['overlaps']
    tb = [prim.token_bytes(i) for i in range(N_BASE)]
    merges, _ = naive_boundless(phase1_docs(prim, FIXTURES['overlaps']), tb, N_BASE, 5)
    assert any(a == b for a, b in merges)  # ( a,  a) merged from overlapping runs
    prim = phase1['scripts']
    tb = [prim.token_bytes(i) for i in range(prim.vocab_size)]
    merges, _ = naive_boundless(phase1_docs(prim, FIXTURES['scripts']), tb, len(tb), 400, 1)
    for a, b in merges:
        tb.append(tb[a] + tb[b])
    assert len(merges) == 400 and any(a >= prim.vocab_size for a, _ in merges)
    scripts = {'Latin', 'Cyrillic', 'Devanagari'}  # unspaced Han: one pretoken, rarely one token
    made = [t.decode() for t in tb[prim.vocab_size:]]
    assert all(any(regex.search(rf'\p{{{s}}}', t) for t in made) for s in scripts)


TRAIN_BASE = 1500  # the trained folder's phase 1


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp('boundless')
    texts = FIXTURES['english'] + FIXTURES['scripts'] + FIXTURES['spaces'] + FIXTURES['edges']
    tmp = str(root / 'boundless-x')
    boundless.train_into(tmp, lambda: iter(texts), TRAIN_BASE, TRAIN_BASE + 200, 2, 0, 'toy',
                         'boundless-x', False, 50, {'n_base': TRAIN_BASE}, None, None,
                         tokenizer.train_bpe, btm.learn_merges_detailed)
    return texts, tmp


@pytest.mark.parametrize('max_pretokens', [0, 2])
def test_one_pass_training_writes_the_two_pass_files(tmp_path, max_pretokens, monkeypatch):
    """Both phases from one pass (phase 1 merged from its word counts by the shared engine) give
    the files of phase 1 by train_bpe then the runs: the same phase 1 byte for byte and the same
    supermerges, on every fixture, long pretokens, and code points Python's `regex` and Oniguruma
    classify apart (U+0558 is a letter for one only)."""
    from uniscale import regex_gap
    rng = random.Random(3)
    gaps = [chr(a) for a, _ in regex_gap.GAP_RANGES]
    odd = [' '.join(rng.choice(['ab{g}cd', '{g}{g}ef', 'x{g}', 'the {g}y', '12{g}3', "'{g}s"])
                    .format(g=rng.choice(gaps[:6] + gaps)) + ' ' + rng.choice(WORDS)
                    for _ in range(rng.randint(1, 20))) for _ in range(300)]
    texts = [t for f in FIXTURES.values() for t in f] + odd + ['x ' + 'ab' * 300 + ' y']
    args = (TRAIN_BASE, TRAIN_BASE + 150, 2, max_pretokens, 'toy', 'b', False, 40, {}, None, None,
            tokenizer.train_bpe, btm.learn_merges_detailed)
    boundless.train_into(str(tmp_path / 'two'), lambda: iter(texts), *args)
    boundless.train_into(str(tmp_path / 'one'), lambda: iter(texts), *args, one_pass_hooks=(
        tokenizer.bpe_from_word_counts, tokenizer.trainer_words))
    # where two merges spell one string bpe_from_word_counts gives None: HF's trainer then
    boundless.train_into(str(tmp_path / 'none'), lambda: iter(texts), *args, one_pass_hooks=(
        lambda *a, **k: None, tokenizer.trainer_words))
    monkeypatch.setattr(boundless, 'COMPACT_MIN', 1)  # the runs folded together every batch or two
    boundless.train_into(str(tmp_path / 'folded'), lambda: iter(texts), *args, one_pass_hooks=(
        tokenizer.bpe_from_word_counts, tokenizer.trainer_words))
    for f in ('primitive/tokenizer.json', 'merges.json'):
        for d in ('one', 'none', 'folded'):
            assert (tmp_path / d / f).read_bytes() == (tmp_path / 'two' / f).read_bytes(), (d, f)
    one, two = (json.load(open(tmp_path / d / 'meta.json')) for d in ('folded', 'two'))
    assert one['hash'] == two['hash']
    keys = ('n_pretokens_distinct', 'n_runs_distinct', 'n_runs', 'n_run_pretokens')
    assert [one['train'][k] for k in keys] == [two['train'][k] for k in keys]


def test_load_tokenizer_gives_the_boundless_interface(trained):
    texts, path = trained
    tok = tokenization.load_tokenizer(path)
    meta = json.load(open(os.path.join(path, 'meta.json')))
    want = ('boundless', TRAIN_BASE + 200, 0, 1)
    assert (tok.kind, tok.vocab_size, tok.bos_id, tok.eos_id) == want
    assert meta['kind'] == 'boundless' and tok.hash == meta['hash'] and meta['n_base'] == TRAIN_BASE


@pytest.mark.parametrize('numpy_runs', [1, 10 ** 9])  # numpy's apply_merges, the Rust engine
def test_encoding_training_text_reproduces_training_segmentation(trained, numpy_runs, monkeypatch):
    monkeypatch.setattr(boundless, 'NUMPY_RUNS', numpy_runs)
    texts, path = trained
    tok = tokenization.load_tokenizer(path)
    tb = [tok.primitive.token_bytes(i) for i in range(TRAIN_BASE)]
    merges, docs = naive_boundless(phase1_docs(tok.primitive, texts), tb, TRAIN_BASE, 200)
    assert tok.merges == merges
    assert tok.encode_batch(texts) == docs
    assert [tok.encode(t) for t in texts[:30]] == docs[:30]
    spans = [len(tokenization.pretokenize(tok.token_bytes(i).decode()))
             for i in range(TRAIN_BASE, tok.vocab_size)]
    assert max(spans) > 2


@pytest.mark.parametrize('numpy_runs', [1, 10 ** 9])  # numpy's apply_merges, the Rust engine
def test_encoding_new_text_applies_merges_in_rank_order(trained, numpy_runs, monkeypatch):
    """Text never trained on: each run gets the lowest-rank merge present, leftmost first, until
    none is left."""
    monkeypatch.setattr(boundless, 'NUMPY_RUNS', numpy_runs)
    texts, path = trained
    tok = tokenization.load_tokenizer(path)
    new = english(40, 5) + [d['text'] for d in generate.generate_documents(8_000, seed=7)]
    new += traps(tok)
    got = tok.encode_batch(new)
    assert got == rank_order(tok, new, {p: r for r, p in enumerate(tok.merges)})
    assert sum(map(len, got)) < sum(len(p) for d in phase1_docs(tok.primitive, new) for p in d)


def rank_order(tok, texts, rank):
    letter = regex.compile(r'\p{L}').search
    out = []
    for d in phase1_docs(tok.primitive, texts):
        ids = []
        eligible = lambda p: len(p) == 1 and letter(tok.token_bytes(p[0]).decode()) is not None
        for ok, grp in itertools.groupby(d, key=eligible):
            grp = [list(p) for p in grp]
            if not ok or len(grp) == 1:
                ids += [t for p in grp for t in p]
                continue
            run = [p[0] for p in grp]
            while True:
                best = min(zip(run, run[1:]), key=lambda p: rank.get(p, len(rank)), default=None)
                if best not in rank:
                    break
                run = merge_loop.replace_pair(run, *best, TRAIN_BASE + rank[best])
            ids += run
        out.append(ids)
    return out


ADVERSARIAL = ['', ' ', 'cat  mat', 'cat\tmat\r\n', 'a a a a a a a', '日本語のテキスト', 'ไทย ภาษา',
               '😀 emoji 👍🏽', '\x00\x01 control \x7f', 'mixed 123456789 numbers 3.14',
               'Once upon a time' * 20, 'ß' * 40]


def test_round_trip_is_lossless(trained):
    texts, path = trained
    tok = tokenization.load_tokenizer(path)
    for t in ADVERSARIAL + texts[:50]:
        ids = tok.encode(t)
        assert tok.decode(ids) == t
        assert b''.join(tok.token_bytes(i) for i in ids) == t.encode('utf-8')


def test_an_edited_merges_file_is_refused_in_one_line(trained, tmp_path):
    import shutil
    _, path = trained
    copy = tmp_path / 'copy'
    shutil.copytree(path, copy)
    m = json.load(open(copy / 'merges.json'))
    m['merges'][0] = m['merges'][1]
    (copy / 'merges.json').write_text(json.dumps(m))
    with pytest.raises(SystemExit, match='do not match the hash'):
        tokenization.load_tokenizer(str(copy))


def traps(tok, n=5):
    """Texts where a supermerge (a, b) must NOT fire: b's text starts a longer pretoken that phase 1
    encodes as b and more (' of' + ' theory' with ' theory' = ' the' + 'ory')."""
    out = []
    for a, b in tok.merges:
        if max(a, b) < tok.n_base:
            left, right = tok.token_bytes(a).decode(), tok.token_bytes(b).decode() + 'qzxv'
            if len(tokenization.pretokenize(right)) == 1 and tok.primitive.encode(right)[0] == b:
                out.append(left + right)
    assert len(out) >= n
    return out[:n]


def test_the_export_gives_the_projects_ids_through_autotokenizer(trained, tmp_path):
    """The remote-code export (hf_remote_boundless.py): ids, decoding and the README's reason."""
    from transformers import AutoTokenizer

    import export_hf
    from test_export_hf import tiny_ckpt
    texts, path = trained
    ours = tokenization.load_tokenizer(path)
    out = export_hf.export(tiny_ckpt(ours.vocab_size), str(tmp_path / 'hf'), path,
                           probe=ADVERSARIAL + texts[:20])
    hf = AutoTokenizer.from_pretrained(out, trust_remote_code=True)
    new = english(20, 11) + ADVERSARIAL + FIXTURES['scripts'][:10] + traps(ours)
    for text, ids in zip(new, ours.encode_batch(new)):
        assert hf.encode(text) == ids and hf.decode(ids) == text
    assert any(i >= TRAIN_BASE for ids in ours.encode_batch(new) for i in ids)  # supermerges ran
    assert 'hf_remote_boundless.py' in open(os.path.join(out, 'README.md')).read()
    assert sorted(os.listdir(tmp_path)) == ['hf']


def boundless_cfg(tmp_path):
    import configurator
    os.makedirs(tmp_path / 'corpus' / 'toy', exist_ok=True)
    texts = FIXTURES['english'] * 3 + FIXTURES['scripts']
    with open(tmp_path / 'corpus' / 'toy' / 'tok.jsonl', 'w') as f:
        f.writelines(json.dumps({'text': t}) + '\n' for t in texts)
    cfg = configurator.defaults(btm)
    cfg.update(corpus='toy', corpus_dir=str(tmp_path / 'corpus'), out_dir=str(tmp_path / 'tok'),
               n_base=1200, vocab_size=1600, progress=False, num_proc=1, method='boundless',
               max_pretokens=3)
    return cfg


def test_btm_py_trains_boundless_into_its_folder_and_skips_it_when_unchanged(tmp_path, capsys):
    cfg = boundless_cfg(tmp_path)
    btm.train_command(cfg)
    path = tmp_path / 'tok' / 'boundless-1600'
    tok = tokenization.load_tokenizer(str(path))
    meta = json.load(open(path / 'meta.json'))
    assert (tok.kind, tok.vocab_size, meta['settings']['max_pretokens']) == ('boundless', 1600, 3)
    assert meta['trained_on']['sha256'] and not os.path.exists(str(path) + '.resume')
    spans = [len(tokenization.pretokenize(tok.token_bytes(i).decode())) for i in range(1200, 1600)]
    assert max(spans) == 3  # a cap that binds
    btm.train_command(cfg)
    assert 'already trained, skipping' in capsys.readouterr().out


def test_a_boundless_stopped_in_phase_2_resumes_with_its_kept_phase_1(tmp_path, monkeypatch):
    cfg = boundless_cfg(tmp_path)
    btm.train_command(cfg)
    done = tmp_path / 'tok' / 'boundless-1600'
    want = json.load(open(done / 'merges.json'))
    cfg['out_dir'] = str(tmp_path / 'again')
    learn = btm.learn_merges_detailed

    def stop(*a, **k):  # in phase 2 (phase 1 merges words with weights by the same engine)
        if 'weights' in k:
            return learn(*a, **k)
        raise KeyboardInterrupt
    monkeypatch.setattr(btm, 'learn_merges_detailed', stop)
    with pytest.raises(KeyboardInterrupt):
        btm.train_command(cfg)
    kept = tmp_path / 'again' / 'boundless-1600.resume' / 'primitive'
    assert os.path.isfile(kept / 'meta.json')
    assert not [f for f in os.listdir(tmp_path / 'again') if f.endswith('.tmp')]

    def no_phase_1(*a, **k):
        raise AssertionError('phase 1 trained again')
    monkeypatch.setattr(btm, 'learn_merges_detailed', learn)
    monkeypatch.setattr(tokenizer, 'train_bpe', no_phase_1)
    monkeypatch.setattr(tokenizer, 'bpe_from_word_counts', no_phase_1)
    btm.train_command(cfg)
    assert json.load(open(tmp_path / 'again' / 'boundless-1600' / 'merges.json')) == want
    assert sorted(os.listdir(tmp_path / 'again')) == ['boundless-1600']


def test_distinct_runs_equal_a_counter_and_a_hash_collision_stops(monkeypatch):
    import numpy as np
    rng = random.Random(0)
    segs = [tuple(rng.choice([3, 5, 7]) for _ in range(rng.randint(2, 5))) for _ in range(300)]
    values = np.array([t for s in segs for t in s] + [9], dtype=np.int32)
    lengths = np.array([len(s) for s in segs], dtype=np.int64)
    weights = np.array([rng.randint(1, 3) for _ in segs], dtype=np.int64)
    flat, n, w = boundless.distinct(values, np.cumsum(lengths) - lengths, lengths, weights)
    got, at = Counter(), 0
    for length, weight in zip(n.tolist(), w.tolist()):
        got[tuple(flat[at:at + length].tolist())] += weight
        at += length
    want = Counter()
    for s, weight in zip(segs, weights.tolist()):
        want[s] += weight
    assert got == want and len(n) == len(want)
    monkeypatch.setattr(boundless, 'HASH_BASES', (np.uint64(0), np.uint64(0)))  # all collide
    with pytest.raises(RuntimeError, match='share their length and both 64-bit hashes'):
        boundless.distinct(values, np.cumsum(lengths) - lengths, lengths, weights)


def test_a_boundless_name_that_reads_as_other_sizes_is_refused():
    with pytest.raises(SystemExit, match="names other sizes"):
        btm.check_name('boundless-16k', 12288, 2000, 'boundless')
    btm.check_name('boundless-16k', 12288, 16384, 'boundless')
    with pytest.raises(SystemExit, match="method='boundless' has its own rules"):
        btm.check_method({'method': 'boundless', 'max_words': 4, 'boundaries': []})


def test_the_encoders_cache_is_bounded_and_its_reset_changes_no_id(trained, monkeypatch):
    texts, path = trained
    tok = tokenization.load_tokenizer(path)
    want = tok.encode_batch(texts)
    monkeypatch.setattr(boundless, 'MAX_CACHED_PRETOKENS', 10)
    assert [tok.encode(t) for t in texts] == want
    assert len(tok.segmenter.blob) < 300


def test_a_stock_flat_merge_list_gives_other_ids_so_the_export_is_remote_code(trained):
    """What a stock tokenizer.json can say, phase 1's merges then the supermerges as one flat list
    behind SuperBPE's coarse split (uniscale/superbpe.stage2_json), fires a supermerge inside a
    longer pretoken: the trap texts get other ids than BoundlessBPE's own."""
    import tokenizers

    from uniscale import superbpe
    texts, path = trained
    tok = tokenization.load_tokenizer(path)
    prim_json = json.load(open(os.path.join(path, 'primitive', 'tokenizer.json')))
    stock = tokenizers.Tokenizer.from_str(superbpe.stage2_json(prim_json, tok.merges))
    stock.encode_special_tokens = True
    trap = traps(tok)
    assert all(stock.encode(t, add_special_tokens=False).ids != tok.encode(t) for t in trap)


def test_export_hf_exports_a_boundless_tokenizer_alone(trained, tmp_path):
    """export_hf.py --tokenizer=DIR: the tokenizer alone, checked, its README naming the remote code."""
    from transformers import AutoTokenizer

    import export_hf
    texts, path = trained
    out = export_hf.export_tokenizer(path, str(tmp_path / 'tok'))
    readme = open(os.path.join(out, 'README.md')).read()
    assert 'trust_remote_code=True' in readme and 'hf_remote_boundless.py' in readme
    hf = AutoTokenizer.from_pretrained(out, trust_remote_code=True)
    ours = tokenization.load_tokenizer(path)
    assert [hf.encode(t) for t in texts[:20]] == ours.encode_batch(texts[:20])
