import pytest

import configurator


def defaults():
    return {'batch_size': 12, 'lr': 6e-4, 'corpus': 'embedded', 'compile': True, 'langs': ['eng'],
            'max_steps': None, 'betas': (0.9, 0.95), 'MAGIC': 7, '_private': 1, 'json': __import__('json')}


def test_config_file_then_overrides_apply_in_order(tmp_path):
    cfg_file = tmp_path / 'x.py'
    cfg_file.write_text("import math\nbatch_size = 32\nlr = 1e-3\n_helper = 5\nLANGS = ['a']\ncorpus = 'fineweb2'\n")
    ns = defaults()
    cfg = configurator.configure(ns, [str(cfg_file), '--lr=3e-4', '--compile=False'])
    assert ns['batch_size'] == 32 and ns['lr'] == 3e-4 and ns['compile'] is False and ns['corpus'] == 'fineweb2'
    assert cfg == {'batch_size': 32, 'lr': 3e-4, 'corpus': 'fineweb2', 'compile': False, 'langs': ['eng'],
                   'max_steps': None, 'betas': (0.9, 0.95)}


def test_overrides_parse_literals_and_bare_strings():
    ns = defaults()
    configurator.configure(ns, ['--corpus=tinystories', '--max_steps=100', '--langs=eng,deu_Latn',
                                '--betas=[0.9, 0.99]', '--lr=1'])
    assert ns['corpus'] == 'tinystories' and ns['max_steps'] == 100
    assert ns['langs'] == ['eng', 'deu_Latn'] and ns['betas'] == (0.9, 0.99)
    assert ns['lr'] == 1.0 and isinstance(ns['lr'], float)
    configurator.configure(ns, ['--langs=3'])
    assert ns['langs'] == [3]
    configurator.configure(ns, ['--batch_size=1e2'])
    assert ns['batch_size'] == 100 and isinstance(ns['batch_size'], int)


@pytest.mark.parametrize('arg', ['--batch_size=2.5', '--batch_size=abc', '--compile=1', '--lr=fast'])
def test_wrong_type_is_a_one_line_error_naming_the_key(arg):
    with pytest.raises(SystemExit) as e:
        configurator.configure(defaults(), [arg])
    msg = str(e.value)
    assert arg[2:].split('=')[0] in msg and 'expects' in msg and '\n' not in msg


def test_unknown_key_is_rejected_on_the_command_line_and_in_a_file(tmp_path):
    with pytest.raises(SystemExit, match="unknown key 'batchsize'"):
        configurator.configure(defaults(), ['--batchsize=3'])
    with pytest.raises(SystemExit, match="unknown key 'MAGIC'"):  # constants are not configurable
        configurator.configure(defaults(), ['--MAGIC=3'])
    bad = tmp_path / 'bad.py'
    bad.write_text('learning_rate = 0.1\n')
    with pytest.raises(SystemExit, match=r"bad\.py.*unknown key 'learning_rate'"):
        configurator.configure(defaults(), [str(bad)])


def test_missing_config_file_and_stray_argument_are_clear_errors(tmp_path):
    with pytest.raises(SystemExit, match='not found'):
        configurator.configure(defaults(), [str(tmp_path / 'nope.py')])
    with pytest.raises(SystemExit, match="unexpected argument 'eval'"):
        configurator.configure(defaults(), ['eval'])
    with pytest.raises(SystemExit, match='must be --key=value'):
        configurator.configure(defaults(), ['--lr'])


def test_bare_word_sets_command_when_the_script_has_one():
    ns = {'command': 'train', 'lr': 0.1}
    configurator.configure(ns, ['eval', '--lr=0.2'])
    assert ns['command'] == 'eval' and ns['lr'] == 0.2


def script_keys(path):
    """Module-level plain assignments of a script: the keys its configurator call accepts."""
    import ast
    keys = set()
    for node in ast.parse(open(path).read()).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            keys |= {t.id for t in targets if isinstance(t, ast.Name)}
    return keys


def test_every_shipped_config_key_belongs_to_some_script():
    """config/*.py must stay in step with the scripts: a renamed or misspelt key fails here, not mid-run."""
    import glob
    import os
    import runpy
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    known = set().union(*(script_keys(p) for p in glob.glob(os.path.join(root, '*.py'))))
    configs = [p for p in sorted(glob.glob(os.path.join(root, 'config', '*.py'))) if not p.endswith('langs.py')]
    assert any(p.endswith('demo.py') for p in configs)
    for path in configs:
        ns = runpy.run_path(path)
        keys = {k for k, v in ns.items() if configurator.is_key(k, v)}
        assert keys - known == set(), f"{path} sets keys no script has: {keys - known}"


@pytest.mark.parametrize('arg', ['--langs=[apertus-50M,apertus-100M]', "--langs=['apertus-50M', apertus-100M]",
                                 '--langs=[ apertus-50M , "apertus-100M" ]', '--langs=apertus-50M,apertus-100M'])
def test_bracketed_list_of_bare_words_parses_to_strings(arg):
    ns = defaults()
    configurator.configure(ns, [arg])
    assert ns['langs'] == ['apertus-50M', 'apertus-100M']


@pytest.mark.parametrize('arg', ['--langs=[eng,deu', '--langs=eng,deu]', '--langs=[[eng],[deu]]', '--betas=(0.9,'])
def test_broken_list_literal_is_refused_not_taken_as_a_name(arg):
    with pytest.raises(SystemExit) as e:
        configurator.configure(defaults(), [arg])
    key = arg[2:].split('=')[0]
    assert f"'{key}' expects a list" in str(e.value) and 'unbalanced' in str(e.value) and '\n' not in str(e.value)


def test_a_string_key_still_takes_any_bare_word():
    ns = defaults()
    configurator.configure(ns, ['--corpus=[x'])
    assert ns['corpus'] == '[x'


@pytest.mark.parametrize('source, line, kind', [('lr = 1e-3\nbatch_size = (32\n', 2, 'SyntaxError'),
                                                ('lr = 1e-3\n\nbatch_size = undefined_name\n', 3, 'NameError'),
                                                ('import not_a_module_xyz\n', 1, 'ModuleNotFoundError')])
def test_config_file_error_is_one_line_with_file_and_line(tmp_path, source, line, kind):
    path = tmp_path / 'x.py'
    path.write_text(source)
    with pytest.raises(SystemExit) as e:
        configurator.configure(defaults(), [str(path)])
    assert str(e.value).startswith(f"config error: {path}:{line}: {kind}") and '\n' not in str(e.value)


def test_config_file_syntax_error_through_a_real_script(tmp_path):
    import subprocess
    import sys
    path = tmp_path / 'broken.py'
    path.write_text("corpus = 'embedded'\nseed = [1, 2\n")
    root = __import__('os').path.dirname(__import__('os').path.dirname(__import__('os').path.abspath(__file__)))
    p = subprocess.run([sys.executable, 'prepare.py', str(path)], cwd=root, capture_output=True, text=True)
    err = p.stderr.strip().splitlines()
    assert p.returncode == 1 and len(err) == 1 and 'Traceback' not in p.stderr
    assert err[0].startswith(f"config error: {path}:2: SyntaxError")
