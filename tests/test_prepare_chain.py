"""prepare.py's part of the provenance chain (issue 20): your own text (--files=), splits that cannot be made,
splits and shards others were computed from, resuming split making after a stop, and one writer at a time."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import prepare
from helpers import one_line, run_script, stderr_lines
from test_prepare import ByteTokenizer, FW2_TEXTS, config, corpus_dir, encode, listing, read_jsonl, write_fineweb2
from test_prepare import write_parquet
from uniscale import identity, locks
from uniscale.split_making import SPLITS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_prepare(*args):
    """prepare.py as a user runs it -> (exit code, stderr lines without progress bars)."""
    return run_script('prepare.py', *args, timeout=300)


def split_files(cfg):
    """What the splits are: each split's bytes, and meta.json."""
    d = corpus_dir(cfg)
    return {**{s: open(f"{d}/{s}.jsonl", 'rb').read() for s in SPLITS},
            'meta': json.load(open(f"{d}/meta.json"))}


# ---------------------------------------------------------------- your own text
def own_files(root):
    """A jsonl (languages named per line, a blank line), three .txt files (one document each) and a parquet file
    with a lang column: 120 documents."""
    os.makedirs(f"{root}/txt", exist_ok=True)
    with open(f"{root}/a.jsonl", 'w', encoding='utf-8') as f:
        for i in range(60):
            lang = {'lang': 'deu_Latn'} if i % 3 == 0 else {}
            f.write(json.dumps({'text': f"Line document {i}: the quick brown fox jumps over the lazy dog.", **lang})
                    + ('\n\n' if i == 30 else '\n'))
    for i in range(3):
        open(f"{root}/txt/{i}.txt", 'w', encoding='utf-8').write(f"A whole file {i}.\nWith two lines, ünïcode.\n")
    write_parquet(f"{root}/c.parquet", [f"Parquet row {i} in French, presque." for i in range(57)],
                  lang=['fra_Latn'] * 57)
    return f"{root}/a.jsonl,{root}/txt/*.txt,{root}/c.parquet"


def own(tmp_path, **kw):
    return config(tmp_path, **{'corpus': 'mine', 'files': own_files(tmp_path / 'in'), 'lang': 'eng',
                               'tok_bytes': 2_000, 'eval_fraction': 0.1, **kw})


def test_own_files_are_split_like_the_embedded_corpus_with_each_files_sha256(tmp_path, capsys):
    cfg = own(tmp_path)
    meta = prepare.make_splits(cfg)
    docs = {s: read_jsonl(f"{corpus_dir(cfg)}/{s}.jsonl") for s in SPLITS}
    every = [d for s in ('train', 'val', 'test') for d in docs[s]]
    assert len(every) == 120 and all(docs[s] for s in SPLITS)
    assert docs['tok'] == docs['train'][:len(docs['tok'])] and 2_000 <= meta['splits']['tok']['n_bytes'] < 2_100
    langs = {d['text'].split(' ')[0]: set() for d in every}
    for d in every:
        langs[d['text'].split(' ')[0]].add(d['lang'])
    assert langs == {'Line': {'deu_Latn', 'eng'}, 'A': {'eng'}, 'Parquet': {'fra_Latn'}}  # own field, else --lang
    paths = [f"{tmp_path}/in/a.jsonl"] + [f"{tmp_path}/in/txt/{i}.txt" for i in range(3)] + [f"{tmp_path}/in/c.parquet"]
    shas = [identity.file_sha256(p) for p in paths]
    assert meta['settings']['inputs'] == {'files': shas}
    assert meta['settings']['split_rule'] == 'text_sha256'
    assert [(f['path'], f['sha256'], f['n_docs']) for f in meta['files']] == \
        list(zip(paths, shas, [60, 1, 1, 1, 57]))
    assert meta['corpus'] == 'mine' and meta['generated'] is False
    for s in SPLITS:
        assert meta['splits'][s]['sha256'] == identity.file_sha256(f"{corpus_dir(cfg)}/{s}.jsonl")
    other = {**cfg, 'out_dir': str(tmp_path / 'b')}
    prepare.make_splits(other)
    assert split_files(other) == split_files(cfg)  # deterministic
    capsys.readouterr()
    assert prepare.make_splits(cfg) == meta and 'skipping' in capsys.readouterr().out
    with open(f"{tmp_path}/in/txt/1.txt", 'a') as f:  # the same path, other content: noticed
        f.write('One more line.\n')
    edited = prepare.make_splits(cfg)
    assert 'settings changed' in capsys.readouterr().out
    assert edited['settings']['inputs']['files'][2] != meta['settings']['inputs']['files'][2]
    assert any('One more line.' in d['text'] for s in ('train', 'val', 'test')
               for d in read_jsonl(f"{corpus_dir(cfg)}/{s}.jsonl"))


