"""The tokenization premium on parallel text (Petrov et al. 2023) for `tokenizer.py eval`: which
parallel set, its languages and identity, and a tokenizer's `premium` object in metrics.json.

Parallel sets (premium_set):
- 'flores200': FLORES-200 from a local folder (--flores_dir: {dir}/{dev,devtest}/{code}.{split},
  the release's layout, as Petrov et al.'s repository ships it); flores_split 'dev', 'devtest' or
  'dev+devtest' (theirs: both, dev first);
- 'flores_plus': FLORES+ from the hub (openlanguagedata/flores_plus, gated), same splits;
- 'files': a user's parallel text, --premium_files=DIR/*.txt, one {lang}.txt per language (lang:
  the study's code, e.g. eng, cmn_Hani), line-aligned (unequal line counts are refused);
- 'embedded-parallel': the generated stories told in each language (offline; parallel in plot,
  not word for word).
Every set is held as {study language: [list of items, ...]}: a file's items are its
read().split('\\n') (the empty item after the last newline kept, as Petrov et al.'s code reads a
file); sentences from the hub and generated stories are given the items a file holding them one a
line would have (the sentences, then one empty item), so FLORES+ and the local files give one text.

Modes (premium_mode), a language's tokens:
- 'petrov': " ".join of all its items (dev's then devtest's, or its one file's), encoded ONCE
  (Petrov et al.'s protocol, exactly: their published cl100k_base counts are reproduced);
- 'per_sentence': the sum of its items' tokens, each item encoded on its own.
premiums = tokens / tokens of the reference (its 1 included); gini = the population Gini of the
premiums (uniscale/fairness.py). In either mode `per_sentence` is the mean over sentence pairs of
tokens / reference tokens (pairs whose reference item has no tokens left out: the empty items).

Languages: --premium_languages takes FLORES-200 codes (zho_Hans, pes_Arab); metrics.json keys them
by the study's code (cmn_Hani, fas_Arab: fairness.FLORES200_CODES), a code outside the study's 20 by
itself. Default: the eval split's languages (each mapped to its FLORES-200 file), so every language
the metrics have per language gets its premium. identity: the sha256 of the parallel text as read
(its items, per language, canonical JSON): one text from the hub or a folder has one identity.
"""
import glob
import hashlib
import json
import os

from uniscale.eval_sets import FLORES_FIX, flores_files
from uniscale.fairness import FLORES200_CODES, flores_lines, gini, premiums
from uniscale.sources import hub_available

SETS = ('flores200', 'flores_plus', 'files', 'embedded-parallel')
MODES = ('petrov', 'per_sentence')
FLORES_SETS = ('flores200', 'flores_plus')
SPLIT_CHOICES = {'dev': ('dev',), 'devtest': ('devtest',), 'dev+devtest': ('dev', 'devtest')}
STUDY_CODE = {code: lang for lang, code in FLORES200_CODES.items()}  # FLORES-200 -> study code


def study_code(code):
    """The metrics key of a FLORES-200 code: the study's (zho_Hans -> cmn_Hani), else itself."""
    return STUDY_CODE.get(code, code)


def flores200_code(lang):
    """The FLORES-200 file code of a study (or FLORES-200) code: cmn_Hani -> zho_Hans."""
    return FLORES200_CODES.get(lang, lang)


def reference_of(cfg):
    """premium_reference as a study code (eng_Latn, a FLORES-200 code, reads as eng)."""
    return study_code(cfg['premium_reference'])


