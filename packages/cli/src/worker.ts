/**
 * `lets worker --queue redis://HOST:PORT/DB [--jobs N] [--out DIR]`: takes runs from the
 * queue that `lets compare --queue` fills (./queue.ts) and trains each one as local runs are
 * trained: a `lets train --events` process per run (`--config … --out DIR` for a new run,
 * `--resume DIR` for one a dead worker left), N at a time.
 *
 * Failure semantics:
 * - The worker dies (SIGKILL, a lost machine): its runs die with it (bin/exit-with-parent.js);
 *   BullMQ sees the job's lock expire (--stall-seconds) and gives it to another worker, which
 *   resumes it from checkpoints/last.ckpt when it can reach the run directory (a shared --out),
 *   or starts it from step 0 where it cannot. A job given back more than 5 times is failed.
 * - A run fails by itself: divergence is deterministic (same seed, same result), so it is failed
 *   at once; other failures (a full disk, a directory in use) are retried up to the job's
 *   attempts (compare's --attempts), each retry resuming from the last checkpoint.
 * - One writer per run directory: the directory's lock (./lock.ts) refuses a second run there,
 *   whichever job or worker it comes from; a directory holding another run's config is refused.
 * - A malformed job (wrong format, invalid config, a relative path) is failed at once, with what
 *   is wrong as its reason.
 * - SIGINT/SIGTERM: no new jobs; running ones checkpoint and go back to the queue (another
 *   worker, or this one restarted, resumes them); a second signal ends the worker at once.
 */
import * as E from 'fp-ts/Either';
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import { connectionOf, configDiff, QUEUE_NAME, QueueUrl, RunResult, validateJob, workerName } from './queue';
import { Interrupted, watchSignals } from './signals';
import { readRunConfig } from './train';

export interface WorkerOptions {
  readonly queue: QueueUrl;
  /** Runs at once (one process each); default 1. */
  readonly jobs: number;
  /** Root of this worker's run directories (`DIR/<study>/runs/<run>`); default: each job's own outDir. */
  readonly out?: string;
  /** A job whose worker has not renewed its lock for this long is given to another worker. */
  readonly stallSeconds: number;
  readonly quiet: boolean;
}

/** The `lets` entry the training processes run (the launcher, or dist/main.js). */
function entry(): string {
  return process.env['LETS_CLI_ENTRY'] ?? require.main?.filename ?? join(__dirname, 'main.js');
}

const EXIT_WITH_PARENT = join(__dirname, '..', 'bin', 'exit-with-parent.js');

/** What a job finds in its run directory. */
type DirState = { readonly kind: 'fresh' } | { readonly kind: 'started' } | { readonly kind: 'finished' };

/** The state of the run directory `dir` for a job with `config`; Left: why the job cannot use it. */
export function runDirState(dir: string, config: import('./options').TrainOptions): E.Either<string, DirState> {
  if (!existsSync(join(dir, 'config.json'))) return E.right({ kind: 'fresh' });
  const have = readRunConfig(dir);
  if (E.isLeft(have)) return E.left(`${dir} holds a run whose config.json cannot be read (${have.left}); a worker never writes a job into another run's directory`);
  const k = configDiff(have.right, config);
  if (k !== undefined) {
    const a = (have.right as unknown as Record<string, unknown>)[k];
    const b = (config as unknown as Record<string, unknown>)[k];
    return E.left(`${dir} holds another run (its config.json has ${k} = ${JSON.stringify(a)}, the job ${JSON.stringify(b)}); a worker never writes a job into another run's directory`);
  }
  return E.right({ kind: existsSync(join(dir, 'summary.json')) ? 'finished' : 'started' });
}

/** A finished run directory's files, as the job's result. */
function resultOf(dir: string): RunResult {
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  return { summary: read('summary.json'), metrics: existsSync(join(dir, 'metrics.jsonl')) ? read('metrics.jsonl') : '', config: read('config.json'), worker: workerName(), dir };
}

/** The progress line of a training process's event. */
function progressText(ev: Record<string, number | string>): string | undefined {
  if (ev['event'] === 'step') {
    return `e${(ev['epoch'] as number) + 1}/${ev['epochs']} ${Math.round((100 * (ev['batch'] as number)) / (ev['batches'] as number))}% step ${ev['step']} acc ${(100 * (ev['accuracy'] as number)).toFixed(1)}% ρ ${(ev['rho'] as number).toPrecision(3)}`;
  }
  if (ev['event'] === 'epoch') return `epoch ${ev['epoch']}/${ev['epochs']} test acc ${(100 * (ev['testAccuracy'] as number)).toFixed(2)}%`;
  return undefined;
}

/** The last lines a failed training process printed, as one line. */
const tail = (text: string): string =>
  text
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('lets '))
    .slice(-2)
    .join(' | ') || text.trim().split('\n').slice(-2).join(' | ');

/**
 * Runs the worker until a signal: takes jobs, trains them, returns their results. Resolves
 * when it has stopped (after a signal: the running jobs are back in the queue).
 */
