/**
 * `lets train`: one run, from resolved options to a run directory.
 *
 * The step and the epoch loop are @lets/train's training pipeline (`makeTrainStep`, `fit`):
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
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import * as data from '@lets/data';
import type { Dataset, Examples } from '@lets/data';
import type { Model } from '@lets/models';
import { disposeTrainState, evaluate as evaluateBatches, expectedError, fit, makeTrainStep } from '@lets/train';
import type { BatchItem, BatchSource, TrainBatch, TrainState } from '@lets/train';
import { disposeState, flattenState, Params, Tree } from '@lets/tree';
import { fault, faultAsync, fixedClock, nowMs } from './faults';
import { checkpointDigest, JsonLinesWriter, readCheckpoint, readJson, readJsonLines, writeCheckpoint, writeRunFile, writeJsonAtomic } from './files';
import { nonFiniteDevice } from './finite';
import { errnoText } from './lock';
import { removeOrphans } from './rundir';
import { Interrupted, StopSignal, watchSignals } from './signals';
import { buildMethod, Method, rhoAfter, stepReport } from './methods';
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
  /** On the run's validation labels: noisy under label noise with `--val-labels noisy` (the default), as `valLabels` says. */
  readonly valAccuracy: number;
  readonly valLoss: number;
  /** Which labels `valAccuracy`, `valLoss` and the best checkpoint were measured on. */
  readonly valLabels: 'noisy' | 'clean';
  /** With noisy validation labels: the same split against its clean labels (an oracle a user's own noisy data does not have). */
  readonly valCleanAccuracy?: number;
  readonly valCleanLoss?: number;
  /** On a fixed subset of the training split, against its clean labels. */
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

/** A run refused before it trained (its checkpoint does not fit its config.json): exit 2. */
export class RunRefused extends Error {}

/** A run that failed while training; the message says what the run directory now allows. */
export class RunFailed extends Error {}

/** The default output directory of a command: runs/<command>-<UTC time>. */
export const defaultOutDir = (command: string): string =>
  resolvePath('runs', `${command}-${new Date().toISOString().replace(/[:.]/g, '-').replace('Z', '')}`);

/** A path as one shell word. */
export const shellWord = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The command that continues a run. */
export const resumeCommand = (dir: string): string => `lets train --resume ${shellWord(dir)}`;

/**
 * The running averages of the epoch in progress (what the progress line and the epoch record's
 * running train loss and accuracy show). The step, epoch, batch and best accuracy are the
 * TrainState's; a checkpoint's meta records these so a mid-epoch resume continues them.
 */
interface Running {
  lossSum: number;
  correct: number;
  seen: number;
}

interface Evaluation {
  readonly loss: number;
  readonly accuracy: number;
}

/**
 * Batches (thunks) of the examples `ex` in order, 500 at a time, against their clean labels
 * (`'clean'`: the test split, the training probe, and the oracle `valClean` of a run with label
 * noise) or the labels as the run has them (`'given'`: the validation split, whose labels are as
 * noisy as the training labels under `--val-labels noisy`, the default).
 */
function evalSource(ds: Dataset, ex: Examples, labels: 'clean' | 'given' = 'clean'): BatchSource {
  return function* () {
    for (let s = 0; s < ex.count; s += 500) {
      const idx = Int32Array.from({ length: Math.min(500, ex.count - s) }, (_, i) => s + i);
      yield (): TrainBatch => {
        const host = data.hostBatch(ds, ex, idx);
        return data.toBatch(labels === 'clean' ? { ...host, y: host.cleanY } : host, ds.numClasses);
      };
    }
  };
}

/**
 * Whether the run's validation labels differ from the clean ones: label noise applied before the
 * validation split (`--val-labels noisy`, the default). Then the validation metrics, the best
 * checkpoint and LETS's validation passes use the noisy labels, as a user's own noisy data allows,
 * and the clean-label figures are reported beside them as `valClean…` (an oracle the study has).
 */
const noisyValidation = (o: TrainOptions): boolean => o.labelNoise > 0 && o.valLabels === 'noisy';

