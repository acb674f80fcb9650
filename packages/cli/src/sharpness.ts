/**
 * `lets sharpness RUN_DIR`: how sharp the minimum of a finished (or checkpointed) run is, measured
 * by @lets/sharpness on a seeded subset of the run's training split, at checkpoints/best.ckpt or
 * last.ckpt: the top Hessian eigenvalues (`eig`), the Hessian trace (`trace`), plain and adaptive
 * m-sharpness (`msharp`) and a loss-landscape slice (`landscape`, 1-D or 2-D). Writes
 * RUN_DIR/sharpness.json and rebuilds RUN_DIR/report.html, which shows them.
 *
 * The loss is the training objective as the model was trained on it (the run's training labels,
 * noisy where the run used label noise), in eval mode (BatchNorm's running statistics, no
 * dropout), so that it is a function of the parameters alone. The subset is kept on the device as
 * chunks of `--chunk-size` examples and the measures work one chunk at a time (memory is bounded
 * by a chunk, not the subset); m-sharpness takes its ε per micro-batch of `--m` examples.
 */
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import * as data from '@lets/data';
import type { Examples } from '@lets/data';
import { crossEntropy } from '@lets/train';
import type { Model } from '@lets/models';
import { random } from '@lets/runtime';
import {
  hessianEigenvalues,
  hessianTrace,
  landscape1d,
  landscape2d,
  lossAt,
  mSharpness,
  type Chunk,
  type ProgressEvent,
  type SharpnessEstimator,
  type SharpnessProblem,
} from '@lets/sharpness';
import { disposeState, type Params, type Tree } from '@lets/tree';
import { readCheckpoint, readJson, writeJsonAtomic } from './files';
import { SHARPNESS_WHAT } from './flags';
import { acquireLock } from './lock';
import type { Resolved } from './options';
import { buildReport } from './report/build';
import { buildModel, loadData, setupBackend } from './setup';
import { readRunConfig } from './train';

export type SharpnessMeasure = (typeof SHARPNESS_WHAT)[number];

/** The options of one sharpness measurement (the flags of `lets sharpness`). */
export interface SharpnessOptions {
  readonly checkpoint: 'best' | 'last';
  readonly what: readonly SharpnessMeasure[];
  readonly subset: number;
  readonly chunkSize: number;
  readonly seed: number;
  readonly estimator: SharpnessEstimator;
  readonly topK: number;
  readonly eigIterations: number;
  readonly traceSamples: number;
  readonly msharpRho: number;
  readonly adaptiveRho: number;
  readonly msharpSteps: number;
  readonly m: number;
  readonly landscape: '1d' | '2d';
  readonly points: number;
  readonly range: number;
  /** Backend ('auto' or a name); undefined: the run's own. */
  readonly backend?: string;
}

/** What sharpness.json holds. */
export interface SharpnessReport {
  readonly command: 'sharpness';
  readonly version: 1;
  readonly run: string;
  readonly checkpoint: 'best' | 'last';
  readonly step: number | null;
  readonly epoch: number | null;
  readonly method: string;
  /** The run's ρ: the fixed ρ, or the ρ LETS ended with (summary.json; ρ₀ until the run finished). */
  readonly rho: number;
  readonly learnsRho: boolean;
  readonly subset: number;
  readonly chunkSize: number;
  readonly seed: number;
  readonly backend: string;
  /** L(w) on the subset (eval mode, training labels). */
  readonly loss: number;
  readonly eigenvalues?: Record<string, unknown>;
  readonly trace?: Record<string, unknown>;
  readonly msharpness?: { readonly plain: Record<string, unknown>; readonly adaptive: Record<string, unknown> };
  readonly landscape?: Record<string, unknown>;
  readonly wallSeconds: number;
}

