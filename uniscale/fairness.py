"""Multilingual fairness with a known answer: Petrov et al.'s tokenization premium and its Gini.

Why: a premium measured on generated stories understates the real one (issue 30), and a fairness
number nobody can check says little. Petrov et al. (NeurIPS 2023,
github.com/AleksandarPetrov/tokenization-fairness) publish both their protocol and its counts
(assets/tokenization_lengths_validated.csv), so the protocol here is theirs, exactly, and the tests
reproduce their integers (tests/test_fairness.py):
- petrov_text: a language's FLORES-200 dev + devtest, each file's read().split('\\n') (the empty
  trailing item kept, as their code does), joined by ONE space into one string, encoded once;
- premiums: the ratio of its tokens to the reference language's (English: 1);
- gini: the population Gini of the premiums, the reference's 1 included by the caller.

Codes of the study's 20 FineWeb-2 languages (config/langs.py LANG_SET_20, 'eng' for English):
- FLORES200_CODES: the FLORES-200 release's file codes ({dir}/{split}/{code}.{split}, the layout
  uniscale/eval_sets.py reads), checked against Petrov's copy of the files;
- FLORES+ hub configs (openlanguagedata/flores_plus) are not copied here: tokenizer.py's
  flores_codes, as premium.flores_texts applies them (tested for the 20 languages).
Imports no project module.
"""
import os

# study language (FineWeb-2 name) -> FLORES-200 file code; FLORES-200 names Mandarin zho_Hans and
# Persian pes_Arab (FineWeb-2's cmn_Hani, fas_Arab)
FLORES200_CODES = {
    'eng': 'eng_Latn', 'cmn_Hani': 'zho_Hans', 'spa_Latn': 'spa_Latn', 'arb_Arab': 'arb_Arab',
    'rus_Cyrl': 'rus_Cyrl', 'deu_Latn': 'deu_Latn', 'fra_Latn': 'fra_Latn', 'jpn_Jpan': 'jpn_Jpan',
    'hin_Deva': 'hin_Deva', 'por_Latn': 'por_Latn', 'ind_Latn': 'ind_Latn', 'vie_Latn': 'vie_Latn',
    'tur_Latn': 'tur_Latn', 'pol_Latn': 'pol_Latn', 'ell_Grek': 'ell_Grek', 'swh_Latn': 'swh_Latn',
    'fas_Arab': 'pes_Arab', 'ben_Beng': 'ben_Beng', 'tha_Thai': 'tha_Thai', 'kor_Hang': 'kor_Hang',
}
SPLITS = ('dev', 'devtest')  # Petrov joins both, dev first


def gini(values):
    """Population Gini: mean |x_i - x_j| over all n^2 ordered pairs (i = j included) / (2 mean).

    Computed on the sorted values (sum over pairs = 2 sum_k (2k - n + 1) x_(k), k from 0), in
    float64 Python floats; refuses an empty list or a non-positive mean (premiums are positive)."""
    xs = sorted(float(v) for v in values)
    n = len(xs)
    if n == 0:
        raise ValueError("gini: no values (premiums of at least one language are needed)")
    mean = sum(xs) / n
    if not mean > 0:
        raise ValueError(f"gini: mean {mean!r} is not positive; premiums are positive ratios")
    pair_sum = 2 * sum((2 * k - n + 1) * x for k, x in enumerate(xs))
    return pair_sum / (n * n) / (2 * mean)


def flores_path(flores_dir, code, split):
    """{flores_dir}/{split}/{code}.{split}; refuses in one line when the file is not there."""
    path = os.path.join(flores_dir, split, f"{code}.{split}")
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: no such FLORES-200 file (language {code!r}, split {split}); "
                         f"pass --flores_dir=.../flores200_dataset (the folder holding dev/ and "
                         f"devtest/) and FLORES-200 codes such as eng_Latn, zho_Hans")
    return path


def flores_lines(flores_dir, code, split):
    """One FLORES-200 file as Petrov et al. read it: read().split('\\n'), in text mode with
    universal newlines and UTF-8 (their open(..., 'r')), so the empty item after the file's last
    newline stays. A file that is not UTF-8 is refused in one line."""
    path = flores_path(flores_dir, code, split)
    try:
        with open(path, encoding='utf-8') as f:
            return f.read().split('\n')
    except UnicodeDecodeError as e:
        raise SystemExit(f"{path}: not UTF-8 text (byte {e.start}); use the FLORES-200 release's "
                         f"files (flores200_dataset)") from None


def petrov_text(flores_dir, code, splits=SPLITS):
    """Petrov et al.'s text of one language: " ".join(dev + devtest), each list being the file's
    read().split('\\n') (flores_lines), so the empty item after each file's last newline stays (an
    extra space)."""
    return " ".join(line for split in splits for line in flores_lines(flores_dir, code, split))


def petrov_counts(encode, flores_dir, codes):
    """{code: tokens of petrov_text(code)}, encode(text) -> list of ids, each text encoded once."""
    return {code: len(encode(petrov_text(flores_dir, code))) for code in codes}


def premiums(counts, reference):
    """{code: counts[code] / counts[reference]}: the reference's premium is 1."""
    if reference not in counts:
        raise SystemExit(f"premium reference {reference!r} has no token count (counted: "
                         f"{', '.join(sorted(counts))}); add it to the languages or pick one")
    if counts[reference] <= 0:
        raise SystemExit(f"premium reference {reference!r} has {counts[reference]} tokens; "
                         f"its text is empty, so no premium can be taken against it")
    return {code: n / counts[reference] for code, n in counts.items()}
