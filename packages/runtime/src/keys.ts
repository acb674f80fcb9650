/**
 * Pure, splittable random keys (in the manner of JAX's `jax.random`): the one way this monorepo
 * names a random stream. A {@link Key} is a plain safe integer — the seed of its stream's
 * generator — so it sits in any state and checkpoints with it; every function here is pure (the
 * same key gives the same draws).
 *
 *   const k = key(seed);                       // from a user's seed (the key of seed s is s)
 *   const kInit = fold(k, 'conv1/kernel');     // a named sub-stream (a parameter path, 'dropout/3')
 *   const kBatch = fold(k, PURPOSE, epoch, i); // the sub-stream at a path of ids
 *   const [k1, k2] = split(k);                 // fresh, independent keys
 *   normal(k1, [3, 3]); uniforms(k2, 10);      // draws (tensors, or host Float32Arrays)
 *   rng(k)                                     // a sequential generator, when one stream is read in a loop
 *
 * `fold(k, a, b)` names the sub-stream at path (a, b) of k, mixed in one pass; it is a different
 * (equally independent) key from `fold(fold(k, a), b)`.
 *
 * Mixing is splitmix32's output step (Steele, Lea & Flood 2014, 32-bit variant: golden-ratio
 * increment and the murmur3 finalizer), so nearby seeds and ids give unrelated keys; strings are
 * hashed with FNV-1a (32-bit, over UTF-16 code units). Draws come from runtime's `Rng`
 * (xoshiro128**, Blackman & Vigna 2018) seeded with the key, generated in JavaScript and uploaded,
 * so a key gives the same tensor on every backend.
 *
 * The derivations are exactly the ones the packages used before keys existed, so every recorded
 * run replays bit for bit: a path of integers is @lets/data's stream naming
 * (`streamSeed(seed, ...ids)` = `fold(key(seed), ...ids)`), and a single label under a seed below
 * 2^32 is @lets/models' (`deriveSeed(seed, label)` = `fold(key(seed), label)`).
 *
 * Browser-safe: no Node built-ins.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { Rng } from './rng';

/** A random key: a safe integer, the seed of its stream (plain data: store it, checkpoint it, compare it). */
export type Key = number;

/** splitmix32's output step on x + φ·2^32 (one mixing round, a bijection of uint32). */
const mix = (x: number): number => {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
};

const hi32 = (n: number): number => Math.floor(n / 4294967296) >>> 0;

/** A safe integer (negative ones included) mixed down to 32 bits: both halves count. */
const mixInt = (n: number): number => mix((n >>> 0) ^ mix(hi32(n)));

/** FNV-1a (32-bit) of a string's UTF-16 code units (Fowler, Noll & Vo). */
export const hashString = (s: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
};

/** Is `k` a key (a safe integer)? */
export const isKey = (k: unknown): k is Key => typeof k === 'number' && Number.isSafeInteger(k);

const checkKey = (where: string, k: unknown): Key => {
  if (!isKey(k)) throw new Error(`${where}: key must be a safe integer (from key(seed)), got ${String(k)}`);
  return k;
};

const checkCount = (where: string, n: unknown): number => {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new Error(`${where}: n must be a non-negative integer, got ${String(n)}`);
  return n;
};

/** The key of a seed (any safe integer, negative ones included): the seed itself, checked. */
export const key = (seed: number): Key => {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) throw new Error(`key: seed must be a safe integer, got ${String(seed)}`);
  return seed;
};

/** Domain tag of strings inside a longer path, so 'x' is not the integer that hashes like it. */
const STRING_TAG = 0x73747267; // 'strg'

/**
 * The key of the sub-stream of `k` at `path`: safe integers (a purpose tag, an epoch, a batch
 * index) and strings (a parameter path, `dropout/3`). One label gives a 32-bit key, any other
 * path a 53-bit one.
 */
export const fold = (k: Key, ...path: readonly (number | string)[]): Key => {
  checkKey('fold', k);
  for (const d of path) {
    if (typeof d !== 'string' && !(typeof d === 'number' && Number.isSafeInteger(d))) {
      throw new Error(`fold: path entries must be safe integers or strings, got ${String(d)}`);
    }
  }
  if (path.length === 1 && typeof path[0] === 'string') {
    // One label: splitmix32 of k ⊕ FNV-1a(label) (the high half of k, when there is one, mixed in).
    const hi = hi32(k);
    return (mix(((k >>> 0) ^ hashString(path[0])) >>> 0) ^ (hi === 0 ? 0 : mix(hi ^ STRING_TAG))) >>> 0;
  }
  let h = mixInt(k);
  for (const d of path) h = mix(h ^ (typeof d === 'string' ? mix(hashString(d) ^ STRING_TAG) : mixInt(d)));
  return (h >>> 11) * 4294967296 + mix(h ^ 0x6a09e667);
};

const SPLIT_TAG = 0x73706c74; // 'splt'

/** `n` (default 2) new keys, independent of each other and of `k`'s other sub-streams. */
export const split = (k: Key, n = 2): Key[] => {
  checkKey('split', k);
  return Array.from({ length: checkCount('split', n) }, (_, i) => fold(k, SPLIT_TAG, i));
};

/** A fresh sequential generator for `k`'s stream (its state is four plain numbers: `getState()`). */
export const rng = (k: Key): Rng => new Rng(checkKey('rng', k));

/** `n` uniforms in [0, 1) (24 random bits each, exact in float32), on the host. */
export const uniforms = (k: Key, n: number): Float32Array => {
  const r = rng(k);
  const out = new Float32Array(checkCount('uniforms', n));
  for (let i = 0; i < out.length; i++) out[i] = r.nextFloat();
  return out;
};

/** `n` standard normals (Box–Muller on pairs of uniforms), on the host. */
export const normals = (k: Key, n: number): Float32Array => rng(k).fillNormal(new Float32Array(checkCount('normals', n)));

/** A float32 tensor uniform in [lo, hi). */
export const uniform = (k: Key, shape: number[], lo = 0, hi = 1): tf.Tensor => rng(k).uniform(shape, lo, hi);

/** A float32 tensor of N(mean, std²) draws. */
export const normal = (k: Key, shape: number[], mean = 0, std = 1): tf.Tensor => rng(k).normal(shape, mean, std);

/** Normal draws with |z| ≤ 2 (redrawn otherwise), scaled: the usual truncated-normal init. */
export const truncatedNormal = (k: Key, shape: number[], mean = 0, std = 1): tf.Tensor => rng(k).truncatedNormal(shape, mean, std);

/** A float32 mask of 1 with probability p, else 0. */
export const bernoulli = (k: Key, shape: number[], p: number): tf.Tensor => rng(k).bernoulli(shape, p);

/** An int32 tensor uniform in [0, n). */
export const randint = (k: Key, shape: number[], n: number): tf.Tensor => rng(k).randint(shape, n);

/** A uniformly random permutation of 0..n−1 (Fisher–Yates), as plain integers. */
export const permutation = (k: Key, n: number): Int32Array => rng(k).permutation(n);