/** The options out of resolved flag values (`lets sharpness`, or `lets compare --sharpness`). */
export function sharpnessOptionsOf(v: Resolved): SharpnessOptions {
  return {
    checkpoint: (v['checkpoint'] as 'best' | 'last' | undefined) ?? 'best',
    what: (v['what'] as SharpnessMeasure[] | undefined) ?? [...SHARPNESS_WHAT],
    subset: (v['subset'] as number | undefined) ?? 1000,
    chunkSize: (v['chunkSize'] as number | undefined) ?? 250,
    seed: (v['seed'] as number | undefined) ?? 0,
    estimator: (v['hvp'] as SharpnessEstimator | undefined) ?? 'auto',
    topK: (v['topK'] as number | undefined) ?? 1,
    eigIterations: (v['eigIterations'] as number | undefined) ?? 20,
    traceSamples: (v['traceSamples'] as number | undefined) ?? 20,
    msharpRho: (v['msharpRho'] as number | undefined) ?? 0.05,
    adaptiveRho: (v['adaptiveRho'] as number | undefined) ?? 0.5,
    msharpSteps: (v['msharpSteps'] as number | undefined) ?? 1,
    m: (v['m'] as number | undefined) ?? 128,
    landscape: (v['landscape'] as '1d' | '2d' | undefined) ?? '1d',
    points: (v['points'] as number | undefined) ?? 21,
    range: (v['range'] as number | undefined) ?? 1,
    ...(v['backend'] !== undefined && v['backend'] !== 'auto' ? { backend: v['backend'] as string } : {}),
  };
}

/** A line of progress on stderr (redrawn in place on a terminal). */
export type SharpnessLog = (line: string) => void;

const round = (x: number): number => Number(x.toPrecision(7));

/** Device chunks of the examples `ex` (rows [lo, hi) each), with the loss of each as a function of the params. */
function chunksOf(model: Model, mstate: Tree, ds: data.Dataset, ex: Examples, size: number): { chunks: Chunk[]; dispose: () => void } {
  const held: tf.Tensor[] = [];
  const chunks: Chunk[] = [];
  for (let lo = 0; lo < ex.count; lo += size) {
    const idx = Int32Array.from({ length: Math.min(size, ex.count - lo) }, (_, i) => lo + i);
    const b = data.toBatch(data.hostBatch(ds, ex, idx), ds.numClasses);
    held.push(b.x, b.y);
    const { x, y } = b;
    chunks.push({
      lossFn: (p: Params): tf.Scalar => tf.tidy(() => crossEntropy(model.apply(p, mstate, x, { training: false }).logits, y)),
      weight: idx.length / ex.count,
    });
  }
  return { chunks, dispose: () => held.forEach((t) => t.dispose()) };
}

/** A counter of a checkpoint's training state (@lets/train's format: step and epoch are the state's). */
const counterOf = (state: { readonly step?: unknown; readonly epoch?: unknown }, key: 'step' | 'epoch'): number | null =>
  typeof state[key] === 'number' ? (state[key] as number) : null;

const numberOr = (x: unknown, d: number): number => (typeof x === 'number' && Number.isFinite(x) ? x : d);

/**
 * Measures the run in `dir` and writes dir/sharpness.json (the report is the caller's).
 * Left: a message for the user (not a run directory, no checkpoint, locked); throws on a bug.
 */
