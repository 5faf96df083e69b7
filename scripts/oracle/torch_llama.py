#!/usr/bin/python3
"""Float64 PyTorch reference of Hugging Face LlamaForCausalLM / Qwen2ForCausalLM / Qwen3ForCausalLM /
Gemma3ForCausalLM (text) / SmolLM3ForCausalLM with PEFT LoRA.

This is the oracle the TypeScript engine is checked against. It depends only on torch and numpy
(no transformers, no safetensors package) and follows the Hugging Face modeling code:

  x = embed_tokens[ids]
  per layer:
    h = RMSNorm(x)                               # x * rsqrt(mean(x^2) + eps) * w
    q, k, v = h Wq^T (+bq), h Wk^T (+bk), h Wv^T (+bv)   (+ LoRA)
    RoPE (rotate_half convention, cos/sin of cat(freqs, freqs)) on q and k
    attn = softmax(q k^T / sqrt(head_dim) + causal mask) v, kv heads repeated for GQA/MQA
    x = x + attn Wo^T (+bo) (+ LoRA)
    h = RMSNorm(x)
    x = x + down(silu(gate(h)) * up(h))          (each with optional bias and LoRA)
  logits = RMSNorm(x) lm_head^T                  # lm_head = embed_tokens if tie_word_embeddings

Architecture differences (transformers' modeling files):
  Qwen3:   per-head RMSNorm q_norm / k_norm (weight [head_dim]) on q and k before RoPE; no q/k/v bias.
  SmolLM3: layer i applies RoPE only if no_rope_layers[i] == 1 (default: (i + 1) % no_rope_layer_interval != 0).
  Gemma 3: every RMSNorm scales by (1 + w); embeddings times sqrt(hidden_size); q_norm / k_norm;
           scores scaled by query_pre_attn_scalar^-0.5; MLP down(gelu_tanh(gate) * up);
           x = x + post_attention_layernorm(attn);  x = x + post_feedforward_layernorm(mlp(pre_feedforward_layernorm(x)));
           sliding layers (layer_types, else every sliding_window_pattern-th layer is global) see keys j with
           i - sliding_window < j <= i and rotate with rope_local_base_freq (no scaling); global layers use
           rope_theta and rope_scaling.

LoRA on a projection: y += scale * (x A^T) B^T with A [r, in], B [out, r], scale = lora_alpha / r
(lora_alpha / sqrt(r) with use_rslora); dropout is not applied.

Weights stored as F16 / BF16 / F32 are widened to float64 exactly.

Module use:
    from torch_llama import load_model, load_adapter
    m = load_model('model_dir'); a = load_adapter('adapter_dir')
    logits = m.forward([[3, 17, 5]], a)                  # [B, T, V] float64
    loss, grads = loss_and_grads(m, a, ids, labels)     # grads: {peft key: tensor}

CLI:
    torch_llama.py forward --model DIR [--adapter DIR] --ids 3,17,5
        -> {"logits": [[V floats] per position]}
    torch_llama.py grad --model DIR --adapter DIR --ids 3,17,5 --labels=-100,17,5
        -> {"loss": L, "grads": {peft key: [row-major floats]}}
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

PROJ_BLOCK = {
    'q_proj': 'self_attn', 'k_proj': 'self_attn', 'v_proj': 'self_attn', 'o_proj': 'self_attn',
    'gate_proj': 'mlp', 'up_proj': 'mlp', 'down_proj': 'mlp',
}
PROJS = list(PROJ_BLOCK)
PEFT_PREFIX = 'base_model.model.'


# ---------------------------------------------------------------------------------------------
# safetensors
# ---------------------------------------------------------------------------------------------

_NP_DTYPES = {'F64': np.float64, 'F32': np.float32, 'F16': np.float16, 'I64': np.int64, 'I32': np.int32}
_DTYPE_SIZE = {'F64': 8, 'F32': 4, 'F16': 2, 'BF16': 2, 'I64': 8, 'I32': 4}


def bf16_bits_to_f32(bits):
    """uint16 array of bfloat16 bit patterns -> float32 array (exact)."""
    return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32)


def f32_to_bf16_bits(x):
    """float32 array -> uint16 bfloat16 bit patterns, round to nearest even (finite inputs)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (u + np.uint64(0x7FFF) + ((u >> np.uint64(16)) & np.uint64(1))) >> np.uint64(16)
    return rounded.astype(np.uint16)


