"""
What parity-aware BPE (uniscale/parity_bpe.py, trained by tokenizer.py --algorithms=['parity'])
trains on: the tok split's documents with their languages, and the parallel dev set whose lengths
choose each merge's language: FLORES-200 dev from a local folder (parity_dev_set='flores200'; its
devtest is what the premium is scored on, so the two never meet) or, offline, the embedded
generator's parallel stories (another seed than the premium's).
"""
from uniscale.splits import read_docs


def parallel_dev_set(cfg, langs):
    """The parallel dev set parity-aware BPE balances ({lang: [text, ...]} for langs): FLORES-200
    dev from a local folder, or the embedded generator's parallel stories (another seed than the
    premium's). A language without dev text is refused: no merge could be chosen for it."""
    if cfg['parity_dev_set'] == 'flores200':
        from uniscale.fairness import FLORES200_CODES, flores_lines
        folder = cfg['parity_flores_dir'] or cfg.get('flores_dir', '')
        if not folder:
            raise SystemExit("config error: parity_dev_set='flores200' needs --parity_flores_dir="
                             ".../flores200_dataset (the folder holding dev/)")
        dev = {}
        for lang in langs:
            if lang not in FLORES200_CODES:
                raise SystemExit(f"config error: parity_dev_set='flores200': language {lang!r} of "
                                 f"the {cfg['train_split']} split has no FLORES-200 code in "
                                 f"uniscale/fairness.py FLORES200_CODES; add it there")
            lines = flores_lines(folder, FLORES200_CODES[lang], 'dev')  # a sentence a line
            dev[lang] = lines[:-1] if lines[-1:] == [''] else lines
        return dev
    if cfg['parity_dev_set'] != 'embedded-parallel':
        raise SystemExit(f"config error: parity_dev_set={cfg['parity_dev_set']!r} unknown; use "
                         f"'embedded-parallel' or 'flores200'")
    from data.embedded import generate
    missing = sorted(set(langs) - set(generate.LANGS))
    if missing:
        raise SystemExit(f"config error: parity_dev_set='embedded-parallel' has no text in "
                         f"{', '.join(missing)} (it tells {', '.join(generate.LANGS)}); use "
                         f"--parity_dev_set=flores200 --parity_flores_dir=...")
    return generate.generate_parallel(cfg['parity_n_stories'], cfg['parity_seed'], sorted(langs))


def split_langs(path, max_bytes=0):
    """The languages of a split's documents (their 'lang' field, 'und' without one), sorted."""
    return sorted({lang for _, lang in docs_with_lang(path, max_bytes)})


def docs_with_lang(path, max_bytes=0):
    """(text, lang) of a split's documents, stopping after max_bytes of UTF-8 (0 = all), as
    read_texts stops."""
    n = 0
    for _, doc in read_docs(path):
        yield doc['text'], doc.get('lang') or 'und'
        n += len(doc['text'].encode('utf-8'))
        if max_bytes and n >= max_bytes:
            return
