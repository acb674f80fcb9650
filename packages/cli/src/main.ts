/**
 * The `lets` command: `lets <train|compare|bench|report|sharpness|worker> [flags]`.
 *
 * Exit codes: 0 done; 2 a usage error (unknown flag, bad value, bad config file, unusable or
 * locked output directory, a checkpoint that does not fit its config), reported before
 * anything is written; 1 a failure during the run (or, for compare, any run failed);
 * 130 / 143 stopped by SIGINT / SIGTERM after writing a checkpoint; 3 `--halt-after` (tests).
 * Errors are one line; `--debug` (or LETS_DEBUG=1) adds the stack trace.
 */
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs-core';
import { readdirSync, rmdirSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { COMMANDS, Command } from './flags';
import { commandHelp, usage } from './help';
import { BenchOptions, CompareOptions, resolve, Resolved, runFlagsOf, trainOptionsOf } from './options';
import { barProgress, eventProgress, Progress, silentProgress } from './progress';
import { defaultOutDir, Halted, prepareRun, readRunConfig, RunFailed, RunRefused, train } from './train';
import { openNewRun, openResume, OpenedRun, resumeTarget } from './rundir';
import { Interrupted, SIGNAL_EXIT } from './signals';
import { runCompare, formatTable } from './compare';
import { runBench, formatBench } from './bench';
import { buildReport } from './report/build';
import { sharpnessCommand, sharpnessOfCompare } from './sharpness';
import { checkReachable, openQueuedCompare, parseQueueUrl, runQueuedCompare } from './queue';
import { runQueueWorker } from './worker';

export interface CliIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

const processIO: CliIO = { stdout: process.stdout, stderr: process.stderr };

class UsageError extends Error {}

function fail(command: string, message: string): never {
  throw new UsageError(`lets ${command}: ${message}`);
}

function orFail<A>(command: string, e: E.Either<string, A>): A {
  if (E.isLeft(e)) fail(command, e.left);
  return e.right;
}

const progressOf = (v: Resolved, label: string, io: CliIO): Progress => {
  const flags = runFlagsOf(v);
  if (flags.events) return eventProgress(io.stdout);
  return flags.quiet ? silentProgress : barProgress(label, io.stderr as NodeJS.WriteStream);
};

const note = (io: CliIO, command: string, opened: OpenedRun): void => {
  for (const n of opened.notes) io.stderr.write(`lets ${command}: note: ${opened.dir}: ${n}\n`);
};

/** Removes a directory this command created and left empty (a run refused before it wrote anything). */
const removeIfEmpty = (dir: string): void => {
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    /* leave it */
  }
};

async function trainCommand(v: Resolved, io: CliIO): Promise<number> {
  const flags = runFlagsOf(v);
  let o = trainOptionsOf(v);
  let opened: OpenedRun;
  let resumeFrom: string | undefined;
  let fresh = false;
  if (flags.resume !== undefined) {
    const t = orFail('train', resumeTarget(flags.resume));
    opened = orFail('train', openResume(t));
    resumeFrom = t.ckpt;
    const cfg = readRunConfig(t.dir);
    if (E.isLeft(cfg)) opened.lock.release();
    // A resumed run continues with the options it was started with.
    o = orFail('train', cfg);
    if (t.ckpt === undefined) io.stderr.write(`lets train: note: ${t.dir} has no checkpoint yet (the run ended before its first one): starting it again from step 0 with its config.json\n`);
  } else {
    const existed = flags.out !== undefined && readdirExists(resolvePath(flags.out));
    opened = orFail('train', openNewRun(flags.out ?? defaultOutDir('train'), '--out', 'train'));
    fresh = !existed;
  }
  note(io, 'train', opened);
  const dir = opened.dir;
  try {
    const ctx = await prepareRun(o);
    if (E.isLeft(ctx)) {
      opened.lock.release();
      if (fresh) removeIfEmpty(dir);
      fail('train', ctx.left);
    }
    const summary = await train(ctx.right, dir, flags, { progress: progressOf(v, o.method, io), stderr: io.stderr }, resumeFrom);
    opened.lock.release();
    if (!flags.noReport) await buildReport(dir);
    if (flags.json) io.stdout.write(`${JSON.stringify(summary)}\n`);
    else if (!flags.events) {
      io.stdout.write(
        `${summary.method}: test accuracy ${(100 * summary.testAccuracy).toFixed(2)}%, final ρ ${summary.finalRho.toPrecision(3)}, ` +
          `${summary.epochs} epochs, ${summary.wallSeconds.toFixed(1)} s on ${summary.backend}\nrun directory: ${dir}\n`,
      );
    }
    return 0;
  } finally {
    opened.lock.release();
  }
}

