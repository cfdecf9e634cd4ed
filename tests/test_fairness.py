"""uniscale/fairness.py against known answers: Petrov et al.'s published counts and Gini (0.266 for
cl100k_base, 0.324 for GPT-2 over the study's 20 languages, issue 30), a naive Gini, and their
protocol on a small FLORES-layout fixture; with their repository's mirror present, cl100k_base on
the full FLORES-200 files reproduces their integer counts exactly."""
import csv
import io
import os
import random
import subprocess
import tarfile

import pytest

from config.langs import LANG_SET_20
from uniscale import fairness as F

FIXTURE = os.path.join(os.path.dirname(__file__), 'fixtures', 'petrov_counts_20.csv')
# a bare git mirror of github.com/AleksandarPetrov/tokenization-fairness (or set PETROV_REPO)
MIRROR = os.environ.get('PETROV_REPO', '/work/.mirror/AleksandarPetrov+tokenization-fairness/repo')
NO_COUNT = '–––'  # Petrov's cell for a tokenizer that cannot encode the language


def fixture_rows():
    with open(FIXTURE, encoding='utf-8') as f:
        return list(csv.DictReader(line for line in f if not line.startswith('#')))


def published_counts(column):
    """{FLORES-200 code: tokens} of one tokenizer's column, its "–––" cells skipped (and listed)."""
    rows = fixture_rows()
    skipped = [r['flores200'] for r in rows if r[column] == NO_COUNT]
    return {r['flores200']: int(r[column]) for r in rows if r[column] != NO_COUNT}, skipped


def naive_gini(xs):
    n, mean = len(xs), sum(xs) / len(xs)
    return sum(abs(a - b) for a in xs for b in xs) / (n * n) / (2 * mean)


@pytest.mark.parametrize('column, expected', [('cl100k_base', 0.266), ('GPT-2', 0.324)])
def test_gini_of_petrovs_counts_is_the_issues_number(column, expected):
    counts, skipped = published_counts(column)
    assert skipped == [] and len(counts) == 20  # none of the 20 languages' cells is "–––"
    prem = F.premiums(counts, 'eng_Latn')
    assert prem['eng_Latn'] == 1.0
    assert round(F.gini(prem.values()), 3) == expected


def test_gini_against_a_naive_double_loop_and_known_cases():
    rng = random.Random(0)
    for n in (1, 2, 3, 7, 20, 51):
        xs = [rng.uniform(0.5, 12.0) for _ in range(n)]
        # both float64 sums of n^2 terms of size <= max(xs): agree to ~n^2 eps relative
        assert F.gini(xs) == pytest.approx(naive_gini(xs), rel=1e-12)
    assert F.gini([3.0] * 9) == 0.0
    assert F.gini([1.0, 0.0]) == pytest.approx(0.5)  # |1-0| twice over 4 pairs / (2 * 0.5)
    assert F.gini([1] + [0] * 9) == pytest.approx(0.9)  # one holds all: (n - 1) / n
    with pytest.raises(ValueError, match='no values'):
        F.gini([])
    with pytest.raises(ValueError, match='not positive'):
        F.gini([0, 0])


def test_premiums_refuse_a_reference_without_count():
    assert F.premiums({'a': 4, 'b': 6}, 'a') == {'a': 1.0, 'b': 1.5}
    with pytest.raises(SystemExit, match=r"^premium reference 'eng_Latn' has no token count"):
        F.premiums({'a': 4}, 'eng_Latn')


def write_flores(root, texts):
    """texts: {code: {split: [line, ...]}} in FLORES-200's layout, each line ending '\\n'."""
    for code, splits in texts.items():
        for split, lines in splits.items():
            os.makedirs(root / split, exist_ok=True)
            (root / split / f"{code}.{split}").write_text(''.join(s + '\n' for s in lines),
                                                          encoding='utf-8')