export async function runQueueWorker(o: WorkerOptions, io: { stderr: NodeJS.WritableStream }): Promise<void> {
  const me = workerName();
  const say = (msg: string): void => {
    if (!o.quiet) io.stderr.write(`lets worker ${me}: ${msg}\n`);
  };
  const children = new Set<{ child: ChildProcess; stderr: () => string }>();
  let stopping = false;
  const threads = process.env['LETS_NATIVE_THREADS'] ?? String(Math.max(1, Math.floor(cpus().length / o.jobs)));

  const processJob = async (job: Job, token?: string): Promise<RunResult> => {
    const v = validateJob(job.data);
    if (E.isLeft(v)) {
      say(`rejected job ${job.id}: malformed: ${v.left}`);
      throw new UnrecoverableError(`malformed job ${job.id}: ${v.left}`);
    }
    const d = v.right;
    const dir = o.out !== undefined ? resolvePath(o.out, d.study, 'runs', d.runId) : d.outDir;
    const st = runDirState(dir, d.config);
    if (E.isLeft(st)) {
      say(`rejected job ${job.id}: ${st.left}`);
      throw new UnrecoverableError(st.left);
    }
    if (st.right.kind === 'finished') {
      say(`job ${job.id}: ${dir} is finished already; returning its results`);
      return resultOf(dir);
    }
    let cfgDir: string | undefined;
    let args: string[];
    if (st.right.kind === 'fresh') {
      cfgDir = mkdtempSync(join(tmpdir(), 'lets-job-'));
      writeFileSync(join(cfgDir, 'config.json'), JSON.stringify(d.config));
      args = ['train', '--config', join(cfgDir, 'config.json'), '--out', dir, '--events', '--no-report'];
    } else {
      args = ['train', '--resume', dir, '--events', '--no-report'];
    }
    say(`started ${job.id} (attempt ${job.attemptsMade + 1}): ${st.right.kind === 'fresh' ? 'new run' : 'resuming'} in ${dir}`);
    const child = spawn(process.execPath, ['--require', EXIT_WITH_PARENT, entry(), ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, LETS_NATIVE_THREADS: threads },
    });
    let errText = '';
    const entryRef = { child, stderr: () => errText };
    children.add(entryRef);
    let buf = '';
    let lastSent = 0;
    child.stdout?.on('data', (b: Buffer) => {
      buf += b.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let ev: Record<string, number | string>;
        try {
          ev = JSON.parse(line) as Record<string, number | string>;
        } catch {
          continue;
        }
        const text = progressText(ev);
        if (text === undefined || (ev['event'] === 'step' && Date.now() - lastSent < 1000)) continue;
        lastSent = Date.now();
        job.updateProgress({ worker: me, text }).catch(() => undefined);
      }
    });
    child.stderr?.on('data', (b: Buffer) => {
      const t = b.toString('utf8');
      errText = (errText + t).slice(-8000);
      // The run took a signal: say so (it checkpoints after its current step).
      for (const line of t.split('\n')) if (/: SIG(INT|TERM): finishing step/.test(line)) say(`${job.id}: ${line.replace(/^lets train: /, '')}`);
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('close', (c, s) => r([c, s])));
    children.delete(entryRef);
    if (cfgDir !== undefined) rmSync(cfgDir, { recursive: true, force: true });
    const why = tail(errText);
    if (code === 0) {
      const r = resultOf(dir);
      say(`finished ${job.id}`);
      return r;
    }
    if (stopping && (code === 130 || code === 143 || signal !== null)) {
      // Stopped with this worker: back to the queue at once, not counted as an attempt.
      say(`job ${job.id} checkpointed and back in the queue`);
      if (token !== undefined) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
    }
    const message = signal !== null ? `the training process was killed by ${signal}` : `lets train exited ${code}: ${why}`;
    say(`FAILED ${job.id}: ${message}`);
    // Deterministic failures are not retried: divergence (same seed, same result), a refused directory or checkpoint.
    if (code === 1 && /training diverged/.test(why)) throw new UnrecoverableError(why.replace(/^lets train: /, ''));
    if (code === 2 && !/is in use by/.test(why)) throw new UnrecoverableError(why.replace(/^lets train: /, ''));
    throw new Error(message);
  };

  const worker = new Worker(QUEUE_NAME, processJob, {
    connection: connectionOf(o.queue),
    concurrency: o.jobs,
    lockDuration: o.stallSeconds * 1000,
    stalledInterval: o.stallSeconds * 1000,
    maxStalledCount: 5,
    autorun: false,
  });
  worker.on('error', (e) => say(`queue error: ${e.message}`));
  worker.on('stalled', (id) => say(`job ${id} stalled (its worker stopped renewing its lock): given to the next worker`));
  let stopped: (() => void) | undefined;
  const done = new Promise<void>((r) => (stopped = r));
  const signals = watchSignals((s) => {
    stopping = true;
    // The training processes checkpoint and stop on one signal (a second would end them mid-step).
    // SIGTERM (kill, a pod's eviction) reaches this process alone: pass it on. A terminal's Ctrl-C
    // reached the whole process group: pass SIGTERM only to those that did not get it.
    const forward = (): void => {
      for (const c of children) if (!/: SIG(INT|TERM): finishing step/.test(c.stderr())) c.child.kill('SIGTERM');
    };
    if (s === 'SIGTERM') forward();
    else setTimeout(forward, 500);
    say(`${s}: taking no new jobs; the running ones checkpoint and go back to the queue (${s === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again exits at once)`);
    worker.close().then(
      () => stopped?.(),
      () => stopped?.(),
    );
    // Without Redis, close() waits for it forever: once no run is left, give it 5 s.
    let idleSince = 0;
    const watchdog = setInterval(() => {
      if (children.size > 0) return;
      idleSince ||= Date.now();
      if (Date.now() - idleSince > 5000) {
        say('the queue did not confirm the stop (Redis unreachable?); exiting: running jobs, if any, go to another worker when their lock expires');
        stopped?.();
      }
    }, 200);
    watchdog.unref();
  });
  say(`taking jobs from ${o.queue.shown} (queue ${QUEUE_NAME}), ${o.jobs} at a time${o.out !== undefined ? `, run directories under ${resolvePath(o.out)}` : ''}`);
  worker.run().catch((e: Error) => say(`queue error: ${e.message}`));
  try {
    await done;
  } finally {
    signals.dispose();
  }
  const s = signals.requested();
  if (s !== undefined) throw new Interrupted(s, `stopped by ${s}`);
}