# ---------------------------------------------------------------- settings, checked before any text
def check_premium_config(cfg):
    """Fail at once (before the eval split is read) on a premium setting that cannot work: one line
    each, naming the setting and the fix."""
    which, mode = cfg['premium_set'], cfg['premium_mode']
    if mode not in MODES:
        raise SystemExit(f"config error: premium_mode={mode!r} unknown; use 'petrov' (Petrov et "
                         f"al.: each language's text joined, encoded once) or 'per_sentence'")
    if which not in SETS:
        raise SystemExit(f"config error: premium_set={which!r} unknown; use one of "
                         f"{', '.join(SETS)}")
    if cfg['premium_files'] and which != 'files':
        raise SystemExit(f"config error: premium_files={cfg['premium_files']!r} given but "
                         f"premium_set={which!r}; add --premium_set=files to measure on them")
    if cfg['premium_languages'] and which not in FLORES_SETS:
        raise SystemExit(f"config error: premium_languages picks FLORES languages, but "
                         f"premium_set={which!r} (files: the files given are the languages; "
                         f"embedded-parallel: the eval split's); drop --premium_languages")
    if which in FLORES_SETS:
        check_flores_config(cfg)
    elif which == 'files':
        parallel_files(cfg)
    else:
        from data.embedded import generate
        if reference_of(cfg) not in generate.LANGS:
            raise SystemExit(f"config error: premium_reference={cfg['premium_reference']!r} is "
                             f"not a language of the embedded corpus {generate.LANGS}; use 'eng' "
                             f"or another premium_set")


def check_flores_config(cfg):
    which, split = cfg['premium_set'], cfg['flores_split']
    if split not in SPLIT_CHOICES:
        raise SystemExit(f"config error: flores_split={split!r}; use 'dev+devtest' (Petrov et "
                         f"al.'s text), 'dev' or 'devtest'")
    if which == 'flores_plus':
        if not hub_available(cfg['flores_repo']):
            raise SystemExit(f"{cfg['flores_repo']}: the Hugging Face hub cannot be reached "
                             f"(offline, or HF_HUB_OFFLINE=1); use --premium_set=flores200 "
                             f"--flores_dir=... (the files on disk) or "
                             f"--premium_set=embedded-parallel")
        return
    if not cfg['flores_dir']:
        raise SystemExit("config error: premium_set='flores200' reads FLORES-200 from a folder "
                         "now: pass --flores_dir=.../flores200_dataset (the folder holding dev/ "
                         "and devtest/), or use --premium_set=flores_plus (the hub's copy)")
    for s in SPLIT_CHOICES[split]:
        flores_files(cfg['flores_dir'], s)  # the folder is there and holds FLORES-200 files
    ref = [flores200_code(reference_of(cfg))]
    for what, codes in (('premium_reference', ref),
                        ('premium_languages', cfg['premium_languages'])):
        for code in codes:
            flores_file(cfg['flores_dir'], code, SPLIT_CHOICES[split], what)


def flores_file(flores_dir, code, splits, what):
    """Refuse in one line a language with no FLORES-200 file in flores_dir."""
    for s in splits:
        path = os.path.join(flores_dir, s, f"{code}.{s}")
        if not os.path.isfile(path):
            raise SystemExit(f"{path}: no FLORES-200 file for {code!r} ({what}); name languages by "
                             f"their FLORES-200 codes (eng_Latn, zho_Hans, pes_Arab; for "
                             f"premium_reference also the study's: eng), or {FLORES_FIX}")


# ---------------------------------------------------------------- the parallel text
def parallel_set(cfg, eval_langs):
    """{'set', 'reference', 'texts': {study language: [items, ...]}, 'sources', 'identity'} of the
    configured set, for the given languages (default: the eval split's) and the reference."""
    check_premium_config(cfg)
    ref, which = reference_of(cfg), cfg['premium_set']
    if which == 'files':
        texts, sources = parallel_files(cfg)
    elif which == 'embedded-parallel':
        from data.embedded import generate
        told = [lang for lang in generate.LANGS if lang in eval_langs or lang == ref]
        stories = generate.generate_parallel(cfg['premium_n_stories'], cfg['premium_seed'], told)
        texts = {lang: [as_file_items(s)] for lang, s in stories.items()}
        sources = {lang: 'data/embedded/generate.py' for lang in texts}
    else:
        langs = ([study_code(c) for c in cfg['premium_languages']] if cfg['premium_languages']
                 else sorted(eval_langs))
        langs = sorted(set(langs) | {ref})
        texts, sources = (flores200_texts(cfg, langs) if which == 'flores200'
                          else flores_plus_texts(cfg, langs))
    check_aligned(texts, sources)
    return {'set': which, 'reference': ref, 'texts': texts, 'sources': sources,
            'identity': text_identity(texts)}


