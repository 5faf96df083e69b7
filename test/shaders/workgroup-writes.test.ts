// Every shader stores whole values into workgroup memory: a write to one component of a vector (or one element of
// a matrix) held in var<workgroup> may touch the whole vector, so invocations writing neighbouring components race
// on some GPUs. This reads every shader in shaders/ and fails on such a write; the checker itself is tested on the
// pattern the tiled matmul's staging once had.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findPartialWorkgroupWrites } from '../helpers/workgroup-writes.ts';

const SHADERS = join(import.meta.dirname, '..', '..', 'shaders');

function allShaders(): Record<string, string> {
  const files = readdirSync(SHADERS).filter((f) => f.endsWith('.wgsl')).sort();
  return Object.fromEntries(files.map((f) => [f, readFileSync(join(SHADERS, f), 'utf8')]));
}

describe('workgroup memory is written in whole values', () => {
  it('no shader writes part of a vector, matrix or struct member held in var<workgroup>', () => {
    const shaders = allShaders();
    assert.ok(Object.keys(shaders).length >= 20, 'the shaders folder was read');
    assert.ok(Object.values(shaders).some((s) => /var<workgroup>\s*\w+\s*:\s*array<tile_vec4/.test(s)), 'the tiled matmul stages vec4 tiles');
    const found = findPartialWorkgroupWrites(shaders);
    assert.deepEqual(found.map((w) => `${w.file}:${w.line} ${w.variable}: ${w.text}`), []);
  });

  it('finds component writes through an alias, a swizzle, a matrix index, a struct member and a pointer', () => {
    const aliases = 'alias tile_vec4 = vec4f;\nstruct Pair { a: vec2f, n: u32 }\n';
    const cases: Record<string, string> = {
      'staging.wgsl': 'var<workgroup> As: array<tile_vec4, 256>;\nfn f(i: u32, v: f32) {\n  As[i / 4u][i % 4u] = v;\n}',
      'swizzle.wgsl': 'var<workgroup> t: array<vec4f, 8>;\nfn f(i: u32) {\n  t[i].y += 1.0;\n}',
      'matrix.wgsl': 'var<workgroup> m: mat4x4f;\nfn f() {\n  m[1] = vec4f(0.0);\n}',
      'struct.wgsl': 'var<workgroup> s: array<Pair, 4>;\nfn f() {\n  s[0].a.x = 1.0;\n}',
      'pointer.wgsl': 'var<workgroup> t: array<vec2f, 8>;\nfn f() {\n  let q = &t[1];\n}',
    };
    const found = findPartialWorkgroupWrites({ 'types.wgsl': aliases, ...cases });
    assert.deepEqual(found.map((w) => [w.file, w.line, w.variable]).sort(), [
      ['matrix.wgsl', 3, 'm'], ['pointer.wgsl', 3, 't'], ['staging.wgsl', 3, 'As'], ['struct.wgsl', 3, 's'], ['swizzle.wgsl', 3, 't'],
    ]);
  });

  it('accepts whole-value stores, reads, scalar arrays, struct members written whole and comparisons', () => {
    const ok = [
      'alias tile_vec4 = vec4f;\nstruct Pair { a: vec2f, n: u32 }',
      'var<workgroup> As: array<tile_vec4, 272>;\nvar<workgroup> red: array<f32, 64>;\nvar<workgroup> s: array<Pair, 4>;',
      'fn f(i: u32, v: vec4f) -> f32 {',
      '  As[i * 17u + 1u] = v;',
      '  red[i] += As[i].x;',
      '  s[i].a = vec2f(0.0);',
      '  s[i].n++;',
      '  if (As[i].x == red[i] && As[i].y <= 1.0) { return As[i][2]; }',
      '  // As[i].x = 1.0; in a comment is not a write',
      '  return 0.0;',
      '}',
    ].join('\n');
    assert.deepEqual(findPartialWorkgroupWrites({ 'ok.wgsl': ok }), []);
  });
});
