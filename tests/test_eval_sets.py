"""More than one eval set (uniscale/eval_sets.py, eval_set_analysis.py): FLORES-200 read from its
own layout (a round trip of a fake folder made here), scored by eval_bpb.py --flores_dir and keyed
by content; correlate.py's secondary sets (their own ranking and verdict equal to the same values
analysed as a primary set, never the headline; a run without a secondary entry refused unless
allow_missing); the flip table against scipy and a hand-built pair of sets that flip a known pair;
sweep.py scoring every run on each set; the demo's generated set."""
import hashlib
import json
import os

import numpy as np
import pytest
import scipy.stats as st

import configurator
import eval_bpb
import helpers
import sweep
from data.embedded import generate
from test_correlate import SIZES, TOKS, run_scale, write_run as write_scored_run
from test_eval_bpb import config, write_run
from test_sweep import config as sweep_config, fake_checkpoint, fake_eval
from uniscale import eval_set_analysis, eval_sets, identity

pytestmark = pytest.mark.usefixtures('one_thread')

FLORES = {'eng_Latn': ['The cat sat on the mat.', 'A second sentence, with a comma.', 'Third one!'],
          'deu_Latn': ['Die Katze saß auf der Matte.', 'Über den Fluß.'],
          'cmn_Hani': ['猫坐在垫子上。', '你好，世界。']}


def write_flores(root, sentences=FLORES, split='dev'):
    """A FLORES-200 folder in the original release's layout: {root}/{split}/{lang}.{split}, one
    sentence a line."""
    folder = os.path.join(root, split)
    os.makedirs(folder, exist_ok=True)
    for lang, lines in sentences.items():
        path = os.path.join(folder, f"{lang}.{split}")
        with open(path, 'w', encoding='utf-8', newline='\n') as f:
            f.write(''.join(s + '\n' for s in lines))
    return str(root)


# ---------------------------------------------------------------- FLORES-200
def test_flores_reader_round_trips_every_sentence_with_its_language(tmp_path):
    root = write_flores(tmp_path / 'flores', split='devtest')
    paths = eval_sets.flores_files(root, 'devtest', ['eng_Latn', 'cmn_Hani'])
    assert [os.path.basename(p) for p in paths] == ['eng_Latn.devtest', 'cmn_Hani.devtest']
    hashes = {p: hashlib.sha256() for p in paths}
    got = [d for p in paths for d in eval_sets.flores_docs(p, hashes[p])]
    want = [(s, lang) for lang in ('eng_Latn', 'cmn_Hani') for s in FLORES[lang]]
    assert got == want
    # every byte read is hashed: the set's identity is the files' content
    assert all(hashes[p].hexdigest() == identity.file_sha256(p) for p in paths)
    every = eval_sets.flores_files(root, 'devtest')  # [] = every language there, sorted
    assert [os.path.basename(p).split('.')[0] for p in every] == sorted(FLORES)


@pytest.mark.parametrize('what', ['folder', 'split', 'language'])
def test_a_missing_flores_folder_or_language_is_one_line_naming_the_path(tmp_path, what):
    root = write_flores(tmp_path / 'flores')
    nowhere = str(tmp_path / 'nowhere')
    args = {'folder': (nowhere, 'dev', []), 'split': (root, 'devtest', []),
            'language': (root, 'dev', ['eng_Latn', 'fra_Latn'])}[what]
    with pytest.raises(SystemExit) as e:
        eval_sets.flores_files(*args)
    msg = str(e.value)
    assert '\n' not in msg and 'flores200_dataset' in msg
    want = {'folder': os.path.join(nowhere, 'dev'), 'split': os.path.join(root, 'devtest'),
            'language': os.path.join(root, 'dev', 'fra_Latn.dev')}[what]
    assert msg.startswith(want + ':')


def test_eval_bpb_scores_flores_per_language_keyed_by_its_content(tmp_path, tok_dir):
    root = write_flores(tmp_path / 'flores')
    run_dir = write_run(str(tmp_path / 'run'), helpers.random_model(), tok_dir)
    settings = {'flores_dir': root, 'flores_split': 'dev', 'flores_langs': ['eng_Latn', 'deu_Latn']}
    out = eval_bpb.main(config(tmp_path, run=run_dir, **settings))[run_dir]
    assert os.path.isfile(os.path.join(run_dir, 'eval_files.json'))
    assert out['eval_set']['corpus'] == 'flores200' and out['eval_set']['split'] == 'dev'
    assert out['n_docs'] == 5 and set(out['per_lang']) == {'eng_Latn', 'deu_Latn'}
    langs = ('eng_Latn', 'deu_Latn')
    assert out['n_bytes'] == sum(len(s.encode('utf-8')) for lang in langs for s in FLORES[lang])
    assert [f['lang'] for f in out['eval_set']['files']] == list(langs)
    assert eval_sets.is_current(run_dir, settings)
    other = {**settings, 'flores_langs': ['eng_Latn']}
    assert not eval_sets.is_current(run_dir, other)  # another set
    with open(os.path.join(root, 'dev', 'deu_Latn.dev'), 'a', encoding='utf-8') as f:
        f.write('Ein neuer Satz.\n')
    assert not eval_sets.is_current(run_dir, settings)  # edited text: another set, not "scored"


