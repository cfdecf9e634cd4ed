"""The one table of tokenizer kinds (uniscale/tokenization.py KINDS): every kind in it trains
through its script, loads through its `load` hook and exports through its `export` (stock Hugging
Face or remote code) with the project's ids; no other module spells a list of kinds; a kind whose
code is missing refuses in one line."""
import ast
import dataclasses
import glob
import importlib.util
import json
import os
import types

import pytest

import configurator
from data.embedded import generate
from uniscale import tokenization
from uniscale.tokenization import KINDS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_BASE, VOCAB = 660, 700  # seconds to train; ids for a unigram of 8 languages and 40 merges
META = {'name': 'x', 'vocab_size': 300, 'bos_id': 0, 'eos_id': 1, 'files': ['tokenizer.json'],
        'hash': '0'}  # a meta.json's common keys
PROBE = ['Once upon a time  there was a cat.\n\n\tThe end!', 'a a a a', 'x', '',
         '日本語 한국어 ไทย हिन्दी العربية ελληνικά', '<|bos|> 123456 ...!!']


def kind_missing(kind):
    """Why a kind of the table cannot train in this checkout (its code not merged yet), or ''."""
    import btm
    if KINDS[kind].script.split()[0] == 'btm.py' and kind != 'btm':
        if 'method' not in configurator.defaults(btm):
            return 'btm.py has no method setting in this checkout'
        module = KINDS[kind].trainer.removesuffix('.py').replace('/', '.')
        if importlib.util.find_spec(module) is None:
            return f'{module} is not in this checkout'
    return ''


def train(kind, root):
    """A small tokenizer of kind, trained by the script its row names (that script's defaults);
    its folder."""
    import btm
    import tokenizer
    where = {'corpus': 'toy', 'corpus_dir': str(root / 'corpus'),
             'out_dir': str(root / 'tok')}
    if KINDS[kind].script == 'tokenizer.py':
        tokenizer.train_all({**configurator.defaults(tokenizer), **where, 'algorithms': [kind],
                             'vocab_sizes': [VOCAB], 'verbose': False})
        return os.path.join(where['out_dir'], tokenization.tokenizer_name(kind, VOCAB))
    name = tokenization.kind_name(kind, VOCAB, N_BASE)
    method = {'method': kind} if kind != 'btm' else {}
    btm.train_command({**configurator.defaults(btm), **where, **method, 'n_base': N_BASE,
                       'vocab_size': VOCAB, 'name': name, 'progress': False, 'num_proc': 1})
    return os.path.join(where['out_dir'], name)


@pytest.fixture(scope='module')
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp('kinds')
    (root / 'corpus' / 'toy').mkdir(parents=True)
    docs = list(generate.generate_documents(60_000, seed=3))
    lines = ''.join(json.dumps(d) + '\n' for d in docs)
    (root / 'corpus' / 'toy' / 'tok.jsonl').write_text(lines)
    return root, [d['text'] for d in docs[:40]]


@pytest.mark.parametrize('kind', list(KINDS))
def test_every_kind_in_the_table_trains_loads_and_exports_through_its_row(kind, corpus, tmp_path):
    import export_hf
    if kind_missing(kind):
        pytest.skip(kind_missing(kind))
    root, docs = corpus
    tok = tokenization.load_tokenizer(train(kind, root))
    assert (tok.kind, tok.vocab_size) == (kind, VOCAB)
    for text, ids in zip(PROBE + docs, tok.encode_batch(PROBE + docs)):
        assert tok.decode(ids) == text and b''.join(map(tok.token_bytes, ids)) == text.encode()
    out = str(tmp_path / 'hf')
    os.makedirs(out)
    export_hf.write_tokenizer(tok, tok.path, out)
    try:
        assert export_hf.tokenizer_mismatch(out, tok, PROBE + docs) == ''
    finally:
        export_hf.forget_remote_code(out)
    if KINDS[kind].export == 'stock':  # stock: transformers reads it with no code of ours
        from transformers import PreTrainedTokenizerFast
        hf = PreTrainedTokenizerFast.from_pretrained(out)
        assert [hf.encode(t) for t in PROBE + docs] == tok.encode_batch(PROBE + docs)
    remote = tokenization.remote_code(kind)
    assert remote == (KINDS[kind].export != 'stock')
    model = types.SimpleNamespace(arch='gpt2', vocab_size=tok.vocab_size, block_size=32)
    readme = export_hf.readme(model, tok, {}, out)
    assert ('trust_remote_code=True' in readme) == remote
    assert not remote or f"Why not a stock tokenizer.json: {KINDS[kind].why_remote}." in readme


