#!/usr/bin/env python3
"""PyTorch CPU baseline for bench/llama.bench.ts: a Llama-family decoder in plain PyTorch, written
from the equations (RMSNorm, rotary embeddings in Hugging Face's rotate-half layout, grouped-query
attention, SwiGLU MLP, tied or untied head, optional q/k/v biases), random weights, and three figures
that the engine's side measures the same way:

- forward: log-probs of the response tokens (the last --response of each sequence) of a batch of
  --batch x (--prompt + --response) random tokens, no gradient; the head runs only on the rows that
  predict a response token, as logprobs.ts does. tokens/s = batch x length / seconds.
- train: one LoRA step (r, alpha on q,k,v,o,gate,up,down; the base frozen) over the same batch in
  micro-batches of --micro: mean NLL of the response tokens per micro-batch, gradients averaged,
  clipped to norm 1.0, AdamW (lr 1e-5, weight decay 0.01) on the adapters. tokens/s as above.
- sample: greedy decoding with a KV cache: --batch prompts of --prompt tokens, --new-tokens new
  tokens each (one prefill, then one token per row per step, no early stop). tokens/s = new tokens
  generated / seconds, prefill included.

Prints one JSON object. The shape comes from the flags, or from a JSON object on stdin (--stdin)
whose keys are the flags' names with underscores:

    python3 bench/torch_llama.py --vocab 49152 --layers 30 --d 576 --heads 9 --kv-heads 3 --ffn 1536 \\
        --rope-theta 100000 --threads 1
    echo '{"vocab": 512, "layers": 2, "d": 64, "heads": 4, "kv_heads": 2, "ffn": 128}' | \\
        python3 bench/torch_llama.py --stdin
    -> {"torch": "1.13.1", "threads": 1, "forward": {"tokens_per_s": ...}, "train": {...}, "sample": {...}}
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class Linear(nn.Module):
    """y = x W^T (+ b), plus LoRA's (alpha / r) x A^T B^T once adapters are attached."""

    def __init__(self, inp, out, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out, inp).normal_(0, 0.02))
        self.bias = nn.Parameter(torch.zeros(out)) if bias else None
        self.lora_A = None
        self.lora_B = None
        self.scale = 0.0

    def attach(self, r, alpha):
        inp, out = self.weight.shape[1], self.weight.shape[0]
        # PEFT's start: A ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform_, a = sqrt(5)), B = 0.
        bound = 1 / math.sqrt(inp)
        self.lora_A = nn.Parameter(torch.empty(r, inp).uniform_(-bound, bound))
        self.lora_B = nn.Parameter(torch.zeros(out, r))
        self.scale = alpha / r

    def forward(self, x):
        y = F.linear(x, self.weight, self.bias)
        if self.lora_A is not None:
            y = y + F.linear(F.linear(x, self.lora_A), self.lora_B) * self.scale
        return y


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = a.heads, a.kv_heads, a.head_dim
        self.q_proj = Linear(a.d, a.heads * a.head_dim, a.qkv_bias)
        self.k_proj = Linear(a.d, a.kv_heads * a.head_dim, a.qkv_bias)
        self.v_proj = Linear(a.d, a.kv_heads * a.head_dim, a.qkv_bias)
        self.o_proj = Linear(a.heads * a.head_dim, a.d, False)

    def forward(self, x, cos, sin, mask, cache):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.heads, self.head_dim).transpose(1, 2)  # (B, H, T, hd)
        k = self.k_proj(x).view(B, T, self.kv_heads, self.head_dim).transpose(1, 2)  # (B, KV, T, hd)
        v = self.v_proj(x).view(B, T, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            if cache["k"] is not None:
                k = torch.cat((cache["k"], k), dim=2)
                v = torch.cat((cache["v"], v), dim=2)
            cache["k"], cache["v"] = k, v
        # Grouped-query attention: query head h reads key/value head h // (heads / kv_heads).
        rep = self.heads // self.kv_heads
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)  # (B, H, T, past + T)
        if mask is not None:
            att = att + mask
        y = F.softmax(att, dim=-1) @ v  # (B, H, T, hd)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, self.heads * self.head_dim))


class Mlp(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.gate_proj = Linear(a.d, a.ffn, False)
        self.up_proj = Linear(a.d, a.ffn, False)
        self.down_proj = Linear(a.ffn, a.d, False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.input_layernorm = RMSNorm(a.d, a.eps)
        self.self_attn = Attention(a)
        self.post_attention_layernorm = RMSNorm(a.d, a.eps)
        self.mlp = Mlp(a)

    def forward(self, x, cos, sin, mask, cache):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.embed_tokens = nn.Embedding(a.vocab, a.d)
        nn.init.normal_(self.embed_tokens.weight, std=0.02)
        self.layers = nn.ModuleList([Layer(a) for _ in range(a.layers)])
        self.norm = RMSNorm(a.d, a.eps)
        self.lm_head = None if a.tied else nn.Parameter(torch.empty(a.vocab, a.d).normal_(0, 0.02))
        self.inv_freq = 1.0 / (a.rope_theta ** (torch.arange(0, a.head_dim, 2, dtype=torch.float32) / a.head_dim))

    def head_weight(self):
        return self.embed_tokens.weight if self.lm_head is None else self.lm_head

    def hidden(self, ids, caches=None):
        """Final hidden states after the last norm, (B, T, D); caches: one dict per layer, appended to."""
        B, T = ids.shape
        past = 0 if caches is None or caches[0]["k"] is None else caches[0]["k"].shape[2]
        freqs = torch.arange(past, past + T, dtype=torch.float32)[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)  # (T, hd), rotate-half layout
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        # Query i (position past + i) sees keys 0..past + i.
        mask = None
        if T > 1:
            mask = torch.full((T, past + T), float("-inf")).triu(past + 1)[None, None]
        x = self.embed_tokens(ids)
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, mask, None if caches is None else caches[i])
        return self.norm(x)

    def attach_lora(self, r, alpha):
        for p in self.parameters():
            p.requires_grad_(False)
        adapters = []
        for layer in self.layers:
            for lin in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj,
                        layer.self_attn.o_proj, layer.mlp.gate_proj, layer.mlp.up_proj, layer.mlp.down_proj):
                lin.attach(r, alpha)
                adapters += [lin.lora_A, lin.lora_B]
        return adapters


