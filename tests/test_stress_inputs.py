"""Damaged or impossible input, as researchers meet it by accident (issue 20, item 6), for the tokenizer scripts, the
exports and sampling: one line naming the file or setting and the fix, a non-zero exit, no traceback, nothing left
behind; and beside each refusal the case that must still pass."""
import errno
import glob
import json
import os
import shutil

import pytest

import btm
import configurator
import export_hf
import tokenizer as T
from data.embedded import generate
from helpers import one_line, run_script
from uniscale import hardware, report_format, tokenization, tokenizer_metrics, vocab_compare

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
def refusal(fn, *args, **kw):
    """The one-line SystemExit message of fn(*args)."""
    with pytest.raises(SystemExit) as e:
        fn(*args, **kw)
    msg = str(e.value)
    assert '\n' not in msg and 'Traceback' not in msg, msg
    return msg


def temps(root):
    return [p for p in glob.glob(os.path.join(str(root), '**', '*'), recursive=True) if p.endswith('.tmp')]


DOCS = [d['text'] for d in generate.generate_documents(60_000, seed=3)]


@pytest.fixture(scope='module')
def btm_dir(tmp_path_factory):
    return btm.train(DOCS, str(tmp_path_factory.mktemp('btm') / 'btm-300-400'), n_base=300, vocab_size=400).path


# ---------------------------------------------------------------- a damaged tokenizer meta.json
def edit_meta(folder, edit):
    path = os.path.join(folder, 'meta.json')
    if callable(edit):
        meta = json.load(open(path))
        edit(meta)
        edit = json.dumps(meta)
    with open(path, 'w') as f:
        f.write(edit)


BAD_META = {
    'invalid JSON': ('{"kind": "bpe", "name": ', 'corrupt tokenizer meta.json'),
    'a list': ('[1, 2]', 'holds a JSON list'),
    'no kind': (lambda m: m.pop('kind'), "'kind' must be a str (missing)"),
    'no files': (lambda m: m.pop('files'), "'files' must be a list (missing)"),
    'no hash': (lambda m: m.pop('hash'), "'hash' must be a str (missing)"),
    'no vocab_size': (lambda m: m.pop('vocab_size'), "'vocab_size' must be an int (missing)"),
    'vocab_size a string': (lambda m: m.update(vocab_size='400'), "'vocab_size' must be an int (str '400')"),
    'vocab_size a bool': (lambda m: m.update(vocab_size=True), "'vocab_size' must be an int (bool 'True')"),
    'files a string': (lambda m: m.update(files='tokenizer.json'), "'files' must be a list (str"),
    'kind a number': (lambda m: m.update(kind=5), "'kind' must be a str (int '5')"),
    'unknown kind': (lambda m: m.update(kind='wordpiece'), "unknown kind 'wordpiece'"),
    'files outside': (lambda m: m.update(files=['../meta.json']), "'files' must name the tokenizer's files"),
    'a listed file gone': (lambda m: m.update(files=['tokenizer.json', 'gone.json']), 'gone.json: listed in meta'),
    'another vocab_size': (lambda m: m.update(vocab_size=500), 'says vocab_size 500 but tokenizer.json holds 400'),
    'bos outside': (lambda m: m.update(bos_id=999), 'bos_id 999 / eos_id 1 outside vocab_size 400'),
}


@pytest.mark.parametrize('case', list(BAD_META))
def test_a_damaged_tokenizer_meta_json_is_one_line_naming_the_file_and_the_fix(tok_dir, tmp_path, case):
    folder = shutil.copytree(tok_dir, tmp_path / 'bpe-400')
    edit, expect = BAD_META[case]
    edit_meta(folder, edit)
    msg = refusal(tokenization.load_tokenizer, str(folder))
    assert msg.startswith(str(folder)) and expect in msg, msg
    assert 'retrain' in msg or 'expected bpe, unigram or btm' in msg