const readdirExists = (p: string): boolean => {
  try {
    readdirSync(p);
    return true;
  } catch {
    return false;
  }
};

async function compareCommand(v: Resolved, io: CliIO): Promise<number> {
  const flags = runFlagsOf(v);
  const base = trainOptionsOf(v);
  const opts: CompareOptions = {
    base,
    methods: v['methods'] as string[],
    rhos: (v['rhos'] as number[] | undefined) ?? [base.rho],
    rho0s: (v['rho0s'] as number[] | undefined) ?? [base.rho],
    seeds: v['seeds'] as number[],
    ...(v['jobs'] !== undefined ? { jobs: v['jobs'] as number } : {}),
  };
  let dir: string;
  let result;
  if (v['queue'] !== undefined) {
    // The runs as jobs of a queue, trained by `lets worker` processes (./queue.ts).
    const q = orFail('compare', parseQueueUrl(v['queue'] as string));
    const name = v['name'] as string | undefined;
    orFail('compare', await checkReachable(q));
    const opened = orFail('compare', openQueuedCompare(flags.out ?? (name !== undefined ? resolvePath('runs', `compare-${name}`) : defaultOutDir('compare')), name, opts));
    for (const n of opened.notes) io.stderr.write(`lets compare: note: ${opened.dir}: ${n}\n`);
    dir = opened.dir;
    try {
      result = await runQueuedCompare(opts, dir, opened.name, { queue: q, attempts: v['attempts'] as number, ...(process.env['LETS_QUEUE_POLL_MS'] !== undefined ? { pollMs: Number(process.env['LETS_QUEUE_POLL_MS']) } : {}) }, flags, io);
    } finally {
      opened.lock.release();
    }
  } else {
    const opened = orFail('compare', openNewRun(flags.out ?? defaultOutDir('compare'), '--out', 'compare'));
    note(io, 'compare', opened);
    dir = opened.dir;
    try {
      result = await runCompare(opts, dir, flags, io);
    } finally {
      opened.lock.release();
    }
  }
  if (v['sharpness'] === true) await sharpnessOfCompare(dir, result, v, io);
  if (!flags.noReport) await buildReport(dir);
  if (flags.json) io.stdout.write(`${JSON.stringify(result)}\n`);
  else io.stdout.write(`${formatTable(result)}\nrun directory: ${dir}\n`);
  const failed = result.runs.filter((r) => r.summary === null);
  if (failed.length === 0) return 0;
  io.stderr.write(`lets compare: ${failed.length} of ${result.runs.length} runs failed: ${failed.map((f) => f.id).join(', ')} (see ${dir}/compare.json)\n`);
  return 1;
}

async function workerCommand(v: Resolved, io: CliIO): Promise<number> {
  if (v['queue'] === undefined) fail('worker', '--queue redis://HOST:PORT/DB is required: the queue that lets compare --queue fills');
  const q = orFail('worker', parseQueueUrl(v['queue'] as string));
  orFail('worker', await checkReachable(q));
  await runQueueWorker({ queue: q, jobs: v['jobs'] as number, ...(v['out'] !== undefined ? { out: v['out'] as string } : {}), stallSeconds: v['stallSeconds'] as number, quiet: v['quiet'] === true }, io);
  return 0;
}

