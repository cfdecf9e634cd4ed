"""
Export a uniscale run as a Hugging Face transformers folder: config.json and model.safetensors for GPT2LMHeadModel
(arch gpt2) or ApertusForCausalLM (arch apertus), plus its tokenizer, for every tokenizer kind:
bpe and unigram (their tokenizer.json), tiktoken (converted to a byte-level BPE tokenizer.json) and btm (a small
tokenizer class, hf_remote_btm.py, copied into the folder: load it with trust_remote_code=True).

    python export_hf.py --run=out/runs/apertus-50M_bpe-80k_s1 --out=out/hf/apertus-50M_bpe-80k_s1
    python downstream.py --run=out/runs/apertus-50M_bpe-80k_s1 --tasks=belebele_eng_Latn     # lm-eval, see there

The exported tokenizer gives the project's ids: it adds no BOS/EOS by default and special-token text such as
'<|bos|>' inside a document stays ordinary text (split_special_tokens). Before the folder is moved into place the
export loads it back with AutoTokenizer and checks its ids against the project's on a built-in probe set (every
embedded language plus adversarial strings); a mismatch stops the export and leaves nothing behind.
The embedding's padding rows are dropped, so the exported model has the tokenizer's vocabulary and the same logits
(tests/test_model.py checks it). transformers is needed here and in the tests, never for training.

The folder states its limits where transformers reads them: the context (config n_positions /
max_position_embeddings, generation_config.json max_length and the tokenizer's model_max_length are block_size, so
`generate` without max_new_tokens stops there), and a BTM's tokenizer.json is a guard whose error, when the folder is
loaded without trust_remote_code=True, says to pass it. README.md in the folder says the same in words. A GPT-2
export has learned positions for block_size tokens only: transformers' generate with prompt + max_new_tokens past
them warns and then raises IndexError (nothing in the folder can stop it; an Apertus export runs on, untrained).
"""
import errno
import json
import os
import re
import shutil
from contextlib import contextmanager

import torch
from safetensors.torch import save_file
from transformers import ApertusConfig, GenerationConfig, GPT2Config, PreTrainedTokenizerFast

import configurator
from model import XIELU, GPTConfig
from uniscale import atomic
from uniscale.atomic import disk_errors, remove_stale_temps, write_atomic

run = ''  # run folder holding ckpt.pt, e.g. out/runs/apertus-50M_bpe-80k_s1
out = ''  # folder to write; '' means out/hf/{run name}


def hf_config(cfg, bos_id=None, eos_id=None):
    """The transformers config equal to a GPTConfig (at the real vocabulary size)."""
    common = dict(vocab_size=cfg.vocab_size, bos_token_id=bos_id, eos_token_id=eos_id, dtype='float32')
    if cfg.arch == 'gpt2':
        return GPT2Config(n_positions=cfg.block_size, n_embd=cfg.n_embd, n_layer=cfg.n_layer, n_head=cfg.n_head,
                          n_inner=cfg.d_ff, activation_function='gelu_pytorch_tanh', layer_norm_epsilon=1e-5,
                          resid_pdrop=cfg.dropout, embd_pdrop=cfg.dropout, attn_pdrop=cfg.dropout,
                          tie_word_embeddings=True, architectures=['GPT2LMHeadModel'], **common)
    rope = {'rope_type': 'default', 'rope_theta': cfg.rope_theta}
    if cfg.rope_factor > 1:
        rope.update(rope_type='llama3', factor=cfg.rope_factor, original_max_position_embeddings=cfg.rope_original_len,
                    low_freq_factor=1.0, high_freq_factor=4.0)
    return ApertusConfig(hidden_size=cfg.n_embd, intermediate_size=cfg.d_ff, num_hidden_layers=cfg.n_layer,
                         num_attention_heads=cfg.n_head, num_key_value_heads=cfg.n_kv_head, hidden_act='xielu',
                         max_position_embeddings=cfg.block_size, rms_norm_eps=1e-5, rope_parameters=rope,
                         attention_bias=False, attention_dropout=0.0, tie_word_embeddings=False, pad_token_id=None,
                         architectures=['ApertusForCausalLM'], **common)


