"""
This project's SuperBPE and BoundlessBPE against the authors' code, merge by merge, on a fixed 1 MB
fixture; and (--speed=True) the authors' pure-Python trainers' CPU seconds beside plain HF BPE.

The authors' code is read from a local mirror (a bare git dir; this script fetches nothing) and
extracted to a temp dir, never into the repo: kensho-technologies/fastboundlessbpe's pure-Python
trainers (python/boundlessbpe/train.py: BpeTrainer, SuperBpeTrainer, BoundlessBpeTrainer) run in
their own virtualenv (regex, heapdict) through bench/superword_authors_driver.py. The SuperBPE
authors' trainer (alisawuffles/tokenizers-superbpe, a Rust fork of HF tokenizers) does not build
here (no crates registry), so fastboundlessbpe's SuperBpeTrainer stands for it; docs/DESIGN.md
("Differences from the authors' code") says how the two differ.

    python -m venv .authors-venv && echo '*' > .authors-venv/.gitignore \
        && .authors-venv/bin/pip install regex heapdict       # once; git then ignores it
    python bench/superword_authors.py                        # the comparison, ~1.5 minutes
    python bench/superword_authors.py --methods=[] --speed=True   # the 10 MB timing, ~2.5 minutes

Fixture: generate_documents(1_000_000, seed=0) of data/embedded/generate.py (810 documents,
1,001,344 bytes, 8 scripts), or the first fixture_bytes of a JSON list of documents
(--fixture=/tmp/text10.json). Prints, per pass, the first differing merge, how many are identical
in order and as sets, and each merge of the set difference with the class that explains it.
Without the mirror or the authors' virtualenv it prints one line and exits 0.
"""
import collections
import hashlib
import heapq
import io
import json
import os
import resource
import signal
import subprocess
import sys
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, 'bench'))  # machine.py
import machine  # noqa: E402
import regex  # noqa: E402

import configurator  # noqa: E402

fastbpe_mirror = '/work/.mirror/kensho-technologies+fastboundlessbpe/repo'  # bare git dir
authors_python = os.path.join(ROOT, '.authors-venv', 'bin', 'python')  # has regex, heapdict
fixture = 'embedded'        # 'embedded' (generated) or a JSON list of documents
fixture_bytes = 1_000_000   # of UTF-8 text
t = 2048                    # SuperBPE's transition point = our n_base (258 ids + merges)
vocab_size = 3072           # final ids, ours (their count differs: see their_vocab)
script_aware = False        # their Pretokenizer: False = the GPT-4o regex alone (= ours)
methods = ['superbpe', 'boundless']
show = 12                   # set-difference merges printed per class
released = False            # also SuperBPE by the rules read in the fork's source (~10 min)
speed = False               # also time their trainers on speed_file beside plain HF BPE
speed_file = '/tmp/text10.json'  # JSON list of documents (the 10 MB of distinct text)
speed_t = 12288
speed_vocab = 16384

N_BYTE_IDS = 258            # ours: 2 specials + 256 byte-level chars before the first merge
N_THEIR_BYTES = 243         # theirs: the bytes valid in UTF-8, no specials


def their_vocab(n_ids):
    """Their vocab_size for as many merges as our n_ids: they count 243 bytes, we 2 + 256."""
    return n_ids - N_BYTE_IDS + N_THEIR_BYTES


# ------------------------------------------------------------------------ text and the mirror
def fixture_texts(spec, n_bytes):
    """The fixture's documents: generated (fixed: seed 0) or a JSON list's first n_bytes."""
    if spec == 'embedded':
        from data.embedded.generate import generate_documents
        return [d['text'] for d in generate_documents(int(n_bytes), seed=0)]
    with open(spec) as f:
        docs = json.load(f)
    out, total = [], 0
    for d in docs:
        if total >= n_bytes:
            break
        out.append(d)
        total += len(d.encode('utf-8'))
    return out


def missing_peer():
    """Why the authors' side cannot run here ('' if it can)."""
    if not os.path.isdir(fastbpe_mirror):
        return f"no mirror of fastboundlessbpe at {fastbpe_mirror}"
    if not os.path.exists(authors_python):
        return (f"no virtualenv for the authors' code at {authors_python} (make it as this "
                f"script's docstring says)")
    return ''


