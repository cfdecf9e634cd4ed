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
import shlex
import signal
import sys
from contextlib import contextmanager

from uniscale import own_text
from uniscale.identity import differences, file_sha256
from uniscale.sources import (fineweb2_parquet, local_documents, local_files, parquet_rows,
                              stream_texts)
from uniscale.splits import SPLITS

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
    """Your own text (--files=, and the given splits): each file read once, each document's split
    from its text (uniscale/own_text.py); meta.json lists every file given, with its sha256 and the
    file it duplicates, and the documents dropped to keep each text in one split."""
    records = own_text.input_records(cfg)
    if own_text.own_settings(records) != {k: w.settings[k] for k in ('split_rule', 'inputs')}:
        raise SystemExit(f"{cfg['corpus']}: your files changed while prepare.py read them; run it "
                         f"again")
    read = own_text.read_once(records)
    for r in records:
        if r['duplicate_of']:
            print(f"note: {r['path']} holds the content of {r['duplicate_of']} (sha256 "
                  f"{r['sha256'][:12]}): read once")
    given = own_text.given(cfg)
    docs = lambda: local_documents([r['path'] for r in read], cfg['lang'])
    held = own_text.held_out(((read[i]['split'], t) for i, t, _ in docs()), cfg, given) \
        if given else {}  # without given splits no text can be in two
    st = {'docs': 0, 'per_file': [0] * len(read), 'dropped': {s: 0 for s in SPLITS},
          **w.state}
    bar = progress(None, f"{cfg['corpus']} ({len(read)} files)", written(w))
    for i, text, lang in itertools.islice(docs(), st['docs'], None):
        w.boundary(lambda: dict(st))
        split, kept = own_text.place(read[i]['split'], text, cfg, given, held)
        if not kept:
            st['dropped'][split] += 1
        else:
            bar.update(w.add(split, text, lang))
            if split == 'train' and 'tok' not in given and \
                    w.stats['tok']['n_bytes'] < cfg['tok_bytes']:
                w.add('tok', text, lang)
        st['docs'] += 1
        st['per_file'][i] += 1
    bar.close()
    n_docs = {r['path']: n for r, n in zip(read, st['per_file'])}
    files = [{**r, 'n_docs': 0 if r['duplicate_of'] else n_docs[r['path']]} for r in records]
    given_as = [f"--{key}={cfg[key]}" for key in own_text.KEYS.values() if cfg.get(key)]
    return {'generated': False, 'source': f"your files: {' '.join(given_as)}", 'files': files,
            'dropped': st['dropped']}


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
            'files': ['seed', 'lang', 'eval_fraction', 'tok_bytes']}  # + rule, files' sha256s


def corpus_kind(cfg):
    """'embedded' | 'tinystories' | 'fineweb2' | 'files' (your own text: any other name, with
    `files` or given splits)."""
    name = cfg['corpus']
    own = [f"{k}=" for k in own_text.KEYS.values() if cfg.get(k)]
    if name in BUILT_IN:
        if own:
            raise SystemExit(f"config error: corpus={name!r} is a built-in corpus and {own[0]} is "
                             f"for your own text; name yours another --corpus= (e.g. "
                             f"--corpus=mytext)")
        return name
    if not own:
        raise SystemExit(f"config error: unknown corpus {name!r}; use --corpus= one of {', '.join(BUILT_IN)}, or "
                         f"bring your own text: --corpus={name or 'NAME'} --files='path/*.jsonl'")
    if not re.fullmatch(r'[A-Za-z0-9][A-Za-z0-9_.-]*', name):
        raise SystemExit(f"config error: corpus={name!r} names a folder (out/corpus/NAME): use letters, digits, "
                         f"'_', '-' and '.'")
    return 'files'


def canonical(obj):
    """As JSON gives it back (lists for tuples, str keys): what a record read from disk is compared with."""
    return json.loads(json.dumps(obj))


def split_settings(cfg, records=None):
    """The settings that determine a corpus's splits: a re-run with the same ones skips the work.
    Your own text adds the split rule and its files' sha256s in reading order (`records`: their
    own_text.input_records, when read already): the same content under other paths is the same
    splits, the same path with other content is not."""
    kind = corpus_kind(cfg)
    settings = {'corpus': cfg['corpus'], **{k: cfg[k] for k in SETTINGS[kind]}}
    if kind == 'files':
        settings.update(own_text.own_settings(records or own_text.input_records(cfg)))
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