@pytest.mark.parametrize('edit,expect', [(lambda m: m.pop('n_base'), "'n_base' must be an int (missing)"),
                                         (lambda m: m.update(vocab_size=401), 'says n_base 300 and vocab_size 401'),
                                         (lambda m: m.update(primitive=7), "'primitive' must be a str")])
def test_a_damaged_btm_meta_json_is_one_line_too(btm_dir, tmp_path, edit, expect):
    folder = shutil.copytree(btm_dir, tmp_path / 'btm')
    edit_meta(folder, edit)
    msg = refusal(tokenization.load_tokenizer, str(folder))
    assert msg.startswith(str(folder)) and expect in msg and 'btm.py' in msg, msg
    os.remove(os.path.join(folder, 'merges.json'))
    shutil.copy(os.path.join(btm_dir, 'meta.json'), folder)
    assert 'merges.json: cannot be read' in refusal(tokenization.load_tokenizer, str(folder))
    assert tokenization.load_tokenizer(btm_dir).vocab_size == 400  # the untouched one still loads


def test_a_script_loading_a_damaged_tokenizer_stops_in_one_line(tok_dir, tmp_path):
    folder = shutil.copytree(tok_dir, tmp_path / 'bpe-400')
    edit_meta(folder, lambda m: m.pop('hash'))
    rc, err = run_script('tokenizer.py', 'eval', '--algorithms=[]', '--vocab_sizes=[]', f"--eval_tokenizers=[{folder}]",
                  f"--eval_dir={tmp_path / 'eval'}")
    one_line(rc, err, f"{folder}/meta.json: 'hash' must be a str (missing)", 'retrain it')


# ---------------------------------------------------------------- a device the machine does not have
@pytest.mark.parametrize('device,expect', [('cuda', "device='cuda' but"), ('cuda:0', "device='cuda:0' but"),
                                           ('mps', "device='mps' but Apple's MPS is not available"),
                                           ('gpu', "device='gpu' is not a device torch knows"),
                                           ('meta', 'uniscale runs on cpu, cuda and mps')])
def test_a_device_this_machine_lacks_is_one_line_before_anything_is_loaded(device, expect):
    import torch
    if device.startswith('cuda') and torch.cuda.is_available() or device == 'mps' and torch.backends.mps.is_available():
        pytest.skip(f"{device} is available here")
    msg = refusal(hardware.resolve, device)
    assert msg.startswith('config error: ') and expect in msg and '--device=cpu' in msg
    assert hardware.resolve('cpu') == ('cpu', 'float32') and hardware.resolve('', 'float32')[1] == 'float32'
    assert "dtype='fp16'" in refusal(hardware.resolve, 'cpu', 'fp16')


def test_sample_py_refuses_a_missing_device_before_it_reads_any_run(tmp_path):
    import torch
    if torch.cuda.is_available():
        pytest.skip('CUDA is available here')
    rc, err = run_script('sample.py', f"--run={tmp_path / 'no_such_run'}", '--device=cuda')
    one_line(rc, err, "config error: device='cuda' but", '--device=cpu')


# ---------------------------------------------------------------- a full or read-only disk
def test_btm_on_a_full_disk_is_one_line_and_leaves_no_temp(tmp_path, monkeypatch):
    real = os.replace

    def full(src, dst):
        if str(dst).endswith('merges.json'):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(src, dst)
    monkeypatch.setattr(os, 'replace', full)
    out = tmp_path / 'tok' / 'btm-300-400'
    msg = refusal(btm.train, DOCS, str(out), n_base=300, vocab_size=400)
    assert 'merges.json: cannot write (No space left on device); the disk is full' in msg
    assert not temps(tmp_path) and os.listdir(tmp_path / 'tok') == []


def test_btm_and_its_report_under_a_file_are_one_line(tmp_path, btm_dir, tok_dir):
    (tmp_path / 'file').write_text('')
    msg = refusal(btm.train, DOCS, str(tmp_path / 'file' / 'btm'), n_base=300, vocab_size=400)
    assert 'cannot write (Not a directory); a parent of it is a file' in msg
    tok = tokenization.load_tokenizer(btm_dir)
    rep = vocab_compare.vocab_report([tok, tokenization.load_tokenizer(tok_dir)],
                                     [(d, 'eng') for d in DOCS[:3]])
    msg = refusal(vocab_compare.write_vocab_report, rep, str(tmp_path / 'file' / 'analysis'))
    assert msg.startswith(str(tmp_path / 'file' / 'analysis')) and 'Not a directory' in msg
    assert not temps(tmp_path)