def extract_authors(dest):
    """fastboundlessbpe's python/ folder at the mirror's HEAD into dest; returns the commit."""
    git = ['git', '--git-dir', fastbpe_mirror]
    commit = subprocess.run(git + ['rev-parse', 'HEAD'], capture_output=True, text=True,
                            check=True).stdout.strip()
    tar = subprocess.run(git + ['archive', '--format=tar', commit, 'python/boundlessbpe'],
                         capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        tf.extractall(dest, filter='data')
    return commit


def run_authors(src, work, texts, method, word_vocab, supermerges=0, tag=''):
    """Their trainer on texts in a child process; its merges as byte pairs and CPU seconds."""
    job_dir = tempfile.mkdtemp(prefix=f'authors-{method}{tag}-', dir=work)
    digest = hashlib.sha256(json.dumps(texts).encode()).hexdigest()[:16]
    jsonl = os.path.join(work, f'text-{digest}.jsonl')  # one file per text, written once
    if not os.path.exists(jsonl):
        with open(jsonl, 'w') as f:
            f.writelines(json.dumps({'text': x}) + '\n' for x in texts)
    job = {'src': os.path.join(src, 'python'), 'jsonl': jsonl, 'n_docs': len(texts),
           'method': method, 'word_vocab': word_vocab, 'supermerges': supermerges,
           'script_aware': script_aware, 'work': job_dir}
    with open(os.path.join(job_dir, 'job.json'), 'w') as f:
        json.dump(job, f)
    out = os.path.join(job_dir, 'out.json')
    driver = os.path.join(ROOT, 'bench', 'superword_authors_driver.py')
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run([authors_python, driver, os.path.join(job_dir, 'job.json'), out],
                       capture_output=True, text=True)
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode:  # the temp dir goes with this exit: the error's last line says why
        last = (r.stderr.strip().splitlines() or ['no message'])[-1][:300]
        raise SystemExit(f"bench/superword_authors_driver.py: the authors' {method} trainer "
                         f"failed ({last}); run its examples/train_*.py to see it whole")
    with open(out) as f:
        res = json.load(f)
    res['process_cpu_s'] = c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime  # + imports, saves
    for k in ('word_merges', 'super_merges'):
        if k in res:
            res[k.replace('merges', 'counts')] = [c for _a, _b, c in res[k]]
            res[k] = [(bytes.fromhex(a), bytes.fromhex(b)) for a, b, _c in res[k]]
    return res


# ------------------------------------------------------------------------------- our side
def byte_decoder():
    """HF ByteLevel's char -> byte (GPT-2's printable mapping)."""
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    chars, n = list(printable), 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(printable, chars)}


def hf_merges(tokenizer_json):
    """A stock tokenizer.json's merge list as byte pairs, in order."""
    with open(tokenizer_json) as f:
        merges = json.load(f)['model']['merges']
    dec = byte_decoder()
    as_bytes = lambda s: bytes(dec[c] for c in s)
    pairs = [m.split(' ') if isinstance(m, str) else m for m in merges]
    return [(as_bytes(a), as_bytes(b)) for a, b in pairs]


def ours_primitive(texts, n_ids, work):
    """Stage 1 / phase 1 as every method trains it: tokenizer.train_bpe at n_ids."""
    import tokenizer
    out = os.path.join(work, f'ours-bpe-{n_ids}')
    tokenizer.train_bpe(texts, n_ids, out, name=f'bpe-{n_ids}')
    return hf_merges(os.path.join(out, 'tokenizer.json'))


# ------------------------------------------------------------------------- the comparison
def compare(ours, theirs):
    """Two merge lists (byte pairs, in order): identical prefix, first difference, sets."""
    n = min(len(ours), len(theirs))
    same = next((i for i in range(n) if ours[i] != theirs[i]), n)
    first = None
    if same < max(len(ours), len(theirs)):
        first = (same, ours[same] if same < len(ours) else None,
                 theirs[same] if same < len(theirs) else None)
    so, st = set(ours), set(theirs)
    return {'ours': ours, 'theirs': theirs, 'n_ours': len(ours), 'n_theirs': len(theirs),
            'n_same_order': same, 'first': first,
            'n_common': len(so & st), 'only_ours': [p for p in ours if p not in st],
            'only_theirs': [p for p in theirs if p not in so]}


def pieces(texts):
    """The shared pre-tokens of texts (ours = their simple mode's regex) with their counts."""
    from uniscale.tokenization import pretokenize
    return collections.Counter(p.encode('utf-8') for x in texts for p in pretokenize(x))


def segment(words, merges):
    """Each distinct pre-token split by merges in order (the lowest-ranked pair first, every
    non-overlapping occurrence left to right): [(tokens, count)]."""
    rank = {p: i for i, p in enumerate(merges)}
    out = []
    for w, c in words.items():
        toks = [w[i:i + 1] for i in range(len(w))]
        while len(toks) > 1:
            best = min(zip(toks, toks[1:]), key=lambda p: rank.get(p, len(rank)))
            if best not in rank:
                break
            merged, i = [], 0
            while i < len(toks):
                if i + 1 < len(toks) and (toks[i], toks[i + 1]) == best:
                    merged.append(toks[i] + toks[i + 1])
                    i += 2
                else:
                    merged.append(toks[i])
                    i += 1
            toks = merged
        out.append((toks, c))
    return out


def both_counts(seqs, pair):
    """(overlapping count: HF's and ours, A A A holding (A, A) twice; non-overlapping, left to
    right: fastboundlessbpe's get_stats, A A A holding it once)."""
    over = nonover = 0
    for toks, c in seqs:
        over += c * sum(p == pair for p in zip(toks, toks[1:]))
        i = 0
        while i + 1 < len(toks):
            hit = (toks[i], toks[i + 1]) == pair
            nonover += c * hit
            i += 2 if hit else 1
    return over, nonover


INVALID_UTF8 = {0xC0, 0xC1, *range(0xF5, 0x100)}  # bytes their 243-byte alphabet lacks