export async function measureRun(dir: string, o: SharpnessOptions, log: SharpnessLog = () => undefined): Promise<E.Either<string, SharpnessReport>> {
  const t0 = Date.now();
  if (!existsSync(join(dir, 'config.json'))) return E.left(`${dir}: not a run directory (no config.json)`);
  const cfg = readRunConfig(dir);
  if (E.isLeft(cfg)) return cfg;
  const run = cfg.right;
  let which = o.checkpoint;
  let ckFile = join(dir, 'checkpoints', `${which}.ckpt`);
  if (which === 'best' && !existsSync(ckFile) && existsSync(join(dir, 'checkpoints', 'last.ckpt'))) {
    log(`note: ${ckFile} does not exist (no epoch finished yet); using last.ckpt`);
    which = 'last';
    ckFile = join(dir, 'checkpoints', 'last.ckpt');
  }
  if (!existsSync(ckFile)) return E.left(`${ckFile}: no such checkpoint (has the run written one?)`);
  const lock = acquireLock(dir, 'lets sharpness');
  if (E.isLeft(lock)) return lock;
  try {
    const ds = loadData(run);
    if (E.isLeft(ds)) return ds;
    const model = buildModel(run, ds.right);
    if (E.isLeft(model)) return model;
    let backend: string;
    try {
      backend = await setupBackend(o.backend ?? run.backend);
    } catch (e) {
      return E.left(`--backend ${o.backend ?? run.backend}: ${(e as Error).message}`);
    }
    const ck = readCheckpoint(ckFile);
    if (E.isLeft(ck)) return ck;
    const st = ck.right as { params?: Params; modelState?: Tree; optState?: unknown };
    if (st.params === undefined) {
      disposeState(ck.right);
      return E.left(`${ckFile}: not a training state (no params)`);
    }
    const params = st.params;
    const mstate = st.modelState ?? {};
    disposeState(st.optState);
    const summary = readJson(join(dir, 'summary.json'));
    const sum = E.isRight(summary) ? (summary.right as Record<string, unknown>) : {};
    const learnsRho = run.method.startsWith('lets-');
    const rho = numberOr(sum['finalRho'], run.rho);

    // The subset: `subset` training examples of a seeded permutation, in a fixed order.
    const train = ds.right.train;
    const n = Math.min(o.subset, train.count);
    const perm = random.permutation(random.key(o.seed), train.count).subarray(0, n);
    const ex = data.take(train, Int32Array.from(perm).sort());
    const main = chunksOf(model.right, mstate, ds.right, ex, o.chunkSize);
    const micro = o.what.includes('msharp') ? chunksOf(model.right, mstate, ds.right, ex, o.m) : undefined;
    const problem: SharpnessProblem = { params, chunks: main.chunks };
    const progress = (what: string) => (e: ProgressEvent) =>
      log(`${what} ${e.done}/${e.total}${e.estimate !== undefined ? `  ≈ ${e.estimate.toPrecision(4)}` : ''}`);
    const timed = <A>(f: () => A): [A, number] => {
      const s = Date.now();
      const a = f();
      return [a, (Date.now() - s) / 1000];
    };
    try {
      const loss = lossAt(problem);
      const out: Record<string, unknown> = {};
      if (o.what.includes('eig')) {
        const [r, seconds] = timed(() =>
          hessianEigenvalues(problem, { k: o.topK, estimator: o.estimator, seed: o.seed, maxIterations: Math.max(o.eigIterations, o.topK + 1), onProgress: progress('λ (Lanczos)') }),
        );
        out['eigenvalues'] = { ...r, values: r.values.map(round), residuals: r.residuals.map(round), seconds };
      }
      if (o.what.includes('trace')) {
        const [r, seconds] = timed(() => hessianTrace(problem, { maxSamples: o.traceSamples, estimator: o.estimator, seed: o.seed + 1, onProgress: progress('trace (Hutchinson)') }));
        out['trace'] = { ...r, trace: round(r.trace), stderr: round(r.stderr), probes: r.probes.map(round), seconds };
      }
      if (micro !== undefined) {
        const mp: SharpnessProblem = { params, chunks: micro.chunks };
        const [plain, s1] = timed(() => mSharpness(mp, { rho: o.msharpRho, steps: o.msharpSteps, onProgress: progress('m-sharpness') }));
        const [adaptive, s2] = timed(() => mSharpness(mp, { rho: o.adaptiveRho, adaptive: true, steps: o.msharpSteps, onProgress: progress('adaptive m-sharpness') }));
        const pack = (r: typeof plain, seconds: number): Record<string, unknown> => ({ ...r, m: o.m, sharpness: round(r.sharpness), loss: round(r.loss), perBatch: r.perBatch.map(round), seconds });
        out['msharpness'] = { plain: pack(plain, s1), adaptive: pack(adaptive, s2) };
      }
      if (o.what.includes('landscape')) {
        const common = { range: [-o.range, o.range] as const, points: o.points, seed: o.seed + 2, normalization: 'filter' as const };
        const [r, seconds] = timed(() =>
          o.landscape === '1d'
            ? { dims: 1, ...landscape1d(problem, { ...common, onProgress: progress('landscape') }) }
            : { dims: 2, ...landscape2d(problem, { ...common, onProgress: progress('landscape') }) },
        );
        out['landscape'] = { ...r, normalization: 'filter', biasbn: 'ignore', seconds };
      }
      const report: SharpnessReport = {
        command: 'sharpness',
        version: 1,
        run: dir,
        checkpoint: which,
        step: counterOf(ck.right, 'step'),
        epoch: counterOf(ck.right, 'epoch'),
        method: run.method,
        rho,
        learnsRho,
        subset: n,
        chunkSize: o.chunkSize,
        seed: o.seed,
        backend,
        loss: round(loss),
        ...out,
        wallSeconds: (Date.now() - t0) / 1000,
      };
      writeJsonAtomic(join(dir, 'sharpness.json'), report);
      return E.right(report);
    } finally {
      main.dispose();
      micro?.dispose();
      disposeState([params, mstate]);
    }
  } finally {
    lock.right.release();
  }
}

