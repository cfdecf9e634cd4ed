"""
The uniscale language model: one GPT with two block families, in the spirit of nanoGPT's model.py.

- gpt2: pre-LayerNorm with biases, GELU (tanh) MLP 4x, learned absolute positions, tied embeddings.
- apertus: as transformers' ApertusForCausalLM (swiss-ai/Apertus-8B-2509): pre-RMSNorm, grouped-query attention
  without biases, QK-norm, RoPE (theta 500k), non-gated MLP down(xIELU(up(x))) with d_ff = 5.25 d, untied embeddings.

    from model import GPT, make_config
    model = GPT(make_config('apertus-50M', vocab_size=tok.vocab_size, block_size=1024))
    logits, _ = model(idx)             # logits (B, T, vocab_size)
    _, loss = model(idx, targets)      # mean token_losses: cross-entropy in nats (-1 = ignored); logits None
    h = model.final_hidden(idx)        # (B, T, n_embd): logits = h @ model.lm_head.weight[:vocab_size].T

The loss with targets never holds the (B T, vocab) logits: uniscale/chunked_loss.py takes them a chunk of rows at a
time, computing this file's token_losses (its body compiled when the model runs compiled; Liger-Kernel's or
cut-cross-entropy's fused kernel on CUDA when installed), and uniscale/bpb.py scores the same way from final_hidden.

export_hf.py writes a checkpoint as a transformers folder; tests/test_model.py proves the two agree logit for logit.
"""
import math
from dataclasses import dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.attention.flex_attention import BlockMask, create_block_mask, flex_attention

from uniscale.chunked_loss import chunked_cross_entropy, target_weights

# Size presets, named by non-embedding parameter count (tests/test_model.py checks each is within 5% of its name).
PRESETS = {
    'gpt2-tiny': dict(arch='gpt2', n_layer=2, n_head=4, n_embd=128),  # ~0.4M, for the CPU demo and tests
    'gpt2-40M': dict(arch='gpt2', n_layer=10, n_head=8, n_embd=512),  # ~40M in total with a 16,384 vocabulary
    'apertus-micro': dict(arch='apertus', n_layer=1, n_head=2, n_kv_head=1, n_embd=64),  # ~0.06M: the demo's
    'apertus-tiny': dict(arch='apertus', n_layer=2, n_head=4, n_kv_head=2, n_embd=128),  # ~0.4M   three sizes
    'apertus-mini': dict(arch='apertus', n_layer=3, n_head=4, n_kv_head=2, n_embd=160),  # ~1M     on CPU
    'apertus-50M': dict(arch='apertus', n_layer=15, n_head=8, n_kv_head=2, n_embd=512),
    'apertus-100M': dict(arch='apertus', n_layer=13, n_head=12, n_kv_head=4, n_embd=768),
    'apertus-300M': dict(arch='apertus', n_layer=22, n_head=16, n_kv_head=4, n_embd=1024),
    'apertus-1B': dict(arch='apertus', n_layer=18, n_head=16, n_kv_head=4, n_embd=2048),
    'apertus-3B': dict(arch='apertus', n_layer=24, n_head=24, n_kv_head=6, n_embd=3072),
}