/** Mean loss and accuracy of the model on examples (eval mode, clean labels unless `labels` is 'given'; @lets/train's `evaluate`). */
export async function evaluateExamples(model: Model, params: Params, state: Tree, ds: Dataset, ex: Examples, labels: 'clean' | 'given' = 'clean'): Promise<Evaluation> {
  if (ex.count === 0) return { loss: 0, accuracy: 0 };
  const batches = function* (): Generator<TrainBatch> {
    for (const item of evalSource(ds, ex, labels)(0) as Iterable<() => TrainBatch>) yield item();
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

/** The validation passes' loss of `--val-loss` (`ce`: the training loss, the pipeline's default). */
const valLossOption = (o: TrainOptions): { valLoss?: typeof expectedError } => (o.valLoss === 'error' ? { valLoss: expectedError } : {});

const stepFns = new WeakMap<RunContext, ReturnType<typeof makeTrainStep<unknown>>>();

/**
 * One training step (@lets/train's `makeTrainStep`) on the training examples `idx` at step
 * number `step`, with LETS's validation batch of that step (built only when read). Consumes
 * `vars` and returns the new ones, with the clean pass's loss and correct count.
 */
export async function trainStep(ctx: RunContext, vars: Vars, idx: Int32Array, step: number): Promise<{ vars: Vars; loss: number; correct: number }> {
  const { o, ds, model, method } = ctx;
  let fn = stepFns.get(ctx);
  if (fn === undefined) {
    fn = makeTrainStep<unknown>({ model, optimizer: method.tx, seed: o.seed, ...valLossOption(o) });
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
  /** Where notes go (a signal received); default: nowhere. */
  readonly stderr?: NodeJS.WritableStream;
}

/** Keys of config.json a resume may find changed (they do not change what the state means). */
const MAY_CHANGE: readonly string[] = ['backend', 'logEvery', 'checkpointEvery', 'dataDir'];

/**
 * The first key whose value differs between the config a checkpoint was written with and
 * config.json (keys the checkpoint does not know are options added since, read as the value
 * that reproduces the old run).
 */
function changedKey(then: Record<string, unknown>, now: TrainOptions): string | undefined {
  return Object.keys(then).find((k) => !MAY_CHANGE.includes(k) && JSON.stringify(then[k]) !== JSON.stringify((now as unknown as Record<string, unknown>)[k]));
}

/** Tensor paths, dtypes and shapes of a state: what a checkpoint must match to be continued by a method and model. */
const layout = (state: unknown): string[] => Object.entries(flattenState(state).tensors).map(([p, t]) => `${p} ${t.dtype}[${t.shape.join(',')}]`);

/** The first difference between a checkpoint's state and the state the configured method and model start from. */
function layoutMismatch(ctx: RunContext, st: { params: Params; modelState: Tree; optState: unknown }): string | undefined {
  const v = ctx.model.init(ctx.o.seed);
  const fresh = { params: v.params, modelState: v.state, optState: ctx.method.tx.init(v.params) };
  try {
    for (const part of ['params', 'modelState'] as const) {
      const a = layout(st[part]);
      const b = layout(fresh[part]);
      const i = a.findIndex((x, j) => x !== b[j]);
      if (i >= 0 || a.length !== b.length) {
        const j = i >= 0 ? i : Math.min(a.length, b.length);
        return `its ${part} has ${a[j] ?? 'nothing'} where --method ${ctx.o.method} with --model ${ctx.o.model} has ${b[j] ?? 'nothing'}`;
      }
    }
    // Optimizer state grows after the first steps (reports, pending tangents): every tensor a
    // fresh state has must be there.
    const have = new Set(layout(st.optState));
    const lacking = layout(fresh.optState).find((x) => !have.has(x));
    if (lacking !== undefined) return `its optimizer state lacks ${lacking}, which --method ${ctx.o.method} keeps`;
    return undefined;
  } finally {
    disposeState([fresh.params, fresh.modelState, fresh.optState]);
  }
}

/** Where best.ckpt is recorded inside last.ckpt: the step and digest of the state it must hold. */
interface BestRef {
  readonly step: number;
  readonly epoch: number;
  readonly sha256: string;
}

const stagedBest = (step: number): string => `.best-${step}.ckpt`;

/** fsync a directory (a rename in it becomes durable); some file systems refuse, which is harmless. */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* not supported here */
  }
}

/**
 * Runs (or resumes) one training run into `dir`. The caller holds the directory's lock and
 * validated the options; `resumeFrom` is the checkpoint to continue from (none: a new run, or
 * one restarted from step 0). Returns the summary (also written to summary.json).
 *
 * Commit order (crash consistency). A checkpoint commit is: the metric lines so far fsync'd;
 * an improved epoch's state staged as checkpoints/.best-<step>.ckpt; last.ckpt written, naming
 * the metrics length and best's step and digest (this rename is the commit point); then the
 * staged file renamed to best.ckpt. A resume reads last.ckpt only and derives the rest from it:
 * metrics.jsonl truncated to the recorded length, best.ckpt put in place from the staged file if
 * the crash came before that rename, other staged and temporary files removed. summary.json is
 * written only after the final checkpoint, and removed when a resume has training left to do.
 */
export async function train(ctx: RunContext, dir: string, flags: RunFlags, io: TrainIO, resumeFrom?: string): Promise<TrainSummary> {
  const { o, ds, model, method, stepsPerEpoch } = ctx;
  const started = nowMs();
  const cpu0 = process.cpuUsage();
  const ckDir = join(dir, 'checkpoints');
  const metricsFile = join(dir, 'metrics.jsonl');
  let start: TrainState<unknown>;
  let run: Running;
  let wallBefore: number;
  let bestRef: BestRef | null = null;
  /** Step of the checkpoint a failure would leave to resume from (undefined: none yet). */
  let savedStep: number | undefined;
  if (resumeFrom !== undefined) {
    const ck = readCheckpoint(resumeFrom);
    if (E.isLeft(ck)) throw new RunRefused(ck.left);
    const st = ck.right;
    const meta = st.meta;
    run = { ...(meta['running'] as Running) };
    wallBefore = meta['wallSeconds'] as number;
    const then = meta['config'] as Record<string, unknown> | undefined;
    const changed = then !== undefined ? changedKey(then, o) : undefined;
    const mismatch = changed === undefined ? layoutMismatch(ctx, st) : undefined;
    if (changed !== undefined || mismatch !== undefined) {
      disposeState([st.params, st.modelState, st.optState]);
      const why =
        changed !== undefined
          ? `key '${changed}' is ${JSON.stringify((o as unknown as Record<string, unknown>)[changed])} in config.json but was ${JSON.stringify(then?.[changed])} when the checkpoint of step ${st.step} was written`
          : `the checkpoint of step ${st.step} does not fit config.json: ${mismatch}`;
      throw new RunRefused(`${join(dir, 'config.json')}: ${why}; a resumed run keeps its options (restore config.json, or start a new run with --out)`);
    }
    start = { params: st.params, modelState: st.modelState, optState: st.optState, step: st.step, epoch: st.epoch, batchInEpoch: st.batchInEpoch ?? 0, best: st.best ?? -1 };
    savedStep = st.step;
    // Metrics written after the checkpoint belong to the lost part of the run: cut them off.
    const recorded = meta['metricsBytes'];
    const size = existsSync(metricsFile) ? statSync(metricsFile).size : 0;
    if (typeof recorded === 'number' && size >= recorded) {
      if (size > recorded) truncateSync(metricsFile, recorded);
    } else {
      const lines = readJsonLines(metricsFile);
      const kept = E.isRight(lines) ? lines.right.filter((r) => (r['step'] as number) <= st.step) : [];
      writeRunFile(metricsFile, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
    }
    // best.ckpt is what last.ckpt says it is: put the staged file in place if a crash came first.
    bestRef = (meta['best'] as BestRef | null | undefined) ?? null;
    const bestFile = join(ckDir, 'best.ckpt');
    if (bestRef !== null && checkpointDigest(bestFile) !== bestRef.sha256) {
      const staged = join(ckDir, stagedBest(bestRef.step));
      if (checkpointDigest(staged) === bestRef.sha256) {
        renameSync(staged, bestFile);
        syncDir(ckDir);
      } else {
        io.stderr?.write(`lets train: note: ${bestFile} does not hold the best state (step ${bestRef.step}) that last.ckpt names, and no staged copy is left; it is rewritten at the next improved epoch\n`);
      }
    }
    removeOrphans(dir);
    if (st.epoch < o.epochs) rmSync(join(dir, 'summary.json'), { force: true });
  } else {
    if (!existsSync(ckDir)) mkdirSync(ckDir);
    // A run restarted from step 0 (it failed before its first checkpoint) starts with a clean slate.
    for (const f of [metricsFile, join(dir, 'summary.json'), join(ckDir, 'best.ckpt'), join(dir, 'report.html')]) rmSync(f, { force: true });
    removeOrphans(dir);
    writeJsonAtomic(join(dir, 'config.json'), o);
    const v = model.init(o.seed);
    start = { params: v.params, modelState: v.state, optState: method.tx.init(v.params), step: 0, epoch: 0, batchInEpoch: 0, best: -1 };
    run = { lossSum: 0, correct: 0, seen: 0 };
    wallBefore = 0;
  }
  start = { ...start, valCursor: valCursorAt(ctx, start.step) };
  /** The run's latest state as fit reports it (its step, epoch, batch and best are the run's counters). */
  let cur: TrainState<unknown> = start;
  const metrics = new JsonLinesWriter(metricsFile);
  const validation = ds.validation as Examples;
  const probe = trainProbe(ds);
  let haltIn = flags.haltAfter;
  const signals = watchSignals((s) => {
    io.stderr?.write(`lets train: ${s}: finishing step ${cur.step + 1}, then writing a checkpoint (${s === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again stops at once)\n`);
  });

  const rho0 = o.rho;
  let rhoNow = rhoAfter(method.tx, start.optState);

  /** The divergence error: where, what, and which knob (lr or ρ) most likely caused it. */
  const diverged = (what: string, paramsFinite: boolean): RunFailed => {
    const learns = method.learnsRho;
    const rhoBlamed = !Number.isFinite(rhoNow) ? paramsFinite || learns : method.name !== 'sgd' && (rhoNow >= 1 || (learns && rhoNow >= o.rhoMax * 0.999));
    const cause = rhoBlamed
      ? learns
        ? `ρ (LETS's learned ρ, now ${rhoNow}): lower --rho-lr (${o.rhoLr}) or --rho-max (${o.rhoMax})`
        : `ρ: lower --rho (${o.rho})`
      : `the learning rate: lower --lr (${o.lr})`;
    const kept =
      savedStep !== undefined
        ? `; the last good checkpoint (step ${savedStep}) is kept`
        : `; nothing was checkpointed (${resumeCommand(dir)} starts it again from step 0, or remove ${shellWord(dir)})`;
    return new RunFailed(`training diverged at step ${cur.step}: ${what}; likely cause: ${cause}${kept}`);
  };

  const saveLast = (st: TrainState<unknown>, improved: boolean): void => {
    // Never checkpoint a diverged state: the last good checkpoint stays.
    const bad = nonFiniteDevice({ params: st.params, modelState: st.modelState, optState: st.optState });
    if (bad !== undefined) throw diverged(`non-finite values in ${bad}`, !bad.startsWith('params/'));
    metrics.sync();
    // The commit record rides in the checkpoint's meta: the metrics length and (in last.ckpt) best's digest.
    const meta: Record<string, unknown> = {
      running: run,
      wallSeconds: wallBefore + (nowMs() - started) / 1000,
      method: o.method,
      config: o,
      savedAt: new Date(fixedClock() ? 0 : Date.now()).toISOString(),
      metricsBytes: metrics.bytes,
    };
    const staged = join(ckDir, stagedBest(st.step));
    if (improved) bestRef = { step: st.step, epoch: st.epoch, sha256: writeCheckpoint(staged, st, meta, 'best.ckpt') };
    writeCheckpoint(join(ckDir, 'last.ckpt'), st, { ...meta, best: bestRef }, 'last.ckpt');
    savedStep = st.step;
    if (improved) {
      fault('best-link');
      renameSync(staged, join(ckDir, 'best.ckpt'));
      syncDir(ckDir);
    }
  };

  /** After a signal: checkpoint this state (unless just done) and stop. */
  const stopFor = (s: StopSignal, st: TrainState<unknown>, saved: boolean): Interrupted => {
    if (!saved) saveLast(st, false);
    return new Interrupted(s, `stopped by ${s} after step ${st.step}; checkpoint written. Continue with: ${resumeCommand(dir)}`);
  };

  /** Any other error of the run, as one line that says what the directory now allows. */
  const failure = (e: unknown): Error => {
    if (e instanceof Halted || e instanceof Interrupted || e instanceof RunFailed) return e;
    const err = e as NodeJS.ErrnoException;
    const what = err.code !== undefined && err.syscall !== undefined ? `cannot ${err.syscall} ${err.path ?? ''}: ${errnoText(e)}`.replace('  ', ' ') : err.message;
    // An internal error about NaN after a finite loss is divergence seen from inside a step.
    if (err.code === undefined && /\bNaN\b|non-finite|not finite|Infinity/.test(err.message)) return diverged(`a non-finite value inside the step (${err.message})`, false);
    const kept = savedStep !== undefined ? `the checkpoint of step ${savedStep} is intact: continue with ${resumeCommand(dir)}` : `nothing was checkpointed: ${resumeCommand(dir)} starts it again from step 0, or remove ${shellWord(dir)}`;
    const failed = new RunFailed(`${what}; ${kept}`);
    failed.stack = err.stack;
    return failed;
  };

  let last: { trainLoss: number; trainAccuracy: number; val: Evaluation; valClean?: Evaluation; test: Evaluation; probe: Evaluation } | undefined;
  const noisyVal = noisyValidation(o);
  let tStep = nowMs();
  let final: TrainState<unknown>;
  try {
    const r = await fit<unknown>({
      model,
      optimizer: method.tx,
      seed: o.seed,
      ...valLossOption(o),
      epochs: o.epochs,
      train: trainSource(ctx),
      validation: validationSource(ctx),
      evaluations: {
        val: evalSource(ds, validation, 'given'),
        ...(noisyVal ? { valClean: evalSource(ds, validation, 'clean') } : {}),
        test: evalSource(ds, ds.test),
        probe: evalSource(ds, probe),
      },
      best: (m) => (m.evaluations?.['val']?.accuracy as number),
      resume: start,
      callbacks: {
        onEpochStart: (epoch, done) => {
          io.progress.epochStart(epoch, o.epochs, stepsPerEpoch, done);
          tStep = nowMs();
        },
        onStep: async (m, st) => {
          cur = st;
          const batch = st.batchInEpoch ?? 0;
          run.lossSum += m.loss * m.examples;
          run.correct += m.correct;
          run.seen += m.examples;
          rhoNow = m.rho ?? 0;
          if (!Number.isFinite(m.loss)) throw diverged(`loss ${m.loss}`, false);
          if (!Number.isFinite(rhoNow)) throw diverged(`ρ became ${rhoNow}`, nonFiniteDevice({ params: st.params }) === undefined);
          const now = nowMs();
          const dt = (now - tStep) / 1000;
          tStep = now;
          const report = stepReport(m.transform);
          const rec = {
            type: 'step',
            step: st.step,
            epoch: st.epoch + batch / stepsPerEpoch,
            loss: m.loss,
            accuracy: m.accuracy,
            rho: rhoNow,
            ...report,
            seconds: dt,
          };
          // Every --log-every steps, at epoch ends, and on every step where LETS updated ρ.
          if (st.step % o.logEvery === 0 || batch === stepsPerEpoch || 'gap' in report) metrics.write(rec);
          io.progress.step({ batch, loss: run.lossSum / run.seen, accuracy: run.correct / run.seen, rho: rhoNow, examplesPerSecond: m.examples / Math.max(dt, 1e-6), step: st.step });
          await faultAsync(`step:${st.step}`);
          await signals.poll();
          const due = o.checkpointEvery > 0 && st.step % o.checkpointEvery === 0 && batch < stepsPerEpoch;
          if (due) saveLast(st, false);
          const s = signals.requested();
          if (s !== undefined) throw stopFor(s, st, due);
          if (haltIn !== undefined && --haltIn <= 0) throw new Halted(`halted after ${flags.haltAfter} steps`);
        },
        onEpoch: async (m, st) => {
          const ev = m.evaluations as unknown as Readonly<Record<'val' | 'test' | 'probe', Evaluation> & { valClean?: Evaluation }>;
          const { val, valClean, test, probe: pr } = ev;
          cur = st;
          last = { trainLoss: run.lossSum / Math.max(1, run.seen), trainAccuracy: run.correct / Math.max(1, run.seen), val, ...(valClean !== undefined ? { valClean } : {}), test, probe: pr };
          metrics.write({
            type: 'epoch',
            step: st.step,
            epoch: st.epoch,
            trainLoss: pr.loss,
            trainAccuracy: pr.accuracy,
            runningTrainLoss: last.trainLoss,
            runningTrainAccuracy: last.trainAccuracy,
            valLoss: val.loss,
            valAccuracy: val.accuracy,
            ...(valClean !== undefined ? { valCleanLoss: valClean.loss, valCleanAccuracy: valClean.accuracy } : {}),
            testLoss: test.loss,
            testAccuracy: test.accuracy,
            gap: test.loss - pr.loss,
            // Validation − train on the same (clean) labels as the probe's.
            valGap: (valClean ?? val).loss - pr.loss,
            rho: rhoNow,
            wallSeconds: wallBefore + (nowMs() - started) / 1000,
          });
          io.progress.epochEnd({ epoch: st.epoch, valAccuracy: val.accuracy, testAccuracy: test.accuracy, rho: rhoNow });
          run = { lossSum: 0, correct: 0, seen: 0 };
          saveLast(st, m.improved === true);
          await signals.poll();
          const s = signals.requested();
          if (s !== undefined && st.epoch < o.epochs) throw stopFor(s, st, true);
        },
      },
    });
    final = r.state;
  } catch (e) {
    throw failure(e);
  } finally {
    signals.dispose();
    metrics.close();
  }
  const { params, modelState: mstate } = final;
  if (last === undefined) {
    // Resumed from a checkpoint taken at the very end: evaluate what is there.
    const val = await evaluateExamples(model, params, mstate, ds, validation, 'given');
    const valClean = noisyVal ? await evaluateExamples(model, params, mstate, ds, validation, 'clean') : undefined;
    const test = await evaluateExamples(model, params, mstate, ds, ds.test);
    const pr = await evaluateExamples(model, params, mstate, ds, probe);
    last = { trainLoss: pr.loss, trainAccuracy: pr.accuracy, val, ...(valClean !== undefined ? { valClean } : {}), test, probe: pr };
  }
  const wallSeconds = wallBefore + (nowMs() - started) / 1000;
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
    steps: cur.step,
    testAccuracy: last.test.accuracy,
    testLoss: last.test.loss,
    valAccuracy: last.val.accuracy,
    valLoss: last.val.loss,
    valLabels: noisyVal ? 'noisy' : 'clean',
    ...(last.valClean !== undefined ? { valCleanAccuracy: last.valClean.accuracy, valCleanLoss: last.valClean.loss } : {}),
    trainAccuracy: last.probe.accuracy,
    trainLoss: last.probe.loss,
    gap: last.test.loss - last.probe.loss,
    accuracyGap: last.probe.accuracy - last.test.accuracy,
    bestValAccuracy: cur.best ?? -1,
    wallSeconds,
    cpuSeconds: (() => {
      if (fixedClock()) return 0;
      const u = process.cpuUsage(cpu0);
      return (u.user + u.system) / 1e6;
    })(),
    examplesPerSecond: (cur.step * o.batchSize) / Math.max(wallSeconds, 1e-9),
    runDir: dir,
    resumed: resumeFrom !== undefined,
  };
  try {
    writeJsonAtomic(join(dir, 'summary.json'), summary);
  } catch (e) {
    throw failure(e);
  } finally {
    disposeTrainState(final);
  }
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
  disposeState([ck.right.modelState, ck.right.optState]);
  return E.right(ck.right.params);
}
