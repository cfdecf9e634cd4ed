"""btm.py analyze / uniscale/vocab_compare.py: any set of tokenizers compared on one split; the
numbers equal a count by hand on a fixture small enough to count (tokenizers given as a vocabulary
and a greedy longest-match encoder), and the command compares a set of trained folders."""
import json
import os

import pytest

import configurator
from uniscale import vocab_compare


class Greedy:
    """A tokenizer by greedy longest match over a vocabulary of strings (counted by hand)."""
    hash, trained_on = '0' * 64, None

    def __init__(self, name, kind, vocab, n_base=None):
        self.name, self.kind, self.vocab, self.vocab_size = name, kind, vocab, len(vocab)
        if n_base:
            self.n_base = n_base

    def encode(self, text):
        ids, i = [], 0
        while i < len(text):
            j = max((j for j, v in enumerate(self.vocab) if text.startswith(v, i)),
                    key=lambda j: len(self.vocab[j]))
            ids.append(j)
            i += len(self.vocab[j])
        return ids

    def encode_batch(self, texts):
        return [self.encode(t) for t in texts]

    def token_bytes(self, i):
        return self.vocab[i].encode()


# A: a BPE-like vocabulary (no multi-word token); B: superwords beyond n_base = 3
A = Greedy('a-6', 'bpe', ['a', 'b', ' ', 'ab', ' a', ' b'])
B = Greedy('b-7', 'superbpe', ['a', 'b', ' ', 'a b', 'ab', ' a b', 'b a'], n_base=3)
DOCS = [('a b a b', 'eng'), ('ab ab', 'deu')]
# by hand: A encodes 'a b a b' as a | ' b' | ' a' | ' b' (4), 'ab ab' as ab | ' a' | b (3);
#          B encodes 'a b a b' as 'a b' | ' a b' (2), 'ab ab' as ab | ' ' | ab (3)


def test_the_report_equals_a_count_by_hand():
    rep = vocab_compare.vocab_report([B, A], DOCS)
    b, a = rep['tokenizers']
    assert (rep['n_docs'], rep['n_bytes'], rep['lang_bytes']) == (2, 12, {'deu': 5, 'eng': 7})
    assert rep['bpe_reference'] == 'a-6'
    assert (a['n_tokens'], b['n_tokens']) == (7, 5)
    assert a['tokens_per_byte_by_lang'] == pytest.approx({'eng': 4 / 7, 'deu': 3 / 5}, rel=1e-15)
    assert b['tokens_per_byte_by_lang'] == pytest.approx({'eng': 2 / 7, 'deu': 3 / 5}, rel=1e-15)
    assert (a['bytes_per_token'], b['bytes_per_token']) == pytest.approx((12 / 7, 12 / 5))
    # B's multi-word tokens: 'a b', ' a b', 'b a'
    assert (a['multi_word_vocab'], b['multi_word_vocab']) == pytest.approx((0, 3 / 7))
    assert (a['multi_word_merged'], b['multi_word_merged']) == (None, pytest.approx(3 / 4))
    assert (a['multi_word_used'], b['multi_word_used']) == pytest.approx((0, 2 / 5))
    assert [(t['id'], t['count'], t['text']) for t in b['top_superwords']] == [(3, 1, 'a b'),
                                                                               (5, 1, ' a b')]
    assert a['top_superwords'] == []
    # B's distinct token bytes held by A too: a, b, ' ', ab -> 4 of 7
    assert (b['overlap_bpe_count'], a['overlap_bpe']) == (4, 1)
    assert b['overlap_bpe'] == pytest.approx(4 / 7)
    assert (a['vocab_used'], b['vocab_used']) == pytest.approx((5 / 6, 4 / 7))
    assert (a['vocab_token_bytes'], b['vocab_token_bytes']) == pytest.approx((9 / 6, 15 / 7))
    assert b['tokens_vs_bpe'] == pytest.approx(5 / 7)