def test_own_text_runs_through_tokenizer_train_and_eval_as_a_built_in_corpus(tmp_path):
    import configurator
    import eval_bpb
    import tokenizer
    import train
    out = str(tmp_path / 'out')
    cfg = own(tmp_path, out_dir=out, tok_bytes=20_000)
    prepare.main(cfg)
    tcfg = {**configurator.defaults(tokenizer), 'corpus': 'mine', 'corpus_dir': f"{out}/corpus",
            'out_dir': f"{out}/tokenizers", 'algorithms': ['bpe'], 'vocab_sizes': [300], 'verbose': False}
    tokenizer.train_all(tcfg)
    tok = f"{out}/tokenizers/bpe-300"
    prepare.main({**cfg, 'tokenizers': [tok]})
    run_dir = train.train({**configurator.defaults(train), 'corpus': 'mine', 'out_dir': out, 'tokenizer': tok,
                           'run_dir': f"{out}/runs/r", 'preset': 'gpt2-tiny', 'block_size': 16, 'batch_size': 2,
                           'model_args': {'n_layer': 1, 'n_head': 2, 'n_embd': 16}, 'max_steps': 2,
                           'warmup_steps': 1, 'eval_interval': 2, 'eval_docs': 2, 'compile': False, 'device': 'cpu'})
    result = eval_bpb.main({**configurator.defaults(eval_bpb), 'run': run_dir, 'corpus_dir': f"{out}/corpus",
                            'device': 'cpu'})
    scored = list(result.values())[0]
    assert scored['corpus'] == 'mine' and scored['bpb'] > 0 and scored['n_docs'] == split_files(cfg)['meta'][
        'splits']['test']['n_docs']


@pytest.mark.parametrize('content, needle', [
    (b'{"text": "fine"}\n\n{"text": "cut\n', 'a.jsonl:3: not JSON'),
    (b'{"text": "fine"}\n{"txt": "no"}\n', 'a.jsonl:2: no "text"'),
    (b'{"text": "fine", "lang": 3}\n', 'a.jsonl:1: "lang" is 3'),
    (b'{"text": "caf\xe9"}\n', 'a.jsonl:1: not UTF-8')])
def test_a_bad_line_of_your_file_is_one_line_naming_file_and_line(tmp_path, content, needle):
    (tmp_path / 'a.jsonl').write_bytes(content)
    rc, err = run_prepare(f'--out_dir={tmp_path}/out', '--corpus=mine', f'--files={tmp_path}/a.jsonl')
    assert 'leave the file out of --files' in one_line(rc, err, needle)
    assert listing(f"{tmp_path}/out/corpus/mine") == []  # nothing half-made


@pytest.mark.parametrize('args, needle', [
    (['--corpus=mine', '--files=/no/such/*.jsonl'], '/no/such/*.jsonl: no such file'),
    (['--corpus=embedded', '--files=x.jsonl'], "corpus='embedded' is a built-in corpus"),
    (['--corpus=../up', '--files=x.jsonl'], "corpus='../up' names a folder"),
    (['--corpus=mine', '--files=README.md'], 'README.md: not .jsonl, .txt, .parquet'),
    (['--corpus=mine', '--files=tests', ], 'tests: a folder'),
    (['--corpus=mine'], "unknown corpus 'mine'"),
    (['--corpus=mine', '--files=README.md', '--lang= '], "lang=' ' must name a language")])
def test_unusable_files_settings_are_refused_before_any_work(tmp_path, args, needle):
    rc, err = run_prepare(f'--out_dir={tmp_path}/out', *args)
    one_line(rc, err, needle)
    assert not os.path.exists(f"{tmp_path}/out")


def test_a_txt_file_that_is_not_utf8_names_its_line(tmp_path):
    (tmp_path / 'a.txt').write_bytes(b'first line\nsecond \xff line\n')
    with pytest.raises(SystemExit, match=r'a\.txt:2: not UTF-8 \(byte 18\)'):
        prepare.make_splits(config(tmp_path, corpus='mine', files=str(tmp_path / 'a.txt')))