/** The measures of a report as one line per measure, for the terminal. */
export function formatSharpness(r: SharpnessReport): string {
  const lines = [`${r.method} (ρ ${r.rho.toPrecision(3)}), ${r.checkpoint}.ckpt, ${r.subset} training examples: loss ${r.loss.toFixed(4)}`];
  const e = r.eigenvalues as { values: number[]; hvps: number; estimator: string; converged: boolean; seconds: number } | undefined;
  if (e) lines.push(`  λ_max ${e.values.map((x) => x.toPrecision(4)).join(', ')}  (${e.hvps} HVPs, ${e.estimator}${e.converged ? '' : ', not converged'}, ${e.seconds.toFixed(1)} s)`);
  const t = r.trace as { trace: number; stderr: number; samples: number; seconds: number } | undefined;
  if (t) lines.push(`  trace ${t.trace.toPrecision(4)} ± ${t.stderr.toPrecision(2)}  (${t.samples} probes, ${t.seconds.toFixed(1)} s)`);
  const m = r.msharpness as { plain: { sharpness: number; rho: number; m: number }; adaptive: { sharpness: number; rho: number } } | undefined;
  if (m) lines.push(`  m-sharpness ${m.plain.sharpness.toPrecision(4)} (ρ ${m.plain.rho}, m ${m.plain.m}), adaptive ${m.adaptive.sharpness.toPrecision(4)} (ρ ${m.adaptive.rho})`);
  const l = r.landscape as { dims: number; alphas: number[]; seconds: number } | undefined;
  if (l) lines.push(`  landscape ${l.dims}-D, ${l.dims === 1 ? l.alphas.length : `${l.alphas.length}×${l.alphas.length}`} points (${l.seconds.toFixed(1)} s)`);
  lines.push(`  ${r.wallSeconds.toFixed(1)} s on ${r.backend}`);
  return lines.join('\n');
}

/** A progress logger on a stream: redrawn in place on a terminal, silent otherwise (or when quiet). */
export function sharpnessLog(out: NodeJS.WriteStream, quiet: boolean): SharpnessLog & { end: () => void } {
  const tty = out.isTTY === true;
  let drawn = false;
  const f = ((line: string) => {
    if (quiet) return;
    if (line.startsWith('note:')) {
      out.write(`${drawn ? '\n' : ''}lets sharpness: ${line}\n`);
      drawn = false;
    } else if (tty) {
      out.write(`\r\x1b[2K  ${line}`);
      drawn = true;
    }
  }) as SharpnessLog & { end: () => void };
  f.end = () => {
    if (drawn) out.write('\n');
    drawn = false;
  };
  return f;
}