def hf_state_dict(cfg, sd):
    """Rename (and, for gpt2's Conv1D, transpose) our weights to transformers' names; cut the vocabulary padding."""
    V, hd = cfg.vocab_size, cfg.head_dim
    hf = {}
    if cfg.arch == 'gpt2':
        hf['transformer.wte.weight'] = sd['wte.weight'][:V]  # lm_head is tied to it on their side too
        hf['transformer.wpe.weight'] = sd['wpe.weight']
        hf['transformer.ln_f.weight'], hf['transformer.ln_f.bias'] = sd['norm_f.weight'], sd['norm_f.bias']
        names = {'norm1': 'ln_1', 'norm2': 'ln_2', 'attn.qkv': 'attn.c_attn', 'attn.proj': 'attn.c_proj',
                 'mlp.up': 'mlp.c_fc', 'mlp.down': 'mlp.c_proj'}
        for i in range(cfg.n_layer):
            for ours, theirs in names.items():
                w = sd[f'blocks.{i}.{ours}.weight']
                hf[f'transformer.h.{i}.{theirs}.weight'] = w.t() if w.dim() == 2 else w  # Conv1D stores (in, out)
                hf[f'transformer.h.{i}.{theirs}.bias'] = sd[f'blocks.{i}.{ours}.bias']
    else:
        hf['model.embed_tokens.weight'] = sd['wte.weight'][:V]
        hf['lm_head.weight'] = sd['lm_head.weight'][:V]
        hf['model.norm.weight'] = sd['norm_f.weight']
        for i in range(cfg.n_layer):
            a, b = f'blocks.{i}.', f'model.layers.{i}.'
            q, k, v = sd[a + 'attn.qkv.weight'].split([cfg.n_head * hd, cfg.n_kv_head * hd, cfg.n_kv_head * hd])
            hf.update({b + 'self_attn.q_proj.weight': q, b + 'self_attn.k_proj.weight': k,
                       b + 'self_attn.v_proj.weight': v, b + 'self_attn.o_proj.weight': sd[a + 'attn.proj.weight'],
                       b + 'self_attn.q_norm.weight': sd[a + 'attn.q_norm.weight'],
                       b + 'self_attn.k_norm.weight': sd[a + 'attn.k_norm.weight'],
                       b + 'mlp.up_proj.weight': sd[a + 'mlp.up.weight'],
                       b + 'mlp.down_proj.weight': sd[a + 'mlp.down.weight'],
                       b + 'mlp.act_fn.alpha_p': sd[a + 'mlp.act.alpha_p'],
                       b + 'mlp.act_fn.alpha_n': sd[a + 'mlp.act.alpha_n'],
                       b + 'mlp.act_fn.beta': torch.tensor(XIELU.beta),  # constants here, buffers there
                       b + 'mlp.act_fn.eps': torch.tensor(XIELU.eps),
                       b + 'attention_layernorm.weight': sd[a + 'norm1.weight'],
                       b + 'feedforward_layernorm.weight': sd[a + 'norm2.weight']})
    # safetensors wants separate contiguous tensors; the checkpoint's are fp32 masters anyway
    return {k: v.detach().to('cpu', torch.float32).clone().contiguous() for k, v in hf.items()}


# ---------------------------------------------------------------- the tokenizer
# strings an exported tokenizer must encode exactly as the project does: special-token text (it stays text),
# byte-level and SentencePiece stand-ins, whitespace runs, combining marks, joiners, rare planes, control bytes
ADVERSARIAL = ['', '<|bos|>', '<|eos|>', '<|endoftext|>', '<|unk|>', 'a<|bos|>b <|eos|>\n<|bos|>', '<s></s><unk>',
               '\u2581x \u2581\u2581', 'Ġ Ċ ĉ', '<0x41> <0xFF>', ' ', '  ', '\t', '\n\n', '\r\n', ' \t \n ',
               'e\u0301 \u0915\u094d\u0937', '\U0001F469\u200D\U0001F4BB \U0001F1FA\U0001F1F8', '\u200b\ufeff\u00ad',
               '\U00010000\U0010FFFD', '\x00\x01\x7f', '\ufffd', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
               "don't I'M we'll 12345 3.14159", 'ＡＢＣ ﬁ Ⅻ', '中文没有空格日本語のテキスト한국어']
