#!/usr/bin/python3
"""Acceptance check of the clora CLI against the float64 PyTorch oracle on freshly generated models.

    /usr/bin/python3 scripts/oracle/check_cli.py [--cli "node bin/clora.js"] [--keep DIR]
                                                 [--seed N] [--extra] [--only NAME ...]
    /usr/bin/python3 scripts/oracle/check_cli.py --self-test

Writes random models (not the committed fixtures) to a temporary directory, then for each one runs
    CLI forward --model M --ids=... --json                 (base model)
    CLI forward --model M --adapter A --ids=... --json     (with LoRA)
    CLI grad    --model M --adapter A --ids=... --labels=... --json
and compares with torch_llama.py. Relative error of a tensor = max|ours - ref| / max|ref|
(for the loss: |ours - ref| / |ref|). Fails (exit 1) when a logits or loss error exceeds 1e-4 or a
gradient error exceeds 1e-3, when a command fails, or when shapes / gradient keys differ.

--self-test checks the oracle itself (no CLI needed): safetensors round trips, the vectorised
forward against an independent loop implementation, loss from logits, B = 0, merged weights,
analytic gradients against float64 finite differences, clip + AdamW against the closed-form update,
and the torch_llama.py command line.
"""

import argparse
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch_llama as tl  # noqa: E402
import make_fixtures as mf  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
LOGITS_TOL, LOSS_TOL, GRAD_TOL = 1e-4, 1e-4, 1e-3

ATTN = ['q_proj', 'k_proj', 'v_proj', 'o_proj']
MLP = ['gate_proj', 'up_proj', 'down_proj']


# ---------------------------------------------------------------------------------------------
# random configurations
# ---------------------------------------------------------------------------------------------

# Fixed feature mix; the sizes are drawn from --seed. Every size is odd or at least not a
# multiple of 4 where the architecture allows it (head_dim must be even for RoPE).
TEMPLATES = [
    dict(name='llama-gqa-f32-untied', arch='llama', attn='gqa', dtype='F32', tied=False,
         targets=ATTN + MLP, shards=2),
    dict(name='qwen2-mqa-bf16-tied', arch='qwen2', attn='mqa', dtype='BF16', tied=True,
         targets=['q_proj', 'k_proj', 'v_proj']),
    dict(name='llama3rope-mqa-f16-tied-headdim', arch='llama', attn='mqa', dtype='F16', tied=True,
         targets=['o_proj'] + MLP, explicit_head_dim=True, rope='llama3'),
    dict(name='qwen2-gqa-f32-untied', arch='qwen2', attn='gqa', dtype='F32', tied=False,
         targets=['k_proj', 'v_proj', 'o_proj', 'down_proj']),
    dict(name='llama-mha-bf16-untied', arch='llama', attn='mha', dtype='BF16', tied=False,
         targets=['q_proj', 'up_proj'], shards=3),
    dict(name='qwen2-gqa-f16-tied', arch='qwen2', attn='gqa', dtype='F16', tied=True,
         targets=['gate_proj', 'v_proj']),
]
# Features outside the acceptance spec, enabled with --extra.
EXTRA_TEMPLATES = [
    dict(name='llama-bias-linearrope-rslora', arch='llama', attn='gqa', dtype='F32', tied=False,
         targets=ATTN + MLP, attention_bias=True, mlp_bias=True, rope='linear', use_rslora=True),
]


# The architectures with their own layer features (issue 18): drawn after the others so that adding them left
# the sizes of the earlier templates unchanged; run by default.
ARCH_TEMPLATES = [
    dict(name='qwen3-gqa-bf16-tied-qknorm', arch='qwen3', attn='gqa', dtype='BF16', tied=True,
         targets=ATTN + ['down_proj'], explicit_head_dim=True),
    dict(name='gemma3-mqa-f16-tied-sliding', arch='gemma3_text', attn='mqa', dtype='F16', tied=True,
         targets=ATTN + MLP, explicit_head_dim=True, rope='linear'),
    dict(name='smollm3-gqa-f32-tied-nope', arch='smollm3', attn='gqa', dtype='F32', tied=True,
         targets=['q_proj', 'k_proj', 'gate_proj', 'up_proj']),
]


