"""Your own text by content (issue 27): files read once by sha256, each document's split from its
text, given splits kept, splits made by the old rule kept, an edited split refused with a command
that remakes it, and the one-line refusals of a symlink cycle and of a bad line in a file given by
--files."""
import json
import os
import random
import shlex
import signal
from collections import Counter

import pytest

import prepare
from helpers import one_line, run_script
from test_prepare import config, corpus_dir, read_jsonl
from test_prepare_chain import cut_and_resume, derive, split_files
from uniscale import identity, own_text
from uniscale.split_making import SPLITS

HELD = ('train', 'val', 'test')


def write_jsonl(path, texts):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(json.dumps({'text': t}) + '\n' for t in texts)
    return str(path)


def texts_of(cfg):
    return {s: [d['text'] for d in read_jsonl(f"{corpus_dir(cfg)}/{s}.jsonl")] for s in SPLITS}


def splits_of_each_text(docs):
    """{text: the set of splits (train, val, test) it is in}."""
    where = {}
    for s in HELD:
        for t in docs[s]:
            where.setdefault(t, set()).add(s)
    return where


def own(tmp_path, **kw):
    return config(tmp_path, **{'corpus': 'mine', 'tok_bytes': 1_000, 'eval_fraction': 0.1, **kw})


def stories(n, tag='story'):
    return [f"The {tag} number {i} is about a small red fox." for i in range(n)]


# ------------------------------------------------------------ row 3: one content under two names
def test_a_copy_and_a_symlink_are_read_once_and_every_text_is_in_one_split(tmp_path, capsys):
    texts = stories(300) + stories(40)  # 40 texts repeated within the file
    random.Random(0).shuffle(texts)
    train = write_jsonl(tmp_path / 'd' / 'train.jsonl', texts)
    backup = write_jsonl(tmp_path / 'd' / 'train_backup.jsonl', texts)
    link = str(tmp_path / 'd' / 'link.jsonl')
    os.symlink('train.jsonl', link)
    cfg = own(tmp_path, files=f"{train},{backup},{link}")
    meta = prepare.make_splits(cfg)
    docs = texts_of(cfg)
    assert docs['val'] and docs['test']
    where = splits_of_each_text(docs)
    assert all(len(s) == 1 for s in where.values())  # no val or test text is in train
    assert Counter(t for s in HELD for t in docs[s]) == Counter(texts)  # read once, nothing dropped
    sha = identity.file_sha256(train)
    assert [(f['path'], f['sha256'], f['duplicate_of'], f['n_docs']) for f in meta['files']] == [
        (train, sha, None, len(texts)), (backup, sha, train, 0), (link, sha, train, 0)]
    assert meta['settings']['inputs'] == {'files': [sha]}
    assert meta['dropped'] == {s: 0 for s in SPLITS}
    assert f"{backup} holds the content of {train}" in capsys.readouterr().out
    capsys.readouterr()
    again = prepare.make_splits({**cfg, 'files': f"{tmp_path}/d/./train.jsonl"})  # same content
    assert again == meta
    assert 'skipping' in capsys.readouterr().out


def test_a_texts_split_follows_its_text_not_its_file_or_place(tmp_path):
    texts = stories(400)
    one = own(tmp_path / 'one', files=write_jsonl(tmp_path / 'one.jsonl', texts))
    parts = [texts[200:], texts[:200][::-1]]
    halves = [write_jsonl(tmp_path / f"h{i}.jsonl", part) for i, part in enumerate(parts)]
    two = own(tmp_path / 'two', files=','.join(halves))
    prepare.make_splits(one)
    prepare.make_splits(two)
    assert splits_of_each_text(texts_of(one)) == splits_of_each_text(texts_of(two))
    n = {s: len(texts_of(one)[s]) for s in HELD}
    sigma = (400 * 0.1 * 0.9) ** 0.5  # binomial: 400 draws, 10% each
    assert all(abs(n[s] - 40) <= 4 * sigma for s in ('val', 'test'))
    other = own(tmp_path / 'seed', files=one['files'], seed=7)
    prepare.make_splits(other)
    assert splits_of_each_text(texts_of(other)) != splits_of_each_text(texts_of(one))  # a setting


