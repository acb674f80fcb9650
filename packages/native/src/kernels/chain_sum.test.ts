import * as tf from '@tensorflow/tfjs-core';
import { DOT, TREE_DOTS } from './tree_ops';
import { randomValues, setupNative } from '../test-util';

// csrc/sum.h: the dots of the tree kernels and the Sum over trailing axes add float32 values in
// order in double and round once (tfjs's Sum), but take that result from 8 independent lanes
// where a bound proves the lanes round to the chain's float32, and run the chain itself where
// not. These tests compare with the chain written out in JavaScript (a double sum of float32
// values is JavaScript's own arithmetic) on data made to sit next to float32 rounding
// boundaries, and check with the lanes simulated in JavaScript that the data would catch a
// kernel that returned the lanes' sum without the check.

let skip: string | undefined;
beforeAll(async () => {
  skip = setupNative();
  if (!skip) await tf.setBackend('native');
});

const LANES = 8;

/** The chain: float32 of Σ p in order in double. */
function chain(p: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += p[i]!;
  return Math.fround(s);
}

/**
 * The lanes without the check, as sum.h adds them: element i into lane i mod 8 up to the last
 * whole 8, the rest into a separate tail; then each 4-lane vector summed pairwise, the two
 * vectors' sums added, and the tail added last.
 */
function lanes(p: ArrayLike<number>): number {
  const s = new Array<number>(LANES).fill(0);
  const whole = p.length - (p.length % LANES);
  let tail = 0;
  for (let i = 0; i < p.length; i++) {
    if (i < whole) s[i % LANES] = s[i % LANES]! + p[i]!;
    else tail += p[i]!;
  }
  return Math.fround((((s[0]! + s[1]!) + (s[2]! + s[3]!)) + ((s[4]! + s[5]!) + (s[6]! + s[7]!))) + tail);
}

/** A product-free input: b = 1, so the dot's float32 products are a's values. */
const ones = (n: number): Float32Array => new Float32Array(n).fill(1);

/**
 * Values whose chain ends on (or within a few double ulps of) a float32 rounding boundary: a
 * leading 1, a float32 half-ulp of it (the tie), then many values far below a double ulp of the
 * running sum, which the chain drops but lanes starting from 0 keep, plus a random body.
 */
function nearTie(n: number, seed: number, tiny: number, sign: 1 | -1): Float32Array {
  const r = randomValues(n, seed);
  const out = new Float32Array(n);
  out[0] = 1;
  out[1] = sign > 0 ? 2 ** -24 : -(2 ** -25); // the float32 midpoints above and below 1
  for (let i = 2; i < n; i++) out[i] = i % 5 === 0 ? sign * tiny * (1 + r[i]!) : 0;
  return out;
}

const dotOf = (a: Float32Array, b: Float32Array): number => {
  const ta = tf.tensor(a), tb = tf.tensor(b);
  const d = tf.engine().runKernel(DOT, { a: ta, b: tb }) as tf.Tensor;
  const v = d.dataSync()[0]!;
  tf.dispose([ta, tb, d]);
  return v;
};

const sumOf = (x: Float32Array): number => {
  const t = tf.tensor(x);
  const s = tf.sum(t);
  const v = s.dataSync()[0]!;
  tf.dispose([t, s]);
  return v;
};