def test_files_keep_their_identity_under_wanted_set(tmp_path, tok_dir):
    """eval_sets.wanted_set (no model) equals what eval_bpb.py records for --files, so the
    sweep's 'done' holds."""
    given = tmp_path / 'held.jsonl'
    given.write_text(json.dumps({'text': 'held out text', 'lang': 'eng'}) + '\n')
    run_dir = write_run(str(tmp_path / 'run'), helpers.random_model(), tok_dir)
    out = eval_bpb.main(config(tmp_path, run=run_dir, files=str(given)))[run_dir]
    run_cfg = json.load(open(os.path.join(run_dir, 'config.json')))
    want = eval_sets.wanted_set(run_cfg, {'files': str(given)})
    assert all(out['eval_set'][k] == v for k, v in want.items())
    assert eval_sets.is_current(run_dir, {'files': str(given), 'note': 'for people'})


# ---------------------------------------------------------------- correlate.py: secondary sets
def secondary_value(i, si, rng):
    """The secondary set's bpb: the primary's order, but tokenizers 1 and 2 swapped at the largest
    size."""
    rank = {1: 2, 2: 1}.get(i, i) if si == len(SIZES) - 1 else i
    return 3.2 - 0.5 * si + 0.05 * rank + rng.normal(0, 0.002)


def secondary_entry(d, value, held_out):
    """Run d's eval_files.json as eval_bpb.py --files writes it: its eval.json's fields, the set's
    identity (the file's content) and the value."""
    run_cfg = json.load(open(d / 'config.json'))
    es = {**eval_sets.wanted_set(run_cfg, {'files': str(held_out)}), 'n_docs': 3}
    ev = json.load(open(d / 'eval.json'))
    entry = {**ev, 'bpb': value, 'per_lang': {'eng': {'bpb': value}}, 'eval_set': es,
             'split': 'files'}
    (d / 'eval_files.json').write_text(json.dumps(entry))


def two_set_grid(runs_dir, held_out, seeds=(1, 2, 3)):
    """6 tokenizers x 3 sizes x 3 seeds scored on the primary set (eval.json: tokenizer i has rank
    i everywhere) and on a --files set (eval_files.json, keyed by the file's content): the
    secondary values, written also to a copy of the grid (runs_dir + '_as_primary') where they are
    the primary set: the reference analysis."""
    rng = np.random.default_rng(0)
    reference = runs_dir.parent / (runs_dir.name + '_as_primary')
    for si, preset in enumerate(SIZES):
        for i, tok in enumerate(TOKS):
            for seed in seeds:
                b = 3.0 - 0.5 * si + 0.05 * i + rng.normal(0, 0.002)
                c = secondary_value(i, si, rng)
                d = write_scored_run(runs_dir, tok, preset, seed, b, per_lang={'eng': {'bpb': b}})
                write_scored_run(reference, tok, preset, seed, c, per_lang={'eng': {'bpb': c}})
                secondary_entry(d, c, held_out)


def held_out_file(tmp_path):
    path = tmp_path / 'stories_seed2.jsonl'
    path.write_text(''.join(json.dumps({'text': f"story {i}", 'lang': 'eng'}) + '\n'
                            for i in range(3)))
    return path


def report_of(tmp_path, name='s'):
    return open(tmp_path / 'analysis' / name / 'report.md').read()


