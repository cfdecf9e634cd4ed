"""
Your own text in prepare.py (--corpus=NAME with --files= and the given splits --train_files=,
--val_files=, --test_files=, --tok_files=): which files are read, each document's split, and the
settings (content, not paths) that identify the splits. The rule, 'text_sha256':

- Files by content: within one setting, a file whose sha256 an earlier file has (a copy, a symlink)
  is read once; meta.json lists every path given, with its sha256 and the file it duplicates. The
  settings hold the sha256s in reading order, not the paths: the same files under other spellings
  are the same splits.
- Documents by their text: a document of `files` (the pool) draws u in [0, 1) from the sha256 of the
  seed and its text (identity.text_sha256): val when u < eval_fraction, test when u < 2 x
  eval_fraction, else train; a split that is given takes none from the pool (such a draw goes to
  train). One text, under two names or repeated, has one split, and every copy of it lands there.
- Given splits stay as given. A text is in one split only: the first of given test, given val,
  drawn test, drawn val that holds it, else train. A document of train (given or drawn) or of tok
  (the tokenizers' split) whose text is in val or test is dropped, and so is a copy of a text in
  val or test where that text belongs to the other (a given val document whose text is in the
  given test; a pooled copy of a given text); meta.json counts them (`dropped`). Every given test
  document is kept. tok is the given tok_files, else the first tok_bytes of train.
Splits made before this rule (settings without `split_rule`) are kept as made (made_by_old_rule).
"""
import hashlib

from uniscale.identity import differences, file_sha256, text_sha256
from uniscale.sources import input_files

RULE = 'text_sha256'
RULE_WORDS = {None: 'each file by its path, each document by a seeded random draw',
              RULE: "each file by its sha256, each document by its text's sha256"}
KEYS = {'files': 'files', 'train': 'train_files', 'val': 'val_files', 'test': 'test_files',
        'tok': 'tok_files'}
HELD_OUT = ('test', 'val')  # a text in both is test's


def given(cfg):
    """The splits given as files (some of train, val, test, tok)."""
    return {role for role, key in KEYS.items() if role != 'files' and cfg.get(key)}


def input_records(cfg):
    """Every file given, setting by setting in reading order: {'split': 'files' (the pool) or the
    split given, 'path', 'sha256', 'duplicate_of': the earlier path of the same setting with the
    same content (read instead), or None}."""
    records = []
    for role, key in KEYS.items():
        first = {}
        for path in input_files(cfg.get(key, ''), key):
            try:
                sha = file_sha256(path)
            except OSError as e:
                raise SystemExit(f"{path}: cannot be read ({e.strerror}) (--{key}=); make it "
                                 f"readable, or leave it out") from None
            records.append({'split': role, 'path': path, 'sha256': sha,
                            'duplicate_of': first.get(sha)})
            first.setdefault(sha, path)
    return records


def read_once(records):
    return [r for r in records if r['duplicate_of'] is None]


def own_settings(records):
    """What identifies the splits beyond the plain settings: the rule, and each setting's file
    sha256s in reading order."""
    inputs = {}
    for r in read_once(records):
        inputs.setdefault(r['split'], []).append(r['sha256'])
    return {'split_rule': RULE, 'inputs': inputs}


def draw(sha, seed):
    """A uniform number in [0, 1) from a text's sha256 (hex) and the seed."""
    h = hashlib.sha256(f"{seed}:{sha}".encode('ascii')).digest()
    return int.from_bytes(h[:8], 'big') / 2.0 ** 64


def drawn_split(sha, cfg, given_splits):
    """A pooled document's split (see the module's docstring)."""
    u, f = draw(sha, cfg['seed']), cfg['eval_fraction']
    if u < f and 'val' not in given_splits:
        return 'val'
    if f <= u < 2 * f and 'test' not in given_splits:
        return 'test'
    return 'train'


def rank(role, split):
    """Which copy of a text in val or test is kept: the lowest (given test 0, given val 1, drawn
    test 2, drawn val 3)."""
    return HELD_OUT.index(split) + (2 if role == 'files' else 0)


