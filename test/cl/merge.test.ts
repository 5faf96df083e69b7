// The factor-space merges (OPCM, task arithmetic, running average) against the dense float64 PyTorch reference of
// scripts/oracle/merge_reference.py (fixtures in test/fixtures/merge): after every task, the merged Delta W = b · a of
// every projection must match the reference's within a relative error of 1e-5 over the whole model, for several
// ranks, alpha values, a rank cap, a projection whose rank saturates and a task vector lying inside the merged
// subspace. Also: the merged rank stays <= t·r, OPCM keeps ‖M_t‖ at the mean task-vector norm, and a merge packed and
// unpacked (a checkpoint) goes on exactly as one that never stopped.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContinualMerge, dominantCount, type MergeKind, type SiteFactors } from '../../src/cl/merge/factored-merge.ts';
import { parseSafetensors } from '../../src/model/safetensors.ts';
import { ROOT } from '../helpers/clora-run.ts';

const DIR = join(ROOT, 'test', 'fixtures', 'merge');

interface Case {
  name: string;
  kind: MergeKind;
  alpha?: number;
  lam?: number;
  cap?: number;
  rank: number;
  tasks: number;
  scale: number;
  lambdas: number[];
  ranks: Record<string, number>[];
  norms: number[];
  taskNorms: number[];
}

const fixture = JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8')) as { sites: Record<string, [number, number]>; cases: Case[] };
const file = parseSafetensors(new Uint8Array(readFileSync(join(DIR, 'tensors.safetensors'))), 'tensors.safetensors');

function f64(name: string): Float64Array {
  const e = file.tensors.get(name);
  if (!e || e.dtype !== 'F64') throw new Error(`fixture tensor ${name} is missing or not F64`);
  const copy = new Uint8Array(e.bytes);
  return new Float64Array(copy.buffer, 0, copy.byteLength / 8);
}

function taskOf(ci: number, t: number, rank: number): Map<string, SiteFactors> {
  const m = new Map<string, SiteFactors>();
  for (const [site, [out, inDim]] of Object.entries(fixture.sites)) {
    m.set(site, { b: f64(`${ci}/task${t}/${site}/B`), a: f64(`${ci}/task${t}/${site}/A`), out, in: inDim, rank });
  }
  return m;
}

/** ‖Δ_engine − Δ_ref‖ / ‖Δ_ref‖ over all sites, Δ_engine = b · a formed densely here. */
function relError(merge: ContinualMerge, ci: number, t: number): number {
  let diff = 0;
  let ref = 0;
  for (const [site, [out, inDim]] of Object.entries(fixture.sites)) {
    const f = merge.factors(site);
    const expected = f64(`${ci}/merged${t}/${site}`);
    for (let o = 0; o < out; o++) {
      for (let i = 0; i < inDim; i++) {
        let v = 0;
        for (let k = 0; k < f.rank; k++) v += f.b[o * f.rank + k] * f.a[k * inDim + i];
        const e = expected[o * inDim + i];
        diff += (v - e) ** 2;
        ref += e * e;
      }
    }
  }
  return Math.sqrt(diff / ref);
}

function newMerge(c: Case): ContinualMerge {
  return new ContinualMerge({ kind: c.kind, alpha: c.alpha ?? 0.5, lambda: c.lam ?? 0.3, rankCap: c.cap ?? null });
}

