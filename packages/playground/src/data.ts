/**
 * The MNIST subset the build writes beside the bundle (scripts/build.mjs), and batches of it.
 *
 * mnist.bin: 'LETSMNST', u32 LE version (1), rows, cols, nTrain, nValidation, nTest; then for each
 * of train, validation, test the images (count × rows × cols bytes) and the labels (count bytes).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface Split {
  /** count × rows × cols grey levels, 0..255. */
  readonly images: Uint8Array;
  /** count labels, 0..9. */
  readonly labels: Uint8Array;
  readonly count: number;
}

export interface MnistSubset {
  readonly rows: number;
  readonly cols: number;
  readonly train: Split;
  readonly validation: Split;
  readonly test: Split;
}

export const MAGIC = 'LETSMNST';
export const HEADER_BYTES = 32;
export const NUM_CLASSES = 10;

/** Reads mnist.bin; a file of another layout fails naming `source` and what was expected. */
export function parseMnistSubset(bytes: Uint8Array, source = 'mnist.bin'): MnistSubset {
  if (bytes.length < HEADER_BYTES) {
    throw new Error(`${source}: ${bytes.length} bytes, expected at least a ${HEADER_BYTES}-byte header`);
  }
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (magic !== MAGIC) throw new Error(`${source}: starts with ${JSON.stringify(magic)}, expected ${JSON.stringify(MAGIC)}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [version, rows, cols, nTrain, nVal, nTest] = [0, 1, 2, 3, 4, 5].map((i) => view.getUint32(8 + 4 * i, true)) as [
    number, number, number, number, number, number,
  ];
  if (version !== 1) throw new Error(`${source}: version ${version}, expected 1`);
  const pixels = rows * cols;
  const expected = HEADER_BYTES + (nTrain + nVal + nTest) * (pixels + 1);
  if (bytes.length !== expected) {
    throw new Error(`${source}: ${bytes.length} bytes, expected ${expected} for ${nTrain}+${nVal}+${nTest} images of ${rows}×${cols}`);
  }
  let at = HEADER_BYTES;
  const part = (count: number, name: string): Split => {
    const images = bytes.subarray(at, at + count * pixels);
    at += count * pixels;
    const labels = bytes.subarray(at, at + count);
    at += count;
    const bad = labels.findIndex((l) => l >= NUM_CLASSES);
    if (bad >= 0) throw new Error(`${source}: ${name} label ${bad} is ${labels[bad]}, expected 0..${NUM_CLASSES - 1}`);
    if (count === 0) throw new Error(`${source}: no ${name} images, expected at least one`);
    return { images, labels, count };
  };
  return { rows, cols, train: part(nTrain, 'train'), validation: part(nVal, 'validation'), test: part(nTest, 'test') };
}

export interface Batch {
  /** n × (rows·cols), pixels / 255. */
  readonly x: tf.Tensor2D;
  /** n × 10 one-hot. */
  readonly y: tf.Tensor2D;
}

/** The examples at `indices` as tensors (owned by the caller). */
export function batchOf(split: Split, indices: ArrayLike<number>): Batch {
  const n = indices.length;
  const pixels = split.images.length / split.count;
  const x = new Float32Array(n * pixels);
  const y = new Float32Array(n * NUM_CLASSES);
  for (let i = 0; i < n; i++) {
    const k = indices[i]!;
    if (!(k >= 0 && k < split.count)) throw new Error(`batch index ${k}, expected 0..${split.count - 1}`);
    const src = split.images.subarray(k * pixels, (k + 1) * pixels);
    for (let j = 0; j < pixels; j++) x[i * pixels + j] = src[j]! / 255;
    y[i * NUM_CLASSES + split.labels[k]!] = 1;
  }
  return { x: tf.tensor2d(x, [n, pixels]), y: tf.tensor2d(y, [n, NUM_CLASSES]) };
}

/** All of a split as one batch. */
export const wholeSplit = (split: Split): Batch => batchOf(split, Array.from({ length: split.count }, (_, i) => i));

/** mulberry32: a small seeded generator of uniforms in [0, 1). */
export function uniforms(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Batch indices of a split, epoch after epoch: each epoch a fresh seeded permutation (Fisher–Yates),
 * cut into batches of `batchSize` (the last partial batch of an epoch is dropped).
 */
export function batchIndices(count: number, batchSize: number, seed: number): () => Int32Array {
  if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= count)) {
    throw new Error(`batch size ${batchSize}, expected an integer in 1..${count}`);
  }
  const rand = uniforms(seed);
  let perm = new Int32Array(0);
  let at = 0;
  return () => {
    if (at + batchSize > perm.length) {
      perm = Int32Array.from({ length: count }, (_, i) => i);
      for (let i = count - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      at = 0;
    }
    at += batchSize;
    return perm.slice(at - batchSize, at);
  };
}
