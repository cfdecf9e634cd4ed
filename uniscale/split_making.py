"""
prepare.py's corpus makers: each streams one corpus's documents into a SplitWriter (prepare.py), which writes the
tok/train/val/test jsonl splits. Also what prepare.py decides before and after making them: which settings make a
corpus's splits (split_settings, with your own files' sha256), whether splits were computed from (derived_from,
refuse_remake), and splits that cannot be made (check_fineweb2_eval before any work, check_made after).

A maker calls `w.boundary(state)` before each document, where state() is its position as JSON (documents read, the
rng's state, budgets): the writer records it every so often and when stopped (SIGTERM, Ctrl-C), and a re-run hands
it back as `w.state`, so the maker continues where it stopped and writes the same bytes as one uninterrupted run.
A source is resumed by reading it again up to its recorded position (nothing is written while skipping).
"""
import glob
import itertools
import json
import os
import random
import re
import signal
from contextlib import contextmanager

from uniscale.identity import differences, file_sha256
from uniscale.sources import fineweb2_parquet, input_files, local_documents, local_files, parquet_rows, stream_texts

SPLITS = ('tok', 'train', 'val', 'test')
BUILT_IN = ('embedded', 'tinystories', 'fineweb2')
HUB = {'tinystories': 'roneneldan/TinyStories', 'fineweb2': 'HuggingFaceFW/fineweb-2',
       'fineweb': 'HuggingFaceFW/fineweb'}


def progress(total, desc, initial=0):
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit='B', unit_scale=True, mininterval=2.0, disable=None, initial=initial)


def rng_from(state, seed):
    """random.Random(seed), or at the state a stopped run recorded (getstate() as JSON)."""
    rng = random.Random(seed)
    if state is not None:
        rng.setstate((state[0], tuple(state[1]), state[2]))
    return rng


def assign(w, rng, cfg, text, lang):
    """A document to val with eval_fraction, to test with eval_fraction, else to train (and tok while tok holds
    less than tok_bytes): the embedded corpus's and your own files' split. Returns its bytes."""
    r = rng.random()
    split = 'val' if r < cfg['eval_fraction'] else 'test' if r < 2 * cfg['eval_fraction'] else 'train'
    n = w.add(split, text, lang)
    if split == 'train' and w.stats['tok']['n_bytes'] < cfg['tok_bytes']:
        w.add('tok', text, lang)
    return n


def written(w):
    return sum(w.stats[s]['n_bytes'] for s in ('train', 'val', 'test'))


def make_embedded(w, cfg):
    """Generated stories: each document goes to val or test with eval_fraction, else train; tok = train prefix."""
    from data.embedded.generate import generate_documents  # only this corpus needs it
    st = {'docs': 0, 'rng': None, **w.state}
    rng = rng_from(st['rng'], cfg['seed'])
    bar = progress(cfg['embedded_bytes'], 'embedded corpus', written(w))
    for doc in itertools.islice(generate_documents(int(cfg['embedded_bytes']), seed=cfg['seed']), st['docs'], None):
        w.boundary(lambda: {'docs': st['docs'], 'rng': rng.getstate()})
        bar.update(assign(w, rng, cfg, doc['text'], doc['lang']))
        st['docs'] += 1
    bar.close()
    return {'generated': True,
            'source': 'synthetic children\'s stories from data/embedded/generate.py (generated, not real text)'}


def make_files(w, cfg):
    """Your own text (--files=): split as the embedded corpus is; meta.json lists each file with its sha256."""
    paths = list(w.settings['file_sha256'])
    st = {'docs': 0, 'per_file': [0] * len(paths), 'rng': None, **w.state}
    rng = rng_from(st['rng'], cfg['seed'])
    bar = progress(None, f"{cfg['corpus']} ({len(paths)} files)", written(w))
    for i, text, lang in itertools.islice(local_documents(paths, cfg['lang']), st['docs'], None):
        w.boundary(lambda: {**st, 'rng': rng.getstate()})
        bar.update(assign(w, rng, cfg, text, lang))
        st['docs'] += 1
        st['per_file'][i] += 1
    bar.close()
    return {'generated': False, 'source': f"your files: {cfg['files']}",
            'files': [{'path': p, 'sha256': w.settings['file_sha256'][p], 'n_docs': n}
                      for p, n in zip(paths, st['per_file'])]}


