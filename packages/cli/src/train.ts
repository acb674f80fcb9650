/**
 * `lets train`: one run, from resolved options to a run directory.
 *
 * One step (DESIGN.md): batch → loss & grads of the model → the method's update (SAM's
 * perturbed pass and LETS's validation pass happen inside, through `gradFn` / `valGradFn`)
 * → new params. Every step runs in its own memory scope and keeps only the new params, model
 * state and optimizer state.
 *
 * Determinism and resume: batch b of epoch e is fixed by (seed, e) (@lets/data's seeded
 * permutation), LETS's validation batch at step t by (seed, t), dropout by (seed, t). A
 * checkpoint holds params, model state, optimizer state and the counters, serialized bit for
 * bit; a resumed run skips the batches already done in its epoch, so it ends with the same
 * parameters as an uninterrupted one (bit for bit on the cpu backend).
 */
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import * as data from '@lets/data';
import type { Dataset, Examples } from '@lets/data';
import type { Model } from '@lets/models';
import { applyUpdates } from '@lets/optim';
import type { Extra, GradResult } from '@lets/optim';
import { softmaxCrossEntropy } from '@lets/runtime';
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

/** Mean loss and accuracy of the model on examples (eval mode, batches of 500). */
export function evaluate(model: Model, params: Params, state: Tree, ds: Dataset, ex: Examples): Evaluation {
  let loss = 0;
  let correct = 0;
  const bs = 500;
  for (let s = 0; s < ex.count; s += bs) {
    const idx = Int32Array.from({ length: Math.min(bs, ex.count - s) }, (_, i) => s + i);
    const host = data.hostBatch(ds, ex, idx);
    // Accuracy against the clean labels; the loss too (what generalization is about).
    const b = data.toBatch({ ...host, y: host.cleanY }, ds.numClasses);
    const [l, c] = tf.tidy(() => {
      const { logits } = model.apply(params, state, b.x, { training: false });
      const lv = softmaxCrossEntropy(logits, b.y);
      const cv = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(b.y, 1)), 'float32'));
      return [lv.dataSync()[0] as number, cv.dataSync()[0] as number];
    });
    b.dispose();
    loss += l * idx.length;
    correct += c;
  }
  return { loss: loss / Math.max(1, ex.count), accuracy: correct / Math.max(1, ex.count) };
}

/** Seed of the dropout masks of a pass, from the run seed, the step and the pass. */
const passSeed = (seed: number, step: number, pass: number): number => (((seed * 1000003) ^ (step * 7919 + pass * 104729)) >>> 0) % 2147483647;

/**
 * Loss and gradients of the model on one batch, at any params (the `gradFn` of @lets/optim).
 * The clean pass (`record`) also returns the number of correct predictions.
 */
function gradFnOf(model: Model, mstate: Tree, x: tf.Tensor, y: tf.Tensor, seed: number): (p: Params) => GradResult & { correct?: tf.Scalar } {
  let pass = 0;
  return (p: Params) => {
    const keys = Object.keys(p);
    let newState: Tree = {};
    let correct: tf.Scalar | undefined;
    const passNo = pass++;
    const { value, grads } = tf.valueAndGrads((...vals: tf.Tensor[]) => {
      const params: Record<string, tf.Tensor> = {};
      keys.forEach((k, i) => (params[k] = vals[i] as tf.Tensor));
      const out = model.apply(params, mstate, x, { training: true, seed: passSeed(seed, 0, passNo) });
      newState = out.state;
      for (const t of Object.values(newState)) tf.keep(t);
      if (passNo === 0) {
        correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(out.logits, 1), tf.argMax(y, 1)), 'float32')) as tf.Scalar);
      }
      return softmaxCrossEntropy(out.logits, y);
    })(keys.map((k) => p[k] as tf.Tensor));
    const g: Record<string, tf.Tensor> = {};
    keys.forEach((k, i) => (g[k] = grads[i] as tf.Tensor));
    return { loss: value as tf.Scalar, grads: g, state: newState, ...(correct ? { correct } : {}) };
  };
}

/** A differentiable loss of the params on one batch (for exact Hessian-vector products). */
const lossFnOf = (model: Model, mstate: Tree, x: tf.Tensor, y: tf.Tensor, seed: number) => (p: Params): tf.Scalar =>
  tf.tidy(() => softmaxCrossEntropy(model.apply(p, mstate, x, { training: true, seed }).logits, y));

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