def test_a_secondary_set_gets_the_primarys_analysis_and_never_the_headline(tmp_path):
    held_out = held_out_file(tmp_path)
    two_set_grid(tmp_path / 'runs', held_out)
    sec = {'seed2': {'files': str(held_out), 'note': 'same generator as the primary'}}
    _, base = run_scale(tmp_path, name='base')
    _, s = run_scale(tmp_path, secondary_eval_sets=sec)
    assert s['headline'] == base['headline'] and s['headline']['spearman'] == pytest.approx(1.0)
    primary, second = s['eval_sets']
    assert primary['role'] == 'primary' and second['role'] == 'secondary'
    assert second['n_runs'] == 54 and second['eval_set']['corpus'] == 'files'
    sha = identity.fingerprint([identity.file_sha256(str(held_out))])
    assert second['eval_set']['split_sha256'] == sha
    # the reference: the same values analysed as a study's primary set
    _, ref = run_scale(tmp_path, runs_dir=str(tmp_path / 'runs_as_primary'), name='ref')
    for k in ('spearman', 'spearman_p', 'kendall', 'kendall_p', 'spearman_ci',
              'decision_accuracy', 'verdict'):
        assert second['headline'][k] == ref['headline'][k], k
    assert second['headline']['spearman'] < 1
    assert second['verdict'] == f"secondary: {ref['headline']['verdict']}"
    report = report_of(tmp_path)
    assert 'secondary: ' in report and 'same generator as the primary' in report


def cell_mean(summary, t, z):
    return next(c['mean'] for c in summary['cells'] if (c['tokenizer'], c['size']) == (t, z))


def test_the_flip_table_matches_scipy_and_names_the_pair_that_flips(tmp_path):
    held_out = held_out_file(tmp_path)
    two_set_grid(tmp_path / 'runs', held_out)
    _, s = run_scale(tmp_path, secondary_eval_sets={'seed2': {'files': str(held_out)}})
    _, ref = run_scale(tmp_path, runs_dir=str(tmp_path / 'runs_as_primary'), name='ref')
    assert [f['size'] for f in s['eval_set_flips']] == list(SIZES)
    for f in s['eval_set_flips']:
        x = [cell_mean(s, t, f['size']) for t in TOKS]
        y = [cell_mean(ref, t, f['size']) for t in TOKS]
        assert f['n_tokenizers'] == 6 and f['n_pairs'] == 15
        assert f['spearman'] == pytest.approx(st.spearmanr(x, y).statistic, abs=1e-12)
        assert f['kendall'] == pytest.approx(st.kendalltau(x, y).statistic, abs=1e-12)
        want = [[TOKS[1], TOKS[2]]] if f['size'] == list(SIZES)[-1] else []
        assert [p['pair'] for p in f['flipped']] == want
    flip = s['eval_set_flips'][-1]['flipped'][0]
    assert flip['gap_a'] < 0 < flip['gap_b'] and abs(flip['z_a']) > 2 and abs(flip['z_b']) > 2
    report = report_of(tmp_path)
    assert f"{TOKS[1]} vs {TOKS[2]}" in report
    assert 'beyond 2 seed standard errors in both sets' in report


def test_a_run_without_a_secondary_entry_is_refused_unless_allowed(tmp_path):
    held_out = held_out_file(tmp_path)
    two_set_grid(tmp_path / 'runs', held_out)
    os.remove(tmp_path / 'runs' / f"apertus-tiny_{TOKS[0]}_s1" / 'eval_files.json')
    sec = {'seed2': {'files': str(held_out)}}
    with pytest.raises(SystemExit) as e:
        run_scale(tmp_path, secondary_eval_sets=sec)
    msg = str(e.value)
    assert '\n' not in msg and f"apertus-tiny_{TOKS[0]}_s1" in msg
    assert 'python eval_bpb.py' in msg and 'allow_missing' in msg
    _, s = run_scale(tmp_path, secondary_eval_sets=sec, allow_missing=True)
    assert s['eval_sets'][1]['n_runs'] == 53 and any('seed2' in x for x in s['left_out'])
    report = report_of(tmp_path)
    assert report.index('Left out') < report.index('## Eval sets')


def test_an_edited_secondary_file_is_another_set_not_the_one_scored(tmp_path):
    held_out = held_out_file(tmp_path)
    two_set_grid(tmp_path / 'runs', held_out)
    with open(held_out, 'a') as f:
        f.write(json.dumps({'text': 'added later', 'lang': 'eng'}) + '\n')
    with pytest.raises(SystemExit) as e:
        run_scale(tmp_path, secondary_eval_sets={'seed2': {'files': str(held_out)}})
    assert "not scored on the secondary eval set 'seed2'" in str(e.value)


