"""The Diffuse denoiser: a small bidirectional transformer for masked diffusion (MDLM/LLaDA-style).

Every position sees every other position (no causal mask). The model predicts, at the positions
it is asked about, the token that belongs there: for a masked slot that is the denoising
prediction, for a visible token it is the model's opinion of whether that token is right (Refine).

forward(input_ids [B,S], positions [B,N] or None) -> float32 logits [B,N,V] (or [B,S,V]).
The vocabulary head is most of the FLOPs at this size, so it only runs at the positions asked for.
This file must run on Debian's torch 1.13 (CPU) and on a current CUDA torch, and export to ONNX.

The same definition carries the open diffusion coders convert.py converts (Dream, DreamOn,
Open-dCoder: Qwen2 blocks; LLaDA: LLaMA blocks): what they differ in is a field of the config
(grouped-query attention, q/k/v biases, an untied output head, Dream's logit shift).
"""
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

# torch >= 2.0 has a fused attention kernel; torch 1.13 does not, so attention is written out there.
HAS_SDPA = hasattr(F, "scaled_dot_product_attention")


@dataclass
class DenoiserConfig:
    vocab_size: int = 8192
    n_layer: int = 4
    d_model: int = 256
    n_head: int = 4
    ffn_hidden: int = 0  # 0: 8/3 * d_model (SwiGLU keeps the MLP's parameter count of a 4x GELU MLP), rounded up to 64
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    # What converted checkpoints differ in (convert.py); the defaults are Diffuse's own model.
    n_kv_head: int = 0        # key-value heads (grouped-query attention, Qwen2 and LLaMA); 0: n_head
    qkv_bias: bool = False    # biases on the query, key and value projections (Qwen2)
    tied: bool = True         # the output head is the embedding matrix; False: a head of its own
    logit_shift: bool = False  # Dream: the logit of token i is read from the hidden state at i-1

    def __post_init__(self):
        if not self.ffn_hidden:
            self.ffn_hidden = 64 * math.ceil(self.d_model * 8 / 3 / 64)
        if not self.n_kv_head:
            self.n_kv_head = self.n_head
        assert self.d_model % self.n_head == 0, f"hidden size {self.d_model} is not a multiple of {self.n_head} heads"
        assert self.n_head % self.n_kv_head == 0, \
            f"{self.n_head} query heads are not a multiple of {self.n_kv_head} key-value heads"
        assert (self.d_model // self.n_head) % 2 == 0

    @property
    def head_dim(self):
        return self.d_model // self.n_head

    def as_dict(self):
        """The fields, the conversion's only where they differ from Diffuse's own model: its
        checkpoints and denoiser.json name the shape they always did."""
        own = dict(n_kv_head=self.n_head, qkv_bias=False, tied=True, logit_shift=False)
        return {k: v for k, v in asdict(self).items() if k not in own or v != own[k]}


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        # Normalise in fp32 even under autocast: the mean of squares loses too much in bf16.
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (xf * self.weight).to(x.dtype)


def rope_tables(seq_len, head_dim, theta, device):
    """cos/sin [S, head_dim/2] for positions 0..S-1. Computed on the fly (no buffer), so the
    state dict holds only parameters and the exported graph works for any sequence length."""
    return rope_at(torch.arange(seq_len, device=device), head_dim, theta)


def rope_at(positions, head_dim, theta):
    """cos/sin [N, head_dim/2] at the given positions [N] (int64)."""
    inv_freq = theta ** (-torch.arange(0, head_dim, 2, device=positions.device, dtype=torch.float32) / head_dim)
    angles = positions.to(torch.float32)[:, None] * inv_freq[None, :]
    return angles.cos(), angles.sin()


def apply_rope(x, cos, sin):
    # x [B,H,S,hd]; rotate the two halves (the "rotate-half" layout: plain slices, ONNX-friendly).
    half = x.shape[-1] // 2
    xf = x.float()
    x1, x2 = xf[..., :half], xf[..., half:]
    out = torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)
    return out.to(x.dtype)


