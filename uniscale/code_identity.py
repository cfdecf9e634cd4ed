"""
Code is part of what a result was computed from: a result's code identity is the sha256 of the
normalised source (parsed, docstrings dropped, ast.unparse: comments and layout never count; a
script's setting defaults and settings tables dropped too: settings are recorded and compared as
settings) of a fixed list of modules per kind of artifact, CODE_FILES below (one table;
docs/DESIGN.md lists it).

    code_identity('train') -> {'sha256': ..., 'files': {'model.py': its normalised sha256, ...}}
    code_facts()           -> {'commit', 'dirty', 'python', 'torch'}: recorded, never compared

train.py records the training code in config.json `code`, eval_bpb.py the evaluation code in each
eval entry; the sweep, train.py and correlate.py compare them (changed_files names what differs). A
comment- or docstring-only edit keeps every result; an edit of what runs (e.g. model.py's
token_losses) is another code identity.
"""
import ast
import hashlib
import importlib.metadata
import os
import platform
import subprocess
import sys

# the repository the listed paths are in
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# What computes each kind of result, relative to ROOT. train: the loop, schedule and step
# (train.py), the model and its loss (model.py, chunked_loss.py), the data order and validation set
# (shards.py), validation's scorer (bpb.py), compile/DDP/restore (train_runtime.py) and device/dtype
# (hardware.py). Left out: what only finds, writes or checks files (run_folder, atomic, locks), the
# settings parser, and the tokenizer: a run reads token ids whose content is its `inputs` and a
# tokenizer whose files are its hash (it decodes validation documents only to count their bytes;
# lossless, tests/test_tokenizer.py). eval: the script, its scorer and model, and what turns the
# split's text into the ids it scores (splits.py reads a document, tokenization.py and
# btm_encoding.py encode it, with regex_gap.py's code points, long_text.py cuts a long one into
# pieces encoded alone; eval_sets.py turns a FLORES-200 line into a document).
CODE_FILES = {
    'train': ('model.py', 'train.py', 'uniscale/chunked_loss.py', 'uniscale/shards.py',
              'uniscale/bpb.py', 'uniscale/train_runtime.py', 'uniscale/hardware.py'),
    'eval': ('eval_bpb.py', 'model.py', 'uniscale/bpb.py', 'uniscale/chunked_loss.py',
             'uniscale/hardware.py', 'uniscale/splits.py', 'uniscale/tokenization.py',
             'uniscale/btm_encoding.py', 'uniscale/regex_gap.py', 'uniscale/long_text.py',
             'uniscale/eval_sets.py'),
    # tokenizer.py eval's metrics.json: the metrics, the premium's parallel text and formula, what
    # reads the split and encodes it (boundless.py: its tokenizer's encoder)
    'tokenizer_eval': ('uniscale/tokenizer_metrics.py', 'uniscale/premium.py',
                       'uniscale/fairness.py', 'uniscale/splits.py', 'uniscale/tokenization.py',
                       'uniscale/btm_encoding.py', 'uniscale/boundless.py',
                       'uniscale/regex_gap.py'),
}
# the analysis (correlate.py) is every module of ours it imports, at any depth (import_closure):
# its sections live in many modules and grow, and a list kept by hand would miss the next one
ANALYSIS_SCRIPT = 'correlate.py'
# a script's tables of how its settings are checked and compared (train.py), not of what runs
SETTINGS_TABLES = {'RESUME_FREE', 'PATH_SETTINGS', 'LEGACY_DEFAULTS', 'RANGES', 'CHOICES'}
_CACHE = {}  # sha256 of a file's bytes -> of its normalised source: a sweep judges many runs


def normalised_source(text):
    """The source as ast.unparse writes it, docstrings dropped (module, classes, functions), and a
    script's settings (settings_statement): what runs, not how it is commented or laid out."""
    tree = ast.parse(text)
    if reads_settings(tree):
        tree.body = [stmt for stmt in tree.body if not settings_statement(stmt)]
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    for node in ast.walk(tree):
        if isinstance(node, kinds) and node.body and is_docstring(node.body[0]):
            node.body = node.body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def reads_settings(tree):
    """Whether the module is a script whose settings configurator reads (configure(globals()))."""
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and
               n.func.attr == 'configure' and n.args and isinstance(n.args[0], ast.Call) and
               isinstance(n.args[0].func, ast.Name) and n.args[0].func.id == 'globals'
               for n in ast.walk(tree))