@dataclass
class GPTConfig:
    arch: str = 'apertus'  # 'gpt2' or 'apertus'
    vocab_size: int = 32768  # the tokenizer's; the embedding is padded to vocab_multiple, logits are not
    block_size: int = 1024  # context length in tokens
    n_layer: int = 12
    n_head: int = 12
    n_kv_head: int = 0  # 0: n_head; fewer: grouped-query attention (apertus only)
    n_embd: int = 768
    d_ff: int = 0  # MLP width; 0: 4 d for gpt2, 5.25 d for apertus
    vocab_multiple: int = 64  # pad the embedding rows to a multiple of this, for fast matmuls
    dropout: float = 0.0  # on embeddings, residual branches and (SDPA path only) attention probabilities
    rope_theta: float = 500000.0  # apertus only
    rope_factor: float = 1.0  # > 1: llama3-style RoPE scaling for contexts beyond rope_original_len
    rope_original_len: int = 8192
    doc_bos_id: int = -1  # >= 0: no attention across documents, each starting with this token; see document_mask
    # rows (tokens) per chunk of the training loss and of scoring; -1: chosen for the device
    # (uniscale/chunked_loss.chunk_rows), 0: the training loss from the full logits (scoring still chunks)
    loss_chunk: int = -1

    def __post_init__(self):
        self.n_kv_head = self.n_kv_head or self.n_head
        self.d_ff = self.d_ff or (4 * self.n_embd if self.arch == 'gpt2' else int(5.25 * self.n_embd))
        if self.arch not in ('gpt2', 'apertus'):
            raise ValueError(f"GPTConfig: arch must be 'gpt2' or 'apertus', got {self.arch!r}")
        if self.n_embd % self.n_head or self.n_head % self.n_kv_head:
            raise ValueError(f"GPTConfig: n_embd {self.n_embd} must divide by n_head {self.n_head}, "
                             f"and n_head by n_kv_head {self.n_kv_head}")
        if self.arch == 'gpt2' and self.n_kv_head != self.n_head:
            raise ValueError("GPTConfig: gpt2 has no grouped-query attention; leave n_kv_head at 0")
        if self.loss_chunk < -1:
            raise ValueError(f"GPTConfig: loss_chunk must be -1 (the device's), 0 (full logits) or rows per chunk, "
                             f"got {self.loss_chunk}")
        if self.arch == 'apertus' and self.head_dim % 2:
            raise ValueError(f"GPTConfig: RoPE needs an even head dimension, got {self.head_dim}")

    @property
    def head_dim(self):
        return self.n_embd // self.n_head

    @property
    def padded_vocab(self):
        return -(-self.vocab_size // self.vocab_multiple) * self.vocab_multiple


# the least value of each GPTConfig number (dropout below 1 too, rope_theta above 0)
FIELD_MIN = {'vocab_size': 1, 'block_size': 1, 'n_layer': 1, 'n_head': 1, 'n_kv_head': 0,
             'n_embd': 1, 'd_ff': 0, 'vocab_multiple': 1, 'dropout': 0.0, 'rope_theta': 0.0,
             'rope_factor': 1.0, 'rope_original_len': 1, 'doc_bos_id': -1, 'loss_chunk': -1}
TYPE_NAMES = {int: 'an integer', float: 'a number', str: 'a string'}


def field_error(name, value):
    """Why `value` cannot be GPTConfig's `name` (its default's type, >= FIELD_MIN), or None."""
    want = type(next(f.default for f in fields(GPTConfig) if f.name == name))
    if isinstance(value, bool) or not isinstance(value, (int, float) if want is float else want):
        return f"{name}={value!r} must be {TYPE_NAMES[want]}"
    if want is str:
        return None
    if not math.isfinite(value):
        return f"{name}={value!r} must be finite"
    lo = FIELD_MIN.get(name)
    if lo is not None and (value <= lo if name == 'rope_theta' else value < lo):
        return f"{name}={value!r} must be {'>' if name == 'rope_theta' else '>='} {lo}"
    if name == 'dropout' and value >= 1:
        return f"dropout={value!r} must be below 1"
    return None


def config_error(values):
    """Why GPTConfig(**values) cannot be (a field's type or range, fields that do not fit each
    other), or None."""
    for name, value in values.items():
        why = field_error(name, value)
        if why:
            return why
    try:
        GPTConfig(**values)
    except ValueError as e:  # n_embd by n_head, n_head by n_kv_head, ...
        return str(e).removeprefix('GPTConfig: ')
    return None


def make_config(preset, vocab_size, block_size, **overrides):
    """A GPTConfig from a preset name in PRESETS, the tokenizer's vocabulary size, the context
    length and any overrides; a value of the wrong type or range, or that fits no other, is one
    line."""
    if preset not in PRESETS:
        raise SystemExit(f"model.py: unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    unknown = set(overrides) - {f.name for f in fields(GPTConfig)}
    if unknown:
        raise SystemExit(f"model.py: unknown GPTConfig field(s) {sorted(unknown)} in the overrides of {preset!r}")
    values = {**PRESETS[preset], 'vocab_size': vocab_size, 'block_size': block_size, **overrides}
    why = config_error(values)
    if why:
        raise SystemExit(f"model.py: {why} (preset {preset!r} with {overrides})")
    return GPTConfig(**values)


def check_model_args(preset, model_args):
    """A run's model_args (GPTConfig fields over its preset): refused in one line, before any
    work."""
    unknown = sorted(set(model_args) - {f.name for f in fields(GPTConfig)})
    fields_here = ', '.join(f.name for f in fields(GPTConfig))
    why = (f"unknown field(s) {unknown}; GPTConfig has {fields_here}" if unknown else
           config_error({**PRESETS[preset], 'vocab_size': 1, 'block_size': 1, **model_args}))
    if why:
        raise SystemExit(f"config error: model_args={model_args!r} on preset {preset!r}: {why}")


class RMSNorm(nn.Module):
    """x / rms(x) * weight, computed in fp32 as in Apertus, returned in the input's dtype."""

    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return (F.rms_norm(x.float(), (x.size(-1),), eps=self.eps) * self.weight).type_as(x)


class XIELU(nn.Module):
    """xIELU (arXiv:2411.13010): alpha_p x^2 + beta x for x > 0, else alpha_n (expm1(min(x, eps)) - x) + beta x,
    with alpha_p = softplus(a_p) and alpha_n = beta + softplus(a_n) trainable per layer; computed in fp32."""
    beta, eps = 0.5, -1e-6

    def __init__(self, alpha_p=0.8, alpha_n=0.8):
        super().__init__()
        inv_softplus = lambda y: math.log(math.expm1(y))
        self.alpha_p = nn.Parameter(torch.tensor([inv_softplus(alpha_p)]))
        self.alpha_n = nn.Parameter(torch.tensor([inv_softplus(alpha_n - self.beta)]))

    def forward(self, x):
        xf = x.float()
        alpha_p = F.softplus(self.alpha_p.float())
        alpha_n = self.beta + F.softplus(self.alpha_n.float())
        curve = torch.where(xf > 0, alpha_p * xf * xf, alpha_n * (torch.expm1(xf.clamp(max=self.eps)) - xf))
        return (curve + self.beta * xf).type_as(x)  # beta x is common to both sides


def rope_cos_sin(cfg):
    """cos and sin tables (block_size, head_dim / 2) for rotary embeddings, llama3-scaled when rope_factor > 1."""
    hd = cfg.head_dim
    inv_freq = 1.0 / cfg.rope_theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd)
    if cfg.rope_factor > 1:  # llama3: low frequencies slowed by the factor, high ones kept, a blend in between
        low_freq_factor, high_freq_factor = 1.0, 4.0
        wavelen = 2 * math.pi / inv_freq
        smooth = (cfg.rope_original_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
        blended = (1 - smooth) * inv_freq / cfg.rope_factor + smooth * inv_freq
        inv_freq = torch.where(wavelen > cfg.rope_original_len / low_freq_factor, inv_freq / cfg.rope_factor,
                               torch.where(wavelen < cfg.rope_original_len / high_freq_factor, inv_freq, blended))
    freqs = torch.outer(torch.arange(cfg.block_size, dtype=torch.float32), inv_freq)
    return freqs.cos(), freqs.sin()


def apply_rope(x, cos, sin):
    """Rotate each pair (i, i + head_dim/2) of x (B, H, T, head_dim) by its angle: the transformers layout."""
    x1, x2 = x.float().chunk(2, dim=-1)
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1).type_as(x)


def document_mask(idx, bos_id, flex=None):
    """Causal attention that never crosses documents (each starts with bos_id). On CUDA (flex=None) a flex-attention
    BlockMask: SDPA with an explicit mask would leave the flash kernel for the memory-efficient one and compute every
    masked block, while flex attention keeps a fused flash-style kernel (under torch.compile, as train.py runs it)
    and skips the blocks across documents. Elsewhere a dense (B, 1, T, T) mask for SDPA: flex has no CPU backward."""
    doc = (idx == bos_id).cumsum(dim=1)
    B, T = idx.shape
    if not (idx.is_cuda if flex is None else flex):
        causal = torch.ones(T, T, dtype=torch.bool, device=idx.device).tril()
        return (doc[:, None, :, None] == doc[:, None, None, :]) & causal

    def causal_same_doc(b, h, q, kv):
        return (q >= kv) & (doc[b, q] == doc[b, kv])
    return create_block_mask(causal_same_doc, B=B, H=None, Q_LEN=T, KV_LEN=T, device=idx.device)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head, self.n_kv_head, self.head_dim = cfg.n_head, cfg.n_kv_head, cfg.head_dim
        self.block_size, self.dropout = cfg.block_size, cfg.dropout
        bias = cfg.arch == 'gpt2'
        # one matmul for q, k and v (rows: n_head query heads, then n_kv_head key heads, then value heads)
        self.qkv = nn.Linear(cfg.n_embd, (cfg.n_head + 2 * cfg.n_kv_head) * cfg.head_dim, bias=bias)
        self.proj = nn.Linear(cfg.n_head * cfg.head_dim, cfg.n_embd, bias=bias)
        self.qk_norm = cfg.arch == 'apertus'
        if self.qk_norm:  # RMSNorm over each head's dimension, before RoPE
            self.q_norm, self.k_norm = RMSNorm(cfg.head_dim), RMSNorm(cfg.head_dim)

    def forward(self, x, rope=None, mask=None, cache=None, pos=0):
        B, T, _ = x.shape
        hd = self.head_dim
        q, k, v = self.qkv(x).split([self.n_head * hd, self.n_kv_head * hd, self.n_kv_head * hd], dim=-1)
        q, k, v = (t.view(B, T, -1, hd).transpose(1, 2) for t in (q, k, v))  # (B, heads, T, hd)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        if cache is not None:  # generation: store this step's keys and values, attend to all so far
            if not cache:
                cache['k'] = k.new_empty(B, self.n_kv_head, self.block_size, hd)
                cache['v'] = v.new_empty(B, self.n_kv_head, self.block_size, hd)
            cache['k'][:, :, pos:pos + T], cache['v'][:, :, pos:pos + T] = k, v
            k, v = cache['k'][:, :, :pos + T], cache['v'][:, :, :pos + T]
        gqa = self.n_kv_head != self.n_head
        if isinstance(mask, BlockMask):
            y = flex_attention(q, k, v, block_mask=mask, enable_gqa=gqa)
        else:  # no mask + is_causal selects flash attention on CUDA; one new token (T == 1) sees the whole cache
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None and T > 1,
                                               enable_gqa=gqa, dropout_p=self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).reshape(B, T, -1))


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        bias = cfg.arch == 'gpt2'
        self.up = nn.Linear(cfg.n_embd, cfg.d_ff, bias=bias)
        self.act = nn.GELU(approximate='tanh') if cfg.arch == 'gpt2' else XIELU()
        self.down = nn.Linear(cfg.d_ff, cfg.n_embd, bias=bias)

    def forward(self, x):
        return self.down(self.act(self.up(x)))