@pytest.mark.skipif(hasattr(os, 'geteuid') and os.geteuid() == 0, reason='root writes into read-only folders')
def test_btm_into_a_read_only_folder_is_one_line(tmp_path):
    ro = tmp_path / 'ro'
    ro.mkdir()
    ro.chmod(0o500)
    try:
        msg = refusal(btm.train, DOCS, str(ro / 'btm'), n_base=300, vocab_size=400)
        assert 'Permission denied' in msg and 'no permission to write there' in msg
    finally:
        ro.chmod(0o700)
    assert os.listdir(ro) == []


def test_a_plot_on_a_full_or_missing_disk_is_one_line_and_leaves_no_temp(tmp_path, monkeypatch):
    plt = report_format.pyplot()
    (tmp_path / 'file').write_text('')
    msg = refusal(report_format.save_figure, plt.subplots()[0], str(tmp_path / 'file' / 'x.png'))
    assert msg.startswith(str(tmp_path / 'file' / 'x.png')) and 'a parent of it is a file' in msg

    def full(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, 'replace', full)
    msg = refusal(report_format.save_figure, plt.subplots()[0], str(tmp_path / 'x.png'))
    assert 'No space left on device' in msg and os.listdir(tmp_path) == ['file']
    monkeypatch.undo()
    assert report_format.save_figure(plt.subplots()[0], str(tmp_path / 'x.png')) == 'x.png'


def test_an_export_on_a_full_disk_is_one_line_and_leaves_no_temp(tok_dir, tmp_path):
    """RLIMIT_FSIZE makes every write past 50 kB fail as a full disk would (EFBIG); the weights are written by
    safetensors' Rust code, which reports it in its own exception type."""
    code = ("import resource, signal, sys; sys.path.insert(0, 'tests'); signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "import export_hf, test_export_hf as t\nresource.setrlimit(resource.RLIMIT_FSIZE, (50_000, 50_000))\n"
            f"export_hf.export(t.tiny_ckpt(400), {str(tmp_path / 'hf')!r}, {tok_dir!r})")
    rc, err = run_script('-c', code)
    one_line(rc, err, f"{tmp_path / 'hf'}: cannot write (File too large)")
    assert os.listdir(tmp_path) == []
    (tmp_path / 'file').write_text('')
    from test_export_hf import tiny_ckpt
    msg = refusal(export_hf.export, tiny_ckpt(400), str(tmp_path / 'file' / 'hf'), tok_dir)
    assert 'cannot write (Not a directory)' in msg and os.listdir(tmp_path) == ['file']


# ---------------------------------------------------------------- an empty tok split
@pytest.mark.parametrize('content', ['', '{"text": "", "lang": "eng"}\n\n{"text": "", "lang": "deu"}\n'])
def test_an_empty_tok_split_is_one_line_naming_the_split_not_sentencepiece(tmp_path, content):
    split = tmp_path / 'corpus' / 'toy' / 'tok.jsonl'
    split.parent.mkdir(parents=True)
    split.write_text(content)
    for algo in ('unigram', 'bpe'):
        rc, err = run_script('tokenizer.py', '--corpus=toy', f"--corpus_dir={tmp_path / 'corpus'}",
                      f"--out_dir={tmp_path / 'tok'}", f'--algorithms=[{algo}]', '--vocab_sizes=[400]')
        msg = one_line(rc, err, f"{split}: no text to train on (the tok split is empty); remake it with prepare.py")
        assert 'SentencePiece' not in msg and 'trainer_interface' not in msg
    assert not os.path.exists(tmp_path / 'tok')
    msg = refusal(T.train_unigram, [], 400, str(tmp_path / 'u'))
    assert 'no text to train on' in msg and 'sentences_' not in msg
    if content:
        rc, err = run_script('btm.py', '--corpus=toy', f"--corpus_dir={tmp_path / 'corpus'}", f"--out_dir={tmp_path / 'tok'}",
                      '--n_base=300', '--vocab_size=400', '--num_proc=1')
        one_line(rc, err, f"{split}: no text to train on (its 2 documents are empty)")
        assert not os.path.exists(tmp_path / 'tok')


