"""sample.py against its spec: seeded determinism, greedy KV-cache generation equal to a plain argmax loop, samples
cut at a generated BOS, the side-by-side markdown (a column per run, a row per sample, the same text as one run
alone), prompt files, the shipped A/B prompt set, and the tokenizer refusal. Tiny CPU models."""
import dataclasses
import json
import os
import re

import pytest
import torch

import configurator
import helpers  # tests/helpers.py; the small BPE fixtures tok_dir and tok are in conftest.py
import sample
from uniscale import tokenization

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


pytestmark = pytest.mark.usefixtures('one_thread')


def random_model(preset='gpt2-tiny', block_size=64, seed=0):
    return helpers.random_model(preset, block_size, seed)


def write_run(run_dir, model, tok_dir, tok_hash=None):
    os.makedirs(run_dir, exist_ok=True)
    cfg = {'arch': model.config.arch, 'preset': f'{model.config.arch}-tiny', 'seed': 1, 'tokenizer': tok_dir,
           'corpus': 'embedded', 'tokenizer_hash': tok_hash or tokenization.load_tokenizer(tok_dir).hash}
    with open(os.path.join(run_dir, 'config.json'), 'w') as f:
        json.dump(cfg, f)
    torch.save({'model': model.state_dict(), 'model_config': dataclasses.asdict(model.config), 'config': cfg,
                'step': 3, 'tokens_seen': 99}, os.path.join(run_dir, 'ckpt.pt'))
    return run_dir


def config(**overrides):
    return {**configurator.defaults(sample), 'max_new_tokens': 16, 'num_samples': 2, **overrides}


def write_prompts(path, prompts=('Once upon a time,', 'Er sagte: „Hallo', 'A list:\\n1. a towel\\n2.')):
    path.write_text('# a comment line\n\n' + '\n'.join(prompts) + '\n')
    return str(path)


def test_the_same_seed_gives_the_same_samples_and_another_seed_does_not(tok):
    model = random_model()
    args = (model, tok, 'Once upon a time, there was a knight who said to the dragon,', 3, 24, 1.0, 0)
    first, again, other = sample.complete(*args, 5), sample.complete(*args, 5), sample.complete(*args, 6)
    assert first == again and first != other
    assert len(set(first)) > 1  # the samples of one prompt differ from each other


def test_greedy_generation_with_the_kv_cache_equals_a_plain_argmax_loop(tok):
    model = random_model('apertus-tiny')
    prompt = 'The recipe is as follows: first, you take an egg and'
    ids = [tok.bos_id] + tok.encode(prompt)
    x = torch.tensor([ids])
    with torch.no_grad():
        for _ in range(64 - len(ids)):  # up to the block size, where generate's cache never restarts
            x = torch.cat([x, model(x)[0][:, -1].argmax(-1, keepdim=True)], dim=1)
    new = x[0, len(ids):].tolist()
    ends = [i for i, t in enumerate(new) if t in (tok.bos_id, tok.eos_id)]
    expected = tok.decode(new[:ends[0]] if ends else new)
    assert sample.complete(model, tok, prompt, 2, 64 - len(ids), 0.0, 0, 1) == [expected, expected]


def test_a_generated_bos_ends_the_sample(tok):
    class Scripted:  # a "model" that writes 'ab', then BOS, then more text
        def generate(self, idx, max_new_tokens, temperature, top_k):
            more = tok.encode('ab') + [tok.bos_id] + tok.encode('cd')
            return torch.cat([idx, torch.tensor([more] * idx.size(0))], dim=1)
    assert sample.complete(Scripted(), tok, 'x', 2, 9, 1.0, 0, 0) == ['ab', 'ab']


def table_rows(markdown, heading):
    """The table rows (cells) under a '## heading'."""
    section = markdown.split(f'## {heading}\n', 1)[1].split('\n## ', 1)[0]
    return [[c.strip() for c in re.split(r'(?<!\\)\|', line)[1:-1]] for line in section.strip().splitlines()]


