"""An evaluation is what it was computed from (issue 20): eval files accumulate results keyed by the identity of run,
checkpoint and eval set (uniscale/eval_file.py); re-scoring replaces only its own entry and keeps downstream.py's
lm-eval results; an edited split is refused, an edited --files file is a new set; impossible values and an
unwritable run folder are one line naming what to fix. Tiny runs as in tests/test_eval_bpb.py."""
import errno
import glob
import json
import os
import subprocess
import sys

import pytest

import downstream  # lm-eval is imported only when it scores: merge_tasks and already_done need none of it
import eval_bpb
from test_eval_bpb import config, random_model, write_run, write_split, write_task
from uniscale import eval_file, identity

pytestmark = pytest.mark.usefixtures('one_thread')
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def run(tmp_path, tok_dir):
    """A finished run (with a run_id, as train.py records it) and its corpus's prepared test split."""
    write_split(tmp_path / 'corpus')
    return write_run(str(tmp_path / 'runs' / 'r'), random_model(), tok_dir, run_id='run-a')


def script(*args):
    """eval_bpb.py in a subprocess: (exit code, stderr lines)."""
    r = subprocess.run([sys.executable, os.path.join(ROOT, 'eval_bpb.py'), *args], capture_output=True, text=True,
                       cwd=ROOT)
    return r.returncode, r.stderr.strip().splitlines(), r.stderr


def read(path):
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def temps(folder):
    return glob.glob(os.path.join(folder, '**', '*.tmp'), recursive=True)


def one_line_refusal(excinfo):
    msg = str(excinfo.value)
    assert msg and '\n' not in msg and 'Traceback' not in msg
    return msg


# ---------------------------------------------------------------- impossible values (rows 6, item 6)
def test_negative_max_docs_per_lang_is_refused_before_any_work(tmp_path, run):
    rc, lines, err = script(f'--run={run}', f'--corpus_dir={tmp_path / "corpus"}', '--max_docs_per_lang=-1')
    assert rc != 0 and len(lines) == 1 and 'Traceback' not in err, err
    assert lines[0].startswith('config error: max_docs_per_lang=-1 must be')
    assert not os.path.exists(os.path.join(run, 'eval.json'))
    out = eval_bpb.main(config(tmp_path, run=run, max_docs_per_lang=1))[run]  # the case that must still pass
    assert out['n_docs'] >= 1 and out['eval_set']['max_docs_per_lang'] == 1


def test_a_negative_context_blames_context_and_an_overlap_too_large_blames_overlap(tmp_path, run):
    rc, lines, err = script(f'--run={run}', f'--corpus_dir={tmp_path / "corpus"}', '--context=-5')
    assert rc != 0 and len(lines) == 1 and 'Traceback' not in err, err
    assert lines[0].startswith('config error: context=-5 must be')
    with pytest.raises(SystemExit) as e:
        eval_bpb.main(config(tmp_path, run=run, context=8, overlap=8))
    assert one_line_refusal(e).startswith('config error: overlap=8 must be in [0, context=8)')
    assert not os.path.exists(os.path.join(run, 'eval.json'))


def test_zero_documents_are_refused_never_written_as_bpb_zero(tmp_path, run):
    write_split(tmp_path / 'corpus', docs=([], []))  # an empty test split, its sha recorded
    with pytest.raises(SystemExit) as e:
        eval_bpb.main(config(tmp_path, run=run))
    assert 'no documents to score' in one_line_refusal(e)
    write_split(tmp_path / 'corpus', docs=([''], ['eng']))  # documents, but no text
    with pytest.raises(SystemExit, match='1 documents but no text'):
        eval_bpb.main(config(tmp_path, run=run))
    assert not os.path.exists(os.path.join(run, 'eval.json'))


# ---------------------------------------------------------------- results accumulate (row 10, item 3)
def downstream_results(run_dir, step=10, run_id='run-a'):
    """What downstream.py merges after lm-eval, through its own writer."""
    return downstream.merge_tasks(run_dir, 'test', {'step': step, 'run_id': run_id},
                                  {'belebele_eng_Latn': {'acc': 0.31, 'acc_norm': 0.33, 'n': 900}},
                                  {'version': '0.4.x', 'invocation': {'model': 'uniscale'}})


