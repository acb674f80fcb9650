/**
 * Batching: seeded shuffling, drop-last, per-batch tensors, augmentation, prefetch.
 *
 * Epoch e visits the examples in the order of a permutation drawn from (seed, e), so every
 * epoch differs and any run is reproducible. Batch b of epoch e is augmented with a
 * generator drawn from (seed, e, b). A batch's host arrays are built first (gather,
 * pixels/255, augmentation) and turned into tensors when the consumer takes it:
 *   x: float32 [B, ...inputShape] (int32 for token datasets),
 *   y: one-hot float32 [B, K] or int32 [B].
 * A `Batch` owns its two tensors; call `dispose()` when the step is done.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Augmentation, BatchShape } from './augment';
import { Dataset, Examples, sizeOf } from './dataset';
import { random } from '@lets/runtime';

export interface BatchOptions {
  readonly batchSize: number;
  /** Shuffle each epoch (default true); false visits examples in order. */
  readonly shuffle?: boolean;
  readonly seed?: number;
  /** Epoch number: selects the permutation and augmentation streams (default 0). */
  readonly epoch?: number;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  readonly dropLast?: boolean;
  /** Labels as one-hot float32 [B, K] (default) or int32 [B]. */
  readonly labels?: 'onehot' | 'int';
  /** Image augmentation applied to each batch (image datasets only). */
  readonly augment?: Augmentation;
  /** Batches prepared ahead of the one being consumed (async iteration; default 1). */
  readonly prefetch?: number;
}

/** A batch in host memory. */
export interface HostBatch {
  readonly x: Float32Array | Int32Array;
  readonly y: Int32Array;
  /** Labels before noise, for reporting. */
  readonly cleanY: Int32Array;
  /** Example indices into the split. */
  readonly indices: Int32Array;
  /** [B, ...inputShape]. */
  readonly shape: readonly number[];
}

/** A batch as tensors; owns `x` and `y` until `dispose()`. */
export interface Batch {
  readonly x: tf.Tensor;
  readonly y: tf.Tensor;
  readonly cleanY: Int32Array;
  readonly indices: Int32Array;
  readonly size: number;
  dispose(): void;
}

/** The index lists of one epoch's batches. */
export function batchIndices(count: number, options: BatchOptions): Int32Array[] {
  const bs = options.batchSize;
  if (!(Number.isInteger(bs) && bs >= 1)) throw new Error(`batches: batchSize ${bs}, expected an integer ≥ 1`);
  let order: Int32Array;
  if (options.shuffle ?? true) order = random.permutation(random.fold(random.key(options.seed ?? 0), 0x626174, options.epoch ?? 0), count);
  else order = Int32Array.from({ length: count }, (_, i) => i);
  const out: Int32Array[] = [];
  for (let s = 0; s < count; s += bs) {
    const b = order.subarray(s, Math.min(count, s + bs));
    if (b.length < bs && options.dropLast) break;
    out.push(b);
  }
  return out;
}

/** Number of batches per epoch. */
export const batchCount = (count: number, batchSize: number, dropLast = false): number =>
  dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);

/** Gathers, scales and augments one batch in host memory. */
export function hostBatch(
  ds: Pick<Dataset, 'kind' | 'inputShape'>,
  ex: Examples,
  indices: Int32Array,
  options: Pick<BatchOptions, 'augment' | 'seed' | 'epoch'> & { readonly batchIndex?: number } = {},
): HostBatch {
  const d = sizeOf(ds.inputShape);
  const n = indices.length;
  const shape = [n, ...ds.inputShape];
  const y = new Int32Array(n);
  const cleanY = new Int32Array(n);
  let x: Float32Array | Int32Array = ds.kind === 'tokens' ? new Int32Array(n * d) : new Float32Array(n * d);
  const scale = ds.kind === 'image' && ex.x instanceof Uint8Array ? 1 / 255 : 1;
  for (let i = 0; i < n; i++) {
    const j = indices[i]!;
    y[i] = ex.y[j]!;
    cleanY[i] = ex.cleanY[j]!;
    const src = ex.x.subarray(j * d, (j + 1) * d);
    if (scale === 1) x.set(src, i * d);
    else for (let k = 0; k < d; k++) x[i * d + k] = src[k]! * scale;
  }
  if (options.augment) {
    if (ds.kind !== 'image' || ds.inputShape.length !== 3) {
      throw new Error(`batches: augmentation needs an image dataset [h, w, c], got ${ds.kind} [${ds.inputShape}]`);
    }
    const rng = random.rng(random.fold(random.key(options.seed ?? 0), 0x617567, options.epoch ?? 0, options.batchIndex ?? 0));
    x = options.augment(x as Float32Array, shape as unknown as BatchShape, rng);
  }
  return { x, y, cleanY, indices, shape };
}

/** Tensors of a host batch. */
export function toBatch(host: HostBatch, numClasses: number, labels: 'onehot' | 'int' = 'onehot'): Batch {
  const x = tf.tensor(host.x, host.shape as number[], host.x instanceof Int32Array ? 'int32' : 'float32');
  let y: tf.Tensor;
  if (labels === 'int') y = tf.tensor1d(host.y, 'int32');
  else {
    const oh = new Float32Array(host.y.length * numClasses);
    host.y.forEach((l, i) => (oh[i * numClasses + l] = 1));
    y = tf.tensor2d(oh, [host.y.length, numClasses]);
  }
  return {
    x,
    y,
    cleanY: host.cleanY,
    indices: host.indices,
    size: host.y.length,
    dispose: () => {
      x.dispose();
      y.dispose();
    },
  };
}

type Split = 'train' | 'validation' | 'test';

function splitOf(ds: Dataset, split: Split): Examples {
  const ex = ds[split];
  if (!ex) throw new Error(`batches: dataset '${ds.name}' has no ${split} split, expected one (use holdOut for validation)`);
  return ex;
}

/** One epoch of batches, built on demand (synchronous). */
export function* batches(ds: Dataset, split: Split, options: BatchOptions): Generator<Batch, void, undefined> {
  const ex = splitOf(ds, split);
  const idx = batchIndices(ex.count, options);
  for (let b = 0; b < idx.length; b++) {
    yield toBatch(hostBatch(ds, ex, idx[b]!, { ...options, batchIndex: b }), ds.numClasses, options.labels);
  }
}

const nextTick = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * One epoch of batches as an async iterator that keeps `prefetch` batches in preparation:
 * each is built in its own macrotask (setImmediate), so it runs whenever the training step
 * awaits (reading a loss, a GPU sync) instead of after the step. Only host arrays are made
 * ahead; tensors are created when a batch is handed out, so stopping early leaks nothing.
 */
export async function* prefetchBatches(ds: Dataset, split: Split, options: BatchOptions): AsyncGenerator<Batch, void, undefined> {
  const ex = splitOf(ds, split);
  const idx = batchIndices(ex.count, options);
  const depth = Math.max(0, options.prefetch ?? 1);
  const queue: Promise<HostBatch>[] = [];
  let next = 0;
  const schedule = (): void => {
    const b = next++;
    const p = nextTick().then(() => hostBatch(ds, ex, idx[b]!, { ...options, batchIndex: b }));
    p.catch(() => undefined); // a batch still queued when the consumer stops must not reject unhandled
    queue.push(p);
  };
  for (;;) {
    if (queue.length === 0) {
      if (next >= idx.length) return;
      schedule(); // prefetch 0: build on demand
    }
    const host = await queue.shift()!;
    while (next < idx.length && queue.length < depth) schedule();
    yield toBatch(host, ds.numClasses, options.labels);
  }
}
