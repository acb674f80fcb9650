/**
 * Seeded random streams for the data pipeline, on @lets/runtime's `Rng` (xoshiro128**, state
 * of four plain numbers; Blackman & Vigna 2018).
 *
 * Every random choice here draws from its own stream, named by the user's seed and stream ids
 * (a purpose tag, the epoch, the batch index): `streamRng(seed, purpose, epoch, batch)`. The
 * ids are mixed into one 53-bit seed with splitmix32 (Steele, Lea & Flood 2014, 32-bit
 * variant), so nearby seeds and ids give unrelated streams, and a batch's augmentation does
 * not depend on how many numbers other batches consumed (prefetch order is irrelevant).
 */
import { Rng } from '@lets/runtime';

function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** One safe-integer seed (< 2^53) for the stream (seed, ...stream). */
export function streamSeed(seed: number, ...stream: readonly number[]): number {
  if (!Number.isSafeInteger(seed)) throw new Error(`streamSeed: seed ${seed}, expected a safe integer`);
  let h = splitmix32((seed >>> 0) ^ splitmix32(Math.floor(seed / 4294967296) >>> 0));
  for (const s of stream) {
    if (!Number.isSafeInteger(s)) throw new Error(`streamSeed: stream id ${s}, expected a safe integer`);
    h = splitmix32(h ^ splitmix32((s >>> 0) ^ splitmix32(Math.floor(s / 4294967296) >>> 0)));
  }
  const lo = splitmix32(h ^ 0x6a09e667);
  return (h >>> 11) * 4294967296 + lo;
}

/** The generator of stream (seed, ...stream). */
export const streamRng = (seed: number, ...stream: readonly number[]): Rng => new Rng(streamSeed(seed, ...stream));

/** A uniformly random permutation of 0..n−1 (Fisher–Yates, Knuth TAOCP vol. 2 §3.4.2 P). */
export const permutation = (n: number, rng: Rng): Int32Array => rng.permutation(n);

const pair = new Float32Array(2);

/** One standard normal draw (Box–Muller via `Rng.fillNormal`). */
export function normal(rng: Rng): number {
  return rng.fillNormal(pair)[0]!;
}

export { Rng };