/** `lets sharpness RUN_DIR`: Left is a usage error (exit 2). */
export async function sharpnessCommand(
  v: Resolved,
  positionals: readonly string[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
  rebuildReport: (dir: string) => Promise<string>,
): Promise<E.Either<string, number>> {
  if (positionals.length !== 1) return E.left(`expected one RUN_DIR argument, got ${positionals.length}`);
  const dir = resolvePath(positionals[0] as string);
  const o = sharpnessOptionsOf(v);
  const json = v['json'] === true;
  const log = sharpnessLog(io.stderr as NodeJS.WriteStream, v['quiet'] === true || json);
  const r = await measureRun(dir, o, log);
  log.end();
  if (E.isLeft(r)) return r;
  const report = v['noReport'] === true ? undefined : await rebuildReport(dir);
  if (json) io.stdout.write(`${JSON.stringify({ ...r.right, ...(report ? { report } : {}) })}\n`);
  else io.stdout.write(`${formatSharpness(r.right)}\nwrote ${join(dir, 'sharpness.json')}${report ? ` and ${report}` : ''}\n`);
  return E.right(0);
}

/** One run's row of a comparison's sharpness (compare-dir sharpness.json). */
export interface CompareSharpnessRow {
  readonly id: string;
  readonly method: string;
  readonly seed: number;
  readonly learnsRho: boolean;
  /** The fixed ρ, or the ρ LETS learned; 0 for sgd. */
  readonly rho: number;
  readonly lambdaMax?: number;
  readonly trace?: number;
  readonly msharpness?: number;
  readonly adaptiveMsharpness?: number;
  readonly error?: string;
}

/** The rows of a report, as the comparison plots them. */
export function compareRowOf(id: string, seed: number, r: SharpnessReport): CompareSharpnessRow {
  const e = r.eigenvalues as { values?: number[] } | undefined;
  const t = r.trace as { trace?: number } | undefined;
  const m = r.msharpness as { plain: { sharpness: number }; adaptive: { sharpness: number } } | undefined;
  return {
    id,
    method: r.method,
    seed,
    learnsRho: r.learnsRho,
    rho: r.method === 'sgd' ? 0 : r.rho,
    ...(e?.values?.[0] !== undefined ? { lambdaMax: e.values[0] } : {}),
    ...(t?.trace !== undefined ? { trace: t.trace } : {}),
    ...(m ? { msharpness: m.plain.sharpness, adaptiveMsharpness: m.adaptive.sharpness } : {}),
  };
}

/**
 * `lets compare --sharpness`: `lets sharpness` on every finished run of the comparison in `dir`
 * (one after another, in this process), each run's sharpness.json and report.html written, and
 * the rows gathered in dir/sharpness.json for the comparison's report. A run that cannot be
 * measured gets an error row; the comparison itself is not failed by it.
 */
export async function sharpnessOfCompare(
  dir: string,
  result: { readonly runs: readonly { readonly id: string; readonly seed: number; readonly summary: unknown }[] },
  v: Resolved,
  io: { stderr: NodeJS.WritableStream },
): Promise<readonly CompareSharpnessRow[]> {
  const o = sharpnessOptionsOf(v);
  const quiet = v['quiet'] === true || v['json'] === true;
  const rows: CompareSharpnessRow[] = [];
  for (const run of result.runs) {
    if (run.summary === null || run.summary === undefined) continue;
    const runDir = join(dir, 'runs', run.id);
    if (!quiet) io.stderr.write(`lets compare: sharpness of ${run.id}\n`);
    const log = sharpnessLog(io.stderr as NodeJS.WriteStream, quiet);
    let r: E.Either<string, SharpnessReport>;
    try {
      r = await measureRun(runDir, o, log);
    } catch (e) {
      r = E.left((e as Error).message);
    }
    log.end();
    if (E.isLeft(r)) {
      io.stderr.write(`lets compare: sharpness of ${run.id} failed: ${r.left}\n`);
      rows.push({ id: run.id, method: '', seed: run.seed, learnsRho: false, rho: 0, error: r.left });
      continue;
    }
    if (v['noReport'] !== true) await buildReport(runDir);
    rows.push(compareRowOf(run.id, run.seed, r.right));
  }
  writeJsonAtomic(join(dir, 'sharpness.json'), { command: 'compare-sharpness', options: o, runs: rows });
  return rows;
}