# ---------------------------------------------------------------- splits that cannot be made
@pytest.mark.parametrize('args, needle', [
    (['--eval_fraction=0'], 'eval_fraction=0.0 would leave val and test empty'),
    (['--tok_bytes=0'], 'tok_bytes=0 must be > 0'),
    (['--corpus=tinystories', '--val_fraction=0'], 'val_fraction=0.0 would leave val empty'),
    (['--corpus=fineweb2', '--eval_docs_per_lang=0'], 'eval_docs_per_lang=0 must be >= 1'),
    (['--corpus=fineweb2', '--train_bytes=0'], 'train_bytes=0 must be > 0'),
    (['--corpus=mine', '--train_files=README.md', '--test_files=README.md'],
     "val_files='' and no --files= to draw val from"),  # before README.md is even read
    (['--corpus=mine', '--files=README.md', '--val_files=README.md', '--test_files=README.md',
      '--eval_fraction=0'], 'README.md: not .jsonl')])  # given val and test need no eval_fraction
def test_settings_that_leave_a_split_empty_are_refused_before_any_work(tmp_path, args, needle):
    rc, err = run_prepare(f'--out_dir={tmp_path}/out', *args)
    one_line(rc, err, needle)
    assert not os.path.exists(f"{tmp_path}/out")


def test_a_split_that_comes_out_empty_is_refused_and_the_previous_splits_stay(tmp_path):
    cfg = config(tmp_path, embedded_bytes=60_000)
    prepare.make_splits(cfg)
    before = split_files(cfg)
    with pytest.raises(SystemExit) as e:  # 50 documents at 2%: none goes to val
        prepare.make_splits({**cfg, 'eval_fraction': 0.02})
    assert 'the val split would be empty (51 documents in all); raise embedded_bytes or eval_fraction' in str(e.value)
    assert split_files(cfg) == before
    assert listing(corpus_dir(cfg)) == sorted(['meta.json'] + [f"{s}.jsonl" for s in SPLITS])


def fineweb2(tmp_path, **kw):
    """FineWeb-2 from local parquet in {tmp_path}/fw, out_dir {tmp_path}/out (or kw's)."""
    if not os.path.isdir(tmp_path / 'fw'):
        write_fineweb2(tmp_path / 'fw', FW2_TEXTS, 'flat')  # rus_Cyrl has 50 documents
    return config(tmp_path, **{'corpus': 'fineweb2', 'langs': list(FW2_TEXTS), 'fineweb2_files': str(tmp_path / 'fw'),
                               'train_bytes': 6_000, 'tok_bytes': 2_000, 'shuffle_buffer': 20, **kw})


def test_fineweb2_language_whose_documents_all_go_to_eval_is_refused_before_any_work(tmp_path):
    cfg = fineweb2(tmp_path, eval_docs_per_lang=25)
    with pytest.raises(SystemExit) as e:
        prepare.make_splits(cfg)
    assert str(e.value).startswith(f"{tmp_path}/fw: rus_Cyrl has 50 documents and val and test take "
                                   f"eval_docs_per_lang=25 each, leaving none to train on; lower eval_docs_per_lang "
                                   f"to at most 24, or drop rus_Cyrl from langs")
    assert not os.path.exists(corpus_dir(cfg))
    meta = prepare.make_splits({**cfg, 'eval_docs_per_lang': 24})  # what must still pass: two documents to train
    assert meta['splits']['train']['per_lang']['rus_Cyrl'] > 0 and meta['splits']['val']['n_docs'] == 72


# ---------------------------------------------------------------- splits others were computed from
def derive(cfg, what):
    """Something computed from the splits: a shard folder, a tokenizer or a run that names the corpus."""
    if what == 'shards':
        return encode(cfg, ByteTokenizer()) + '/train.json'
    folder = {'tokenizer': 'tokenizers/bpe-9', 'run': 'runs/r1'}[what]
    path = f"{cfg['out_dir']}/{folder}/{'meta' if what == 'tokenizer' else 'config'}.json"
    os.makedirs(os.path.dirname(path))
    json.dump({'corpus': cfg['corpus'], 'name': 'x'}, open(path, 'w'))
    return os.path.dirname(path)


