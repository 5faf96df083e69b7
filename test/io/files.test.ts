// Tests the FileSource implementations (directory, picked Files, URL prefix, memory) and the error types.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FormatError, MissingFileError } from '../../src/io/errors.ts';
import { fileListSource, memorySource, parseJson, readJson, urlSource } from '../../src/io/files.ts';
import { dirSource } from '../../src/io/node-files.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('errors', () => {
  test('FormatError message names the file, line and detail', () => {
    const e = new FormatError('config.json', 'missing "hidden_size"');
    assert.equal(e.message, 'config.json: missing "hidden_size"');
    assert.equal(e.file, 'config.json');
    assert.equal(e.line, undefined);
    assert.equal(e.name, 'FormatError');
    assert.ok(e instanceof Error);
    const l = new FormatError('data.jsonl', 'invalid JSON', { line: 12, detail: 'Unexpected token' });
    assert.equal(l.message, 'data.jsonl:12: invalid JSON (Unexpected token)');
    assert.equal(l.line, 12);
    assert.equal(l.detail, 'Unexpected token');
    assert.equal(l.problem, 'invalid JSON');
  });

  test('MissingFileError names the file and the source', () => {
    const e = new MissingFileError('tokenizer.json', '/models/x');
    assert.equal(e.message, 'tokenizer.json: not found in /models/x');
    assert.equal(e.file, 'tokenizer.json');
    assert.equal(e.source, '/models/x');
  });

  test('parseJson reports the file and, when known, the line', () => {
    assert.deepEqual(parseJson('{"a": [1]}', 'x.json'), { a: [1] });
    assert.throws(() => parseJson('{\n  "a": 1,\n  "b" 2\n}', 'config.json'), (e: unknown) => {
      assert.ok(e instanceof FormatError);
      assert.equal(e.file, 'config.json');
      assert.ok(e.message.startsWith('config.json'), e.message);
      assert.match(e.message, /invalid JSON/);
      if (e.line !== undefined) assert.equal(e.line, 3);
      return true;
    });
  });
});

describe('dirSource', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'clora-files-'));
    writeFileSync(join(dir, 'config.json'), '\ufeff{"a": 1}');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'w.bin'), new Uint8Array([1, 2, 3]));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('has, read, readText (BOM dropped), nested names', async () => {
    const src = dirSource(dir);
    assert.equal(src.label, dir);
    assert.equal(await src.has('config.json'), true);
    assert.equal(await src.has('nope.json'), false);
    assert.equal(await src.has('sub'), false, 'a directory is not a file');
    assert.deepEqual(await readJson(src, 'config.json'), { a: 1 });
    assert.deepEqual([...(await src.read('sub/w.bin'))], [1, 2, 3]);
    let seen: [number, number | null] | null = null;
    await src.read('sub/w.bin', (l, t) => (seen = [l, t]));
    assert.deepEqual(seen, [3, 3]);
  });

  test('missing files raise MissingFileError naming the directory', async () => {
    const src = dirSource(dir);
    await assert.rejects(src.read('model.safetensors'), (e: unknown) =>
      e instanceof MissingFileError && e.message === `model.safetensors: not found in ${dir}`);
    await assert.rejects(src.readText('config.json/x'), MissingFileError);
  });
});

describe('fileListSource', () => {
  const file = (name: string, text: string, relativePath?: string) => {
    const f = new File([text], name);
    if (relativePath !== undefined) Object.defineProperty(f, 'webkitRelativePath', { value: relativePath });
    return f;
  };

  test('matches by basename for individually picked files', async () => {
    const src = fileListSource([file('config.json', '{}'), file('tokenizer.json', 'tok')], 'picked');
    assert.equal(src.label, 'picked');
    assert.equal(await src.has('config.json'), true);
    assert.equal(await src.has('model.safetensors'), false);
    assert.equal(await src.readText('tokenizer.json'), 'tok');
    await assert.rejects(src.read('model.safetensors'), (e: unknown) => e instanceof MissingFileError && e.message === 'model.safetensors: not found in picked');
  });

  test('matches relative paths of a picked folder; the shallowest match wins', async () => {
    const src = fileListSource([
      file('config.json', 'top', 'MyModel/config.json'),
      file('config.json', 'nested', 'MyModel/checkpoint-10/config.json'),
      file('adapter_config.json', 'ckpt', 'MyModel/checkpoint-10/adapter_config.json'),
    ]);
    assert.equal(await src.readText('config.json'), 'top');
    assert.equal(await src.readText('checkpoint-10/config.json'), 'nested');
    assert.equal(await src.readText('MyModel/checkpoint-10/config.json'), 'nested');
    assert.equal(await src.readText('adapter_config.json'), 'ckpt');
  });

  test('accepts {file, path} pairs from dropped folders and refuses ambiguous names', async () => {
    const src = fileListSource([
      { file: file('a.json', 'A'), path: '/drop/run-a/adapter_config.json' },
      { file: file('b.json', 'B'), path: 'drop/run-b/adapter_config.json' },
    ], 'dropped folder');
    assert.equal(await src.readText('run-b/adapter_config.json'), 'B');
    await assert.rejects(src.read('adapter_config.json'), /dropped folder: several files match adapter_config\.json/);
  });
});

