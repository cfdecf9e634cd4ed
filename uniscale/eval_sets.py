"""
More than one eval set: which text a set is (its identity, from content) and FLORES-200 read from
its own folder layout. For correlate.py scale, each secondary set's ranking and verdict and the flip
table between sets are in uniscale/eval_set_analysis.py.

A study has ONE primary eval set (correlate.py's / sweep.py's `eval_args`): it decides the headline
and the verdict. `secondary_eval_sets` ({name: eval_bpb.py settings}) are scored on every run too,
each read by its identity (the sha256 of the text, never its name, which is for people), and
analysed by the same code as the primary (scale_analysis.all_pairs: rank tests, seed intervals,
rank_stats.verdict), labelled secondary; they never feed the headline. A set is either a split of a
prepared corpus (`corpus`, `split`, ... as the primary), `files` (eval_bpb.py --files: .jsonl /
.txt) or FLORES-200 (`flores_dir`, `flores_split` 'dev' | 'devtest', `flores_langs`); a set's
settings may carry a `note` (for the report: e.g. that it shares a generator with the primary set).

FLORES-200 (the original release, flores200_dataset.tar.gz, unpacked):
{flores_dir}/{split}/{lang}.{split}, one sentence a line, languages like eng_Latn. Each sentence is
one document tagged with its file's language (its text the line without its line ending; blank lines
skipped); the files are hashed as read, as --files are. Offline only. Scores of files and FLORES
sets go to the run's eval_files.json, split sets to the split's eval file. JSON and text only (no
torch, no scipy: eval_bpb.py imports it).
"""
import glob
import os

from uniscale import identity, run_folder

FLORES_SPLITS = ('dev', 'devtest')
FLORES_CORPUS = 'flores200'  # the eval_set's corpus of a FLORES set (its split: dev or devtest)
FLORES_FIX = ("download flores200_dataset.tar.gz (github.com/facebookresearch/flores, FLORES-200), "
              "unpack it and pass --flores_dir=.../flores200_dataset")
# eval_bpb.py settings a secondary set may give (the rest of eval_bpb.py's settings are the
# sweep's), and its note
SET_KEYS = ('corpus', 'corpus_dir', 'split', 'max_docs_per_lang', 'context', 'overlap', 'files',
            'flores_dir', 'flores_split', 'flores_langs', 'note')


# ---------------------------------------------------------------- which text a set is
def listed_files(spec):
    """The files of --files: a comma list (or list) of paths and globs, each file once, in order."""
    found = []
    for p in (spec.split(',') if isinstance(spec, str) else spec):
        p = p.strip()
        matches = sorted(glob.glob(p)) if glob.has_magic(p) else [p] if p else []
        if not matches:
            raise SystemExit(f"--files={spec}: nothing matches {p!r}; give .jsonl or .txt files (a "
                             f"glob or comma list)")
        found += matches
    gone = [p for p in found if not os.path.isfile(p)]
    if gone:
        raise SystemExit(f"{gone[0]}: no such file; check the path")
    bad = [p for p in found if not p.endswith(('.jsonl', '.txt'))]
    if bad:
        raise SystemExit(f"{bad[0]}: --files takes .jsonl ({{\"text\", \"lang\"}} a line) or .txt "
                         f"(one document) files; convert it, or prepare it with prepare.py --files")
    return list(dict.fromkeys(os.path.abspath(p) for p in found))


def flores_files(flores_dir, split='devtest', langs=()):
    """[{flores_dir}/{split}/{lang}.{split}] of the languages asked for ([] or '': every file there,
    sorted); a missing folder or language is a one-line SystemExit naming the path and the fix."""
    if split not in FLORES_SPLITS:
        raise SystemExit(f"flores_split={split!r}: FLORES-200 has {' and '.join(FLORES_SPLITS)}; "
                         f"choose one")
    folder = os.path.join(flores_dir, split)
    if not os.path.isdir(folder):
        raise SystemExit(f"{folder}: no FLORES-200 {split} folder here (it holds "
                         f"{split}/eng_Latn.{split} and the other languages); {FLORES_FIX}")
    have = sorted(f[:-len(split) - 1] for f in os.listdir(folder) if f.endswith('.' + split))
    langs = langs.split(',') if isinstance(langs, str) else langs
    langs = [lang.strip() for lang in langs if lang.strip()]
    missing = [lang for lang in langs if lang not in have]
    if missing:
        path = os.path.join(folder, f"{missing[0]}.{split}")
        raise SystemExit(f"{path}: no such FLORES-200 file (language {missing[0]}); name languages "
                         f"as FLORES does (e.g. {', '.join(have[:3]) or 'eng_Latn'}; {len(have)} "
                         f"here) in flores_langs, or {FLORES_FIX}")
    if not have:
        raise SystemExit(f"{folder}: no {{lang}}.{split} files; {FLORES_FIX}")
    return [os.path.abspath(os.path.join(folder, f"{lang}.{split}")) for lang in (langs or have)]