def read_safetensors_header(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n).decode('utf-8'))
    return n, header


def read_safetensors(path, widen=True):
    """Returns ({name: array}, metadata). widen=True gives float64 numpy arrays for float dtypes;
    widen=False keeps the stored dtype (BF16 comes back as uint16 bit patterns)."""
    with open(path, 'rb') as f:
        data = f.read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n].decode('utf-8'))
    base = 8 + n
    meta = header.pop('__metadata__', None)
    out = {}
    for name, info in header.items():
        dt, shape, (start, end) = info['dtype'], info['shape'], info['data_offsets']
        if dt not in _DTYPE_SIZE:
            raise ValueError(f'{path}: tensor {name}: unsupported dtype {dt}')
        count = int(np.prod(shape)) if shape else 1
        if end - start != count * _DTYPE_SIZE[dt]:
            raise ValueError(f'{path}: tensor {name}: byte range does not match shape {shape} {dt}')
        raw = data[base + start:base + end]
        if dt == 'BF16':
            arr = np.frombuffer(raw, dtype='<u2').reshape(shape)
            if widen:
                arr = bf16_bits_to_f32(arr).astype(np.float64)
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(_NP_DTYPES[dt]).newbyteorder('<')).reshape(shape)
            if widen and dt in ('F16', 'F32', 'F64'):
                arr = arr.astype(np.float64)
        out[name] = arr.copy()
    return out, meta


def _to_numpy(t):
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    return np.asarray(t)


def encode_tensor(arr, dtype):
    """Array (any float) -> (bytes, shape) in the given safetensors dtype."""
    arr = _to_numpy(arr)
    if dtype == 'BF16':
        raw = f32_to_bf16_bits(arr.astype(np.float32)).astype('<u2').tobytes()
    elif dtype in _NP_DTYPES:
        raw = arr.astype(np.dtype(_NP_DTYPES[dtype]).newbyteorder('<')).tobytes()
    else:
        raise ValueError(f'unsupported dtype {dtype}')
    return raw, list(arr.shape)