def attend(q, k, v, groups):
    """softmax(q k^T / sqrt(hd)) v written out, where the fused kernel does not serve (torch 1.13,
    the context cache's graph, grouped-query attention). q [B,H,S,hd], k and v [B,H/groups,T,hd]:
    with groups > 1 query head j*groups+i reads key-value head j (transformers' repeat_kv),
    without copying the keys."""
    if groups > 1:
        B, H, S, hd = q.shape
        y = attend(q.reshape(B, H // groups, groups, S, hd), k.unsqueeze(2), v.unsqueeze(2), 1)
        return y.reshape(B, H, S, hd)
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
    return att.float().softmax(dim=-1).to(v.dtype) @ v


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head, self.n_kv_head, self.head_dim = cfg.n_head, cfg.n_kv_head, cfg.head_dim
        # one projection for queries, keys and values: [D | kv | kv] output rows
        self.qkv = nn.Linear(cfg.d_model, cfg.d_model + 2 * cfg.n_kv_head * cfg.head_dim, bias=cfg.qkv_bias)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)

    def rotated_qkv(self, x, cos, sin):
        """Queries [B,H,S,hd], keys and values [B,kv,S,hd] of x [B,S,D], queries and keys rotated (RoPE)."""
        B, S, D = x.shape
        kv = self.n_kv_head * self.head_dim
        # equal parts split by size: one Split node in the ONNX graph (a list of sizes makes Slices)
        q, k, v = self.qkv(x).split(D if kv == D else [D, kv, kv], dim=-1)
        q = q.view(B, S, self.n_head, self.head_dim).transpose(1, 2)
        k, v = (t.view(B, S, self.n_kv_head, self.head_dim).transpose(1, 2) for t in (k, v))
        return apply_rope(q, cos, sin), apply_rope(k, cos, sin), v

    def forward(self, x, cos, sin):
        B, S, D = x.shape
        q, k, v = self.rotated_qkv(x, cos, sin)
        if HAS_SDPA and self.n_kv_head == self.n_head:
            y = F.scaled_dot_product_attention(q, k, v)  # bidirectional: no mask, no is_causal
        else:
            y = attend(q, k, v, self.n_head // self.n_kv_head)
        return self.proj(y.transpose(1, 2).reshape(B, S, D))

    def forward_cached(self, x, cos, sin, past_k, past_v):
        """x [1,n,D] of the tokens being computed; past_k/past_v [kv,m,hd]: the (rotated) keys and
        values of the other tokens of the canvas, computed earlier. Each token attends to all
        m + n. Returns the output and the n tokens' own keys and values [kv,n,hd]."""
        B, S, D = x.shape
        q, k, v = self.rotated_qkv(x, cos, sin)
        keys = torch.cat([past_k.unsqueeze(0), k], dim=2)
        values = torch.cat([past_v.unsqueeze(0), v], dim=2)
        y = attend(q, keys, values, self.n_head // self.n_kv_head)
        return self.proj(y.transpose(1, 2).reshape(B, S, D)), k[0], v[0]


class SwiGLU(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.gate = nn.Linear(cfg.d_model, cfg.ffn_hidden, bias=False)
        self.up = nn.Linear(cfg.d_model, cfg.ffn_hidden, bias=False)
        self.down = nn.Linear(cfg.ffn_hidden, cfg.d_model, bias=False)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attn_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.attn = Attention(cfg)
        self.mlp_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.mlp = SwiGLU(cfg)

    def forward(self, x, cos, sin):
        x = x + self.attn(self.attn_norm(x), cos, sin)
        return x + self.mlp(self.mlp_norm(x))

    def forward_cached(self, x, cos, sin, past_k, past_v):
        """forward() with Attention.forward_cached; also returns x's own keys and values."""
        y, k, v = self.attn.forward_cached(self.attn_norm(x), cos, sin, past_k, past_v)
        x = x + y
        return x + self.mlp(self.mlp_norm(x)), k, v


class Denoiser(nn.Module):
    def __init__(self, cfg: DenoiserConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        # The output head is the embedding matrix itself (tied): saves 2 M of 5 M parameters.
        # Converted checkpoints may have one of their own.
        self.head = None if cfg.tied else nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.reset_parameters()

    def reset_parameters(self):
        for name, p in self.named_parameters():
            if name.endswith(".bias"):
                nn.init.zeros_(p)
            elif p.dim() == 1:
                nn.init.ones_(p)  # RMSNorm gains
            else:
                std = 0.02
                # Projections that write into the residual stream: scaled so the stream's variance
                # does not grow with depth (GPT-2).
                if name.endswith("attn.proj.weight") or name.endswith("mlp.down.weight"):
                    std /= math.sqrt(2 * self.cfg.n_layer)
                nn.init.normal_(p, mean=0.0, std=std)

    def num_params(self):
        return sum(p.numel() for p in self.parameters())

    def train_flops(self, tokens, seq_len, head_positions):
        """Matrix-multiply FLOPs of one training step (forward and backward, 3x the forward's):
        the blocks' weights on every token, attention's two S x S products, and the vocabulary
        head at the `head_positions` where it runs. What model FLOPs utilisation counts."""
        c = self.cfg
        block_weights = c.n_layer * (4 * c.d_model * c.d_model + 3 * c.d_model * c.ffn_hidden)
        attention = c.n_layer * 2 * 2 * seq_len * c.d_model  # QK^T and AV, per token
        head = c.vocab_size * c.d_model
        return 3 * (2 * block_weights * tokens + attention * tokens + 2 * head * head_positions)

    def head_weight(self):
        return self.embed.weight if self.head is None else self.head.weight

    def hidden(self, input_ids):
        x = self.embed(input_ids)
        cos, sin = rope_tables(input_ids.shape[1], self.cfg.head_dim, self.cfg.rope_theta, input_ids.device)
        for block in self.blocks:
            x = block(x, cos, sin)
        return self.norm(x)

    def forward_cached(self, input_ids, token_positions, past_keys, past_values, positions):
        """The context cache's graph (Fast-dLLM's approximate cache; the model contract's optional
        cache inputs). input_ids [1,n]: the tokens to compute, at canvas positions token_positions
        [1,n]; past_keys/past_values [L,H,m,hd]: every other token's keys and values from an
        earlier call; positions [1,r]: rows of input_ids to return logits for. Returns logits
        [1,r,V] and the n tokens' keys and values [L,H,n,hd] (H: the key-value heads). With m = 0
        and token_positions 0..n-1 this is forward() exactly, but for the shift: with
        logit_shift (only here, the graph convert.py exports), the logit of the token at canvas position p is read from the hidden
        state at p-1 (at p = 0 from itself), which must be among the n computed tokens."""
        x = self.embed(input_ids)
        cos, sin = rope_at(token_positions[0], self.cfg.head_dim, self.cfg.rope_theta)
        keys, values = [], []
        for i, block in enumerate(self.blocks):
            x, k, v = block.forward_cached(x, cos, sin, past_keys[i], past_values[i])
            keys.append(k)
            values.append(v)
        if self.cfg.logit_shift:
            positions = shifted_rows(token_positions, positions)
        return self.head_at(self.norm(x), positions), torch.stack(keys), torch.stack(values)

    def head_at(self, h, positions):
        """float32 logits [B,N,V] of the hidden states h [B,S,D] at positions [B,N]."""
        h = torch.gather(h, 1, positions.unsqueeze(-1).expand(-1, -1, h.shape[-1]))
        return F.linear(h, self.head_weight()).float()

    def forward(self, input_ids, positions=None, flat_positions=None):
        """input_ids [B,S] int64. positions [B,N] int64: logits only there -> [B,N,V].
        flat_positions [M] int64 (training): indices into the flattened [B*S] sequence -> [M,V],
        so rows with different numbers of loss positions need no per-row padding.
        Neither: logits everywhere -> [B,S,V]."""
        h = self.hidden(input_ids)
        if flat_positions is not None:
            h = h.reshape(-1, h.shape[-1]).index_select(0, flat_positions)
        elif positions is not None:
            return self.head_at(h, positions)
        return F.linear(h, self.head_weight()).float()


def shifted_rows(token_positions, positions):
    """Dream's shift in the cache's terms: for each row of `positions` [1,r] (rows of the n
    computed tokens, at canvas positions token_positions [1,n]), the row whose canvas position is
    one before (the same row at position 0)."""
    tp = token_positions[0]
    want = (tp.index_select(0, positions[0]) - 1).clamp(min=0)
    return (tp.unsqueeze(0) == want.unsqueeze(1)).to(torch.float32).argmax(dim=1).unsqueeze(0)
