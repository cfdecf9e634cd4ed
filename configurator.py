"""
Config overrides shared by every uniscale script, in the style of nanoGPT's configurator:

    python train.py config/demo.py --batch_size=32 --lr=3e-4 --corpus=tinystories

A script lists its defaults as plain module-level values, then calls

    config = configurator.configure(globals())

which runs each config file given (plain Python assignments), then applies the --key=value overrides
(parsed with ast.literal_eval; a value that is not a Python literal is taken as a bare string).
Unlike nanoGPT it never execs into the script's globals blindly: an unknown key or a value of the
wrong type is a one-line error naming the key. An int is accepted where a float is expected
(--lr=1), a list where a tuple is, a comma-separated string, a bracketed list of bare words or a single value
where a list is (--langs=eng,deu_Latn, --presets=[apertus-50M,apertus-100M], --seeds=1; a word may hold
balanced brackets, as a glob does: --runs='out/runs/*_s[12]'), and anything where the default is None.
UPPER_CASE names and _private names are constants, not keys (a config file may define LANG_SET_20).
If the script has a `command` key, one bare word (`python tokenizer.py eval`) sets it.
It returns the final config as a dict (what runs write to config.json).
"""
import ast
import copy
import math
import os
import sys
import traceback

PLAIN_TYPES = (bool, int, float, str, type(None), list, tuple, dict)


def config_keys(namespace):
    """The names a script exposes as configuration: public lower-case module-level plain values."""
    return [k for k, v in namespace.items() if is_key(k, v)]


def defaults(script):
    """A script's configuration keys and default values, as a fresh dict (script: an imported script module, or
    its globals()); deep-copied, so changing the dict never changes the script."""
    namespace = script if isinstance(script, dict) else vars(script)
    return copy.deepcopy({k: namespace[k] for k in config_keys(namespace)})


def at_least(lo):
    """A range for RANGES: a finite number >= lo."""
    return (lambda v: math.isfinite(v) and v >= lo), f">= {lo}"


def above(lo):
    """A range for RANGES: a finite number > lo."""
    return (lambda v: math.isfinite(v) and v > lo), f"> {lo}"


def within(lo, hi):
    """A range for RANGES: lo <= v < hi."""
    return (lambda v: lo <= v < hi), f"in [{lo}, {hi})"


def check_ranges(cfg, ranges):
    """Refuse in one line a value outside its range (ranges: key -> (test, what it must be), a script's RANGES),
    before any work: a value only torch would reject, or one that would quietly compute nothing."""
    for key, (ok, must) in ranges.items():
        if key in cfg and not ok(cfg[key]):
            raise SystemExit(f"config error: {key}={cfg[key]!r} must be {must}")


def is_key(name, value):
    # _private names and UPPER_CASE constants (MAGIC, LANG_SET_20) are not configuration
    return not name.startswith('_') and not name.isupper() and isinstance(value, PLAIN_TYPES)


def coerce(key, value, default, where):
    """Check `value` against the type of `default`; return it (converted where that is lossless)."""
    if default is None:
        return value
    if isinstance(default, bool):  # bool before int: True is an int in Python
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
        if not ok and isinstance(value, float) and value.is_integer():  # --max_steps=1e4
            value, ok = int(value), True
    elif isinstance(default, (list, tuple)):
        if isinstance(value, str):  # --langs=eng,deu_Latn or --presets=[apertus-50M,apertus-100M]
            value = bare_word_list(key, value, where)
        elif isinstance(value, (int, float)):  # --seeds=1
            value = [value]
        ok = isinstance(value, (list, tuple))
        value = type(default)(value) if ok else value
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise SystemExit(f"config error ({where}): '{key}' expects {type(default).__name__} "
                         f"(default {default!r}), got {type(value).__name__} {value!r}")
    return value


BRACKETS = {'[': ']', '(': ')'}


def balanced(word):
    """Every bracket in word closed, in order: a glob such as out/runs/*_s[12] is a name; 'deu]' or '[eng' is a typo."""
    stack = []
    for c in word:
        if c in BRACKETS:
            stack.append(BRACKETS[c])
        elif c in ')]' and (not stack or stack.pop() != c):
            return False
    return not stack


def bare_word_list(key, text, where):
    """'a,b' or '[a, b]' or "['a', b]" -> ['a', 'b'] (strings, as the shell leaves them unquoted); a word may hold
    balanced brackets (a glob: out/runs/*_s[12]). A value that opens or closes a list without the other half, or
    a list inside the list, is a typo, not a name, and is refused."""
    if text[:1] in BRACKETS and text[-1:] == BRACKETS[text[0]] and balanced(text[1:-1]):
        text = text[1:-1]
    words = [w.strip().strip('\'"').strip() for w in text.split(',')]
    for w in words:
        if not balanced(w) or (w[:1] in BRACKETS and w[-1:] == BRACKETS[w[0]]):
            raise SystemExit(f"config error ({where}): '{key}' expects a list of words, got {text!r} with unbalanced "
                             f"or nested brackets; write --{key}=a,b or --{key}=[a,b] (a glob may hold [..])")
    return [w for w in words if w]


def parse_value(text):
    """--key=value: a Python literal if it parses as one, else the bare string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def run_config_file(path, namespace, keys):
    if not os.path.isfile(path):
        raise SystemExit(f"config error: config file {path} not found (configs live in config/*.py)")
    file_ns = {}
    with open(path, 'rb') as f:
        source = f.read()
    try:
        code = compile(source, path, 'exec')
    except SyntaxError as e:  # a typo in the file: where it is, not a traceback into this module
        raise SystemExit(f"config error: {path}:{e.lineno}: {type(e).__name__}: {e.msg}") from None
    try:
        exec(code, file_ns)  # a config file is trusted Python, as in nanoGPT
    except Exception as e:  # NameError, ImportError, ...: the line of the config file that raised it
        lines = [fr.lineno for fr in traceback.extract_tb(e.__traceback__) if fr.filename == path]
        raise SystemExit(f"config error: {path}:{lines[-1] if lines else '?'}: {type(e).__name__}: {e}") from None
    for k, v in file_ns.items():
        if not is_key(k, v):
            continue  # imports, helpers, constants and private names are the file's own business
        if k not in keys:
            raise SystemExit(f"config error ({path}): unknown key '{k}'; known keys: {', '.join(sorted(keys))}")
        namespace[k] = coerce(k, v, namespace[k], path)


def configure(namespace, argv=None):
    """Apply config files and --key=value overrides from argv (default sys.argv[1:]) to `namespace`."""
    argv = sys.argv[1:] if argv is None else argv
    keys = config_keys(namespace)
    for arg in argv:
        if arg in ('-h', '--help'):
            print('\n'.join(f"  --{k}={namespace[k]!r}" for k in keys))
            raise SystemExit(0)
        if arg.endswith('.py') and not arg.startswith('--'):
            run_config_file(arg, namespace, keys)
        elif arg.startswith('--'):
            key, eq, text = arg[2:].partition('=')
            if not eq:
                raise SystemExit(f"config error: '{arg}' must be --key=value")
            if key not in keys:
                raise SystemExit(f"config error: unknown key '{key}'; known keys: {', '.join(sorted(keys))}")
            namespace[key] = coerce(key, parse_value(text), namespace[key], 'command line')
        elif 'command' in keys:
            namespace['command'] = arg
        else:
            raise SystemExit(f"config error: unexpected argument '{arg}' (expected config/*.py or --key=value)")
    cfg = {k: namespace[k] for k in keys}
    check_ranges(cfg, namespace.get('RANGES', {}))
    return cfg
