/**
 * `lets compare --queue redis://HOST:PORT/DB`: the comparison's runs as jobs of a BullMQ queue
 * on Redis, trained by `lets worker` processes on any machine (./worker.ts).
 *
 * A job is one run: {v, study, runId, config (the full TrainOptions), outDir}; its id
 * `<study>.<runId>.<digest of the config>` is deterministic, so enqueueing the same study again
 * finds the jobs already there (finished ones are not redone, failed ones are retried) and a
 * changed config is a new job. A finished job's return value carries the run's config.json,
 * metrics.jsonl and summary.json as the worker wrote them, so compare builds its table and
 * report.html from the queue alone; on a shared file system the worker has written the same
 * files into the run's directory already.
 *
 * All studies share one queue (`lets`) in the Redis database of the URL; workers take jobs of
 * any study.
 */
import * as E from 'fp-ts/Either';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, isAbsolute, join } from 'node:path';
import { Job, Queue } from 'bullmq';
import IORedis from 'ioredis';
import { CompareResult, CompareRun, planRuns, tabulate } from './compare';
import { readJson, writeRunFile, writeJsonAtomic } from './files';
import { acquireLock, Lock } from './lock';
import { CompareOptions, RunFlags, TrainOptions, validateTrainOptions } from './options';
import { makeOutputDir } from './rundir';
import { Interrupted, watchSignals } from './signals';
import type { TrainSummary } from './train';

/** The one queue all studies share (BullMQ keys `bull:lets:*` in the URL's database). */
export const QUEUE_NAME = 'lets';

/** Version of the job format; a worker rejects any other. */
export const JOB_FORMAT = 1;

export interface QueueUrl {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
  readonly tls: boolean;
  /** The URL without its password, for messages and compare.json. */
  readonly shown: string;
}

/** Reads `redis://[user:pass@]HOST[:PORT][/DB]` (or `rediss://` for TLS). Left: a message naming --queue. */
export function parseQueueUrl(text: string): E.Either<string, QueueUrl> {
  const bad = (why: string): E.Either<string, QueueUrl> => E.left(`--queue ${text}: ${why}; expected redis://HOST:PORT/DB (e.g. redis://127.0.0.1:6379/0)`);
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return bad('not a URL');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return bad(`scheme '${u.protocol.replace(':', '')}' is not redis or rediss`);
  if (u.hostname === '') return bad('no host');
  const port = u.port === '' ? 6379 : Number(u.port);
  const path = u.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path)) return bad(`database '${path}' is not a number`);
  const db = path === '' ? 0 : Number(path);
  if (db > 15) return bad(`database ${db} is above 15 (Redis's default number of databases)`);
  const username = u.username !== '' ? decodeURIComponent(u.username) : undefined;
  const password = u.password !== '' ? decodeURIComponent(u.password) : undefined;
  const shown = `${u.protocol}//${username !== undefined ? `${username}${password !== undefined ? ':***' : ''}@` : ''}${u.hostname}:${port}/${db}`;
  return E.right({ host: u.hostname.replace(/^\[|\]$/g, ''), port, db, ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}), tls: u.protocol === 'rediss:', shown });
}

