#!/usr/bin/python3
"""Float64 PyTorch reference of the continual merges (METHODS.md "Continual model merging"), dense and
straight from the definitions: every task vector is the full d_out x d_in matrix s * B @ A, and every SVD a
dense torch.linalg.svd.

    /usr/bin/python3 scripts/oracle/merge_reference.py fixtures [--out test/fixtures/merge]
    /usr/bin/python3 scripts/oracle/merge_reference.py check-run RUN_DIR [--tol 1e-4]

`fixtures` writes small synthetic cases (a few projections of modest size, several tasks, ranks, alpha
values, a rank cap, a task vector lying entirely inside the merged subspace, a projection whose rank
saturates) with the merged Delta W after every task: cases.json and tensors.safetensors (F64). The
TypeScript merge is checked against them (test/cl/merge.test.ts).

`check-run` reads a `clora run` folder: for every method of kind opcm, merge-ta or merge-avg in
results.json, the per-task adapters OUT/<method>/adapters/<task>/ in task order, redoes the merge here and
compares it with the merged adapters the run wrote, OUT/<method>/merged/<task>/. The error after task t is
||Delta_run - Delta_ref|| / ||Delta_ref||, norms over the whole model (all adapted projections). Prints
one JSON line per method and exits 1 when an error exceeds --tol.
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch_llama as tl  # noqa: E402

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)

# Singular values at most this share of the largest count as zero (the engine uses the same rule).
RANK_RTOL = 1e-9
MERGE_KINDS = ('opcm', 'merge-ta', 'merge-avg')


# ---------------------------------------------------------------------------------------------
# the merges, on {site: dense task vector}
# ---------------------------------------------------------------------------------------------

def model_norm(vectors):
    return math.sqrt(sum(float((v * v).sum()) for v in vectors.values()))


def truncate(m, cap):
    u, s, vh = torch.linalg.svd(m, full_matrices=False)
    return u[:, :cap] @ torch.diag(s[:cap]) @ vh[:cap]


def opcm_project(m, tau, alpha):
    """tau' = tau - U_k U_k^T tau V_k V_k^T - sum_{k <= i < rho} (u_i^T tau v_i) u_i v_i^T over M's nonzero
    singular values, k the first index at which cumsum(S) / sum(S) > alpha."""
    u, s, vh = torch.linalg.svd(m, full_matrices=False)
    if s.numel() == 0 or s[0] == 0:
        return tau.clone()
    rho = int((s > RANK_RTOL * s[0]).sum())
    u, s, v = u[:, :rho], s[:rho], vh[:rho].T
    share = torch.cumsum(s, 0) / s.sum()
    above = (share > alpha).nonzero()
    k = int(above[0]) if above.numel() else rho
    uk, vk = u[:, :k], v[:, :k]
    out = tau - uk @ uk.T @ tau @ vk @ vk.T
    for i in range(k, rho):
        ui, vi = u[:, i], v[:, i]
        out = out - float(ui @ tau @ vi) * torch.outer(ui, vi)
    return out


def merge_sequence(kind, taus, alpha=0.5, lam=0.3, cap=None):
    """taus: list over tasks of {site: tau}. Returns the list of merged {site: M_t}, and OPCM's lambda_t."""
    merged, lambdas, norms = [], [], []
    m, lam_t = None, 1.0
    for t, tau in enumerate(taus, 1):
        norms.append(model_norm(tau))
        # Without a rank cap these are (1/t) sum tau_i and lambda sum tau_i; with one, each step continues from the
        # truncated M_{t-1} (a merge keeps only its merged factors, not the earlier task vectors).
        if kind == 'merge-avg':
            m = {p: tau[p].clone() if t == 1 else ((t - 1) * m[p] + tau[p]) / t for p in tau}
        elif kind == 'merge-ta':
            m = {p: lam * tau[p] if t == 1 else m[p] + lam * tau[p] for p in tau}
        elif t == 1:
            m, lam_t = {p: tau[p].clone() for p in tau}, 1.0
        else:
            n = {p: lam_t * m[p] + opcm_project(m[p], tau[p], alpha) for p in tau}
            mean = sum(norms) / len(norms)
            lam_t = model_norm(n) / mean
            m = {p: n[p] / lam_t for p in n}
        if cap is not None:
            m = {p: truncate(m[p], cap) for p in m}
        merged.append(m)
        lambdas.append(lam_t)
    return merged, lambdas


# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------

SITES = {'layers.0.q': (12, 20), 'layers.0.v': (20, 12), 'layers.1.o': (9, 9)}
CASES = [
    dict(name='opcm-a0.5-r2-saturating', kind='opcm', alpha=0.5, rank=2, tasks=5, scale=2.0),
    dict(name='opcm-a0-r3', kind='opcm', alpha=0.0, rank=3, tasks=4, scale=16 / math.sqrt(3)),
    dict(name='opcm-a0.9-r1', kind='opcm', alpha=0.9, rank=1, tasks=5, scale=2.0),
    dict(name='opcm-a0.5-r2-inside', kind='opcm', alpha=0.5, rank=2, tasks=4, scale=2.0, inside=2),
    dict(name='opcm-a0.3-r2-cap3', kind='opcm', alpha=0.3, rank=2, tasks=4, scale=2.0, cap=3),
    dict(name='ta-l0.3-r2-inside', kind='merge-ta', lam=0.3, rank=2, tasks=4, scale=2.0, inside=3),
    dict(name='avg-r3', kind='merge-avg', rank=3, tasks=4, scale=0.5),
    dict(name='avg-r2-cap2', kind='merge-avg', rank=2, tasks=3, scale=1.0, cap=2),
]


def make_tasks(case, gen):
    """Per task {site: (B, A)}; task `inside` (0-based) has B in the span of the earlier B's columns and A in the
    span of the earlier A's rows, so its task vector lies inside the merged one's row and column spaces."""
    r = case['rank']
    tasks = []
    for t in range(case['tasks']):
        f = {}
        for site, (o, i) in SITES.items():
            if case.get('inside') == t:
                bs = torch.cat([x[site][0] for x in tasks], 1)
                as_ = torch.cat([x[site][1] for x in tasks], 0)
                b = bs @ torch.randn(bs.shape[1], r, generator=gen)
                a = torch.randn(r, as_.shape[0], generator=gen) @ as_
            else:
                b = torch.randn(o, r, generator=gen) * 0.1
                a = torch.randn(r, i, generator=gen) / math.sqrt(i)
            f[site] = (b, a)
        tasks.append(f)
    return tasks


def write_fixtures(out):
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(21)
    tensors, cases = {}, []
    for ci, case in enumerate(CASES):
        tasks = make_tasks(case, gen)
        taus = [{p: case['scale'] * b @ a for p, (b, a) in f.items()} for f in tasks]
        merged, lambdas = merge_sequence(case['kind'], taus, case.get('alpha', 0.5), case.get('lam', 0.3), case.get('cap'))
        for t, f in enumerate(tasks):
            for p, (b, a) in f.items():
                tensors[f'{ci}/task{t}/{p}/B'] = b
                tensors[f'{ci}/task{t}/{p}/A'] = a
        for t, m in enumerate(merged):
            for p, v in m.items():
                tensors[f'{ci}/merged{t}/{p}'] = v
        ranks = [{p: int(torch.linalg.matrix_rank(v, rtol=RANK_RTOL)) for p, v in m.items()} for m in merged]
        cases.append({**case, 'lambdas': lambdas, 'ranks': ranks, 'norms': [model_norm(m) for m in merged],
                      'taskNorms': [model_norm(x) for x in taus]})
        print(f"{case['name']}: ranks {[max(r.values()) for r in ranks]}, lambda {[round(x, 4) for x in lambdas]}")
    tl.write_safetensors(os.path.join(out, 'tensors.safetensors'), tensors, dtype='F64')
    with open(os.path.join(out, 'cases.json'), 'w') as f:
        json.dump({'sites': {p: list(s) for p, s in SITES.items()}, 'rankRtol': RANK_RTOL, 'cases': cases}, f, indent=1)
        f.write('\n')


