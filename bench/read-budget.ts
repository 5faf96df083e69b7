// `npm run bench -- --read-budget`: how long `clora run` takes to its first training step and how much memory it
// peaks at on a 300 MB JSONL task against a small one (the generator's first 2,000 records), with maxTrain 400 and
// maxTest 50 and, with --uncapped, without caps. Each case is a fresh `node bin/clora.js run` on the bundled demo
// model; its peak resident memory (VmHWM) is polled from /proc until the first training step's progress line, then
// the process is stopped. The task file is written to a temporary folder (or --file) and never committed. Prints the
// figures and writes bench-output/read-budget.json. Not a test: it asserts nothing.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeBigTask } from './big-task.ts';

const root = resolve(import.meta.dirname, '..');

export interface ReadBudgetRow {
  case: string;
  fileBytes: number;
  maxTrain: number | null;
  maxTest: number | null;
  /** Seconds from starting the process to the first training step's progress line (the step done); null when it ran out of time. */
  firstStepSeconds: number | null;
  /** Peak resident memory of the process up to then (VmHWM). */
  peakRssBytes: number;
}

function vmHwm(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Runs `clora run` on one experiment until its first training step; returns the time and the peak RSS then. */
function untilFirstStep(cli: string, experiment: string, out: string, timeoutSeconds: number): Promise<{ seconds: number | null; peak: number }> {
  return new Promise((done, fail) => {
    const started = performance.now();
    const child = spawn(process.execPath, [cli, 'run', experiment, '--out', out], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let peak = 0;
    let stderr = '';
    const poll = setInterval(() => {
      peak = Math.max(peak, vmHwm(child.pid!) ?? 0);
    }, 20);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      peak = Math.max(peak, vmHwm(child.pid!) ?? 0);
      child.kill('SIGKILL');
    }, timeoutSeconds * 1000);
    let finished = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      stderr += text;
      if (!finished && / train 1\/\d+ loss /.test(stderr)) {
        finished = true;
        const seconds = (performance.now() - started) / 1000;
        peak = Math.max(peak, vmHwm(child.pid!) ?? 0);
        child.kill('SIGKILL');
        done({ seconds, peak });
      }
    });
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      clearTimeout(timer);
      if (!finished && timedOut) done({ seconds: null, peak });
      else if (!finished) fail(new Error(`clora run stopped before its first training step (exit ${code ?? signal}):\n${stderr.slice(-2000)}`));
    });
  });
}

/**
 * `file`: the big task (written when missing); `mb`: its size when written (default 300); `uncapped`: also run it
 * without caps (minutes: every example is tokenised once); `cli`: another build's entry point to measure (default this
 * checkout's bin/clora.js); `timeoutSeconds`: a case that reaches no training step by then reports its peak so far.
 */
export async function runReadBudget(opts: { file?: string; uncapped?: boolean; mb?: number; cli?: string; timeoutSeconds?: number }): Promise<void> {
  const cli = resolve(opts.cli ?? join(root, 'bin/clora.js'));
  const work = mkdtempSync(join(tmpdir(), 'clora-read-budget-'));
  const bytes = (opts.mb ?? 300) * 1e6;
  const big = opts.file ? resolve(opts.file) : join(work, 'big.jsonl');
  try {
    if (!existsSync(big)) {
      process.stderr.write(`  (writing ${(bytes / 1e6).toFixed(0)} MB of JSONL to ${big})\n`);
      writeBigTask(big, bytes);
    }
    // The small file: the first records of the same generator, about 2,000 of them.
    const small = join(work, 'small.jsonl');
    writeBigTask(small, 480_000);
    const cases: { name: string; file: string; caps: boolean }[] = [
      { name: 'small, capped', file: small, caps: true },
      { name: 'big, capped', file: big, caps: true },
      { name: 'big, uncapped', file: big, caps: false },
    ].filter((c) => c.caps || opts.uncapped);
    const rows: ReadBudgetRow[] = [];
    console.log(`${cli} run to its first training step (demo model, seqlora, batch 8, maxLength 128); peak RSS = VmHWM up to then`);
    for (const c of cases) {
      const exp = join(work, `${rows.length}.json`);
      writeFileSync(exp, JSON.stringify({
        tasks: [c.file], methods: ['seqlora'], steps: 1, batchSize: 8, maxLength: 128, maxNewTokens: 2,
        ...(c.caps ? { maxTrain: 400, maxTest: 50 } : {}),
      }));
      const { seconds, peak } = await untilFirstStep(cli, exp, join(work, `out-${rows.length}`), opts.timeoutSeconds ?? 1800);
      const row: ReadBudgetRow = {
        case: c.name, fileBytes: statSync(c.file).size, maxTrain: c.caps ? 400 : null, maxTest: c.caps ? 50 : null,
        firstStepSeconds: seconds, peakRssBytes: peak,
      };
      rows.push(row);
      const over = rows[0] !== row ? `, ${((peak - rows[0].peakRssBytes) / 2 ** 20).toFixed(0)} MiB over the small file` : '';
      const when = seconds === null ? `no first step in ${opts.timeoutSeconds ?? 1800} s` : `first step ${seconds.toFixed(1)} s`;
      console.log(`  ${c.name.padEnd(14)} ${(row.fileBytes / 1e6).toFixed(1).padStart(6)} MB  ${when}  peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB${over}`);
    }
    mkdirSync(join(root, 'bench-output'), { recursive: true });
    writeFileSync(join(root, 'bench-output/read-budget.json'), JSON.stringify(rows, null, 2));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