PROBE_BYTES_PER_LANG = 600  # of embedded-corpus text per language in the probe set


def probe_texts():
    """The built-in probe set: a few documents in every embedded language, then the adversarial strings."""
    from data.embedded import generate
    texts = []
    for lang in generate.LANGS:
        texts += [d['text'] for d in generate.generate_documents(PROBE_BYTES_PER_LANG, seed=7,
                                                                         lang_weights={lang: 1})]
    return texts + ADVERSARIAL


def fast_tokenizer(tok_json, bos, eos, out_dir, max_len=None):
    """A PreTrainedTokenizerFast over a tokenizers Tokenizer; special-token text is split like any text."""
    extra = {'model_max_length': max_len} if max_len else {}
    tok = PreTrainedTokenizerFast(tokenizer_object=tok_json, bos_token=bos, eos_token=eos, split_special_tokens=True,
                                  clean_up_tokenization_spaces=False, **extra)
    tok.save_pretrained(out_dir)


# tokenizer.json of a BTM export: transformers without trust_remote_code falls back to reading this file (a model
# type it knows, GPT-2 or Apertus, has "local" tokenizer code), and its error names the only field it prints
BTM_GUARD = ("not a tokenizers file: this folder's tokenizer is uniscale's BTM (hf_remote_btm.py); load it with "
             "AutoTokenizer.from_pretrained(DIR, trust_remote_code=True)")


def oniguruma_pattern(pat):
    """tiktoken's regex for `tokenizers` (Oniguruma), where `X{1,3}+` repeats the interval instead of being
    possessive: drop that `+` (a possessive interval at the end of an alternative matches the same)."""
    return re.sub(r'(\{\d+,\d+\})\+', r'\1', pat)