@pytest.mark.parametrize('what', ['shards', 'tokenizer', 'run'])
def test_splits_something_was_computed_from_are_not_remade_in_place(tmp_path, what, capsys):
    cfg = config(tmp_path, embedded_bytes=100_000)
    prepare.make_splits(cfg)
    made = derive(cfg, what)
    before = split_files(cfg)
    assert prepare.make_splits(cfg) == before['meta']  # the same settings: skipped, as always
    with pytest.raises(SystemExit) as e:
        prepare.make_splits({**cfg, 'eval_fraction': 0.2})
    msg = str(e.value)
    assert msg.startswith(f"{corpus_dir(cfg)}: made with other settings (eval_fraction: 0.1 -> 0.2), and {made} were "
                          f"computed from these splits") and '--overwrite=True' in msg and '\n' not in msg
    assert split_files(cfg) == before
    meta = prepare.make_splits({**cfg, 'eval_fraction': 0.2, 'overwrite': True})
    assert meta['settings']['eval_fraction'] == 0.2 and 'will refuse to be used' in capsys.readouterr().out


def test_your_edited_file_with_something_computed_from_it_is_refused_naming_the_file(tmp_path):
    cfg = own(tmp_path)
    prepare.make_splits(cfg)
    derive(cfg, 'run')
    with open(f"{tmp_path}/in/txt/0.txt", 'a') as f:
        f.write('edited')
    with pytest.raises(SystemExit, match=r"made with other settings \([^;]*/in/txt/0\.txt: "
                                         r"'[0-9a-f]{12}' -> '[0-9a-f]{12}'\).*another --corpus= "
                                         r"name or another --out_dir="):
        prepare.make_splits(cfg)


def test_another_tokenizer_of_the_same_name_is_refused_by_prepare_before_any_work(tmp_path):
    from tokenizer import train_bpe
    out = tmp_path / 'out'
    rc, err = run_prepare(f'--out_dir={out}', '--embedded_bytes=60000', '--eval_fraction=0.1', '--tok_bytes=20000')
    assert rc == 0, err
    texts = [d['text'] for d in read_jsonl(f"{out}/corpus/embedded/tok.jsonl")]
    first, second = str(tmp_path / 'a' / 'bpe-300'), str(tmp_path / 'b' / 'bpe-300')
    train_bpe(texts, 300, first, name='bpe-300')
    train_bpe(texts[:-5], 300, second, name='bpe-300')  # the same name, another tokenizer
    common = [f'--out_dir={out}', '--embedded_bytes=60000', '--eval_fraction=0.1', '--tok_bytes=20000',
              '--num_workers=1']
    assert run_prepare(*common, f'--tokenizers={first}')[0] == 0
    sidecar = f"{out}/tokens/embedded/bpe-300/train.json"
    before = open(sidecar).read()
    rc, err = run_prepare(*common, '--eval_fraction=0.2', f'--tokenizers={second}')  # also other settings: refused
    one_line(rc, err, f"{sidecar}: holds the shards of another tokenizer named bpe-300", '--overwrite=True')
    assert open(sidecar).read() == before
    rc, err = run_prepare(*common, f'--tokenizers={second}', '--overwrite=True')
    assert rc == 0, err
    assert json.load(open(sidecar))['tokenizer_hash'] != json.loads(before)['tokenizer_hash']


# ---------------------------------------------------------------- a stop while making splits, and the resume
def stopping(monkeypatch, after, how):
    """Make the generated corpus's stream stop the run after `after` documents: a real SIGTERM to this process, or a
    KeyboardInterrupt raised from inside the stream (as a second Ctrl-C would)."""
    from data.embedded import generate
    real = generate.generate_documents

    def docs(*a, **k):
        for i, doc in enumerate(real(*a, **k)):
            if i == after:
                if how == 'SIGTERM':
                    os.kill(os.getpid(), signal.SIGTERM)
                else:
                    raise KeyboardInterrupt
            yield doc
    monkeypatch.setattr(generate, 'generate_documents', docs)
    return lambda: monkeypatch.setattr(generate, 'generate_documents', real)