def make_tinystories(w, cfg):
    """TinyStories: validation -> test; a seeded val_fraction of train -> val; tok = train prefix of tok_bytes."""
    root = cfg['tinystories_files']
    files = {s: local_files(os.path.join(root, 'data', f"{s}-*.parquet"), f"TinyStories {s}")
             for s in ('train', 'validation')} if root else {'train': None, 'validation': None}
    st = {'phase': 'test', 'docs': 0, 'rng': None, **w.state}
    if st['phase'] == 'test':
        texts = stream_texts(HUB['tinystories'], split='validation', files=files['validation'])
        for text in itertools.islice(texts, st['docs'], None):
            w.boundary(lambda: dict(st))
            w.add('test', text, 'eng')
            st['docs'] += 1
        st.update(phase='train', docs=0)
    rng = rng_from(st['rng'], cfg['seed'])
    bar = progress(None, 'tinystories train', written(w))
    texts = stream_texts(HUB['tinystories'], split='train', files=files['train'])
    for text in itertools.islice(texts, st['docs'], None):
        w.boundary(lambda: {**st, 'rng': rng.getstate()})
        split = 'val' if rng.random() < cfg['val_fraction'] else 'train'
        bar.update(w.add(split, text, 'eng'))
        if split == 'train' and w.stats['tok']['n_bytes'] < cfg['tok_bytes']:
            w.add('tok', text, 'eng')
        st['docs'] += 1
    bar.close()
    return {'generated': False, 'source': root or HUB['tinystories']}


def lang_budgets(total, langs, temperature, sizes, cap):
    """
    Bytes per language. temperature 0: equal shares. T > 0: p ~ size^(1/T) (T=1 natural, large T -> equal),
    then no language above `cap` of the total, the excess handed to the others in proportion.
    """
    if temperature == 0:
        weights = {l: 1.0 for l in langs}
    else:
        missing = [l for l in langs if l not in sizes]
        if missing:
            raise SystemExit(f"temperature sampling needs lang_sizes for {missing}; set lang_sizes in the config "
                             f"(natural size per language, e.g. GB on disk) or use --temperature=0")
        weights = {l: sizes[l] ** (1.0 / temperature) for l in langs}
    share = {l: w / sum(weights.values()) for l, w in weights.items()}
    cap = max(cap, 1.0 / len(langs))  # a cap below an equal share cannot be met
    for _ in range(len(langs)):  # water-filling: clip, hand the excess to the unclipped languages
        over = {l for l, s in share.items() if s > cap + 1e-12}
        if not over:
            break
        excess = sum(share[l] - cap for l in over)
        free = {l: s for l, s in share.items() if s < cap - 1e-12}
        for l in over:
            share[l] = cap
        for l, s in free.items():
            share[l] += excess * s / sum(free.values())
    return {l: int(total * s) for l, s in share.items()}


def fineweb2_source(cfg, lang):
    """(repo, config name, local parquet files or None) of a language."""
    repo, name = (HUB['fineweb'], 'sample-10BT') if lang == 'eng' else (HUB['fineweb2'], lang)
    return repo, name, fineweb2_parquet(cfg['fineweb2_files'], lang) if cfg['fineweb2_files'] else None


