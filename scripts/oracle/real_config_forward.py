#!/usr/bin/python3
"""Real-size check of `clora forward`: random BF16 checkpoints with the real config.json of a model
(exact shapes and Hugging Face tensor names), and the CLI's logits against the float64 oracle.
Models: smollm2-360m (its config is written here), qwen2.5-0.5b, qwen3-0.6b, gemma-3-270m (their
config.json from test/fixtures/model/; the last two need an oracle that knows their architecture).

    /usr/bin/python3 scripts/oracle/real_config_forward.py write --model smollm2-360m --out /tmp/real
    /usr/bin/python3 scripts/oracle/real_config_forward.py check --model smollm2-360m --out /tmp/real \
        [--cli "node bin/clora.js"] [--ids 3,17,5,...]

`write` streams the checkpoint tensor by tensor (numpy float32 draws rounded to BF16), so host memory
stays near the largest tensor; the files go to --out (outside the repository: they are 0.7 to 1 GB).
`check` runs `<cli> forward --model DIR --ids=... --json` (with the environment it is given, e.g.
CLORA_ADAPTER=lavapipe), times it, computes the logits with torch_llama.py (float64, an implementation
independent of the engine) and prints the relative error max|ours - ref| / max|ref| per position and
overall; exit 1 above 1e-4.

Weights: projections ~ N(0, 0.02^2) (the configs' initializer_range), norms ~ 1 + N(0, 0.05^2),
embedding ~ N(0, 0.02^2), biases ~ N(0, 0.02^2): logits of order one, as in a trained model.
"""

import argparse
import json
import os
import struct
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch_llama as tl  # noqa: E402
from check_cli import parse_json_stdout, rel_err, run_cli  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
TOL = 1e-4

# SmolLM2-360M's config.json as published (LlamaForCausalLM).
SMOLLM2_360M = {
    'architectures': ['LlamaForCausalLM'], 'attention_bias': False, 'attention_dropout': 0.0, 'bos_token_id': 1,
    'eos_token_id': 2, 'hidden_act': 'silu', 'hidden_size': 960, 'initializer_range': 0.02, 'intermediate_size': 2560,
    'is_llama_config': True, 'max_position_embeddings': 8192, 'mlp_bias': False, 'model_type': 'llama',
    'num_attention_heads': 15, 'num_hidden_layers': 32, 'num_key_value_heads': 5, 'pad_token_id': 2,
    'pretraining_tp': 1, 'rms_norm_eps': 1e-05, 'rope_interleaved': False, 'rope_scaling': None,
    'rope_theta': 100000, 'tie_word_embeddings': True, 'torch_dtype': 'bfloat16', 'transformers_version': '4.42.3',
    'use_cache': True, 'vocab_size': 49152,
}


MODELS = ['smollm2-360m', 'qwen2.5-0.5b', 'qwen3-0.6b', 'gemma-3-270m']


def real_config(name):
    if name == 'smollm2-360m':
        return dict(SMOLLM2_360M)
    path = os.path.join(REPO, 'test', 'fixtures', 'model', f'{name}.config.json')
    if name not in MODELS or not os.path.exists(path):
        raise SystemExit(f'unknown model {name}: one of {", ".join(MODELS)} (test/fixtures/model/<name>.config.json)')
    with open(path) as f:
        return json.load(f)