def as_file_items(sentences):
    """The items of a file holding these sentences one a line: them, then one empty item."""
    return list(sentences) + ['']


def flores200_texts(cfg, langs):
    texts, sources = {}, {}
    splits = SPLIT_CHOICES[cfg['flores_split']]
    for lang in langs:
        code = flores200_code(lang)
        flores_file(cfg['flores_dir'], code, splits, f"language {lang!r}; pick languages with "
                                                     f"--premium_languages=[eng_Latn,...]")
        texts[lang] = [flores_lines(cfg['flores_dir'], code, s) for s in splits]
        sources[lang] = [os.path.join(cfg['flores_dir'], s, f"{code}.{s}") for s in splits]
    return texts, sources


def flores_plus_code(lang, codes):
    """A study code's FLORES+ config: tokenizer.py's flores_codes, else its FLORES-200 code (a bare
    ISO code as Latin script)."""
    code = codes.get(lang, flores200_code(lang))
    return code if '_' in code else f"{code}_Latn"


def flores_plus_texts(cfg, langs):
    texts = {lang: [] for lang in langs}
    for s in SPLIT_CHOICES[cfg['flores_split']]:
        got = flores_texts(cfg['flores_repo'], s, langs, cfg['flores_codes'])
        for lang in langs:
            texts[lang].append(as_file_items(got[lang]))
    codes = {lang: f"{cfg['flores_repo']}:{flores_plus_code(lang, cfg['flores_codes'])}"
             for lang in langs}
    return texts, codes


def flores_texts(repo, split, langs, codes):
    """{lang: [sentence, ...]} of FLORES+ on the hub, each language in sentence id order."""
    import datasets  # heavy, and only the hub's FLORES needs it
    out = {}
    for lang in langs:
        code = flores_plus_code(lang, codes)
        try:
            rows = sorted(datasets.load_dataset(repo, code, split=split), key=lambda r: r['id'])
        except Exception as e:  # gated, unknown config, network: say which language, what to do
            first = str(e).strip().splitlines()[0][:200] if str(e).strip() else ''
            raise SystemExit(f"{repo}: cannot load {code!r} ({split}) for language {lang!r}: "
                             f"{type(e).__name__}: {first}; accept the dataset's terms on the hub "
                             f"and `huggingface-cli login`, or map the language to its FLORES code "
                             f"with --flores_codes") from None
        out[lang] = [r['text'] if 'text' in r else r['sentence'] for r in rows]
    if len({len(v) for v in out.values()}) > 1:
        raise SystemExit(f"{repo} ({split}): languages have different numbers of sentences "
                         f"{ {k: len(v) for k, v in out.items()} }; it is not parallel, check "
                         f"flores_repo/flores_split")
    return out


def premium_file_paths(spec):
    """The files of --premium_files (a glob, or a list of globs/paths), each once, sorted."""
    specs = [spec] if isinstance(spec, str) else list(spec)
    paths = sorted({p for s in specs for p in (glob.glob(s) if glob.has_magic(s) else [s])})
    if not paths:
        raise SystemExit(f"config error: premium_files={spec!r} matches no file; give "
                         f"--premium_files='DIR/*.txt' ({{lang}}.txt per language, line-aligned)")
    for p in paths:
        if not os.path.isfile(p) or not p.endswith('.txt'):
            raise SystemExit(f"{p}: premium_files takes {{lang}}.txt files (lang: the study's "
                             f"code, e.g. eng.txt, cmn_Hani.txt); rename or remove it")
    return paths


