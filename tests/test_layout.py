"""The house: the root holds what a researcher runs or edits, the library (uniscale/) what the scripts share, and the
imports run one way. These read the source as text; nothing is imported."""
import ast
import glob
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = {'prepare', 'tokenizer', 'btm', 'train', 'eval_bpb', 'sample', 'correlate', 'sweep', 'export_hf',
           'downstream'}
EDITED = {'model', 'configurator'}  # the two files every fork edits, beside the scripts
# the order of the flow: a script imports only scripts before it (sweep drives them all from outside)
FLOW = ['configurator', 'model', 'prepare', 'tokenizer', 'btm', 'train', 'eval_bpb', 'sample', 'export_hf',
        'downstream', 'correlate', 'sweep']


def modules():
    """{dotted module name: path} of every project module (root scripts, uniscale/, data/)."""
    found = {}
    for path in glob.glob(os.path.join(ROOT, '*.py')) + glob.glob(os.path.join(ROOT, 'uniscale', '*.py')) + \
            glob.glob(os.path.join(ROOT, 'data', '**', '*.py'), recursive=True):
        rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, '.')
        found[rel.removesuffix('.__init__')] = path
    return found


def project_imports(path, known):
    """The project modules a file imports anywhere in it (functions included)."""
    names = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return {n for n in names if n in known and n not in ('uniscale', 'data', 'data.embedded')}


def import_graph():
    known = modules()
    return {m: project_imports(p, known) for m, p in known.items()}


def test_the_root_lists_the_scripts_and_the_two_files_forks_edit():
    root = {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, '*.py'))}
    assert root == SCRIPTS | EDITED


def test_every_module_has_a_one_line_summary_at_its_top():
    for m, path in modules().items():
        if m.endswith('__init__') or os.path.basename(path) == '__init__.py':
            continue
        doc = ast.get_docstring(ast.parse(open(path).read()))
        assert doc and doc.strip(), f"{path}: no docstring saying what it is"


def test_no_import_circle_anywhere():
    graph = import_graph()

    def reaches(a, b, seen=()):
        return any(n == b or (n not in seen and reaches(n, b, seen + (n,))) for n in graph[a])
    assert [m for m in graph if reaches(m, m)] == []


def test_scripts_import_only_scripts_earlier_in_the_flow():
    graph = import_graph()
    for m in FLOW:
        later = {s for s in graph[m] if s in FLOW and FLOW.index(s) > FLOW.index(m)}
        assert not later, f"{m}.py imports {later}, which come later in the flow"


def test_the_library_never_imports_a_script_except_the_sweeps_preflight_check():
    # uniscale/preflight_check.py is sweep.py's half: it reads train.py's, tokenizer.py's, btm.py's and prepare.py's
    # defaults (the truth of what a run will do) and measures train.py's own training step
    graph = import_graph()
    for m, deps in graph.items():
        if m.startswith(('uniscale.', 'data.')) and m != 'uniscale.preflight_check':
            assert not deps & SCRIPTS, f"{m} imports the scripts {deps & SCRIPTS}"  # model.py, configurator.py: fine
    assert {m for m, deps in graph.items() if 'uniscale.preflight_check' in deps} == {'sweep'}
    assert graph['uniscale.tokenization'] & {'tokenizer', 'btm'} == set()


def test_no_aliases_dead_prefixes_or_reexports():
    for m, path in modules().items():
        text = open(path).read()
        assert 'os.execv' not in text, f"{path}: a command that hands over to another file"
        assert '_orig_mod' not in text, f"{path}: train.py saves the uncompiled model; nothing to strip"
        assert 'noqa: F401' not in text, f"{path}: a re-export; import from where the name lives"


def test_no_file_cites_a_design_doc_outside_the_repository():
    tracked = glob.glob(os.path.join(ROOT, '*.py')) + glob.glob(os.path.join(ROOT, '*.md')) + \
        glob.glob(os.path.join(ROOT, '*', '*.py')) + glob.glob(os.path.join(ROOT, '*', '*.md'))
    for path in tracked:
        if '.venv' in path:
            continue
        assert '../' + 'shared/' not in open(path, encoding='utf-8').read(), path  # a clone has no ../shared


def test_no_module_shares_a_name_with_a_config_key():
    keys = set()
    for m in SCRIPTS | EDITED:
        tree = ast.parse(open(os.path.join(ROOT, f'{m}.py')).read())
        keys |= {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                 if isinstance(t, ast.Name) and not t.id.isupper() and not t.id.startswith('_')}
    names = {m.split('.')[-1] for m in modules()} - SCRIPTS - EDITED
    assert names & keys == set()


def test_functions_in_the_scripts_fit_on_a_screen_or_two():
    """A reader holds a function whole: none in a root script is longer than ~120 lines, but the training loop."""
    long = []
    for m in SCRIPTS | EDITED:
        for node in ast.walk(ast.parse(open(os.path.join(ROOT, f'{m}.py')).read())):
            if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > 120:
                long.append(f"{m}.{node.name}")
    assert long in ([], ['train.run'])