def hf_ids(prefix):
    """HF's id of each token after these merges: specials 0-1, the byte-level chars in code
    point order, then each merge's new token (its first spelling) in order."""
    dec = byte_decoder()
    ids = {bytes([dec[ch]]): 2 + i for i, ch in enumerate(sorted(dec))}
    for a, b in prefix:
        ids.setdefault(a + b, len(ids) + 2)
    return ids


def counted_after(units, prefix, pairs):
    """Each pair's (overlapping, non-overlapping) count once prefix is merged in units."""
    m = Merger(units, True, lambda p: p)
    for p in prefix:
        m.merge(p)
    seqs = list(zip(m.toks, m.weight))
    return [both_counts(seqs, p) for p in pairs]


def explain_first(units, ours, theirs, i, ids):
    """Why the i-th merges differ: both pairs counted both ways after the common prefix, in our
    units and in theirs (units: (ours, theirs), each [(tokens, weight)] before any merge); ids:
    our token -> id after the prefix."""
    p, q = ours[i], theirs[i]
    (op, oq), (tp, tq) = (counted_after(u, ours[:i], (p, q)) for u in units)
    detail = (f"counts (overlapping, non-overlapping) in our units: ours {show_pair(p)} {op}, "
              f"theirs {show_pair(q)} {oq}; in theirs: {tp}, {tq}")
    if op[0] == oq[0] and tp[1] == tq[1]:
        return (f"tie: ours takes the smaller pair of ids {(ids[p[0]], ids[p[1]])} < "
                f"{(ids[q[0]], ids[q[1]])} (bytes in the code point order of their byte-level "
                f"chars, then by creation), theirs the smaller pair of byte strings; {detail}")
    if (op, oq) != (tp, tq):
        return f"units differ (the phase-1 lists differ, so do the one-token pretokens); {detail}"
    if op[0] != op[1] or oq[0] != oq[1]:
        return f"overlap rule: ours counts A A A as two (A, A), theirs as one; {detail}"
    if script_aware:  # their units come from another pre-tokenizer than the pieces counted here
        return f"pre-tokenizers differ (script_aware: theirs cuts other pretokens); {detail}"
    return f"unexplained: {detail}"


def stage1_class(pair, merges, other):
    """Why a word-level merge is in merges (its side's list) and not in other."""
    a, b = pair
    made, made_other = {x + y for x, y in merges}, {x + y for x, y in other}
    if a + b in made_other:
        return 'same token, made from another pair (its parts merged in another order)'
    if any(a + b in tok for tok in made & made_other):
        return 'a step to a token both make, which the other side reaches through other parts'
    if any(x in INVALID_UTF8 for x in a + b):
        return 'alphabet: a byte never valid in UTF-8 (their 243 bytes lack it)'
    if sum(x + y == a + b for x, y in merges) > 1:
        return 'id reuse: a second pair spelling a token already made'
    if a == b or a.endswith(b) or b.startswith(a):
        return 'overlap rule: a repeating pair, counted overlapping by ours, not by theirs'
    return 'order: near-equal counts ranked apart by the tie and overlap rules (cascade)'


def has_letter(piece):
    return regex.search(r'\p{L}', piece) is not None


def superbpe_class(pair, side):
    """Why a stage-2 merge is in one list only (side: 'ours' | 'theirs')."""
    from uniscale.tokenization import pretokenize
    a, b = pair
    text = (a + b).decode('utf-8', 'replace')
    if side == 'theirs' and len([w for w in (a + b).split(b' ') if w]) > 4:
        return 'max 4 words: the released SuperBPE refuses more, theirs has no limit'
    if side == 'theirs' and b': ' in a + b:
        return "colon rule: the released SuperBPE refuses ':' + space, theirs does not"
    if side == 'ours':
        try:
            cuts = {0}
            for piece in pretokenize((a + b).decode('utf-8')):
                cuts.add(max(cuts) + len(piece.encode('utf-8')))
        except UnicodeDecodeError:
            cuts = set()
        if len(cuts) == 2:
            return 'inside one pre-token: SuperBPE continues word-level BPE, theirs never does'
        if len(a) not in cuts:
            return 'cuts a pre-token: SuperBPE merges parts of words, theirs whole pre-tokens only'
        if not all(has_letter(p) for p in pretokenize(text)):
            return 'a pre-token without a letter: theirs merges only pre-tokens holding one'
        return ('whole pretokens holding letters, as theirs could make: built in another order or '
                'counted otherwise in our chunks (cascade)')
    return ('ranked lower or not reached: in our chunks its tokens also pair with punctuation '
            'and parts of words (the classes above), which take merges and occurrences')


def show_pair(p):
    """Text where the bytes are whole characters, else the bytes."""
    def one(x):
        try:
            return repr(x.decode('utf-8'))
        except UnicodeDecodeError:
            return repr(x)
    return '(' + ', '.join(one(x) for x in p) + ')'


