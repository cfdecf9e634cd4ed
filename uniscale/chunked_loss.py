"""
The training loss without the (tokens, vocab) logits: model.py's GPT.forward computes the mean of its token_losses
over the targets here, a chunk of rows at a time (chunk_rows picks how many for the device), so a 256k-id head never
holds a micro batch's full logits. model.py keeps the loss itself (token_losses, the one line a fork changes);
this module is how it is computed fast, and imports no project module:

    loss = chunked_cross_entropy(h, lm_head.weight, targets, vocab_size, token_losses)   # h: final hidden states

Each chunk's body (logits, fp32 cast, token_losses, its gradient) is compiled when the model runs compiled (inductor
fuses it into a pass or two over the chunk's logits; eager otherwise, or when compiling fails, with the same
numbers); the weight's gradient is summed into one fp32 buffer in the forward, without a per-chunk (vocab, d)
temporary. On CUDA, while token_losses is the plain cross-entropy, Liger-Kernel's or cut-cross-entropy's fused
kernel takes over when installed. tests/test_model.py checks the numbers against the full logits and the code
before issue 22; bench/loss_bytes.py and bench/loss_memory.py measure it. uniscale/bpb.py scores with the same
chunk rows.
"""
import inspect
import warnings

import torch
import torch.nn.functional as F


def target_weights(targets):
    """1 / (number of real targets) for each target, 0 for the ignored (-1): token_losses times these, summed, is
    the mean over real targets (nan when there are none, as F.cross_entropy's mean)."""
    valid = targets != -1
    return valid / valid.sum()


# Logits per chunk when loss_chunk = -1. A GPU wants large matmuls per chunk (few kernel launches and Python
# iterations per micro batch), a CPU small buffers: 2**27 logits on CUDA (512 rows at 256k, ~1 GB at the compiled
# chunk's bf16 peak), 2**25 elsewhere (128 rows at 256k: bench/loss_memory.py).
CHUNK_LOGITS = {'cuda': 2 ** 27}
OTHER_CHUNK_LOGITS = 2 ** 25


