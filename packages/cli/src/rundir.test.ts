/**
 * The run directory survives what a hostile user (or the machine) does to it: two writers,
 * a crash between the checkpoint writes, a full disk, signals, a failure before the first
 * checkpoint. Faults are injected at exact points (LETS_FAULT, ./faults.ts), never by timing;
 * the concurrency and signal cases use real processes and real signals. The clock is frozen
 * (LETS_FIXED_CLOCK=1) so every file of a run compares byte for byte with an uninterrupted run.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { resetFaults } from './faults';
import { acquireLock, liveOwner } from './lock';
import { run, tempDir, TINY } from './test-util';

const LAUNCHER = join(__dirname, '..', 'bin', 'lets.js');
// 200 examples → 160 train, batch 20: 8 steps an epoch, 16 in all; checkpoints every 3 steps.
const ARGS = [...TINY, '--method', 'lets-sam', '--every', '2', '--checkpoint-every', '3', '--no-report'];

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Child {
  readonly pid: number;
  readonly done: Promise<Exit>;
  /** Resolves once stdout or stderr has printed `text`. */
  readonly printed: (text: string) => Promise<void>;
  readonly kill: (s: NodeJS.Signals) => void;
}

const children = new Set<{ kill: (s: NodeJS.Signals) => void }>();

/** `lets <args>` in a new process (the launcher, as a user runs it). */
function start(args: readonly string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, [LAUNCHER, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LETS_FIXED_CLOCK: '1', ...env } });
  let out = '';
  let err = '';
  const waiting: { text: string; resolve: () => void }[] = [];
  const check = (): void => {
    for (const w of [...waiting]) {
      if (out.includes(w.text) || err.includes(w.text)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    check();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    check();
  });
  children.add(child);
  const done = new Promise<Exit>((resolve) =>
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, stdout: out, stderr: err });
    }),
  );
  return {
    pid: child.pid as number,
    done,
    printed: (text) =>
      new Promise<void>((resolve, reject) => {
        waiting.push({ text, resolve });
        check();
        void done.then((e) => reject(new Error(`exited (${e.code ?? e.signal}) before printing '${text}': ${e.stderr}`)));
      }),
    kill: (s) => child.kill(s),
  };
}

const bytes = (dir: string, file: string): Buffer => readFileSync(join(dir, file));
const json = (dir: string, file: string): Record<string, unknown> => JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;

/** Every file of the run equals the reference's, byte for byte (summary: but for where it is and whether it was resumed). */
function expectSameRun(dir: string, ref: string): void {
  for (const f of ['config.json', 'metrics.jsonl', 'checkpoints/last.ckpt', 'checkpoints/best.ckpt']) {
    expect([f, bytes(dir, f).equals(bytes(ref, f))]).toEqual([f, true]);
  }
  const { runDir: _a, resumed: _b, ...s } = json(dir, 'summary.json');
  const { runDir: _c, resumed: _d, ...r } = json(ref, 'summary.json');
  expect(s).toEqual(r);
  expect(readdirSync(join(dir, 'checkpoints')).sort()).toEqual(['best.ckpt', 'last.ckpt']);
  expect(existsSync(join(dir, 'lock'))).toBe(false);
}

const stepsLogged = (dir: string): unknown[] =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((m) => m['type'] === 'step').map((m) => m['step']);

let reference: string;

beforeAll(async () => {
  process.env['LETS_FIXED_CLOCK'] = '1';
  reference = join(tempDir(), 'ref');
  const r = await run(['train', ...ARGS, '--out', reference]);
  expect(r.code).toBe(0);
});

afterAll(() => {
  delete process.env['LETS_FIXED_CLOCK'];
});

afterEach(() => {
  delete process.env['LETS_FAULT'];
  resetFaults();
  // A test that failed early leaves no process held behind it.
  for (const c of children) c.kill('SIGKILL');
  children.clear();
});

