/**
 * `lets train`: one run, from resolved options to a run directory.
 *
 * The step and the epoch loop are @lets/lets's training pipeline (`makeTrainStep`, `fit`):
 * this module only feeds it the run's batches (as thunks, built when used) and turns its
 * callbacks into the run directory (metrics.jsonl, checkpoints, summary.json) and the
 * progress display.
 *
 * Determinism and resume: batch b of epoch e is fixed by (seed, e) (@lets/data's seeded
 * permutation), LETS's validation batch at step t by (seed, t) (the pipeline's validation
 * cursor), dropout by (seed, t). A checkpoint holds params, model state, optimizer state and
 * the counters, serialized bit for bit; a resumed run skips the batches already done in its
 * epoch, so it ends with the same parameters as an uninterrupted one (bit for bit on the cpu
 * backend).
 */
import * as E from 'fp-ts/Either';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import * as data from '@lets/data';
import type { Dataset, Examples } from '@lets/data';
import type { Model } from '@lets/models';
import { disposeTrainState, evaluate as evaluateBatches, fit, makeTrainStep } from '@lets/lets';
import type { BatchItem, BatchSource, TrainBatch, TrainState } from '@lets/lets';
import { disposeState, Params, Tree } from '@lets/tree';
import { JsonLinesWriter, readCheckpoint, readJson, readJsonLines, writeCheckpoint, writeFileAtomic, writeJsonAtomic } from './files';
import { buildMethod, Method } from './methods';
import { RunFlags, TrainOptions, validateTrainOptions } from './options';
import { Progress } from './progress';
import { buildModel, loadData, setupBackend } from './setup';

/** What `--json` prints and `summary.json` holds. */
export interface TrainSummary {
  readonly command: 'train';
  readonly method: string;
  readonly dataset: string;
  readonly model: string;
  readonly backend: string;
  readonly seed: number;
  /** ρ given (the fixed ρ, or LETS's ρ₀). */
  readonly rho0: number;
  readonly finalRho: number;
  readonly epochs: number;
  readonly steps: number;
  readonly testAccuracy: number;
  readonly testLoss: number;
  readonly valAccuracy: number;
  readonly valLoss: number;
  readonly trainAccuracy: number;
  readonly trainLoss: number;
  /** Generalization gap: test loss − train loss (train loss measured on a fixed train subset in eval mode). */
  readonly gap: number;
  /** Train accuracy − test accuracy. */
  readonly accuracyGap: number;
  readonly bestValAccuracy: number;
  readonly wallSeconds: number;
  /** CPU seconds (user + system) of this process for the run: the compute, whatever else the machine runs. */
  readonly cpuSeconds: number;
  readonly examplesPerSecond: number;
  readonly runDir: string;
  readonly resumed: boolean;
}

/** Thrown by `--halt-after` (as if the process were killed); used by tests. */
export class Halted extends Error {}

/** The default output directory of a command: runs/<command>-<UTC time>. */
export const defaultOutDir = (command: string): string =>
  resolvePath('runs', `${command}-${new Date().toISOString().replace(/[:.]/g, '-').replace('Z', '')}`);

/** Refuses an output directory that already holds files (a run never overwrites another). */
export function checkOutDir(dir: string, flag: string): E.Either<string, string> {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) return E.left(`${flag} ${dir}: exists and is not a directory`);
    if (readdirSync(dir).length > 0) return E.left(`${flag} ${dir}: directory is not empty (choose a new one, or --resume it)`);
  }
  return E.right(dir);
}

/** The checkpoint file of `--resume` (a run directory or a .ckpt file) and its run directory. */
export function resumeTarget(path: string): E.Either<string, { dir: string; ckpt: string }> {
  const p = resolvePath(path);
  if (!existsSync(p)) return E.left(`--resume ${path}: no such run directory or checkpoint`);
  if (statSync(p).isDirectory()) {
    const ckpt = join(p, 'checkpoints', 'last.ckpt');
    return existsSync(ckpt) ? E.right({ dir: p, ckpt }) : E.left(`--resume ${path}: no checkpoints/last.ckpt in that directory`);
  }
  return E.right({ dir: resolvePath(p, '..', '..'), ckpt: p });
}