def fill_language(w, lang, st, train_budget, tok_budget, cfg, bar, state):
    """Stream a language from where it stopped (st['read'] documents): its eval documents first (test, then val),
    then train up to train_budget bytes, the first tok_budget of them also to tok. Sets st['out'] at the end."""
    repo, name, files = fineweb2_source(cfg, lang)
    texts = stream_texts(repo, name, files=files, shuffle_seed=cfg['seed'], buffer=cfg['shuffle_buffer'])
    texts = itertools.islice(texts, st['read'], None)  # a second visit (or a resume) re-reads the stream up to here
    n_eval = cfg['eval_docs_per_lang']
    while st['eval'] < 2 * n_eval or st['train'] < train_budget:
        w.boundary(state)
        text = next(texts, None)
        if text is None:
            st['out'] = True
            return
        st['read'] += 1
        if st['eval'] < 2 * n_eval:
            w.add('test' if st['eval'] < n_eval else 'val', text, lang)
            st['eval'] += 1
            continue
        n = w.add('train', text, lang)
        st['train'] += n
        bar.update(n)
        if st['tok'] < tok_budget:
            st['tok'] += w.add('tok', text, lang)


def pass_on(budgets, lang, used, takers):
    """Give lang's unused budget (beyond `used`) to `takers`, in proportion to their own budgets."""
    spare, budgets[lang] = budgets[lang] - used, used
    total = sum(budgets[t] for t in takers) or len(takers)
    for t in takers:
        budgets[t] += int(spare * (budgets[t] or 1) / total)


def make_fineweb2(w, cfg):
    """Per language: the first eval docs -> test, the next -> val, then train up to its budget; tok = train prefix.
    A language that runs out passes its unused train and tok budgets on to the languages that have text left.
    Its whole state (per-language positions, budgets, the queue with the language being filled first) is one
    JSON dict, so a stopped run resumes in the middle of a language."""
    langs = cfg['langs']
    if not w.state:
        train_b = lang_budgets(cfg['train_bytes'], langs, cfg['temperature'], cfg['lang_sizes'], cfg['lang_cap'])
        w.state = {'train_b': train_b, 'planned': dict(train_b), 'ran_out': [], 'queue': list(langs),
                   'tok_b': lang_budgets(cfg['tok_bytes'], langs, cfg['temperature'], cfg['lang_sizes'],
                                         cfg['lang_cap']),
                   'langs': {l: {'read': 0, 'eval': 0, 'train': 0, 'tok': 0, 'out': False} for l in langs}}
    fw = w.state
    train_b, tok_b, state, queue, ran_out = fw['train_b'], fw['tok_b'], fw['langs'], fw['queue'], fw['ran_out']
    bar = progress(sum(fw['planned'].values()), 'fineweb2 train', w.stats['train']['n_bytes'])
    while queue:
        lang = queue[0]  # off the queue only once filled: a resume fills it on
        st, budget = state[lang], train_b[lang]
        fill_language(w, lang, st, budget, tok_b[lang], cfg, bar, lambda: fw)
        queue.pop(0)
        if not st['out'] or st['train'] >= budget:
            continue
        ran_out.append(lang)
        takers = [l for l in langs if not state[l]['out']]
        if takers:
            pass_on(train_b, lang, st['train'], takers)
            pass_on(tok_b, lang, min(st['tok'], tok_b[lang]), takers)
            queue += [l for l in takers if l not in queue]  # those already filled are visited again
        print(f"note: {lang} ran out at {st['train']:,} of {budget:,} train bytes; its unused "
              f"{budget - st['train']:,} bytes go to {', '.join(takers) if takers else 'no language (all ran out)'}")
    bar.close()
    return {'generated': False, 'source': cfg['fineweb2_files'] or f"{HUB['fineweb2']} (+ {HUB['fineweb']} "
            f"sample-10BT for eng)", 'train_budget_bytes': train_b, 'tok_budget_bytes': tok_b,
            'planned_train_budget_bytes': fw['planned'], 'ran_out': ran_out}


MAKERS = {'embedded': make_embedded, 'tinystories': make_tinystories, 'fineweb2': make_fineweb2, 'files': make_files}