describe('continual merges in factor space against the float64 PyTorch reference', () => {
  assert.ok(fixture.cases.length >= 8);
  fixture.cases.forEach((c, ci) => {
    it(`${c.name}: merged Delta W after each of ${c.tasks} tasks within 1e-5`, () => {
      const merge = newMerge(c);
      for (let t = 0; t < c.tasks; t++) {
        merge.add(taskOf(ci, t, c.rank), c.scale);
        const err = relError(merge, ci, t);
        assert.ok(err <= 1e-5, `${c.name}, task ${t + 1}: relative error ${err}`);
        for (const site of Object.keys(fixture.sites)) {
          const [out, inDim] = fixture.sites[site];
          const bound = Math.min((t + 1) * c.rank, out, inDim, c.cap ?? Infinity);
          assert.ok(merge.factorRank(site) <= bound, `${c.name}: ${site} has rank ${merge.factorRank(site)} > ${bound}`);
        }
        assert.ok(Math.abs(merge.norms[t] - c.taskNorms[t]) <= 1e-9 * c.taskNorms[t], `${c.name}: task norm ${merge.norms[t]} vs ${c.taskNorms[t]}`);
        if (c.kind === 'opcm') {
          assert.ok(Math.abs(merge.lambda - c.lambdas[t]) <= 1e-9 * c.lambdas[t], `${c.name}: lambda ${merge.lambda} vs ${c.lambdas[t]}`);
          if (!c.cap) {
            const mean = c.taskNorms.slice(0, t + 1).reduce((s, v) => s + v, 0) / (t + 1);
            assert.ok(Math.abs(merge.norm - mean) <= 1e-9 * mean, `${c.name}: ‖M_t‖ ${merge.norm} is not the mean task-vector norm ${mean}`);
          }
        }
      }
    });
  });

  it('a task vector inside the merged subspace adds no basis vectors (its factors keep their rank)', () => {
    const ci = fixture.cases.findIndex((c) => c.name === 'opcm-a0.5-r2-inside');
    const c = fixture.cases[ci];
    const merge = newMerge(c);
    for (let t = 0; t < 3; t++) merge.add(taskOf(ci, t, c.rank), c.scale);
    // Task 3 (index 2) lies in the span of tasks 1 and 2: still rank 4 on every site.
    for (const site of Object.keys(fixture.sites)) assert.equal(merge.factorRank(site), 4, site);
    assert.ok(relError(merge, ci, 2) <= 1e-5);
  });

  it('a merge packed and unpacked after each task continues exactly as one that never stopped', () => {
    for (const ci of [0, 3, 4]) {
      const c = fixture.cases[ci];
      const straight = newMerge(c);
      let resumed = newMerge(c);
      for (let t = 0; t < c.tasks; t++) {
        straight.add(taskOf(ci, t, c.rank), c.scale);
        resumed.add(taskOf(ci, t, c.rank), c.scale);
        const { json, float64 } = resumed.pack();
        resumed = ContinualMerge.unpack(JSON.parse(JSON.stringify(json)), float64, 'test');
        for (const site of Object.keys(fixture.sites)) {
          assert.deepEqual(resumed.factors(site), straight.factors(site), `${c.name}: ${site} after task ${t + 1}`);
        }
        assert.equal(resumed.lambda, straight.lambda);
      }
    }
  });

  it('k is the first index whose cumulative share of the spectrum exceeds alpha', () => {
    // Shares: 0.4, 0.7, 0.9, 1.0.
    const s = [4, 3, 2, 1];
    assert.equal(dominantCount(s, 0), 0);
    assert.equal(dominantCount(s, 0.39), 0);
    assert.equal(dominantCount(s, 0.4), 1);
    assert.equal(dominantCount(s, 0.5), 1);
    assert.equal(dominantCount(s, 0.7), 2);
    assert.equal(dominantCount(s, 0.95), 3);
    assert.equal(dominantCount(s, 1), 4);
  });

  it('refuses bad settings and mismatched tasks with errors naming them', () => {
    assert.throws(() => new ContinualMerge({ kind: 'opcm', alpha: 1.5, lambda: 1, rankCap: null }), /alpha must be in \[0, 1\]/);
    assert.throws(() => new ContinualMerge({ kind: 'merge-ta', alpha: 0.5, lambda: -1, rankCap: null }), /lambda must be a positive/);
    assert.throws(() => new ContinualMerge({ kind: 'merge-avg', alpha: 0.5, lambda: 1, rankCap: 0 }), /rank cap/);
    const m = new ContinualMerge({ kind: 'merge-avg', alpha: 0.5, lambda: 1, rankCap: null });
    m.add(new Map([['x', { b: [1, 2], a: [3, 4, 5], out: 2, in: 3, rank: 1 }]]), 1);
    assert.throws(() => m.add(new Map([['y', { b: [1, 2], a: [3, 4, 5], out: 2, in: 3, rank: 1 }]]), 1), /no factors for x/);
    assert.throws(() => m.add(new Map([['x', { b: [1, 2, 3], a: [3, 4, 5], out: 3, in: 3, rank: 1 }]]), 1), /x: the new task's LoRA is 3 x 3, the merge 2 x 3/);
  });
});