describe('1. one writer per run directory', () => {
  it('a second process on the same --out is refused naming the first; the first run is intact', async () => {
    const root = tempDir();
    const dir = join(root, 'c');
    const release = join(root, 'go');
    const a = start(['train', ...ARGS, '--seed', '1', '--out', dir], { LETS_FAULT: 'hold@step:2', LETS_FAULT_RELEASE: release });
    await a.printed('holding at step:2');
    const b = await start(['train', ...ARGS, '--seed', '2', '--out', dir]).done;
    expect(b.code).toBe(2);
    expect(b.stderr).toContain(`lets train: --out ${dir} is in use by lets train (pid ${a.pid} on this host`);
    expect(b.stderr.trim().split('\n')).toHaveLength(1);
    const r = await start(['train', '--resume', dir, '--quiet']).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`(pid ${a.pid} on this host`);
    writeFileSync(release, '');
    expect((await a.done).code).toBe(0);
    expect(json(dir, 'config.json')['seed']).toBe(1);
    expect(json(dir, 'summary.json')['seed']).toBe(1);
    expect(stepsLogged(dir)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(existsSync(join(dir, 'lock'))).toBe(false);
  });

  it('a stale lock (its process is gone) is reported and taken over; a lock of another host is refused', async () => {
    const dead = start(['--version']);
    await dead.done;
    const dir = join(tempDir(), 'stale');
    mkdirSync(dir);
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: dead.pid, host: hostname(), command: 'lets train', startedAt: 'then', token: 'x' }));
    const r = await run(['train', ...ARGS, '--out', dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`took over the stale lock of lets train (pid ${dead.pid} on this host, since then): that process is no longer running`);
    const other = join(tempDir(), 'remote');
    mkdirSync(other);
    writeFileSync(join(other, 'lock'), JSON.stringify({ pid: 1, host: 'elsewhere', command: 'lets compare', startedAt: 'then', token: 'y' }));
    const c = await run(['compare', ...TINY, '--methods', 'sam', '--out', other]);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain(`is in use by lets compare (pid 1 on host elsewhere, since then) (another machine: if no run is active there, remove ${join(other, 'lock')})`);
    // liveOwner (what tools/study.mjs asks before it removes a run directory) judges the same way.
    expect(liveOwner(other)?.command).toBe('lets compare');
    writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: dead.pid, host: hostname(), command: 'lets train', startedAt: 'then', token: 'x' }));
    expect(liveOwner(dir)).toBeUndefined();
    expect(liveOwner(join(tempDir(), 'none'))).toBeUndefined();
    const mine = acquireLock(dir, 'lets train (this test)');
    if (E.isLeft(mine)) throw new Error(mine.left);
    expect(liveOwner(dir)?.pid).toBe(process.pid);
    mine.right.release();
    expect(liveOwner(dir)).toBeUndefined();
  });
});

