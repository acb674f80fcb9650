/**
 * A small seeded PRNG (mulberry32) whose whole state is one plain uint32 number, so it lives in
 * the perturbation state, checkpoints with it, and is never reset between steps.
 * Not cryptographic; its only job is reproducible masks and noise.
 */

/** Normalizes a user seed to the uint32 PRNG state. */
export const seedState = (seed: number): number => {
  if (!Number.isInteger(seed)) throw new Error(`seed: expected an integer, got ${String(seed)}`);
  return seed >>> 0;
};

/** One uniform draw in [0, 1) and the next state. */
export const nextUniform = (state: number): readonly [number, number] => {
  const s = (state + 0x6d2b79f5) >>> 0;
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [((t ^ (t >>> 14)) >>> 0) / 4294967296, s];
};

/** n uniform draws in [0, 1) and the next state. */
export const uniforms = (state: number, n: number): readonly [Float32Array, number] => {
  const out = new Float32Array(n);
  let s = state;
  for (let i = 0; i < n; i++) {
    const [u, next] = nextUniform(s);
    out[i] = u;
    s = next;
  }
  return [out, s];
};

/** n standard normal draws (Box–Muller) and the next state. */
export const normals = (state: number, n: number): readonly [Float32Array, number] => {
  const out = new Float32Array(n);
  let s = state;
  for (let i = 0; i < n; i += 2) {
    const [u1, s1] = nextUniform(s);
    const [u2, s2] = nextUniform(s1);
    s = s2;
    const r = Math.sqrt(-2 * Math.log(1 - u1)); // 1 − u1 ∈ (0, 1]: no log(0)
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return [out, s];
};
