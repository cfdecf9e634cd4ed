"""
The "embedded" corpus: a GENERATED (synthetic) multilingual corpus of short children's stories, so that
uniscale runs end to end with no internet. Nothing here was downloaded or scraped: every story is built
on the fly from the hand-written word lists and sentence templates in words.py by a seeded random generator.

What it contains: stories in English (eng), German (deu_Latn), Spanish (spa_Latn), French (fra_Latn),
Russian (rus_Cyrl), Mandarin Chinese (cmn_Hani, no spaces between words), Arabic (arb_Arab) and Hindi
(hin_Deva): five scripts, language codes as in FineWeb-2. Each story has a hero and a friend (named
animals), something the hero wants and why, a journey with sights and small events, a problem, a helper,
the turn that solves it, an ending and often a moral, with dialogue in quotes; 3-10 paragraphs separated
by a blank line, about 300-2000 bytes of UTF-8 (Hindi and Russian up to ~4000: more bytes per letter);
NFC, no control characters but the newline. Words are real words of each language in sensible grammatical
slots, with simple gender agreement; a third of the names are made up from syllables. Grammar outside
English is simplified, not flawless, and the stories are formulaic: this is a smoke-test corpus for
tokenizers and small models, not a benchmark of language.

    from data.embedded import generate
    for doc in generate.generate_documents(4_000_000, seed=0):   # ~4 MB, 40% of its bytes English
        doc['text'], doc['lang']
    generate.generate_documents(10**6, seed=1, lang_weights={'eng': 1, 'rus_Cyrl': 1})
    generate.generate_parallel(100, seed=0)  # {lang: [story, ...]}: story i told in every language

    python -m data.embedded.generate      # prints one story per language
    python -m data.embedded.generate --out=out/eval_sets/s2.jsonl --n_bytes=60000 --seed=2
                        # a jsonl eval set (eval_bpb.py --files; a sweep's secondary_eval_sets)

The same (n_bytes, seed, lang_weights) always yields the same documents, byte for byte, on any machine and
under any PYTHONHASHSEED (only random.Random(seed).random is used). It streams: memory does not grow with
n_bytes; 50 MB take about 10 s on one CPU core. generate_parallel gives a parallel set (for the tokenization
premium): each story planned once (outline, beats, the draws behind cast and templates) and told in each
language; parallel in plot and structure, not word for word (the languages' lists are written separately).

To change the corpus, edit the word lists and templates. In a template, {X} is a story role (A hero,
B friend, K and F their kinds of animal, H helper, T the wanted thing, P the destination, W the home
region, Q the home), {X.form} a form of the role's noun (its noun function lists them), {list} a random
word from that list, {list:X} one agreeing in gender with X ({list:f}: feminine), {list+en} one with a
suffix, {^X} capitalised, [X:masc|fem|neut] a choice by the gender of X, (a|b|c) a random choice; a word
written 'masc/fem' gives its gender forms explicitly.
"""
import bisect
import random
import re
import unicodedata

from data.embedded.words import LANG_DATA, _suffix

# ------------------------------------------------------------------------------------------- generator
LANGS = tuple(LANG_DATA)
DEFAULT_WEIGHTS = {lang: 0.4 if lang == 'eng' else 0.6 / (len(LANGS) - 1) for lang in LANGS}

# the outline every story follows: paragraphs of (beat, probability); 'journey' repeats 1-3 times. Optional
# beats (probability < 1) are scaled by a per-story detail level, so stories run from bare to elaborate.
OUTLINE = ((('intro', 1), ('desc', .7), ('desc', .4), ('home', .4)),
           (('want', 1), ('reason', .5), ('friend', 1), ('say_want', .8), ('reply', .6)),
           'journey',
           (('problem', 1), ('feel_bad', .6), ('say_worry', .7)),
           (('helper', 1), ('say_help', .7), ('solve', 1)),
           (('get', 1), ('ret', .8), ('feel_good', .5), ('moral', .6)))
JOURNEY = (('travel', 1), ('sight', .7), ('sight', .3), ('event', .5))
ROLE_LIST = {'K': 'kinds', 'F': 'kinds', 'H': 'helpers', 'T': 'things', 'P': 'places', 'W': 'places', 'Q': 'homes'}
NOUN_LISTS = ('kinds', 'helpers', 'things', 'places', 'homes')
SYLLABLE_NAME_P = 1 / 3  # share of hero/friend names made up from syllables instead of taken from the lists
_SLOT = re.compile(r"\{(\^?)(\w+)(?:\.(\w+))?(?::(\w+))?(?:\+(\w+))?\}|\[(\w):([^\]]*)\]|\(([^)|]*\|[^)]*)\)")