def test_protocol_on_a_small_fixture(tmp_path):
    """dev + devtest joined by one space with each file's trailing empty item kept: checked as a
    string on a tiny case, and as byte-level token counts on a few dozen lines per language."""
    write_flores(tmp_path, {'xxx_Latn': {'dev': ['a b', 'c'], 'devtest': ['d']}})
    assert F.petrov_text(str(tmp_path), 'xxx_Latn') == 'a b c  d '
    rng = random.Random(1)
    alphabets = {'eng_Latn': 'abcdefgh ', 'rus_Cyrl': 'абвгдеж ', 'zho_Hans': '的一是不了人我',
                 'hin_Deva': 'कखगघङचछ '}
    texts = {code: {split: [''.join(rng.choice(a) for _ in range(rng.randint(1, 40)))
                            for _ in range(n)] for split, n in (('dev', 30), ('devtest', 40))}
             for code, a in alphabets.items()}
    write_flores(tmp_path, texts)
    got = F.petrov_counts(lambda t: list(t.encode('utf-8')), str(tmp_path), list(texts))
    for code, splits in texts.items():  # each line's bytes, one space after it, one between files
        n_bytes = sum(len(line.encode('utf-8')) + 1 for lines in splits.values() for line in lines)
        assert got[code] == n_bytes + 1, code
    prem = F.premiums(got, 'eng_Latn')
    assert prem == {c: got[c] / got['eng_Latn'] for c in texts}
    with pytest.raises(SystemExit, match=r"/dev/xyz_Latn\.dev: no such FLORES-200 file"):
        F.petrov_text(str(tmp_path), 'xyz_Latn')


def test_flores200_codes_cover_the_study_languages():
    assert list(F.FLORES200_CODES) == LANG_SET_20
    assert len(set(F.FLORES200_CODES.values())) == 20


def test_flores_plus_configs_of_the_study_languages(monkeypatch):
    """The FLORES+ hub configs come from tokenizer.py's flores_codes as premium.flores_texts
    applies them (not copied in fairness.py): FLORES-200's codes but Mandarin, which FLORES+
    calls cmn_Hans."""
    datasets = pytest.importorskip('datasets')
    import tokenizer as T
    from uniscale import premium
    asked = []

    def load_dataset(repo, code, split):
        asked.append(code)
        return [{'id': 1, 'text': code}]
    monkeypatch.setattr(datasets, 'load_dataset', load_dataset)
    premium.flores_texts(T.flores_repo, 'devtest', LANG_SET_20, T.flores_codes)
    expected = {**F.FLORES200_CODES, 'cmn_Hani': 'cmn_Hans'}
    assert asked == [expected[lang] for lang in LANG_SET_20]


def mirror_or_skip():
    if not os.path.isdir(MIRROR):
        pytest.skip(f"no mirror of Petrov et al.'s repository at {MIRROR} (set PETROV_REPO)")
    return MIRROR


def git_show(path):
    return subprocess.run(['git', '-C', mirror_or_skip(), 'show', f"HEAD:{path}"],
                          capture_output=True, check=True).stdout


@pytest.fixture(scope='module')
def flores_dir(tmp_path_factory):
    """The study's 20 languages' FLORES-200 files, unpacked from the mirror (git archive)."""
    mirror_or_skip()
    paths = [f"flores200_dataset/{s}/{c}.{s}" for c in F.FLORES200_CODES.values() for s in F.SPLITS]
    tar = subprocess.run(['git', '-C', MIRROR, 'archive', 'HEAD', *paths], capture_output=True,
                         check=True).stdout
    root = tmp_path_factory.mktemp('flores')
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(root, filter='data')
    return str(root / 'flores200_dataset')


def test_every_study_language_has_its_flores200_files_in_the_mirror(flores_dir):
    for lang, code in F.FLORES200_CODES.items():
        for split in F.SPLITS:
            assert os.path.isfile(F.flores_path(flores_dir, code, split)), lang


def test_fixture_is_petrovs_published_csv():
    """The fixture's rows equal theirs (names joined to codes by their flores_language_map.csv)."""
    theirs = {r['Language']: r for r in csv.DictReader(io.StringIO(
        git_show('assets/tokenization_lengths_validated.csv').decode('utf-8')))}
    names = {r['Language']: r[' FLORES-200 code'].strip() for r in csv.DictReader(io.StringIO(
        git_show('assets/flores_language_map.csv').decode('utf-8')))}
    for row in fixture_rows():
        assert names[row['Language']] == row['flores200']
        assert (theirs[row['Language']]['cl100k_base'], theirs[row['Language']]['GPT-2']) == \
            (row['cl100k_base'], row['GPT-2'])


def test_cl100k_base_reproduces_petrovs_counts_exactly(flores_dir):
    from uniscale.tokenization import tiktoken_encoding
    try:
        enc = tiktoken_encoding('cl100k_base')
    except SystemExit as e:  # its file is not available offline here
        pytest.skip(str(e))
    published, skipped = published_counts('cl100k_base')
    got = F.petrov_counts(enc.encode, flores_dir, list(published))
    assert got == published  # integers, all 20 languages (skipped: none)