def test_flip_table_counts_ties_as_no_flip_against_a_hand_count():
    one = lambda v: np.array([float(v)])
    cells = {'a': {('x', 'z'): one(1), ('y', 'z'): one(2), ('w', 'z'): one(3)},
             'b': {('x', 'z'): one(2), ('y', 'z'): one(2), ('w', 'z'): one(1)}}
    row, = eval_set_analysis.flip_table(cells, ['z'])
    # x < y < w in a; in b x = y (a tie: no flip) and w below both: (w, x) and (w, y) flip
    assert [p['pair'] for p in row['flipped']] == [['w', 'x'], ['w', 'y']]
    order = ['w', 'x', 'y']  # the table's order (natural sort)
    a, b = [cells['a'][t, 'z'][0] for t in order], [cells['b'][t, 'z'][0] for t in order]
    assert row['kendall'] == pytest.approx(st.kendalltau(a, b).statistic)
    assert row['spearman'] == pytest.approx(st.spearmanr(a, b).statistic)
    assert row['flipped'][0]['z_a'] is None  # one seed: no standard error


# ---------------------------------------------------------------- sweep.py: every run on each set
def test_sweep_scores_every_run_on_each_secondary_set_and_passes_them_on(tmp_path):
    held_out = held_out_file(tmp_path)
    sec = {'seed2': {'files': str(held_out), 'note': 'same generator'}}
    cfg = sweep_config(tmp_path, only=['s1', 'bpe-2k'], secondary_eval_sets=sec)
    run = sweep.expand_grid(cfg)[0]
    fake_checkpoint(run['dir'])
    fake_eval(run['dir'], sweep.eval_settings(cfg))
    assert sweep.run_status(run, cfg) == 'evaluate'  # scored on the primary set, not the secondary
    cmds = sweep.eval_commands([run['dir']], cfg)
    assert cmds[1] == ['eval_bpb.py', f"--run={run['dir']}", f"--files={held_out}"]  # no note
    ev = json.load(open(os.path.join(run['dir'], 'eval.json')))
    run_cfg = json.load(open(os.path.join(run['dir'], 'config.json')))
    want = eval_sets.wanted_set(run_cfg, {'files': str(held_out)})
    with open(os.path.join(run['dir'], 'eval_files.json'), 'w') as f:  # as eval_bpb.py writes it
        json.dump({**ev, 'eval_set': {**want, 'n_docs': 3}}, f)
    assert sweep.run_status(run, cfg) == 'done'
    arg = next(a for a in sweep.analysis_command(cfg) if a.startswith('--secondary_eval_sets='))
    assert configurator.parse_value(arg.split('=', 1)[1]) == sec
    os.remove(held_out)  # the set's text gone: one line naming the set, never "done" on a guess
    with pytest.raises(SystemExit) as e:
        sweep.run_status(run, cfg)
    assert '\n' not in str(e.value) and "secondary_eval_sets['seed2']" in str(e.value)


def test_the_demo_generator_writes_the_same_set_every_time(tmp_path):
    a, b = tmp_path / 'a.jsonl', tmp_path / 'b.jsonl'
    n = generate.write_jsonl(str(a), 20_000, seed=2)
    generate.write_jsonl(str(b), 20_000, seed=2)
    assert identity.file_sha256(str(a)) == identity.file_sha256(str(b))  # survives a remake
    docs = [json.loads(line) for line in open(a, encoding='utf-8')]
    assert docs == list(generate.generate_documents(20_000, seed=2)) and len(docs) == n
    corpus = list(generate.generate_documents(20_000, seed=1337))  # the corpus's seed
    assert not {d['text'] for d in docs} & {d['text'] for d in corpus}


def test_a_secondary_set_may_be_another_split_read_from_its_own_eval_file(tmp_path):
    """{'split': 'val'}: eval_val.json's entry of that split, as the primary's are read."""
    held_out = held_out_file(tmp_path)
    two_set_grid(tmp_path / 'runs', held_out)
    for d in (tmp_path / 'runs').iterdir():
        ev = json.load(open(d / 'eval_files.json'))
        es = {**json.load(open(d / 'eval.json'))['eval_set'], 'split': 'val'}
        (d / 'eval_val.json').write_text(json.dumps({**ev, 'eval_set': es, 'split': 'val'}))
    _, s = run_scale(tmp_path, secondary_eval_sets={'val': {'split': 'val'}})
    _, ref = run_scale(tmp_path, runs_dir=str(tmp_path / 'runs_as_primary'), name='ref')
    second = s['eval_sets'][1]
    assert second['eval_set']['split'] == 'val' and second['n_runs'] == 54
    assert second['headline']['spearman'] == ref['headline']['spearman']
    assert [p['pair'] for p in s['eval_set_flips'][-1]['flipped']] == [[TOKS[1], TOKS[2]]]