@pytest.mark.parametrize('how', ['SIGTERM', 'KeyboardInterrupt'])
def test_a_stop_while_making_splits_resumes_to_the_bytes_of_one_run(tmp_path, monkeypatch, how, capsys):
    whole = config(tmp_path / 'whole', embedded_bytes=200_000)
    prepare.make_splits(whole)
    cfg = config(tmp_path / 'cut', embedded_bytes=200_000, checkpoint_bytes=30_000)
    restore = stopping(monkeypatch, 120, how)
    handler = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit if how == 'SIGTERM' else KeyboardInterrupt) as e:
        prepare.make_splits(cfg)
    assert signal.getsignal(signal.SIGTERM) is handler  # the previous handler is back
    if how == 'SIGTERM':
        assert str(e.value) == f"{corpus_dir(cfg)}: stopped by SIGTERM; what was written is kept (progress.json), " \
                               f"run the same command again to resume"
    left = listing(corpus_dir(cfg))
    assert left == sorted(['progress.json'] + [f"{s}.jsonl.partial" for s in SPLITS])  # no .jsonl.tmp
    record = json.load(open(f"{corpus_dir(cfg)}/progress.json"))
    done = record['state']['docs']
    assert (done == 120) if how == 'SIGTERM' else (0 < done < 120)  # at the stop, or the last record before it
    restore()
    capsys.readouterr()
    prepare.make_splits(cfg)
    assert 'resuming the splits' in capsys.readouterr().out
    assert split_files(cfg) == split_files(whole)
    assert listing(corpus_dir(cfg)) == sorted(['meta.json'] + [f"{s}.jsonl" for s in SPLITS])


def test_a_stopped_run_with_other_settings_starts_over(tmp_path, monkeypatch, capsys):
    cfg = config(tmp_path, embedded_bytes=200_000)
    restore = stopping(monkeypatch, 50, 'SIGTERM')
    with pytest.raises(SystemExit, match='stopped by SIGTERM'):
        prepare.make_splits(cfg)
    restore()
    other = {**cfg, 'seed': 7}
    prepare.make_splits(other)
    assert 'made with other settings, or its files are gone; making the splits from the start' in \
        capsys.readouterr().out
    ref = config(tmp_path / 'ref', embedded_bytes=200_000, seed=7)
    prepare.make_splits(ref)
    assert split_files(other) == split_files(ref)


def cut_and_resume(monkeypatch, whole, tmp_path, name, patched, state_check):
    """Make `whole`'s splits again in another out_dir with split_making.{name} replaced by `patched` (which sends a
    SIGTERM part way), check the saved progress with state_check(state), resume with the real reader, and return
    the resumed config (its splits are compared with `whole`'s by the caller)."""
    from uniscale import split_making
    real = getattr(split_making, name)
    monkeypatch.setattr(split_making, name, patched(real))
    cfg = {**whole, 'out_dir': str(tmp_path / 'cut')}
    with pytest.raises(SystemExit, match='stopped by SIGTERM'):
        prepare.make_splits(cfg)
    state_check(json.load(open(f"{corpus_dir(cfg)}/progress.json"))['state'])
    monkeypatch.setattr(split_making, name, real)
    prepare.make_splits(cfg)
    return cfg


def test_fineweb2_stopped_in_the_middle_of_a_language_resumes_to_the_bytes_of_one_run(tmp_path, monkeypatch):
    whole = fineweb2(tmp_path, eval_docs_per_lang=5, train_bytes=12_000)  # rus_Cyrl runs out
    prepare.make_splits(whole)
    calls = []

    def patched(real):
        def stream(*a, **k):  # a SIGTERM while the second language (rus_Cyrl, which runs out) is half read
            calls.append(a)
            for i, text in enumerate(real(*a, **k)):
                if len(calls) == 2 and i == 20:
                    os.kill(os.getpid(), signal.SIGTERM)
                yield text
        return stream

    def state_check(state):
        assert state['queue'][0] == 'rus_Cyrl' and state['langs']['rus_Cyrl']['read'] == 21  # the 21st was taken
    cfg = cut_and_resume(monkeypatch, whole, tmp_path, 'stream_texts', patched, state_check)
    assert split_files(cfg)['meta']['ran_out'] == ['rus_Cyrl']
    assert split_files(cfg) == split_files(whole)