# ------------------------------------------------------------ row 7: given splits
def given_files(tmp_path):
    """train: 200 texts; val: 20, of which 3 are in train and 2 in test; test: 30, of which 5 are in
    train."""
    train, val, test = stories(200), stories(20, 'val story'), stories(30, 'test story')
    val[:3] = train[10:13]
    val[3:5] = test[20:22]
    test[:5] = train[100:105]
    return {k: write_jsonl(tmp_path / 'in' / f"{k}.jsonl", t) for k, t in
            (('train_files', train), ('val_files', val), ('test_files', test))}, train, val, test


def test_given_splits_are_kept_and_a_text_in_val_or_test_is_dropped_from_train(tmp_path, capsys):
    paths, train, val, test = given_files(tmp_path)
    cfg = own(tmp_path, **paths, eval_fraction=0.0)
    meta = prepare.make_splits(cfg)
    docs = texts_of(cfg)
    assert docs['test'] == test  # every given test document stays in test
    assert docs['val'] == [t for t in val if t not in test]
    assert docs['train'] == [t for t in train if t not in val + test]
    assert docs['tok'] == docs['train'][:len(docs['tok'])]
    assert 1_000 <= meta['splits']['tok']['n_bytes'] < 1_100
    assert meta['dropped'] == {'tok': 0, 'train': 8, 'val': 2, 'test': 0}
    assert f"{corpus_dir(cfg)}: dropped 8 train, 2 val documents whose text is in val or test " \
           f"(another split, or a given copy)" in capsys.readouterr().out
    shas = {k[:-6]: [identity.file_sha256(p)] for k, p in paths.items()}
    assert meta['settings']['inputs'] == shas


def test_pooled_files_fill_only_the_splits_not_given(tmp_path):
    pool = stories(300)
    test = stories(30, 'test story')
    test[:4] = pool[:4]  # given test text in the pool: only in test
    cfg = own(tmp_path, files=write_jsonl(tmp_path / 'pool.jsonl', pool),
              test_files=write_jsonl(tmp_path / 'test.jsonl', test))
    meta = prepare.make_splits(cfg)
    docs = texts_of(cfg)
    assert docs['test'] == test and docs['val'] and set(docs['val']) <= set(pool[4:])
    assert sorted(docs['train'] + docs['val']) == sorted(pool[4:])
    assert meta['dropped']['train'] + meta['dropped']['val'] == 4


def test_a_given_val_text_drawn_to_test_from_the_pool_stays_in_the_given_val(tmp_path):
    pool = stories(300)
    drawn = {t: own_text.drawn_split(identity.text_sha256(t), own(tmp_path), set()) for t in pool}
    val = [t for t in pool if drawn[t] == 'test'][:3] + stories(20, 'val story')
    cfg = own(tmp_path, files=write_jsonl(tmp_path / 'pool.jsonl', pool),
              val_files=write_jsonl(tmp_path / 'val.jsonl', val))
    meta = prepare.make_splits(cfg)
    docs = texts_of(cfg)
    assert docs['val'] == val and not set(val) & set(docs['test'] + docs['train'])
    assert meta['dropped']['test'] == 3  # the pool's copies: a given split before a drawn one


def test_given_tok_files_are_the_tok_split_less_val_and_test_text(tmp_path):
    paths, train, val, test = given_files(tmp_path)
    tok = stories(50, 'tok story') + test[:3]
    cfg = own(tmp_path, **paths, tok_files=write_jsonl(tmp_path / 'tok.jsonl', tok))
    meta = prepare.make_splits(cfg)
    assert texts_of(cfg)['tok'] == tok[:50] and meta['dropped']['tok'] == 3


def test_a_given_files_content_is_part_of_the_settings(tmp_path, capsys):
    paths, *_ = given_files(tmp_path)
    cfg = own(tmp_path, **paths)
    prepare.make_splits(cfg)
    derive(cfg, 'run')
    with open(paths['test_files'], 'a') as f:
        f.write(json.dumps({'text': 'one more test story'}) + '\n')
    with pytest.raises(SystemExit, match=r"made with other settings \([^;]*in/test_files\.jsonl: "
                                         r"'[0-9a-f]{12}' -> "):
        prepare.make_splits(cfg)
    prepare.make_splits({**cfg, 'overwrite': True})
    assert texts_of(cfg)['test'][-1] == 'one more test story'


