/**
 * `lets compare --queue` and `lets worker` against a real redis-server (started on a free
 * loopback port in a temporary directory, stopped at the end). Skipped, with the reason
 * printed, where redis-server is not installed (.ci/apt/cli.txt installs it in CI).
 *
 * The worker kill is not timed: worker A's training process holds at step 5 (LETS_FAULT, after
 * the checkpoint of step 4), the test waits until the run's metrics show step 5, then SIGKILLs
 * the worker; worker B takes the job once its lock has expired and resumes it.
 */
import * as E from 'fp-ts/Either';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Job, Queue } from 'bullmq';
import { checkReachable, checkStudyName, connectionOf, jobIdOf, parseQueueUrl, QUEUE_NAME, QueueUrl, validateJob } from './queue';
import { acquireLock } from './lock';
import { resolve, trainOptionsOf } from './options';
import { run, tempDir } from './test-util';

const LAUNCHER = join(__dirname, '..', 'bin', 'lets.js');
const hasRedis = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
if (!hasRedis) process.stdout.write('queue.test: SKIPPED the Redis tests: redis-server is not installed (apt-get install redis-server; CI installs it from .ci/apt/cli.txt)\n');

// 200 examples → 160 train, batch 20: 8 steps an epoch, 16 in all; a checkpoint every 2 steps.
const GRID = ['--preset', 'smoke', '--train-size', '200', '--test-size', '100', '--batch-size', '20', '--epochs', '2', '--checkpoint-every', '2', '--methods', 'sam,lets-sam', '--rhos', '0.02,0.1', '--quiet', '--no-report'];
/** `args` with the values of some flags replaced. */
const withFlags = (args: readonly string[], values: Readonly<Record<string, string>>): string[] => args.map((x, i) => values[args[i - 1] as string] ?? x);
const RUN_IDS = ['sam-rho0.02-seed0', 'sam-rho0.1-seed0', 'lets-sam-rho0.05-seed0'];

const freePort = (): Promise<number> =>
  new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, ms = 90_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface Proc {
  readonly child: ChildProcess;
  log: string;
  readonly exited: Promise<number | null>;
}