def make_norm(cfg):
    return nn.LayerNorm(cfg.n_embd, eps=1e-5) if cfg.arch == 'gpt2' else RMSNorm(cfg.n_embd, eps=1e-5)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.norm1, self.attn = make_norm(cfg), Attention(cfg)
        self.norm2, self.mlp = make_norm(cfg), MLP(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, **attn_args):
        x = x + self.drop(self.attn(self.norm1(x), **attn_args))
        return x + self.drop(self.mlp(self.norm2(x)))


def token_losses(logits, targets):
    """THE training loss of each target token (nats), from fp32 logits (N, vocab_size); targets -1 are ignored (0).
    GPT.forward averages it over the real targets, chunked or not: change the loss here (label smoothing, z-loss,
    ...) and training follows. Scoring never uses it: bits per byte and train.py's val loss are always -log p."""
    return F.cross_entropy(logits, targets, ignore_index=-1, reduction='none')


class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        cfg = self.config = config
        self.wte = nn.Embedding(cfg.padded_vocab, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd) if cfg.arch == 'gpt2' else None
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm_f = make_norm(cfg)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.padded_vocab, bias=False)
        if cfg.arch == 'gpt2':
            self.lm_head.weight = self.wte.weight  # tied embeddings
        else:  # fp32 tables, not saved in checkpoints: they follow from the config
            cos, sin = rope_cos_sin(cfg)
            self.register_buffer('rope_cos', cos, persistent=False)
            self.register_buffer('rope_sin', sin, persistent=False)
        self.init_weights()

    def init_weights(self):
        """Normal init (gpt2: std 0.02; apertus: 0.02/sqrt(5)); output projections further / sqrt(2 n_layer)."""
        std = 0.02 if self.config.arch == 'gpt2' else 0.02 / math.sqrt(5)
        for name, p in self.named_parameters():
            if p.dim() == 2:  # matrices and embeddings
                residual_out = name.endswith(('attn.proj.weight', 'mlp.down.weight'))
                nn.init.normal_(p, 0.0, std / math.sqrt(2 * self.config.n_layer) if residual_out else std)
            elif name.endswith('.bias'):
                nn.init.zeros_(p)

    def forward(self, idx, targets=None, cache=None, pos=0):
        """idx (B, T) token ids -> (logits (B, T, vocab_size), None), or with targets (B, T) (None, mean loss):
        the loss then never materialises the (B T, vocab) logits (config.loss_chunk; 0: it does, and returns them).
        cache/pos: see generate()."""
        cfg = self.config
        h = self.final_hidden(idx, cache, pos)
        # the training loss: the mean of token_losses over the targets; loss_chunk != 0 (default) computes it chunk by
        # chunk without the (B*T, vocab) logits, loss_chunk = 0 materialises them (same numbers: tests/test_model.py)
        if targets is not None and cfg.loss_chunk:  # 256k logits of a micro batch alone would take tens of GB
            return None, chunked_cross_entropy(h, self.lm_head.weight, targets, cfg.vocab_size, token_losses,
                                               cfg.loss_chunk, compiled=self.runs_compiled())
        logits = self.lm_head(h)[..., :cfg.vocab_size]  # the padding rows are cut: they never receive probability
        if targets is None:
            return logits, None
        targets = targets.flatten()
        return logits, (token_losses(logits.float().flatten(0, 1), targets) * target_weights(targets)).sum()

    def final_hidden(self, idx, cache=None, pos=0):
        """The final normalised hidden states h (B, T, n_embd) of idx (B, T): the logits are h @ lm_head.weight.T
        without the padding rows (lm_head.weight[:vocab_size]). Scoring (uniscale/bpb.py) takes them through the head
        a chunk of rows at a time."""
        cfg = self.config
        B, T = idx.shape
        if pos + T > cfg.block_size:
            raise ValueError(f"model.py: {pos + T} tokens do not fit block_size {cfg.block_size}; crop the input")
        if pos > 0 and T > 1:
            raise ValueError("model.py: after the prompt, a cached forward takes one token at a time")
        x, rope = self.wte(idx), None
        if cfg.arch == 'gpt2':
            x = x + self.wpe(torch.arange(pos, pos + T, device=idx.device))
        else:
            rope = (self.rope_cos[pos:pos + T].float(), self.rope_sin[pos:pos + T].float())
        mask = document_mask(idx, cfg.doc_bos_id) if cfg.doc_bos_id >= 0 and cache is None else None
        x = self.drop(x)
        for i, block in enumerate(self.blocks):
            x = block(x, rope=rope, mask=mask, cache=None if cache is None else cache[i], pos=pos)
        return self.norm_f(x)

    def runs_compiled(self):
        """Whether this forward runs compiled: the whole model traced by torch.compile, or its blocks compiled
        (train.py's regional compile). The chunked loss then compiles its chunk body too; under
        torch.compiler.set_stance('force_eager') both run eagerly."""
        return torch.compiler.is_compiling() or \
            any(getattr(block, '_compiled_call_impl', None) is not None for block in self.blocks)

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        """Append max_new_tokens sampled tokens to idx (B, T), with a KV cache; temperature 0 is greedy.
        Up to block_size tokens the result equals re-running the whole forward each step; beyond it, the context
        restarts from the most recent half block (so the cost stays linear). Call model.eval() first."""
        block = self.config.block_size
        cache = [{} for _ in self.blocks]
        x, pos = idx[:, -block:], 0
        for _ in range(max_new_tokens):
            if pos + x.size(1) > block:  # cache full: re-read the latest half block
                x, pos = idx[:, -(block // 2):], 0
            logits, _ = self(x, cache=cache, pos=pos)
            pos += x.size(1)
            logits = logits[:, -1].float()
            if temperature == 0:
                x = logits.argmax(dim=-1, keepdim=True)
            else:
                logits = logits / temperature
                if top_k is not None:
                    kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]
                    logits = logits.masked_fill(logits < kth, -float('inf'))
                x = torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)
            idx = torch.cat((idx, x), dim=1)
        return idx

    def num_params(self, non_embedding=False):
        """Parameters at the real vocabulary size (padding rows not counted, a tied matrix once). non_embedding:
        without token/position embeddings and output head, the count the size presets are named by."""
        cfg = self.config
        n_vocab_matrices = 1 if cfg.arch == 'gpt2' else 2  # tied or not
        n_wpe = self.wpe.weight.numel() if self.wpe is not None else 0
        n_non_embedding = sum(p.numel() for p in self.parameters()) - n_wpe \
            - n_vocab_matrices * cfg.padded_vocab * cfg.n_embd
        if non_embedding:
            return n_non_embedding
        return n_non_embedding + n_vocab_matrices * cfg.vocab_size * cfg.n_embd + n_wpe

    def flops_per_token(self, seq_len=None):
        """Training FLOPs per token, forward and backward (PaLM appendix B, as nanoGPT's MFU): 6 per weight of every
        matmul, i.e. the blocks and the LM head (padded_vocab x d, computed once in gpt2 where it is tied), plus
        12 * n_layer * d * T for attention scores and values (causal masking not discounted, PaLM's convention).
        The input embeddings (wte, gpt2's wpe) are lookups: no matmul FLOPs, only their add and gather, < 0.01%
        (Chinchilla's "embedding" 2 V d term is this LM head). The chunked loss skips the < vocab_multiple padding
        rows, a head difference of < 0.1% at the sweep's vocabularies. tests/test_model.py: within 2% of torch's
        FlopCounterMode."""
        cfg = self.config
        T = seq_len or cfg.block_size
        n_matmul = self.num_params(non_embedding=True) + cfg.padded_vocab * cfg.n_embd
        return 6 * n_matmul + 12 * cfg.n_layer * cfg.n_head * cfg.head_dim * T

    def configure_optimizer(self, weight_decay, lr, betas, device_type, decay_embeddings=False):
        """AdamW, fused (one kernel for all parameters) on CUDA and CPU, in two groups: weight decay on the matrices
        of the blocks; none on biases, norms, xIELU scalars and (unless decay_embeddings) the vocabulary matrices
        wte and lm_head (one tied matrix in gpt2) and gpt2's positions wpe."""
        # decay pulls every row to 0 each step while a rare token's row is seldom pushed back: rare rows shrink,
        # and a 256k vocabulary has many more of them than an 80k one (OLMo 2 and others drop it for embeddings)
        embeddings = {id(m.weight) for m in (self.wte, self.wpe, self.lm_head) if m is not None}
        decayed = lambda p: p.dim() >= 2 and (decay_embeddings or id(p) not in embeddings)
        params = [p for p in self.parameters() if p.requires_grad]
        groups = [{'params': [p for p in params if decayed(p)], 'weight_decay': weight_decay},
                  {'params': [p for p in params if not decayed(p)], 'weight_decay': 0.0}]
        return torch.optim.AdamW(groups, lr=lr, betas=tuple(betas), fused=device_type in ('cuda', 'cpu'))


def model_from_checkpoint(ckpt):
    """A GPT from a checkpoint dict ('model': state_dict, 'model_config': asdict(GPTConfig)),
    as train.py saves it (the uncompiled model's state)."""
    model = GPT(GPTConfig(**ckpt['model_config']))
    model.load_state_dict(ckpt['model'])
    return model