def test_given_splits_stopped_and_resumed_give_the_bytes_of_one_run(tmp_path, monkeypatch):
    paths, *_ = given_files(tmp_path)
    whole = own(tmp_path / 'whole', **paths, checkpoint_bytes=2_000)
    prepare.make_splits(whole)
    calls = []

    def patched(real):
        def docs(*a, **k):
            calls.append(1)
            for i, doc in enumerate(real(*a, **k)):
                if len(calls) == 2 and i == 120:  # the writing pass (the first finds val and test)
                    os.kill(os.getpid(), signal.SIGTERM)
                yield doc
        return docs

    def state_check(state):
        assert state['docs'] == 120
        assert state['dropped'] == {'tok': 0, 'train': 8, 'val': 0, 'test': 0}
    cfg = cut_and_resume(monkeypatch, whole, tmp_path, 'local_documents', patched, state_check)
    assert split_files(cfg) == split_files(whole)


# ---------------------------------------------------------------- splits made before the text rule
def as_made_by_the_old_rule(cfg):
    """Rewrite meta.json as prepare.py wrote it before the text rule: settings with the files spec
    and file_sha256 {path: sha256}, files without their split or duplicate."""
    path = f"{corpus_dir(cfg)}/meta.json"
    meta = json.load(open(path))
    shas = {f['path']: f['sha256'] for f in meta['files']}
    meta['settings'] = {**{k: cfg[k] for k in ('corpus', 'seed', 'files', 'lang', 'eval_fraction',
                                               'tok_bytes')}, 'file_sha256': shas}
    meta['files'] = [{k: f[k] for k in ('path', 'sha256', 'n_docs')} for f in meta['files']]
    del meta['dropped']
    json.dump(meta, open(path, 'w'))
    return meta


def test_splits_made_by_the_old_rule_are_kept_and_remade_only_with_overwrite(tmp_path, capsys):
    a = write_jsonl(tmp_path / 'a.jsonl', stories(200))
    cfg = own(tmp_path, files=f"{a},{write_jsonl(tmp_path / 'b.jsonl', stories(200))}")
    prepare.make_splits(cfg)
    old = as_made_by_the_old_rule(cfg)
    before = split_files(cfg)
    capsys.readouterr()
    assert prepare.make_splits(cfg) == old and split_files(cfg) == before
    out = capsys.readouterr().out
    assert 'kept as made by the old split rule' in out and 'copies of others' in out
    assert '--overwrite=True' in out
    derive(cfg, 'run')
    with pytest.raises(SystemExit) as e:
        prepare.make_splits({**cfg, 'eval_fraction': 0.2})
    assert "split rule: each file by its path" in str(e.value) and '\n' not in str(e.value)
    meta = prepare.make_splits({**cfg, 'overwrite': True})
    assert meta['settings']['split_rule'] == 'text_sha256'
    assert 'split rule: ' in capsys.readouterr().out
    assert all(len(s) == 1 for s in splits_of_each_text(texts_of(cfg)).values())


# ------------------------------------------------------------ row 8: a split edited after made
def test_an_edited_split_is_refused_naming_the_command_that_remakes_it(tmp_path):
    args = [f'--out_dir={tmp_path}/out', '--embedded_bytes=60000', '--eval_fraction=0.1',
            '--tok_bytes=20000']
    assert run_script('prepare.py', *args)[0] == 0
    val = f"{tmp_path}/out/corpus/embedded/val.jsonl"
    made = open(val, 'rb').read()
    open(val, 'wb').write(made.replace(b'a', b'e', 1))  # one byte
    msg = one_line(*run_script('prepare.py', *args), f"{val}: edited after prepare.py made it")
    command = shlex.split(msg.split('`')[1])
    assert command[:2] == ['python', 'prepare.py'] and command[-1] == '--overwrite=True'
    rc, err = run_script(*command[1:])
    assert rc == 0, err
    assert open(val, 'rb').read() == made
    meta = json.load(open(f"{tmp_path}/out/corpus/embedded/meta.json"))
    assert meta['splits']['val']['sha256'] == identity.file_sha256(val)


