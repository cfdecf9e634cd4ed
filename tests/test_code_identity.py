"""Issue 27, deliverables 2 and 3: code is part of what a result was computed from
(uniscale/code_identity.py: a comment or docstring keeps every result, an edit of what runs does
not), and one rule for "same settings" (train.py's LEGACY_DEFAULTS and PATH_SETTINGS, in the resume
check, the sweep and correlate's cells alike)."""
import json
import os
import shutil

import pytest

import correlate
import train
from test_correlate import FAST, write_run
from uniscale import code_identity as ci
from uniscale import run_folder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def source_copy(tmp_path, kind='train'):
    """A private copy of the files CODE_FILES lists (a fork's checkout), to edit."""
    root = tmp_path / 'src'
    for rel in set(ci.CODE_FILES['train']) | set(ci.CODE_FILES['eval']):
        os.makedirs(root / os.path.dirname(rel), exist_ok=True)
        shutil.copy(os.path.join(ROOT, rel), root / rel)
    return root


def edit(path, old, new):
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


PLAIN_LOSS = "return F.cross_entropy(logits, targets, ignore_index=-1, reduction='none')"
LABEL_SMOOTHING = ("return F.cross_entropy(logits, targets, ignore_index=-1, reduction='none', "
                   "label_smoothing=0.1)")


def test_comments_and_docstrings_keep_the_identity_and_a_changed_loss_does_not(tmp_path):
    root = source_copy(tmp_path)
    before = ci.code_identity('train', str(root))
    assert before == ci.code_identity('train')  # the copy is the checkout's code
    model = root / 'model.py'
    edit(model, 'def token_losses(', '# a fork\'s note on the loss\ndef token_losses(')
    text = model.read_text()
    start = text.index('def token_losses(')
    body = text.index('"""', start) + 3  # a line added to its docstring
    note = 'Also: label smoothing was tried here.\n    '
    model.write_text(text[:body] + note + text[body:] + '\n\n# the end\n')
    assert ci.code_identity('train', str(root)) == before
    edit(model, PLAIN_LOSS, LABEL_SMOOTHING)
    after = ci.code_identity('train', str(root))
    assert after['sha256'] != before['sha256'] and ci.changed_files(before, after) == ['model.py']
    fork_eval = ci.code_identity('eval', str(root))['sha256']
    assert fork_eval != ci.code_identity('eval')['sha256']  # model.py scores too


def test_a_new_setting_at_its_old_value_keeps_the_identity_and_a_changed_step_does_not(tmp_path):
    """Row 2: settings are compared as settings (train.py's rule), so a fork's neutral key in the
    defaults and in LEGACY_DEFAULTS is no other code; the loop's arithmetic is."""
    root = source_copy(tmp_path)
    before = ci.code_identity('train', str(root))
    script = root / 'train.py'
    edit(script, "\nthreads = 0 ", "\nz_loss = 0.0  # a fork's new loss term\nthreads = 0 ")
    edit(script, "LEGACY_DEFAULTS = {", "LEGACY_DEFAULTS = {'z_loss': 0.0, ")
    edit(script, "RANGES.update(", "RANGES.update(z_loss=configurator.at_least(0))\nRANGES.update(")
    assert ci.code_identity('train', str(root)) == before
    edit(script, "return peak * (step + 1) / (warm + 1)", "return peak * step / warm")
    assert ci.changed_files(before, ci.code_identity('train', str(root))) == ['train.py']


def test_code_change_names_the_files_or_says_unknown_and_keep_counts():
    now = ci.code_identity('train')
    other = {'sha256': 'x' * 64, 'files': {**now['files'], 'model.py': 'y' * 64}}
    assert ci.code_change({'code': now}, now) is None
    assert ci.code_change({'code': other}, now) == 'other code (differs in model.py)'
    assert ci.code_change({}, now).startswith('code unknown')
    assert ci.code_change({'code': other, 'code_kept': [{'sha256': now['sha256']}]}, now) is None


def test_facts_are_recorded_beside_the_identity():
    rec = ci.code_record('eval')
    assert set(rec) == {'sha256', 'files', 'commit', 'dirty', 'python', 'torch'}
    assert isinstance(rec['torch'], str) and rec['files'].keys() == set(ci.CODE_FILES['eval'])


def fake_run(tmp_path, name, code=..., eval_code=...):
    """A finished run folder with an eval file (no weights: only its state and files are read)."""
    import torch
    d = tmp_path / name
    os.makedirs(d)
    cfg = {'corpus': 'c', 'block_size': 8, 'total_steps': 4, 'run_id': 'r' + name}
    if code is not ...:
        cfg['code'] = code
    (d / 'config.json').write_text(json.dumps(cfg))
    torch.save({'model': {}, 'model_config': {}, 'config': cfg, 'step': 4, 'done': True},
               d / 'ckpt.pt')
    want = run_folder.wanted_eval_set(cfg, {'corpus_dir': str(tmp_path)})
    ev = {'run_id': cfg['run_id'], 'step': 4, 'finished': True, 'bpb': 1.0, 'eval_set': want}
    if eval_code is not ...:
        ev['eval_code'] = eval_code
    (d / 'eval.json').write_text(json.dumps(ev))
    return str(d)


