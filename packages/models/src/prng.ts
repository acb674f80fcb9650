/**
 * Seed derivation. Random streams themselves come from @lets/runtime's `Rng` (xoshiro128**
 * seeded through splitmix32, generated in JS, so the same seed gives the same tensors on every
 * backend); this module only decides which stream each tensor draws from.
 */

/** FNV-1a hash (32-bit) of a string. */
export const hashString = (s: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
};

/**
 * A 32-bit seed for the stream of `label` (a parameter path, `dropout/3`) under `seed`:
 * the splitmix32 finalizer of `seed ⊕ FNV-1a(label)`. Each tensor gets its own stream, so its
 * values depend only on (seed, label, shape, scheme), not on the rest of the model.
 */
export const deriveSeed = (seed: number, label: string): number => {
  let z = ((seed >>> 0) ^ hashString(label)) + 0x9e3779b9;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
};