def response_logprobs(model, ids, prompt):
    """(B, response) log p(ids[:, t] | ids[:, :t]) for the response tokens t >= prompt."""
    h = model.hidden(ids)[:, prompt - 1:-1]  # the rows that predict a response token
    logits = h @ model.head_weight().t()  # (B, R, V)
    return torch.log_softmax(logits, dim=-1).gather(-1, ids[:, prompt:, None])[..., 0]


def blas_in_use():
    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:
        return "unknown"
    for name in ("openblas", "mkl", "blis", "libblas"):
        if name in maps:
            return name
    return "unknown"


def timed(fn, warmup, steps, tokens):
    for _ in range(warmup):
        fn(True)
    walls, cpus = [], []
    for _ in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        fn(False)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    wall = statistics.median(walls)
    return {"seconds": wall, "cpu_seconds": statistics.median(cpus), "tokens_per_s": tokens / wall}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vocab", type=int, default=49152)
    ap.add_argument("--layers", type=int, default=30)
    ap.add_argument("--d", type=int, default=576)
    ap.add_argument("--heads", type=int, default=9)
    ap.add_argument("--kv-heads", type=int, default=3)
    ap.add_argument("--head-dim", type=int, default=0, help="0: d / heads")
    ap.add_argument("--ffn", type=int, default=1536)
    ap.add_argument("--eps", type=float, default=1e-5)
    ap.add_argument("--rope-theta", type=float, default=10000.0)
    ap.add_argument("--qkv-bias", action="store_true")
    ap.add_argument("--untied", dest="tied", action="store_false")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--micro", type=int, default=2, help="training micro-batch size")
    ap.add_argument("--prompt", type=int, default=128)
    ap.add_argument("--response", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--lora-r", type=int, default=8)
    ap.add_argument("--lora-alpha", type=float, default=16.0)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--only", default="forward,train,sample", help="comma-separated: forward, train, sample")
    ap.add_argument("--threads", type=int, default=0, help="0: one per core")
    ap.add_argument("--stdin", action="store_true", help="read the settings from a JSON object on stdin")
    args = ap.parse_args()
    if args.stdin:
        given = json.load(sys.stdin)
        unknown = set(given) - set(vars(args))
        if unknown:
            sys.exit(f"torch_llama.py: unknown settings on stdin: {', '.join(sorted(unknown))}")
        for k, v in given.items():
            setattr(args, k, v)
    args.head_dim = args.head_dim or args.d // args.heads
    if args.batch % args.micro:
        sys.exit(f"torch_llama.py: --batch {args.batch} is not a multiple of --micro {args.micro}")

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    torch.manual_seed(0)
    model = Llama(args)
    g = torch.Generator().manual_seed(1)
    length = args.prompt + args.response
    out = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": blas_in_use(),
        "params": sum(p.numel() for p in model.parameters()),
    }
    only = set(args.only.split(","))

    if "forward" in only:
        def forward(_warmup):
            ids = torch.randint(0, args.vocab, (args.batch, length), generator=g)
            with torch.no_grad():
                return response_logprobs(model, ids, args.prompt).sum().item()

        out["forward"] = timed(forward, args.warmup, args.steps, args.batch * length)

    if "sample" in only:
        def sample(warmup):
            ids = torch.randint(0, args.vocab, (args.batch, args.prompt), generator=g)
            caches = [{"k": None, "v": None} for _ in model.layers]
            n = 2 if warmup else args.new_tokens  # the warm-up runs the prefill and a cached step
            new = []
            with torch.no_grad():
                h = model.hidden(ids, caches)[:, -1]
                for step in range(n):
                    token = (h @ model.head_weight().t()).argmax(-1)  # greedy, (B,)
                    new.append(token)
                    if step + 1 < n:
                        h = model.hidden(token[:, None], caches)[:, -1]
            return torch.stack(new, 1)

        out["sample"] = timed(sample, args.warmup, args.steps, args.batch * args.new_tokens)

    if "train" in only:
        adapters = model.attach_lora(args.lora_r, args.lora_alpha)
        out["trainable"] = sum(p.numel() for p in adapters)
        opt = torch.optim.AdamW(adapters, lr=1e-5, weight_decay=0.01)
        parts = args.batch // args.micro

        def step(_warmup):
            ids = torch.randint(0, args.vocab, (args.batch, length), generator=g)
            for i in range(parts):
                lp = response_logprobs(model, ids[i * args.micro:(i + 1) * args.micro], args.prompt)
                (-lp.mean() / parts).backward()
            torch.nn.utils.clip_grad_norm_(adapters, 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)

        out["train"] = timed(step, args.warmup, args.steps, args.batch * length)

    out["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
