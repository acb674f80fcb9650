/**
 * Image augmentation on a host batch (float32, NHWC), applied per batch and deterministic
 * under a seed: the batching code gives each batch its own generator derived from
 * (seed, epoch, batch index), so results do not depend on prefetching or timing.
 *
 * - `randomCrop({padding: p})`: zero-pad by p on each side, then crop back to H×W at a
 *   uniform offset (dy, dx) ∈ {0..2p}²:  out[y][x] = in[y+dy−p][x+dx−p], 0 outside.
 *   This is the CIFAR recipe of He et al. (2016) used by SAM (torchvision RandomCrop(32, 4)).
 * - `horizontalFlip({probability})`: out[y][x] = in[y][W−1−x] with that probability per image.
 * - `normalizePerChannel(mean, std)`: out[…, c] = (in[…, c] − mean[c]) / std[c].
 * Apply crop and flip before normalization, as torchvision does.
 */
import type { Rng } from '@lets/runtime';

/** Batch shape [n, h, w, c]. */
export type BatchShape = readonly [number, number, number, number];

/** Transforms a float32 NHWC batch; may reuse or replace the array. */
export type Augmentation = (x: Float32Array, shape: BatchShape, rng: Rng) => Float32Array;

/** Applies augmentations left to right, sharing one generator. */
export const composeAugmentations =
  (...fs: readonly Augmentation[]): Augmentation =>
  (x, shape, rng) =>
    fs.reduce((acc, f) => f(acc, shape, rng), x);

export function randomCrop(options: { readonly padding: number }): Augmentation {
  const p = options.padding;
  if (!(Number.isInteger(p) && p >= 0)) throw new Error(`randomCrop: padding ${p}, expected an integer ≥ 0`);
  return (x, [n, h, w, c], rng) => {
    const out = new Float32Array(x.length);
    const img = h * w * c;
    for (let i = 0; i < n; i++) {
      const dy = rng.nextInt(2 * p + 1) - p;
      const dx = rng.nextInt(2 * p + 1) - p;
      const base = i * img;
      for (let y = 0; y < h; y++) {
        const sy = y + dy;
        if (sy < 0 || sy >= h) continue;
        const x0 = Math.max(0, -dx);
        const x1 = Math.min(w, w - dx);
        if (x1 <= x0) continue;
        const src = base + (sy * w + x0 + dx) * c;
        out.set(x.subarray(src, src + (x1 - x0) * c), base + (y * w + x0) * c);
      }
    }
    return out;
  };
}

export function horizontalFlip(options: { readonly probability?: number } = {}): Augmentation {
  const prob = options.probability ?? 0.5;
  return (x, [n, h, w, c], rng) => {
    const out = new Float32Array(x);
    const img = h * w * c;
    for (let i = 0; i < n; i++) {
      if (!(rng.nextFloat() < prob)) continue;
      for (let y = 0; y < h; y++) {
        const row = i * img + y * w * c;
        for (let xx = 0; xx < w; xx++) {
          for (let k = 0; k < c; k++) out[row + xx * c + k] = x[row + (w - 1 - xx) * c + k]!;
        }
      }
    }
    return out;
  };
}

export function normalizePerChannel(mean: readonly number[], std: readonly number[]): Augmentation {
  if (mean.length !== std.length || std.some((s) => !(s > 0))) {
    throw new Error(`normalizePerChannel: mean [${mean}] and std [${std}], expected equal lengths and std > 0`);
  }
  return (x, [, , , c]) => {
    if (c !== mean.length) throw new Error(`normalizePerChannel: batch has ${c} channels, expected ${mean.length}`);
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const k = i % c;
      out[i] = (x[i]! - mean[k]!) / std[k]!;
    }
    return out;
  };
}

/** Per-channel mean and std of images scaled to [0, 1] (e.g. CIFAR-10 train ≈ (0.491, 0.482, 0.447)). */
export function channelStats(x: ArrayLike<number>, channels: number, scale = 1 / 255): { mean: number[]; std: number[] } {
  const s = new Float64Array(channels);
  const s2 = new Float64Array(channels);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]! * scale;
    const k = i % channels;
    s[k] = s[k]! + v;
    s2[k] = s2[k]! + v * v;
  }
  const m = x.length / channels;
  const mean = Array.from(s, (v) => v / m);
  const std = Array.from(s2, (v, k) => Math.sqrt(Math.max(0, v / m - mean[k]! ** 2)));
  return { mean, std };
}
