/**
 * A small seeded PRNG (xoshiro128**, seeded through splitmix32) and the normal/uniform samplers
 * that initialization and dropout use. Numbers are generated in JS, so the same seed gives the
 * same tensors on every tfjs backend.
 *
 * Reference: Blackman & Vigna, "Scrambled linear pseudorandom number generators" (2018);
 * splitmix32 is the 32-bit variant of Steele, Lea & Flood's SplitMix.
 */

/** splitmix32 step: returns [output, nextState]. */
const splitmix32 = (s: number): [number, number] => {
  const next = (s + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [z >>> 0, next];
};

/** FNV-1a hash of a string, used to give every parameter path its own stream. */
export const hashString = (s: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
};

/** Derives a 32-bit seed from a seed and a label (e.g. a parameter path). */
export const deriveSeed = (seed: number, label: string): number => {
  const [a] = splitmix32((seed >>> 0) ^ hashString(label));
  return a;
};

/** A seeded generator of uint32s, uniforms in [0, 1) and standard normals. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | undefined;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
    let s = Math.floor(seed) | 0;
    let out: number;
    [out, s] = splitmix32(s);
    this.a = out;
    [out, s] = splitmix32(s);
    this.b = out;
    [out, s] = splitmix32(s);
    this.c = out;
    [out, s] = splitmix32(s);
    this.d = out;
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Next uint32 (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9);
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Standard normal by the Box–Muller transform (pairs; the second value is cached). */
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    // 1 - u keeps the log argument in (0, 1].
    const u = 1 - this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));