def test_your_files_stopped_and_resumed_give_the_bytes_of_one_run(tmp_path, monkeypatch):
    whole = own(tmp_path / 'whole')
    prepare.make_splits(whole)

    def patched(real):
        def docs(*a, **k):
            for i, doc in enumerate(real(*a, **k)):
                if i == 70:
                    os.kill(os.getpid(), signal.SIGTERM)
                yield doc
        return docs
    cfg = cut_and_resume(monkeypatch, whole, tmp_path, 'local_documents', patched, lambda state: None)
    assert split_files(cfg) == split_files(whole)


@pytest.mark.parametrize('split, at', [('validation', 20), ('train', 300)])
def test_tinystories_stopped_in_either_stream_resumes_to_the_bytes_of_one_run(tmp_path, monkeypatch, split, at):
    root = tmp_path / 'TinyStories'
    write_parquet(f"{root}/data/train-00000-of-00001.parquet", [f"Once there was a cat {i}." for i in range(600)])
    write_parquet(f"{root}/data/validation-00000-of-00001.parquet", [f"The dog {i} ran." for i in range(40)])
    whole = config(tmp_path, corpus='tinystories', tinystories_files=str(root), tok_bytes=3_000, val_fraction=0.05)
    prepare.make_splits(whole)

    def patched(real):
        def stream(*a, **k):
            for i, text in enumerate(real(*a, **k)):
                if k.get('split') == split and i == at:
                    os.kill(os.getpid(), signal.SIGTERM)
                yield text
        return stream

    def state_check(state):
        assert (state['phase'], state['docs']) == ('test' if split == 'validation' else 'train', at)
    cfg = cut_and_resume(monkeypatch, whole, tmp_path, 'stream_texts', patched, state_check)
    assert split_files(cfg) == split_files(whole)


def test_a_real_sigterm_to_prepare_keeps_its_progress_and_the_rerun_finishes_the_same_splits(tmp_path):
    out = tmp_path / 'out'
    args = [f'--out_dir={out}', '--embedded_bytes=3000000', '--checkpoint_bytes=200000']
    env = {**os.environ, 'HF_HUB_OFFLINE': '1'}
    p = subprocess.Popen([sys.executable, 'prepare.py', *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    record, t0 = f"{out}/corpus/embedded/progress.json", time.time()
    while not os.path.exists(record) and p.poll() is None and time.time() - t0 < 120:
        time.sleep(0.05)  # the first record is written: the handler is in
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    err = stderr_lines(err)
    one_line(p.returncode, err, 'stopped by SIGTERM', 'run the same command again to resume')
    assert not [n for n in os.listdir(f"{out}/corpus/embedded") if '.tmp' in n]
    again = subprocess.run([sys.executable, 'prepare.py', *args], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0 and 'resuming the splits where a stopped run left them' in again.stdout, again.stderr
    meta = json.load(open(f"{out}/corpus/embedded/meta.json"))
    ref = config(tmp_path / 'ref', embedded_bytes=3_000_000, eval_fraction=0.02, tok_bytes=1_500_000)
    assert prepare.make_splits(ref)['splits'] == meta['splits']


# ---------------------------------------------------------------- one writer at a time
def test_a_second_prepare_on_a_held_corpus_or_shard_folder_refuses_naming_the_holder(tmp_path):
    import socket
    from tokenizer import train_bpe
    out = tmp_path / 'out'
    common = [f'--out_dir={out}', '--embedded_bytes=60000', '--eval_fraction=0.1', '--tok_bytes=20000']
    with locks.hold(f"{out}/corpus/embedded", 'corpus'):
        rc, err = run_prepare(*common)
    one_line(rc, err, f"{out}/corpus/embedded: this corpus is being written by pid {os.getpid()} on host "
                      f"{socket.gethostname()}")
    assert listing(f"{out}/corpus/embedded") == []
    assert run_prepare(*common)[0] == 0  # what must still pass: once the lock is released
    tok = str(tmp_path / 'bpe-300')
    train_bpe([d['text'] for d in read_jsonl(f"{out}/corpus/embedded/tok.jsonl")], 300, tok, name='bpe-300')
    with locks.hold(f"{out}/tokens/embedded/bpe-300", 'shard folder'):
        rc, err = run_prepare(*common, f'--tokenizers={tok}', '--num_workers=1')
    one_line(rc, err, f"{out}/tokens/embedded/bpe-300: this shard folder is being written by pid {os.getpid()}")
    assert listing(f"{out}/tokens/embedded/bpe-300") == []
    assert run_prepare(*common, f'--tokenizers={tok}', '--num_workers=1')[0] == 0