def _render(parts, st, rnd):
    return ''.join([p if p.__class__ is str else p(st, rnd) for p in parts])


def _choice(options, L, where):
    """Compiled alternatives; plain strings where an alternative has no slots (the common, fast case)."""
    opts = [_compile(o, L, where) for o in options.split('|')]
    return [o[0] if len(o) == 1 and isinstance(o[0], str) else ('' if not o else o) for o in opts]


def _pick_part(opts, index):
    """A part that renders the option index(story, rnd) picks."""
    if all(isinstance(o, str) for o in opts):
        return lambda st, rnd: opts[index(st, rnd)]

    def part(st, rnd):
        o = opts[index(st, rnd)]
        return o if o.__class__ is str else _render(o, st, rnd)
    return part


def _slot_part(m, L, where):
    cap, name, sel, agree, suffix = m.group(1, 2, 3, 4, 5)
    sel = sel or ''
    if len(name) == 1 and name.isupper():  # a story role, filled once per story
        nouns = L[ROLE_LIST[name]] if name in ROLE_LIST else [{'': '', 'g': 0}]
        if name not in ROLE_LIST and name not in 'AB' or sel not in nouns[0]:
            raise ValueError(f"{where}: unknown role or form {m.group(0)}")
        part = (lambda st, rnd: _suffix(st[name][sel], suffix)) if suffix else (lambda st, rnd: st[name][sel])
    else:
        if name not in L:
            raise ValueError(f"{where}: no word list {name!r} for {m.group(0)}")
        words = L[name]
        n = len(words)

        def index(st, rnd):  # a random word, never the one this list gave last in the story ("sad and sad")
            i = int(rnd() * n)
            if st.get(name) == i:
                i = (i + 1) % n
            st[name] = i
            return i
        if name in NOUN_LISTS:
            if sel not in words[0]:
                raise ValueError(f"{where}: nouns have no form {sel!r} in {m.group(0)}")
            part = lambda st, rnd: words[index(st, rnd)][sel]
        else:
            def form(w, g):
                w = w.split('/')[min(g, w.count('/'))] if '/' in w else L['agree'](w, g) if agree else w
                return _suffix(w, suffix) if suffix else w
            table = [[form(w, g) for w in words] for g in range(3)]
            if agree and agree in 'mfn':  # a fixed gender, e.g. {col:f}
                table = [table['mfn'.index(agree)]] * 3
            role = agree if agree and agree.isupper() else None
            part = (lambda st, rnd: table[st[role]['g']][index(st, rnd)]) if role else \
                (lambda st, rnd: table[0][index(st, rnd)])
    if not cap:
        return part

    def capitalized(st, rnd):  # {^X}: upper-case the first letter, e.g. a place opening a quotation
        s = part(st, rnd)
        return s[:1].upper() + s[1:]
    return capitalized


def _compile(tpl, L, where):
    """A template string -> tuple of literal strings and functions (story, rnd) -> str."""
    parts, pos = [], 0
    for m in _SLOT.finditer(tpl):
        parts.append(tpl[pos:m.start()])
        if m.group(8) is not None:  # (a|b|c): a random alternative
            opts = _choice(m.group(8), L, where)
            parts.append(_pick_part(opts, lambda st, rnd, n=len(opts): int(rnd() * n)))
        elif m.group(6) is not None:  # [X:masc|fem|neut]: by the gender of role X
            opts, role = _choice(m.group(7), L, where), m.group(6)
            parts.append(_pick_part(opts, lambda st, rnd, k=len(opts) - 1, r=role: min(st[r]['g'], k)))
        else:
            parts.append(_slot_part(m, L, where))
        pos = m.end()
    parts.append(tpl[pos:])
    stray = [p for p in parts if isinstance(p, str) and set(p) & set('{}[]()|')]
    if stray:  # e.g. a (random|choice) nested inside a [X:gender|choice], which is not supported
        raise ValueError(f"{where}: template syntax left in the text {stray[0]!r} of {tpl!r}")
    return tuple(p for p in parts if p != '')