interface Counters {
  step: number;
  epoch: number;
  /** Batches of `epoch` already done. */
  batchInEpoch: number;
  lossSum: number;
  correct: number;
  seen: number;
  bestValAccuracy: number;
  wallSeconds: number;
}

interface Evaluation {
  readonly loss: number;
  readonly accuracy: number;
}

/** Batches (thunks) of the examples `ex` in order, against the clean labels, 500 at a time. */
function evalSource(ds: Dataset, ex: Examples): BatchSource {
  return function* () {
    for (let s = 0; s < ex.count; s += 500) {
      const idx = Int32Array.from({ length: Math.min(500, ex.count - s) }, (_, i) => s + i);
      yield (): TrainBatch => {
        const host = data.hostBatch(ds, ex, idx);
        return data.toBatch({ ...host, y: host.cleanY }, ds.numClasses);
      };
    }
  };
}

/** Mean loss and accuracy of the model on examples (eval mode, clean labels; @lets/lets's `evaluate`). */
export async function evaluate(model: Model, params: Params, state: Tree, ds: Dataset, ex: Examples): Promise<Evaluation> {
  if (ex.count === 0) return { loss: 0, accuracy: 0 };
  const batches = function* (): Generator<TrainBatch> {
    for (const item of evalSource(ds, ex)(0) as Iterable<() => TrainBatch>) yield item();
  };
  const r = await evaluateBatches(model, params, state, batches());
  return { loss: r.loss, accuracy: r.accuracy };
}

/** The training batches of an epoch, as thunks (a resumed epoch skips its done ones unbuilt). */
const trainSource = (ctx: RunContext): BatchSource => (epoch) => {
  const { o, ds } = ctx;
  return data.batchIndices(ds.train.count, { batchSize: o.batchSize, seed: o.seed, epoch }).map((idx) => () => data.toBatch(data.hostBatch(ds, ds.train, idx), ds.numClasses));
};

/** LETS's validation batches (epoch e: a seeded permutation, full batches only), as thunks: built only on the steps that update ρ. */
const validationShape = (ctx: RunContext): { batchSize: number; perEpoch: number } => {
  const validation = ctx.ds.validation as Examples;
  const batchSize = Math.min(ctx.o.batchSize, validation.count);
  return { batchSize, perEpoch: data.batchCount(validation.count, batchSize, true) };
};
const validationSource = (ctx: RunContext): BatchSource => (epoch) => {
  const { o, ds } = ctx;
  const validation = ds.validation as Examples;
  const { batchSize } = validationShape(ctx);
  return data
    .batchIndices(validation.count, { batchSize, seed: o.seed + 7777, epoch, dropLast: true })
    .map((idx) => () => data.toBatch(data.hostBatch(ds, validation, idx), ds.numClasses));
};

/** Where the validation stream is after `step` steps (one batch a step). */
const valCursorAt = (ctx: RunContext, step: number): { epoch: number; index: number } => {
  const { perEpoch } = validationShape(ctx);
  return { epoch: Math.floor(step / perEpoch), index: step % perEpoch };
};

/** Everything a run needs in memory. */
export interface RunContext {
  readonly o: TrainOptions;
  readonly ds: Dataset;
  readonly model: Model;
  readonly method: Method;
  readonly backend: string;
  readonly stepsPerEpoch: number;
}

