#!/usr/bin/python3
"""Writes the whole-model oracle fixtures to test/fixtures/oracle/<name>/ (deterministic).

    /usr/bin/python3 scripts/oracle/make_fixtures.py [--out DIR] [--only NAME ...]

Each fixture directory holds
    model/          config.json + weights (F32 sharded / BF16 / F16)
    adapter/        PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors, F32)
    expected.json   float64 reference computed by torch_llama.py from the weights as stored
"""

import argparse
import json
import math
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_llama as tl  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO, 'test', 'fixtures', 'oracle')

TORCH_DTYPE_NAME = {'F32': 'float32', 'F16': 'float16', 'BF16': 'bfloat16'}


# ---------------------------------------------------------------------------------------------
# generators shared with check_cli.py
# ---------------------------------------------------------------------------------------------

ARCH_NAMES = {'llama': 'LlamaForCausalLM', 'qwen2': 'Qwen2ForCausalLM', 'qwen3': 'Qwen3ForCausalLM',
              'gemma3_text': 'Gemma3ForCausalLM', 'smollm3': 'SmolLM3ForCausalLM'}


def hf_config(spec):
    """spec: dict with arch (a model_type: 'llama' | 'qwen2' | 'qwen3' | 'gemma3_text' | 'smollm3'), sizes and
    options -> config.json dict. `extra` entries are copied in last (Gemma's window and pattern, SmolLM3's
    no_rope_layers, ...)."""
    arch = spec['arch']
    H, nh = spec['hidden'], spec['heads']
    cfg = {
        'architectures': [ARCH_NAMES[arch]],
        'attention_dropout': 0.0,
        'bos_token_id': 1,
        'eos_token_id': 2,
        'hidden_act': 'silu',
        'hidden_size': H,
        'initializer_range': 0.02,
        'intermediate_size': spec['intermediate'],
        'max_position_embeddings': spec.get('max_pos', 128),
        'model_type': arch,
        'num_attention_heads': nh,
        'num_hidden_layers': spec['layers'],
        'num_key_value_heads': spec['kv_heads'],
        'rms_norm_eps': spec['eps'],
        'rope_scaling': spec.get('rope_scaling'),
        'rope_theta': spec['rope_theta'],
        'tie_word_embeddings': spec['tied'],
        'torch_dtype': TORCH_DTYPE_NAME[spec['dtype']],
        'use_cache': True,
        'vocab_size': spec['vocab'],
    }
    if spec.get('head_dim') is not None:
        cfg['head_dim'] = spec['head_dim']
    if arch in ('llama', 'smollm3'):
        cfg['attention_bias'] = bool(spec.get('attention_bias', False))
        cfg['mlp_bias'] = bool(spec.get('mlp_bias', False))
        cfg['pretraining_tp'] = 1
    elif arch in ('qwen2', 'qwen3'):
        cfg['max_window_layers'] = spec['layers']
        cfg['sliding_window'] = cfg['max_position_embeddings']
        cfg['use_sliding_window'] = False
        if arch == 'qwen3':
            cfg['attention_bias'] = False
    else:  # Gemma 3 text
        del cfg['hidden_act']
        cfg['hidden_activation'] = 'gelu_pytorch_tanh'
        cfg['attention_bias'] = False
        cfg['attn_logit_softcapping'] = None
        cfg['final_logit_softcapping'] = None
        cfg['pad_token_id'] = 0
    cfg.update(spec.get('extra', {}))
    return dict(sorted(cfg.items()))