# ---------------------------------------------------------------- which splits, and whether to make them
SETTINGS = {'embedded': ['seed', 'embedded_bytes', 'eval_fraction', 'tok_bytes'],
            'tinystories': ['seed', 'tinystories_files', 'val_fraction', 'tok_bytes'],
            'fineweb2': ['seed', 'langs', 'fineweb2_files', 'train_bytes', 'tok_bytes', 'eval_docs_per_lang',
                         'temperature', 'lang_sizes', 'lang_cap', 'shuffle_buffer'],
            'files': ['seed', 'files', 'lang', 'eval_fraction', 'tok_bytes']}


def corpus_kind(cfg):
    """'embedded' | 'tinystories' | 'fineweb2' | 'files' (your own text: any other name, with `files`)."""
    name = cfg['corpus']
    if name in BUILT_IN:
        if cfg['files']:
            raise SystemExit(f"config error: corpus={name!r} is a built-in corpus and files= is for your own text; "
                             f"name yours another --corpus= (e.g. --corpus=mytext)")
        return name
    if not cfg['files']:
        raise SystemExit(f"config error: unknown corpus {name!r}; use --corpus= one of {', '.join(BUILT_IN)}, or "
                         f"bring your own text: --corpus={name or 'NAME'} --files='path/*.jsonl'")
    if not re.fullmatch(r'[A-Za-z0-9][A-Za-z0-9_.-]*', name):
        raise SystemExit(f"config error: corpus={name!r} names a folder (out/corpus/NAME): use letters, digits, "
                         f"'_', '-' and '.'")
    return 'files'


def canonical(obj):
    """As JSON gives it back (lists for tuples, str keys): what a record read from disk is compared with."""
    return json.loads(json.dumps(obj))


def split_settings(cfg):
    """The settings that determine a corpus's splits: a re-run with the same ones skips the work. Your own files
    add their sha256 (file_sha256, path -> sha256, in reading order): the same path with other content differs."""
    kind = corpus_kind(cfg)
    settings = {'corpus': cfg['corpus'], **{k: cfg[k] for k in SETTINGS[kind]}}
    if kind == 'files':
        settings['file_sha256'] = {p: file_sha256(p) for p in input_files(cfg['files'])}
    return canonical(settings)


def previous_meta(path, then):
    """The JSON record of earlier work (meta.json, a sidecar), or None: none, or unreadable (a damaged record
    means doing the work again, which loses nothing; `then` says so)."""
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding='utf-8') as f:
            meta = json.load(f)
        return meta if isinstance(meta, dict) else None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        print(f"{path}: unreadable ({e}); {then}")
        return None


def missing_splits(corpus_dir):
    """"['val'] missing" when split files meta.json lists are gone, else ''."""
    missing = [s for s in SPLITS if not os.path.isfile(os.path.join(corpus_dir, f"{s}.jsonl"))]
    return f"{missing} missing" if missing else ''


def refuse_remake(cfg, kind, corpus_dir, old, new):
    """Other settings: remake in place only when nothing was computed from these splits (or overwrite=True)."""
    found = derived_from(cfg['out_dir'], cfg['corpus'])
    if not found:
        return
    changed = '; '.join(differences(old if isinstance(old, dict) else {}, new)[:3])
    if cfg['overwrite']:
        print(f"{corpus_dir}: overwrite: remaking the splits ({changed}); what was computed from the old ones "
              f"({listed(found)}) will refuse to be used")
        return
    other = 'another --corpus= name or ' if kind == 'files' else ''
    raise SystemExit(f"{corpus_dir}: made with other settings ({changed}), and {listed(found)} were computed from "
                     f"these splits; remaking them in place would invalidate those: prepare under {other}another "
                     f"--out_dir=, or pass --overwrite=True (what was computed from the old splits then refuses to be "
                     f"used)")