def test_an_evaluation_by_other_eval_code_is_not_current_unless_kept(tmp_path):
    settings = {'corpus_dir': str(tmp_path)}
    now = ci.code_identity('eval')['sha256']
    assert run_folder.eval_is_current(fake_run(tmp_path, 'a', eval_code=now), settings)
    for d in (fake_run(tmp_path, 'b', eval_code='0' * 64), fake_run(tmp_path, 'c')):
        assert not run_folder.eval_is_current(d, settings)
        assert run_folder.eval_is_current(d, settings, keep_eval_code=True)


# ---------------------------------------------------------- correlate pools one code only when told
def grid_with_code(runs_dir, codes):
    """Two sizes x two tokenizers x two seeds; codes(preset, tok, seed) -> (train code, eval code)
    or None."""
    for z, preset in enumerate(('apertus-tiny', 'apertus-50M')):
        for i, tok in enumerate(('bpe-2k', 'unigram-2k')):
            for seed in (1, 2):
                train_code, eval_code = codes(preset, tok, seed)
                extra = {'code': {**train_code, 'commit': 'c0ffee'}} if train_code else {}
                ev = {'eval_code': eval_code['sha256'], 'code': eval_code} if eval_code else {}
                bpb = 3.0 - z + 0.1 * i + 0.01 * seed
                write_run(runs_dir, tok, preset, seed, bpb, config_extra=extra, **ev)


def test_correlate_refuses_runs_of_two_codes_naming_them_and_pools_when_told(tmp_path):
    now_t, now_e = ci.code_identity('train'), ci.code_identity('eval')
    fork = {'sha256': 'f' * 64, 'files': {**now_t['files'], 'model.py': '0' * 64}}
    grid_with_code(tmp_path / 'runs', lambda p, t, s: (fork if s == 2 else now_t, now_e))
    cfg = dict(FAST, command='scale', runs_dir=str(tmp_path / 'runs'), runs=[], name='s',
               analysis_dir=str(tmp_path / 'analysis'), tokenizer_eval_dir=str(tmp_path / 'te'))
    with pytest.raises(SystemExit) as e:
        correlate.main(cfg)
    msg = str(e.value)
    assert '\n' not in msg and '2 versions of the code' in msg and 'model.py' in msg
    assert 'apertus-tiny_bpe-2k_s2' in msg and "--code_changes=keep" in msg
    _, s = correlate.main({**cfg, 'code_changes': 'keep'})
    assert sorted(len(v['runs']) for v in s['code_versions']) == [4, 4]
    report = open(tmp_path / 'analysis' / 's' / 'report.md').read()
    assert '## Code' in report and now_t['sha256'][:12] in report and 'f' * 12 in report


def test_correlate_refuses_runs_scored_by_two_eval_codes(tmp_path):
    now_t, now_e = ci.code_identity('train'), ci.code_identity('eval')
    grid_with_code(tmp_path / 'runs', lambda p, t, s: (now_t, now_e if t == 'bpe-2k' else None))
    cfg = dict(FAST, command='scale', runs_dir=str(tmp_path / 'runs'), runs=[], name='s',
               analysis_dir=str(tmp_path / 'analysis'), tokenizer_eval_dir=str(tmp_path / 'te'))
    with pytest.raises(SystemExit, match='evaluation code not recorded'):
        correlate.main(cfg)


# ---------------------------------------------------------- one rule for "same settings" (row 2)
WRITE_RUN_KEYS = ('preset', 'seed', 'tokenizer', 'corpus', 'block_size')  # write_run sets them


@pytest.fixture
def neutral_key(monkeypatch):
    """Row 2: a fork adds z_loss = 0.0 to train.py's defaults (0.0: the loss as before) and lists
    it."""
    monkeypatch.setattr(train, 'z_loss', 0.0, raising=False)
    monkeypatch.setitem(train.LEGACY_DEFAULTS, 'z_loss', 0.0)


def old_and_new_config():
    old = {k: v for k, v in train.configurator.defaults(train).items() if k != 'z_loss'}
    old.update(inputs={'tokenizer_hash': 'h'}, block_size=32)
    return old, {**old, 'z_loss': 0.0, 'seed': 2}