def held_out(docs, cfg, given_splits):
    """{text sha256: rank} of every text val or test holds, from (split setting, text) of every
    document. Only given splits can collide with another split: without them it is not needed."""
    held = {}
    for role, text in docs:
        if role == 'tok':
            continue
        sha = text_sha256(text)
        split = role if role != 'files' else drawn_split(sha, cfg, given_splits)
        if split in HELD_OUT:
            held[sha] = min(rank(role, split), held.get(sha, 4))
    return held


def place(role, text, cfg, given_splits, held):
    """(split, kept) of a document of a split setting: kept is False where its text belongs to
    another split (held_out)."""
    sha = text_sha256(text)
    split = role if role != 'files' else drawn_split(sha, cfg, given_splits)
    if sha not in held:
        return split, True
    return split, split in HELD_OUT and rank(role, split) == held[sha]


def dropped_line(corpus_dir, dropped):
    """What was dropped to keep every text in one split, for the log; '' when nothing was."""
    parts = [f"{n:,} {s}" for s, n in dropped.items() if n]
    return (f"{corpus_dir}: dropped {', '.join(parts)} documents whose text is in val or test "
            f"(another split, or a given copy): each text in one split only") * bool(parts)


# ---------------------------------------------------------------- what changed; the old rule
PLAIN = {'split_rule', 'inputs', 'files', 'file_sha256'}  # the rest compare as they are


def plain(settings):
    return {k: v for k, v in settings.items() if k not in PLAIN}


def made_by_old_rule(old, new, records):
    """The recorded settings are the old rule's (files by path, a seeded draw) for the same content
    and settings as these: those splits are kept as made (remade only with overwrite=True)."""
    if not isinstance(old, dict) or 'split_rule' in old or \
            not isinstance(old.get('file_sha256'), dict):
        return False
    pool = [r['sha256'] for r in records if r['split'] == 'files']
    return plain(old) == plain(new) and set(new['inputs']) == {'files'} and \
        list(old['file_sha256'].values()) == pool


def changes(old_meta, new, records):
    """What differs between the splits' recorded settings and these, one short phrase each: the
    rule, plain settings, and the files (by path, from meta.json's list)."""
    old = old_meta.get('settings') if isinstance(old_meta.get('settings'), dict) else {}
    out = []
    if old.get('split_rule') != new['split_rule']:
        before = RULE_WORDS.get(old.get('split_rule'), old.get('split_rule'))
        out.append(f"split rule: {before} -> {RULE_WORDS[new['split_rule']]}")
    return out + differences(plain(old), plain(new)) + file_changes(old_meta.get('files'), records)


def file_changes(old_files, records):
    """'path: old -> new' for a path whose content changed, '+path' / '-path' for content given or
    no longer given, per split setting; 'the order of the files' when only that differs."""
    old = [f for f in old_files if isinstance(f, dict)] if isinstance(old_files, list) else []
    role = lambda f: f.get('split', 'files')  # meta.json of the old rule: the pool's only
    out = []
    for r in records:
        if r['sha256'] in {f.get('sha256') for f in old if role(f) == r['split']}:
            continue
        was = [f for f in old if role(f) == r['split'] and f.get('path') == r['path']]
        out.append(f"{r['path']}: {str(was[0].get('sha256'))[:12]!r} -> {r['sha256'][:12]!r}"
                   if was else f"+{r['path']} ({KEYS[r['split']]})")
    now = {(r['split'], r['sha256']) for r in records} | {(r['split'], r['path']) for r in records}
    out += [f"-{f.get('path')} ({KEYS.get(role(f), role(f))})" for f in old
            if not {(role(f), f.get('sha256')), (role(f), f.get('path'))} & now]
    order = [(role(f), f.get('sha256')) for f in old] != [(r['split'], r['sha256'])
                                                         for r in records]
    return out or (['the order of the files'] if old and order else [])