# ---------------------------------------------------------------- splits that cannot be made
def check_fineweb2_eval(cfg):
    """Local FineWeb-2 parquet: a language with no more documents than val and test take (2 x eval_docs_per_lang)
    would have nothing left to train on; counted from the files' footers, so refused before any work."""
    if cfg['corpus'] != 'fineweb2' or not cfg['fineweb2_files']:
        return
    n_eval = cfg['eval_docs_per_lang']
    for lang in cfg['langs']:
        n = parquet_rows(fineweb2_source(cfg, lang)[2])
        if n <= 2 * n_eval:
            raise SystemExit(f"{cfg['fineweb2_files']}: {lang} has {n:,} documents and val and test take "
                             f"eval_docs_per_lang={n_eval:,} each, leaving none to train on; lower "
                             f"eval_docs_per_lang to at most {max((n - 1) // 2, 0):,}, or drop {lang} from langs")


EMPTY_FIX = {'embedded': 'raise embedded_bytes or eval_fraction', 'files': 'give more documents (--files=) or '
             'raise eval_fraction', 'tinystories': 'raise val_fraction, or check the parquet files',
             'fineweb2': 'check the language\'s files, or lower eval_docs_per_lang'}


def check_made(stats, kind, cfg):
    """Every split holds documents, and every FineWeb-2 language trains on some: else one line with the fix (the
    caller has not written meta.json yet)."""
    for s in SPLITS:
        if stats[s]['n_docs'] == 0:
            n = sum(stats[x]['n_docs'] for x in ('train', 'val', 'test'))
            raise SystemExit(f"{cfg['out_dir']}/corpus/{cfg['corpus']}: the {s} split would be empty ({n:,} "
                             f"documents in all); {EMPTY_FIX[kind]} (nothing was written)")
    if kind == 'fineweb2':
        for lang in cfg['langs']:
            if not stats['train']['per_lang'].get(lang):
                raise SystemExit(f"{cfg['out_dir']}/corpus/fineweb2: {lang}'s documents all went to val and test "
                                 f"(eval_docs_per_lang={cfg['eval_docs_per_lang']:,}), none to train; lower "
                                 f"eval_docs_per_lang or drop {lang} from langs (nothing was written)")


# ---------------------------------------------------------------- what was computed from the splits
def read_record(path):
    try:
        with open(path, encoding='utf-8') as f:
            rec = json.load(f)
        return rec if isinstance(rec, dict) else {}
    except (OSError, ValueError):
        return {}


def derived_from(out_dir, corpus):
    """What was computed from {out_dir}/corpus/{corpus}: shard folders' sidecars (and unfinished encodings) under
    {out_dir}/tokens/{corpus}/, tokenizers under {out_dir}/tokenizers/ and runs under {out_dir}/runs/ whose
    meta.json / config.json names this corpus. Remaking the splits in place would invalidate them."""
    esc = glob.escape
    names = {f"{s}.json" for s in SPLITS} | {f"{s}.partial.json" for s in SPLITS}
    found = sorted(p for p in glob.glob(os.path.join(esc(out_dir), 'tokens', esc(corpus), '*', '*.json'))
                   if os.path.basename(p) in names)
    for folder, record in (('tokenizers', 'meta.json'), ('runs', 'config.json')):
        for p in sorted(glob.glob(os.path.join(esc(out_dir), folder, '*', record))):
            if read_record(p).get('corpus') == corpus:
                found.append(os.path.dirname(p))
    return found


def listed(paths, n=3):
    return ', '.join(paths[:n]) + (f" and {len(paths) - n} more" if len(paths) > n else '')


# ---------------------------------------------------------------- a clean stop
@contextmanager
def stop_signals(w):
    """SIGTERM (a scheduler's stop) and a first Ctrl-C set w.stop: the writer records its progress at the next
    document and stops (KeyboardInterrupt). A second one stops at once (the last record is kept). A signal the
    process was started ignoring stays ignored; the previous handlers come back after the block."""
    def handle(signum, frame):
        if w.stop:
            raise KeyboardInterrupt
        w.stop = signal.Signals(signum).name
    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        if signal.getsignal(sig) is signal.SIG_IGN:  # ignored by whoever started us (a background job): stays so
            continue
        try:
            previous[sig] = signal.signal(sig, handle)
        except ValueError:  # not the main thread: no handler, a stop is then a plain KeyboardInterrupt
            pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