def print_pass(title, cmp, classify, note=''):
    """One pass's comparison and its set difference by class."""
    print(f"\n{title}: ours {cmp['n_ours']} merges, theirs {cmp['n_theirs']}; identical in order "
          f"{cmp['n_same_order']}; in both (as sets) {cmp['n_common']}; only ours "
          f"{len(cmp['only_ours'])}, only theirs {len(cmp['only_theirs'])}")
    made = [{a + b for a, b in cmp[k]} for k in ('ours', 'theirs')]
    print(f"  tokens made: only ours {len(made[0] - made[1])}, only theirs "
          f"{len(made[1] - made[0])}")
    if cmp['first']:
        i, p, q = cmp['first']
        print(f"  first difference: merge {i}: ours {show_pair(p) if p else '-'}, theirs "
              f"{show_pair(q) if q else '-'}")
    if note:
        print(f"  why: {note}")
    for side in ('ours', 'theirs'):
        groups = collections.defaultdict(list)
        for p in cmp[f'only_{side}']:
            groups[classify(p, side)].append(p)
        for cls, ps in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            eg = ', '.join(show_pair(p) for p in ps[:show])
            print(f"  only {side}: {len(ps)} {cls}: {eg}")


def ours_superbpe(texts, work):
    """Our SuperBPE (btm.train method='superbpe'): its stock tokenizer.json's flat merge list,
    split into stage 1 (the first t - 258) and stage 2."""
    import btm
    out = os.path.join(work, f'ours-superbpe-{t}-{vocab_size}')
    btm.train(texts, out, n_base=t, vocab_size=vocab_size, method='superbpe')
    with open(os.path.join(out, 'meta.json')) as f:
        if json.load(f)['kind'] != 'superbpe':
            raise SystemExit("bench/superword_authors.py: this btm.py has no method='superbpe' "
                             "(it trained a BTM); run with --methods=[boundless] or merge SuperBPE "
                             "first")
    merges = hf_merges(os.path.join(out, 'tokenizer.json'))
    return merges[:t - N_BYTE_IDS], merges[t - N_BYTE_IDS:]


def ours_boundless(texts, work, n_base):
    """Our BoundlessBPE (btm.train method='boundless'): phase 1's merges (primitive/) and the
    supermerges (merges.json, ids) as byte pairs."""
    import btm
    from uniscale.tokenization import load_tokenizer
    out = os.path.join(work, f'ours-boundless-{n_base}-{vocab_size}')
    btm.train(texts, out, n_base=n_base, vocab_size=vocab_size, method='boundless')
    tok = load_tokenizer(out)
    with open(os.path.join(out, 'merges.json')) as f:
        supers = json.load(f)['merges']
    phase1 = hf_merges(os.path.join(out, 'primitive', 'tokenizer.json'))
    return phase1, [(tok.token_bytes(a), tok.token_bytes(b)) for a, b in supers]


def first_note(units, ours, theirs, cmp, before=()):
    """explain_first at the first difference, if both lists go on there. before: our merges
    ahead of these (phase 1's, for phase 2's ids)."""
    first = cmp['first']
    if not (first and first[1] and first[2]):
        return ''
    return explain_first(units, ours, theirs, first[0], hf_ids([*before, *ours[:first[0]]]))


def stage1_pass(title, words, ours, theirs):
    """A word-level pass: the comparison, and each side's rules written out against its list."""
    cmp = compare(ours, theirs)
    units = [([w[i:i + 1] for i in range(len(w))], c) for w, c in words.items()]
    print_pass(title, cmp, lambda p, side: stage1_class(p, *((ours, theirs)[::1 if side == 'ours'
                                                                           else -1])),
               first_note((units, units), ours, theirs, cmp))
    print_rules_check('their rules', their_rules(units, len(theirs)), theirs)
    print_rules_check('our rules', our_rules(units, len(ours), hf_ids([])), ours)
    ids = hf_ids([])
    hf_key = lambda p: (ids.setdefault(p[0], len(ids) + 2), ids.setdefault(p[1], len(ids) + 2))
    for what, overlapping, key in (('our ties', False, hf_key), ('our counts', True, lambda p: p)):
        one = rules_merges(units, len(theirs), overlapping, key, 1)
        same = [compare(one, x)['n_same_order'] for x in (ours, theirs)]
        print(f"  their rules with {what} alone: identical in order to ours {same[0]}, to theirs "
              f"{same[1]}")


def compare_superbpe(theirs, texts, words, work):
    ours1, ours2 = ours_superbpe(texts, work)
    stage1_pass(f"SuperBPE stage 1 (t = {t}: {t - N_BYTE_IDS} merges) vs their first pass", words,
                ours1, theirs['word_merges'])
    our_units, their_units = coarse_units(texts, ours1), runs(texts, theirs['word_merges'])
    cmp = compare(ours2, theirs['super_merges'])
    print_pass(f"SuperBPE stage 2 ({vocab_size - t} merges) vs their SuperBpeTrainer", cmp,
               superbpe_class, first_note((our_units, their_units), ours2, theirs['super_merges'],
                                          cmp, before=ours1))
    print_rules_check('their rules', their_rules(their_units, len(theirs['super_merges'])),
                      theirs['super_merges'])
    print_rules_check('our rules (coarse chunks, the released refusals)',
                      our_rules(our_units, len(ours2), hf_ids(ours1), allow=superbpe_allow(ours1)),
                      ours2)
    print(f"  their CPU s: first pass {theirs['word_cpu_s']:.2f}, second "
          f"{theirs['second_cpu_s']:.2f}")