def test_rescoring_keeps_downstream_results_and_replaces_only_its_own_entry(tmp_path, run):
    mc = write_task(tmp_path / 'mini.jsonl')
    first = eval_bpb.main(config(tmp_path, run=run, tasks=[mc]))[run]
    downstream_results(run)
    before = read(os.path.join(run, 'eval.json'))
    assert before['tasks']['belebele_eng_Latn']['n'] == 900 and before['tasks']['mini']['n'] == 1
    assert downstream.already_done(run, 'test', {'step': 10, 'run_id': 'run-a'}, ['belebele_eng_Latn'])
    rc, lines, err = script(f'--run={run}', f'--corpus_dir={tmp_path / "corpus"}', '--force=True')
    assert rc == 0 and 'Traceback' not in err, err
    after = read(os.path.join(run, 'eval.json'))
    assert after['lm_eval'] == before['lm_eval']  # hours of hub tasks are not lost
    assert after['tasks'] == before['tasks']  # lm-eval's and eval_bpb.py's own tasks
    assert list(after['results']) == [first['eval_id']]  # replaced, not duplicated
    assert after['eval_id'] == first['eval_id'] and after['bpb'] == pytest.approx(first['bpb'])
    assert after['evaluated_at'] >= first['evaluated_at'] and after['run_id'] == 'run-a'
    assert downstream.already_done(run, 'test', {'step': 10, 'run_id': 'run-a'}, ['belebele_eng_Latn'])
    assert temps(run) == []


def test_two_eval_sets_accumulate_and_asking_again_skips_the_one_scored(tmp_path, run, capsys):
    full = eval_bpb.main(config(tmp_path, run=run))[run]
    short = eval_bpb.main(config(tmp_path, run=run, context=16))[run]
    assert short['eval_set']['context'] == 16 and full['eval_set']['context'] == 32
    ev = read(os.path.join(run, 'eval.json'))
    assert list(ev['results']) == [full['eval_id'], short['eval_id']] and ev['eval_id'] == short['eval_id']
    assert ev['results'][full['eval_id']]['bpb'] == full['bpb'] and ev['bpb'] == short['bpb']  # top = the latest
    assert eval_bpb.main(config(tmp_path, run=run))[run] is None  # unchanged run and set: current
    assert 'already scored' in capsys.readouterr().out
    ev = read(os.path.join(run, 'eval.json'))
    assert ev['eval_id'] == full['eval_id'] and ev['bpb'] == full['bpb']  # the set asked for last is on top
    assert set(ev['results']) == {full['eval_id'], short['eval_id']}
    assert eval_file.find(ev, short['eval_set'])['bpb'] == short['bpb']


def test_another_run_identity_or_checkpoint_is_a_new_entry_never_current(tmp_path, run, tok_dir):
    first = eval_bpb.main(config(tmp_path, run=run))[run]
    write_run(run, random_model(seed=3), tok_dir, run_id='run-b')  # retrained under the same folder name
    assert not downstream.already_done(run, 'test', {'step': 10, 'run_id': 'run-b'}, [])
    second = eval_bpb.main(config(tmp_path, run=run))[run]
    assert second is not None and second['run_id'] == 'run-b' and second['eval_id'] != first['eval_id']
    assert set(second['results']) == {first['eval_id'], second['eval_id']}
    with pytest.raises(SystemExit) as e:  # lm-eval results for run-a cannot join run-b's scoring
        downstream_results(run, run_id='run-a')
    assert 'scored run run-b, but the run folder now holds run run-a' in one_line_refusal(e)


def test_an_edited_task_file_is_scored_again(tmp_path, run):
    mc = tmp_path / 'mini.jsonl'
    write_task(mc)
    eval_bpb.main(config(tmp_path, run=run, tasks=[str(mc)]))
    assert eval_bpb.main(config(tmp_path, run=run, tasks=[str(mc)]))[run] is None
    mc.write_text(mc.read_text() + json.dumps({'context': 'A dog', 'choices': [' ran', ' sat'], 'answer': 1}) + '\n')
    again = eval_bpb.main(config(tmp_path, run=run, tasks=[str(mc)]))[run]
    assert again['tasks']['mini']['n'] == 2 and again['tasks']['mini']['file_sha256'] == identity.file_sha256(mc)