def kept_or_remade(cfg, kind, corpus_dir, meta, settings, records=None):
    """meta where the splits meta.json records are kept as they are (the same settings, or your own
    text's splits made by the old rule from the same files), else None after saying why they are
    remade. One line refuses a split edited after prepare.py made it (unless overwrite=True), and
    splits with other settings that others were computed from (refuse_remake)."""
    bad = missing_splits(corpus_dir)  # with the same settings, remade to the same text
    same = meta.get('settings') == settings
    old_rule = not same and kind == 'files' and \
        own_text.made_by_old_rule(meta.get('settings'), settings, records)
    if (same or old_rule) and not bad:
        edited = edited_split(corpus_dir, meta)
        if edited is None and same:
            print(f"{corpus_dir}: splits already made with these settings, skipping")
            return meta
        if edited is None and not cfg['overwrite']:
            print(old_rule_note(corpus_dir, records))
            return meta
        if edited and not cfg['overwrite']:
            raise SystemExit(edited)
        if edited:
            print(f"{corpus_dir}: overwrite: remaking the splits ({edited.split(': ')[0]} was "
                  f"edited)")
        if same:
            return None
    if same:
        print(f"{corpus_dir}: {bad}, remaking the splits")
        return None
    changed = '; '.join(setting_changes(kind, meta, settings, records)[:3])
    if not refuse_remake(cfg, kind, corpus_dir, changed):
        print(f"{corpus_dir}: {bad + '; ' if bad else ''}settings changed ({changed}), remaking "
              f"the splits")
    return None


def edited_split(corpus_dir, meta):
    """One line naming the first split whose bytes are not those meta.json records (edited after
    prepare.py made it) and the command that remakes the splits; None when all are as made."""
    for s in SPLITS:
        recorded = ((meta.get('splits') or {}).get(s) or {}).get('sha256')
        path = os.path.join(corpus_dir, f"{s}.jsonl")
        now = file_sha256(path) if recorded else None
        if now != recorded:
            return (f"{path}: edited after prepare.py made it (sha256 {now[:12]}, meta.json "
                    f"records {recorded[:12]}); restore it, or remake the splits from their "
                    f"sources: `{remake_command()}`")
    return None


def remake_command():
    """This prepare.py command with --overwrite=True, as typed (run as a script), for advice."""
    if os.path.basename(sys.argv[0]) != 'prepare.py':
        return 'python prepare.py ... --overwrite=True (the command that made them)'
    args = [a for a in sys.argv[1:] if not a.startswith('--overwrite=')]
    return shlex.join(['python', 'prepare.py', *args, '--overwrite=True'])


def old_rule_note(corpus_dir, records):
    """Your own text's splits made by the old rule, kept as made: say so, and what a remake does."""
    copies = [r['path'] for r in records if r['duplicate_of']]
    leak = (f"; {len(copies)} of the files are copies of others ({copies[0]}...), so val or test "
            f"may hold text that train holds too" if copies else '')
    return (f"{corpus_dir}: kept as made by the old split rule ({own_text.RULE_WORDS[None]})"
            f"{leak}; --overwrite=True remakes them by the new rule "
            f"({own_text.RULE_WORDS[own_text.RULE]})")


def setting_changes(kind, meta, settings, records):
    """What differs from the recorded settings, one phrase each (for a refusal or a remake)."""
    if kind == 'files':
        return own_text.changes(meta, settings, records)
    old = meta.get('settings')
    return differences(old if isinstance(old, dict) else {}, settings)


def refuse_remake(cfg, kind, corpus_dir, changed):
    """Other settings (`changed` says which): remake in place only when nothing was computed from
    these splits, or with overwrite=True (then said here, and True). Else one line."""
    found = derived_from(cfg['out_dir'], cfg['corpus'])
    if not found:
        return False
    if cfg['overwrite']:
        print(f"{corpus_dir}: overwrite: remaking the splits ({changed}); what was computed from the old ones "
              f"({listed(found)}) will refuse to be used")
        return True
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


EMPTY_FIX = {'embedded': 'raise embedded_bytes or eval_fraction',
             'files': 'give more documents (--files=, or --val_files= / --test_files=) or raise '
                      'eval_fraction',
             'tinystories': 'raise val_fraction, or check the parquet files',
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