def compare_released(texts, work):
    """Our SuperBPE against the released one's rules read in its source (the fork does not build
    here): ours written that way first (must reproduce ours), then each of its rules alone."""
    ours1, ours2 = ours_superbpe(texts, work)
    print(f"\nreleased SuperBPE, by its source's rules (the fork does not build here): "
          f"identical in order / in both, stage 1 of {len(ours1)}, stage 2 of {len(ours2)}")
    runs_of = [('ours written out', OURS_AS_RELEASED)]
    runs_of += [(f"its {k} alone", dict(OURS_AS_RELEASED, **{k: v})) for k, v in RELEASED.items()]
    for name, cfg in runs_of + [('all its rules', RELEASED)]:
        r1, r2 = released_superbpe(texts, len(ours1), len(ours2), **cfg)
        c1, c2 = compare(r1, ours1), compare(r2, ours2)
        print(f"  {name}: stage 1 {c1['n_same_order']} / {c1['n_common']}, stage 2 "
              f"{c2['n_same_order']} / {c2['n_common']}")


def made_tokens(merges):
    return {a + b for a, b in merges} | {bytes([x]) for x in range(256)}


def boundless_class(pair, side, tokens):
    """Why a supermerge is in one list only; tokens: each side's phase-1 tokens (bytes)."""
    from uniscale.tokenization import pretokenize
    mine, other = (tokens[0], tokens[1]) if side == 'ours' else (tokens[1], tokens[0])
    try:
        parts = [p.encode('utf-8') for p in pretokenize(b''.join(pair).decode('utf-8'))]
    except UnicodeDecodeError:
        return 'not whole characters (unexpected: superwords join whole pretokens)'
    if any(p in mine and p not in other for p in parts):
        return 'a pretoken that is one phase-1 token on this side only (the phase-1 lists differ)'
    return 'order: near-equal counts ranked apart by the tie and overlap rules (cascade)'


def phase2_pass(title, ours1, ours2, our_units, their_units, theirs1, theirs2):
    """A superword pass: the comparison and its first difference explained."""
    cmp = compare(ours2, theirs2)
    tokens = (made_tokens(ours1), made_tokens(theirs1))
    print_pass(title, cmp, lambda p, side: boundless_class(p, side, tokens),
               first_note((our_units, their_units), ours2, theirs2, cmp, before=ours1))


def compare_boundless(sup, src, work, texts, words):
    """(a) ours at n_base = t against their SuperBpeTrainer (the same two-phase algorithm: runs
    of one-token pretokens holding a letter, supermerges on top of the full first pass); (b) ours
    at the first-pass size their BoundlessBpeTrainer kept, against it (it interleaves)."""
    ours1, ours2 = ours_boundless(texts, work, t)
    our_units, their_units = runs(texts, ours1), runs(texts, sup['word_merges'])
    phase2_pass(f"BoundlessBPE n_base = {t}, phase 2 ({vocab_size - t} merges) vs their "
                f"SuperBpeTrainer (the same two phases)", ours1, ours2, our_units, their_units,
                sup['word_merges'], sup['super_merges'])
    print_rules_check('their rules', their_rules(their_units, len(sup['super_merges'])),
                      sup['super_merges'])
    print_rules_check('our rules', our_rules(our_units, len(ours2), hf_ids(ours1)), ours2)
    bnd = run_authors(src, work, texts, 'boundless', their_vocab(vocab_size))
    kept, full = bnd['word_ops_kept'], bnd['word_merges']
    ours1, ours2 = ours_boundless(texts, work, N_BYTE_IDS + kept)
    print(f"\ntheir BoundlessBpeTrainer kept {kept} of {len(full)} first-pass merges and made "
          f"{len(bnd['super_merges'])} supermerges; ours: n_base = {N_BYTE_IDS + kept}")
    stage1_pass("BoundlessBPE phase 1 vs their kept first pass", words, ours1, full[:kept])
    our_units, their_units = runs(texts, ours1), runs(texts, full)
    phase2_pass("BoundlessBPE phase 2 vs their BoundlessBpeTrainer", ours1, ours2, our_units,
                their_units, full[:kept], bnd['super_merges'])
    emulated, k = their_boundless(their_units, full, bnd['word_counts'],
                                  len({a + b for a, b in full}))
    print_rules_check(f"their rules (the competition replaying {k} word merges)", emulated,
                      bnd['super_merges'])
    print_rules_check('our rules', our_rules(our_units, len(ours2), hf_ids(ours1)), ours2)
    print(f"  their CPU s: first pass {bnd['word_cpu_s']:.2f}, second {bnd['second_cpu_s']:.2f}")


# ------------------------------------------- the rules, written out: they reproduce each side
def unit_pairs(toks, overlapping):
    """Pair counts in one unit: every window (A A A holds (A, A) twice), or left to right
    without overlap (once), as fastboundlessbpe's get_stats."""
    if overlapping:
        return collections.Counter(zip(toks, toks[1:]))
    out, prev = collections.Counter(), None
    for p in zip(toks, toks[1:]):
        if p[0] == p[1] and p == prev:  # the second (A, A) of A A A overlaps the first
            prev = None
            continue
        out[p] += 1
        prev = p
    return out


