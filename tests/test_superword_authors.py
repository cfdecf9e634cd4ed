"""The authors' trainers (fastboundlessbpe's pure Python, from a local mirror, in their own
virtualenv: bench/superword_authors.py) follow the rules docs/DESIGN.md writes down for them, and
ours follow ours: so the listed differences ("Differences from the authors' code") are all there
is. Skipped, with the reason, where the mirror or the authors' virtualenv is missing."""
import importlib.util
import os
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location('superword_authors',
                                               os.path.join(ROOT, 'bench', 'superword_authors.py'))
S = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(S)

T, VOCAB = 600, 640  # ours: n_base and final ids (342 word merges, 40 supermerges)
# repeats (overlapping pairs: 'aaaa', 'ooo'), ties, double spaces, tabs and newlines; a phrase
# of 6 words and 'Note: ' often enough that SuperBPE's 4-word and colon refusals decide merges
EXTRA = ['aaaa aaaa aaa baaaab', 'cat  mat\tcat\nmat  cat', 'Zoo ooo zoooo, the ooo zoo.'] * 30 + \
    ['Note: we go up the hill now. Note: it is late.'] * 300


@pytest.fixture(scope='module')
def runs():
    why = S.missing_peer()
    if why:
        pytest.skip(why)
    texts = S.fixture_texts('embedded', 100_000) + EXTRA
    with tempfile.TemporaryDirectory() as work:
        src = os.path.join(work, 'authors')
        S.extract_authors(src)
        sup = S.run_authors(src, work, texts, 'superbpe', S.their_vocab(T), VOCAB - T)
        bnd = S.run_authors(src, work, texts, 'boundless', S.their_vocab(VOCAB))
        S.vocab_size = VOCAB
        ours1, ours2 = S.ours_boundless(texts, work, T)
    return texts, sup, bnd, ours1, ours2


def byte_units(texts):
    return [([w[i:i + 1] for i in range(len(w))], c) for w, c in S.pieces(texts).items()]


def test_their_first_pass_follows_their_written_rules(runs):
    texts, sup, *_ = runs
    assert S.their_rules(byte_units(texts), len(sup['word_merges'])) == sup['word_merges']


def test_our_first_pass_follows_our_written_rules(runs):
    texts, _sup, _bnd, ours1, _ = runs
    assert S.our_rules(byte_units(texts), len(ours1), S.hf_ids([])) == ours1


def test_the_fixture_has_overlaps_and_ties_that_change_the_first_pass(runs):
    """Without this the two tests above could not tell the two count rules apart."""
    texts, sup, *_ = runs
    units, n = byte_units(texts), len(sup['word_merges'])
    assert S.rules_merges(units, n, True, lambda p: p, 1) != sup['word_merges']


def test_their_superbpe_trainer_follows_their_written_rules(runs):
    texts, sup, *_ = runs
    units = S.runs(texts, sup['word_merges'])
    assert S.their_rules(units, len(sup['super_merges'])) == sup['super_merges']


def test_our_boundless_follows_our_written_rules(runs):
    texts, _sup, _bnd, ours1, ours2 = runs
    assert S.our_rules(S.runs(texts, ours1), len(ours2), S.hf_ids(ours1)) == ours2


def test_their_boundless_trainer_is_the_written_competition(runs):
    texts, _sup, bnd, *_ = runs
    full = bnd['word_merges']
    supers, kept = S.their_boundless(S.runs(texts, full), full, bnd['word_counts'],
                                     len({a + b for a, b in full}))
    assert (supers, kept) == (bnd['super_merges'], bnd['word_ops_kept'])


def test_the_first_difference_is_explained(runs):
    texts, sup, _bnd, ours1, _ = runs
    cmp = S.compare(ours1, sup['word_merges'])
    units = byte_units(texts)
    note = S.first_note((units, units), ours1, sup['word_merges'], cmp)
    assert cmp['first'] and note.split(':')[0] in ('tie', 'overlap rule'), note


def test_their_and_our_superbpe_follow_the_written_rules(runs):
    """Ours: coarse chunks, stage 1 replayed, the released refusals; theirs: runs of whole
    one-token pretokens holding a letter. Each list equals its own rules, not the other's."""
    pytest.importorskip('uniscale.superbpe')
    texts, sup, *_ = runs
    with tempfile.TemporaryDirectory() as work:
        S.t, S.vocab_size = T, VOCAB
        ours1, ours2 = S.ours_superbpe(texts, work)
    ours_units, their_units = S.coarse_units(texts, ours1), S.runs(texts, sup['word_merges'])
    allow = S.superbpe_allow(ours1)
    assert S.our_rules(ours_units, len(ours2), S.hf_ids(ours1), allow=allow) == ours2
    assert S.their_rules(their_units, len(sup['super_merges'])) == sup['super_merges']
    assert S.our_rules(ours_units, len(ours2), S.hf_ids(ours1)) != ours2  # the refusals bite


def test_the_released_rules_set_to_ours_reproduce_our_superbpe(runs):
    """released_superbpe (the fork's rules, read: it does not build here) is a generalisation of
    ours: with OURS_AS_RELEASED it must give our SuperBPE's two stages merge for merge."""
    pytest.importorskip('uniscale.superbpe')
    texts = runs[0]
    with tempfile.TemporaryDirectory() as work:
        S.t, S.vocab_size = T, VOCAB
        ours1, ours2 = S.ours_superbpe(texts, work)
    got = S.released_superbpe(texts, len(ours1), len(ours2), **S.OURS_AS_RELEASED)
    assert got == (ours1, ours2)