def chunk_rows(loss_chunk, vocab_size, device_type, n_rows=0):
    """Rows per chunk of the loss and of scoring: loss_chunk when > 0, else CHUNK_LOGITS logits of vocab_size a row
    on this device type, a multiple of 16 in [16, 8192], fitted to n_rows when given: all of them when fewer, else
    the largest divisor of n_rows down to half that many, so that every chunk has one shape (one compiled graph)."""
    if loss_chunk > 0:
        return loss_chunk
    rows = max(16, min(8192, CHUNK_LOGITS.get(device_type, OTHER_CHUNK_LOGITS) // vocab_size // 16 * 16))
    if n_rows and n_rows <= rows:
        return n_rows
    return next((r for r in range(rows, rows // 2, -1) if n_rows % r == 0), rows) if n_rows else rows


def chunk_loss(h_c, w, targets_c, weights_c, token_losses):
    """One chunk's share of the mean token_losses: its logits h_c @ w.T, in fp32 to token_losses."""
    return (token_losses((h_c @ w.T).float(), targets_c) * weights_c).sum()


def chunk_loss_and_grads(h_c, w, targets_c, weights_c, token_losses):
    """(loss, d loss / d logits, d loss / d h_c) of one chunk, the gradient through whatever token_losses computes.
    Traced by torch.compile, by torch.func (which dynamo traces whole: inductor fuses the fp32 cast, the softmax, the
    loss and its gradient into a pass or two over the chunk's logits); eager, by autograd, since torch.func refuses
    to run under saved-tensor hooks (activation offloading, bench/loss_memory.py's table). The same numbers."""
    def loss_of(logits):
        return (token_losses(logits.float(), targets_c) * weights_c).sum()
    logits = h_c @ w.T
    if torch.compiler.is_compiling():
        grad_logits, loss = torch.func.grad_and_value(loss_of)(logits)
    else:
        logits = logits.detach().requires_grad_()
        with torch.enable_grad():
            loss = loss_of(logits)
            grad_logits, = torch.autograd.grad(loss, logits)
        loss = loss.detach()
    return loss, grad_logits, grad_logits @ w


_compiled = {}  # chunk function -> its torch.compile wrapper; None once compiling it failed in this process


def run_chunk(fn, compiled, *args):
    """fn(*args), through torch.compile (fullgraph, dynamic=False: a graph per chunk shape, made at its first call)
    when `compiled`; eager when not, or when compiling fails (a token_losses dynamo cannot trace whole, no C++
    compiler...): said once, and the eager body gives the same numbers."""
    if compiled and _compiled.get(fn, True) is not None:
        if fn not in _compiled:
            _compiled[fn] = torch.compile(fn, fullgraph=True, dynamic=False)
        try:
            return _compiled[fn](*args)
        except Exception as e:
            if isinstance(e, torch.OutOfMemoryError) or 'out of memory' in str(e):
                raise  # not a compile failure: the caller (the preflight) handles it
            _compiled[fn] = None
            why = (str(e).strip().splitlines() or [''])[0][:200]
            warnings.warn(f"uniscale/chunked_loss.py: the chunked loss runs eagerly: compiling {fn.__name__} failed "
                          f"({type(e).__name__}: {why})")
    return fn(*args)


_fp32_addmm = {}  # device type -> whether addmm accumulates bf16 operands into an fp32 output in place


def fp32_accumulating_addmm(device):
    """Whether torch.addmm(out_dtype=float32, out=) runs on this device: CUDA's cuBLAS does (torch >= 2.8)."""
    kind = device.type
    if kind not in _fp32_addmm:
        try:
            a = torch.ones(2, 2, dtype=torch.bfloat16, device=device)
            c = torch.ones(2, 2, dtype=torch.float32, device=device)
            torch.addmm(c, a, a, out_dtype=torch.float32, out=c)
            _fp32_addmm[kind] = bool((c == 3).all())
        except (RuntimeError, TypeError, NotImplementedError):
            _fp32_addmm[kind] = False
    return _fp32_addmm[kind]


def add_weight_grad(grad_w, grad_logits, h_c):
    """grad_w (fp32) += grad_logits.T @ h_c in place, with no (vocab, d) temporary: fp32 operands by addmm_, bf16
    ones straight into the fp32 sum where the device can (addmm's out_dtype), else upcast (a (chunk, vocab) copy)."""
    if grad_logits.dtype == torch.float32:
        grad_w.addmm_(grad_logits.T, h_c)
    elif fp32_accumulating_addmm(grad_w.device):
        torch.addmm(grad_w, grad_logits.T, h_c, out_dtype=torch.float32, out=grad_w)
    else:
        grad_w.addmm_(grad_logits.T.float(), h_c.float())


class ChunkedLinearCrossEntropy(torch.autograd.Function):
    """The mean token_losses of the logits h @ weight[:vocab_size].T (targets -1 ignored) without the (N, vocab)
    logits. Rows are taken `rows` at a time; each chunk's body (chunk_loss_and_grads) gives its loss, the gradient of
    token_losses wrt its logits and h's gradient, and the weight's gradient is added into one fp32 buffer right there,
    in the forward (the backward only scales both by the incoming gradient), so no chunk's logits outlive its
    iteration. Memory peaks inside a chunk: eager, the logits, token_losses' saved log-softmax and two gradients
    (~16 * rows * vocab bytes in fp32); compiled, about the logits and their gradient. Plus an fp32 (vocab, d) buffer
    for the weight's gradient and an (N, d) one for h's."""

    @staticmethod
    def forward(ctx, h, weight, targets, vocab_size, token_losses, rows, dtype, grad_h_wanted, grad_w_wanted,
                compiled):
        w = weight[:vocab_size].to(dtype)  # the padding rows never enter the softmax, as in the plain path's slice
        row_weight = target_weights(targets)
        loss = torch.zeros((), dtype=torch.float32, device=h.device)
        grad_h = torch.empty(h.shape, dtype=torch.float32, device=h.device) if grad_h_wanted else None
        grad_w = torch.zeros(weight.shape, dtype=torch.float32, device=h.device) if grad_w_wanted else None
        body = chunk_loss_and_grads if grad_h_wanted or grad_w_wanted else chunk_loss
        for i in range(0, h.size(0), rows):
            h_c = h[i:i + rows].to(dtype)
            # a last, shorter chunk runs eagerly: with dynamic=False its shape would be compiled too
            out = run_chunk(body, compiled and h_c.size(0) == rows, h_c, w, targets[i:i + rows],
                            row_weight[i:i + rows], token_losses)
            if body is chunk_loss:
                loss += out
                continue
            loss_c, grad_logits, grad_h_c = out
            loss += loss_c
            if grad_h_wanted:
                grad_h[i:i + rows] = grad_h_c
            if grad_w_wanted:
                add_weight_grad(grad_w[:vocab_size], grad_logits, h_c)
            del out, grad_logits  # before the next chunk's logits exist, or two would be alive at once
        ctx.grads = (grad_h, grad_w)
        ctx.dtypes = (h.dtype, weight.dtype)
        return loss

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_loss):
        if ctx.grads is None:  # they were scaled in place by the first backward: a second would be silently wrong
            raise RuntimeError("uniscale/chunked_loss.py: the chunked loss has one backward; recompute the loss "
                               "(no retain_graph)")
        (grad_h, grad_w), ctx.grads = ctx.grads, None
        grad_h = grad_h.mul_(grad_loss).to(ctx.dtypes[0]) if grad_h is not None else None
        grad_w = grad_w.mul_(grad_loss).to(ctx.dtypes[1]) if grad_w is not None else None
        return grad_h, grad_w, None, None, None, None, None, None, None, None


_plain = {}  # token_losses function -> whether it computes plain cross-entropy


def is_plain_cross_entropy(fn):
    """Whether fn gives F.cross_entropy's per-token losses (ignore_index -1) and their gradients on a probe: a fork
    that changed token_losses (label smoothing, z-loss...) must never be trained by a kernel of the plain loss."""
    if fn not in _plain:
        g = torch.Generator().manual_seed(0)
        logits = (4 * torch.randn(6, 37, generator=g)).requires_grad_()
        targets = torch.tensor([0, 5, -1, 36, 17, -1])
        ref_logits = logits.detach().clone().requires_grad_()
        try:
            got, ref = fn(logits, targets), F.cross_entropy(ref_logits, targets, ignore_index=-1, reduction='none')
            (got * torch.arange(1.0, 7.0)).sum().backward()
            (ref * torch.arange(1.0, 7.0)).sum().backward()
            _plain[fn] = got.shape == ref.shape and torch.allclose(got, ref, atol=1e-6, rtol=1e-6) and \
                torch.allclose(logits.grad, ref_logits.grad, atol=1e-6, rtol=1e-6)
        except Exception:  # anything but a plain per-token loss
            _plain[fn] = False
    return _plain[fn]


def fused_linear_cross_entropy(device_type, dtype, token_losses):
    """A fused linear + cross-entropy kernel (h (N, d), w (vocab, d), targets (N,)) -> mean loss over targets != -1,
    when installed, on CUDA, while token_losses is the plain cross-entropy (the kernels compute that loss and no
    other): Liger-Kernel's (loss and both gradients in one pass per chunk, dW summed in fp32), else
    cut-cross-entropy's in bf16/fp16 (exact: no gradient filtering). None otherwise: the chunked loss runs."""
    if device_type != 'cuda' or not is_plain_cross_entropy(token_losses):
        return None
    try:
        from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss
    except ImportError:
        pass
    else:
        liger = LigerFusedLinearCrossEntropyLoss(ignore_index=-1, reduction='mean')
        return lambda h, w, targets: first_tensor(liger(w, h, targets))
    if dtype not in (torch.bfloat16, torch.float16):
        return None
    try:
        from cut_cross_entropy import linear_cross_entropy
    except ImportError:
        return None
    known = inspect.signature(linear_cross_entropy).parameters  # its options came in over releases
    options = {k: v for k, v in dict(filter_eps=None, accum_e_fp32=True, accum_c_fp32=True).items() if k in known}
    return lambda h, w, targets: first_tensor(linear_cross_entropy(h, w, targets, ignore_index=-1, reduction='mean',
                                                                   **options))


def first_tensor(out):
    """The loss of a kernel's result: a tensor, a tuple starting with it, or an object with .loss (Liger's newer)."""
    if isinstance(out, (tuple, list)):
        return out[0]
    return out if isinstance(out, torch.Tensor) else out.loss


@torch.compiler.disable  # an eager loop even inside a compiled model: one traced graph might keep every chunk's logits
def chunked_cross_entropy(h, weight, targets, vocab_size, token_losses, chunk=-1, compiled=False):
    """The mean token_losses (nats; targets -1 ignored) of the logits h @ weight[:vocab_size].T, `chunk` rows at a
    time (-1: chunk_rows' choice for the device), never all the logits at once; under autocast the logits are in its
    dtype and token_losses gets them in fp32, as GPT.forward's loss_chunk=0 path. compiled: each chunk's body through
    torch.compile (GPT.forward asks for it when the model runs compiled). With gradients on CUDA, an installed fused
    kernel takes over (fused_linear_cross_entropy)."""
    device_type = h.device.type
    autocast = torch.is_autocast_enabled(device_type)
    dtype = torch.get_autocast_dtype(device_type) if autocast else h.dtype
    grad_h, grad_w = (torch.is_grad_enabled() and t.requires_grad for t in (h, weight))
    h, targets = h.flatten(0, -2), targets.flatten()
    with torch.autocast(device_type, enabled=False):  # dtypes are explicit inside
        fused = fused_linear_cross_entropy(device_type, dtype, token_losses) if grad_h or grad_w else None
        if fused is not None:
            return fused(h.to(dtype), weight[:vocab_size].to(dtype), targets).float()
        rows = chunk_rows(chunk, vocab_size, device_type, h.size(0))
        return ChunkedLinearCrossEntropy.apply(h, weight, targets, vocab_size, token_losses, rows, dtype, grad_h,
                                               grad_w, compiled)
