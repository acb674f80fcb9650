/**
 * Seeded, reproducible random numbers whose whole state is four plain numbers, so the
 * same seed gives the same initialisation, batches and masks on every backend (values are
 * generated in JavaScript and uploaded, never by a backend's own generator) and a
 * checkpoint can store and restore the stream exactly.
 *
 * Generator: xoshiro128** (Blackman & Vigna, "Scrambled linear pseudorandom number
 * generators", 2018; reference implementation xoshiro128starstar.c), 128-bit state, period
 * 2^128 − 1, seeded through splitmix32 so that nearby seeds give unrelated streams.
 * Normals: Box–Muller on two uniforms. Uniforms: the top 24 bits (exact in float32).
 */
import * as tf from '@tensorflow/tfjs-core';

/** The serialisable state of an Rng. */
export interface RngState {
  readonly algorithm: 'xoshiro128**';
  readonly s: readonly [number, number, number, number];
}

function splitmix32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

function size(shape: readonly number[]): number {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`Rng: shape must be non-negative integers, got [${shape.join(', ')}]`);
  }
  return shape.reduce((a, b) => a * b, 1);
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** A stream from an integer seed (any safe integer; its low 53 bits are used). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new Error(`Rng: seed must be a safe integer, got ${seed}`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 2 ** 32) >>> 0;
    const sm = splitmix32(lo ^ Math.imul(hi, 0x27d4eb2d));
    this.s0 = sm();
    this.s1 = sm();
    this.s2 = sm();
    this.s3 = sm();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Restores a stream from `getState()`; fails naming the field if the state is malformed. */
  static fromState(state: RngState): Rng {
    const ok =
      state !== null && typeof state === 'object' && state.algorithm === 'xoshiro128**' && Array.isArray(state.s) &&
      state.s.length === 4 && state.s.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32) &&
      state.s.some((v) => v !== 0);
    if (!ok) throw new Error(`Rng.fromState: expected {algorithm: 'xoshiro128**', s: four uint32 not all 0}, got ${JSON.stringify(state)}`);
    const r = new Rng(0);
    [r.s0, r.s1, r.s2, r.s3] = state.s;
    return r;
  }

  /** The current state: plain numbers, JSON-serialisable. */
  getState(): RngState {
    return { algorithm: 'xoshiro128**', s: [this.s0, this.s1, this.s2, this.s3] };
  }

  /** An independent copy of this stream at its current position. */
  clone(): Rng {
    return Rng.fromState(this.getState());
  }

  /** A new stream seeded from this one's next outputs (for per-purpose sub-streams). */
  fork(): Rng {
    const a = this.nextUint32();
    const b = this.nextUint32();
    return new Rng(a * 2 ** 21 + (b >>> 11));
  }

  /** Next 32-bit unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 24 random bits (exactly representable in float32). */
  nextFloat(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /** Uniform integer in [0, n) without modulo bias (rejection sampling). */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 2 ** 32) throw new Error(`Rng.nextInt: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** One standard normal draw: the first of a Box–Muller pair (two uniforms; the second normal is dropped). */
  nextNormal(): number {
    const u1 = 1 - this.nextFloat(); // (0, 1]
    const u2 = this.nextFloat();
    return Math.fround(Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
  }

  /** Standard normal draws into `out` (Box–Muller, pairs). */
  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    for (let i = 0; i < out.length; i += 2) {
      const u1 = 1 - this.nextFloat(); // (0, 1]
      const u2 = this.nextFloat();
      const r = Math.sqrt(-2 * Math.log(u1));
      out[i] = mean + std * r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < out.length) out[i + 1] = mean + std * r * Math.sin(2 * Math.PI * u2);
    }
    return out;
  }

  /** A float32 tensor of N(mean, std²) draws. */
  normal(shape: number[], mean = 0, std = 1): tf.Tensor {
    return tf.tensor(this.fillNormal(new Float32Array(size(shape)), mean, std), shape, 'float32');
  }

  /** Normal draws with |z| ≤ 2 (redrawn otherwise), scaled: the usual truncated-normal init. */
  truncatedNormal(shape: number[], mean = 0, std = 1): tf.Tensor {
    const out = new Float32Array(size(shape));
    const pair = new Float32Array(2);
    for (let i = 0; i < out.length; i++) {
      let z: number;
      do z = this.fillNormal(pair)[0]!;
      while (Math.abs(z) > 2);
      out[i] = mean + std * z;
    }
    return tf.tensor(out, shape, 'float32');
  }

  /** A float32 tensor uniform in [lo, hi). */
  uniform(shape: number[], lo = 0, hi = 1): tf.Tensor {
    const out = new Float32Array(size(shape));
    for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * this.nextFloat();
    return tf.tensor(out, shape, 'float32');
  }

  /** An int32 tensor uniform in [0, n). */
  randint(shape: number[], n: number): tf.Tensor {
    const out = new Int32Array(size(shape));
    for (let i = 0; i < out.length; i++) out[i] = this.nextInt(n);
    return tf.tensor(out, shape, 'int32');
  }

  /** A float32 mask of 1 with probability p, else 0 (dropout, label noise). */
  bernoulli(shape: number[], p: number): tf.Tensor {
    if (!(p >= 0 && p <= 1)) throw new Error(`Rng.bernoulli: p must be in [0, 1], got ${p}`);
    const out = new Float32Array(size(shape));
    for (let i = 0; i < out.length; i++) out[i] = this.nextFloat() < p ? 1 : 0;
    return tf.tensor(out, shape, 'float32');
  }

  /** A uniformly random permutation of 0..n−1 (Fisher–Yates), as plain integers. */
  permutation(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0) throw new Error(`Rng.permutation: n must be a non-negative integer, got ${n}`);
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}