def write_safetensors(path, tensors, dtype='F32', metadata=None):
    """tensors: {name: array or tensor}; dtype: one safetensors dtype for all, or {name: dtype}.
    Tensors are laid out in name order; the header is padded with spaces to a multiple of 8."""
    header = {}
    if metadata is not None:
        header['__metadata__'] = {str(k): str(v) for k, v in metadata.items()}
    chunks, offset = [], 0
    for name in sorted(tensors):
        dt = dtype[name] if isinstance(dtype, dict) else dtype
        raw, shape = encode_tensor(tensors[name], dt)
        header[name] = {'dtype': dt, 'shape': shape, 'data_offsets': [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    hb = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hb += b' ' * ((8 - len(hb) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(hb)))
        f.write(hb)
        for c in chunks:
            f.write(c)
    return offset


def read_model_weights(model_dir):
    """All tensors of a HF model directory (single file or sharded), widened to float64 numpy."""
    index = os.path.join(model_dir, 'model.safetensors.index.json')
    single = os.path.join(model_dir, 'model.safetensors')
    weights = {}
    if os.path.exists(index):
        with open(index) as f:
            wmap = json.load(f)['weight_map']
        for shard in sorted(set(wmap.values())):
            part, _ = read_safetensors(os.path.join(model_dir, shard))
            for name, arr in part.items():
                if wmap.get(name) != shard:
                    raise ValueError(f'{shard}: tensor {name} is not mapped to this shard in the index')
                weights[name] = arr
        missing = set(wmap) - set(weights)
        if missing:
            raise ValueError(f'index names tensors missing from shards: {sorted(missing)[:5]}')
    elif os.path.exists(single):
        weights, _ = read_safetensors(single)
    else:
        raise FileNotFoundError(f'{model_dir}: no model.safetensors or model.safetensors.index.json')
    return weights


# ---------------------------------------------------------------------------------------------
# config
# ---------------------------------------------------------------------------------------------

ARCH_MODEL_TYPES = {'LlamaForCausalLM': 'llama', 'Qwen2ForCausalLM': 'qwen2', 'Qwen3ForCausalLM': 'qwen3',
                    'Gemma3ForCausalLM': 'gemma3_text', 'SmolLM3ForCausalLM': 'smollm3'}


def normalize_config(cfg):
    model_type = cfg.get('model_type')
    if model_type is None:
        arch = (cfg.get('architectures') or [''])[0]
        model_type = ARCH_MODEL_TYPES.get(arch)
    if model_type not in ('llama', 'qwen2', 'qwen3', 'gemma3_text', 'smollm3'):
        raise ValueError(f'unsupported model_type {model_type!r}')
    gemma = model_type == 'gemma3_text'
    if gemma:
        if cfg.get('hidden_activation', 'gelu_pytorch_tanh') != 'gelu_pytorch_tanh':
            raise ValueError(f'unsupported hidden_activation {cfg.get("hidden_activation")!r}')
        for key in ('attn_logit_softcapping', 'final_logit_softcapping'):
            if cfg.get(key) is not None:
                raise ValueError(f'{key} is not supported')
    elif cfg.get('hidden_act', 'silu') != 'silu':
        raise ValueError(f'unsupported hidden_act {cfg.get("hidden_act")!r}')
    if model_type in ('qwen2', 'qwen3', 'smollm3') and cfg.get('use_sliding_window', False):
        raise ValueError('use_sliding_window is not supported')
    hidden = cfg['hidden_size']
    heads = cfg['num_attention_heads']
    kv_heads = cfg.get('num_key_value_heads') or heads
    head_dim = cfg.get('head_dim') or hidden // heads
    if heads % kv_heads:
        raise ValueError('num_attention_heads must be a multiple of num_key_value_heads')
    if head_dim % 2:
        raise ValueError('head_dim must be even for RoPE')
    if model_type == 'qwen2':
        qkv_bias, o_bias, mlp_bias = True, False, False
    else:
        qkv_bias = o_bias = bool(cfg.get('attention_bias', False))
        mlp_bias = bool(cfg.get('mlp_bias', False)) if model_type in ('llama', 'smollm3') else False
    L = cfg['num_hidden_layers']
    rope_theta = float(cfg.get('rope_theta', {'gemma3_text': 1e6, 'smollm3': 2e6}.get(model_type, 10000.0)))
    # Per layer: (rope theta, rope_scaling) or None for no RoPE, and the sliding window (0 = none).
    layer_rope = [(rope_theta, cfg.get('rope_scaling'))] * L
    layer_window = [0] * L
    if model_type == 'smollm3':
        nrl = cfg.get('no_rope_layers')
        if nrl is None:
            interval = cfg.get('no_rope_layer_interval', 4)
            nrl = [int((i + 1) % interval != 0) for i in range(L)]
        layer_rope = [layer_rope[i] if nrl[i] else None for i in range(L)]
    if gemma:
        types = cfg.get('layer_types')
        if types is None:
            pattern = cfg.get('sliding_window_pattern', cfg.get('_sliding_window_pattern', 6))
            types = ['sliding_attention' if (i + 1) % pattern else 'full_attention' for i in range(L)]
        local = (float(cfg.get('rope_local_base_freq', 10000.0)), None)
        window = int(cfg.get('sliding_window', 4096))
        layer_rope = [local if t == 'sliding_attention' else layer_rope[i] for i, t in enumerate(types)]
        layer_window = [window if t == 'sliding_attention' else 0 for t in types]
    return {
        'model_type': model_type,
        'hidden_size': hidden,
        'intermediate_size': cfg['intermediate_size'],
        'num_hidden_layers': cfg['num_hidden_layers'],
        'num_attention_heads': heads,
        'num_key_value_heads': kv_heads,
        'head_dim': head_dim,
        'vocab_size': cfg['vocab_size'],
        'rms_norm_eps': float(cfg.get('rms_norm_eps', 1e-6)),
        'rope_theta': rope_theta,
        'rope_scaling': cfg.get('rope_scaling'),
        'layer_rope': layer_rope,
        'layer_window': layer_window,
        'qk_norm': model_type in ('qwen3', 'gemma3_text'),
        'gemma': gemma,
        'attn_scale': (float(cfg.get('query_pre_attn_scalar', 256)) ** -0.5) if gemma else head_dim ** -0.5,
        'partial_rotary_factor': float(cfg.get('partial_rotary_factor', 1.0)),
        'tie_word_embeddings': bool(cfg.get('tie_word_embeddings', model_type in ('gemma3_text', 'smollm3'))),
        'bias': {'q_proj': qkv_bias, 'k_proj': qkv_bias, 'v_proj': qkv_bias, 'o_proj': o_bias,
                 'gate_proj': mlp_bias, 'up_proj': mlp_bias, 'down_proj': mlp_bias},
    }


def rope_inv_freq(cfg, base=None, rs='global'):
    """inv_freq [head_dim/2] float64 after rope_scaling (HF rope_init_fn semantics); base and rs default to the
    config's global rope_theta and rope_scaling."""
    dim = int(cfg['head_dim'] * cfg['partial_rotary_factor'])
    if dim != cfg['head_dim']:
        raise ValueError('partial_rotary_factor != 1 is not supported')
    base = cfg['rope_theta'] if base is None else base
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(torch.float64) / dim))
    rs = cfg['rope_scaling'] if rs == 'global' else rs
    if not rs:
        return inv_freq
    kind = rs.get('rope_type', rs.get('type'))
    if kind in (None, 'default'):
        return inv_freq
    if kind == 'linear':
        return inv_freq / float(rs['factor'])
    if kind == 'llama3':
        factor = float(rs['factor'])
        low_freq_factor = float(rs['low_freq_factor'])
        high_freq_factor = float(rs['high_freq_factor'])
        old_context_len = float(rs['original_max_position_embeddings'])
        low_freq_wavelen = old_context_len / low_freq_factor
        high_freq_wavelen = old_context_len / high_freq_factor
        wavelen = 2 * math.pi / inv_freq
        inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        smooth = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
        smoothed = (1 - smooth) * inv_freq_llama / factor + smooth * inv_freq_llama
        is_medium = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
        return torch.where(is_medium, smoothed, inv_freq_llama)
    raise ValueError(f'unsupported rope_scaling type {kind!r}')