def random_weights(cfg, rng, head_gain=1.5):
    """float64 weights in HF names: projections ~ N(0, 1/in), norms ~ 1 + N(0, 0.1^2),
    embeddings and lm_head ~ N(0, head_gain^2 / hidden) so that logits have std ~ head_gain."""
    c = tl.normalize_config(cfg)
    H, I, V, D = c['hidden_size'], c['intermediate_size'], c['vocab_size'], c['head_dim']
    embed_std = lm_head_std = head_gain / math.sqrt(H)
    nh, nkv = c['num_attention_heads'], c['num_key_value_heads']
    shapes = {'q_proj': (nh * D, H), 'k_proj': (nkv * D, H), 'v_proj': (nkv * D, H),
              'o_proj': (H, nh * D), 'gate_proj': (I, H), 'up_proj': (I, H), 'down_proj': (H, I)}
    w = {'model.embed_tokens.weight': rng.normal(0, embed_std, (V, H))}
    # Gemma's norms scale by (1 + w): the same spread around 1 comes from w ~ N(0, 0.1^2).
    one = 0 if c['gemma'] else 1
    for i in range(c['num_hidden_layers']):
        p = f'model.layers.{i}.'
        w[p + 'input_layernorm.weight'] = one + rng.normal(0, 0.1, H)
        for proj in tl.PROJS:
            out_f, in_f = shapes[proj]
            name = f'{p}{tl.PROJ_BLOCK[proj]}.{proj}.'
            w[name + 'weight'] = rng.normal(0, 1 / math.sqrt(in_f), (out_f, in_f))
            if c['bias'][proj]:
                w[name + 'bias'] = rng.normal(0, 0.1, out_f)
            if proj == 'o_proj':
                w[p + 'post_attention_layernorm.weight'] = one + rng.normal(0, 0.1, H)
        if c['qk_norm']:
            w[p + 'self_attn.q_norm.weight'] = one + rng.normal(0, 0.1, D)
            w[p + 'self_attn.k_norm.weight'] = one + rng.normal(0, 0.1, D)
        if c['gemma']:
            w[p + 'pre_feedforward_layernorm.weight'] = one + rng.normal(0, 0.1, H)
            w[p + 'post_feedforward_layernorm.weight'] = one + rng.normal(0, 0.1, H)
    w['model.norm.weight'] = one + rng.normal(0, 0.1, H)
    if not c['tie_word_embeddings']:
        w['lm_head.weight'] = rng.normal(0, lm_head_std, (V, H))
    return w


def random_adapter(cfg, rng, r, alpha, targets, use_rslora=False, delta=0.2):
    """A ~ N(0, 1/in); B ~ N(0, s^2) with s chosen so scale * x A^T B^T has entries ~ delta."""
    c = tl.normalize_config(cfg)
    H, I, D = c['hidden_size'], c['intermediate_size'], c['head_dim']
    nh, nkv = c['num_attention_heads'], c['num_key_value_heads']
    dims = {'q_proj': (nh * D, H), 'k_proj': (nkv * D, H), 'v_proj': (nkv * D, H),
            'o_proj': (H, nh * D), 'gate_proj': (I, H), 'up_proj': (I, H), 'down_proj': (H, I)}
    scale = alpha / (math.sqrt(r) if use_rslora else r)
    b_std = delta / (scale * math.sqrt(r))
    tensors = {}
    for i in range(c['num_hidden_layers']):
        for proj in tl.PROJS:
            if proj not in targets:
                continue
            out_f, in_f = dims[proj]
            tensors[tl.peft_key(i, proj, 'A')] = rng.normal(0, 1 / math.sqrt(in_f), (r, in_f))
            tensors[tl.peft_key(i, proj, 'B')] = rng.normal(0, b_std, (out_f, r))
    return tensors


