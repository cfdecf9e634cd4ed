"""model.py and export_hf.py against their spec: the same logits as transformers after export, causal, presets sized
as named, vocabulary padding invisible, KV-cache generation equal to the plain forward. CPU, float32, tiny configs."""
import dataclasses
import functools
import math
import re
import sys

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import helpers
import model as model_module
from helpers import (C_BACKWARD, C_FORWARD, assert_fp32_close, float64_copy, float64_math,
                     fp32_error_ratio, longest_reduction)
from model import GPT, PRESETS, XIELU, GPTConfig, document_mask, make_config, model_from_checkpoint
from uniscale import chunked_loss

pytestmark = pytest.mark.usefixtures('one_thread')


VOCAB = 1000  # not a multiple of 64, so the embedding padding is always in play
TWO = 2 * C_FORWARD  # two fp32 forwards compared with each other: the sum of their bounds
BLOCK = 32


def tiny(arch, **overrides):
    return make_config(f'{arch}-tiny', vocab_size=VOCAB, block_size=BLOCK, **overrides)


def random_model(cfg, seed=0):
    """Every weight random (norm gains, biases and xIELU scalars too), so a wrong mapping cannot hide behind init."""
    torch.manual_seed(seed)
    model = GPT(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


def ckpt_of(model):
    """What train.py saves: the uncompiled model's state and its config."""
    return {'model': model.state_dict(),
            'model_config': dataclasses.asdict(model.config)}


def random_ids(B=2, T=BLOCK, seed=1):
    return torch.randint(0, VOCAB, (B, T), generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def float64_forward(model, *args):
    """model(*args) with the same weights in float64: the reference fp32 numbers are held to."""
    with float64_math():
        return float64_copy(model)(*args)


def logits_n(model, T=BLOCK):
    """n for a forward's logits: the MLP's width or attention's context (no vocabulary sum yet)."""
    return max(model.config.n_embd, model.config.d_ff, T)


@pytest.mark.parametrize('arch, overrides, hf_class', [
    ('gpt2', {}, 'GPT2LMHeadModel'),
    ('apertus', {}, 'ApertusForCausalLM'),
    ('apertus', dict(rope_factor=8.0, rope_original_len=16), 'ApertusForCausalLM'),  # llama3 RoPE scaling
])
@pytest.mark.numeric
def test_exported_model_gives_transformers_the_same_logits_and_loss(tmp_path, arch, overrides, hf_class):
    from transformers import AutoModelForCausalLM

    from export_hf import export
    model = random_model(tiny(arch, **overrides))
    out_dir = export(ckpt_of(model), str(tmp_path / 'hf'))
    hf, info = AutoModelForCausalLM.from_pretrained(out_dir, output_loading_info=True)
    assert type(hf).__name__ == hf_class
    assert not info['missing_keys'] and not info['unexpected_keys'] and not info['mismatched_keys']
    idx = random_ids(T=BLOCK)
    with torch.no_grad():
        logits, _ = model(idx[:, :-1])
        _, loss = model(idx[:, :-1], targets=idx[:, 1:])
        hf_out = hf(idx, labels=idx)  # transformers shifts the labels itself
    assert logits.shape == (2, BLOCK - 1, VOCAB) == hf_out.logits[:, :-1].shape
    ref_logits, _ = float64_forward(model, idx[:, :-1])
    _, ref_loss = float64_forward(model, idx[:, :-1], idx[:, 1:])
    n, n_loss = logits_n(model), longest_reduction(model.config, BLOCK)
    assert_fp32_close(logits, ref_logits, n, what='our logits')
    assert_fp32_close(loss, ref_loss, n_loss, what='our loss')
    # transformers' fp32 forward is another, with its own rounding: within two bounds of ours
    assert_fp32_close(hf_out.logits[:, :-1], logits, n, TWO, scale=ref_logits.abs().max(),
                      what='transformers logits')
    assert_fp32_close(hf_out.loss, loss, n_loss, TWO, scale=ref_loss, what='transformers loss')
    n_targets = idx[:, 1:].numel()
    wrong_mean = ref_loss * n_targets / (n_targets - 1)  # the sum over one token too few
    assert fp32_error_ratio(hf_out.loss, wrong_mean, n_loss, what='bug: a wrong mean') > 1


@pytest.mark.numeric
@pytest.mark.parametrize('arch', ['gpt2', 'apertus'])
def test_changing_a_later_token_never_changes_earlier_logits(arch):
    model = random_model(tiny(arch))
    idx = random_ids()
    changed = idx.clone()
    changed[:, 20] = (idx[:, 20] + 1) % VOCAB
    with torch.no_grad():
        a, _ = model(idx)
        b, _ = model(changed)
    n = logits_n(model)  # two fp32 forwards: the same up to two bounds, unless a token leaks
    assert_fp32_close(a[:, :20], b[:, :20], n, TWO, what='earlier logits')
    assert fp32_error_ratio(a[:, 20:], b[:, 20:], n, TWO, what='bug: later logits') > 1


def test_preset_sizes_match_their_names():
    for name, preset in PRESETS.items():
        vocab = 16384
        with torch.device('meta'):  # counts without allocating 3B parameters
            model = GPT(make_config(name, vocab_size=vocab, block_size=1024))
        demo_sizes = {'-micro': (2e4, 1e5), '-tiny': (1e5, 1e6), '-mini': (1e6, 4e6)}  # CPU tests and the demo
        bounds = next((b for suffix, b in demo_sizes.items() if name.endswith(suffix)), None)
        if bounds:
            assert bounds[0] < model.num_params(non_embedding=True) < bounds[1], name
            continue
        number, unit = re.fullmatch(r'.*-(\d+)([MB])', name).groups()
        target = int(number) * {'M': 1e6, 'B': 1e9}[unit]
        n = model.num_params(non_embedding=preset['arch'] != 'gpt2')  # gpt2-40M is named by its total
        assert abs(n / target - 1) < 0.05, f"{name}: {n:,} parameters"


def test_num_params_counts_the_real_vocabulary_once():
    for arch, n_vocab_matrices in (('gpt2', 1), ('apertus', 2)):
        padded, unpadded = GPT(tiny(arch, vocab_multiple=128)), GPT(tiny(arch, vocab_multiple=1))
        assert padded.num_params() == unpadded.num_params() == sum(p.numel() for p in unpadded.parameters())
        n_wpe = BLOCK * 128 if arch == 'gpt2' else 0
        assert padded.num_params() - padded.num_params(non_embedding=True) == n_vocab_matrices * VOCAB * 128 + n_wpe


@pytest.mark.parametrize('arch', ['gpt2', 'apertus'])
def test_fresh_model_loss_is_about_ln_vocab(arch):
    torch.manual_seed(0)
    model = GPT(tiny(arch))
    idx, targets = random_ids(B=4, seed=1), random_ids(B=4, seed=2)
    _, loss = model(idx, targets)
    assert abs(loss.item() - math.log(VOCAB)) < 0.1


@pytest.mark.numeric
def test_loss_ignores_targets_of_minus_one():
    model = random_model(tiny('apertus'))
    idx, targets = random_ids(), random_ids(seed=2)
    masked = targets.clone()
    masked[:, 10:] = -1
    with torch.no_grad():
        _, loss = model(idx, masked)
    logits, _ = float64_forward(model, idx)
    n = longest_reduction(model.config, BLOCK)

    def loss_of_first(k):  # the mean over the first k positions
        return torch.nn.functional.cross_entropy(logits[:, :k].flatten(0, 1),
                                                 targets[:, :k].flatten())
    assert_fp32_close(loss, loss_of_first(10), n, what='loss')
    assert fp32_error_ratio(loss, loss_of_first(11), n, what='bug: a -1 scored') > 1


@pytest.mark.numeric
def test_xielu_matches_its_formula_on_both_sides_of_zero():
    act = XIELU()
    with torch.no_grad():
        act.alpha_p.fill_(0.3)
        act.alpha_n.fill_(-0.7)
    softplus = lambda a: math.log1p(math.exp(a))
    alpha_p, alpha_n, beta, eps = softplus(0.3), 0.5 + softplus(-0.7), 0.5, -1e-6
    xs = [-30.0, -3.0, -0.5, -1e-3, -1e-7, 0.0, 1e-7, 1e-3, 0.5, 3.0, 30.0]
    expected = [alpha_p * x * x + beta * x if x > 0 else alpha_n * (math.expm1(min(x, eps)) - x) + beta * x for x in xs]
    got = act(torch.tensor(xs))
    # a handful of elementwise fp32 roundings (softplus, expm1, products; no sums): 8 ulps
    torch.testing.assert_close(got, torch.tensor(expected), rtol=8 * helpers.FP32_EPS, atol=1e-9)


def test_xielu_alphas_start_at_0_8_and_both_learn():
    act = XIELU()
    assert math.isclose(torch.nn.functional.softplus(act.alpha_p).item(), 0.8, rel_tol=1e-6)
    assert math.isclose(0.5 + torch.nn.functional.softplus(act.alpha_n).item(), 0.8, rel_tol=1e-6)
    act(torch.tensor([-2.0, 2.0])).sum().backward()
    assert act.alpha_p.grad.abs().item() > 0 and act.alpha_n.grad.abs().item() > 0


@pytest.mark.numeric
@pytest.mark.parametrize('arch', ['gpt2', 'apertus'])
def test_padded_vocab_gives_identical_logits_and_loss(arch):
    padded = random_model(tiny(arch, vocab_multiple=128))
    assert padded.wte.weight.shape[0] == 1024
    unpadded = GPT(tiny(arch, vocab_multiple=1)).eval()
    state = padded.state_dict()
    unpadded.load_state_dict({k: v[:VOCAB] if k in ('wte.weight', 'lm_head.weight') else v for k, v in state.items()})
    idx, targets = random_ids(), random_ids(seed=2)
    (logits_p, _), (_, loss_p) = padded(idx), padded(idx, targets)
    with torch.no_grad():
        (logits_u, _), (_, loss_u) = unpadded(idx), unpadded(idx, targets)
    assert logits_p.shape == logits_u.shape == (2, BLOCK, VOCAB)
    ref_logits, _ = float64_forward(unpadded, idx)
    _, ref_loss = float64_forward(unpadded, idx, targets)
    for logits, loss in ((logits_p, loss_p), (logits_u, loss_u)):  # padded or not: float64's
        assert_fp32_close(logits, ref_logits, logits_n(padded), what='logits')
        assert_fp32_close(loss, ref_loss, longest_reduction(unpadded.config, BLOCK), what='loss')
    loss_p.backward()  # the padding rows of the output head get no probability, hence no gradient
    assert padded.lm_head.weight.grad[VOCAB:].abs().max() == 0


def greedy_without_cache(model, idx, n):
    for _ in range(n):
        logits, _ = model(idx[:, -model.config.block_size:])
        idx = torch.cat((idx, logits[:, -1].argmax(-1, keepdim=True)), dim=1)
    return idx


@pytest.mark.parametrize('arch', ['gpt2', 'apertus'])
def test_kv_cache_generation_equals_greedy_without_cache(arch):
    model = random_model(tiny(arch))
    prompt = random_ids(B=2, T=5)
    with torch.no_grad():
        expected = greedy_without_cache(model, prompt, BLOCK + 1 - 5)  # up to a full block of context
    got = model.generate(prompt, BLOCK + 10, temperature=0)  # runs past block_size by restarting the cache
    assert got.shape == (2, 5 + BLOCK + 10)
    assert torch.equal(got[:, :BLOCK + 1], expected)
    assert torch.equal(model.generate(prompt, 8, temperature=1.0, top_k=1), expected[:, :13])  # top-1 is greedy


@pytest.mark.numeric
def test_document_mask_keeps_documents_apart():
    # apertus positions are relative (RoPE), so a document packed after another must give the logits it gives alone
    model = random_model(tiny('apertus', doc_bos_id=0))
    plain = GPT(tiny('apertus')).eval()
    plain.load_state_dict(model.state_dict())
    doc_a, doc_b = random_ids(B=1, T=10, seed=3), random_ids(B=1, T=14, seed=4)
    doc_a[:, 0] = doc_b[:, 0] = 0
    doc_a[:, 1:] = doc_a[:, 1:].clamp(min=1)
    doc_b[:, 1:] = doc_b[:, 1:].clamp(min=1)
    packed = torch.cat((doc_a, doc_b), dim=1)
    with torch.no_grad():
        logits, _ = model(packed)
        alone, _ = model(doc_b)
        crossing, _ = plain(packed)
    n = logits_n(model)  # two fp32 forwards (of 24 and 14 tokens): within the sum of their bounds
    assert_fp32_close(logits[:, 10:], alone, n, TWO, what='packed and alone')
    assert fp32_error_ratio(crossing[:, 10:], alone, n, TWO, what='bug: no mask') > 1
    _, loss = model(packed, packed)
    loss.backward()  # the masked path trains
    assert model.blocks[0].attn.qkv.weight.grad.abs().max() > 0


@pytest.mark.numeric
@pytest.mark.filterwarnings('ignore:flex_attention called without torch.compile')  # eager is fine at this size
def test_flex_document_mask_equals_the_dense_one():
    # CUDA trains through flex attention, CPU through SDPA with a dense mask: forward (all flex does on CPU) must agree
    attn = random_model(tiny('apertus')).blocks[0].attn
    idx = random_ids(B=2, T=BLOCK, seed=5) % 4  # token 0 (the BOS here) every few positions
    x = torch.randn(2, BLOCK, attn.proj.out_features)
    with torch.no_grad():
        dense = attn(x, mask=document_mask(idx, bos_id=0, flex=False))
        flex = attn(x, mask=document_mask(idx, bos_id=0, flex=True))
        causal = attn(x)
    n = max(BLOCK, attn.proj.out_features)  # one attention layer, two fp32 implementations
    assert_fp32_close(flex, dense, n, TWO, what='flex and dense')
    assert fp32_error_ratio(causal, dense, n, TWO, what='bug: no mask') > 1


def addmm_inplace_flops(self_shape, a_shape, b_shape, *_, **__):
    return 2 * a_shape[0] * a_shape[1] * b_shape[1]  # FlopCounterMode counts addmm but not addmm_ (the chunked loss')


@pytest.mark.parametrize('arch', ['gpt2', 'apertus'])
@pytest.mark.parametrize('loss_chunk, T', [(0, BLOCK), (7, BLOCK), (100, 256)])  # at T 256 attention is ~20%
def test_flops_per_token_matches_counted_flops(arch, loss_chunk, T):
    model = GPT(make_config(f'{arch}-tiny', vocab_size=VOCAB, block_size=T, loss_chunk=loss_chunk))
    idx = random_ids(B=2, T=T)
    mapping = {torch.ops.aten.addmm_: addmm_inplace_flops}
    with FlopCounterMode(display=False, custom_mapping=mapping) as counter, sdpa_kernel(SDPBackend.MATH):
        model(idx, idx)[1].backward()  # math SDPA shows its matmuls
    counted = counter.get_total_flops() / idx.numel()
    assert abs(model.flops_per_token(T) / counted - 1) < 0.02


def test_config_round_trips_and_checkpoints_reload():
    cfg = make_config('apertus-50M', vocab_size=16384, block_size=1024, dropout=0.1)
    assert GPTConfig(**dataclasses.asdict(cfg)) == cfg
    assert (cfg.n_kv_head, cfg.d_ff, cfg.padded_vocab) == (2, 2688, 16384)
    model = random_model(tiny('gpt2'))
    again = model_from_checkpoint(ckpt_of(model)).eval()
    idx = random_ids()
    with torch.no_grad():
        assert torch.equal(model(idx)[0], again(idx)[0])
    with pytest.raises(SystemExit, match='unknown preset'):
        make_config('apertus-7B', vocab_size=100, block_size=64)
    with pytest.raises(SystemExit, match='n_heads'):
        make_config('apertus-tiny', vocab_size=100, block_size=64, n_heads=3)


@pytest.mark.parametrize('arch', ['gpt2', 'apertus'])
def test_optimizer_decays_block_matrices_only(arch):
    model = GPT(tiny(arch))
    opt = model.configure_optimizer(weight_decay=0.1, lr=1e-3, betas=(0.9, 0.95), device_type='cpu')
    decay, no_decay = opt.param_groups
    assert decay['weight_decay'] == 0.1 and no_decay['weight_decay'] == 0.0
    names = {id(p): n for n, p in model.named_parameters()}  # a tied matrix once, under its first name (wte)
    embeddings = {'wte.weight', 'lm_head.weight'} | ({'wpe.weight'} if arch == 'gpt2' else set())
    block_matrices = {n for n, p in model.named_parameters() if p.dim() == 2} - embeddings
    assert {names[id(p)] for p in decay['params']} == block_matrices and len(block_matrices) == 4 * 2
    assert {names[id(p)] for p in no_decay['params']} == set(names.values()) - block_matrices
    assert {'wte.weight'} | ({'lm_head.weight'} if arch == 'apertus' else set()) <= set(names.values())
    assert len(decay['params']) + len(no_decay['params']) == len(list(model.parameters()))
    opt = model.configure_optimizer(0.1, 1e-3, (0.9, 0.95), 'cpu', decay_embeddings=True)
    assert {names[id(p)] for p in opt.param_groups[0]['params']} == block_matrices | (embeddings & set(names.values()))


def plain_and_chunked(arch, chunk, vocab_size=VOCAB):
    """The same random model twice: full logits + F.cross_entropy (loss_chunk 0), and the chunked loss."""
    config = lambda chunk: make_config(f'{arch}-tiny', vocab_size=vocab_size, block_size=BLOCK, loss_chunk=chunk)
    plain = random_model(config(0))
    chunked = GPT(config(chunk)).eval()
    chunked.load_state_dict(plain.state_dict())
    return plain, chunked


def float64_loss_and_grads(model, idx, targets):
    """The plain loss of the same weights (full logits, the mean of token_losses) and its
    gradients, in float64."""
    ref = float64_copy(model)
    ref.config.loss_chunk = 0
    with float64_math():
        _, loss = ref(idx, targets)
        loss.backward()
    return loss.detach(), {name: p.grad for name, p in ref.named_parameters()}


def assert_loss_and_grads_close(model, loss, ref_loss, ref_grads, n_tokens, what=''):
    """An fp32 loss and model's gradients within their bounds of the float64 ones."""
    n = longest_reduction(model.config, n_tokens)
    assert_fp32_close(loss, ref_loss, n, what=f'{what} loss')
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.dtype == p.dtype, name
        assert_fp32_close(p.grad, ref_grads[name], n, c=C_BACKWARD, what=f'{what} {name} gradient')


def targets_with_ignored(B, T, seed=2):
    targets = random_ids(B, T, seed=seed)
    targets[0, 3:9] = -1
    targets[1, -5:] = -1
    return targets


@pytest.mark.numeric
@pytest.mark.parametrize('arch', ['gpt2', 'apertus'])  # tied and untied output head
def test_chunked_loss_and_gradients_equal_full_logits_cross_entropy(arch):
    plain, chunked = plain_and_chunked(arch, chunk=7)  # 7 does not divide the 64 tokens; VOCAB pads 1000 to 1024
    idx, targets = random_ids(), targets_with_ignored(2, BLOCK)
    logits, plain_loss = plain(idx, targets)  # loss_chunk=0: the full logits and the same mean token_losses
    expected = torch.nn.functional.cross_entropy(float64_forward(plain, idx)[0].flatten(0, 1),
                                                 targets.flatten(), ignore_index=-1)  # float64
    ref_loss, ref_grads = float64_loss_and_grads(plain, idx, targets)
    n = longest_reduction(plain.config, idx.numel())
    assert logits.shape == (2, BLOCK, VOCAB)
    assert_fp32_close(ref_loss, expected, n, c=1, what='token_losses is CE')  # float64 both
    plain_loss.backward()
    none, loss = chunked(idx, targets)
    loss.backward()
    assert none is None and loss.dtype == torch.float32
    for model, out, what in ((plain, plain_loss, 'plain'), (chunked, loss, 'chunked')):
        assert_loss_and_grads_close(model, out, ref_loss, ref_grads, idx.numel(), what)
    assert chunked.lm_head.weight.grad[VOCAB:].abs().max() == 0  # padding rows: no probability, no gradient
    with torch.no_grad():
        assert_fp32_close(chunked(idx, targets)[1], ref_loss, n, what='no gradients wanted')
    wrong_mean = ref_loss * (targets >= 0).sum() / ((targets >= 0).sum() - 1)
    assert fp32_error_ratio(loss, wrong_mean, n, what='bug: a wrong mean') > 1


@pytest.mark.numeric
def test_chunked_loss_of_one_chunk_and_of_one_row_chunks_agree():
    plain, one_chunk = plain_and_chunked('apertus', chunk=4096, vocab_size=333)
    _, row_chunks = plain_and_chunked('apertus', chunk=1, vocab_size=333)
    idx, targets = random_ids() % 333, targets_with_ignored(2, BLOCK) % 333
    ref_loss, ref_grads = float64_loss_and_grads(plain, idx, targets)
    for model, what in ((plain, 'plain'), (one_chunk, 'one chunk'), (row_chunks, 'one-row chunks')):
        _, loss = model(idx, targets)
        loss.backward()
        assert_loss_and_grads_close(model, loss, ref_loss, ref_grads, idx.numel(), what)


@pytest.mark.parametrize('arch', ['gpt2', 'apertus'])
def test_chunked_loss_under_bf16_autocast_matches_the_plain_autocast_path(arch):
    plain, chunked = plain_and_chunked(arch, chunk=24)
    idx, targets = random_ids(), targets_with_ignored(2, BLOCK)
    losses = []
    for model in (plain, chunked):
        with torch.autocast('cpu', dtype=torch.bfloat16):
            _, loss = model(idx, targets)
        loss.backward()
        losses.append(loss)
    assert losses[1].dtype == torch.float32  # the softmax ran in fp32
    assert abs(losses[1].item() - losses[0].item()) < 1e-3  # both round the same bf16 logits (eps 2**-8)
    grads = dict(plain.named_parameters())
    for name, p in chunked.named_parameters():  # bf16 gradients of the logits, summed in another order
        g, ref = p.grad.flatten(), grads[name].grad.flatten()
        assert p.grad.dtype == torch.float32, name
        assert torch.nn.functional.cosine_similarity(g, ref, dim=0) > 0.999, name
        assert abs(g.norm() / ref.norm() - 1) < 0.01, name


def test_chunked_loss_refuses_a_second_backward():
    _, chunked = plain_and_chunked('gpt2', chunk=16)
    _, loss = chunked(random_ids(), random_ids(seed=2))
    loss.backward(retain_graph=True)  # its gradients were scaled in place: a second pass would be silently wrong
    with pytest.raises(RuntimeError, match='one backward'):
        loss.backward()


def label_smoothed(logits, targets):
    return torch.nn.functional.cross_entropy(logits, targets, ignore_index=-1, reduction='none', label_smoothing=0.1)


@pytest.mark.numeric
@pytest.mark.parametrize('loss_chunk', [0, 7, -1])
def test_patching_token_losses_changes_the_training_loss_and_gradients(monkeypatch, loss_chunk):
    reference, model = plain_and_chunked('apertus', chunk=loss_chunk)
    idx, targets = random_ids(), targets_with_ignored(2, BLOCK)
    _, unpatched = model(idx, targets)
    unpatched.backward()
    unpatched_grad = model.lm_head.weight.grad.clone()
    model.zero_grad()
    monkeypatch.setattr('model.token_losses', label_smoothed)  # what a fork does to the line in model.py
    _, loss = model(idx, targets)
    loss.backward()
    logits, _ = float64_forward(reference, idx)  # no targets: logits only, token_losses unused
    with float64_math():
        expected = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(),
                                                     ignore_index=-1, label_smoothing=0.1)
    ref_loss, ref_grads = float64_loss_and_grads(reference, idx, targets)  # the patched loss
    n = longest_reduction(model.config, idx.numel())
    assert_fp32_close(ref_loss, expected, n, c=1, what='patched token_losses')  # float64 vs float64
    assert fp32_error_ratio(unpatched, ref_loss, n, what='bug: unpatched loss') > 1
    assert fp32_error_ratio(unpatched_grad, ref_grads['lm_head.weight'], n, c=C_BACKWARD,
                            what='bug: unpatched gradient') > 1
    assert_loss_and_grads_close(model, loss, ref_loss, ref_grads, idx.numel(), 'patched')


# ---------------------------------------------------------------- issue 22: a loss that costs its matmuls
class OldChunkedLinearCrossEntropy(torch.autograd.Function):
    """model.py's chunked loss before issue 22 (a6087f1), kept as the reference: autograd.grad through token_losses
    per chunk, the weight's gradient through a (vocab, d) temporary outside fp32."""

    @staticmethod
    def forward(ctx, h, weight, targets, vocab_size, chunk, dtype):
        w = weight[:vocab_size].to(dtype)
        row_weight = chunked_loss.target_weights(targets)
        loss = torch.zeros((), dtype=torch.float32)
        grad_h, grad_w = torch.empty(h.shape), torch.zeros(weight.shape)
        for i in range(0, h.size(0), chunk):
            h_c, target_c, weight_c = h[i:i + chunk].to(dtype), targets[i:i + chunk], row_weight[i:i + chunk]
            logits = h_c @ w.T
            with torch.enable_grad():
                loss_c = (model_module.token_losses(logits.requires_grad_().float(), target_c) * weight_c).sum()
                grad_logits, = torch.autograd.grad(loss_c, logits)
            loss += loss_c.detach()
            grad_h[i:i + chunk] = grad_logits @ w
            if dtype == torch.float32:
                grad_w[:vocab_size].addmm_(grad_logits.T, h_c)
            else:
                grad_w[:vocab_size] += grad_logits.T @ h_c
        ctx.grads, ctx.dtypes = (grad_h, grad_w), (h.dtype, weight.dtype)
        return loss

    @staticmethod
    def backward(ctx, grad_loss):
        grad_h, grad_w = ctx.grads
        return (grad_h * grad_loss).to(ctx.dtypes[0]), (grad_w * grad_loss).to(ctx.dtypes[1]), None, None, None, None


def old_chunked_cross_entropy(h, weight, targets, vocab_size, chunk):
    autocast = torch.is_autocast_enabled('cpu')
    dtype = torch.get_autocast_dtype('cpu') if autocast else h.dtype
    with torch.autocast('cpu', enabled=False):
        return OldChunkedLinearCrossEntropy.apply(h.flatten(0, -2), weight, targets.flatten(), vocab_size, chunk, dtype)


def chunked(h, weight, targets, chunk, compiled=False):
    """The chunked loss of model.py's token_losses at the tests' vocabulary (333 ids), as GPT.forward calls it."""
    return chunked_loss.chunked_cross_entropy(h, weight, targets, 333, model_module.token_losses, chunk, compiled)


def loss_inputs(n=96, d=32, vocab=333, seed=0):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(n, d, generator=g).requires_grad_()
    weight = (torch.randn(-(-vocab // 64) * 64, d, generator=g) / math.sqrt(d)).requires_grad_()
    targets = torch.randint(0, vocab, (n,), generator=g)
    targets[::7] = -1
    return h, weight, targets


def loss_and_grads(fn, h, weight, targets, bf16=False):
    h, weight = h.detach().clone().requires_grad_(), weight.detach().clone().requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
        loss = fn(h, weight, targets)
    loss.backward()
    return loss, h.grad, weight.grad


def float64_loss_and_grads_of(h, weight, targets):
    """loss_and_grads of the plain formula (cross-entropy of h @ W.T, 333 ids) in float64."""
    def plain(h, weight, targets):
        return torch.nn.functional.cross_entropy(h @ weight[:333].T, targets, ignore_index=-1)
    return loss_and_grads(plain, h.double(), weight.double(), targets)


def assert_like_float64(got, ref, what):
    """loss, dh and dW of loss_inputs() (<= 96 rows, d 32, 333 ids) within fp32 rounding of the
    float64 ones."""
    for a, b, part, c in zip(got, ref, ('loss', 'dh', 'dW'), (C_FORWARD, C_BACKWARD, C_BACKWARD)):
        assert_fp32_close(a, b, 333, c=c, what=f'{what} {part}')


@pytest.mark.numeric
@pytest.mark.parametrize('chunk', [-1, 7, 32])
def test_the_chunked_loss_gives_the_numbers_of_the_old_implementation(chunk):
    h, weight, targets = loss_inputs()
    old = loss_and_grads(lambda *a: old_chunked_cross_entropy(*a, 333, 7 if chunk == -1 else chunk), h, weight,
                         targets)
    new = loss_and_grads(lambda *a: chunked(*a, chunk), h, weight, targets)
    ref = float64_loss_and_grads_of(h, weight, targets)
    assert_like_float64(new, ref, 'new')
    assert_like_float64(old, ref, 'old')
    one_row_dropped = float64_loss_and_grads_of(h[2:], weight, targets[2:])  # row 0 is a -1
    assert fp32_error_ratio(new[0], one_row_dropped[0], 333, what='bug: a token dropped') > 1
    old = loss_and_grads(lambda *a: old_chunked_cross_entropy(*a, 333, 16), h, weight, targets, bf16=True)
    new = loss_and_grads(lambda *a: chunked(*a, chunk), h, weight, targets, bf16=True)
    assert abs(new[0].item() - old[0].item()) < 1e-3  # the same bf16 logits; dW summed in fp32 (was a bf16 temporary)
    for a, b in zip(new[1:], old[1:]):
        assert torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0) > 0.999


def fresh_writes(fn, shape):
    """How many non-matmul aten ops write a tensor of `shape` (a fresh one, or one they mutate) in fn()."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        n = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            name = func._schema.name.split('::')[-1]
            outs = out if isinstance(out, (tuple, list)) else [out]
            fresh = [t for r, t in zip(func._schema.returns, outs) if r.alias_info is None]
            mutated = [v for a, v in zip(func._schema.arguments, args) if a.alias_info and a.alias_info.is_write]
            if name not in ('mm', 'addmm', 'addmm_') and not name.startswith('empty') and any(
                    isinstance(t, torch.Tensor) and tuple(t.shape) == shape for t in fresh + mutated):
                Count.n += 1
            return out
    with Count():
        fn()
    return Count.n


def test_the_weight_gradient_needs_no_temporary_per_chunk():
    h, weight, targets = loss_inputs(n=128)
    for bf16 in (False, True):
        counts = [fresh_writes(lambda: loss_and_grads(
            lambda *a: chunked(*a, rows), h, weight, targets, bf16), (333, 32))
            for rows in (64, 16)]  # 2 and 8 chunks
        assert counts[0] == counts[1], bf16  # (vocab, d) writes per step, not per chunk
        old = [fresh_writes(lambda: loss_and_grads(lambda *a: old_chunked_cross_entropy(*a, 333, rows), h, weight,
                                                   targets, bf16), (333, 32)) for rows in (64, 16)]
        assert (old[1] > old[0]) == bf16, old  # what the old code did in bf16: a (vocab, d) temporary a chunk


def test_chunk_rows_are_chosen_for_the_device_and_fit_the_micro_batch():
    rows = chunked_loss.chunk_rows
    assert (rows(-1, 256000, 'cuda'), rows(-1, 256000, 'cpu'), rows(-1, 80000, 'cuda')) == (512, 128, 1664)
    assert rows(-1, 100, 'cpu') == 8192 and rows(-1, 10 ** 7, 'cuda') == 16 and rows(7, 256000, 'cuda') == 7
    assert rows(-1, 256000, 'cuda', n_rows=16384) == 512 and rows(-1, 256000, 'cuda', n_rows=300) == 300
    assert rows(-1, 80000, 'cuda', n_rows=16384) == 1024  # a divisor: every chunk one shape, one compiled graph
    assert rows(-1, 80000, 'cuda', n_rows=8 * 2040) == 1632  # context_bytes blocks (multiples of 8) too
    assert rows(-1, 80000, 'cuda', n_rows=1667 * 13) == 1664  # a prime count: the last chunk runs eagerly
    assert GPTConfig().loss_chunk == -1
    with pytest.raises(ValueError, match='loss_chunk'):
        GPTConfig(loss_chunk=-2)


def test_a_compiled_model_compiles_its_chunk_body_too():
    model = GPT(tiny('apertus'))
    assert not model.runs_compiled()
    model.blocks[0].compile(dynamic=False)  # train.py's regional compile (lazy: nothing compiles here)
    assert model.runs_compiled()


def fake_module(name, **attrs):
    import types
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


class FakeLiger(torch.nn.Module):
    """LigerFusedLinearCrossEntropyLoss's interface: forward(lin_weight, _input, target); plain CE from full logits."""
    calls = []

    def __init__(self, ignore_index=-100, reduction='mean'):
        super().__init__()
        self.ignore_index, self.reduction = ignore_index, reduction

    def forward(self, lin_weight, _input, target, bias=None):
        FakeLiger.calls.append((self.ignore_index, self.reduction, _input.dtype))
        return torch.nn.functional.cross_entropy((_input @ lin_weight.T).float(), target,
                                                 ignore_index=self.ignore_index, reduction=self.reduction)


def fake_cce(e, c, targets, bias=None, ignore_index=-100, reduction='mean', filter_eps='auto', accum_c_fp32=False):
    fake_cce.calls.append((ignore_index, reduction, filter_eps, accum_c_fp32))
    return torch.nn.functional.cross_entropy((e @ c.T).float(), targets, ignore_index=ignore_index,
                                             reduction=reduction)


fake_cce.calls = []


def fake_cce_module():
    return fake_module('cut_cross_entropy', linear_cross_entropy=fake_cce)


@pytest.mark.numeric
def test_a_fused_kernel_is_used_on_cuda_when_installed_and_the_loss_is_plain(monkeypatch):
    select = functools.partial(chunked_loss.fused_linear_cross_entropy, token_losses=model_module.token_losses)
    monkeypatch.setitem(sys.modules, 'liger_kernel', None)  # None: "not installed" to import
    monkeypatch.setitem(sys.modules, 'liger_kernel.transformers', None)
    monkeypatch.setitem(sys.modules, 'cut_cross_entropy', None)
    assert select('cuda', torch.bfloat16) is None and select('cpu', torch.float32) is None
    monkeypatch.setitem(sys.modules, 'cut_cross_entropy', fake_cce_module())
    assert select('cuda', torch.float32) is None and select('cuda', torch.bfloat16) is not None  # CCE: half only
    liger = fake_module('liger_kernel.transformers', LigerFusedLinearCrossEntropyLoss=FakeLiger)
    monkeypatch.setitem(sys.modules, 'liger_kernel', fake_module('liger_kernel', transformers=liger))
    monkeypatch.setitem(sys.modules, 'liger_kernel.transformers', liger)
    assert select('cpu', torch.float32) is None  # the CPU path stays model.py's own
    fused = select('cuda', torch.float32)
    assert fused is not None
    # its numbers (run here on CPU tensors) are the chunked loss's
    h, weight, targets = loss_inputs()
    ours = loss_and_grads(lambda *a: chunked(*a, 16), h, weight, targets)
    theirs = loss_and_grads(lambda h_, w_, t_: fused(h_, w_[:333], t_), h, weight, targets)
    assert FakeLiger.calls[-1] == (-1, 'mean', torch.float32)
    ref = float64_loss_and_grads_of(h, weight, targets)
    assert_like_float64(ours, ref, 'ours')
    assert_like_float64(theirs, ref, 'theirs')
    # a fork's loss: never the plain kernel's
    assert select('cuda', torch.float32, token_losses=label_smoothed) is None
    assert select('cuda', torch.bfloat16, token_losses=label_smoothed) is None
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, 'liger_kernel', None)
    monkeypatch.setitem(sys.modules, 'liger_kernel.transformers', None)
    monkeypatch.setitem(sys.modules, 'cut_cross_entropy', fake_cce_module())
    cce = select('cuda', torch.bfloat16)
    h, weight, targets = loss_inputs()
    cce(h, weight[:333], targets)
    assert fake_cce.calls[-1] == (-1, 'mean', None, True)  # exact (no gradient filtering), dW summed in fp32


def test_a_chunk_body_that_fails_to_compile_runs_eagerly_with_the_same_numbers(monkeypatch):
    def broken_compile(fn, **kwargs):
        def run(*args):
            raise RuntimeError("no C++ compiler\nsecond line")
        return run
    monkeypatch.setattr(torch, 'compile', broken_compile)
    monkeypatch.setattr(chunked_loss, '_compiled', {})
    h, weight, targets = loss_inputs()
    eager = loss_and_grads(lambda *a: chunked(*a, 32), h, weight, targets)
    with pytest.warns(UserWarning, match='runs eagerly: compiling chunk_loss_and_grads failed .*no C.. compiler'):
        fallback = loss_and_grads(lambda *a: chunked(*a, 32, compiled=True), h,
                                  weight, targets)
    for a, b in zip(eager, fallback):
        assert torch.equal(a, b)


def test_the_compiled_chunk_body_gives_the_eager_numbers():
    """The one compile of these tests (~10-40 s on a CPU): the chunk body through inductor, fp32."""
    h, weight, targets = loss_inputs(n=64)
    eager = loss_and_grads(lambda *a: chunked(*a, 32), h, weight, targets)
    compiled = loss_and_grads(lambda *a: chunked(*a, 32, compiled=True), h, weight,
                              targets)
    assert chunked_loss._compiled.get(chunked_loss.chunk_loss_and_grads) is not None  # compiled, not fallen back
    ref = float64_loss_and_grads_of(h, weight, targets)
    assert_like_float64(eager, ref, 'eager')
    assert_like_float64(compiled, ref, 'compiled')


def test_the_chunked_loss_trains_under_saved_tensor_hooks():
    """Activation offloading (torch.autograd.graph.save_on_cpu) and the memory table's hooks wrap the forward in
    saved-tensor hooks, under which torch.func refuses to run: the eager chunk body must not need it."""
    h, weight, targets = loss_inputs()
    plain = loss_and_grads(lambda *a: chunked(*a, 32), h, weight, targets)
    with torch.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        hooked = loss_and_grads(lambda *a: chunked(*a, 32), h, weight, targets)
    for a, b in zip(plain, hooked):
        assert torch.equal(a, b)