def tiktoken_as_tokenizers(name):
    """tiktoken encoding `name` as a byte-level BPE `tokenizers` Tokenizer: ranks become ids, and every split of a
    token's bytes into two tokens is a merge of the token's rank (tiktoken merges the adjacent pair whose join has
    the lowest rank, whichever pair that is; a pre-token that is a whole token is taken as is: ignore_merges)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    from uniscale.tokenization import tiktoken_encoding
    enc = tiktoken_encoding(name)
    ranks = enc._mergeable_ranks
    byte_char = bytes_to_unicode()

    def spell(b):
        return ''.join(byte_char[x] for x in b)
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        splits = sorted((ranks[token[:i]], ranks[token[i:]], i) for i in range(1, len(token))
                        if token[:i] in ranks and token[i:] in ranks)
        merges += [(spell(token[:i]), spell(token[i:])) for _, _, i in splits]
    model = models.BPE(vocab={spell(t): r for t, r in ranks.items()}, merges=merges, fuse_unk=False,
                       ignore_merges=True)
    tok = Tokenizer(model)
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(oniguruma_pattern(enc._pat_str)), behavior='isolated'),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    specials = sorted(enc._special_tokens.items(), key=lambda kv: kv[1])
    for text, i in specials:
        # add_special_tokens appends at len(vocab); the gaps between ranks and specials are filled with unused
        # placeholders so each special lands on its tiktoken id
        while tok.get_vocab_size() < i:
            tok.add_tokens([AddedToken(f"<|unused_{tok.get_vocab_size()}|>", special=True, normalized=False)])
        tok.add_special_tokens([AddedToken(text, special=True, normalized=False)])
    return tok


def write_tokenizer(project_tok, tokenizer_dir, out_dir, max_len=None):
    """The project tokenizer as transformers files in out_dir (see the docstring); max_len: the model's context."""
    kind = project_tok.kind
    if kind in ('bpe', 'unigram'):
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(os.path.join(tokenizer_dir, 'tokenizer.json'))
        fast_tokenizer(tok, tok.id_to_token(project_tok.bos_id), tok.id_to_token(project_tok.eos_id), out_dir, max_len)
        return
    if kind == 'tiktoken':
        tok = tiktoken_as_tokenizers(project_tok.name)
        fast_tokenizer(tok, tok.id_to_token(project_tok.bos_id), tok.id_to_token(project_tok.eos_id), out_dir, max_len)
        return
    if kind in ('btm', 'boundless'):
        from uniscale import hf_remote_boundless, hf_remote_btm
        remote = hf_remote_btm if kind == 'btm' else hf_remote_boundless
        prim = os.path.join(tokenizer_dir, project_tok.meta['primitive'], 'tokenizer.json')
        merges = os.path.join(out_dir, remote.FILES['merges_file'])
        with open(merges, 'w', encoding='utf-8') as f:
            btm_record = {'n_base': project_tok.n_base,
                          'merges': [list(p) for p in project_tok.merges]}
            json.dump(project_tok.record if kind == 'boundless' else btm_record, f)
        extra = {'model_max_length': max_len} if max_len else {}
        cls = remote.UniscaleBTMTokenizer if kind == 'btm' else remote.UniscaleBoundlessTokenizer
        try:
            hf = cls(prim, merges, bos_token='<|bos|>', eos_token='<|eos|>', **extra)
        except ValueError as e:
            raise SystemExit(f"export_hf.py: {tokenizer_dir}: {str(e).split(': ', 1)[-1]}") from None
        os.remove(merges)
        hf.register_for_auto_class('AutoTokenizer')  # auto_map in tokenizer_config.json + this file copied along
        hf.save_pretrained(out_dir)
        guard = BTM_GUARD if kind == 'btm' else BTM_GUARD.replace(
            "BTM (hf_remote_btm.py)", "BoundlessBPE (hf_remote_boundless.py)")
        write_atomic(os.path.join(out_dir, 'tokenizer.json'), json.dumps({
            'version': guard, 'truncation': None, 'padding': None, 'added_tokens': [],
            'normalizer': None,
            'pre_tokenizer': None, 'post_processor': None, 'decoder': None,
            'model': {'type': 'BPE', 'vocab': {}, 'merges': []}}, indent=1))
        return
    raise SystemExit(f"export_hf.py: {tokenizer_dir}: tokenizer kind {kind!r} has no export; expected bpe, unigram, "
                     f"btm, boundless or tiktoken")


def forget_remote_code(hf_dir):
    """Delete the copy of hf_dir's tokenizer code that trust_remote_code left in transformers' module cache (named
    after the folder: for the temp folder it would outlive the export)."""
    from transformers.dynamic_module_utils import TRANSFORMERS_DYNAMIC_MODULE_NAME, _sanitize_module_name
    from transformers.utils import HF_MODULES_CACHE
    name = _sanitize_module_name(os.path.basename(os.path.normpath(hf_dir)))
    shutil.rmtree(os.path.join(HF_MODULES_CACHE, TRANSFORMERS_DYNAMIC_MODULE_NAME, name), ignore_errors=True)


def tokenizer_mismatch(hf_dir, project_tok, texts):
    """'' when transformers' AutoTokenizer on hf_dir gives project_tok's ids (and decodes them back) on every text,
    and has its BOS; else what differs, in words."""
    from transformers import AutoTokenizer
    hf = AutoTokenizer.from_pretrained(hf_dir, trust_remote_code=True)
    hf.model_max_length = 1 << 62  # probe texts may pass the model's context: no "indexing errors" warning here
    if hf.bos_token_id != project_tok.bos_id:
        return f"BOS id {hf.bos_token_id}, the project's is {project_tok.bos_id}"
    want = project_tok.encode_batch(texts)
    for text, ids in zip(texts, want):
        got = hf.encode(text)  # the default call (add_special_tokens=True) must add nothing, as the project's encode
        if list(got) != list(ids):
            n = next((i for i, (a, b) in enumerate(zip(got, ids)) if a != b), min(len(got), len(ids)))
            return (f"ids differ on {text[:40]!r} at token {n} ({list(got)[n:n + 3]} vs the project's "
                    f"{list(ids)[n:n + 3]})")
        if hf.decode(got) != text:
            return f"decode(encode(x)) != x for {text[:40]!r}"
    return ''