def test_side_by_side_has_a_column_per_run_and_the_same_text_as_each_run_alone(tmp_path, tok_dir):
    runs = [write_run(str(tmp_path / name), random_model(seed=i), tok_dir) for i, name in enumerate(['ra', 'rb'])]
    prompts = write_prompts(tmp_path / 'p.txt')
    path, results = sample.main(config(runs=runs, prompts=prompts, out=str(tmp_path / 'ab.md')))
    md = open(path, encoding='utf-8').read()
    header, rule, *rows = table_rows(md, '3. A list: ⏎ 1. a towel ⏎ 2.')
    assert header == ['#', 'ra', 'rb'] and len(rows) == 2 and [r[0] for r in rows] == ['1', '2']
    alone = [sample.main(config(run=r, prompts=prompts))[1][0] for r in runs]
    assert os.path.isfile(os.path.join(runs[0], 'samples.md'))
    for col, single in enumerate(alone):
        assert single['samples'] == results[col]['samples']
        assert [row[col + 1] for row in rows] == [sample.cell(s) for s in single['samples'][2]]
    saved = json.load(open(str(tmp_path / 'ab.json'), encoding='utf-8'))
    assert saved['prompts'][2] == 'A list:\n1. a towel\n2.' and saved['runs'][1]['samples'] == results[1]['samples']


def test_cells_keep_newlines_and_pipes_inside_one_cell():
    assert sample.cell('a | b\nc <d>') == '…a \\| b<br>c &lt;d&gt;'


def test_prompt_files_in_text_and_json(tmp_path):
    assert sample.read_prompts(write_prompts(tmp_path / 'p.txt', ['one', 'two\\nlines'])) == ['one', 'two\nlines']
    (tmp_path / 'p.json').write_text(json.dumps(['a', {'prompt': 'b'}]))
    assert sample.read_prompts(str(tmp_path / 'p.json')) == ['a', 'b']
    with pytest.raises(SystemExit, match='prompt file not found'):
        sample.read_prompts(str(tmp_path / 'missing.txt'))


def test_the_ab_prompt_set_has_15_to_20_prompts():
    prompts = sample.read_prompts(os.path.join(ROOT, 'prompts', 'ab_prompts.txt'))
    assert 15 <= len(prompts) <= 20 and len(set(prompts)) == len(prompts)
    assert 'Once upon a time, there was a knight who said to the dragon,' in prompts


def test_a_changed_tokenizer_is_refused_before_any_generation(tmp_path, tok_dir):
    good = write_run(str(tmp_path / 'good'), random_model(), tok_dir)
    bad = write_run(str(tmp_path / 'bad'), random_model(), tok_dir, tok_hash='feedfacefeedface')
    with pytest.raises(SystemExit, match='trained with feedfacefeed'):
        sample.main(config(runs=[good, bad], prompts=write_prompts(tmp_path / 'p.txt'), out=str(tmp_path / 'x.md')))
    assert not os.path.exists(os.path.join(good, 'samples.md')) and not os.path.exists(tmp_path / 'x.md')


def test_threads_one_rule_for_every_script():
    """threads = 0: one thread below 10M non-embedding parameters, else torch's default; a positive
    value as given. eval_bpb.py, sample.py and train.py default to 0 and say the rule beside it."""
    from uniscale import hardware
    assert hardware.threads_for(0, 9_999_999) == 1
    assert hardware.threads_for(0, 10_000_000) is None
    assert hardware.threads_for(3, 100) == 3 and hardware.threads_for(2, 1e9) == 2
    for script in ('eval_bpb.py', 'sample.py', 'train.py'):
        with open(os.path.join(helpers.ROOT, script)) as f:
            line = next(x for x in f if x.startswith('threads = '))
        assert line.startswith('threads = 0 '), script
        assert '1 below 10M non-embedding params' in line, script


def test_sample_uses_one_thread_for_a_small_model(tmp_path, tok_dir):
    run = write_run(str(tmp_path / 'r'), random_model(), tok_dir)
    n = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        sample.main(config(run=run, prompts=write_prompts(tmp_path / 'p.txt'), max_new_tokens=2))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(n)


def test_an_unwritable_output_is_refused_before_any_generation(tmp_path, tok_dir, monkeypatch):
    run = write_run(str(tmp_path / 'r'), random_model(), tok_dir)
    (tmp_path / 'a_file').write_text('x')  # a folder that cannot be made (root writes all else)
    fail = lambda *a: pytest.fail('generated before checking the output')
    monkeypatch.setattr(sample, 'sample_run', fail)
    with pytest.raises(SystemExit) as e:
        sample.main(config(run=run, prompts=write_prompts(tmp_path / 'p.txt'),
                           out=str(tmp_path / 'a_file' / 'x.md')))
    msg = str(e.value)
    assert 'a_file/x.md: cannot write there' in msg and '--out=' in msg and '\n' not in msg