def write_model(model_dir, cfg, weights, dtype, shards=1):
    """config.json + model.safetensors, or `shards` files plus model.safetensors.index.json
    (split by layer: embeddings and the first layers first, final norm / lm_head last)."""
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, 'config.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
        f.write('\n')
    if shards == 1:
        tl.write_safetensors(os.path.join(model_dir, 'model.safetensors'), weights, dtype,
                             metadata={'format': 'pt'})
        return
    L = cfg['num_hidden_layers']

    def shard_of(name):
        if name.startswith('model.layers.'):
            return min(shards - 1, int(name.split('.')[2]) * shards // L)
        return 0 if name == 'model.embed_tokens.weight' else shards - 1

    files = [f'model-{s + 1:05d}-of-{shards:05d}.safetensors' for s in range(shards)]
    weight_map, total = {}, 0
    for s in range(shards):
        part = {k: v for k, v in weights.items() if shard_of(k) == s}
        total += tl.write_safetensors(os.path.join(model_dir, files[s]), part, dtype,
                                      metadata={'format': 'pt'})
        weight_map.update({k: files[s] for k in part})
    with open(os.path.join(model_dir, 'model.safetensors.index.json'), 'w') as f:
        json.dump({'metadata': {'total_size': total},
                   'weight_map': dict(sorted(weight_map.items()))}, f, indent=2)
        f.write('\n')


def write_model_and_adapter(root, spec, seed):
    """Generates, writes and reloads (as stored) a model and adapter. -> (model, adapter)."""
    rng = np.random.default_rng(seed)
    cfg = hf_config(spec)
    weights = random_weights(cfg, rng)
    write_model(os.path.join(root, 'model'), cfg, weights, spec['dtype'], spec.get('shards', 1))
    lora = spec['lora']
    tensors = random_adapter(cfg, rng, lora['r'], lora['alpha'], lora['targets'],
                             lora.get('use_rslora', False))
    tl.write_adapter(os.path.join(root, 'adapter'), tensors, lora['r'], lora['alpha'],
                     lora['targets'], lora.get('use_rslora', False))
    return tl.load_model(os.path.join(root, 'model')), tl.load_adapter(os.path.join(root, 'adapter'))


# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------

FIXTURES = {
    'llama-gqa': {
        'description': 'LlamaForCausalLM, 2 layers, hidden 48, 6 query heads sharing 2 kv heads '
                       '(GQA, head_dim 8 from hidden/heads), intermediate 88, vocab 101, untied '
                       'lm_head, F32 weights sharded over 2 files with model.safetensors.index.json; '
                       'LoRA r=4 alpha=8 on all seven projections; gradient clipping active.',
        'seed': 1001,
        'spec': dict(arch='llama', hidden=48, intermediate=88, layers=2, heads=6, kv_heads=2,
                     vocab=101, tied=False, eps=1e-5, rope_theta=10000.0, dtype='F32', shards=2,
                     max_pos=64,
                     lora=dict(r=4, alpha=8, targets=['q_proj', 'k_proj', 'v_proj', 'o_proj',
                                                      'gate_proj', 'up_proj', 'down_proj'])),
        'max_grad_norm': 0.5,
    },
    'qwen2-mqa-tied': {
        'description': 'Qwen2ForCausalLM, 2 layers, hidden 40, 5 query heads sharing 1 kv head '
                       '(MQA, head_dim 8), q/k/v biases, intermediate 72, vocab 83, tied embeddings '
                       '(no lm_head.weight), rms_norm_eps 1e-6, rope_theta 1e6, BF16 weights in one '
                       'file; LoRA r=3 alpha=6 on q_proj, v_proj, down_proj; clipping inactive.',
        'seed': 2002,
        'spec': dict(arch='qwen2', hidden=40, intermediate=72, layers=2, heads=5, kv_heads=1,
                     vocab=83, tied=True, eps=1e-6, rope_theta=1000000.0, dtype='BF16', max_pos=64,
                     lora=dict(r=3, alpha=6, targets=['q_proj', 'v_proj', 'down_proj'])),
        'max_grad_norm': 1e9,
    },
    'llama3-f16': {
        'description': 'LlamaForCausalLM, 2 layers, hidden 36, 5 heads (MHA) with explicit head_dim '
                       '12 (q_proj is [60, 36], o_proj [36, 60]), intermediate 60, vocab 67, tied '
                       'embeddings, llama3 rope_scaling (factor 8, low 1, high 4, original 64: the '
                       '6 frequencies hit the kept, smoothed and divided branches), rope_theta 5e5, '
                       'F16 weights; LoRA r=2 alpha=16 on o_proj, gate_proj, up_proj.',
        'seed': 3003,
        'spec': dict(arch='llama', hidden=36, intermediate=60, layers=2, heads=5, kv_heads=5,
                     head_dim=12, vocab=67, tied=True, eps=1e-5, rope_theta=500000.0, dtype='F16',
                     max_pos=128,
                     rope_scaling={'factor': 8.0, 'high_freq_factor': 4.0, 'low_freq_factor': 1.0,
                                   'original_max_position_embeddings': 64, 'rope_type': 'llama3'},
                     lora=dict(r=2, alpha=16, targets=['o_proj', 'gate_proj', 'up_proj'])),
        'max_grad_norm': 1.0,
    },
}

FIXTURES.update({
    'qwen3-qknorm': {
        'description': 'Qwen3ForCausalLM, 2 layers, hidden 32, 4 query heads sharing 2 kv heads with explicit '
                       'head_dim 12 (hidden/heads is 8: q_proj is [48, 32]), per-head q_norm/k_norm [12] before '
                       'RoPE, no q/k/v bias, intermediate 56, vocab 97, tied embeddings, rope_theta 1e6, BF16 '
                       'weights; LoRA r=4 alpha=8 on q_proj, k_proj, v_proj, o_proj, gate_proj.',
        'seed': 4004,
        'spec': dict(arch='qwen3', hidden=32, intermediate=56, layers=2, heads=4, kv_heads=2, head_dim=12,
                     vocab=97, tied=True, eps=1e-6, rope_theta=1000000.0, dtype='BF16', max_pos=64,
                     lora=dict(r=4, alpha=8, targets=['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj'])),
        'max_grad_norm': 1.0,
    },
    'gemma3-sliding': {
        'description': 'Gemma3ForCausalLM (text), 2 layers from sliding_window_pattern 2: layer 0 slides (window 3 '
                       'over 7 tokens, RoPE base rope_local_base_freq 1e4, no scaling), layer 1 is global (rope_theta '
                       '1e6 with linear rope_scaling 2); hidden 48, 3 query heads sharing 1 kv head, head_dim 8, '
                       'query_pre_attn_scalar 10, (1 + w) RMSNorms (four per layer, q/k norms), embeddings scaled by '
                       'sqrt(48), GELU-tanh gated MLP of 64, vocab 89, tied, F16 weights; LoRA r=4 alpha=4 on all seven '
                       'projections.',
        'seed': 5005,
        'spec': dict(arch='gemma3_text', hidden=48, intermediate=64, layers=2, heads=3, kv_heads=1, head_dim=8,
                     vocab=89, tied=True, eps=1e-6, rope_theta=1000000.0, dtype='F16', max_pos=64,
                     rope_scaling={'rope_type': 'linear', 'factor': 2.0},
                     extra={'sliding_window': 3, 'sliding_window_pattern': 2, 'rope_local_base_freq': 10000.0,
                            'query_pre_attn_scalar': 10},
                     lora=dict(r=4, alpha=4, targets=['q_proj', 'k_proj', 'v_proj', 'o_proj',
                                                      'gate_proj', 'up_proj', 'down_proj'])),
        'max_grad_norm': 1.0,
    },
    'smollm3-nope': {
        'description': 'SmolLM3ForCausalLM, 2 layers with no_rope_layers [1, 0] (layer 1 applies no RoPE), hidden 40, '
                       '5 query heads sharing 1 kv head (head_dim 8), intermediate 72, vocab 83, tied embeddings, '
                       'rope_theta 5e6, F32 weights; LoRA r=2 alpha=4 on q_proj, k_proj, up_proj, down_proj.',
        'seed': 6006,
        'spec': dict(arch='smollm3', hidden=40, intermediate=72, layers=2, heads=5, kv_heads=1,
                     vocab=83, tied=True, eps=1e-6, rope_theta=5000000.0, dtype='F32', max_pos=64,
                     extra={'no_rope_layers': [1, 0], 'no_rope_layer_interval': 4, 'use_sliding_window': False,
                            'sliding_window': None},
                     lora=dict(r=2, alpha=4, targets=['q_proj', 'k_proj', 'up_proj', 'down_proj'])),
        'max_grad_norm': 1.0,
    },
})

TRAIN = dict(lr=1e-2, betas=[0.9, 0.999], eps=1e-8, weight_decay=0.01, steps=10)
B, T = 2, 7


def make_batch(vocab, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, size=(B, T))
    labels = ids.copy()
    labels[0, 0] = -100   # never counted anyway (no logit predicts position 0)
    labels[0, 3] = -100   # drops the prediction made at row 0, position 2
    labels[1, 6] = -100   # drops the prediction made at row 1, position 5 (last counted one)
    return ids.tolist(), labels.tolist()


def g10(x):
    """float rounded to 10 significant digits (shortest repr afterwards)."""
    return float(f'{x:.10g}')


def rounded(obj):
    if isinstance(obj, torch.Tensor):
        obj = obj.tolist()
    if isinstance(obj, float):
        return g10(obj)
    if isinstance(obj, (list, tuple)):
        return [rounded(v) for v in obj]
    if isinstance(obj, dict):
        return {k: rounded(v) for k, v in obj.items()}
    return obj


def dump_expected(path, expected):
    """One top-level key per line, compact values."""
    lines = [f'{json.dumps(k)}:{json.dumps(v, separators=(",", ":"))}' for k, v in expected.items()]
    with open(path, 'w') as f:
        f.write('{\n' + ',\n'.join(lines) + '\n}\n')


def softmax_stats(logits):
    p = torch.softmax(logits, -1)
    return float(p.max(-1).values.mean()), float(logits.std())


def check_oracle_consistency(model, adapter, ids, labels, logits_base, logits, loss):
    """Cheap invariants asserted for every fixture."""
    # loss recomputed from logits with an explicit loop
    total, count = 0.0, 0
    lp = torch.log_softmax(logits, -1)
    for b in range(len(ids)):
        for t in range(len(ids[b]) - 1):
            y = labels[b][t + 1]
            if y != -100:
                total -= float(lp[b, t, y])
                count += 1
    assert abs(total / count - loss) < 1e-12 * max(1, abs(loss)), 'loss from logits'
    # B = 0 gives the base logits exactly
    zero_b = adapter.with_tensors({k: (torch.zeros_like(v) if '.lora_B.' in k else v)
                                   for k, v in adapter.tensors.items()})
    with torch.no_grad():
        assert torch.equal(model.forward(ids, zero_b), logits_base), 'B=0 logits != base'
        # folding scale * B A into the base weights gives the adapter logits
        merged = model.merged(adapter).forward(ids)
    assert float((merged - logits).abs().max()) < 1e-10, 'merged-weight logits'
    assert float((logits - logits_base).abs().max()) > 1e-2, 'adapter has no visible effect'


def make_fixture(out_root, name, fx):
    root = os.path.join(out_root, name)
    if os.path.exists(root):
        shutil.rmtree(root)
    spec = fx['spec']
    model, adapter = write_model_and_adapter(root, spec, fx['seed'])
    ids, labels = make_batch(spec['vocab'], fx['seed'] + 1)
    with torch.no_grad():
        logits_base = model.forward(ids)
        logits = model.forward(ids, adapter)
    loss, grads = tl.loss_and_grads(model, adapter, ids, labels)
    check_oracle_consistency(model, adapter, ids, labels, logits_base, logits, loss)
    losses, norms, _ = tl.train(model, adapter, ids, labels, TRAIN['lr'], TRAIN['betas'],
                                TRAIN['eps'], TRAIN['weight_decay'], fx['max_grad_norm'],
                                TRAIN['steps'])
    assert abs(losses[0] - loss) < 1e-12, 'first training loss != loss'
    counted = sum(1 for row in labels for y in row[1:] if y != -100)
    expected = {
        'description': fx['description'],
        'ids': ids,
        'labels': labels,
        'lora_scale': adapter.scale,
        'tokens_counted': counted,
        'logits_base': rounded(logits_base),
        'logits': rounded(logits),
        'loss': g10(loss),
        'grads': {k: rounded(grads[k].reshape(-1)) for k in sorted(grads)},
        'train': {
            'lr': TRAIN['lr'], 'betas': TRAIN['betas'], 'eps': TRAIN['eps'],
            'weight_decay': TRAIN['weight_decay'], 'max_grad_norm': fx['max_grad_norm'],
            'steps': TRAIN['steps'],
            'losses': rounded(losses),
            'grad_norms': rounded(norms),
        },
    }
    dump_expected(os.path.join(root, 'expected.json'), expected)
    pmax, lstd = softmax_stats(logits)
    clipped = sum(1 for n in norms if n > fx['max_grad_norm'])
    print(f'{name}: loss {loss:.6f} -> {losses[-1]:.6f}, logits std {lstd:.3f}, mean max prob '
          f'{pmax:.3f}, grad norm {norms[0]:.4f}..{norms[-1]:.4f}, clipped {clipped}/{len(norms)} steps, '
          f'|logits - base| max {float((logits - logits_base).abs().max()):.3f}')
    return root


def dir_size(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=DEFAULT_OUT)
    ap.add_argument('--only', nargs='*', choices=sorted(FIXTURES))
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    total = 0
    for name in args.only or FIXTURES:
        root = make_fixture(args.out, name, FIXTURES[name])
        size = dir_size(root)
        total += size
        print(f'  {os.path.relpath(root, REPO)}: {size / 1024:.1f} KiB')
    print(f'total {total / 1024:.1f} KiB')


if __name__ == '__main__':
    main()