def replace(toks, pair):
    out, i = [], 0
    while i < len(toks):
        if i + 1 < len(toks) and (toks[i], toks[i + 1]) == pair:
            out.append(toks[i] + toks[i + 1])
            i += 2
        else:
            out.append(toks[i])
            i += 1
    return out


class Merger:
    """BPE state over weighted units [(tokens, weight)] under one side's rules: best() is the
    highest count, ties to the smallest tie_key(pair); merge(pair) replaces it left to right."""

    def __init__(self, units, overlapping, tie_key):
        self.toks = [list(u) for u, _ in units]
        self.weight = [w for _, w in units]
        self.overlapping, self.tie_key = overlapping, tie_key
        self.counts, self.where = collections.Counter(), collections.defaultdict(set)
        for i, u in enumerate(self.toks):
            for p, c in unit_pairs(u, overlapping).items():
                self.counts[p] += c * self.weight[i]
                self.where[p].add(i)
        self.heap = [(-c, tie_key(p), p) for p, c in self.counts.items()]
        heapq.heapify(self.heap)

    def best(self):
        """(count, pair) of the next merge, (0, None) when no pair is left."""
        while self.heap:
            c, _k, p = self.heap[0]
            if -c == self.counts[p] > 0:
                return -c, p
            heapq.heappop(self.heap)  # stale: merge() pushed its current count too
        return 0, None

    def merge(self, p):
        for i in self.where.pop(p, ()):
            before = unit_pairs(self.toks[i], self.overlapping)
            self.toks[i] = replace(self.toks[i], p)
            after = unit_pairs(self.toks[i], self.overlapping)
            for q in before.keys() | after.keys():
                d = (after[q] - before[q]) * self.weight[i]
                if d:
                    self.counts[q] += d
                    heapq.heappush(self.heap, (-self.counts[q], self.tie_key(q), q))
                if after[q]:
                    self.where[q].add(i)
        self.counts[p] = 0


def rules_merges(units, n_new, overlapping, tie_key, min_count, allow=None):
    """BPE under one side's rules until n_new new token strings (a pair spelling a token already
    made adds none: both sides then merge once more) or no pair counted >= min_count; a pair
    allow(pair, made) refuses is never merged."""
    m, merges, made, refused = Merger(units, overlapping, tie_key), [], set(), set()
    while len(made) < n_new:
        c, p = m.best()
        if p is None or c < min_count:
            break
        if p in refused or (allow and not allow(p, made)):
            refused.add(p)
            m.counts[p] = 0  # stale from now on; a refused pair stays refused
            continue
        m.merge(p)
        merges.append(p)
        made.add(p[0] + p[1])
    return merges


def their_rules(units, n_new):
    """fastboundlessbpe: non-overlapping counts, ties to the smallest pair of byte strings, any
    count >= 1."""
    return rules_merges(units, n_new, False, lambda p: p, 1)


def our_rules(units, n_new, ids, min_frequency=2, allow=None):
    """Ours (HF's BpeTrainer and btm's engine): overlapping counts, ties to the smallest pair of
    ids (ids: token bytes -> id, extended by each new token), count >= min_frequency."""
    def key(p):
        for x in p:
            if x not in ids:
                ids[x] = max(ids.values()) + 1
        return (ids[p[0]], ids[p[1]])
    return rules_merges(units, n_new, True, key, min_frequency, allow)


def runs(texts, merges):
    """Phase 2's units: maximal runs of >= 2 adjacent pretokens that are each one token under
    merges and hold a letter, each distinct run once with its number of occurrences."""
    from uniscale.tokenization import pretokenize
    words = pieces(texts)
    one = {w for (toks, _c), w in zip(segment(words, merges), words) if len(toks) == 1}
    ok = {w for w in one if has_letter(w.decode('utf-8'))}
    out = collections.Counter()
    for x in texts:
        run = []
        for p in [*pretokenize(x), None]:
            b = p.encode('utf-8') if p is not None else None
            if b in ok:
                run.append(b)
                continue
            if len(run) >= 2:
                out[tuple(run)] += 1
            run = []
    return [(list(r), n) for r, n in out.items()]


COARSE_PATTERN = r"\p{N}{1,3}| ?[^\s\p{L}\p{N}]{2,}[\r\n/]*| +(?!\S)"  # SuperBPE's stage 2


def isolated_pieces(pattern, texts):
    """HF's Split(pattern, 'isolated'): the matches and the gaps between them, as UTF-8, counted."""
    rx, out = regex.compile(pattern), collections.Counter()
    for x in texts:
        at = 0
        for mt in rx.finditer(x):
            out.update(c.encode('utf-8') for c in (x[at:mt.start()], mt.group()) if c)
            at = mt.end()
        if x[at:]:
            out[x[at:].encode('utf-8')] += 1
    return out