def test_an_edited_split_of_your_own_text_is_refused_in_process(tmp_path):
    cfg = own(tmp_path, files=write_jsonl(tmp_path / 'a.jsonl', stories(100)))
    prepare.make_splits(cfg)
    with open(f"{corpus_dir(cfg)}/tok.jsonl", 'a') as f:
        f.write('\n')
    with pytest.raises(SystemExit, match=r"tok\.jsonl: edited after prepare.py made it .*"
                                         r"--overwrite=True"):
        prepare.make_splits(cfg)
    prepare.make_splits({**cfg, 'overwrite': True})
    tok = f"{corpus_dir(cfg)}/tok.jsonl"
    assert prepare.make_splits(cfg)['splits']['tok']['sha256'] == identity.file_sha256(tok)


# ------------------------------------------------------------ rows 13 and 14: advice that fits
def test_a_symlink_cycle_in_files_is_one_line_naming_it(tmp_path):
    loop = tmp_path / 'loop.jsonl'
    os.symlink('loop.jsonl', loop)
    rc, err = run_script('prepare.py', f'--out_dir={tmp_path}/out', '--corpus=mine',
                         f'--files={loop}')
    one_line(rc, err, f"{loop}: a symlink cycle", '--files=')
    os.makedirs(tmp_path / 'd')
    os.symlink('b.jsonl', tmp_path / 'd' / 'a.jsonl')
    os.symlink('a.jsonl', tmp_path / 'd' / 'b.jsonl')
    with pytest.raises(SystemExit, match=r"d/a\.jsonl: a symlink cycle .*\(--test_files=\)"):
        prepare.make_splits(own(tmp_path, test_files=f"{tmp_path}/d/*.jsonl"))
    os.symlink('gone.jsonl', tmp_path / 'broken.jsonl')
    with pytest.raises(SystemExit, match=r"broken\.jsonl: a symlink to 'gone\.jsonl', which does not "):
        prepare.make_splits(own(tmp_path, files=f"{tmp_path}/broken.jsonl"))


def test_a_bad_line_in_a_file_given_by_files_is_not_called_a_split_to_remake(tmp_path):
    import eval_bpb
    noise = tmp_path / 'noise.jsonl'
    noise.write_bytes(bytes(random.Random(0).randrange(256) for _ in range(4096)))
    with pytest.raises(SystemExit) as e:
        list(eval_bpb.file_docs(str(noise)))
    assert str(e.value).startswith(f"{noise}:") and 'leave the file out of --files' in str(e.value)
    assert 'remake' not in str(e.value)
    split = tmp_path / 'corpus' / 'val.jsonl'  # a split prepare.py made: remaking it is the advice
    os.makedirs(split.parent)
    split.write_bytes(noise.read_bytes())
    (split.parent / 'meta.json').write_text('{}')
    with pytest.raises(SystemExit, match='remake the split with prepare.py'):
        list(eval_bpb.file_docs(str(split)))


def test_the_sweeps_prepare_command_for_your_own_text_remakes_nothing(tmp_path):
    """The dry run names `python prepare.py ...` for a corpus of your own text: its settings hold
    the files' sha256s, not paths, so the command is rebuilt from meta.json's paths, and running it
    finds the splits made (it used to fail on a settings key prepare.py does not have)."""
    from uniscale.preflight_check import prepare_command
    paths, *_ = given_files(tmp_path)
    pool = write_jsonl(tmp_path / 'in' / 'pool.jsonl', stories(50, 'pooled story'))
    cfg = own(tmp_path, **paths, files=pool)
    prepare.make_splits(cfg)
    made = {s: open(f"{corpus_dir(cfg)}/{s}.jsonl", 'rb').read() for s in SPLITS}
    command = shlex.split(prepare_command(None, {'out_dir': cfg['out_dir'], 'corpus': 'mine'}))
    assert command[:2] == ['python', 'prepare.py'] and f'--test_files={paths["test_files"]}' in command
    rc, err = run_script(*command[1:])
    assert rc == 0, err
    assert {s: open(f"{corpus_dir(cfg)}/{s}.jsonl", 'rb').read() for s in SPLITS} == made