# ---------------------------------------------------------------- a glob is a name, not a broken list
def test_a_glob_with_brackets_is_a_plain_string_and_broken_lists_are_still_refused(tmp_path):
    ns = {'runs': [], 'run': '', 'betas': (0.9, 0.95)}
    configurator.configure(ns, ["--runs=out/runs/*_s[12]"])
    assert ns['runs'] == ['out/runs/*_s[12]']
    configurator.configure(ns, ["--runs=a,b_s[12]", "--run=x_s[1]"])
    assert ns['runs'] == ['a', 'b_s[12]'] and ns['run'] == 'x_s[1]'
    configurator.configure(ns, ["--runs=[out/a_s[12],b]"])
    assert ns['runs'] == ['out/a_s[12]', 'b']
    for bad in ['--runs=[a,b', '--runs=a,b]', '--runs=[[a],[b]]', '--runs=a_s[1', '--betas=(0.9,']:
        assert 'unbalanced' in refusal(configurator.configure, dict(ns), [bad])
    for name in ('r_s1', 'r_s3'):  # through a script: the glob picks s1 only, so sample.py reads the prompts next
        os.makedirs(tmp_path / name)
        (tmp_path / name / 'ckpt.pt').write_text('')
    rc, err = run_script('sample.py', f"--runs={tmp_path}/*_s[12]", f"--prompts={tmp_path / 'none.txt'}")
    one_line(rc, err, 'none.txt: prompt file not found')
    rc, err = run_script('sample.py', f"--runs={tmp_path}/*_s[24]", f"--prompts={tmp_path / 'none.txt'}")
    one_line(rc, err, 'sample.py: no runs')


# ---------------------------------------------------------------- the analysis names its baseline's kind
def test_btm_analyze_names_the_kind_of_the_baseline_it_was_given(tmp_path, capsys):
    from test_btm import stories  # English: a 400-id unigram holds its characters
    corpus, texts = tmp_path / 'corpus' / 'toy', stories(300, 0)
    corpus.mkdir(parents=True)
    for split, part in (('tok', texts), ('val', texts[:20])):
        (corpus / f'{split}.jsonl').write_text(''.join(json.dumps({'text': d, 'lang': 'eng'}) + '\n' for d in part))
    cfg = {**configurator.defaults(btm), 'corpus': 'toy', 'corpus_dir': str(tmp_path / 'corpus'), 'n_base': 300,
           'vocab_size': 400, 'out_dir': str(tmp_path / 'tok'), 'analysis_dir': str(tmp_path / 'an'), 'num_proc': 1,
           'progress': False, 'analyze_max_docs': 10}
    btm.train_command(cfg)
    T.train_unigram(texts, 400, str(tmp_path / 'tok' / 'unigram-400'))
    btm.analyze(dict(cfg, baseline='unigram-400'))  # a bare name under out_dir
    out = capsys.readouterr().out
    assert 'unigram unigram-400' in out and 'bpe' not in out and 'training the baseline' not in out
    rep = json.load(open(tmp_path / 'an' / 'btm-300-400' / 'btm_vocab.json'))
    assert [(s['name'], s['kind']) for s in rep['tokenizers']] == [('btm-300-400', 'btm'),
                                                                    ('unigram-400', 'unigram')]
    md = open(tmp_path / 'an' / 'btm-300-400' / 'btm_vocab.md').read()
    assert '| unigram-400 (unigram) |' in md and rep['bpe_reference'] is None and '(bpe)' not in md
    msg = refusal(btm.analyze, dict(cfg, baseline='bpe-9k'))  # asked for and missing: never trained in its place
    assert 'bpe-9k: no such tokenizer folder' in msg and not os.path.exists(tmp_path / 'tok' / 'bpe-9k')
    btm.analyze(cfg)  # the default baseline, the BPE of the BTM's size, is trained when missing
    assert 'bpe bpe-400' in capsys.readouterr().out