# ---------------------------------------------------------------- content, not names
def test_a_split_edited_after_prepare_is_refused(tmp_path, run):
    eval_bpb.main(config(tmp_path, run=run))
    before = read(os.path.join(run, 'eval.json'))
    assert eval_bpb.main(config(tmp_path, run=run))[run] is None  # unchanged: skipped, the case that must pass
    split = tmp_path / 'corpus' / 'tiny' / 'test.jsonl'
    split.write_text(split.read_text() + json.dumps({'text': 'one more document', 'lang': 'eng'}) + '\n')
    rc, lines, err = script(f'--run={run}', f'--corpus_dir={tmp_path / "corpus"}')
    assert rc != 0 and len(lines) == 1 and 'Traceback' not in err, err
    assert lines[0].startswith(f"{split}: its sha256 is ") and 'edited after prepare.py' in lines[0]
    assert 'prepare.py' in lines[0].split(';')[-1]
    assert read(os.path.join(run, 'eval.json')) == before  # nothing scored, nothing lost


def test_files_are_scored_without_preparing_them_and_an_edit_is_a_new_set(tmp_path, run, capsys):
    held = tmp_path / 'held'
    held.mkdir()
    (held / 'a.jsonl').write_text(json.dumps({'text': 'The cat sat on the mat.', 'lang': 'eng'}) + '\n\n'
                                  + json.dumps({'text': 'Der Hund lief.', 'lang': 'deu'}) + '\n')
    (held / 'b.txt').write_text('A whole file is one document.\nEven across lines.\n')
    cfg = config(tmp_path, run=run, files=f"{held}/*.jsonl,{held / 'b.txt'}")
    first = eval_bpb.main(cfg)[run]
    es = first['eval_set']
    assert (es['corpus'], es['split'], es['n_docs']) == ('files', 'files', 3) and first['per_lang'].keys() == \
        {'eng', 'deu', 'und'}
    assert es['files'] == [{'path': str(held / 'a.jsonl'), 'sha256': identity.file_sha256(held / 'a.jsonl')},
                           {'path': str(held / 'b.txt'), 'sha256': identity.file_sha256(held / 'b.txt')}]
    assert not os.path.exists(os.path.join(run, 'eval.json'))  # the test split's file is another file
    assert eval_bpb.main(cfg)[run] is None  # identical files: current
    (held / 'b.txt').write_text('A whole file is one document, edited.\n')  # same path, new content
    second = eval_bpb.main(cfg)[run]
    assert second is not None and second['eval_set']['split_sha256'] != es['split_sha256']
    assert second['n_bytes'] != first['n_bytes'] and second['bpb'] != first['bpb']
    ev = read(os.path.join(run, 'eval_files.json'))
    assert list(ev['results']) == [first['eval_id'], second['eval_id']] and ev['eval_id'] == second['eval_id']
    with pytest.raises(SystemExit) as e:
        eval_bpb.main(config(tmp_path, run=run, files=str(held / 'nothing*.jsonl')))
    assert 'nothing matches' in one_line_refusal(e)


# ---------------------------------------------------------------- damaged and unwritable files
def test_an_unwritable_run_folder_names_the_eval_file_and_a_fix_that_works(tmp_path, run, monkeypatch):
    def read_only(*a, **k):
        raise OSError(errno.EROFS, 'Read-only file system')
    monkeypatch.setattr(eval_file, 'open', read_only, raising=False)  # as on a read-only disk (root ignores chmod)
    with pytest.raises(SystemExit) as e:
        eval_bpb.main(config(tmp_path, run=run))
    msg = one_line_refusal(e)
    assert msg.startswith(f"{os.path.join(run, 'eval.json')}: cannot write") and 'out_dir' not in msg
    assert 'writable' in msg and '--run=' in msg
    monkeypatch.undo()
    os.makedirs(os.path.join(run, 'eval.json'))  # a write that fails past the lock: the rename
    with pytest.raises(SystemExit, match='cannot write the eval file'):
        eval_bpb.main(config(tmp_path, run=run))
    assert temps(run) == []


