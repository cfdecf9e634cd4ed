"""
Export a uniscale run as a Hugging Face transformers folder: config.json and model.safetensors for GPT2LMHeadModel
(arch gpt2) or ApertusForCausalLM (arch apertus), plus the tokenizer as a PreTrainedTokenizerFast when the run's
tokenizer folder has a tokenizer.json (other kinds, e.g. sentencepiece or BTM, are skipped with a note).

    python export_hf.py --run=out/runs/apertus-50M_bpe-80k_s1 --out=out/hf/apertus-50M_bpe-80k_s1
    lm_eval --model hf --model_args pretrained=out/hf/apertus-50M_bpe-80k_s1,add_bos_token=True --tasks hellaswag

The embedding's padding rows are dropped, so the exported model has the tokenizer's vocabulary and the same logits
(tests/test_model.py checks it). transformers is needed here and in the tests, never for training.
"""
import json
import os
import shutil

import torch
from safetensors.torch import save_file
from transformers import ApertusConfig, GPT2Config, PreTrainedTokenizerFast

import configurator
from model import XIELU, GPTConfig

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


def read_meta(tokenizer_dir):
    path = os.path.join(tokenizer_dir, 'meta.json') if tokenizer_dir else ''
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        return json.load(f)


def export_tokenizer(tokenizer_dir, out_dir, meta):
    """Save the tokenizer as a PreTrainedTokenizerFast when it has a tokenizer.json; else print why not."""
    path = os.path.join(tokenizer_dir, 'tokenizer.json')
    if not os.path.isfile(path):
        print(f"export_hf.py: note: {tokenizer_dir} has no tokenizer.json (kind {meta.get('kind', 'unknown')}); "
              f"exported the model without a tokenizer, AutoTokenizer will not load {out_dir}")
        return False
    tok = PreTrainedTokenizerFast(tokenizer_file=path)
    for role in ('bos', 'eos'):
        if meta.get(f'{role}_id') is not None:
            setattr(tok, f'{role}_token', tok.convert_ids_to_tokens(meta[f'{role}_id']))
    tok.save_pretrained(out_dir)
    return True


def export(ckpt_dict, out_dir, tokenizer_dir=None):
    """Write ckpt_dict ('model': state_dict, 'model_config': asdict(GPTConfig)) as a transformers folder at out_dir,
    with the tokenizer of tokenizer_dir when its kind allows. Written next door, then moved into place. Returns out_dir."""
    cfg = GPTConfig(**ckpt_dict['model_config'])
    sd = {k.removeprefix('_orig_mod.'): v for k, v in ckpt_dict['model'].items()}
    meta = read_meta(tokenizer_dir)
    tmp_dir = f"{out_dir.rstrip('/')}.tmp{os.getpid()}"
    shutil.rmtree(tmp_dir, ignore_errors=True)
    os.makedirs(tmp_dir)
    hf_config(cfg, meta.get('bos_id'), meta.get('eos_id')).save_pretrained(tmp_dir)
    save_file(hf_state_dict(cfg, sd), os.path.join(tmp_dir, 'model.safetensors'), metadata={'format': 'pt'})
    if tokenizer_dir:
        export_tokenizer(tokenizer_dir, tmp_dir, meta)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp_dir, out_dir)
    return out_dir


def export_run(run_dir, out_dir):
    """Export out/runs/{run}/ckpt.pt, with the tokenizer folder named in its run config."""
    path = os.path.join(run_dir, 'ckpt.pt')
    if not os.path.isfile(path):
        raise SystemExit(f"export_hf.py: {path} not found; train the run first (python train.py ...)")
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    tokenizer_dir = ckpt.get('config', {}).get('tokenizer') or None
    if tokenizer_dir and not os.path.isdir(tokenizer_dir):
        print(f"export_hf.py: note: tokenizer folder {tokenizer_dir} (from the run config) not found; exporting without it")
        tokenizer_dir = None
    export(ckpt, out_dir, tokenizer_dir)
    cfg = GPTConfig(**ckpt['model_config'])
    print(f"export_hf.py: wrote {out_dir} ({cfg.arch}, vocab {cfg.vocab_size}); "
          f"load it with transformers.AutoModelForCausalLM.from_pretrained('{out_dir}')")
    return out_dir


if __name__ == '__main__':
    config = configurator.configure(globals())
    if not run:
        raise SystemExit("export_hf.py: say which run to export, e.g. --run=out/runs/apertus-50M_bpe-80k_s1")
    export_run(run, out or os.path.join('out', 'hf', os.path.basename(os.path.normpath(run))))