def parallel_files(cfg):
    """({lang: [items of {lang}.txt]}, {lang: path}) of --premium_files, refused in one line when
    the reference has no file, two files name one language, or line counts differ."""
    if not cfg['premium_files']:
        raise SystemExit("config error: premium_set='files' needs --premium_files='DIR/*.txt' "
                         "({lang}.txt per language, line-aligned)")
    texts, sources = {}, {}
    for path in premium_file_paths(cfg['premium_files']):
        lang = os.path.basename(path)[:-len('.txt')]
        if lang in sources:
            raise SystemExit(f"{path}: a second file for language {lang!r} (also {sources[lang]}); "
                             f"give one file per language")
        try:
            with open(path, encoding='utf-8') as f:
                texts[lang] = [f.read().split('\n')]  # items as a FLORES file's (flores_lines)
        except UnicodeDecodeError as e:
            raise SystemExit(f"{path}: not UTF-8 text (byte {e.start}); convert it to "
                             f"UTF-8") from None
        sources[lang] = path
    ref = reference_of(cfg)
    if ref not in texts:
        raise SystemExit(f"premium_files={cfg['premium_files']!r}: no {ref}.txt for the reference "
                         f"language (found: {', '.join(sorted(texts))}); add it or set "
                         f"--premium_reference")
    check_aligned(texts, sources)
    return texts, sources


def n_lines(items):
    """Lines of a file read as items: the empty item after a final newline is not a line."""
    return len(items) - (1 if items and items[-1] == '' else 0)


def check_aligned(texts, sources):
    """Parallel text is line-aligned: every language has as many lines in each part as the first
    language; refused in one line naming both files (or sources) and their counts."""
    first = min(texts)
    for lang, parts in sorted(texts.items()):
        for k, (a, b) in enumerate(zip(texts[first], parts)):
            if n_lines(a) != n_lines(b):  # a missing final newline is no misalignment
                src = lambda x: x[k] if isinstance(x, list) else x
                raise SystemExit(f"{src(sources[lang])}: {n_lines(b)} lines but "
                                 f"{src(sources[first])} has {n_lines(a)}; parallel text must be "
                                 f"line-aligned (line i of each file the same sentence)")


def text_identity(texts):
    """sha256 of the parallel text as read: {lang: [items, ...]} as canonical JSON (UTF-8)."""
    blob = json.dumps(texts, sort_keys=True, ensure_ascii=False, separators=(',', ':'))
    return hashlib.sha256(blob.encode('utf-8')).hexdigest()


# ---------------------------------------------------------------- one tokenizer's premium
def measure(tok, pset, mode):
    """metrics.json's `premium` object of one tokenizer on a parallel_set (module docstring)."""
    ref = pset['reference']
    texts = pset['texts']
    # each part's items encoded on their own, kept per part: pairs never cross a file boundary
    n = {lang: [[len(ids) for ids in tok.encode_batch(part)] for part in parts]
         for lang, parts in texts.items()}
    if mode == 'petrov':
        tokens = {lang: len(tok.encode(' '.join(x for part in parts for x in part)))
                  for lang, parts in texts.items()}
    else:
        tokens = {lang: sum(map(sum, parts)) for lang, parts in n.items()}
    prem = premiums(tokens, ref)
    per_sentence = {}
    for lang, parts in n.items():
        pairs = [(a, b) for part, ref_part in zip(parts, n[ref]) for a, b in zip(part, ref_part)
                 if b > 0]
        per_sentence[lang] = sum(a / b for a, b in pairs) / len(pairs) if pairs else None
    known = [v for v in per_sentence.values() if v is not None]
    return {'set': pset['set'], 'mode': mode, 'reference': ref, 'languages': sorted(tokens),
            'identity': pset['identity'], 'sources': pset['sources'],
            'tokens': dict(sorted(tokens.items())), 'premiums': dict(sorted(prem.items())),
            'gini': gini(prem.values()),
            'per_sentence': dict(sorted(per_sentence.items())) if known else None,
            'gini_per_sentence': gini(known) if known and len(known) == len(per_sentence) else None}


def premium_definition(premium):
    """metrics.json's `definitions.premium`: what the numbers are, in words."""
    if not premium:
        return 'no parallel text given: no premium'
    how = ('its text (all items joined by one space) encoded once' if premium['mode'] == 'petrov'
           else 'the sum of its sentences, each encoded on its own')
    return (f"tokens of a language's parallel text ({premium['set']}; {how}) / tokens of the "
            f"{premium['reference']} text (Petrov et al. 2023); per_sentence: the mean over "
            f"sentence pairs of that ratio; gini: population Gini of the premiums, the "
            f"reference's 1 included")