/**
 * One training step on the training examples `idx` at step number `step`. Consumes `vars`
 * (disposes them) and returns the new ones, with the clean pass's loss and correct count.
 * LETS's validation batch at a step is fixed by (seed, step) and built only when asked for.
 */
export async function trainStep(ctx: RunContext, vars: Vars, idx: Int32Array, step: number): Promise<{ vars: Vars; loss: number; correct: number }> {
  const { o, ds, model, method } = ctx;
  const { params, mstate, ostate } = vars;
  const validation = ds.validation as Examples;
  const valBatchSize = Math.min(o.batchSize, validation.count);
  const valPerEpoch = data.batchCount(validation.count, valBatchSize, true);
  const batch = data.toBatch(data.hostBatch(ds, ds.train, idx), ds.numClasses);
  const seed = passSeed(o.seed, step, 0);
  const gradFn = gradFnOf(model, mstate, batch.x, batch.y, seed);
  let valBatch: data.Batch | undefined;
  const valBatchOf = (): data.Batch => {
    if (valBatch === undefined) {
      const vOrder = data.batchIndices(validation.count, { batchSize: valBatchSize, seed: o.seed + 7777, epoch: Math.floor(step / valPerEpoch), dropLast: true });
      valBatch = data.toBatch(data.hostBatch(ds, validation, vOrder[step % valPerEpoch] as Int32Array), ds.numClasses);
    }
    return valBatch;
  };
  const valSeed = passSeed(o.seed, step, 1);
  const valGradFn = (p: Params): GradResult => {
    const b = valBatchOf();
    const r = gradFnOf(model, mstate, b.x, b.y, valSeed)(p);
    r.correct?.dispose();
    return { loss: r.loss, grads: r.grads, ...(r.state ? { state: r.state } : {}) };
  };
  const clean = gradFn(params);
  const extra: Extra = {
    loss: clean.loss,
    gradFn: (p: Params) => {
      const r = gradFn(p);
      return { loss: r.loss, grads: r.grads, ...(r.state ? { state: r.state } : {}) };
    },
    valGradFn,
    lossFn: lossFnOf(model, mstate, batch.x, batch.y, seed),
    valLossFn: (p: Params) => {
      const b = valBatchOf();
      return lossFnOf(model, mstate, b.x, b.y, valSeed)(p);
    },
    step,
  };
  const [updates, nextO] = method.tx.update(clean.grads, ostate, params, extra);
  const nextP = applyUpdates(params, updates);
  const loss = (await clean.loss.data())[0] as number;
  const correct = clean.correct ? ((await clean.correct.data())[0] as number) : 0;
  // The clean pass's model state is the one kept (SAM's perturbed pass state is discarded).
  const nextS = clean.state ?? mstate;
  disposeState([updates, clean.grads, clean.loss, clean.correct ?? null]);
  disposeState(params);
  disposeState(ostate);
  if (nextS !== mstate) disposeState(mstate);
  batch.dispose();
  valBatch?.dispose();
  return { vars: { params: nextP, mstate: nextS, ostate: nextO }, loss, correct };
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
  let params: Params;
  let mstate: Tree;
  let ostate: unknown;
  let c: Counters;
  if (resumeFrom !== undefined) {
    const ck = readCheckpoint(resumeFrom);
    if (E.isLeft(ck)) throw new Error(ck.left);
    const st = ck.right.state as { params: Params; modelState: Tree; optState: unknown };
    params = st.params;
    mstate = st.modelState;
    ostate = st.optState;
    c = { ...(ck.right.meta['counters'] as Counters) };
    // Metrics written after the checkpoint belong to the lost part of the run: drop them.
    const lines = readJsonLines(join(dir, 'metrics.jsonl'));
    const kept = E.isRight(lines) ? lines.right.filter((r) => (r['step'] as number) <= c.step) : [];
    writeFileAtomic(join(dir, 'metrics.jsonl'), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  } else {
    mkdirSync(join(dir, 'checkpoints'), { recursive: true });
    writeJsonAtomic(join(dir, 'config.json'), o);
    const v = model.init(o.seed);
    params = v.params;
    mstate = v.state;
    ostate = method.tx.init(params);
    c = { step: 0, epoch: 0, batchInEpoch: 0, lossSum: 0, correct: 0, seen: 0, bestValAccuracy: -1, wallSeconds: 0 };
  }
  const wallBefore = c.wallSeconds;
  const metrics = new JsonLinesWriter(join(dir, 'metrics.jsonl'));
  const validation = ds.validation as Examples;
  const probe = trainProbe(ds);
  let haltIn = flags.haltAfter;

  const saveLast = (best: boolean): void => {
    c.wallSeconds = wallBefore + (Date.now() - started) / 1000;
    const state = { params, modelState: mstate, optState: ostate };
    const meta = { counters: c, method: o.method, savedAt: new Date().toISOString() };
    writeCheckpoint(join(dir, 'checkpoints', 'last.ckpt'), meta, state);
    if (best) writeCheckpoint(join(dir, 'checkpoints', 'best.ckpt'), meta, state);
  };

  let last: { trainLoss: number; trainAccuracy: number; val: Evaluation; test: Evaluation; probe: Evaluation } | undefined;
  const rho0 = o.rho;
  let rhoNow = method.rhoOf(ostate);
  try {
    while (c.epoch < o.epochs) {
      const order = data.batchIndices(ds.train.count, { batchSize: o.batchSize, seed: o.seed, epoch: c.epoch });
      io.progress.epochStart(c.epoch, o.epochs, order.length, c.batchInEpoch);
      for (; c.batchInEpoch < order.length; ) {
        const t0 = Date.now();
        const idx = order[c.batchInEpoch] as Int32Array;
        const r = await trainStep(ctx, { params, mstate, ostate }, idx, c.step);
        ({ params, mstate, ostate } = r.vars);
        const lossV = r.loss;
        const correct = r.correct;
        c.step++;
        c.batchInEpoch++;
        c.lossSum += lossV * idx.length;
        c.correct += correct;
        c.seen += idx.length;
        rhoNow = method.rhoOf(ostate);
        if (!Number.isFinite(lossV)) throw new Error(`training diverged at step ${c.step}: loss ${lossV} (lower --lr?)`);
        const dt = (Date.now() - t0) / 1000;
        const report = method.reportOf(ostate);
        const rec = {
          type: 'step',
          step: c.step,
          epoch: c.epoch + c.batchInEpoch / order.length,
          loss: lossV,
          accuracy: correct / idx.length,
          rho: rhoNow,
          ...report,
          seconds: dt,
        };
        // Every --log-every steps, at epoch ends, and on every step where LETS updated ρ.
        if (c.step % o.logEvery === 0 || c.batchInEpoch === order.length || 'gap' in report) metrics.write(rec);
        io.progress.step({ batch: c.batchInEpoch, loss: c.lossSum / c.seen, accuracy: c.correct / c.seen, rho: rhoNow, examplesPerSecond: idx.length / Math.max(dt, 1e-6), step: c.step });
        if (o.checkpointEvery > 0 && c.step % o.checkpointEvery === 0 && c.batchInEpoch < order.length) saveLast(false);
        if (haltIn !== undefined && --haltIn <= 0) throw new Halted(`halted after ${flags.haltAfter} steps`);
      }
      const val = evaluate(model, params, mstate, ds, validation);
      const test = evaluate(model, params, mstate, ds, ds.test);
      const pr = evaluate(model, params, mstate, ds, probe);
      last = { trainLoss: c.lossSum / Math.max(1, c.seen), trainAccuracy: c.correct / Math.max(1, c.seen), val, test, probe: pr };
      const best = val.accuracy > c.bestValAccuracy;
      if (best) c.bestValAccuracy = val.accuracy;
      metrics.write({
        type: 'epoch',
        step: c.step,
        epoch: c.epoch + 1,
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
      io.progress.epochEnd({ epoch: c.epoch + 1, valAccuracy: val.accuracy, testAccuracy: test.accuracy, rho: rhoNow });
      c.epoch++;
      c.batchInEpoch = 0;
      c.lossSum = 0;
      c.correct = 0;
      c.seen = 0;
      saveLast(best);
    }
  } finally {
    metrics.close();
  }
  if (last === undefined) {
    // Resumed from a checkpoint taken at the very end: evaluate what is there.
    const val = evaluate(model, params, mstate, ds, validation);
    const test = evaluate(model, params, mstate, ds, ds.test);
    const pr = evaluate(model, params, mstate, ds, probe);
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
  disposeState([params, mstate, ostate]);
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