def test_a_corrupt_eval_file_is_one_line_and_kept(tmp_path, run):
    path = os.path.join(run, 'eval.json')
    with open(path, 'w') as f:
        f.write('{"bpb": 1.2, "tas')
    with pytest.raises(SystemExit) as e:
        eval_bpb.main(config(tmp_path, run=run))
    assert one_line_refusal(e).startswith(f"{path}: corrupt eval file") and f"mv {path} {path}.bad" in str(e.value)
    assert open(path).read() == '{"bpb": 1.2, "tas'


def test_an_old_eval_file_is_kept_as_an_entry_with_its_other_keys():
    old = {'bpb': 2.0, 'step': 5, 'finished': True, 'eval_set': {'corpus': 'c', 'split': 'test'},
           'tasks': {'xnli_en': {'acc': 0.4}}, 'lm_eval': {'scored': {'xnli_en': 5}}, 'note': 'kept'}
    entry = {'eval_id': 'new', 'bpb': 1.5, 'step': 9, 'finished': True, 'eval_set': {'corpus': 'c', 'split': 'test'}}
    ev = eval_file.merged(old, entry, {'mc': {'acc': 1.0}})
    assert ev['bpb'] == 1.5 and ev['step'] == 9 and ev['lm_eval'] == old['lm_eval'] and 'note' not in ev
    assert ev['tasks'] == {'xnli_en': {'acc': 0.4}, 'mc': {'acc': 1.0}}
    (legacy, latest) = ev['results'].values()  # the old file's own fields, its unknown key included, as an entry
    assert (legacy['bpb'], legacy['step'], legacy['note']) == (2.0, 5, 'kept') and 'tasks' not in legacy
    assert latest == entry
    again = eval_file.merged({**ev, 'note': 'mine'}, {**entry, 'eval_id': 'newer', 'bpb': 1.4})
    assert again['note'] == 'mine' and again['bpb'] == 1.4 and list(again['results']) == [legacy['eval_id'], 'new',
                                                                                          'newer']
    assert eval_file.find(ev, {'corpus': 'c', 'split': 'test'}, keys=('corpus', 'split'), step=5)['bpb'] == 2.0
    assert eval_file.find(ev, {'corpus': 'c', 'split': 'val'}, keys=('corpus', 'split')) is None


def test_a_second_writer_of_the_eval_file_waits_then_refuses_naming_the_first(tmp_path, run, monkeypatch):
    from uniscale import locks
    eval_bpb.main(config(tmp_path, run=run))
    before = read(os.path.join(run, 'eval.json'))
    monkeypatch.setattr(eval_file, 'WAIT_S', 0.2)
    with locks.hold(run, 'eval file', name=eval_file.LOCK):  # another process writing it (its pid, here ours)
        with pytest.raises(SystemExit) as e:
            downstream_results(run)
    msg = one_line_refusal(e)
    assert 'being written by pid' in msg and str(os.getpid()) in msg
    assert read(os.path.join(run, 'eval.json')) == before
    assert downstream_results(run)['tasks']['belebele_eng_Latn']['n'] == 900  # once it is free: merged


def test_a_damaged_run_config_gets_no_advice_from_eval_bpb_that_cannot_work(tmp_path, run):
    with open(os.path.join(run, 'config.json'), 'w') as f:
        f.write('{"arch": "gpt2", "tok')  # cut short
    rc, lines, err = script(f'--run={run}', f'--corpus_dir={tmp_path / "corpus"}')
    assert 'Traceback' not in err, err
    if rc != 0:  # refused: in one line (what to do is run_folder.read_run_config's to say)
        assert len(lines) == 1, err
    else:  # scored from the checkpoint's copy of the config
        assert read(os.path.join(run, 'eval.json'))['run_id'] == 'run-a'
    assert '--init_from=resume to rewrite' not in err  # train.py never rewrites a finished run's config.json