@pytest.mark.parametrize('token, multi', [
    (' the cat', True), ('a\tb', True), ('a\n\nb', True), ('a\u3000b', True),  # any whitespace run
    (b'\xe4 a', True),  # a partial character still stands for a character
    (' the', False), ('cat ', False), ('  ', False), ('\n', False), ('ab', False), ('', False)])
def test_a_multi_word_token_holds_whitespace_between_two_non_space_characters(token, multi):
    raw = token if isinstance(token, bytes) else token.encode()
    assert vocab_compare.is_multi_word(raw) == multi


def test_a_set_without_a_bpe_reports_no_overlap_and_a_name_twice_is_refused(tmp_path):
    rep = vocab_compare.vocab_report([B], DOCS)
    assert rep['bpe_reference'] is None and rep['tokenizers'][0]['overlap_bpe'] is None
    split = tmp_path / 'val.jsonl'
    split.write_text(''.join(json.dumps({'text': t, 'lang': lang}) + '\n' for t, lang in DOCS))
    with pytest.raises(SystemExit, match="two tokenizers named 'a-6'"):
        vocab_compare.compare([A, A], str(split), 10, 'toy', str(tmp_path / 'out'))
    assert not os.path.exists(tmp_path / 'out')


def test_analyze_compares_the_set_it_is_given(tmp_path):
    import btm
    import tokenizer
    from data.embedded import generate
    corpus = tmp_path / 'corpus' / 'toy'
    corpus.mkdir(parents=True)
    docs = list(generate.generate_documents(60_000, seed=3))
    for split, part in (('tok', docs), ('val', docs[:30])):
        (corpus / f'{split}.jsonl').write_text(''.join(json.dumps(d) + '\n' for d in part))
    cfg = {**configurator.defaults(btm), 'corpus': 'toy', 'corpus_dir': str(tmp_path / 'corpus'),
           'out_dir': str(tmp_path / 'tok'), 'analysis_dir': str(tmp_path / 'an'), 'n_base': 500,
           'vocab_size': 700, 'num_proc': 1, 'progress': False, 'analyze_max_docs': 30}
    btm.train_command(cfg)
    texts = [d['text'] for d in docs]
    tokenizer.train_bpe(texts, 700, str(tmp_path / 'tok' / 'bpe-700'))
    tokenizer.train_unigram(texts, 700, str(tmp_path / 'tok' / 'unigram-700'))
    compare = ['unigram-700', 'btm-500-700', str(tmp_path / 'tok' / 'bpe-700')]  # names, a folder
    btm.analyze(dict(cfg, compare=compare))
    out = tmp_path / 'an' / 'unigram-700_vs_btm-500-700_vs_bpe-700'
    rep = json.load(open(out / 'btm_vocab.json'))
    u, t, b = rep['tokenizers']
    assert [s['kind'] for s in (u, t, b)] == ['unigram', 'btm', 'bpe']
    assert rep['bpe_reference'] == 'bpe-700'
    langs = {d['lang'] for d in docs[:30]}
    assert set(rep['lang_bytes']) == langs and all(set(s['tokens_per_byte_by_lang']) == langs
                                                   for s in (u, t, b))
    assert t['multi_word_used'] > 0 == b['multi_word_used'] and t['top_superwords']
    md = (out / 'btm_vocab.md').read_text()
    assert '| bpe-700 (bpe) |' in md and '## Tokens per byte per language' in md
    assert (out / 'btm_vocab.png').stat().st_size > 0


def test_the_documents_read_are_spread_over_a_split_grouped_by_language(tmp_path):
    split = tmp_path / 'val.jsonl'
    rows = [{'text': f'{lang} {i}', 'lang': lang} for lang in ('eng', 'deu', 'rus')
            for i in range(10)]
    split.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    docs = vocab_compare.read_split_docs(str(split), 6)
    assert docs == [('eng 0', 'eng'), ('eng 6', 'eng'), ('deu 2', 'deu'), ('deu 7', 'deu'),
                    ('rus 3', 'rus'), ('rus 9', 'rus')]
    assert len(vocab_compare.read_split_docs(str(split), 100)) == 30