# ---------------------------------------------------------------- the folder
@contextmanager
def writing(out_dir):
    """A full or read-only disk is one line naming out_dir (uniscale/atomic.py), also where the Rust writers of
    safetensors and tokenizers report it in their own exception types ('... (os error 28)')."""
    with disk_errors(out_dir):
        try:
            yield
        except Exception as e:
            m = None if isinstance(e, (OSError, SystemExit)) else re.search(r'\(os error (\d+)\)', str(e))
            if not m:
                raise
            raise OSError(int(m.group(1)), os.strerror(int(m.group(1)))) from None


def readme(cfg, project_tok, ckpt_dict, out_dir):
    """README.md of the export: what it is, how to load it, and its limits, in words."""
    run_cfg = ckpt_dict.get('config') or {}
    name = run_cfg.get('run_name') or os.path.basename(os.path.normpath(out_dir))
    cls = 'GPT2LMHeadModel' if cfg.arch == 'gpt2' else 'ApertusForCausalLM'
    remote = project_tok is not None and project_tok.kind in ('btm', 'boundless')
    lines = [f"# {name}", '', f"A uniscale run exported for Hugging Face transformers: {cls}, vocabulary "
             f"{cfg.vocab_size:,}, trained on contexts of {cfg.block_size:,} tokens (checkpoint step "
             f"{ckpt_dict.get('step')}).", '', '```python', 'from transformers import AutoModelForCausalLM, '
             'AutoTokenizer', "model = AutoModelForCausalLM.from_pretrained(DIR)",
             f"tok = AutoTokenizer.from_pretrained(DIR{', trust_remote_code=True' if remote else ''})", '```', '']
    if project_tok is not None:
        lines += [f"- Tokenizer: {project_tok.name} ({project_tok.kind}, hash {project_tok.hash[:16]}). It adds no "
                  f"BOS/EOS and reads special-token text as text; put BOS (id {project_tok.bos_id}) before each "
                  f"document, as training did."]
    if remote and project_tok.kind == 'boundless':
        lines += ["- The tokenizer is uniscale's BoundlessBPE, code in hf_remote_boundless.py: "
                  "load it with trust_remote_code=True (without it transformers reads "
                  "tokenizer.json, a guard whose error says so). Why not a stock tokenizer.json: a "
                  "supermerge joins only complete pretokens that are each one phase-1 token, and a "
                  "flat merge list would apply it wherever its two tokens meet (' of' + ' the' "
                  "inside ' of theory'), so its ids would differ."]
    elif remote:
        lines += ["- The tokenizer is uniscale's BTM, code in hf_remote_btm.py: load it with trust_remote_code=True. "
                  "Without it transformers reads tokenizer.json, a guard whose error says so."]
    lines += [f"- Context: {cfg.block_size:,} tokens (config, generation_config.json max_length, the tokenizer's "
              f"model_max_length). " + (f"GPT-2 has learned positions for exactly {cfg.block_size:,}: keep prompt + "
              f"max_new_tokens <= {cfg.block_size:,}; transformers' generate past it raises IndexError."
              if cfg.arch == 'gpt2' else "RoPE runs past it, on positions the model was never trained on.")]
    return '\n'.join(lines) + '\n'