def is_flores(path):
    return path.endswith(tuple('.' + s for s in FLORES_SPLITS))


def flores_docs(path, h=None):
    """The (sentence, lang) documents of one FLORES-200 file, one a line (the line without its line
    ending, blank lines skipped), lang from its name ({lang}.{split}); h (a hashlib object) gets
    exactly the bytes read."""
    lang = os.path.basename(path).rsplit('.', 1)[0]
    with open(path, 'rb') as f:
        for line_no, line in enumerate(f, 1):
            if h is not None:
                h.update(line)
            line = line.rstrip(b'\n').rstrip(b'\r')
            if not line:
                continue
            try:
                yield line.decode('utf-8'), lang
            except UnicodeDecodeError as e:
                raise SystemExit(f"{path}:{line_no}: not UTF-8 text (byte {e.start}); "
                                 f"{FLORES_FIX}") from None


def is_external(settings):
    """True for a set of files or FLORES (scored into eval_files.json), False for a corpus split."""
    return bool(settings.get('files') or settings.get('flores_dir'))


def set_paths(settings):
    """The files an external set reads, in order."""
    if settings.get('flores_dir'):
        return flores_files(settings['flores_dir'], settings.get('flores_split', 'devtest'),
                            settings.get('flores_langs') or ())
    return listed_files(settings['files'])


def external_set(run_cfg, settings, paths, shas):
    """The eval_set (less n_docs) eval_bpb.py records for files or FLORES read from paths with
    sha256s shas: identity is content, the files' hashes in order (the order decides what
    max_docs_per_lang keeps); FLORES adds each file's language (the tag its sentences get)."""
    if settings.get('flores_dir'):
        corpus, split = FLORES_CORPUS, settings.get('flores_split', 'devtest')
        files = [{'path': p, 'sha256': s, 'lang': os.path.basename(p).rsplit('.', 1)[0]}
                 for p, s in zip(paths, shas)]
        sha = identity.fingerprint([[f['lang'], f['sha256']] for f in files])
    else:
        corpus, split = 'files', 'files'
        files = [{'path': p, 'sha256': s} for p, s in zip(paths, shas)]
        sha = identity.fingerprint(list(shas))
    base = run_folder.wanted_eval_set(run_cfg, {**settings, 'corpus': corpus, 'split': split})
    return {**base, 'split_sha256': sha, 'files': files}


def wanted_set(run_cfg, settings):
    """The eval_set (less n_docs) a scoring of the run (config run_cfg) with eval_bpb.py `settings`
    records: a corpus split's as run_folder.wanted_eval_set says; files or FLORES hashed now (a
    missing file: a one-line SystemExit)."""
    if not is_external(settings):
        return run_folder.wanted_eval_set(run_cfg, settings)
    paths = set_paths(settings)
    want = external_set(run_cfg, settings, paths, [identity.file_sha256(p) for p in paths])
    want.pop('files')
    return want


def eval_file_of(run_dir, settings):
    """The eval file a set's scores go to: eval_files.json for files and FLORES, else the
    split's."""
    split = 'files' if is_external(settings) else settings.get('split', 'test')
    return run_folder.eval_path(run_dir, split)


def eval_settings(settings):
    """A set's eval_bpb.py settings (its note is for the report)."""
    return {k: v for k, v in settings.items() if k != 'note'}


def is_current(run_dir, settings, keep_eval_code=False):
    """run_folder.eval_is_current for any set, files and FLORES included (their identity hashed
    now)."""
    settings = eval_settings(settings)
    if not is_external(settings):
        return run_folder.eval_is_current(run_dir, settings, keep_eval_code=keep_eval_code)
    run_cfg = run_folder.read_json(os.path.join(run_dir, 'config.json'), default={})
    want = wanted_set(run_cfg if isinstance(run_cfg, dict) else {}, settings)
    return run_folder.eval_is_current(run_dir, settings, keep_eval_code=keep_eval_code, want=want,
                                      path=eval_file_of(run_dir, settings))


def checked_secondary(sets):
    """secondary_eval_sets ({name: settings}) checked: a dict of dicts whose keys are SET_KEYS;
    anything else is a one-line SystemExit saying what to give."""
    if not isinstance(sets, dict) or not all(isinstance(v, dict) for v in sets.values()):
        raise SystemExit(f"secondary_eval_sets={sets!r}: give {{name: {{eval_bpb.py settings}}}}, "
                         f"e.g. {{'flores-dev': {{'flores_dir': 'data/flores200_dataset', "
                         f"'flores_split': 'dev'}}}}")
    for name, s in sets.items():
        bad = sorted(set(s) - set(SET_KEYS))
        if bad:
            raise SystemExit(f"secondary_eval_sets[{name!r}]: {bad[0]!r} is not a setting of an "
                             f"eval set; use {', '.join(SET_KEYS)}")
        if s.get('files') and s.get('flores_dir'):
            raise SystemExit(f"secondary_eval_sets[{name!r}]: give files or flores_dir, not both")
    return sets