# ---------------------------------------------------------------------------------------------
# checking a run folder
# ---------------------------------------------------------------------------------------------

def read_adapter(folder):
    """A PEFT adapter folder -> {module: dense scale * B @ A} (float64)."""
    with open(os.path.join(folder, 'adapter_config.json')) as f:
        cfg = json.load(f)
    r, alpha = cfg['r'], cfg['lora_alpha']
    scale = alpha / math.sqrt(r) if cfg.get('use_rslora') else alpha / r
    weights, _ = tl.read_safetensors(os.path.join(folder, 'adapter_model.safetensors'))
    out = {}
    for key, a in weights.items():
        if not key.endswith('.lora_A.weight'):
            continue
        site = key[:-len('.lora_A.weight')]
        b = weights[site + '.lora_B.weight']
        out[site] = scale * torch.from_numpy(b) @ torch.from_numpy(a)
    return out


def method_settings(run, name):
    """The merge's options, from the checkpoint the run wrote with its last task."""
    path = os.path.join(run, name, 'checkpoint', 'state.json')
    with open(path) as f:
        state = json.load(f)
    s = state['method']['merge']['settings']
    return s['alpha'], s['lambda'], s['rankCap']


def check_run(run, tol):
    with open(os.path.join(run, 'results.json')) as f:
        results = json.load(f)
    tasks = [t['name'] for t in results['tasks']]
    worst, checked = 0.0, 0
    for name, m in results['methods'].items():
        kind = m['method']
        if kind not in MERGE_KINDS:
            continue
        done = [t for t in tasks if os.path.exists(os.path.join(run, name, 'merged', t, 'adapter_config.json'))]
        if not done:
            continue
        alpha, lam, cap = method_settings(run, name)
        taus = [read_adapter(os.path.join(run, name, 'adapters', t)) for t in done]
        merged, lambdas = merge_sequence(kind, taus, alpha, lam, cap)
        errors = []
        for t, ref in zip(done, merged):
            ours = read_adapter(os.path.join(run, name, 'merged', t))
            if set(ours) != set(ref):
                raise SystemExit(f'{name}/merged/{t}: adapts {sorted(ours)}, the reference {sorted(ref)}')
            diff = math.sqrt(sum(float(((ours[p] - ref[p]) ** 2).sum()) for p in ref))
            errors.append(diff / model_norm(ref))
        worst = max(worst, *errors)
        checked += 1
        print(json.dumps({'method': name, 'kind': kind, 'tasks': done, 'relErrors': errors,
                          'maxRelError': max(errors), 'mergedRank': max(int(torch.linalg.matrix_rank(v, rtol=RANK_RTOL))
                                                                       for v in merged[-1].values()),
                          'lambdas': lambdas if kind == 'opcm' else None}))
    if checked == 0:
        raise SystemExit(f'{run}: no opcm, merge-ta or merge-avg method with merged adapters')
    if worst > tol:
        print(f'FAIL: largest relative error {worst:.3g} > {tol}', file=sys.stderr)
        return 1
    print(f'ok: {checked} merging methods, largest relative error {worst:.3g} <= {tol}', file=sys.stderr)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    fx = sub.add_parser('fixtures')
    fx.add_argument('--out', default=os.path.join(os.path.dirname(os.path.dirname(HERE)), 'test', 'fixtures', 'merge'))
    cr = sub.add_parser('check-run')
    cr.add_argument('run')
    cr.add_argument('--tol', type=float, default=1e-4)
    args = ap.parse_args()
    if args.cmd == 'fixtures':
        write_fixtures(args.out)
        return 0
    return check_run(args.run, args.tol)


if __name__ == '__main__':
    sys.exit(main())