describe('2. crash-consistent commits', () => {
  it('killed after last.ckpt names a new best but before best.ckpt is in place: resume puts it there', async () => {
    const dir = join(tempDir(), 'cut');
    const a = await start(['train', ...ARGS, '--out', dir], { LETS_FAULT: 'kill@best-link#2' }).done;
    expect(a.signal).toBe('SIGKILL');
    // best.ckpt still holds epoch 1; last.ckpt (step 16) names the best of epoch 2.
    expect(bytes(dir, 'checkpoints/best.ckpt').equals(bytes(reference, 'checkpoints/best.ckpt'))).toBe(false);
    const r = await run(['train', '--resume', dir, '--quiet', '--no-report']);
    expect(r.code).toBe(0);
    expectSameRun(dir, reference);
  });

  it('killed between a checkpoint temp file and its rename: the orphan is removed, metrics are cut back, nothing is written twice', async () => {
    const dir = join(tempDir(), 'rename');
    const a = await start(['train', ...ARGS, '--out', dir], { LETS_FAULT: 'kill@rename:last.ckpt#4' }).done;
    expect(a.signal).toBe('SIGKILL');
    expect(readdirSync(join(dir, 'checkpoints')).some((f) => f.endsWith('.tmp'))).toBe(true);
    const r = await run(['train', '--resume', dir, '--quiet', '--no-report']);
    expect(r.code).toBe(0);
    expectSameRun(dir, reference);
    expect(stepsLogged(dir)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
  });

  it('a full disk (ENOSPC injected into the best.ckpt write) fails in one line; the last checkpoint is intact and resumes exactly', async () => {
    const dir = join(tempDir(), 'full');
    process.env['LETS_FAULT'] = 'ENOSPC@before:best.ckpt#2';
    const a = await run(['train', ...ARGS, '--out', dir]);
    delete process.env['LETS_FAULT'];
    expect(a.code).toBe(1);
    expect(a.stderr).toBe(
      `lets train: cannot write ${join(dir, 'checkpoints', '.best-16.ckpt')}: no space left on device (ENOSPC); the checkpoint of step 15 is intact: continue with lets train --resume ${dir}\n`,
    );
    expect(existsSync(join(dir, 'lock'))).toBe(false);
    const r = await run(['train', '--resume', dir, '--quiet', '--no-report']);
    expect(r.code).toBe(0);
    expectSameRun(dir, reference);
  });
});

describe('7. signals', () => {
  it('SIGINT finishes the step, checkpoints, prints the resume command and exits 130; the resumed run is exact', async () => {
    const dir = join(tempDir(), 'int');
    const a = await start(['train', ...ARGS, '--out', dir], { LETS_FAULT: 'sigint@step:4' }).done;
    expect(a.code).toBe(130);
    expect(a.stderr).toContain(`stopped by SIGINT after step 4; checkpoint written. Continue with: lets train --resume ${dir}\n`);
    const r = await run(['train', '--resume', dir, '--quiet', '--no-report']);
    expect(r.code).toBe(0);
    expectSameRun(dir, reference);
  });

  it('SIGTERM from another process exits 143 after a checkpoint; a second signal ends the process at once', async () => {
    const root = tempDir();
    const release = join(root, 'go');
    const dir = join(root, 'term');
    const a = start(['train', ...ARGS, '--out', dir], { LETS_FAULT: 'hold@step:2', LETS_FAULT_RELEASE: release });
    await a.printed('holding at step:2');
    a.kill('SIGTERM');
    await a.printed('SIGTERM: finishing step');
    writeFileSync(release, '');
    const e = await a.done;
    expect(e.code).toBe(143);
    expect(e.stderr).toContain(`Continue with: lets train --resume ${dir}`);
    expect(json(dir, 'config.json')['method']).toBe('lets-sam');

    // Twice: the second signal kills it where it is (held at step 2, before any checkpoint).
    const dir2 = join(root, 'twice');
    const b = start(['train', ...ARGS, '--out', dir2], { LETS_FAULT: 'hold@step:2', LETS_FAULT_RELEASE: join(root, 'never') });
    await b.printed('holding at step:2');
    b.kill('SIGINT');
    await b.printed('SIGINT: finishing step');
    b.kill('SIGINT');
    const f = await b.done;
    expect(f.signal).toBe('SIGINT');
    // 5. Killed before its first checkpoint: --resume starts it again from step 0 (the lock is stale).
    const r = await run(['train', '--resume', dir2, '--quiet', '--no-report']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('no checkpoint yet (the run ended before its first one): starting it again from step 0');
    expectSameRun(dir2, reference);
    const t = await run(['train', '--resume', dir, '--quiet', '--no-report']);
    expect(t.code).toBe(0);
    expectSameRun(dir, reference);
  });
});

describe('7. signals in a comparison', () => {
  it('Ctrl-C (SIGINT to the process group) stops compare: workers checkpoint, compare exits 130 naming how to continue each run', async () => {
    const root = tempDir();
    const out = join(root, 'cmp');
    const release = join(root, 'go');
    const child = spawn(process.execPath, [LAUNCHER, 'compare', ...TINY, '--methods', 'sam,lets-sam', '--rhos', '0.05', '--seeds', '0,1', '--jobs', '2', '--no-report', '--out', out], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, LETS_CLI_ENTRY: LAUNCHER, LETS_FIXED_CLOCK: '1', LETS_FAULT: 'hold@step:2', LETS_FAULT_RELEASE: release },
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const group = {
      kill: (s: NodeJS.Signals): void => {
        try {
          process.kill(-(child.pid as number), s);
        } catch {
          /* already gone */
        }
      },
    };
    children.add(group);
    const done = new Promise<number | null>((r) =>
      child.on('close', (code) => {
        children.delete(group);
        r(code);
      }),
    );
    // Both workers are held after step 2 (their metric line for step 2 is written first).
    const held = (id: string): boolean => existsSync(join(out, 'runs', id, 'metrics.jsonl')) && readFileSync(join(out, 'runs', id, 'metrics.jsonl'), 'utf8').includes('"step":2,');
    while (!(held('sam-rho0.05-seed0') && held('sam-rho0.05-seed1'))) await new Promise((r) => setTimeout(r, 50));
    process.kill(-(child.pid as number), 'SIGINT');
    while (!err.includes('starting no new runs')) await new Promise((r) => setTimeout(r, 20));
    writeFileSync(release, '');
    expect(await done).toBe(130);
    const seed0 = join(out, 'runs', 'sam-rho0.05-seed0');
    expect(err).toContain(`lets compare: stopped by SIGINT: 0 of 4 runs finished; the others: lets train --resume ${seed0}; lets train --resume ${join(out, 'runs', 'sam-rho0.05-seed1')}; lets train --config ${join(out, 'configs', 'lets-sam-rho0.05-seed0.json')} --out ${join(out, 'runs', 'lets-sam-rho0.05-seed0')};`);
    expect(existsSync(join(out, 'lock'))).toBe(false);
    const r = await run(['train', '--resume', seed0, '--quiet', '--no-report']);
    expect(r.code).toBe(0);
  });
});

describe('5. failures before the first checkpoint', () => {
  it('a directory left by a start killed before config.json (a stale lock, an empty checkpoints/) can be reused with --out', async () => {
    const dir = join(tempDir(), 'early');
    const a = await start(['train', ...ARGS, '--out', dir], { LETS_FAULT: 'kill@lock' }).done;
    expect(a.signal).toBe('SIGKILL');
    expect(readdirSync(dir)).toEqual(['lock']);
    const nothing = await run(['train', '--resume', dir]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain(`no run was started there (no config.json); start one with --out ${dir}`);
    const r = await run(['train', ...ARGS, '--out', dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('took over the stale lock');
    expectSameRun(dir, reference);
  });

  it('a run that diverges at once leaves config.json only, and says how to restart or remove it', async () => {
    const dir = join(tempDir(), 'nan');
    const a = await run(['train', ...TINY, '--method', 'sgd', '--lr', '1e39', '--checkpoint-every', '1', '--out', dir]);
    expect(a.code).toBe(1);
    expect(a.stderr).toBe(
      `lets train: training diverged at step 1: non-finite values in params/dense0/kernel; likely cause: the learning rate: lower --lr (1e+39); nothing was checkpointed (lets train --resume ${dir} starts it again from step 0, or remove ${dir})\n`,
    );
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual([]);
  });
});
