"""More than one eval set (uniscale/eval_sets.py): FLORES-200 read from its own layout (a round trip of a fake
folder made here), scored by eval_bpb.py --flores_dir and keyed by content; the flip table against scipy and a
hand-built pair of sets that flip a known pair; correlate.py's secondary sets (their own ranking and verdict,
never the headline; a run without a secondary entry refused unless allow_missing)."""
import hashlib
import json
import os

import numpy as np
import pytest
import scipy.stats as st

import eval_bpb
import helpers
from test_eval_bpb import config, write_run
from uniscale import eval_sets, identity

pytestmark = pytest.mark.usefixtures('one_thread')

FLORES = {'eng_Latn': ['The cat sat on the mat.', 'A second sentence, with a comma.', 'Third one!'],
          'deu_Latn': ['Die Katze saß auf der Matte.', 'Über den Fluß.'],
          'cmn_Hani': ['猫坐在垫子上。', '你好，世界。']}


def write_flores(root, sentences=FLORES, split='dev'):
    """A FLORES-200 folder in the original release's layout: {root}/{split}/{lang}.{split}, one sentence a line."""
    folder = os.path.join(root, split)
    os.makedirs(folder, exist_ok=True)
    for lang, lines in sentences.items():
        with open(os.path.join(folder, f"{lang}.{split}"), 'w', encoding='utf-8', newline='\n') as f:
            f.write(''.join(s + '\n' for s in lines))
    return str(root)


# ---------------------------------------------------------------- FLORES-200
def test_flores_reader_round_trips_every_sentence_with_its_language(tmp_path):
    root = write_flores(tmp_path / 'flores', split='devtest')
    paths = eval_sets.flores_files(root, 'devtest', ['eng_Latn', 'cmn_Hani'])
    assert [os.path.basename(p) for p in paths] == ['eng_Latn.devtest', 'cmn_Hani.devtest']
    hashes = {p: hashlib.sha256() for p in paths}
    got = [d for p in paths for d in eval_sets.flores_docs(p, hashes[p])]
    assert got == [(s, 'eng_Latn') for s in FLORES['eng_Latn']] + [(s, 'cmn_Hani') for s in FLORES['cmn_Hani']]
    assert all(hashes[p].hexdigest() == identity.file_sha256(p) for p in paths)  # every byte read is hashed
    every = eval_sets.flores_files(root, 'devtest')  # [] = every language there, sorted
    assert [os.path.basename(p).split('.')[0] for p in every] == sorted(FLORES)


@pytest.mark.parametrize('what', ['folder', 'split', 'language'])
def test_a_missing_flores_folder_or_language_is_one_line_naming_the_path(tmp_path, what):
    root = write_flores(tmp_path / 'flores')
    args = {'folder': (str(tmp_path / 'nowhere'), 'dev', []), 'split': (root, 'devtest', []),
            'language': (root, 'dev', ['eng_Latn', 'fra_Latn'])}[what]
    with pytest.raises(SystemExit) as e:
        eval_sets.flores_files(*args)
    msg = str(e.value)
    assert '\n' not in msg and 'flores200_dataset' in msg
    want = {'folder': os.path.join(str(tmp_path / 'nowhere'), 'dev'), 'split': os.path.join(root, 'devtest'),
            'language': os.path.join(root, 'dev', 'fra_Latn.dev')}[what]
    assert msg.startswith(want + ':')


def test_eval_bpb_scores_flores_per_language_keyed_by_its_content(tmp_path, tok_dir):
    root = write_flores(tmp_path / 'flores')
    run_dir = write_run(str(tmp_path / 'run'), helpers.random_model(), tok_dir)
    settings = {'flores_dir': root, 'flores_split': 'dev', 'flores_langs': ['eng_Latn', 'deu_Latn']}
    out = eval_bpb.main(config(tmp_path, run=run_dir, **settings))[run_dir]
    assert os.path.isfile(os.path.join(run_dir, 'eval_files.json')) and out['eval_set']['corpus'] == 'flores200'
    assert out['eval_set']['split'] == 'dev' and out['n_docs'] == 5
    assert set(out['per_lang']) == {'eng_Latn', 'deu_Latn'}
    want_bytes = sum(len(s.encode('utf-8')) for lang in ('eng_Latn', 'deu_Latn') for s in FLORES[lang])
    assert out['n_bytes'] == want_bytes  # each sentence's bytes, no line ending
    assert [f['lang'] for f in out['eval_set']['files']] == ['eng_Latn', 'deu_Latn']
    assert eval_sets.is_current(run_dir, settings)
    assert not eval_sets.is_current(run_dir, {**settings, 'flores_langs': ['eng_Latn']})  # another set
    with open(os.path.join(root, 'dev', 'deu_Latn.dev'), 'a', encoding='utf-8') as f:
        f.write('Ein neuer Satz.\n')
    assert not eval_sets.is_current(run_dir, settings)  # edited text: another set, never "already scored"


def test_files_and_a_split_keep_their_identity_under_wanted_set(tmp_path, tok_dir):
    """eval_sets.wanted_set (no model) equals what eval_bpb.py records for --files, so the sweep's 'done' holds."""
    given = tmp_path / 'held.jsonl'
    given.write_text(json.dumps({'text': 'held out text', 'lang': 'eng'}) + '\n')
    run_dir = write_run(str(tmp_path / 'run'), helpers.random_model(), tok_dir)
    out = eval_bpb.main(config(tmp_path, run=run_dir, files=str(given)))[run_dir]
    run_cfg = json.load(open(os.path.join(run_dir, 'config.json')))
    want = eval_sets.wanted_set(run_cfg, {'files': str(given)})
    assert all(out['eval_set'][k] == v for k, v in want.items())
    assert eval_sets.is_current(run_dir, {'files': str(given), 'note': 'for people'})