def test_a_key_an_old_run_lacks_is_its_legacy_value_in_resume_and_cells(neutral_key, monkeypatch):
    old, new = old_and_new_config()
    assert train.changed_settings({'request': old}, {**old, 'z_loss': 0.0}) == []
    assert train.run_identity(old)['cell_id'] == train.run_identity(new)['cell_id']
    assert train.changed_settings({'request': old}, {**old, 'z_loss': 1e-4}) == \
        ['z_loss=0.0 (now 0.0001)']
    monkeypatch.delitem(train.LEGACY_DEFAULTS, 'z_loss')  # not listed: a difference, everywhere
    assert train.changed_settings({'request': old}, {**old, 'z_loss': 0.0}) == \
        ['z_loss=<not recorded, not in LEGACY_DEFAULTS> (now 0.0)']
    assert train.run_identity(old)['cell_id'] != train.run_identity(new)['cell_id']


def test_correlate_pools_an_old_seed_with_a_new_one_by_the_same_rule(tmp_path, neutral_key,
                                                                     monkeypatch):
    old, new = old_and_new_config()
    for z, preset in enumerate(('apertus-tiny', 'apertus-50M')):
        for i, tok in enumerate(('bpe-2k', 'unigram-2k')):
            for seed, c in ((1, old), (2, new)):
                c = {k: v for k, v in c.items() if k not in WRITE_RUN_KEYS}
                c['inputs'] = {'tokenizer_hash': tok}
                write_run(tmp_path / 'runs', tok, preset, seed, 3.0 - z + 0.1 * i, config_extra=c)
    cfg = dict(FAST, command='scale', runs_dir=str(tmp_path / 'runs'), runs=[], name='s',
               analysis_dir=str(tmp_path / 'analysis'), tokenizer_eval_dir=str(tmp_path / 'te'))
    correlate.main(cfg)  # pooled: the old run's missing z_loss is 0.0
    monkeypatch.delitem(train.LEGACY_DEFAULTS, 'z_loss')
    with pytest.raises(SystemExit, match="pools runs computed differently.*z_loss"):
        correlate.main(cfg)


@pytest.mark.parametrize('key,spellings', [
    ('tokenizer', ['out/tokenizers/bpe-2k', 'out/tokenizers/bpe-2k/', './out/tokenizers/bpe-2k',
                   '/abs/out/tokenizers/bpe-2k', 'moved/tokenizers/bpe-2k']),
    ('out_dir', ['out', '/home/me/out', './out/']),
    ('tokens_dir', ['', 'out/tokens/embedded/bpe-2k/']),
    ('compile_cache_dir', ['', '/scratch/cache'])])
def test_path_settings_are_never_identity(key, spellings):
    base = {**train.configurator.defaults(train), 'inputs': {'tokenizer_hash': 'h'}}
    ids = {json.dumps(train.run_identity({**base, key: s})) for s in spellings}
    assert len(ids) == 1
    asked = {'request': {**base, key: spellings[0]}}
    assert all(train.changed_settings(asked, {**base, key: s}) == [] for s in spellings)


def test_the_analysis_code_is_every_module_correlate_runs_and_a_changed_rule_is_a_new_analysis(tmp_path):
    """An analysis is current only for the code that computed it (issue 29: a changed verdict rule
    left summary.json 'current'). The analysis code is correlate.py's import closure: every module of
    ours that a scale and an ab analysis import at run time is in it, and an edit of what runs in one
    of them (not a comment) changes the identity and the analysis_id."""
    import subprocess
    import sys
    probe = ("import sys, correlate, train\n"  # train: cell_key imports it inside a function
             "print('\\n'.join(sorted(m.__file__ for m in list(sys.modules.values())\n"
             "      if getattr(m, '__file__', None))))")
    loaded = subprocess.run([sys.executable, '-c', probe], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.split()
    ours = {os.path.relpath(f, ROOT) for f in loaded if f.startswith(ROOT + os.sep)
            and not os.path.relpath(f, ROOT).startswith('.')}  # the checkout's .venv is not ours
    closure = set(ci.import_closure(ci.ANALYSIS_SCRIPT))
    assert ours - {'configurator.py'} <= closure and 'uniscale/rank_stats.py' in closure
    root = tmp_path / 'src'
    for rel in closure:
        os.makedirs(root / os.path.dirname(rel), exist_ok=True)
        shutil.copy(os.path.join(ROOT, rel), root / rel)
    before = ci.code_identity('analysis', str(root))
    assert before == ci.code_identity('analysis')
    edit(root / 'uniscale/rank_stats.py', 'import math', 'import math  # a comment keeps it')
    assert ci.code_identity('analysis', str(root)) == before
    edit(root / 'uniscale/rank_stats.py', 'ALPHA = 0.05', 'ALPHA = 0.10')
    after = ci.code_identity('analysis', str(root))
    assert ci.changed_files(before, after) == ['uniscale/rank_stats.py']
    cfg = correlate.checked_config({'runs_dir': str(tmp_path / 'runs')})
    now = correlate.analysis_identity(cfg)
    assert now['code'] == before
    real = ci.code_identity
    try:  # the same runs and settings under the edited code: another analysis
        correlate.code_identity = lambda kind: real(kind, str(root))
        assert correlate.analysis_identity(cfg)['analysis_id'] != now['analysis_id']
    finally:
        correlate.code_identity = real