def rotate_half(x):
    d = x.shape[-1] // 2
    return torch.cat((-x[..., d:], x[..., :d]), dim=-1)


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def gemma_rms_norm(x, w, eps):
    """Gemma's RMSNorm scales by (1 + w)."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * (1.0 + w)


# ---------------------------------------------------------------------------------------------
# LoRA adapter
# ---------------------------------------------------------------------------------------------

def peft_key(layer, proj, which):
    """which: 'A' or 'B'."""
    return f'{PEFT_PREFIX}model.layers.{layer}.{PROJ_BLOCK[proj]}.{proj}.lora_{which}.weight'


def parse_peft_key(key):
    """-> (layer, proj, 'A'|'B') or None."""
    parts = key.split('.')
    # base_model.model.model.layers.{i}.{block}.{proj}.lora_{A|B}.weight
    if (len(parts) != 9 or parts[:4] != ['base_model', 'model', 'model', 'layers']
            or parts[8] != 'weight' or parts[7] not in ('lora_A', 'lora_B')
            or parts[6] not in PROJ_BLOCK or PROJ_BLOCK[parts[6]] != parts[5]):
        return None
    return int(parts[4]), parts[6], parts[7][-1]


class LoraAdapter:
    """tensors: {peft key: float64 torch tensor}; scale: alpha / r (or alpha / sqrt(r))."""

    def __init__(self, tensors, r, alpha, use_rslora=False, config=None):
        self.tensors = tensors
        self.r = int(r)
        self.alpha = float(alpha)
        self.use_rslora = bool(use_rslora)
        self.scale = self.alpha / (math.sqrt(self.r) if self.use_rslora else self.r)
        self.config = config or {}
        for key in tensors:
            if parse_peft_key(key) is None:
                raise ValueError(f'unsupported adapter tensor {key}')

    def keys(self):
        return sorted(self.tensors)

    def pair(self, layer, proj):
        a = self.tensors.get(peft_key(layer, proj, 'A'))
        b = self.tensors.get(peft_key(layer, proj, 'B'))
        if (a is None) != (b is None):
            raise ValueError(f'layer {layer} {proj}: lora_A and lora_B must both be present')
        return None if a is None else (a, b)

    def with_tensors(self, tensors):
        return LoraAdapter(tensors, self.r, self.alpha, self.use_rslora, self.config)


def load_adapter(adapter_dir):
    with open(os.path.join(adapter_dir, 'adapter_config.json')) as f:
        cfg = json.load(f)
    if cfg.get('peft_type', 'LORA') != 'LORA':
        raise ValueError(f'unsupported peft_type {cfg.get("peft_type")!r}')
    if cfg.get('use_dora'):
        raise ValueError('use_dora is not supported')
    if cfg.get('rank_pattern') or cfg.get('alpha_pattern'):
        raise ValueError('rank_pattern / alpha_pattern are not supported')
    if cfg.get('fan_in_fan_out'):
        raise ValueError('fan_in_fan_out is not supported')
    arrays, _ = read_safetensors(os.path.join(adapter_dir, 'adapter_model.safetensors'))
    tensors = {k: torch.from_numpy(v) for k, v in arrays.items()}
    r = int(cfg['r'])
    for key, t in tensors.items():
        parsed = parse_peft_key(key)
        if parsed is None:
            raise ValueError(f'unsupported adapter tensor {key}')
        if (t.shape[0] if parsed[2] == 'A' else t.shape[1]) != r:
            raise ValueError(f'{key}: shape {tuple(t.shape)} does not match r={r}')
    return LoraAdapter(tensors, r, cfg['lora_alpha'], cfg.get('use_rslora', False), cfg)


def adapter_config_json(r, alpha, target_modules, use_rslora=False, base_model=None):
    return {
        'alpha_pattern': {},
        'auto_mapping': None,
        'base_model_name_or_path': base_model,
        'bias': 'none',
        'fan_in_fan_out': False,
        'inference_mode': True,
        'init_lora_weights': True,
        'layers_pattern': None,
        'layers_to_transform': None,
        'lora_alpha': alpha,
        'lora_dropout': 0.0,
        'modules_to_save': None,
        'peft_type': 'LORA',
        'r': r,
        'rank_pattern': {},
        'revision': None,
        'target_modules': sorted(target_modules),
        'task_type': 'CAUSAL_LM',
        'use_dora': False,
        'use_rslora': use_rslora,
    }


def write_adapter(adapter_dir, tensors, r, alpha, target_modules=None, use_rslora=False,
                  base_model=None, dtype='F32'):
    """Writes adapter_config.json and adapter_model.safetensors (PEFT layout)."""
    os.makedirs(adapter_dir, exist_ok=True)
    if target_modules is None:
        target_modules = sorted({parse_peft_key(k)[1] for k in tensors})
    with open(os.path.join(adapter_dir, 'adapter_config.json'), 'w') as f:
        json.dump(adapter_config_json(r, alpha, target_modules, use_rslora, base_model), f, indent=2,
                  sort_keys=True)
        f.write('\n')
    write_safetensors(os.path.join(adapter_dir, 'adapter_model.safetensors'), tensors, dtype,
                      metadata={'format': 'pt'})


# ---------------------------------------------------------------------------------------------
# model
# ---------------------------------------------------------------------------------------------

class LlamaModel:
    def __init__(self, raw_config, weights):
        """raw_config: config.json dict; weights: {HF name: float64 array or tensor}."""
        self.raw_config = raw_config
        self.cfg = cfg = normalize_config(raw_config)
        self.w = {k: torch.as_tensor(np.asarray(v, dtype=np.float64)) for k, v in weights.items()}
        self.inv_freq = rope_inv_freq(cfg)
        # One inverse-frequency vector per layer, or None for a layer without RoPE.
        self.layer_inv_freq = [None if r is None else rope_inv_freq(cfg, r[0], r[1]) for r in cfg['layer_rope']]
        self._check_weights()

    def _check_weights(self):
        c = self.cfg
        H, I, V, D = c['hidden_size'], c['intermediate_size'], c['vocab_size'], c['head_dim']
        nh, nkv = c['num_attention_heads'], c['num_key_value_heads']
        out_dim = {'q_proj': nh * D, 'k_proj': nkv * D, 'v_proj': nkv * D, 'o_proj': H,
                   'gate_proj': I, 'up_proj': I, 'down_proj': H}
        in_dim = {'q_proj': H, 'k_proj': H, 'v_proj': H, 'o_proj': nh * D,
                  'gate_proj': H, 'up_proj': H, 'down_proj': I}
        expect = {'model.embed_tokens.weight': (V, H), 'model.norm.weight': (H,)}
        if not c['tie_word_embeddings']:
            expect['lm_head.weight'] = (V, H)
        for i in range(c['num_hidden_layers']):
            p = f'model.layers.{i}.'
            expect[p + 'input_layernorm.weight'] = (H,)
            expect[p + 'post_attention_layernorm.weight'] = (H,)
            if c['qk_norm']:
                expect[p + 'self_attn.q_norm.weight'] = (D,)
                expect[p + 'self_attn.k_norm.weight'] = (D,)
            if c['gemma']:
                expect[p + 'pre_feedforward_layernorm.weight'] = (H,)
                expect[p + 'post_feedforward_layernorm.weight'] = (H,)
            for proj in PROJS:
                q = f'{p}{PROJ_BLOCK[proj]}.{proj}.'
                expect[q + 'weight'] = (out_dim[proj], in_dim[proj])
                if c['bias'][proj]:
                    expect[q + 'bias'] = (out_dim[proj],)
        for name, shape in expect.items():
            if name not in self.w:
                raise ValueError(f'missing weight {name}')
            if tuple(self.w[name].shape) != shape:
                raise ValueError(f'{name}: shape {tuple(self.w[name].shape)}, expected {shape}')
        extra = set(self.w) - set(expect)
        if c['tie_word_embeddings']:
            extra.discard('lm_head.weight')  # HF ties it to embed_tokens regardless
        extra = {k for k in extra if 'rotary_emb.inv_freq' not in k}
        if extra:
            raise ValueError(f'unexpected weights: {sorted(extra)[:5]}')
        self.in_dim, self.out_dim = in_dim, out_dim

    def lm_head(self):
        if self.cfg['tie_word_embeddings']:
            return self.w['model.embed_tokens.weight']
        return self.w['lm_head.weight']

    def rope(self, T, inv_freq=None):
        inv_freq = self.inv_freq if inv_freq is None else inv_freq
        pos = torch.arange(T, dtype=torch.float64)
        freqs = pos[:, None] * inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()

    def linear(self, x, layer, proj, adapter):
        name = f'model.layers.{layer}.{PROJ_BLOCK[proj]}.{proj}.'
        y = x @ self.w[name + 'weight'].T
        if self.cfg['bias'][proj]:
            y = y + self.w[name + 'bias']
        if adapter is not None:
            ab = adapter.pair(layer, proj)
            if ab is not None:
                a, b = ab
                y = y + adapter.scale * ((x @ a.T) @ b.T)
        return y

    def forward(self, ids, adapter=None, return_hidden=False):
        """ids: [B, T] (or [T]) ints -> logits [B, T, V] float64."""
        c = self.cfg
        ids = torch.as_tensor(ids, dtype=torch.long)
        if ids.dim() == 1:
            ids = ids[None]
        if int(ids.min()) < 0 or int(ids.max()) >= c['vocab_size']:
            raise ValueError('token id out of range')
        if adapter is not None:
            for key in adapter.tensors:
                if parse_peft_key(key)[0] >= c['num_hidden_layers']:
                    raise ValueError(f'adapter tensor {key} names a layer the model does not have')
        B, T = ids.shape
        nh, nkv, D = c['num_attention_heads'], c['num_key_value_heads'], c['head_dim']
        eps = c['rms_norm_eps']
        gemma = c['gemma']
        norm = gemma_rms_norm if gemma else rms_norm
        qi = torch.arange(T)[:, None]
        kj = torch.arange(T)[None, :]
        x = self.w['model.embed_tokens.weight'][ids]
        if gemma:
            x = x * math.sqrt(c['hidden_size'])  # Gemma3TextScaledWordEmbedding, float64 here
        for i in range(c['num_hidden_layers']):
            p = f'model.layers.{i}.'
            # Causal, and with a sliding window W only keys j > i - W (transformers' sliding_window_overlay).
            allowed = kj <= qi
            if c['layer_window'][i]:
                allowed = allowed & (kj > qi - c['layer_window'][i])
            mask = torch.zeros(T, T).masked_fill(~allowed, float('-inf'))
            h = norm(x, self.w[p + 'input_layernorm.weight'], eps)
            q = self.linear(h, i, 'q_proj', adapter).view(B, T, nh, D)
            k = self.linear(h, i, 'k_proj', adapter).view(B, T, nkv, D)
            v = self.linear(h, i, 'v_proj', adapter).view(B, T, nkv, D).transpose(1, 2)
            if c['qk_norm']:
                q = norm(q, self.w[p + 'self_attn.q_norm.weight'], eps)
                k = norm(k, self.w[p + 'self_attn.k_norm.weight'], eps)
            q, k = q.transpose(1, 2), k.transpose(1, 2)
            if self.layer_inv_freq[i] is not None:
                cos, sin = self.rope(T, self.layer_inv_freq[i])
                q = q * cos + rotate_half(q) * sin
                k = k * cos + rotate_half(k) * sin
            rep = nh // nkv
            k = k.repeat_interleave(rep, dim=1)  # query head j uses kv head j // rep (HF repeat_kv)
            v = v.repeat_interleave(rep, dim=1)
            if gemma:
                scores = (q @ k.transpose(-1, -2)) * c['attn_scale'] + mask
            else:
                scores = q @ k.transpose(-1, -2) / math.sqrt(D) + mask
            probs = torch.softmax(scores, dim=-1)
            o = self.linear((probs @ v).transpose(1, 2).reshape(B, T, nh * D), i, 'o_proj', adapter)
            if gemma:
                x = x + norm(o, self.w[p + 'post_attention_layernorm.weight'], eps)
                h = norm(x, self.w[p + 'pre_feedforward_layernorm.weight'], eps)
            else:
                x = x + o
                h = norm(x, self.w[p + 'post_attention_layernorm.weight'], eps)
            g = self.linear(h, i, 'gate_proj', adapter)
            u = self.linear(h, i, 'up_proj', adapter)
            act = torch.nn.functional.gelu(g, approximate='tanh') if gemma else torch.nn.functional.silu(g)
            m = self.linear(act * u, i, 'down_proj', adapter)
            x = x + (norm(m, self.w[p + 'post_feedforward_layernorm.weight'], eps) if gemma else m)
        x = norm(x, self.w['model.norm.weight'], eps)
        logits = x @ self.lm_head().T
        return (logits, x) if return_hidden else logits

    def merged(self, adapter):
        """A copy with W += scale * B A folded into every adapted projection."""
        w = {k: v.clone() for k, v in self.w.items()}
        for key in adapter.tensors:
            layer, proj, which = parse_peft_key(key)
            if which != 'A':
                continue
            a, b = adapter.pair(layer, proj)
            name = f'model.layers.{layer}.{PROJ_BLOCK[proj]}.{proj}.weight'
            w[name] = w[name] + adapter.scale * (b @ a)
        return LlamaModel(self.raw_config, {k: v.numpy() for k, v in w.items()})


def load_model(model_dir):
    with open(os.path.join(model_dir, 'config.json')) as f:
        cfg = json.load(f)
    return LlamaModel(cfg, read_model_weights(model_dir))


# ---------------------------------------------------------------------------------------------
# loss, gradients, training
# ---------------------------------------------------------------------------------------------

def causal_lm_loss(logits, labels):
    """HF causal-LM loss: logits[:, :-1] predict labels[:, 1:]; -100 ignored; mean over counted."""
    labels = torch.as_tensor(labels, dtype=torch.long)
    if labels.dim() == 1:
        labels = labels[None]
    V = logits.shape[-1]
    shift_logits = logits[:, :-1, :].reshape(-1, V)
    shift_labels = labels[:, 1:].reshape(-1)
    return torch.nn.functional.cross_entropy(shift_logits, shift_labels, ignore_index=-100,
                                             reduction='mean')


def trainable_copy(adapter):
    tensors = {k: adapter.tensors[k].detach().clone().requires_grad_(True) for k in adapter.keys()}
    return adapter.with_tensors(tensors)


def loss_and_grads(model, adapter, ids, labels):
    """-> (loss float, {peft key: float64 tensor gradient}) for every adapter tensor."""
    live = trainable_copy(adapter)
    loss = causal_lm_loss(model.forward(ids, live), labels)
    loss.backward()
    return float(loss), {k: live.tensors[k].grad.detach().clone() for k in live.keys()}


def train(model, adapter, ids, labels, lr, betas, eps, weight_decay, max_grad_norm, steps):
    """AdamW on the LoRA tensors only, clip_grad_norm_ over all of them, same batch every step.
    Returns (losses before each update, total grad norms before clipping, final adapter)."""
    live = trainable_copy(adapter)
    params = [live.tensors[k] for k in live.keys()]
    opt = torch.optim.AdamW(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
    losses, norms = [], []
    for _ in range(steps):
        opt.zero_grad()
        loss = causal_lm_loss(model.forward(ids, live), labels)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
        losses.append(float(loss))
        norms.append(float(norm))
        opt.step()
    final = adapter.with_tensors({k: v.detach().clone() for k, v in live.tensors.items()})
    return losses, norms, final


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------

def _parse_int_list(s):
    return [int(t) for t in s.replace(' ', '').split(',') if t != '']


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    f = sub.add_parser('forward', help='logits of one sequence')
    f.add_argument('--model', required=True)
    f.add_argument('--adapter')
    f.add_argument('--ids', required=True, help='comma-separated token ids')
    f.add_argument('--json', action='store_true', help='accepted for parity with clora; output is JSON')
    g = sub.add_parser('grad', help='loss and LoRA gradients of one sequence')
    g.add_argument('--model', required=True)
    g.add_argument('--adapter', required=True)
    g.add_argument('--ids', required=True)
    g.add_argument('--labels', help='comma-separated labels (-100 ignored; use --labels=-100,...); '
                                    'default: the ids')
    g.add_argument('--json', action='store_true', help='accepted for parity with clora; output is JSON')
    args = ap.parse_args(argv)
    model = load_model(args.model)
    ids = _parse_int_list(args.ids)
    if args.cmd == 'forward':
        adapter = load_adapter(args.adapter) if args.adapter else None
        with torch.no_grad():
            logits = model.forward([ids], adapter)[0]
        out = {'logits': logits.tolist()}
    else:
        labels = _parse_int_list(args.labels) if args.labels else list(ids)
        if len(labels) != len(ids):
            raise SystemExit('--labels must have as many entries as --ids')
        loss, grads = loss_and_grads(model, load_adapter(args.adapter), [ids], [labels])
        out = {'loss': loss, 'grads': {k: v.reshape(-1).tolist() for k, v in grads.items()}}
    json.dump(out, sys.stdout, separators=(',', ':'))
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
