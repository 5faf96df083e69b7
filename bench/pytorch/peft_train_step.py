#!/usr/bin/env python3
"""The bench's LoRA training step in PyTorch, for the GPU comparison in BENCHMARKS.md (run by scripts/gpu/run-bench.sh).

A randomly initialised SmolLM2-135M-shaped LlamaForCausalLM (transformers, its default attention), weights and compute
in fp32 with TF32 off, eager; PEFT LoRA r 8, alpha 16, dropout 0.05 on all seven projections (bench/models.ts
BENCH_LORA); labels = inputs, mean cross-entropy; AdamW lr 1e-4 (the bench's) with gradient clipping at 1 (the engine's default);
batch 8 x 256 tokens by default. One step = forward, loss, backward, clipping, AdamW. Prints and writes tokens/s over
the timed steps (after warm-up ones) and the peak CUDA memory.

--impl plain runs the same model and LoRA written out in plain PyTorch instead (the same math as transformers' Llama
and PEFT's LoRA with SDPA attention): for a machine without transformers or peft, and to try the script on a CPU with
--device cpu --layers 2 --batch 2 --seq 32.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SMOL = dict(hidden=576, intermediate=1536, layers=30, heads=9, kv_heads=3, vocab=49152, eps=1e-5, theta=100000.0)
TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']
RANK, ALPHA, DROPOUT = 8, 16, 0.05


def hf_model(c, device):
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM
    cfg = LlamaConfig(hidden_size=c['hidden'], intermediate_size=c['intermediate'], num_hidden_layers=c['layers'],
                      num_attention_heads=c['heads'], num_key_value_heads=c['kv_heads'], vocab_size=c['vocab'],
                      rms_norm_eps=c['eps'], rope_theta=c['theta'], tie_word_embeddings=True,
                      max_position_embeddings=8192, hidden_act='silu')
    model = LlamaForCausalLM(cfg).to(device=device, dtype=torch.float32)
    lora = LoraConfig(r=RANK, lora_alpha=ALPHA, lora_dropout=DROPOUT, target_modules=TARGETS, bias='none', task_type='CAUSAL_LM')
    model = get_peft_model(model, lora)

    def loss(ids):
        return model(input_ids=ids, labels=ids).loss
    return model, loss


class LoraLinear(nn.Module):
    """A frozen Linear plus PEFT's LoRA: W x + (alpha / r) B A dropout(x), A Kaiming-uniform, B zero."""

    def __init__(self, d_in, d_out):
        super().__init__()
        self.base = nn.Linear(d_in, d_out, bias=False)
        self.base.weight.requires_grad_(False)
        self.lora_A = nn.Linear(d_in, RANK, bias=False)
        self.lora_B = nn.Linear(RANK, d_out, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)
        self.drop = nn.Dropout(DROPOUT)

    def forward(self, x):
        return self.base(x) + self.lora_B(self.lora_A(self.drop(x))) * (ALPHA / RANK)


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d), requires_grad=False)
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def causal_attention(q, k, v):
    """SDPA where this torch has it (2.0+), else the same computation written out."""
    if hasattr(F, 'scaled_dot_product_attention'):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    T = q.shape[-2]
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    scores = scores.masked_fill(torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1), float('-inf'))
    return scores.softmax(-1) @ v


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        H, I, hd = c['hidden'], c['intermediate'], c['hidden'] // c['heads']
        self.heads, self.kv_heads, self.hd = c['heads'], c['kv_heads'], hd
        self.input_norm, self.post_norm = RMSNorm(H, c['eps']), RMSNorm(H, c['eps'])
        self.q, self.k, self.v = LoraLinear(H, c['heads'] * hd), LoraLinear(H, c['kv_heads'] * hd), LoraLinear(H, c['kv_heads'] * hd)
        self.o = LoraLinear(c['heads'] * hd, H)
        self.gate, self.up, self.down = LoraLinear(H, I), LoraLinear(H, I), LoraLinear(I, H)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        h = self.input_norm(x)
        q = self.q(h).view(B, T, self.heads, self.hd).transpose(1, 2)
        k = self.k(h).view(B, T, self.kv_heads, self.hd).transpose(1, 2)
        v = self.v(h).view(B, T, self.kv_heads, self.hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        rep = self.heads // self.kv_heads
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        a = causal_attention(q, k, v).transpose(1, 2).reshape(B, T, -1)
        x = x + self.o(a)
        h = self.post_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class PlainLlama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed = nn.Embedding(c['vocab'], c['hidden'])
        self.embed.weight.requires_grad_(False)
        self.layers = nn.ModuleList(Layer(c) for _ in range(c['layers']))
        self.norm = RMSNorm(c['hidden'], c['eps'])

    def forward(self, ids):
        hd = self.c['hidden'] // self.c['heads']
        inv = 1.0 / (self.c['theta'] ** (torch.arange(0, hd, 2, device=ids.device, dtype=torch.float32) / hd))
        freqs = torch.outer(torch.arange(ids.shape[1], device=ids.device, dtype=torch.float32), inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        x = self.embed(ids)
        for layer in self.layers:
            x = layer(x, cos, sin)
        return F.linear(self.norm(x), self.embed.weight)


def plain_model(c, device):
    model = PlainLlama(c)
    # transformers' Llama initialisation (initializer_range 0.02) of the frozen weights.
    for name, p in model.named_parameters():
        if name.endswith('base.weight') or name == 'embed.weight':
            nn.init.normal_(p, std=0.02)
    model = model.to(device)

    def loss(ids):
        logits = model(ids)
        return F.cross_entropy(logits[:, :-1].reshape(-1, c['vocab']), ids[:, 1:].reshape(-1))
    return model, loss


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--impl', choices=['hf', 'plain'], default='hf')
    ap.add_argument('--device', default='cuda')
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--seq', type=int, default=256)
    ap.add_argument('--steps', type=int, default=20, help='timed steps')
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--layers', type=int, default=SMOL['layers'], help='fewer layers for a quick try')
    ap.add_argument('--out', help='also write the figures as JSON here')
    a = ap.parse_args()

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    c = dict(SMOL, layers=a.layers)
    device = torch.device(a.device)
    model, loss_of = (hf_model if a.impl == 'hf' else plain_model)(c, device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    ids = torch.randint(0, c['vocab'], (a.batch, a.seq), device=device)
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)

    def step():
        loss = loss_of(ids)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    for _ in range(a.warmup):
        step()
    sync()
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        last = step()
    sync()
    seconds = (time.perf_counter() - t0) / a.steps
    result = {
        'impl': a.impl, 'device': torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu',
        'torch': torch.__version__, 'tf32': False, 'batch': a.batch, 'seq': a.seq, 'layers': a.layers,
        'lora_params': sum(p.numel() for p in params), 'step_ms': seconds * 1e3, 'tokens_per_s': a.batch * a.seq / seconds,
        'peak_mib': torch.cuda.max_memory_allocated(device) / 2 ** 20 if device.type == 'cuda' else None,
        'last_loss': float(last),
    }
    print(f"PyTorch {a.impl} LoRA train step, {result['device']}, B={a.batch} T={a.seq}, {a.layers} layers: "
          f"{result['tokens_per_s']:.0f} tok/s ({result['step_ms']:.1f} ms/step)"
          + (f", peak {result['peak_mib']:.0f} MiB" if result['peak_mib'] is not None else ''))
    if a.out:
        with open(a.out, 'w') as f:
            json.dump(result, f, indent=2)


if __name__ == '__main__':
    main()