def export(ckpt_dict, out_dir, tokenizer_dir=None, probe=None):
    """Write ckpt_dict ('model': state_dict, 'model_config': asdict(GPTConfig)) as a transformers folder at out_dir,
    with the tokenizer of tokenizer_dir (a tokenizer folder or a tiktoken name; None: the model alone), checked on
    `probe` (default probe_texts()). Written next door, checked, then moved into place; nothing is left on failure
    (a full or read-only disk included: one line). Returns out_dir."""
    cfg = GPTConfig(**ckpt_dict['model_config'])
    sd = ckpt_dict['model']
    project_tok = None
    if tokenizer_dir:
        from uniscale.tokenization import load_tokenizer
        project_tok = load_tokenizer(tokenizer_dir)
        if project_tok.vocab_size != cfg.vocab_size:
            raise SystemExit(f"export_hf.py: tokenizer {tokenizer_dir} has {project_tok.vocab_size} ids but the model "
                             f"{cfg.vocab_size}; export with the tokenizer the run was trained with")
    parent = os.path.dirname(os.path.abspath(out_dir))
    with writing(out_dir):
        if os.path.exists(parent) and not os.path.isdir(parent):  # makedirs would say "File exists"
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        os.makedirs(parent, exist_ok=True)
    remove_stale_temps(out_dir)  # {out_dir}.{pid}.tmp of killed exports
    tmp_dir = f"{os.path.abspath(out_dir)}.{os.getpid()}.tmp"  # beside it: one filesystem, so the rename is atomic
    shutil.rmtree(tmp_dir, ignore_errors=True)
    try:
        bos, eos = (project_tok.bos_id, project_tok.eos_id) if project_tok else (None, None)
        with writing(out_dir):
            os.makedirs(tmp_dir)
            hf_config(cfg, bos, eos).save_pretrained(tmp_dir)
            GenerationConfig(bos_token_id=bos, eos_token_id=eos, max_length=cfg.block_size).save_pretrained(tmp_dir)
            save_file(hf_state_dict(cfg, sd), os.path.join(tmp_dir, 'model.safetensors'), metadata={'format': 'pt'})
            if project_tok:
                write_tokenizer(project_tok, tokenizer_dir, tmp_dir, cfg.block_size)
            write_atomic(os.path.join(tmp_dir, 'README.md'), readme(cfg, project_tok, ckpt_dict, out_dir))
        if project_tok:
            wrong = tokenizer_mismatch(tmp_dir, project_tok, probe_texts() if probe is None else probe)
            if wrong:
                raise SystemExit(f"export_hf.py: the exported tokenizer of {tokenizer_dir} is wrong ({wrong}); "
                                 f"nothing written to {out_dir}. Report it with this line")
        with writing(out_dir):
            shutil.rmtree(out_dir, ignore_errors=True)
            os.replace(tmp_dir, out_dir)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        if project_tok is not None and project_tok.kind in ('btm', 'boundless'):
            forget_remote_code(tmp_dir)
    return out_dir


def export_run(run_dir, out_dir):
    """Export out/runs/{run}/ckpt.pt with the tokenizer it was trained with (refusing a missing or changed one)."""
    from uniscale.run_folder import check_tokenizer, load_checkpoint, read_run_config
    run_cfg = read_run_config(run_dir)
    tok = check_tokenizer(run_dir, run_cfg)
    ckpt = load_checkpoint(run_dir)
    export(ckpt, out_dir, run_cfg['tokenizer'])
    cfg = GPTConfig(**ckpt['model_config'])
    remote = ', trust_remote_code=True' if tok.kind in ('btm', 'boundless') else ''
    print(f"export_hf.py: wrote {out_dir} ({cfg.arch}, vocab {cfg.vocab_size}, context {cfg.block_size} tokens, "
          f"tokenizer {tok.name} ({tok.kind}), checked on {len(probe_texts())} probe texts); load it with "
          f"transformers.AutoModelForCausalLM.from_pretrained('{out_dir}') and AutoTokenizer.from_pretrained("
          f"'{out_dir}'{remote}); generate at most {cfg.block_size} tokens in all (prompt included): see its "
          f"README.md")
    return out_dir


if __name__ == '__main__':
    atomic.set_output_setting('--out')  # a failed write's advice names it
    config = configurator.configure(globals())
    if not run:
        raise SystemExit("export_hf.py: say which run to export, e.g. --run=out/runs/apertus-50M_bpe-80k_s1")
    export_run(run, out or os.path.join('out', 'hf', os.path.basename(os.path.normpath(run))))