def draw_arch_extra(tpl, spec, rng):
    """Gemma 3: a window shorter than the sequence, explicit layer_types with sliding and global layers, its own
    local RoPE base and query_pre_attn_scalar. SmolLM3: no_rope_layers with RoPE and NoPE layers."""
    L = spec['layers'] = max(spec['layers'], 2)
    if tpl['arch'] == 'gemma3_text':
        types = ['sliding_attention' if (i + int(rng.integers(0, 2))) % 2 == 0 else 'full_attention' for i in range(L)]
        types[0], types[-1] = 'sliding_attention', 'full_attention'
        spec['extra'] = {'sliding_window': int(rng.integers(2, spec['T'])), 'layer_types': types,
                         'rope_local_base_freq': 10000.0,
                         'query_pre_attn_scalar': int(rng.choice([16, 24, 256]))}
    elif tpl['arch'] == 'smollm3':
        flags = [int(rng.integers(0, 2)) for _ in range(L)]
        flags[0], flags[-1] = 1, 0
        spec['extra'] = {'no_rope_layers': flags, 'use_sliding_window': False, 'sliding_window': None}


def draw_spec(tpl, rng):
    D = int(rng.choice([6, 10, 14]))
    if tpl['attn'] == 'mqa':
        kv, heads = 1, int(rng.choice([3, 5, 7]))
    elif tpl['attn'] == 'gqa':
        kv, heads = [(3, 9), (3, 15), (5, 15), (2, 6)][int(rng.integers(0, 4))]
    else:
        kv = heads = int(rng.choice([3, 5]))
    hidden = heads * D
    head_dim = None
    if tpl.get('explicit_head_dim'):
        head_dim = D
        hidden = heads * D + int(rng.choice([-4, 4, 8]))  # hidden != heads * head_dim
    spec = dict(arch=tpl['arch'], hidden=hidden, heads=heads, kv_heads=kv, head_dim=head_dim,
                intermediate=int(rng.integers(20, 56)) * 2 + 1,
                layers=int(rng.integers(1, 4)), vocab=int(rng.integers(30, 70)) * 2 + 1,
                tied=tpl['tied'], dtype=tpl['dtype'], shards=tpl.get('shards', 1),
                eps=float(rng.choice([1e-5, 1e-6])),
                rope_theta=float(rng.choice([10000.0, 500000.0, 1000000.0])), max_pos=256,
                attention_bias=tpl.get('attention_bias', False), mlp_bias=tpl.get('mlp_bias', False))
    spec['layers'] = max(spec['layers'], spec['shards'])
    if tpl.get('rope') == 'llama3':
        spec['rope_scaling'] = {'factor': float(rng.choice([4.0, 8.0, 32.0])), 'low_freq_factor': 1.0,
                                'high_freq_factor': 4.0, 'original_max_position_embeddings':
                                int(rng.choice([32, 64, 128])), 'rope_type': 'llama3'}
    elif tpl.get('rope') == 'linear':
        spec['rope_scaling'] = {'factor': float(rng.choice([2.0, 4.0])), 'rope_type': 'linear'}
    r = int(rng.integers(1, 9))
    alpha = int(rng.choice([1, 3, 8, 16, 32]))
    spec['lora'] = dict(r=r, alpha=alpha, targets=tpl['targets'],
                        use_rslora=tpl.get('use_rslora', False))
    spec['T'] = int(rng.integers(5, 14))
    if tpl['arch'] in ('gemma3_text', 'smollm3'):
        draw_arch_extra(tpl, spec, rng)
    return spec


def make_case(root, tpl, rng, seed):
    spec = draw_spec(tpl, rng)
    model, adapter = mf.write_model_and_adapter(root, spec, seed)
    g = np.random.default_rng(seed + 7)
    ids = g.integers(0, spec['vocab'], size=spec['T']).tolist()
    labels = list(ids)
    labels[0] = -100
    labels[int(g.integers(2, spec['T']))] = -100
    return spec, model, adapter, ids, labels


def describe(spec, model):
    c = model.cfg
    rs = spec.get('rope_scaling')
    parts = [spec['arch'], f"L{c['num_hidden_layers']}", f"H{c['hidden_size']}",
             f"heads{c['num_attention_heads']}/kv{c['num_key_value_heads']}",
             f"hd{c['head_dim']}", f"I{c['intermediate_size']}", f"V{c['vocab_size']}",
             spec['dtype'], 'tied' if c['tie_word_embeddings'] else 'untied',
             f"r{spec['lora']['r']}a{spec['lora']['alpha']}" + ('rs' if spec['lora']['use_rslora'] else ''),
             f"T{spec['T']}"]
    if rs:
        parts.append(rs['rope_type'])
    return ' '.join(parts)