/** Builds the run's pieces (backend, data, model, method); Left: a message for the user. */
export async function prepareRun(o: TrainOptions): Promise<E.Either<string, RunContext>> {
  const ds = loadData(o);
  if (E.isLeft(ds)) return ds;
  const model = buildModel(o, ds.right);
  if (E.isLeft(model)) return model;
  const stepsPerEpoch = data.batchCount(ds.right.train.count, o.batchSize);
  const method = buildMethod(o, stepsPerEpoch);
  if (E.isLeft(method)) return method;
  let backend: string;
  try {
    backend = await setupBackend(o.backend);
  } catch (e) {
    return E.left(`--backend ${o.backend}: ${(e as Error).message}`);
  }
  return E.right({ o, ds: ds.right, model: model.right, method: method.right, backend, stepsPerEpoch });
}

/** Parameters, model state and optimizer state: what a step carries forward. */
export interface Vars {
  readonly params: Params;
  readonly mstate: Tree;
  readonly ostate: unknown;
}

const stepFns = new WeakMap<RunContext, ReturnType<typeof makeTrainStep<unknown>>>();

/**
 * One training step (@lets/lets's `makeTrainStep`) on the training examples `idx` at step
 * number `step`, with LETS's validation batch of that step (built only when read). Consumes
 * `vars` and returns the new ones, with the clean pass's loss and correct count.
 */
export async function trainStep(ctx: RunContext, vars: Vars, idx: Int32Array, step: number): Promise<{ vars: Vars; loss: number; correct: number }> {
  const { o, ds, model, method } = ctx;
  let fn = stepFns.get(ctx);
  if (fn === undefined) {
    fn = makeTrainStep<unknown>({ model, optimizer: method.tx, seed: o.seed });
    stepFns.set(ctx, fn);
  }
  const cur = valCursorAt(ctx, step);
  const valItem = (validationSource(ctx)(cur.epoch) as BatchItem[])[cur.index] as BatchItem;
  const batch = data.toBatch(data.hostBatch(ds, ds.train, idx), ds.numClasses);
  try {
    const r = fn({ params: vars.params, modelState: vars.mstate, optState: vars.ostate, step, epoch: 0 }, batch, valItem);
    return { vars: { params: r.state.params, mstate: r.state.modelState, ostate: r.state.optState }, loss: r.metrics.loss, correct: r.metrics.correct };
  } finally {
    batch.dispose();
  }
}

/** A fixed subset of the training split (as large as the validation split) for the train loss/accuracy. */
const trainProbe = (ds: Dataset): Examples => {
  const n = Math.min(ds.train.count, Math.max(ds.validation?.count ?? 0, 256));
  return data.take(ds.train, Int32Array.from({ length: n }, (_, i) => Math.floor((i * ds.train.count) / n)));
};

export interface TrainIO {
  /** Progress display (bars, events or nothing). */
  readonly progress: Progress;
}

/**
 * Runs (or resumes) one training run into `dir`. Assumes options were validated and, for a
 * new run, that `dir` is free. Returns the summary (also written to summary.json).
 */