# ---------------------------------------------------------------- two tokenizers of one name in one evaluation
def test_two_tokenizers_of_one_name_in_one_eval_are_refused_and_one_listed_twice_is_kept_once(tmp_path, tok_dir):
    other = T.train_bpe(DOCS[: len(DOCS) // 2], 400, str(tmp_path / 'elsewhere' / 'bpe-400'), name='bpe-400')
    mine = tokenization.load_tokenizer(tok_dir)
    assert mine.name == other.name == 'bpe-400' and mine.hash != other.hash
    (tmp_path / 'corpus' / 'toy').mkdir(parents=True)
    (tmp_path / 'corpus' / 'toy' / 'val.jsonl').write_text(json.dumps({'text': DOCS[0], 'lang': 'eng'}) + '\n')
    cfg = {**configurator.defaults(T), 'corpus': 'toy', 'corpus_dir': str(tmp_path / 'corpus'), 'algorithms': [],
           'vocab_sizes': [], 'eval_dir': str(tmp_path / 'eval'), 'premium_n_stories': 2,
           'eval_tokenizers': [tok_dir, other.path]}
    msg = refusal(tokenizer_metrics.eval_all, cfg)
    assert "two tokenizers are named 'bpe-400'" in msg and tok_dir in msg and other.path in msg
    assert not os.path.exists(tmp_path / 'eval')
    tokenizer_metrics.eval_all(dict(cfg, eval_tokenizers=[tok_dir, tok_dir]))
    (m_path,) = (tmp_path / 'eval' / 'bpe-400').glob('toy_val_*/metrics.json')  # one per eval text
    m = json.load(open(m_path))
    assert m['hash'] == mine.hash and m['path'] == tok_dir and len(m['split_sha256']) == 64


# ---------------------------------------------------------------- exports state their limits
@pytest.mark.parametrize('arch', ['gpt2', 'apertus'])
def test_an_export_says_its_context_where_transformers_reads_it(tok_dir, tmp_path, arch):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from test_export_hf import tiny_ckpt
    out = export_hf.export(tiny_ckpt(400, arch), str(tmp_path / 'hf'), tok_dir)
    model, tok = AutoModelForCausalLM.from_pretrained(out), AutoTokenizer.from_pretrained(out)
    assert model.generation_config.max_length == 32 and tok.model_max_length == 32
    assert getattr(model.config, 'n_positions', model.config.max_position_embeddings) == 32
    ids = torch.tensor([[0] + tok.encode('Once upon a time')])
    assert model.generate(ids, do_sample=False).shape[1] <= 32  # without max_new_tokens: stops at the context
    readme = open(os.path.join(out, 'README.md')).read()
    assert 'contexts of 32 tokens' in readme and 'bpe-400 (bpe' in readme
    if arch == 'apertus':  # RoPE: runs past its context (untrained there), no error
        assert model.generate(ids, max_new_tokens=200, do_sample=False).shape[1] == ids.shape[1] + 200
    else:
        assert 'max_new_tokens <= 32' in readme and 'IndexError' in readme


def test_a_btm_export_loaded_without_trust_remote_code_says_to_pass_it(btm_dir, tmp_path):
    from transformers import AutoTokenizer

    from test_export_hf import tiny_ckpt
    out = export_hf.export(tiny_ckpt(400), str(tmp_path / 'hf'), btm_dir)
    with pytest.raises(Exception) as e:
        AutoTokenizer.from_pretrained(out)
    assert 'trust_remote_code=True' in str(e.value) and 'sentencepiece or tiktoken' not in str(e.value)
    ours = tokenization.load_tokenizer(btm_dir)
    hf = AutoTokenizer.from_pretrained(out, trust_remote_code=True)
    assert hf.encode(DOCS[1][:300]) == ours.encode(DOCS[1][:300])
    assert 'trust_remote_code=True' in open(os.path.join(out, 'README.md')).read()
    export_hf.forget_remote_code(out)


# ---------------------------------------------------------------- sampling settings torch would take or reject late
@pytest.mark.parametrize('arg,expect', [('--top_k=-1', 'top_k=-1 must be >= 0'),
                                        ('--temperature=-0.5', 'temperature=-0.5 must be >= 0'),
                                        ('--temperature=1e999', 'temperature=inf must be >= 0'),
                                        ('--max_new_tokens=0', 'max_new_tokens=0 must be > 0')])
def test_sample_py_refuses_settings_out_of_range_in_one_line(tmp_path, arg, expect):
    rc, err = run_script('sample.py', f"--run={tmp_path / 'no_such_run'}", arg)
    one_line(rc, err, f"config error: {expect}")


# ------------------------------------------------ a held lock deleted by hand (issue 27 row 12)
def test_check_held_stops_a_long_writer_whose_lock_file_was_deleted_or_replaced(tmp_path):
    """prepare.py (at each shard and progress record) and the sweep (at each job) call
    locks.check_held: every lock the process holds is checked by its file's device and inode."""
    from uniscale import locks
    folder = tmp_path / 'corpus'
    with locks.hold(str(folder), 'corpus'):
        locks.check_held()  # untouched: nothing to say
        os.remove(folder / '.lock')
        msg = refusal(locks.check_held)
        assert msg.startswith(f"{folder / '.lock'}: the lock of this corpus was deleted or replaced")
        assert 'never delete a held .lock file by hand' in msg
        (folder / '.lock').write_text('')  # made again by another process: another file
        assert 'deleted or replaced' in refusal(locks.check_held)
    locks.check_held()  # released: no longer checked
    assert locks.HELD == []


# ------------------------------------------------ a failed write names the script's own setting
def run_main(monkeypatch, script, *args):
    """script run as `python script args` in this process (its __main__ block included) -> its
    one-line SystemExit; the setting it names for its output is restored afterwards."""
    import runpy
    import sys

    from uniscale import atomic
    monkeypatch.setattr(atomic, 'output_setting', atomic.output_setting)
    monkeypatch.setattr(sys, 'argv', [script, *args])
    return refusal(runpy.run_path, os.path.join(ROOT, script), run_name='__main__')


@pytest.mark.parametrize('script, setting', [('export_hf.py', '--out'), ('sample.py', '--out')])
def test_a_write_under_a_file_names_the_setting_of_the_script_that_writes(monkeypatch, tmp_path,
                                                                         tok_dir, script, setting):
    """Issue 27 row 14: the advice of a failed write was 'write elsewhere (out_dir)' in every
    script; each now names its own setting (train.py's: test_train.py; correlate.py's: below)."""
    import helpers
    from test_sample import write_run
    run = write_run(str(tmp_path / 'run'), helpers.random_model(block_size=64), tok_dir)
    (tmp_path / 'file').write_text('')
    out = tmp_path / 'file' / ('hf' if script == 'export_hf.py' else 'samples.md')
    extra = ['--max_new_tokens=2', '--num_samples=1', '--device=cpu']
    extra = extra if script == 'sample.py' else []
    msg = run_main(monkeypatch, script, f'--run={run}', f'--out={out}', *extra)
    if script == 'sample.py':  # it checks its output before generating (sample.check_writable)
        assert ': cannot write there (' in msg and f'give {setting}=' in msg, msg
    else:
        assert ': cannot write (' in msg and msg.endswith(f"or write elsewhere ({setting})"), msg
    assert 'out_dir' not in msg


def test_correlate_on_an_unwritable_analysis_folder_names_analysis_dir(monkeypatch, tmp_path):
    from test_correlate import write_ab_run
    runs = tmp_path / 'runs'
    a = write_ab_run(runs, 'bpe-4k', 1, 3.0, speed=1.0)
    b = write_ab_run(runs, 'btm-4k', 1, 4.0, speed=1.5)
    (tmp_path / 'file').write_text('')
    msg = run_main(monkeypatch, 'correlate.py', 'ab', f'--runs={a},{b}', f'--runs_dir={runs}',
                   f"--analysis_dir={tmp_path / 'file' / 'analysis'}",
                   f"--tokens_dir={tmp_path / 'tokens'}",
                   '--plots=False', '--n_bootstrap=100')
    assert 'cannot write (Not a directory)' in msg, msg
    assert msg.endswith('or write elsewhere (--analysis_dir)'), msg


@pytest.mark.parametrize('err, fix', [
    (errno.ENOSPC, 'the disk is full: free space'),
    (errno.EROFS, 'the file system is read-only: make it writable'),
    (errno.EACCES, 'no permission to write there: fix the permissions')])
def test_a_script_with_no_output_setting_gives_advice_without_one(monkeypatch, err, fix):
    """eval_bpb.py writes into the run folders: no setting moves them, so its advice names none."""
    from uniscale import atomic
    monkeypatch.setattr(atomic, 'output_setting', None)
    msg = str(atomic.write_error('out/runs/r/eval.json', OSError(err, os.strerror(err))))
    assert msg.endswith(fix) and 'elsewhere' not in msg
    monkeypatch.setattr(atomic, 'output_setting', '--out')
    assert str(atomic.write_error('x', OSError(err, os.strerror(err)), '--eval_dir')).endswith(
        f"{fix}, or write elsewhere (--eval_dir)")


# ------------------------------------------------ correlate.py ab counts folders (row 15)
def test_correlate_ab_counts_the_run_folders_a_pattern_gives_not_the_patterns(tmp_path):
    """`--runs='out/runs/gpt2-tiny_*'` (one pattern, four folders) is four runs; a pattern that
    gives one folder is refused in one line saying how many it found."""
    import correlate
    from test_correlate import FAST, write_ab_run
    runs = tmp_path / 'runs'
    for tok, bpt, speed in (('bpe-4k', 3.0, 1.0), ('btm-4k', 4.0, 1.5)):
        for seed in (1, 2):
            write_ab_run(runs, tok, seed, bpt, speed=speed + 0.05 * seed)
    cfg = dict(configurator.defaults(correlate), **FAST, command='ab', runs_dir=str(runs),
               name='ab', analysis_dir=str(tmp_path / 'analysis'),
               tokens_dir=str(tmp_path / 'tokens'))
    _, s = correlate.main({**cfg, 'runs': [f"{runs}/gpt2-tiny_*"]})
    assert sorted(r['run'] for r in s['runs']) == sorted(os.listdir(runs))
    msg = refusal(correlate.main, {**cfg, 'runs': [f"{runs}/*_bpe-4k_s1"]})
    assert msg.startswith('correlate.py ab: --runs names 1 run folder(s); give two or more runs')


# ------------------------------------------------ the sweep says why its analysis is current
def test_a_sweep_says_its_analysis_is_current_by_its_analysis_id(tmp_path, capsys, monkeypatch):
    """Issue 27 row 14: it said 'newer than every eval file', though the check is by analysis_id."""
    import correlate
    import sweep
    from test_sweep import FakeRunner, config, write_summary
    if not hasattr(correlate, 'lr_scan_runs'):  # as test_sweep's correlate_reads_the_scan
        monkeypatch.setattr(correlate, 'lr_scan_runs', [], raising=False)
    monkeypatch.setattr(sweep, 'grid_problems', lambda runs, cfg: [])  # stand-in tokenizers
    cfg = config(tmp_path, only=['s1'])
    sweep.main(cfg, FakeRunner())
    write_summary(cfg)
    capsys.readouterr()
    sweep.main(cfg, FakeRunner())
    out = capsys.readouterr().out
    assert 'current (same analysis_id), nothing to do' in out and 'newer' not in out, out