# ---------------------------------------------------------------------------------------------
# running the CLI
# ---------------------------------------------------------------------------------------------

class CliError(Exception):
    pass


def parse_json_stdout(out):
    try:
        return json.loads(out)
    except ValueError:
        pass
    for line in reversed(out.strip().splitlines()):
        line = line.strip()
        if line.startswith('{'):
            try:
                return json.loads(line)
            except ValueError:
                continue
    raise CliError('no JSON object on stdout: ' + out[-300:])


def run_cli(cli, args, timeout):
    cmd = shlex.split(cli) + args
    t0 = time.time()
    try:
        p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CliError(f'timed out after {timeout}s: {" ".join(cmd)}')
    except OSError as e:
        raise CliError(f'cannot run {" ".join(cmd)}: {e}')
    if p.returncode != 0:
        tail = '\n'.join(p.stderr.strip().splitlines()[-8:])
        raise CliError(f'exit {p.returncode}: {" ".join(cmd)}\n{tail}')
    return parse_json_stdout(p.stdout), time.time() - t0


def rel_err(ours, ref):
    ours = np.asarray(ours, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if ours.shape != ref.shape:
        raise CliError(f'shape {ours.shape} != reference {ref.shape}')
    if not np.all(np.isfinite(ours)):
        return float('inf')
    denom = float(np.max(np.abs(ref))) if ref.size else 0.0
    diff = float(np.max(np.abs(ours - ref))) if ref.size else 0.0
    return diff / denom if denom > 0 else diff


def check_case(cli, name, root, spec, model, adapter, ids, labels, timeout):
    mdir, adir = os.path.join(root, 'model'), os.path.join(root, 'adapter')
    ids_arg, labels_arg = ','.join(map(str, ids)), ','.join(map(str, labels))
    row = {'name': name, 'desc': describe(spec, model), 'problems': []}
    with torch.no_grad():
        ref_base = model.forward([ids])[0].numpy()
        ref_lora = model.forward([ids], adapter)[0].numpy()
    ref_loss, ref_grads = tl.loss_and_grads(model, adapter, [ids], [labels])

    def attempt(key, fn):
        try:
            row[key] = fn()
        except CliError as e:
            row[key] = None
            row['problems'].append(f'{key}: {e}')

    def fwd_base():
        out, _ = run_cli(cli, ['forward', '--model', mdir, f'--ids={ids_arg}', '--json'], timeout)
        return rel_err(out['logits'], ref_base)

    def fwd_lora():
        out, _ = run_cli(cli, ['forward', '--model', mdir, '--adapter', adir, f'--ids={ids_arg}',
                               '--json'], timeout)
        return rel_err(out['logits'], ref_lora)

    def grad():
        out, _ = run_cli(cli, ['grad', '--model', mdir, '--adapter', adir, f'--ids={ids_arg}',
                               f'--labels={labels_arg}', '--json'], timeout)
        loss = float(out['loss'])
        row['loss_err'] = abs(loss - ref_loss) / abs(ref_loss)
        got = out.get('grads', {})
        missing = sorted(set(ref_grads) - set(got))
        extra = sorted(set(got) - set(ref_grads))
        if missing or extra:
            raise CliError(f'grad keys differ: missing {missing[:3]} extra {extra[:3]}')
        worst, worst_key = 0.0, None
        for k, g in ref_grads.items():
            e = rel_err(np.asarray(got[k], dtype=np.float64), g.reshape(-1).numpy())
            if e >= worst:
                worst, worst_key = e, k
        row['grad_worst_key'] = worst_key
        return worst

    attempt('logits_base_err', fwd_base)
    attempt('logits_err', fwd_lora)
    row['loss_err'] = None
    attempt('grad_err', grad)
    bad = []
    for key, tol in (('logits_base_err', LOGITS_TOL), ('logits_err', LOGITS_TOL),
                     ('loss_err', LOSS_TOL), ('grad_err', GRAD_TOL)):
        v = row.get(key)
        if v is None or not (v <= tol):
            bad.append(key)
    row['ok'] = not bad and not row['problems']
    return row


def fmt(v):
    return '   fail  ' if v is None else f'{v:9.2e}'


def print_table(rows):
    w = max(len(r['name']) for r in rows)
    print(f"\n{'model':<{w}}  {'logits0':>9}  {'logits':>9}  {'loss':>9}  {'grads':>9}  ok")
    print(f"{'':<{w}}  {'<=1e-4':>9}  {'<=1e-4':>9}  {'<=1e-4':>9}  {'<=1e-3':>9}")
    for r in rows:
        print(f"{r['name']:<{w}}  {fmt(r.get('logits_base_err'))}  {fmt(r.get('logits_err'))}  "
              f"{fmt(r.get('loss_err'))}  {fmt(r.get('grad_err'))}  {'yes' if r['ok'] else 'NO'}")
    print('\nlogits0: forward without adapter; logits: with adapter; errors are max|ours-ref|/max|ref|')
    for r in rows:
        print(f"  {r['name']}: {r['desc']}")
        if r.get('grad_worst_key'):
            print(f"    worst grad: {r['grad_worst_key']}")
        for p in r['problems']:
            print('    PROBLEM ' + p.replace('\n', '\n      '))


# ---------------------------------------------------------------------------------------------
# self-test of the oracle
# ---------------------------------------------------------------------------------------------

def naive_inv_freq(c):
    """Per-frequency loop following Meta's llama3 apply_scaling; independent of rope_inv_freq."""
    D, base = c['head_dim'], c['rope_theta']
    freqs = [1.0 / base ** (2 * i / D) for i in range(D // 2)]
    rs = c['rope_scaling']
    kind = rs and rs.get('rope_type', rs.get('type'))
    if kind == 'linear':
        return [f / rs['factor'] for f in freqs]
    if kind == 'llama3':
        old, lo, hi, sf = (rs['original_max_position_embeddings'], rs['low_freq_factor'],
                           rs['high_freq_factor'], rs['factor'])
        out = []
        for f in freqs:
            wl = 2 * math.pi / f
            if wl < old / hi:
                out.append(f)
            elif wl > old / lo:
                out.append(f / sf)
            else:
                s = (old / wl - lo) / (hi - lo)
                out.append((1 - s) * f / sf + s * f)
        return out
    return freqs


def naive_forward(model, ids, adapter=None):
    """Token-by-token numpy loop over one sequence: [T] -> [T, V]."""
    c = model.cfg
    W = {k: v.numpy() for k, v in model.w.items()}
    lora = {} if adapter is None else {k: v.detach().numpy() for k, v in adapter.tensors.items()}
    H, nh, nkv, D = c['hidden_size'], c['num_attention_heads'], c['num_key_value_heads'], c['head_dim']
    eps = c['rms_norm_eps']
    inv = naive_inv_freq(c)

    def norm(x, w):
        return w * (x / math.sqrt(sum(v * v for v in x) / len(x) + eps))

    def lin(x, layer, proj):
        p = f'model.layers.{layer}.{tl.PROJ_BLOCK[proj]}.{proj}.'
        y = W[p + 'weight'].dot(x)
        if p + 'bias' in W:
            y = y + W[p + 'bias']
        ka = tl.peft_key(layer, proj, 'A')
        if ka in lora:
            y = y + adapter.scale * lora[tl.peft_key(layer, proj, 'B')].dot(lora[ka].dot(x))
        return y

    def rope(vec, pos):
        out = vec.copy()
        for i in range(D // 2):
            a, b = vec[i], vec[i + D // 2]
            cs, sn = math.cos(pos * inv[i]), math.sin(pos * inv[i])
            out[i], out[i + D // 2] = a * cs - b * sn, b * cs + a * sn
        return out

    T = len(ids)
    xs = [W['model.embed_tokens.weight'][t].copy() for t in ids]
    for layer in range(c['num_hidden_layers']):
        p = f'model.layers.{layer}.'
        hs = [norm(x, W[p + 'input_layernorm.weight']) for x in xs]
        qs = [lin(h, layer, 'q_proj') for h in hs]
        ks = [lin(h, layer, 'k_proj') for h in hs]
        vs = [lin(h, layer, 'v_proj') for h in hs]
        new = []
        for t in range(T):
            o = np.zeros(nh * D)
            for head in range(nh):
                kvh = head * nkv // nh
                q = rope(qs[t][head * D:(head + 1) * D], t)
                sc = [float(q.dot(rope(ks[s][kvh * D:(kvh + 1) * D], s))) / math.sqrt(D)
                      for s in range(t + 1)]
                m = max(sc)
                e = [math.exp(v - m) for v in sc]
                z = sum(e)
                for s in range(t + 1):
                    o[head * D:(head + 1) * D] += e[s] / z * vs[s][kvh * D:(kvh + 1) * D]
            new.append(xs[t] + lin(o, layer, 'o_proj'))
        xs = new
        out = []
        for x in xs:
            h = norm(x, W[p + 'post_attention_layernorm.weight'])
            g, u = lin(h, layer, 'gate_proj'), lin(h, layer, 'up_proj')
            act = np.array([gi / (1 + math.exp(-gi)) for gi in g]) * u
            out.append(x + lin(act, layer, 'down_proj'))
        xs = out
    head_w = W['model.embed_tokens.weight'] if c['tie_word_embeddings'] else W['lm_head.weight']
    return np.stack([head_w.dot(norm(x, W['model.norm.weight'])) for x in xs])


def finite_difference_check(model, adapter, ids, labels, h=1e-5):
    _, grads = tl.loss_and_grads(model, adapter, ids, labels)
    worst = 0.0
    with torch.no_grad():
        for k in adapter.keys():
            t = adapter.tensors[k]
            fd = torch.zeros_like(t).reshape(-1)
            flat = t.reshape(-1)
            for i in range(flat.numel()):
                old = float(flat[i])
                flat[i] = old + h
                lp = float(tl.causal_lm_loss(model.forward(ids, adapter), labels))
                flat[i] = old - h
                lm = float(tl.causal_lm_loss(model.forward(ids, adapter), labels))
                flat[i] = old
                fd[i] = (lp - lm) / (2 * h)
            worst = max(worst, rel_err(grads[k].reshape(-1).numpy(), fd.numpy()))
    return worst, sum(t.numel() for t in adapter.tensors.values())


def manual_train(model, adapter, ids, labels, lr, betas, eps, wd, max_norm, steps):
    """clip_grad_norm_ and AdamW written out: the update the engine must reproduce."""
    b1, b2 = betas
    p = {k: v.clone() for k, v in adapter.tensors.items()}
    m = {k: torch.zeros_like(v) for k, v in p.items()}
    v2 = {k: torch.zeros_like(v) for k, v in p.items()}
    losses = []
    for step in range(1, steps + 1):
        loss, g = tl.loss_and_grads(model, adapter.with_tensors(p), ids, labels)
        losses.append(loss)
        total = math.sqrt(sum(float((gk ** 2).sum()) for gk in g.values()))
        coef = min(1.0, max_norm / (total + 1e-6))
        for k in p:
            gk = g[k] * coef
            p[k] = p[k] * (1 - lr * wd)
            m[k] = b1 * m[k] + (1 - b1) * gk
            v2[k] = b2 * v2[k] + (1 - b2) * gk * gk
            denom = (v2[k].sqrt() / math.sqrt(1 - b2 ** step)) + eps
            p[k] = p[k] - (lr / (1 - b1 ** step)) * m[k] / denom
    return losses


def self_test(keep=None):
    torch.set_num_threads(1)
    failures = []

    def check(cond, what):
        print(('  ok    ' if cond else '  FAIL  ') + what)
        if not cond:
            failures.append(what)

    tmp = keep or tempfile.mkdtemp(prefix='clora-oracle-selftest-')
    os.makedirs(tmp, exist_ok=True)
    print('safetensors')
    rng = np.random.default_rng(5)
    x = rng.normal(0, 2, (3, 5)).astype(np.float32)
    x[0, 0], x[0, 1] = 1.0 + 2 ** -8, 1.0 + 3 * 2 ** -8  # bf16 ties: round to even
    path = os.path.join(tmp, 'rt.safetensors')
    for dt in ('F32', 'F16', 'BF16'):
        tl.write_safetensors(path, {'b.x': x, 'a.y': x[:2]}, dt, metadata={'format': 'pt'})
        back, meta = tl.read_safetensors(path)
        ref = torch.from_numpy(x).to({'F32': torch.float32, 'F16': torch.float16,
                                      'BF16': torch.bfloat16}[dt]).to(torch.float64).numpy()
        n, header = tl.read_safetensors_header(path)
        check(np.array_equal(back['b.x'], ref) and np.array_equal(back['a.y'], ref[:2])
              and meta == {'format': 'pt'} and (8 + n) % 8 == 0
              and header['a.y']['data_offsets'][0] == 0,
              f'{dt}: round trip equals torch conversion (header {n} bytes)')

    print('forward against an independent loop implementation')
    specs = {
        'llama gqa biases llama3 rope': dict(
            arch='llama', hidden=18, intermediate=21, layers=2, heads=3, kv_heads=1, head_dim=6,
            vocab=23, tied=False, eps=1e-5, rope_theta=1000.0, dtype='F32', shards=2,
            attention_bias=True, mlp_bias=True,
            rope_scaling={'factor': 8.0, 'low_freq_factor': 1.0, 'high_freq_factor': 4.0,
                          'original_max_position_embeddings': 64, 'rope_type': 'llama3'},
            lora=dict(r=2, alpha=5, targets=ATTN + MLP)),
        'qwen2 mqa tied bf16': dict(
            arch='qwen2', hidden=20, intermediate=13, layers=2, heads=5, kv_heads=1, vocab=19,
            tied=True, eps=1e-6, rope_theta=1e6, dtype='BF16',
            lora=dict(r=3, alpha=4, targets=['q_proj', 'v_proj', 'down_proj'])),
        'llama gqa f16 linear rope rslora': dict(
            arch='llama', hidden=24, intermediate=17, layers=1, heads=4, kv_heads=2, vocab=29,
            tied=True, eps=1e-5, rope_theta=10000.0, dtype='F16',
            rope_scaling={'type': 'linear', 'factor': 2.0},
            lora=dict(r=2, alpha=3, targets=['k_proj', 'o_proj', 'up_proj'], use_rslora=True)),
    }
    cases = []
    for i, (name, spec) in enumerate(specs.items()):
        root = os.path.join(tmp, f'model{i}')
        model, adapter = mf.write_model_and_adapter(root, spec, 100 + i)
        g = np.random.default_rng(200 + i)
        ids = g.integers(0, spec['vocab'], size=(2, 6)).tolist()
        labels = [list(r) for r in ids]
        labels[0][0] = labels[1][3] = -100
        cases.append((name, root, model, adapter, ids, labels))
        with torch.no_grad():
            vec = model.forward(ids, adapter).numpy()
            vec0 = model.forward(ids).numpy()
        errs = [rel_err(vec[b], naive_forward(model, ids[b], adapter)) for b in range(2)]
        errs += [rel_err(vec0[b], naive_forward(model, ids[b])) for b in range(2)]
        check(max(errs) < 1e-12, f'{name}: max rel err {max(errs):.1e}')
        if spec.get('rope_scaling', {}).get('rope_type') == 'llama3':
            inv = tl.rope_inv_freq(model.cfg).numpy()
            plain = 1.0 / spec['rope_theta'] ** (np.arange(0, 6, 2) / 6)
            kinds = {'kept' if a == b else 'divided' if abs(a - b / 8) < 1e-15 else 'smoothed'
                     for a, b in zip(inv, plain)}
            check(kinds == {'kept', 'divided', 'smoothed'}, f'{name}: llama3 branches hit {sorted(kinds)}')

    print('invariants, finite differences, training')
    for name, root, model, adapter, ids, labels in cases:
        with torch.no_grad():
            base = model.forward(ids)
            logits = model.forward(ids, adapter)
        loss, _ = tl.loss_and_grads(model, adapter, ids, labels)
        try:
            mf.check_oracle_consistency(model, adapter, ids, labels, base, logits, loss)
            check(True, f'{name}: loss from logits, B=0 gives base logits, merged weights')
        except AssertionError as e:
            check(False, f'{name}: {e}')
        fd_err, n = finite_difference_check(model, adapter, ids, labels)
        check(fd_err < 1e-7, f'{name}: analytic vs finite-difference grads over {n} entries, '
                             f'max rel err {fd_err:.1e}')
        for max_norm in (0.05, 1e9):
            hp = dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, wd=0.01, max_norm=max_norm, steps=4)
            losses, norms, _ = tl.train(model, adapter, ids, labels, hp['lr'], hp['betas'],
                                        hp['eps'], hp['wd'], hp['max_norm'], hp['steps'])
            manual = manual_train(model, adapter, ids, labels, **hp)
            err = max(abs(a - b) for a, b in zip(losses, manual))
            check(err < 1e-12 and losses[-1] < losses[0],
                  f'{name}: torch AdamW + clip (max_norm {max_norm:g}, '
                  f'{"clipped" if norms[0] > max_norm else "unclipped"}) equals closed form, '
                  f'loss {losses[0]:.4f} -> {losses[-1]:.4f}')

    print('torch_llama.py command line')
    name, root, model, adapter, ids, labels = cases[0]
    script = os.path.join(HERE, 'torch_llama.py')
    mdir, adir = os.path.join(root, 'model'), os.path.join(root, 'adapter')
    ids_s, lab_s = ','.join(map(str, ids[0])), ','.join(map(str, labels[1]))
    fwd = json.loads(subprocess.run([sys.executable, script, 'forward', '--model', mdir, '--adapter',
                                     adir, '--ids', ids_s], capture_output=True, text=True,
                                    check=True).stdout)
    with torch.no_grad():
        ref = model.forward([ids[0]], adapter)[0].numpy()
    check(rel_err(fwd['logits'], ref) == 0.0, 'forward JSON equals module logits')
    gr = json.loads(subprocess.run([sys.executable, script, 'grad', '--model', mdir, '--adapter', adir,
                                    '--ids', ids_s, f'--labels={lab_s}'], capture_output=True,
                                   text=True, check=True).stdout)
    loss, grads = tl.loss_and_grads(model, adapter, [ids[0]], [labels[1]])
    check(gr['loss'] == loss and sorted(gr['grads']) == sorted(grads)
          and all(rel_err(gr['grads'][k], grads[k].reshape(-1).numpy()) == 0.0 for k in grads),
          f'grad JSON equals module loss and {len(grads)} gradients')

    print('acceptance comparison, with torch_llama.py standing in for the CLI')
    rng = np.random.default_rng(1)
    spec, model, adapter, ids, labels = make_case(os.path.join(tmp, 'stand-in'), TEMPLATES[1], rng, 77)
    row = check_case(f'{shlex.quote(sys.executable)} {shlex.quote(script)}', 'stand-in',
                     os.path.join(tmp, 'stand-in'), spec, model, adapter, ids, labels, 120)
    check(row['ok'] and row['logits_err'] == row['logits_base_err'] == row['grad_err'] == 0.0
          and row['loss_err'] == 0.0, f'check_case passes with zero error ({describe(spec, model)})')

    print('Qwen3, Gemma 3, SmolLM3: finite differences and the window')
    new_specs = {
        'qwen3 qk-norm': dict(arch='qwen3', hidden=12, intermediate=9, layers=2, heads=2, kv_heads=1, head_dim=4,
                              vocab=13, tied=True, eps=1e-6, rope_theta=1e6, dtype='F32',
                              lora=dict(r=2, alpha=3, targets=['q_proj', 'k_proj', 'down_proj'])),
        'gemma3 sliding + global': dict(arch='gemma3_text', hidden=12, intermediate=9, layers=2, heads=2, kv_heads=1,
                                        head_dim=4, vocab=13, tied=True, eps=1e-6, rope_theta=1e6, dtype='F32',
                                        rope_scaling={'rope_type': 'linear', 'factor': 2.0},
                                        extra={'sliding_window': 2, 'layer_types': ['sliding_attention', 'full_attention'],
                                               'query_pre_attn_scalar': 7},
                                        lora=dict(r=2, alpha=3, targets=['q_proj', 'o_proj', 'up_proj'])),
        'smollm3 nope': dict(arch='smollm3', hidden=12, intermediate=9, layers=2, heads=3, kv_heads=1, vocab=13,
                             tied=True, eps=1e-6, rope_theta=1e6, dtype='F32', extra={'no_rope_layers': [0, 1]},
                             lora=dict(r=2, alpha=3, targets=['k_proj', 'v_proj', 'gate_proj'])),
    }
    for i, (name, spec) in enumerate(new_specs.items()):
        model, adapter = mf.write_model_and_adapter(os.path.join(tmp, f'arch{i}'), spec, 300 + i)
        g = np.random.default_rng(400 + i)
        ids = g.integers(0, spec['vocab'], size=(2, 6)).tolist()
        labels = [list(r) for r in ids]
        labels[0][0] = labels[1][3] = -100
        worst, n = finite_difference_check(model, adapter, ids, labels)
        check(worst < 1e-6, f'{name}: analytic vs central-difference gradients, {n} entries, max rel err {worst:.1e}')
    # Only sliding layers (window 2): logits at position t depend on tokens t-2..t (two layers), not earlier ones.
    spec = dict(new_specs['gemma3 sliding + global'], extra={'sliding_window': 2, 'layer_types': ['sliding_attention'] * 2})
    model, _ = mf.write_model_and_adapter(os.path.join(tmp, 'arch-window'), spec, 310)
    a_ids, b_ids = [[3, 4, 5, 6, 7, 8]], [[9, 4, 5, 6, 7, 8]]
    with torch.no_grad():
        la, lb = model.forward(a_ids)[0], model.forward(b_ids)[0]
    far = float((la[3:] - lb[3:]).abs().max())
    near = float((la[:3] - lb[:3]).abs().max())
    check(far == 0.0 and near > 1e-3, f'gemma3 window 2 over 2 layers: token 0 reaches positions 0-2 ({near:.2e}), not 3-5 ({far:.1e})')

    print('acceptance configurations generate and run through the oracle')
    rng = np.random.default_rng(0)
    for j, tpl in enumerate(TEMPLATES + EXTRA_TEMPLATES):
        spec, model, adapter, ids, labels = make_case(os.path.join(tmp, 'cfg', tpl['name']), tpl, rng,
                                                      1000 + j)
        loss, grads = tl.loss_and_grads(model, adapter, [ids], [labels])
        check(math.isfinite(loss) and all(float(g.abs().max()) > 0 for g in grads.values()),
              f'{tpl["name"]}: {describe(spec, model)}, loss {loss:.3f}')

    if not keep:
        shutil.rmtree(tmp)
    print(f'\nself-test: {"FAILED " + str(len(failures)) if failures else "all passed"}')
    return 1 if failures else 0


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--cli', default='node bin/clora.js', help='command prefix, run in the repo root')
    ap.add_argument('--keep', metavar='DIR', help='write the generated models here and keep them')
    ap.add_argument('--seed', type=int, default=20240601, help='draws the model sizes')
    ap.add_argument('--extra', action='store_true',
                    help='also Llama attention/MLP biases, linear rope scaling and rsLoRA')
    ap.add_argument('--only', nargs='*', help='configuration names to run')
    ap.add_argument('--timeout', type=float, default=600, help='seconds per CLI call')
    ap.add_argument('--self-test', action='store_true', help='check the oracle itself; no CLI')
    args = ap.parse_args()
    if args.self_test:
        sys.exit(self_test(args.keep))
    torch.set_num_threads(1)
    for part in shlex.split(args.cli)[1:2]:
        if part.endswith(('.js', '.mjs', '.py')) and not os.path.exists(os.path.join(REPO, part)):
            print(f'check_cli: {part} not found (run from a built checkout, or pass --cli)',
                  file=sys.stderr)
            sys.exit(2)
    every = TEMPLATES + EXTRA_TEMPLATES + ARCH_TEMPLATES
    templates = TEMPLATES + ARCH_TEMPLATES + (EXTRA_TEMPLATES if args.extra else [])
    if args.only:
        unknown = set(args.only) - {t['name'] for t in every}
        if unknown:
            ap.error(f'unknown configurations {sorted(unknown)}')
        templates = [t for t in every if t['name'] in args.only]
    tmp = args.keep or tempfile.mkdtemp(prefix='clora-oracle-')
    os.makedirs(tmp, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    rows = []
    try:
        for j, tpl in enumerate(every):
            # draw every template so sizes do not depend on --only / --extra
            root = os.path.join(tmp, tpl['name'])
            spec, model, adapter, ids, labels = make_case(root, tpl, rng, args.seed + 101 * j)
            if tpl not in templates:
                shutil.rmtree(root)
                continue
            print(f"{tpl['name']}: {describe(spec, model)} ...", flush=True)
            rows.append(check_case(args.cli, tpl['name'], root, spec, model, adapter, ids, labels,
                                   args.timeout))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print_table(rows)
    ok = all(r['ok'] for r in rows)
    print(f"\n{'PASS' if ok else 'FAIL'}: {sum(r['ok'] for r in rows)}/{len(rows)} models within "
          f'tolerance (logits {LOGITS_TOL:g}, loss {LOSS_TOL:g}, grads {GRAD_TOL:g})')
    if args.keep:
        print(f'models kept in {tmp}')
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