def _prepare(lang, raw):
    """Normalise the raw word lists and templates of one language to NFC and compile them once."""
    nfc = lambda s: unicodedata.normalize('NFC', s)
    L = {k: v for k, v in raw.items() if callable(v) or k == 'sep'}
    for k, v in raw.items():
        if isinstance(v, list) and v and isinstance(v[0], str):
            L[k] = [nfc(w) for w in v]
    for k in NOUN_LISTS:
        L[k] = [raw['noun'](nfc(e), k) for e in raw[k]]
        odd = [n[''] for n in L[k] if n.keys() != L[k][0].keys()]
        if odd:
            raise ValueError(f"{lang} {k}: {odd[:3]} lack forms the first noun has ({sorted(L[k][0])})")
    L['name'] = L['names_m'] + L['names_f']
    L['beats'] = {b: [_compile(nfc(t), L, f"{lang} {b}") for t in ts] for b, ts in raw['beats'].items()}
    L['problem'] = [tuple(_compile(nfc(t), L, f"{lang} problem") for t in pair) for pair in raw['problem']]
    return L


def _name(L, rnd, avoid=''):
    while True:
        if rnd() < SYLLABLE_NAME_P:
            syll = L['syll']
            s = ''.join(syll[int(rnd() * len(syll))] for _ in range(2 + (rnd() < .3)))
            name, g = s[:1].upper() + s[1:], int(rnd() < .5)
        else:
            g = int(rnd() < .5)
            names = L['names_f' if g else 'names_m']
            name = names[int(rnd() * len(names))]
        if name != avoid:
            return {'': name, 'g': g}


def _roles(L, rnd):
    """The cast and props of one story: role letter -> name or noun (a dict of forms with its gender 'g')."""
    pick = lambda lst: lst[int(rnd() * len(lst))]
    st = {'A': _name(L, rnd)}
    st['B'] = _name(L, rnd, avoid=st['A'][''])
    for role, lst in ROLE_LIST.items():
        st[role] = pick(L[lst])
    while st['W'] is st['P']:
        st['W'] = pick(L['places'])
    return st


def _story(L, rnd):
    """One story as text: roles fixed for the story, then the outline rendered beat by beat."""
    pick = lambda lst: lst[int(rnd() * len(lst))]
    st = _roles(L, rnd)
    problem, used = pick(L['problem']), set()
    detail = rnd()  # 0: only the beats every story needs; 1: nearly every optional beat, three journey stops
    outline = OUTLINE[:2] + (JOURNEY,) * (1 + int(2 * detail + rnd())) + OUTLINE[3:]
    paragraphs = []
    for para in outline:
        sentences = []
        for beat, p in para:
            if p < 1 and rnd() >= p * (0.15 + 1.7 * detail):
                continue
            if beat in ('problem', 'solve'):
                tpl = problem[beat == 'solve']
            else:
                tpls = L['beats'][beat]
                tpl = pick(tpls)
                for _ in range(4):  # a few more tries, so a story rarely says the same thing twice
                    if id(tpl) not in used:
                        break
                    tpl = pick(tpls)
                used.add(id(tpl))
            s = _render(tpl, st, rnd)
            sentences.append(s[:1].upper() + s[1:] if s[:1].islower() else s)
        if sentences:
            paragraphs.append(L['sep'].join(sentences))
    text = '\n\n'.join(paragraphs)
    return L['post'](text) if 'post' in L else text


_COMPILED = {}


def _language(lang):
    """The compiled tables of one language and its mean story length in bytes (from a fixed private sample)."""
    if lang not in _COMPILED:
        L = _prepare(lang, LANG_DATA[lang])
        rnd = random.Random(1234).random
        L['mean_bytes'] = sum(len(_story(L, rnd).encode('utf-8')) for _ in range(200)) / 200
        _COMPILED[lang] = L
    return _COMPILED[lang]


def generate_documents(n_bytes, seed=0, lang_weights=None):
    """Yield {"text": str, "lang": str} stories until about n_bytes of UTF-8 text (at most one story more).

    lang_weights maps codes in LANGS to relative shares of the text's BYTES (missing = 0; default: English
    40%, the others equal shares); a language whose stories are longer in bytes gets fewer stories.
    Deterministic given (n_bytes, seed, lang_weights)."""
    weights = DEFAULT_WEIGHTS if lang_weights is None else lang_weights
    unknown = sorted(set(weights) - set(LANGS))
    if unknown or not any(weights.get(lang, 0) > 0 for lang in LANGS):
        raise ValueError(f"lang_weights {weights}: need positive weights for codes in {LANGS}")
    langs = [lang for lang in LANGS if weights.get(lang, 0) > 0]  # LANGS order: dict order never matters
    cum, total = [], 0.0
    for lang in langs:
        total += weights[lang] / _language(lang)['mean_bytes']  # a share of stories, from a share of bytes
        cum.append(total)
    rng = random.Random(seed)
    rnd, produced = rng.random, 0
    while produced < n_bytes:
        lang = langs[min(bisect.bisect(cum, rnd() * total), len(langs) - 1)]
        text = _story(_COMPILED[lang], rnd)
        produced += len(text.encode('utf-8'))
        yield {'text': text, 'lang': lang}


