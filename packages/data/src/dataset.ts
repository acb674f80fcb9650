/**
 * The common shape every reader and generator returns.
 *
 * Examples live in host memory as flat row-major typed arrays; tensors are made per batch
 * (see `batches`). Image pixels stay `Uint8Array` (0..255) until a batch is built, which
 * keeps full MNIST at 47 MB instead of 188 MB of float32.
 */

/** Flat host storage of inputs: pixels, numeric features, or token ids. */
export type HostArray = Uint8Array | Float32Array | Int32Array;

/**
 * What the inputs are, which decides how a batch is made:
 * - `image`: Uint8Array pixels (or Float32Array), NHWC; batch x = pixels / 255 (float32).
 * - `features`: Float32Array numeric features; batch x = values (float32).
 * - `tokens`: Int32Array token ids (sequence length = inputShape[0]); batch x is int32.
 */
export type InputKind = 'image' | 'features' | 'tokens';

/** `count` examples: `x` holds `count × prod(inputShape)` values. */
export interface Examples {
  readonly x: HostArray;
  /** Labels the model trains on (noisy where label noise was applied). */
  readonly y: Int32Array;
  /** True labels, for reporting; the same array as `y` when no noise was applied. */
  readonly cleanY: Int32Array;
  readonly count: number;
}

export interface Dataset {
  readonly name: string;
  readonly kind: InputKind;
  readonly train: Examples;
  /** Held out from `train` by `holdOut`; absent until then. */
  readonly validation?: Examples;
  readonly test: Examples;
  readonly numClasses: number;
  /** Shape of one example: [28, 28, 1] (MNIST), [32, 32, 3] (CIFAR), [d] (features), [seqLen] (tokens). */
  readonly inputShape: readonly number[];
  readonly classNames?: readonly string[];
  /** Token strings by id, for `tokens` datasets (0 = PAD, 1 = OOV). */
  readonly vocabulary?: readonly string[];
}

/** Examples with clean labels. */
export const examples = (x: HostArray, y: Int32Array): Examples => ({ x, y, cleanY: y, count: y.length });

/** Product of a shape's sizes. */
export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** A new typed array of the same kind as `a`, with room for `n` values. */
export function allocLike(a: HostArray, n: number): HostArray {
  if (a instanceof Uint8Array) return new Uint8Array(n);
  if (a instanceof Int32Array) return new Int32Array(n);
  return new Float32Array(n);
}

/** The examples at `indices`, in that order (copies). */
export function take(ex: Examples, indices: ArrayLike<number>): Examples {
  const n = indices.length;
  const d = ex.count === 0 ? 0 : ex.x.length / ex.count;
  const x = allocLike(ex.x, n * d);
  const y = new Int32Array(n);
  const noisy = ex.y !== ex.cleanY;
  const cleanY = noisy ? new Int32Array(n) : y;
  for (let i = 0; i < n; i++) {
    const j = indices[i]!;
    x.set(ex.x.subarray(j * d, (j + 1) * d), i * d);
    y[i] = ex.y[j]!;
    if (noisy) cleanY[i] = ex.cleanY[j]!;
  }
  return { x, y, cleanY, count: n };
}

/** Examples of `a` followed by those of `b`. */
export function concat(a: Examples, b: Examples): Examples {
  const x = allocLike(a.x, a.x.length + b.x.length);
  x.set(a.x, 0);
  x.set(b.x, a.x.length);
  const y = new Int32Array(a.count + b.count);
  y.set(a.y, 0);
  y.set(b.y, a.count);
  const noisy = a.y !== a.cleanY || b.y !== b.cleanY;
  let cleanY = y;
  if (noisy) {
    cleanY = new Int32Array(a.count + b.count);
    cleanY.set(a.cleanY, 0);
    cleanY.set(b.cleanY, a.count);
  }
  return { x, y, cleanY, count: a.count + b.count };
}

/** Count of each class 0..numClasses-1 among `labels`. */
export function classCounts(labels: Int32Array, numClasses: number): number[] {
  const c = new Array<number>(numClasses).fill(0);
  for (const l of labels) c[l] = (c[l] ?? 0) + 1;
  return c;
}