async function benchCommand(v: Resolved, io: CliIO): Promise<number> {
  const flags = runFlagsOf(v);
  const opts: BenchOptions = { base: trainOptionsOf(v), methods: v['methods'] as string[], steps: v['steps'] as number };
  const result = await runBench(opts, flags, io);
  if (flags.json) io.stdout.write(`${JSON.stringify(result)}\n`);
  else io.stdout.write(`${formatBench(result)}\n`);
  return 0;
}

async function reportCommand(v: Resolved, positionals: readonly string[], io: CliIO): Promise<number> {
  if (positionals.length !== 1) fail('report', `expected one RUN_DIR argument, got ${positionals.length}`);
  const flags = runFlagsOf(v);
  let file: string;
  try {
    file = await buildReport(resolvePath(positionals[0] as string));
  } catch (e) {
    fail('report', (e as Error).message);
  }
  if (flags.json) io.stdout.write(`${JSON.stringify({ command: 'report', report: file })}\n`);
  else if (!flags.quiet) io.stdout.write(`wrote ${file}\n`);
  return 0;
}

/** Runs the command line (without `node` and the script) and returns the exit code. */
export async function main(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  const [word, ...rest] = argv;
  if (word === undefined || word === '--help' || word === '-h' || word === 'help') {
    io.stdout.write(usage());
    return word === undefined ? 2 : 0;
  }
  if (word === '--version') {
    io.stdout.write(`${(require('../package.json') as { version: string }).version}\n`);
    return 0;
  }
  if (!(COMMANDS as readonly string[]).includes(word)) {
    io.stderr.write(`lets: unknown command '${word}'; expected one of ${COMMANDS.join(', ')}\n\n${usage()}`);
    return 2;
  }
  const command = word as Command;
  // tfjs's "install tfjs-node" banner and debug checks are not for users of this command.
  tf.env().set('PROD', true);
  let debug = process.env['LETS_DEBUG'] === '1' || rest.includes('--debug');
  try {
    const r = resolve(command, rest);
    if (E.isLeft(r)) fail(command, r.left);
    const { values, positionals } = r.right;
    if (values['help'] === true) {
      io.stdout.write(commandHelp(command));
      return 0;
    }
    debug ||= values['debug'] === true;
    if (command === 'train') return await trainCommand(values, io);
    if (command === 'compare') return await compareCommand(values, io);
    if (command === 'bench') return await benchCommand(values, io);
    if (command === 'worker') return await workerCommand(values, io);
    if (command === 'sharpness') return orFail('sharpness', await sharpnessCommand(values, positionals, io, buildReport));
    return await reportCommand(values, positionals, io);
  } catch (e) {
    const trace = (): string => (debug && e instanceof Error && e.stack !== undefined ? `${e.stack}\n` : '');
    if (e instanceof UsageError) {
      io.stderr.write(`${e.message}\n${trace()}`);
      return 2;
    }
    if (e instanceof RunRefused) {
      io.stderr.write(`lets ${command}: ${e.message}\n${trace()}`);
      return 2;
    }
    if (e instanceof Halted) {
      io.stderr.write(`lets ${command}: ${e.message}\n`);
      return 3;
    }
    if (e instanceof Interrupted) {
      io.stderr.write(`lets ${command}: ${e.message}\n`);
      return SIGNAL_EXIT[e.signal];
    }
    if (e instanceof RunFailed) {
      io.stderr.write(`lets ${command}: ${e.message}\n${trace()}`);
      return 1;
    }
    // A bug or an unexpected failure: still one line, the trace with --debug.
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    io.stderr.write(`lets ${command}: ${msg}${debug ? '' : ' (run again with --debug for the stack trace)'}\n${trace()}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`lets: ${process.env['LETS_DEBUG'] === '1' ? ((e as Error).stack ?? String(e)) : (e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