# ---------------------------------------------------------------- the study's eval set, by identity (issue 27 row 6)
def test_the_analysis_reads_the_studys_eval_set_not_the_latest_scoring(tmp_path, run):
    """Row 6: `eval_bpb.py --max_docs_per_lang=3` after the sweep's scoring put that set on top of eval.json; the
    sweep still called the run done (its entry is there) and the analysis read the top one ("different evaluation
    sets"). The analysis reads the entry of the study's eval set (the sweep passes its eval_args), whatever is on top,
    and a run not scored on it is named with the command that scores it."""
    import configurator
    import correlate
    import sweep
    from uniscale import run_folder
    full = eval_bpb.main(config(tmp_path, run=run))[run]
    short = eval_bpb.main(config(tmp_path, run=run, max_docs_per_lang=3))[run]
    ev = read(os.path.join(run, 'eval.json'))
    assert ev['eval_id'] == short['eval_id'] and short['n_docs'] < full['n_docs']  # the latest is on top
    sweep_cfg = {**configurator.configure(configurator.defaults(sweep), ['config/sweep_demo.py']),
                 'runs_dir': str(tmp_path / 'runs'), 'tokenizers': ['x'], 'presets': ['gpt2-tiny'], 'lr_scan': [],
                 'eval_args': {'corpus_dir': str(tmp_path / 'corpus')}}
    assert run_folder.eval_is_current(run, sweep.eval_settings(sweep_cfg))  # the sweep's "done": its set is there

    def analysed(eval_args):
        argv = sweep.analysis_command({**sweep_cfg, 'eval_args': eval_args})[1:] + [f"--runs={run}"]
        cfg = correlate.checked_config(configurator.configure(configurator.defaults(correlate), argv))
        return correlate.checked_runs(cfg, 'scale')[0][0]['eval']

    study = {'corpus_dir': str(tmp_path / 'corpus')}
    got = analysed(study)
    assert got['eval_id'] == full['eval_id'] and got['bpb'] == full['bpb'] and got['n_docs'] == full['n_docs']
    assert analysed({**study, 'max_docs_per_lang': 3})['bpb'] == short['bpb']  # a study of that set reads that one
    with pytest.raises(SystemExit) as e:  # a set the run was never scored on: named, with the command that scores it
        analysed({**study, 'context': 16})
    msg = one_line_refusal(e)
    assert "r: not scored on the study's eval set (" in msg and 'context=16' in msg
    assert f"score it: python eval_bpb.py --run={run} --corpus_dir={tmp_path / 'corpus'} --context=16 (" in msg


def test_the_studys_entry_where_the_corpus_is_absent_or_the_entry_predates_a_key(tmp_path):
    """Without the corpus here the split's sha256 is unknown: one version of it qualifies, two are refused (which is
    current cannot be told). A key an older entry lacks is what eval_bpb.py scored with then (its default)."""
    from uniscale import study_inputs
    run_cfg = {'corpus': 'c', 'block_size': 32}
    full = {'corpus': 'c', 'split': 'test', 'split_sha256': 'a' * 64, 'n_docs': 9, 'max_docs_per_lang': 0,
            'context': 32, 'overlap': 0}
    one = eval_file.merged({}, {'eval_id': '1', 'bpb': 1.0, 'finished': True, 'eval_set': full})
    settings = {'corpus_dir': str(tmp_path / 'nowhere')}
    assert study_inputs.study_entry(one, run_cfg, settings)[0]['bpb'] == 1.0
    two = eval_file.merged(one, {'eval_id': '2', 'bpb': 2.0, 'finished': True,
                                 'eval_set': {**full, 'split_sha256': 'b' * 64}})
    entry, why = study_inputs.study_entry(two, run_cfg, settings, 'R')
    assert entry is None and 'scored on 2 versions of the test split' in why
    old = {'eval_id': '3', 'bpb': 3.0, 'finished': True, 'eval_set': {'corpus': 'c', 'split': 'test', 'n_docs': 9}}
    entry = study_inputs.study_entry(eval_file.merged({}, old), run_cfg, settings)[0]
    assert entry['bpb'] == 3.0 and entry['eval_set'] == {'corpus': 'c', 'split': 'test', 'n_docs': 9,
                                                         'max_docs_per_lang': 0, 'context': 32, 'overlap': 0}
    entry, why = study_inputs.study_entry(eval_file.merged({}, old), run_cfg, {**settings, 'max_docs_per_lang': 3}, 'R')
    assert entry is None and why.endswith(f"score it: python eval_bpb.py --run=R --corpus_dir={tmp_path / 'nowhere'} "
                                          f"--max_docs_per_lang=3 (or name the set it holds: --eval_args)")