describe('the lanes decide the chain\'s float32 only where it is provably the same (csrc/sum.h)', () => {
  test('a tie the chain keeps and the lanes break: the kernel gives the chain\'s bits', () => {
    if (skip) return;
    const before = tf.memory().numTensors;
    let caught = 0;
    for (const [n, tiny, sign] of [[100000, 2 ** -60, 1], [4096, 2 ** -60, 1], [100003, 2 ** -60, -1], [777, 2 ** -56, 1]] as const) {
      const a = nearTie(n, n, tiny, sign);
      const want = chain(a);
      if (lanes(a) !== want) caught++;
      expect(Object.is(dotOf(a, ones(n)), want)).toBe(true);
      expect(Object.is(sumOf(a), want)).toBe(true);
    }
    // Without the check the kernel would have returned another float32 on these inputs.
    expect(caught).toBeGreaterThanOrEqual(3);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('a chain that drifts (every add rounds down by a quarter of a double ulp): the bound covers it', () => {
    if (skip) return;
    // 1, then c, then k copies of t = 1.25 double ulps of 1: each of the chain's adds rounds t to
    // one ulp, so the chain ends 0.25·k ulps below the exact sum, while lanes 1-7 (from 0) add
    // their t exactly. c puts the float32 midpoint 1 + 2^-24 between the two: the chain rounds to
    // 1, the lanes to the next float32. The lanes' bound must be at least 0.12·k ulps wide here;
    // sum.h's is 4·k (the check fails with one 64 times narrower).
    const k = 1 << 16, ulp = 2 ** -52;
    const c = Math.round((2 ** -24 - 1.1 * k * ulp) / 2 ** -47) * 2 ** -47;
    const a = new Float32Array(k + 2).fill(1.25 * ulp);
    a[0] = 1;
    a[1] = c;
    expect(a[1]).toBe(c); // c and t are float32 values
    expect(a[2]).toBe(1.25 * ulp);
    const want = chain(a);
    expect(want).toBe(1);
    expect(lanes(a)).toBe(Math.fround(1 + 2 ** -23));
    expect(Object.is(dotOf(a, ones(a.length)), want)).toBe(true);
    expect(Object.is(sumOf(a), want)).toBe(true);
  });

  test('random data pushed next to rounding boundaries, many lengths: always the chain\'s bits', () => {
    if (skip) return;
    const before = tf.memory().numTensors;
    let caught = 0, trials = 0;
    for (let t = 0; t < 300; t++) {
      const n = 64 + ((t * 7919) % 3000);
      const u = randomValues(n, 100 + t), e = randomValues(n, 500 + t);
      const a = Float32Array.from(u, (v, i) => v * 2 ** Math.round(e[i]! * (t % 3 === 0 ? 4 : 30)));
      // Put the exact sum close to the float32 midpoint above the chain's result: the last
      // element absorbs the difference (rounded to float32, so it lands within its ulp).
      const head = a.subarray(0, n - 1);
      let s = 0;
      for (let i = 0; i < head.length; i++) s += head[i]!;
      const f = Math.fround(s);
      const ulp = f === 0 ? 2 ** -149 : 2 ** Math.max(Math.floor(Math.log2(Math.abs(f))) - 23, -149);
      a[n - 1] = Math.fround(f + ulp / 2 - s);
      const want = chain(a);
      if (lanes(a) !== want) caught++;
      trials++;
      const b = ones(n);
      expect(Object.is(dotOf(a, b), want)).toBe(true);
      expect(Object.is(sumOf(a), want)).toBe(true);
    }
    expect(trials).toBe(300);
    expect(caught).toBeGreaterThanOrEqual(20); // 55 of 300 with this data
    expect(tf.memory().numTensors).toBe(before);
  });

  test('products with cancellation (A ≫ |Σ|) and the tree dots over threads', () => {
    if (skip) return;
    const before = tf.memory().numTensors;
    const sizes = [270000, 65536, 65536, 1000, 64, 63, 1];
    const pairs = sizes.map((n, j) => {
      const a = Float32Array.from(randomValues(n, 900 + j), (v) => v - 0.5);
      const b = Float32Array.from(randomValues(n, 950 + j), (v) => v - 0.5);
      return [a, b] as const;
    });
    const want = pairs.map(([a, b]) => chain(Float32Array.from(a, (v, i) => Math.fround(v * b[i]!))));
    const inputs: tf.NamedTensorMap = {};
    const ts = pairs.map(([a, b], j) => {
      inputs[`a${j}`] = tf.tensor(a);
      inputs[`b${j}`] = tf.tensor(b);
      return [inputs[`a${j}`]!, inputs[`b${j}`]!];
    });
    const out = tf.engine().runKernel(TREE_DOTS, inputs, { sizes: sizes.map(() => 1) }) as tf.Tensor;
    const got = Array.from(out.dataSync());
    got.forEach((g, j) => expect(Object.is(g, want[j])).toBe(true));
    pairs.forEach(([a, b], j) => expect(Object.is(dotOf(a, b), want[j])).toBe(true));
    tf.dispose([out, ...ts.flat()]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('inf, NaN and signed zeros: the chain\'s results', () => {
    if (skip) return;
    const n = 1000;
    const withInf = new Float32Array(n).fill(1); withInf[500] = Infinity;
    const withNaN = new Float32Array(n).fill(1); withNaN[3] = NaN;
    const bothInf = new Float32Array(n).fill(0); bothInf[10] = Infinity; bothInf[900] = -Infinity;
    const negZeros = new Float32Array(n).fill(-0);
    // Σ exactly 0 with A > 0: the lanes' interval runs from −e to +e, whose float32s are −0 and +0
    // (equal as numbers, not as bits); the chain gives +0.
    const cancel = new Float32Array(n).fill(0); cancel[0] = 2 ** -149; cancel[1] = -(2 ** -149); cancel[600] = 2 ** -140; cancel[601] = -(2 ** -140);
    const underflow = new Float32Array(n).fill(0); underflow[0] = 2 ** -149; underflow[1] = -(2 ** -149); underflow[2] = -(2 ** -149);
    for (const x of [withInf, withNaN, bothInf, negZeros, cancel, underflow]) {
      expect(Object.is(sumOf(x), chain(x))).toBe(true);
      expect(Object.is(dotOf(x, ones(n)), chain(x))).toBe(true);
    }
  });

  test('Sum over the trailing axis of a matrix: each row the chain\'s bits', () => {
    if (skip) return;
    const before = tf.memory().numTensors;
    const R = 37, C = 4099;
    const x = Float32Array.from(randomValues(R * C, 77), (v, i) => (v - 0.3) * 2 ** ((i % 17) - 8));
    for (let r = 0; r < R; r += 3) x.set(nearTie(C, r, 2 ** -60, r % 2 ? -1 : 1), r * C);
    const t = tf.tensor(x, [R, C]);
    const s = tf.sum(t, 1);
    const got = s.dataSync();
    for (let r = 0; r < R; r++) expect(Object.is(got[r], chain(x.subarray(r * C, (r + 1) * C)))).toBe(true);
    tf.dispose([t, s]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