def coarse_units(texts, stage1):
    """SuperBPE's stage-2 units: each document cut by COARSE_PATTERN (the matches and the gaps
    between them), each distinct chunk once with its count, the stage-1 merges replayed over it."""
    return segment(isolated_pieces(COARSE_PATTERN, texts), stage1)


def superbpe_allow(stage1):
    """The released stage 2's refusals: no ': ', at most 4 words (pieces between spaces); ours
    adds: never the bytes another id spells (theirs would reuse that id)."""
    spelled = made_tokens(stage1)

    def allow(p, made):
        tok = p[0] + p[1]
        words = [w for w in tok.split(b' ') if w]
        return b': ' not in tok and len(words) <= 4 and tok not in spelled and tok not in made
    return allow


# the released SuperBPE's stage-1 regex (PythonNut/superbpe scripts/train_tokenizer.sh), verbatim
FORK_STAGE1_PATTERN = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*"
                       r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|"
                       r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+"
                       r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|"
                       r"\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
OURS_AS_RELEASED = {'lines': False, 'stage1_pattern': None, 'min_count': 2, 'reuse': False,
                    'fork_ids': False}  # each key: one way the released SuperBPE differs from ours
RELEASED = {'lines': True, 'stage1_pattern': FORK_STAGE1_PATTERN, 'min_count': 1, 'reuse': True,
            'fork_ids': True}


def released_superbpe(texts, n1, n2, lines, stage1_pattern, min_count, reuse, fork_ids):
    """SuperBPE by the rules read in the fork's source (it does not build here): (stage 1, stage 2)
    merges. With OURS_AS_RELEASED it is our SuperBPE; each key of RELEASED moves one rule to the
    fork's: lines (HF's train(files) reads text line by line), its stage-1 regex, least count 1,
    reuse (a pair spelling a made token merges into its id instead of being refused), fork_ids
    (ids from the characters seen, then the replayed merges that occur in the stage-2 chunks)."""
    from uniscale.tokenization import PRETOKENIZE_PATTERN
    docs = [ln for x in texts for ln in x.splitlines(keepends=True)] if lines else texts
    seen = {bytes([b]) for x in docs for b in x.encode('utf-8')}
    base = {k: v - 2 for k, v in hf_ids([]).items()}  # the 256 bytes in byte-level char order
    ids = {k: i for i, k in enumerate(sorted(seen, key=base.get))} if fork_ids else hf_ids([])
    key = lambda p: tuple(ids.setdefault(x, len(ids) + 2) for x in p)
    words = isolated_pieces(stage1_pattern or PRETOKENIZE_PATTERN, docs)
    units = [([w[i:i + 1] for i in range(len(w))], c) for w, c in words.items()]
    stage1 = rules_merges(units, n1, True, key, min_count)
    if fork_ids:  # stage 2 numbers anew: the characters seen, then what the replay makes
        ids = {k: i for i, k in enumerate(sorted(seen, key=base.get))}
    else:
        ids = hf_ids(stage1)
    chunks = isolated_pieces(COARSE_PATTERN, docs)
    m = Merger([([w[i:i + 1] for i in range(len(w))], c) for w, c in chunks.items()], True, key)
    for p in stage1:  # the replay: a merge whose pair no chunk holds is skipped (fork) or kept
        if m.counts[p] > 0 or not fork_ids:
            m.merge(p)
            ids.setdefault(p[0] + p[1], len(ids) + 2)
    stage2, refused, target = [], set(), len(ids) + n2
    while len(ids) < target:
        c, p = m.best()
        if p is None or c < min_count:
            break
        tok = p[0] + p[1]
        if p in refused or b': ' in tok or len([w for w in tok.split(b' ') if w]) > 4 \
                or (not reuse and tok in ids):
            refused.add(p)
            m.counts[p] = 0
            continue
        m.merge(p)
        stage2.append(p)
        ids.setdefault(tok, len(ids) + 2)
    return stage1, stage2


def their_boundless(units, word_merges, word_counts, n_new):
    """BoundlessBpeTrainer's loop, written out: the best supermerge is applied when its count is
    above the count the next first-pass merge had (ties to the word merge), else that word merge
    is replayed; until n_new new tokens or no pair of superword units left. Returns (supermerges,
    word merges replayed)."""
    m, supers, made, k = Merger(units, False, lambda p: p), [], set(), 0
    while len(made) < n_new:
        c, p = m.best()
        if p is None:
            break
        if k < len(word_merges) and c <= word_counts[k]:
            made.add(b''.join(word_merges[k]))
            k += 1
            continue
        m.merge(p)
        supers.append(p)
        made.add(b''.join(p))
    return supers, k


def print_rules_check(what, emulated, actual):
    cmp = compare(emulated, actual)
    verdict = 'reproduce it exactly' if emulated == actual else \
        f"differ from merge {cmp['n_same_order']} on"
    print(f"  {what}, written out here, {verdict} ({cmp['n_same_order']} of {len(actual)} in "
          f"order)")