export async function train(ctx: RunContext, dir: string, flags: RunFlags, io: TrainIO, resumeFrom?: string): Promise<TrainSummary> {
  const { o, ds, model, method, stepsPerEpoch } = ctx;
  const started = Date.now();
  const cpu0 = process.cpuUsage();
  let start: TrainState<unknown>;
  let c: Counters;
  if (resumeFrom !== undefined) {
    const ck = readCheckpoint(resumeFrom);
    if (E.isLeft(ck)) throw new Error(ck.left);
    const st = ck.right.state as { params: Params; modelState: Tree; optState: unknown };
    c = { ...(ck.right.meta['counters'] as Counters) };
    start = { params: st.params, modelState: st.modelState, optState: st.optState, step: c.step, epoch: c.epoch };
    // Metrics written after the checkpoint belong to the lost part of the run: drop them.
    const lines = readJsonLines(join(dir, 'metrics.jsonl'));
    const kept = E.isRight(lines) ? lines.right.filter((r) => (r['step'] as number) <= c.step) : [];
    writeFileAtomic(join(dir, 'metrics.jsonl'), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  } else {
    mkdirSync(join(dir, 'checkpoints'), { recursive: true });
    writeJsonAtomic(join(dir, 'config.json'), o);
    const v = model.init(o.seed);
    start = { params: v.params, modelState: v.state, optState: method.tx.init(v.params), step: 0, epoch: 0 };
    c = { step: 0, epoch: 0, batchInEpoch: 0, lossSum: 0, correct: 0, seen: 0, bestValAccuracy: -1, wallSeconds: 0 };
  }
  start = { ...start, batchInEpoch: c.batchInEpoch, best: c.bestValAccuracy, valCursor: valCursorAt(ctx, c.step) };
  const wallBefore = c.wallSeconds;
  const metrics = new JsonLinesWriter(join(dir, 'metrics.jsonl'));
  const validation = ds.validation as Examples;
  const probe = trainProbe(ds);
  let haltIn = flags.haltAfter;

  const saveLast = (st: TrainState<unknown>, best: boolean): void => {
    c.wallSeconds = wallBefore + (Date.now() - started) / 1000;
    const state = { params: st.params, modelState: st.modelState, optState: st.optState };
    const meta = { counters: c, method: o.method, savedAt: new Date().toISOString() };
    writeCheckpoint(join(dir, 'checkpoints', 'last.ckpt'), meta, state);
    if (best) writeCheckpoint(join(dir, 'checkpoints', 'best.ckpt'), meta, state);
  };

  let last: { trainLoss: number; trainAccuracy: number; val: Evaluation; test: Evaluation; probe: Evaluation } | undefined;
  const rho0 = o.rho;
  let rhoNow = method.rhoOf(start.optState);
  let tStep = Date.now();
  let final: TrainState<unknown>;
  try {
    const r = await fit<unknown>({
      model,
      optimizer: method.tx,
      seed: o.seed,
      epochs: o.epochs,
      train: trainSource(ctx),
      validation: validationSource(ctx),
      evaluations: { val: evalSource(ds, validation), test: evalSource(ds, ds.test), probe: evalSource(ds, probe) },
      best: (m) => (m.evaluations?.['val']?.accuracy as number),
      resume: start,
      callbacks: {
        onEpochStart: (epoch, done) => {
          io.progress.epochStart(epoch, o.epochs, stepsPerEpoch, done);
          tStep = Date.now();
        },
        onStep: (m, st) => {
          c.step = st.step;
          c.batchInEpoch = st.batchInEpoch ?? 0;
          c.lossSum += m.loss * m.examples;
          c.correct += m.correct;
          c.seen += m.examples;
          rhoNow = method.rhoOf(st.optState);
          if (!Number.isFinite(m.loss)) throw new Error(`training diverged at step ${c.step}: loss ${m.loss} (lower --lr?)`);
          const now = Date.now();
          const dt = (now - tStep) / 1000;
          tStep = now;
          const report = method.reportOf(st.optState);
          const rec = {
            type: 'step',
            step: c.step,
            epoch: c.epoch + c.batchInEpoch / stepsPerEpoch,
            loss: m.loss,
            accuracy: m.accuracy,
            rho: rhoNow,
            ...report,
            seconds: dt,
          };
          // Every --log-every steps, at epoch ends, and on every step where LETS updated ρ.
          if (c.step % o.logEvery === 0 || c.batchInEpoch === stepsPerEpoch || 'gap' in report) metrics.write(rec);
          io.progress.step({ batch: c.batchInEpoch, loss: c.lossSum / c.seen, accuracy: c.correct / c.seen, rho: rhoNow, examplesPerSecond: m.examples / Math.max(dt, 1e-6), step: c.step });
          if (o.checkpointEvery > 0 && c.step % o.checkpointEvery === 0 && c.batchInEpoch < stepsPerEpoch) saveLast(st, false);
          if (haltIn !== undefined && --haltIn <= 0) throw new Halted(`halted after ${flags.haltAfter} steps`);
        },
        onEpoch: (m, st) => {
          const ev = m.evaluations as Readonly<Record<'val' | 'test' | 'probe', Evaluation>>;
          const { val, test, probe: pr } = ev;
          last = { trainLoss: c.lossSum / Math.max(1, c.seen), trainAccuracy: c.correct / Math.max(1, c.seen), val, test, probe: pr };
          c.bestValAccuracy = st.best ?? c.bestValAccuracy;
          metrics.write({
            type: 'epoch',
            step: c.step,
            epoch: st.epoch,
            trainLoss: pr.loss,
            trainAccuracy: pr.accuracy,
            runningTrainLoss: last.trainLoss,
            runningTrainAccuracy: last.trainAccuracy,
            valLoss: val.loss,
            valAccuracy: val.accuracy,
            testLoss: test.loss,
            testAccuracy: test.accuracy,
            gap: test.loss - pr.loss,
            valGap: val.loss - pr.loss,
            rho: rhoNow,
            wallSeconds: wallBefore + (Date.now() - started) / 1000,
          });
          io.progress.epochEnd({ epoch: st.epoch, valAccuracy: val.accuracy, testAccuracy: test.accuracy, rho: rhoNow });
          c.epoch = st.epoch;
          c.batchInEpoch = 0;
          c.lossSum = 0;
          c.correct = 0;
          c.seen = 0;
          saveLast(st, m.improved === true);
        },
      },
    });
    final = r.state;
  } finally {
    metrics.close();
  }
  const { params, modelState: mstate } = final;
  if (last === undefined) {
    // Resumed from a checkpoint taken at the very end: evaluate what is there.
    const val = await evaluate(model, params, mstate, ds, validation);
    const test = await evaluate(model, params, mstate, ds, ds.test);
    const pr = await evaluate(model, params, mstate, ds, probe);
    last = { trainLoss: pr.loss, trainAccuracy: pr.accuracy, val, test, probe: pr };
  }
  const wallSeconds = wallBefore + (Date.now() - started) / 1000;
  const summary: TrainSummary = {
    command: 'train',
    method: o.method,
    dataset: o.dataset,
    model: o.model,
    backend: ctx.backend,
    seed: o.seed,
    rho0,
    finalRho: rhoNow,
    epochs: o.epochs,
    steps: c.step,
    testAccuracy: last.test.accuracy,
    testLoss: last.test.loss,
    valAccuracy: last.val.accuracy,
    valLoss: last.val.loss,
    trainAccuracy: last.probe.accuracy,
    trainLoss: last.probe.loss,
    gap: last.test.loss - last.probe.loss,
    accuracyGap: last.probe.accuracy - last.test.accuracy,
    bestValAccuracy: c.bestValAccuracy,
    wallSeconds,
    cpuSeconds: (() => {
      const u = process.cpuUsage(cpu0);
      return (u.user + u.system) / 1e6;
    })(),
    examplesPerSecond: (c.step * o.batchSize) / Math.max(wallSeconds, 1e-9),
    runDir: dir,
    resumed: resumeFrom !== undefined,
  };
  writeJsonAtomic(join(dir, 'summary.json'), summary);
  disposeTrainState(final);
  return summary;
}

/** Reads a run directory's config.json (for --resume and report). */
export function readRunConfig(dir: string): E.Either<string, TrainOptions> {
  const raw = readJson(join(dir, 'config.json'));
  return E.isLeft(raw) ? raw : validateTrainOptions(raw.right, join(dir, 'config.json'));
}

/** Final parameters of a run (from checkpoints/last.ckpt), for tests and tools. */
export function readFinalParams(dir: string): E.Either<string, Params> {
  const ck = readCheckpoint(join(dir, 'checkpoints', 'last.ckpt'));
  if (E.isLeft(ck)) return ck;
  const st = ck.right.state as { params: Params; modelState: Tree; optState: unknown };
  disposeState([st.modelState, st.optState]);
  return E.right(st.params);
}