def settings_statement(stmt):
    """A script's module-level statement that only gives a setting its default (`lr = 6e-4`: a
    lower-case name, a literal value, what configurator reads) or fills a table of how settings
    are checked and compared (SETTINGS_TABLES). Settings are recorded and compared as settings
    (train.py's identity rule), so a new key at its old behaviour's value keeps every run (issue
    27 row 2)."""
    if isinstance(stmt, (ast.Assign, ast.AugAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        if len(names) != len(targets) or len(names) != 1:
            return False
        if names[0] in SETTINGS_TABLES:
            return True
        try:
            ast.literal_eval(stmt.value)
        except (ValueError, TypeError, SyntaxError, RecursionError):
            return False
        return names[0].islower() and not names[0].startswith('_')
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    return isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and \
        isinstance(call.func.value, ast.Name) and call.func.value.id in SETTINGS_TABLES


def is_docstring(stmt):
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and \
        isinstance(stmt.value.value, str)


def file_identity(path):
    """sha256 of a file's normalised source; a file that is missing or does not parse is named, not
    guessed."""
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except OSError:
        raise SystemExit(f"{path}: listed in uniscale/code_identity.CODE_FILES but missing; "
                         f"restore it or update the list") from None
    key = hashlib.sha256(raw).hexdigest()
    if key not in _CACHE:
        try:
            norm = normalised_source(raw.decode('utf-8'))
        except (SyntaxError, UnicodeDecodeError) as e:
            raise SystemExit(f"{path}: does not parse ({e}); fix it first") from None
        _CACHE[key] = hashlib.sha256(norm.encode('utf-8')).hexdigest()
    return _CACHE[key]


def imported_modules(path, root):
    """Our modules a file imports (anywhere in it, function-level imports included), as paths
    relative to root: `uniscale/x.py` for uniscale.x, `x.py` for a root script or module."""
    with open(os.path.join(root, path), encoding='utf-8') as f:
        tree = ast.parse(f.read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    packages = {n.rsplit('.', 1)[0] for n in names if '.' in n}  # importing a.b runs a/__init__.py
    found = [n.replace('.', '/') + '.py' for n in names]
    found += [p.replace('.', '/') + '/__init__.py' for p in packages]
    return {rel for rel in found if os.path.isfile(os.path.join(root, rel))}


def import_closure(script, root=None):
    """script and every module of ours it imports, directly or through another (sorted paths)."""
    root = root or ROOT
    seen, todo = set(), [script]
    while todo:
        rel = todo.pop()
        if rel not in seen:
            seen.add(rel)
            todo.extend(imported_modules(rel, root) - seen)
    return sorted(seen)


def code_identity(kind, root=None):
    """{'sha256', 'files'} of the code that computes results of this kind ('train', 'eval', or
    'analysis': correlate.py's import closure)."""
    root = root or ROOT
    rels = import_closure(ANALYSIS_SCRIPT, root) if kind == 'analysis' else CODE_FILES[kind]
    files = {rel: file_identity(os.path.join(root, rel)) for rel in rels}
    whole = hashlib.sha256(repr(sorted(files.items())).encode('utf-8')).hexdigest()
    return {'sha256': whole, 'files': files}


def code_facts(root=None):
    """What is recorded beside a code identity and never compared: the git commit, whether the tree
    had uncommitted changes, the Python and torch versions (None where git is absent)."""
    root = root or ROOT

    def git(*args):
        try:
            r = subprocess.run(['git', '-C', root, *args], capture_output=True, text=True,
                               timeout=10)
            return r.stdout.strip() if r.returncode == 0 else None
        except (OSError, subprocess.SubprocessError):
            return None
    status = git('status', '--porcelain', '--untracked-files=no')
    try:
        torch_version = str(sys.modules['torch'].__version__) if 'torch' in sys.modules else \
            importlib.metadata.version('torch')
    except importlib.metadata.PackageNotFoundError:
        torch_version = None
    return {'commit': git('rev-parse', 'HEAD'), 'dirty': None if status is None else bool(status),
            'python': platform.python_version(), 'torch': torch_version}


def code_record(kind, root=None):
    """What an artifact records: the code identity and, beside it, the facts (code_facts)."""
    return {**code_identity(kind, root), **code_facts(root)}


def changed_files(recorded, now):
    """The listed files whose normalised source differs between a recorded code identity and now (a
    file added to or dropped from the list counts), sorted; [] when the identities are equal."""
    a, b = (recorded or {}).get('files') or {}, now.get('files') or {}
    return sorted(f for f in set(a) | set(b) if a.get(f) != b.get(f))


def run_code(config):
    """The training code a run counts as computed by: the last identity accepted for it (config.json
    `code_kept`, written by code_changes='keep'), else the one it recorded (`code`); None for a run
    from before runs recorded one."""
    kept = config.get('code_kept') or []
    code = kept[-1] if kept and isinstance(kept[-1], dict) else config.get('code')
    return code if isinstance(code, dict) and code.get('sha256') else None


def code_change(config, now):
    """None when the run counts as computed by code `now`; else why not, in a few words: 'code
    unknown' (no code identity) or 'other code (differs in model.py, train.py)' naming the files."""
    code = run_code(config)
    if code is None:
        return 'code unknown (from before runs recorded their code)'
    if code['sha256'] == now['sha256']:
        return None
    return f"other code (differs in {', '.join(changed_files(code, now)) or 'the list of files'})"