describe('urlSource', () => {
  let server: Server;
  let base = '';
  const files: Record<string, string> = { '/m/config.json': '{"x": 1}', '/m/sub%20dir/w.bin': 'abcdef', '/m/page.html': '<html></html>' };
  before(async () => {
    server = createServer((req, res) => {
      const url = req.url ?? '';
      if (url.startsWith('/nohead/') && req.method === 'HEAD') {
        res.writeHead(405).end();
        return;
      }
      const path = url.replace(/^\/(spa|nohead)\//, '/m/');
      if (url === '/m/broken.json') {
        res.writeHead(500).end('boom');
        return;
      }
      const body = files[path];
      if (body !== undefined) {
        const type = path.endsWith('.html') ? 'text/html' : 'application/octet-stream';
        res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      } else if (url.startsWith('/spa/')) {
        // What a single-page-app dev server answers for unknown paths.
        res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><div id=root></div>');
      } else {
        res.writeHead(404).end('not found');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('has, read, readText, encoded names, progress', async () => {
    const src = urlSource(`${base}/m/`);
    assert.equal(src.label, `${base}/m/`);
    assert.equal(await src.has('config.json'), true);
    assert.equal(await src.has('missing.json'), false);
    assert.deepEqual(await readJson(src, 'config.json'), { x: 1 });
    const seen: [number, number | null][] = [];
    const got = await src.read('sub dir/w.bin', (l, t) => seen.push([l, t]));
    assert.equal(new TextDecoder().decode(got), 'abcdef');
    assert.deepEqual(seen[seen.length - 1], [6, 6]);
    assert.equal(await urlSource(`${base}/m`).readText('config.json'), '{"x": 1}');
  });

  test('404 is a MissingFileError; other HTTP errors say so', async () => {
    const src = urlSource(`${base}/m/`);
    await assert.rejects(src.read('model.safetensors'), (e: unknown) =>
      e instanceof MissingFileError && e.message === `model.safetensors: not found in ${base}/m/`);
    await assert.rejects(src.read('broken.json'), /broken\.json: HTTP 500/);
  });

  test('an HTML fallback page for a non-HTML name counts as missing', async () => {
    const src = urlSource(`${base}/spa/`);
    assert.equal(await src.has('model.safetensors.index.json'), false);
    await assert.rejects(src.readText('model.safetensors.index.json'), MissingFileError);
    assert.equal(await src.has('config.json'), true);
    assert.equal(await src.has('page.html'), true);
  });

  test('servers that refuse HEAD are asked with GET', async () => {
    const src = urlSource(`${base}/nohead/`);
    assert.equal(await src.has('config.json'), true);
    assert.equal(await src.has('absent.json'), false);
  });
});

describe('memorySource', () => {
  test('strings and bytes, missing names', async () => {
    const src = memorySource({ 'a.json': '{"k": true}', 'b.bin': bytes('xy') }, 'adapter in storage');
    assert.equal(await src.has('a.json'), true);
    assert.equal(await src.has('toString'), false);
    assert.deepEqual(await readJson(src, 'a.json'), { k: true });
    assert.deepEqual([...(await src.read('a.json'))], [...bytes('{"k": true}')]);
    assert.equal(await src.readText('b.bin'), 'xy');
    await assert.rejects(src.read('c'), (e: unknown) => e instanceof MissingFileError && e.message === 'c: not found in adapter in storage');
  });
});