def tensor_shapes(raw):
    """{HF name: shape} of a Llama / Qwen2 / Qwen3 / Gemma 3 (text) checkpoint, the tied lm_head omitted."""
    mt = raw['model_type']
    H, I, V = raw['hidden_size'], raw['intermediate_size'], raw['vocab_size']
    nh, nkv = raw['num_attention_heads'], raw['num_key_value_heads']
    D = raw.get('head_dim') or H // nh
    if mt in ('llama', 'qwen2'):
        c = tl.normalize_config(raw)
        bias = c['bias']
    else:
        c = {'tie_word_embeddings': raw.get('tie_word_embeddings', True), 'num_hidden_layers': raw['num_hidden_layers']}
        attn = bool(raw.get('attention_bias', False))
        bias = {p: attn and tl.PROJ_BLOCK[p] == 'self_attn' for p in tl.PROJ_BLOCK}
    # Per-layer norms beyond Llama's two: Qwen3's q/k norms, Gemma 3's q/k norms and sandwich norms.
    head_norms = ['self_attn.q_norm.weight', 'self_attn.k_norm.weight'] if mt in ('qwen3', 'gemma3_text') else []
    sandwich = ['pre_feedforward_layernorm.weight', 'post_feedforward_layernorm.weight'] if mt == 'gemma3_text' else []
    dims = {'q_proj': (nh * D, H), 'k_proj': (nkv * D, H), 'v_proj': (nkv * D, H), 'o_proj': (H, nh * D),
            'gate_proj': (I, H), 'up_proj': (I, H), 'down_proj': (H, I)}
    shapes = {'model.embed_tokens.weight': (V, H), 'model.norm.weight': (H,)}
    if not c['tie_word_embeddings']:
        shapes['lm_head.weight'] = (V, H)
    for i in range(c['num_hidden_layers']):
        p = f'model.layers.{i}.'
        shapes[p + 'input_layernorm.weight'] = (H,)
        shapes[p + 'post_attention_layernorm.weight'] = (H,)
        for n in head_norms:
            shapes[p + n] = (D,)
        for n in sandwich:
            shapes[p + n] = (H,)
        for proj, shape in dims.items():
            q = f'{p}{tl.PROJ_BLOCK[proj]}.{proj}.'
            shapes[q + 'weight'] = shape
            if bias[proj]:
                shapes[q + 'bias'] = (shape[0],)
    return shapes


def draw(name, shape, rng, gemma=False):
    if name.endswith('norm.weight'):
        # Gemma's RMSNorm multiplies by 1 + w: its weights sit near 0 where Llama's sit near 1.
        return (0.0 if gemma else 1.0) + 0.05 * rng.standard_normal(shape, dtype=np.float32)
    return 0.02 * rng.standard_normal(shape, dtype=np.float32)


def write(name, out, seed):
    raw = real_config(name)
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    shapes = tensor_shapes(raw)
    header, offset = {}, 0
    for key in sorted(shapes):
        n = 2 * int(np.prod(shapes[key]))
        header[key] = {'dtype': 'BF16', 'shape': list(shapes[key]), 'data_offsets': [offset, offset + n]}
        offset += n
    hb = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hb += b' ' * ((8 - len(hb) % 8) % 8)
    rng = np.random.default_rng(seed)
    tmp = os.path.join(d, 'model.safetensors.tmp')
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(hb)))
        f.write(hb)
        for key in sorted(shapes):
            f.write(tl.f32_to_bf16_bits(draw(key, shapes[key], rng, raw['model_type'] == 'gemma3_text')).astype('<u2').tobytes())
    os.replace(tmp, os.path.join(d, 'model.safetensors'))
    with open(os.path.join(d, 'config.json'), 'w') as f:
        json.dump(raw, f, indent=2)
    print(f'{d}: {len(shapes)} tensors, {(offset + len(hb) + 8) / 2**20:.1f} MiB')


def check(name, out, cli, ids, timeout):
    d = os.path.join(out, name)
    t0 = time.time()
    got, cli_s = run_cli(cli, ['forward', '--model', d, '--ids=' + ','.join(map(str, ids)), '--json'], timeout)
    ours = np.asarray(got['logits'], dtype=np.float64)
    t1 = time.time()
    model = tl.load_model(d)
    ref = model.forward([ids])[0].numpy()
    ref_s = time.time() - t1
    per = [rel_err(ours[t], ref[t]) for t in range(len(ids))]
    overall = rel_err(ours, ref)
    print(json.dumps({'model': name, 'ids': ids, 'cli_seconds': round(cli_s, 1), 'torch_seconds': round(ref_s, 1),
                      'max_abs_ref': float(np.max(np.abs(ref))), 'rel_error': overall,
                      'rel_error_per_position': per, 'argmax_equal': bool((ours.argmax(-1) == ref.argmax(-1)).all()),
                      'wall_seconds': round(time.time() - t0, 1)}))
    return overall <= TOL


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('action', choices=['write', 'check'])
    ap.add_argument('--model', required=True, choices=MODELS)
    ap.add_argument('--out', required=True)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--cli', default='node bin/clora.js')
    ap.add_argument('--ids', default='1,15,2345,49000,7,15000,301,42')
    ap.add_argument('--timeout', type=int, default=3600)
    a = ap.parse_args()
    if a.action == 'write':
        write(a.model, a.out, a.seed)
        return 0
    ok = check(a.model, a.out, a.cli, [int(x) for x in a.ids.split(',')], a.timeout)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