# ------------------------------------------------------------------------------------------- parallel stories
def _plan(rnd):
    """What one story is, apart from any language: its outline (which beats, in which paragraphs), a draw for
    each beat's template and a seed for its words, and seeds for the cast and the problem."""
    detail = rnd()
    outline = OUTLINE[:2] + (JOURNEY,) * (1 + int(2 * detail + rnd())) + OUTLINE[3:]
    paragraphs = []
    for para in outline:
        kept = []
        for beat, p in para:
            if p >= 1 or rnd() < p * (0.15 + 1.7 * detail):
                kept.append((beat, rnd(), int(rnd() * 2 ** 32)))
        paragraphs.append(kept)  # never empty: every paragraph has a beat of probability 1
    return {'cast_seed': int(rnd() * 2 ** 32), 'problem': rnd(), 'paragraphs': paragraphs}


def _story_from_plan(L, plan):
    """The planned story told in language L: the same beats in the same paragraphs, the template at the same
    relative position of L's list (the next unused one if taken), the cast drawn by the same random numbers."""
    st = _roles(L, random.Random(plan['cast_seed']).random)  # draws do not depend on the language
    problem = L['problem'][int(plan['problem'] * len(L['problem']))]
    used, paragraphs = set(), []
    for para in plan['paragraphs']:
        sentences = []
        for beat, u, words_seed in para:
            if beat in ('problem', 'solve'):
                tpl = problem[beat == 'solve']
            else:
                tpls = L['beats'][beat]
                k = int(u * len(tpls))
                k = next((j % len(tpls) for j in range(k, k + len(tpls)) if (beat, j % len(tpls)) not in used), k)
                used.add((beat, k))
                tpl = tpls[k]
            s = _render(tpl, st, random.Random(words_seed).random)
            sentences.append(s[:1].upper() + s[1:] if s[:1].islower() else s)
        paragraphs.append(L['sep'].join(sentences))
    text = '\n\n'.join(paragraphs)
    return L['post'](text) if 'post' in L else text


def generate_parallel(n_stories, seed=0, langs=LANGS):
    """The same n_stories stories told in each language: {lang: [text, ...]}, aligned by index.

    Story i has one plan in every language (outline, beats, paragraphs, the draws behind cast, props and
    templates), so a story that is long and eventful in English is so in Hindi too. The word lists and
    templates of the languages are written separately, so the tellings are parallel in plot and structure, not
    word-for-word translations (names and props are each language's own). Deterministic given (n_stories, seed);
    independent of generate_documents."""
    unknown = sorted(set(langs) - set(LANGS))
    if unknown:
        raise ValueError(f"langs {unknown}: not in the embedded corpus {LANGS}")
    plans = [_plan(random.Random(f"parallel:{seed}:{i}").random) for i in range(n_stories)]
    return {lang: [_story_from_plan(_language(lang), plan) for plan in plans] for lang in langs}


def write_jsonl(path, n_bytes, seed=0, lang_weights=None):
    """generate_documents -> path, one {"text", "lang"} a line, written atomically: the same
    arguments write the same bytes, so a set made again keeps its identity (its sha256) and the
    runs scored on it stay scored."""
    import json
    from uniscale.atomic import write_atomic
    docs = generate_documents(n_bytes, seed, lang_weights)
    lines = [json.dumps(d, ensure_ascii=False) + '\n' for d in docs]
    write_atomic(path, ''.join(lines))
    return len(lines)


if __name__ == '__main__':
    import configurator
    cli = configurator.configure({'out': '',  # a jsonl to write; '' = print one story per language
                                  'n_bytes': 100_000, 'seed': 0})
    if cli['out']:
        n = write_jsonl(cli['out'], cli['n_bytes'], cli['seed'])
        print(f"wrote {cli['out']}: {n} generated stories, seed {cli['seed']}, "
              f"~{cli['n_bytes']:,} bytes")
        raise SystemExit(0)
    for lang in LANGS:
        doc = next(generate_documents(1, seed=0, lang_weights={lang: 1}))
        print(f"=== {doc['lang']} ({len(doc['text'].encode())} bytes)\n{doc['text']}\n")
