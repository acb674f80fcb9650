/**
 * A small seeded pseudo-random generator whose state is four plain numbers.
 *
 * Generator: xoshiro128** (Blackman & Vigna, "Scrambled linear pseudorandom number
 * generators", 2018; reference C at https://prng.di.unimi.it/xoshiro128starstar.c):
 *   result = rotl(s1 * 5, 7) * 9
 *   t = s1 << 9; s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11)
 * Seeding expands (seed, ...stream) with splitmix32 so that nearby seeds and streams give
 * unrelated states. The state is plain data (`RngState`), so it can be checkpointed.
 *
 * Local stand-in until @lets/runtime exports its generator.
 */

/** Four uint32 words; never all zero. */
export type RngState = readonly [number, number, number, number];

function splitmix32(x: number): number {
  // One splitmix32 output for counter x (Vigna's splitmix adapted to 32 bits).
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Deterministic state from an integer seed and optional stream ids (epoch, batch index...). */
export function rngFromSeed(seed: number, ...stream: readonly number[]): RngState {
  let h = splitmix32(seed >>> 0 ^ Math.floor(seed / 4294967296));
  for (const s of stream) h = splitmix32(h ^ splitmix32(s >>> 0));
  const s0 = splitmix32(h);
  const s1 = splitmix32(s0 ^ 0x6a09e667);
  const s2 = splitmix32(s1 ^ 0xbb67ae85);
  const s3 = splitmix32(s2 ^ 0x3c6ef372);
  return s0 | s1 | s2 | s3 ? [s0, s1, s2, s3] : [1, 0, 0, 0];
}

/**
 * A generator that advances its own copy of an `RngState`. Use inside one function for hot
 * loops; read `.state` to hand the advanced state on.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | undefined = undefined;

  constructor(state: RngState) {
    [this.s0, this.s1, this.s2, this.s3] = state;
  }

  static fromSeed(seed: number, ...stream: readonly number[]): Rng {
    return new Rng(rngFromSeed(seed, ...stream));
  }

  get state(): RngState {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  /** Next uint32 in [0, 2^32). */
  nextUint32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }

  /** Uniform in [0, 1) with 32 random bits. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n); bias below n / 2^32. */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal by the Box–Muller transform (pairs cached). */
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    const u1 = 1 - this.uniform(); // (0, 1]
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * A uniformly random permutation of 0..n-1 (Fisher–Yates, Knuth TAOCP vol. 2 §3.4.2 P),
 * with the advanced state.
 */
export function permutation(n: number, state: RngState): [Int32Array, RngState] {
  const rng = new Rng(state);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return [p, rng.state];
}