function start(args: readonly string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [LAUNCHER, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const p: Proc = { child, log: '', exited: new Promise((r) => child.on('exit', (c) => r(c))) };
  child.stdout?.on('data', (b: Buffer) => (p.log += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (p.log += b.toString()));
  return p;
}

const stepLines = (dir: string): number[] => {
  const f = join(dir, 'metrics.jsonl');
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"type":"step"'))
    .map((l) => (JSON.parse(l) as { step: number }).step);
};

const text = (f: string): string => readFileSync(f, 'utf8');

/** The job once it has failed (its state read first: the record read after it is final). */
const failedJob = async (queue: Queue, id: string): Promise<Job | undefined> => ((await queue.getJobState(id)) === 'failed' ? Job.fromId(queue, id) : undefined);

describe('queue URL and job checks', () => {
  it('reads redis URLs and refuses others with the expected form', () => {
    expect(parseQueueUrl('redis://127.0.0.1:6390/2')).toMatchObject({ right: { host: '127.0.0.1', port: 6390, db: 2, tls: false } });
    expect(parseQueueUrl('redis://:secret@h/0')).toMatchObject({ right: { password: 'secret', shown: 'redis://h:6379/0' } });
    const bad = parseQueueUrl('http://h:1/0');
    expect(E.isLeft(bad) && bad.left).toMatch(/--queue http:\/\/h:1\/0: scheme 'http' is not redis.*expected redis:\/\/HOST:PORT\/DB/);
    expect(E.isLeft(parseQueueUrl('redis://h/x'))).toBe(true);
    expect(E.isLeft(checkStudyName('a:b'))).toBe(true);
  });

  it('gives a run the same job id for the same config and another for any change', () => {
    const r = resolve('train', ['--preset', 'smoke']);
    if (E.isLeft(r)) throw new Error(r.left);
    const o = trainOptionsOf(r.right.values);
    expect(jobIdOf('st', 'sam-seed0', o)).toBe(jobIdOf('st', 'sam-seed0', { ...o }));
    expect(jobIdOf('st', 'sam-seed0', o)).not.toBe(jobIdOf('st', 'sam-seed0', { ...o, epochs: o.epochs + 1 }));
    expect(jobIdOf('st', 'sam-seed0', o)).toMatch(/^st\.sam-seed0\.[0-9a-f]{12}$/);
    const bad = validateJob({ v: 1, study: 'st', runId: 'r', config: { ...o, epochs: 0 }, outDir: '/x' });
    expect(E.isLeft(bad) && bad.left).toMatch(/key 'epochs'/);
    expect(E.isLeft(validateJob({ v: 1, study: 'st', runId: '../r', config: o, outDir: '/x' }))).toBe(true);
    expect(E.isLeft(validateJob({ v: 1, study: 'st', runId: 'r', config: o, outDir: 'rel' }))).toBe(true);
  });
});

(hasRedis ? describe : describe.skip)('compare --queue with lets worker processes on a real redis-server', () => {
  let root: string;
  let redis: ChildProcess;
  let url: string;
  let q: QueueUrl;
  let queue: Queue;
  const procs: Proc[] = [];
  let workerB: Proc;
  const saved = { ...process.env };

  beforeAll(async () => {
    root = tempDir('lets-queue-');
    const port = await freePort();
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', root], { stdio: 'ignore' });
    url = `redis://127.0.0.1:${port}/0`;
    q = (parseQueueUrl(url) as E.Right<QueueUrl>).right;
    await until('redis-server to answer', async () => (E.isRight(await checkReachable(q)) ? true : undefined), 20_000);
    queue = new Queue(QUEUE_NAME, { connection: connectionOf(q) });
    // Byte-comparable files: durations and timestamps are 0.
    process.env['LETS_FIXED_CLOCK'] = '1';
    process.env['LETS_QUEUE_POLL_MS'] = '200';
  });

  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await queue.close();
    redis.kill('SIGTERM');
    await new Promise((r) => (redis.exitCode !== null ? r(null) : redis.on('exit', r)));
    process.env = saved;
  });

  it('two workers, one SIGKILLed mid-run: every run finishes exactly once, resumed from its checkpoint, and the table equals the local compare', async () => {
    // The same grid locally (in this process), moved aside so the queued one writes the same paths.
    const cmp = join(root, 'cmp');
    const local = await run(['compare', ...GRID, '--jobs', '1', '--out', cmp, '--json']);
    expect(local.code).toBe(0);
    renameSync(cmp, join(root, 'local'));
    const localResult = JSON.parse(local.stdout) as { table: unknown[] };

    // Worker A: its first run holds after step 5 (the checkpoint of step 4 is on disk).
    const a = start(['worker', '--queue', url, '--stall-seconds', '2'], { LETS_FAULT: 'hold@step:5', LETS_FAULT_RELEASE: join(root, 'never') });
    procs.push(a);
    const pending = run(['compare', ...GRID, '--queue', url, '--name', 'grid', '--out', cmp, '--json']);
    const held = await until('worker A to reach step 5 of a run', () => RUN_IDS.find((id) => stepLines(join(cmp, 'runs', id)).length >= 5));
    expect(existsSync(join(cmp, 'runs', held, 'checkpoints', 'last.ckpt'))).toBe(true);
    a.child.kill('SIGKILL');
    expect(await a.exited).toBe(null);
    // Worker B: takes the other runs and, once A's lock has expired, the one A left.
    workerB = start(['worker', '--queue', url, '--stall-seconds', '2']);
    procs.push(workerB);
    const r = await pending;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout) as { table: unknown[]; runs: { id: string; summary: unknown }[]; queue: { workers: string[] } };
    expect(res.table).toEqual(localResult.table);
    expect(res.runs.every((x) => x.summary !== null)).toBe(true);
    for (const id of RUN_IDS) {
      const dir = join(cmp, 'runs', id);
      // Each step trained and logged once (a resume cuts what followed its checkpoint).
      expect(stepLines(dir)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
      const got = text(join(dir, 'summary.json'));
      const want = text(join(root, 'local', 'runs', id, 'summary.json'));
      if (id === held) {
        // Resumed: the same numbers, bit for bit, but it says it was resumed.
        expect(JSON.parse(got)).toEqual({ ...(JSON.parse(want) as object), resumed: true });
      } else {
        // Byte-identical to the local run's summary (same seed, backend and threads).
        expect(got).toBe(want);
      }
    }
    // Exactly once: A finished nothing, B finished every job once and resumed A's.
    const finished = (log: string): string[] => [...log.matchAll(/finished (grid\.\S+)/g)].map((m) => m[1] as string).sort();
    expect(finished(a.log)).toEqual([]);
    expect(finished(workerB.log).map((j) => j.split('.').slice(1, -1).join('.')).sort()).toEqual([...RUN_IDS].sort());
    expect(workerB.log).toMatch(new RegExp(`started grid\\.${held.replace(/\./g, '\\.')}\\.\\S+ \\(attempt 1\\): resuming in`));
    const counts = await queue.getJobCounts('completed', 'failed', 'active', 'waiting');
    expect(counts).toMatchObject({ completed: 3, failed: 0, active: 0, waiting: 0 });
  }, 240_000);

  it('the same compare --queue --name again redoes nothing; elsewhere it rebuilds the results from the queue alone', async () => {
    const before = workerB.log.length;
    const again = await run(['compare', ...GRID, '--queue', url, '--name', 'grid', '--out', join(root, 'cmp'), '--json']);
    expect(again.code).toBe(0);
    // Another directory (as on a machine without the shared file system): files from the queue.
    const other = join(root, 'elsewhere');
    const r = await run(['compare', ...GRID, '--queue', url, '--name', 'grid', '--out', other, '--json']);
    expect(r.code).toBe(0);
    expect(workerB.log.slice(before)).not.toMatch(/started/);
    for (const id of RUN_IDS) {
      expect(text(join(other, 'runs', id, 'summary.json'))).toBe(text(join(root, 'cmp', 'runs', id, 'summary.json')));
      expect(text(join(other, 'runs', id, 'metrics.jsonl'))).toBe(text(join(root, 'cmp', 'runs', id, 'metrics.jsonl')));
      expect(readdirSync(join(other, 'runs', id)).sort()).toEqual(['config.json', 'metrics.jsonl', 'summary.json']);
    }
    expect((JSON.parse(r.stdout) as { table: unknown }).table).toEqual((JSON.parse(again.stdout) as { table: unknown }).table);
    // A grid changed under the same --name and --out is refused.
    const changed = await run(['compare', ...withFlags(GRID, { '--rhos': '0.03' }), '--queue', url, '--name', 'grid', '--out', join(root, 'cmp')]);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/study 'grid' was started there with other options/);
  }, 120_000);

  it('a diverging run is failed after one attempt (divergence is deterministic) and reported', async () => {
    const r = await run(['compare', ...withFlags(GRID, { '--methods': 'sgd', '--epochs': '1' }), '--lr', '1e6', '--queue', url, '--name', 'div', '--out', join(root, 'div'), '--json']);
    expect(r.code).toBe(1);
    const res = JSON.parse(r.stdout) as { runs: { error?: string }[] };
    expect(res.runs[0]?.error).toMatch(/^training diverged at step \d+: loss NaN; .* \(1 attempt, at most 3\)$/);
  }, 120_000);

  it('a malformed job is failed at once with what is wrong', async () => {
    await queue.add('bad', { v: 1, study: 'x', runId: 'r', config: { epochs: 'many' }, outDir: 'relative/dir' }, { jobId: 'x.bad', attempts: 3 });
    const job = await until('the malformed job to fail', () => failedJob(queue, 'x.bad'));
    expect(job.failedReason).toMatch(/^malformed job x\.bad: outDir "relative\/dir" is not an absolute path$/);
    expect(job.attemptsMade).toBe(1);
    expect(workerB.log).toMatch(/rejected job x\.bad: malformed/);
  }, 60_000);

  it('a worker never writes a run directory another process holds: the job is retried, boundedly, then failed', async () => {
    const dir = join(root, 'held');
    mkdirSync(dir);
    const lock = acquireLock(dir, 'lets test');
    if (E.isLeft(lock)) throw new Error(lock.left);
    try {
      const r = resolve('train', ['--preset', 'smoke', '--epochs', '1']);
      if (E.isLeft(r)) throw new Error(r.left);
      const config = trainOptionsOf(r.right.values);
      await queue.add('held', { v: 1, study: 'held', runId: 'r', config, outDir: dir }, { jobId: 'held.r', attempts: 2, backoff: { type: 'fixed', delay: 100 } });
      const job = await until('the job on a held directory to fail', () => failedJob(queue, 'held.r'));
      expect(job.failedReason).toMatch(/is in use by lets test \(pid \d+ on this host/);
      expect(job.attemptsMade).toBe(2);
      expect(readdirSync(dir)).toEqual(['lock']);
    } finally {
      lock.right.release();
    }
  }, 120_000);
  it('a worker stopped by SIGTERM checkpoints its run and puts the job back; a worker that cannot reach the checkpoint starts it again', async () => {
    // Worker B has nothing to do: SIGTERM stops it.
    workerB.child.kill('SIGTERM');
    expect(await workerB.exited).toBe(143);
    const release = join(root, 'release');
    const c = start(['worker', '--queue', url, '--stall-seconds', '2'], { LETS_FAULT: 'hold@step:5', LETS_FAULT_RELEASE: release });
    procs.push(c);
    const cmp = join(root, 'stop');
    const id = 'sam-rho0.03-seed0';
    const pending = run(['compare', ...withFlags(GRID, { '--methods': 'sam', '--rhos': '0.03' }), '--queue', url, '--name', 'stop', '--out', cmp, '--json']);
    await until('worker C to reach step 5', () => (stepLines(join(cmp, 'runs', id)).length >= 5 ? true : undefined));
    c.child.kill('SIGTERM');
    await until('the held run to take the SIGTERM', () => (/stop\.sam-rho0\.03-seed0\.\S+: SIGTERM: finishing step \d+/.test(c.log) ? true : undefined));
    mkdirSync(release);
    expect(await c.exited).toBe(143);
    expect(c.log).toMatch(/checkpointed and back in the queue/);
    const [job] = await queue.getJobs(['waiting']);
    expect(job?.id).toMatch(/^stop\.sam-rho0\.03-seed0\./);
    expect(job?.attemptsMade).toBe(0);
    expect(stepLines(join(cmp, 'runs', id))).toEqual([1, 2, 3, 4, 5]);
    // Worker D writes under its own --out (as on a machine without the shared file system): from step 0.
    const d = start(['worker', '--queue', url, '--stall-seconds', '2', '--out', join(root, 'd-local')]);
    procs.push(d);
    const r = await pending;
    expect(r.code).toBe(0);
    const own = join(root, 'd-local', 'stop', 'runs', id);
    expect(d.log).toMatch(/new run in .*d-local\/stop\/runs\/sam-rho0\.03-seed0/);
    expect(stepLines(own)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(JSON.parse(text(join(own, 'summary.json')))).toMatchObject({ resumed: false, steps: 16 });
    // The comparison has the run's files from the queue.
    expect(text(join(cmp, 'runs', id, 'summary.json'))).toBe(text(join(own, 'summary.json')));
  }, 180_000);
});