def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def plain_hf_bpe_cpu(texts, n_ids):
    """Plain HF tokenizers BPE (the shared Split + ByteLevel pre-tokenizer, no wrapper of ours):
    CPU seconds of this process, its Rust threads included."""
    import tokenizers
    from tokenizers import Regex, models, pre_tokenizers, trainers
    from uniscale.tokenization import PRETOKENIZE_PATTERN
    tok = tokenizers.Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_PATTERN), behavior='isolated'),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tr = trainers.BpeTrainer(vocab_size=n_ids, min_frequency=2, show_progress=False,
                             special_tokens=['<|bos|>', '<|eos|>'],
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    c0 = cpu_s()
    tok.train_from_iterator(texts, tr)
    return cpu_s() - c0


def ours_cpu(docs, work, method, n_base):
    """CPU seconds (this process and its children) of btm.train with method at speed_vocab; None
    when btm.py does not know the method yet."""
    import btm
    both = lambda: sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF,
                       resource.RUSAGE_CHILDREN) for f in ('ru_utime', 'ru_stime'))
    c0, out = both(), os.path.join(work, f'speed-{method}')
    btm.train(docs, out, n_base=n_base, vocab_size=speed_vocab, method=method)
    cpu = both() - c0
    with open(os.path.join(out, 'meta.json')) as f:
        return cpu if json.load(f)['kind'] == method else None  # an older btm.py trains a BTM


def speed_peer(src, work):
    """fastboundlessbpe's pure-Python SuperBPE and BoundlessBPE training on speed_file, in CPU
    seconds (each pass timed inside its process), over plain HF BPE at speed_vocab (best of 2),
    and ours at the same sizes (BoundlessBPE: phase 1 as large as theirs kept)."""
    with open(speed_file) as f:
        docs = json.load(f)
    n_bytes = sum(len(d.encode('utf-8')) for d in docs)
    hf = [plain_hf_bpe_cpu(docs, speed_vocab)]
    sup = run_authors(src, work, docs, 'superbpe', their_vocab(speed_t), speed_vocab - speed_t,
                      tag='-speed')
    bnd = run_authors(src, work, docs, 'boundless', their_vocab(speed_vocab), tag='-speed')
    ours = {'superbpe': ours_cpu(docs, work, 'superbpe', speed_t),
            'boundless': ours_cpu(docs, work, 'boundless', N_BYTE_IDS + bnd['word_ops_kept'])}
    hf.append(plain_hf_bpe_cpu(docs, speed_vocab))
    base = min(hf)
    print(f"\nspeed: {speed_file} ({len(docs):,} documents, {n_bytes:,} bytes), load average "
          f"{os.getloadavg()[0]:.1f}; plain HF BPE-{speed_vocab} {hf[0]:.2f} / {hf[1]:.2f} CPU s")
    for name, method, r in ((f'SuperBPE t={speed_t}', 'superbpe', sup),
                            (f"BoundlessBPE (kept {bnd['word_ops_kept']} first-pass merges)",
                             'boundless', bnd)):
        total = r['word_cpu_s'] + r['second_cpu_s']
        print(f"  fastboundlessbpe pure-Python {name}: first pass {r['word_cpu_s']:.1f} + second "
              f"{r['second_cpu_s']:.1f} = {total:.1f} CPU s = {total / base:.1f}x plain HF BPE "
              f"(whole process, imports and model files included: {r['process_cpu_s']:.1f} = "
              f"{r['process_cpu_s'] / base:.1f}x); {r['final_vocab']} ids (their count: no "
              f"specials)")
        if ours[method] is not None:
            print(f"    ours (btm.train method={method!r}): {ours[method]:.1f} CPU s = "
                  f"{ours[method] / base:.2f}x plain HF BPE, {total / ours[method]:.1f}x faster")


def stopped(signum, _frame):
    raise SystemExit(f"bench/superword_authors.py: stopped by signal {signum}")  # temp dir removed


def main():
    signal.signal(signal.SIGTERM, stopped)
    configurator.configure(globals())
    why = missing_peer()
    if why:
        print(f"bench/superword_authors.py: skipped: {why}")
        return
    print(f"machine: {machine.describe()}, load average {os.getloadavg()[0]:.1f}")
    texts = fixture_texts(fixture, fixture_bytes)
    n_bytes = sum(len(x.encode('utf-8')) for x in texts)
    words = pieces(texts)
    with tempfile.TemporaryDirectory(prefix='superword-authors-') as work:
        src = os.path.join(work, 'authors')
        commit = extract_authors(src)
        print(f"fixture: {fixture} ({len(texts)} documents, {n_bytes:,} bytes); fastboundlessbpe "
              f"{commit[:12]} ({'script-aware' if script_aware else 'simple'} pre-tokenizer)")
        if script_aware:
            print("note: their pretokens are not ours (scripts split, Han etc. one character "
                  "each); their rules are written out over ours, so reproduce theirs in part only")
        sup = run_authors(src, work, texts, 'superbpe', their_vocab(t), vocab_size - t) \
            if methods else None
        if 'superbpe' in methods:
            compare_superbpe(sup, texts, words, work)
        if 'boundless' in methods:
            compare_boundless(sup, src, work, texts, words)
        if released:
            compare_released(texts, work)
        if speed:
            speed_peer(src, work)


if __name__ == '__main__':
    main()