/** ioredis options of a queue URL (BullMQ's workers need maxRetriesPerRequest: null). */
export function connectionOf(q: QueueUrl): Record<string, unknown> {
  return {
    host: q.host,
    port: q.port,
    db: q.db,
    ...(q.username !== undefined ? { username: q.username } : {}),
    ...(q.password !== undefined ? { password: q.password } : {}),
    ...(q.tls ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

/** Connects once (5 s at most) and pings: a clear message instead of ioredis's endless retries. */
export async function checkReachable(q: QueueUrl, flag = '--queue'): Promise<E.Either<string, void>> {
  const client = new IORedis({ ...connectionOf(q), lazyConnect: true, connectTimeout: 5000, retryStrategy: () => null, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  let lastError = '';
  client.on('error', (e: Error) => {
    lastError = e.message;
  });
  try {
    await client.connect();
    await client.ping();
    const policy = (await client.config('GET', 'maxmemory-policy').catch(() => [])) as string[];
    if (policy[1] !== undefined && policy[1] !== 'noeviction') {
      return E.left(`${flag} ${q.shown}: Redis's maxmemory-policy is '${policy[1]}'; a job queue needs 'noeviction' (redis-cli config set maxmemory-policy noeviction), or jobs may vanish`);
    }
    return E.right(undefined);
  } catch (e) {
    const why = lastError !== '' ? lastError : (e as Error).message;
    return E.left(`${flag} ${q.shown}: cannot reach Redis (${why}); start one with: redis-server --port ${q.port} (see docs/distributed.md)`);
  } finally {
    client.disconnect();
  }
}

/** What one job carries. */
export interface RunJob {
  readonly v: number;
  /** The study (`--name`): jobs of one comparison. */
  readonly study: string;
  /** The run's id in the study (`sam-rho0.05-seed0`), also its directory name. */
  readonly runId: string;
  readonly config: TrainOptions;
  /** Absolute path of the run directory (where the worker writes it unless it has its own --out). */
  readonly outDir: string;
}

/** What a finished job returns: the run's files, byte for byte as the worker wrote them. */
export interface RunResult {
  readonly summary: string;
  readonly metrics: string;
  readonly config: string;
  /** `host:pid` of the worker that finished it. */
  readonly worker: string;
  /** Where the worker wrote the run directory. */
  readonly dir: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}$/;

/** Checks a study name (--name): it becomes part of job ids and directory names. */
export function checkStudyName(name: string): E.Either<string, string> {
  return NAME.test(name) ? E.right(name) : E.left(`--name ${name}: expected letters, digits and _ . + - (at most 100, starting with a letter or digit), because it becomes part of job ids`);
}

/** Stable JSON: keys sorted, so equal configs give equal digests. */
const stable = (v: unknown): string =>
  v === null || typeof v !== 'object'
    ? JSON.stringify(v)
    : Array.isArray(v)
      ? `[${v.map(stable).join(',')}]`
      : `{${Object.keys(v as object)
          .sort()
          .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
          .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
          .join(',')}}`;

/** The first key where two configs differ (undefined: equal). */
export function configDiff(a: TrainOptions, b: TrainOptions): string | undefined {
  const x = a as unknown as Record<string, unknown>;
  const y = b as unknown as Record<string, unknown>;
  return [...new Set([...Object.keys(x), ...Object.keys(y)])].sort().find((k) => stable(x[k]) !== stable(y[k]));
}

/** The deterministic job id of a run: study, run id and a digest of its full config. */
export const jobIdOf = (study: string, runId: string, config: TrainOptions): string =>
  `${study}.${runId}.${createHash('sha256').update(stable(config)).digest('hex').slice(0, 12)}`;

/**
 * Checks a job's data before anything is done with it. Left: what is wrong, for the job's
 * failure reason (a malformed job is failed at once, never retried).
 */
export function validateJob(data: unknown): E.Either<string, RunJob> {
  if (data === null || typeof data !== 'object') return E.left('job data is not an object');
  const d = data as Record<string, unknown>;
  if (d['v'] !== JOB_FORMAT) return E.left(`job format ${JSON.stringify(d['v'])} is not ${JOB_FORMAT} (a lets of another version enqueued it?)`);
  if (typeof d['study'] !== 'string' || !NAME.test(d['study'])) return E.left(`study ${JSON.stringify(d['study'])} is not a study name`);
  if (typeof d['runId'] !== 'string' || !NAME.test(d['runId'])) return E.left(`runId ${JSON.stringify(d['runId'])} is not a run id (letters, digits, _ . + -)`);
  if (typeof d['outDir'] !== 'string' || !isAbsolute(d['outDir'])) return E.left(`outDir ${JSON.stringify(d['outDir'])} is not an absolute path`);
  const cfg = validateTrainOptions(d['config'], 'config');
  if (E.isLeft(cfg)) return cfg;
  return E.right({ v: JOB_FORMAT, study: d['study'], runId: d['runId'], config: cfg.right, outDir: d['outDir'] });
}

export interface QueueCompareOptions {
  readonly queue: QueueUrl;
  /** Study name; default: the comparison directory's name. */
  readonly name?: string;
  /** Attempts of a run that fails by itself (not counting worker deaths); default 3. */
  readonly attempts?: number;
  /** Milliseconds between looks at the queue; default 1000. */
  readonly pollMs?: number;
}

export interface QueuedCompareResult extends CompareResult {
  readonly queue: { readonly url: string; readonly name: string; readonly workers: readonly string[] };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Opens the comparison directory of a queued study: new (empty), or the directory of the same
 * study run before (compare.json naming this study with the same options), so running the same
 * command again collects what the workers finished.
 */
export function openQueuedCompare(target: string, name: string | undefined, opts: CompareOptions): E.Either<string, { dir: string; lock: Lock; name: string; notes: readonly string[] }> {
  const made = makeOutputDir(target, '--out');
  if (E.isLeft(made)) return made;
  const dir = made.right;
  const study = name ?? basename(dir);
  const checked = checkStudyName(study);
  if (E.isLeft(checked)) return E.left(name === undefined ? `${checked.left} (the default is the --out directory's name; give --name)` : checked.left);
  const used = readdirSync(dir).filter((n) => n !== 'lock' && !n.startsWith('.'));
  if (used.length > 0) {
    const prev = readJson(join(dir, 'compare.json'));
    const q = E.isRight(prev) ? ((prev.right as Record<string, unknown>)['queue'] as Record<string, unknown> | undefined) : undefined;
    if (q === undefined) return E.left(`--out ${target}: directory is not empty and holds no queued study (choose a new one)`);
    if (q['name'] !== study) return E.left(`--out ${target}: holds study '${String(q['name'])}', not '${study}' (give --name ${String(q['name'])}, or choose a new --out)`);
    const before = (prev as E.Right<unknown>).right as { options?: unknown };
    if (stable(before.options) !== stable(opts)) return E.left(`--out ${target}: study '${study}' was started there with other options; a study keeps its grid (choose a new --name and --out)`);
  }
  const lock = acquireLock(dir, 'lets compare --queue');
  if (E.isLeft(lock)) return E.left(`--out ${lock.left}`);
  return E.right({ dir, lock: lock.right, name: study, notes: lock.right.notes });
}

/** Writes a finished run's files into the comparison's runs/<id>/ unless the worker wrote them there (a shared file system). */
function keepResult(runDir: string, r: RunResult): void {
  const have = existsSync(join(runDir, 'summary.json')) ? readFileSync(join(runDir, 'summary.json'), 'utf8') : undefined;
  if (have === r.summary) return;
  const made = makeOutputDir(runDir, 'run directory');
  if (E.isLeft(made)) throw new Error(made.left);
  writeRunFile(join(runDir, 'config.json'), r.config);
  writeRunFile(join(runDir, 'metrics.jsonl'), r.metrics);
  writeRunFile(join(runDir, 'summary.json'), r.summary);
}

const isResult = (v: unknown): v is RunResult =>
  v !== null && typeof v === 'object' && ['summary', 'metrics', 'config', 'worker', 'dir'].every((k) => typeof (v as Record<string, unknown>)[k] === 'string');

/**
 * Runs a comparison through the queue: enqueues every run not already in it, then waits for
 * the workers, showing progress, and writes compare.json as results arrive. A signal stops
 * the waiting only: the jobs stay in the queue and the same command collects them later.
 */
export async function runQueuedCompare(opts: CompareOptions, dir: string, study: string, q: QueueCompareOptions, flags: RunFlags, io: { stderr: NodeJS.WritableStream }): Promise<QueuedCompareResult> {
  const t0 = Date.now();
  const err = io.stderr as NodeJS.WriteStream;
  const plan = planRuns(opts);
  const runs: CompareRun[] = plan.map((p) => ({ id: p.id, method: p.options.method, rho0: p.options.rho, seed: p.options.seed, learnsRho: p.learnsRho, summary: null }));
  const workers = new Set<string>();
  let backend = opts.base.backend;
  const save = (): QueuedCompareResult => {
    const result: QueuedCompareResult = {
      command: 'compare',
      options: opts,
      runs,
      table: tabulate(runs),
      wallSeconds: (Date.now() - t0) / 1000,
      backend,
      jobs: workers.size,
      dir,
      queue: { url: q.queue.shown, name: study, workers: [...workers].sort() },
    };
    writeJsonAtomic(join(dir, 'compare.json'), result);
    return result;
  };
  for (const p of plan) writeJsonAtomic(join(dir, 'configs', `${p.id}.json`), p.options);
  save();
  const tty = err.isTTY === true && !flags.quiet;
  const say = (msg: string): void => {
    if (!flags.quiet) err.write(`${tty ? '\r\x1b[K' : ''}${msg}\n`);
  };
  const queue = new Queue(QUEUE_NAME, { connection: connectionOf(q.queue) });
  // Connection trouble is retried by ioredis; say it once rather than let BullMQ print each one.
  let lastQueueError = '';
  queue.on('error', (e: Error) => {
    if (e.message !== lastQueueError) say(`lets compare: queue error: ${e.message} (retrying)`);
    lastQueueError = e.message;
  });
  const attempts = q.attempts ?? 3;
  const ids = plan.map((p) => jobIdOf(study, p.id, p.options));
  const signals = watchSignals((s) => err.write(`${tty ? '\r\x1b[K' : ''}lets compare: ${s}: no longer waiting; the jobs stay in the queue (the same command collects them)\n`));
  try {
    // Enqueue what is not there; retry what failed before (a new attempt budget).
    let added = 0;
    let retried = 0;
    for (const [i, p] of plan.entries()) {
      const id = ids[i] as string;
      const job = await Job.fromId(queue, id);
      if (job === undefined) {
        const data: RunJob = { v: JOB_FORMAT, study, runId: p.id, config: p.options, outDir: join(dir, 'runs', p.id) };
        await queue.add(p.id, data, { jobId: id, attempts, backoff: { type: 'exponential', delay: 5000 }, removeOnComplete: false, removeOnFail: false });
        added++;
      } else if ((await job.getState()) === 'failed') {
        await job.retry('failed');
        retried++;
      }
    }
    const counts = await queue.getJobCounts('active', 'waiting', 'delayed', 'completed', 'failed');
    say(`lets compare: study ${study} on ${q.queue.shown}: ${plan.length} runs, ${added} enqueued, ${retried} failed ones retried, ${plan.length - added - retried} already there (queue: ${counts['active']} active, ${counts['waiting']} waiting, ${counts['completed']} completed)`);
    const open = new Set(plan.map((_, i) => i));
    const status = new Map<number, string>();
    const announced = new Map<number, string>();
    let lastDraw = 0;
    while (open.size > 0 && signals.requested() === undefined) {
      for (const i of [...open]) {
        const p = plan[i] as (typeof plan)[number];
        // The state first: once it is completed or failed, the job's record read next is final.
        const state = await queue.getJobState(ids[i] as string);
        const job = await Job.fromId(queue, ids[i] as string);
        if (job === undefined || state === 'unknown') {
          runs[i] = { ...(runs[i] as CompareRun), error: `job ${ids[i]} vanished from the queue (removed, or Redis lost it)` };
          open.delete(i);
          say(`FAILED ${p.id}: ${(runs[i] as CompareRun).error}`);
          save();
          continue;
        }
        if (state === 'completed') {
          open.delete(i);
          const r = job.returnvalue as unknown;
          if (!isResult(r)) {
            runs[i] = { ...(runs[i] as CompareRun), error: `job ${job.id} finished without the run's files` };
          } else {
            keepResult(join(dir, 'runs', p.id), r);
            const s = JSON.parse(r.summary) as TrainSummary;
            workers.add(r.worker);
            backend = s.backend;
            runs[i] = { ...(runs[i] as CompareRun), summary: s };
            say(`finished ${p.id} (${r.worker}): test accuracy ${(100 * s.testAccuracy).toFixed(2)}%, final ρ ${s.finalRho.toPrecision(3)}, ${s.wallSeconds.toFixed(1)} s`);
          }
          save();
        } else if (state === 'failed') {
          open.delete(i);
          runs[i] = { ...(runs[i] as CompareRun), error: `${job.failedReason} (${job.attemptsMade} attempt${job.attemptsMade === 1 ? '' : 's'}, at most ${job.opts.attempts ?? 1})` };
          say(`FAILED ${p.id}: ${(runs[i] as CompareRun).error}`);
          save();
        } else {
          const prog = job.progress as { text?: string; worker?: string } | number | undefined;
          const on = typeof prog === 'object' && prog !== null ? prog : undefined;
          status.set(i, state === 'active' ? `${on?.worker ?? ''} ${on?.text ?? 'starting'}` : state);
          // Without a terminal: a line when a run starts on a worker (again after a worker died).
          const key = `${on?.worker ?? ''}`;
          if (!tty && state === 'active' && on?.worker !== undefined && announced.get(i) !== key) {
            announced.set(i, key);
            say(`started ${p.id} on ${key}`);
          }
        }
      }
      if (tty && Date.now() - lastDraw > 250) {
        lastDraw = Date.now();
        const active = [...open].map((i) => `[${(plan[i] as (typeof plan)[number]).id} ${status.get(i) ?? ''}]`).filter((s) => !/ (waiting|delayed|prioritized)\]$/.test(s));
        err.write(`\r${plan.length - open.size}/${plan.length} done ${active.join(' ')}\x1b[K`);
      }
      if (open.size > 0) {
        await signals.poll();
        await sleep(q.pollMs ?? 1000);
      }
    }
    const result = save();
    const stopped = signals.requested();
    if (stopped !== undefined) {
      throw new Interrupted(stopped, `stopped by ${stopped}: ${plan.length - open.size} of ${plan.length} runs collected; the others stay in the queue: run the same command again to collect them`);
    }
    return result;
  } finally {
    signals.dispose();
    if (tty) err.write('\r\x1b[K');
    await queue.close();
  }
}

/** This process, as workers and results name it. */
export const workerName = (): string => `${hostname()}:${process.pid}`;
