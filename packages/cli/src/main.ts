/**
 * The `lets` command: `lets <train|compare|bench|report> [flags]`.
 *
 * Exit codes: 0 done; 2 a usage error (unknown flag, bad value, bad config file, unusable
 * output directory), reported before anything is written; 1 a failure during the run.
 */
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs-core';
import { resolve as resolvePath } from 'node:path';
import { COMMANDS, Command } from './flags';
import { commandHelp, usage } from './help';
import { BenchOptions, CompareOptions, resolve, Resolved, runFlagsOf, trainOptionsOf } from './options';
import { barProgress, eventProgress, Progress, silentProgress } from './progress';
import { checkOutDir, defaultOutDir, Halted, prepareRun, readRunConfig, resumeTarget, train } from './train';
import { runCompare, formatTable } from './compare';
import { runBench, formatBench } from './bench';
import { buildReport } from './report/build';

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

async function trainCommand(v: Resolved, io: CliIO): Promise<void> {
  const flags = runFlagsOf(v);
  let o = trainOptionsOf(v);
  let dir: string;
  let resumeFrom: string | undefined;
  if (flags.resume !== undefined) {
    const t = orFail('train', resumeTarget(flags.resume));
    // A resumed run continues with the options it was started with.
    o = orFail('train', readRunConfig(t.dir));
    dir = t.dir;
    resumeFrom = t.ckpt;
  } else {
    dir = orFail('train', checkOutDir(resolvePath(flags.out ?? defaultOutDir('train')), '--out'));
  }
  const ctx = orFail('train', await prepareRun(o));
  const summary = await train(ctx, dir, flags, { progress: progressOf(v, o.method, io) }, resumeFrom);
  if (!flags.noReport) await buildReport(dir);
  if (flags.json) io.stdout.write(`${JSON.stringify(summary)}\n`);
  else if (!flags.events) {
    io.stdout.write(
      `${summary.method}: test accuracy ${(100 * summary.testAccuracy).toFixed(2)}%, final ρ ${summary.finalRho.toPrecision(3)}, ` +
        `${summary.epochs} epochs, ${summary.wallSeconds.toFixed(1)} s on ${summary.backend}\nrun directory: ${dir}\n`,
    );
  }
}

async function compareCommand(v: Resolved, io: CliIO): Promise<void> {
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
  const dir = orFail('compare', checkOutDir(resolvePath(flags.out ?? defaultOutDir('compare')), '--out'));
  const result = await runCompare(opts, dir, flags, io);
  if (!flags.noReport) await buildReport(dir);
  if (flags.json) io.stdout.write(`${JSON.stringify(result)}\n`);
  else io.stdout.write(`${formatTable(result)}\nrun directory: ${dir}\n`);
}

async function benchCommand(v: Resolved, io: CliIO): Promise<void> {
  const flags = runFlagsOf(v);
  const opts: BenchOptions = { base: trainOptionsOf(v), methods: v['methods'] as string[], steps: v['steps'] as number };
  const result = await runBench(opts, flags, io);
  if (flags.json) io.stdout.write(`${JSON.stringify(result)}\n`);
  else io.stdout.write(`${formatBench(result)}\n`);
}

async function reportCommand(v: Resolved, positionals: readonly string[], io: CliIO): Promise<void> {
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
  try {
    const r = resolve(command, rest);
    if (E.isLeft(r)) fail(command, r.left);
    const { values, positionals } = r.right;
    if (values['help'] === true) {
      io.stdout.write(commandHelp(command));
      return 0;
    }
    if (command === 'train') await trainCommand(values, io);
    else if (command === 'compare') await compareCommand(values, io);
    else if (command === 'bench') await benchCommand(values, io);
    else await reportCommand(values, positionals, io);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`${e.message}\n`);
      return 2;
    }
    if (e instanceof Halted) {
      io.stderr.write(`lets ${command}: ${e.message}\n`);
      return 3;
    }
    io.stderr.write(`lets ${command}: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`lets: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