def test_a_table_kind_whose_code_is_missing_refuses_in_one_line(tmp_path, monkeypatch):
    kind = next(iter(KINDS))
    missing = dataclasses.replace(KINDS[kind], load='uniscale.no_such_module:load')
    monkeypatch.setitem(KINDS, kind, missing)
    extra = {k: 1 if t is int else 'x' for k, t in KINDS[kind].meta.items()}
    meta = {**META, 'kind': kind, **extra}
    (tmp_path / 'meta.json').write_text(json.dumps(meta))
    with pytest.raises(SystemExit) as e:
        tokenization.load_tokenizer(str(tmp_path))
    msg = str(e.value)
    assert 'uniscale.no_such_module:load is missing here' in msg and '\n' not in msg


@pytest.mark.parametrize('kind', [k for k in KINDS if KINDS[k].meta])
def test_a_meta_json_without_the_keys_its_kind_needs_is_refused(kind, tmp_path):
    (tmp_path / 'meta.json').write_text(json.dumps({**META, 'kind': kind}))
    with pytest.raises(SystemExit, match=f"'{next(iter(KINDS[kind].meta))}' must be"):
        tokenization.read_meta(str(tmp_path / 'meta.json'))


def test_an_unknown_kind_is_refused_naming_the_kinds_of_the_table(tmp_path):
    (tmp_path / 'meta.json').write_text(json.dumps({**META, 'kind': 'no-such-kind'}))
    expected = f"unknown kind 'no-such-kind'; expected one of {', '.join(KINDS)}"
    with pytest.raises(SystemExit, match=expected):
        tokenization.read_meta(str(tmp_path / 'meta.json'))


def kind_lists(path):
    """Where a file spells two or more kinds in one literal: a tuple, list or set of them, a dict
    keyed by them, or a regex alternation such as '(bpe|unigram)'."""
    found = []
    for node in ast.walk(ast.parse(open(path, encoding='utf-8').read())):
        items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else \
            node.keys if isinstance(node, ast.Dict) else []
        spelled = [e.value for e in items if isinstance(e, ast.Constant) and e.value in KINDS]
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            spelled = [k for k in KINDS if f"{k}|" in node.value or f"|{k}" in node.value]
        if len(spelled) >= 2:
            found.append(f"{os.path.relpath(path, ROOT)}:{node.lineno} {spelled}")
    return found


def config_defaults(path):
    """Line numbers of a script's module-level settings (`algorithms = ['bpe', 'unigram']` is a
    value to override, not a list of what exists)."""
    tree = ast.parse(open(path, encoding='utf-8').read())
    return {n for stmt in tree.body if isinstance(stmt, ast.Assign) and
            all(isinstance(t, ast.Name) and t.id.islower() for t in stmt.targets)
            for n in range(stmt.lineno, stmt.end_lineno + 1)}


def test_no_module_but_the_table_spells_a_list_of_kinds():
    paths = glob.glob(os.path.join(ROOT, '*.py'))
    paths += glob.glob(os.path.join(ROOT, 'uniscale', '*.py'))
    found = []
    for path in paths:
        if path == tokenization.__file__:
            continue
        skip = config_defaults(path) if os.path.dirname(path) == ROOT else set()
        found += [f for f in kind_lists(path) if int(f.split(':')[1].split()[0]) not in skip]
    assert found == [], 'read these from uniscale/tokenization.py KINDS instead'
