import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import { AXPY, DOT, SUB_SCALE, TREE_DOT, TREE_DOTS, TREE_NORMALIZED_AXPY, treeKernelConfigs } from './tree_ops';
import { setNativeThreads } from '../backend';
import { maxRelErr, on, randomValues, setupNative } from '../test-util';

// The fused tree kernels against (1) float32 arithmetic written out in JavaScript (a product of
// two float32 values is exact in double, so Math.fround of it is the float32 product; a double
// sum of two float32 values rounded once to float32 is the float32 sum), (2) the two kernels each
// replaces on 'native', bit for bit, and (3) the stock 'cpu' backend's composed ops.

let skip: string | undefined;
beforeAll(() => {
  skip = setupNative();
});

/** Values spanning 2^-40 .. 2^40, both signs, with zeros and negative zeros every few elements. */
function spread(n: number, seed: number): Float32Array {
  const u = randomValues(n, seed), e = randomValues(n, seed + 1000);
  return Float32Array.from(u, (v, i) => (i % 11 === 3 ? 0 : i % 13 === 5 ? -0 : v * 2 ** Math.round(e[i]! * 40)));
}

const SIZES = [1, 7, 1000, 65537, 270000]; // 270000 > 2^18: the threaded axpy loop
const bits = (t: tf.Tensor): Buffer => Buffer.from((t.dataSync() as Float32Array).buffer.slice(0));
const axpy = (x: tf.Tensor, y: tf.Tensor, s: number | tf.Tensor): tf.Tensor =>
  (typeof s === 'number'
    ? tf.engine().runKernel(AXPY, { x, y }, { s })
    : tf.engine().runKernel(AXPY, { x, y, s })) as tf.Tensor;
const dot = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.engine().runKernel(DOT, { a, b }) as tf.Tensor;

describe('LetsAxpy and LetsDot on native', () => {
  beforeEach(async () => {
    if (!skip) await tf.setBackend('native');
  });

  test.each(SIZES)('axpy of %i elements: the float32 formula and the composed ops, bit for bit', (n) => {
    if (skip) return;
    const xh = spread(n, 1), yh = spread(n, 2);
    const before = tf.memory().numTensors;
    const x = tf.tensor(xh), y = tf.tensor(yh);
    for (const s of [0.1, -1 / 3, 1e-3, 7]) {
      const sf = Math.fround(s);
      const want = Float32Array.from(xh, (xi, i) => Math.fround(xi + Math.fround(sf * yh[i]!)));
      const fused = axpy(x, y, s);
      const composed = tf.tidy(() => tf.add(x, tf.mul(y, s)));
      expect(bits(fused).equals(Buffer.from(want.buffer))).toBe(true);
      expect(bits(fused).equals(bits(composed))).toBe(true);
      // A scalar tensor s gives the same bits as the number.
      const st = tf.scalar(s);
      const fromTensor = axpy(x, y, st);
      expect(bits(fromTensor).equals(bits(fused))).toBe(true);
      expect(fused.shape).toEqual([n]);
      tf.dispose([fused, composed, st, fromTensor]);
    }
    tf.dispose([x, y]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('the test data would catch a fused multiply-add (x + s·y rounded once)', () => {
    // If the compiler contracted the kernel's multiply and add, elements like these would differ.
    const n = 65537, xh = spread(n, 1), yh = spread(n, 2), sf = Math.fround(0.1);
    let differ = 0;
    for (let i = 0; i < n; i++) {
      const twice = Math.fround(xh[i]! + Math.fround(sf * yh[i]!));
      const once = Math.fround(xh[i]! + sf * yh[i]!); // ≈ fma: the exact product, one rounding in double then float
      if (!Object.is(twice, once)) differ++;
    }
    expect(differ).toBeGreaterThan(100);
  });

  test.each(SIZES)('dot of %i elements: double accumulation of float32 products, and the composed ops, bit for bit', (n) => {
    if (skip) return;
    const ah = spread(n, 3), bh = spread(n, 4);
    const before = tf.memory().numTensors;
    const a = tf.tensor(ah, [n]), b = tf.tensor(bh, [n]);
    let acc = 0, accSq = 0;
    for (let i = 0; i < n; i++) {
      acc += Math.fround(ah[i]! * bh[i]!);
      accSq += Math.fround(ah[i]! * ah[i]!);
    }
    const fused = dot(a, b), sq = dot(a, a);
    expect(fused.shape).toEqual([]);
    expect(fused.dtype).toBe('float32');
    expect(fused.dataSync()[0]).toBe(Math.fround(acc));
    expect(sq.dataSync()[0]).toBe(Math.fround(accSq));
    const composed = tf.tidy(() => tf.sum(tf.mul(a, b))), composedSq = tf.tidy(() => tf.sum(tf.mul(a, a)));
    expect(bits(fused).equals(bits(composed))).toBe(true);
    expect(bits(sq).equals(bits(composedSq))).toBe(true);
    tf.dispose([a, b, fused, sq, composed, composedSq]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('tree dot over leaves of every size: the AddN of the leaves\' composed sums, bit for bit', () => {
    if (skip) return;
    const before = tf.memory().numTensors;
    const as = SIZES.map((n, i) => tf.tensor(spread(n, 20 + i))), bs = SIZES.map((n, i) => tf.tensor(spread(n, 40 + i)));
    const inputs: tf.NamedTensorMap = {};
    as.forEach((a, i) => { inputs[`a${i}`] = a; inputs[`b${i}`] = bs[i]!; });
    const fused = tf.engine().runKernel(TREE_DOT, inputs) as tf.Tensor;
    const composed = tf.tidy(() => tf.addN(as.map((a, i) => tf.sum(tf.mul(a, bs[i]!)))));
    expect(fused.shape).toEqual([]);
    expect(bits(fused).equals(bits(composed))).toBe(true);
    // and against float32 arithmetic written out: float32 adds of the float32 dots, from 0
    let acc = 0;
    as.forEach((a, i) => {
      const p = a.dataSync(), q = bs[i]!.dataSync();
      let d = 0;
      for (let j = 0; j < p.length; j++) d += Math.fround(p[j]! * q[j]!);
      acc = Math.fround(acc + Math.fround(d));
    });
    expect(fused.dataSync()[0]).toBe(acc);
    // one pair whose dot is −0: AddN starts from +0, and so does the kernel
    const z = tf.tensor([-0]), o = tf.tensor([1]);
    const negZero = tf.engine().runKernel(TREE_DOT, { a0: z, b0: o }) as tf.Tensor;
    const negZeroComposed = tf.tidy(() => tf.addN([tf.sum(tf.mul(z, o))]));
    expect(bits(negZero).equals(bits(negZeroComposed))).toBe(true);
    tf.dispose([...as, ...bs, fused, composed, z, o, negZero, negZeroComposed]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('multi-axis leaves (a dense kernel, a conv filter) keep their shape and bits', () => {
    if (skip) return;
    for (const shape of [[784, 256], [3, 3, 16, 32], []]) {
      const n = shape.reduce((p, q) => p * q, 1);
      const x = tf.tensor(spread(n, 5), shape), y = tf.tensor(spread(n, 6), shape);
      const f = axpy(x, y, -0.05), c = tf.tidy(() => tf.add(x, tf.mul(y, -0.05)));
      expect(f.shape).toEqual(shape);
      expect(bits(f).equals(bits(c))).toBe(true);
      const d = dot(x, y), dc = tf.tidy(() => tf.sum(tf.mul(x, y)));
      expect(bits(d).equals(bits(dc))).toBe(true);
      tf.dispose([x, y, f, c, d, dc]);
    }
  });

  test('NaN and Infinity propagate as in the composed ops', () => {
    if (skip) return;
    const x = tf.tensor([NaN, 1, Infinity, -Infinity, 2, 3e38, 0]);
    const y = tf.tensor([1, NaN, 1, 1, Infinity, 3e38, Infinity]);
    for (const s of [2, 0, -1]) {
      const f = axpy(x, y, s), c = tf.tidy(() => tf.add(x, tf.mul(y, s)));
      expect(Array.from(f.dataSync())).toEqual(Array.from(c.dataSync())); // toEqual: NaN equals NaN
      tf.dispose([f, c]);
    }
    const cases: Array<[number[], number[]]> = [[[1, NaN], [1, 1]], [[Infinity, 1], [1, 1]], [[Infinity, -Infinity], [1, 1]], [[3e38, 3e38], [3e38, 3e38]], [[Infinity], [0]]];
    for (const [ah, bh] of cases) {
      const a = tf.tensor(ah), b = tf.tensor(bh);
      const d = dot(a, b), c = tf.tidy(() => tf.sum(tf.mul(a, b)));
      expect(d.dataSync()[0]).toEqual(c.dataSync()[0]);
      tf.dispose([a, b, d, c]);
    }
    tf.dispose([x, y]);
  });

  test('empty tensors: axpy is empty, dot is 0', () => {
    if (skip) return;
    const e = tf.zeros([0, 4]);
    const f = axpy(e, e, 3), d = dot(e, e);
    expect(f.shape).toEqual([0, 4]);
    expect(d.dataSync()[0]).toBe(0);
    tf.dispose([e, f, d]);
  });

  test('bad input is named: dtype, shapes, a missing or non-scalar s', () => {
    if (skip) return;
    const x = tf.ones([3]), i = tf.ones([3], 'int32'), z = tf.ones([4]), v = tf.ones([2]);
    const before = tf.memory().numTensors;
    expect(() => axpy(x, i, 1)).toThrow(/LetsAxpy: input 'y' must be a float32 tensor, got int32/);
    expect(() => axpy(x, z, 1)).toThrow(/LetsAxpy: x and y must have one shape, got \[3\] and \[4\]/);
    expect(() => tf.engine().runKernel(AXPY, { x, y: x }, {})).toThrow(/LetsAxpy: needs a scalar input 's' or a number attribute 's'/);
    expect(() => axpy(x, x, v)).toThrow(/LetsAxpy: input 's' must be a scalar, got shape \[2\]/);
    expect(() => dot(i, x)).toThrow(/LetsDot: input 'a' must be a float32 tensor, got int32/);
    expect(() => dot(x, z)).toThrow(/LetsDot: a and b must have one shape/);
    const tdot = (inputs: tf.NamedTensorMap) => tf.engine().runKernel(TREE_DOT, inputs);
    expect(() => tdot({ a0: x, b0: x, a1: x })).toThrow(/LetsTreeDot: expects inputs a0, b0, a1, b1, …; got a0, b0, a1/);
    expect(() => tdot({ a0: x, b0: x, a1: x, c1: x })).toThrow(/LetsTreeDot: input a1 or b1 missing/);
    expect(() => tdot({ a0: x, b0: x, a1: x, b1: z })).toThrow(/LetsTreeDot: a1 and b1 must have one shape, got \[3\] and \[4\]/);
    expect(() => tdot({ a0: x, b0: i })).toThrow(/LetsTreeDot: input 'b0' must be a float32 tensor, got int32/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, i, z, v]);
  });
});

test('an addon built before these kernels existed registers none of them (tree composes its ops)', () => {
  expect(treeKernelConfigs({} as unknown as NativeAddon)).toEqual([]);
  const current = { axpy: () => undefined, dot: () => 0 } as unknown as NativeAddon;
  expect(treeKernelConfigs(current).map((k) => k.kernelName)).toEqual([AXPY, DOT, TREE_DOT]);
  const withDivAxpy = { ...current, divAxpy: () => undefined } as unknown as NativeAddon;
  expect(treeKernelConfigs(withDivAxpy).map((k) => k.kernelName)).toEqual([AXPY, DOT, TREE_DOT, TREE_NORMALIZED_AXPY]);
  const withDots = { ...withDivAxpy, subScale: () => undefined, dots: () => undefined } as unknown as NativeAddon;
  expect(treeKernelConfigs(withDots).map((k) => k.kernelName)).toEqual([AXPY, DOT, TREE_DOT, SUB_SCALE, TREE_DOTS, TREE_NORMALIZED_AXPY]);
});

describe('LetsSubScale and LetsTreeDots on native (a difference quotient, several tree dots in one call)', () => {
  beforeEach(async () => {
    if (!skip) await tf.setBackend('native');
  });
  afterAll(() => {
    if (!skip) setNativeThreads(2);
  });

  const subScale = (a: tf.Tensor, b: tf.Tensor, s: number): tf.Tensor => tf.engine().runKernel(SUB_SCALE, { a, b }, { s }) as tf.Tensor;
  /** LetsTreeDots over dots given as lists of leaf pairs. */
  const treeDots = (dots: Array<Array<[tf.Tensor, tf.Tensor]>>): tf.Tensor => {
    const inputs: tf.NamedTensorMap = {};
    let i = 0;
    for (const pairs of dots) for (const [a, b] of pairs) { inputs[`a${i}`] = a; inputs[`b${i}`] = b; i++; }
    return tf.engine().runKernel(TREE_DOTS, inputs, { sizes: dots.map((p) => p.length) }) as tf.Tensor;
  };
  /** The kernel it replaces, one call per dot. */
  const treeDot = (pairs: Array<[tf.Tensor, tf.Tensor]>): tf.Tensor => {
    const inputs: tf.NamedTensorMap = {};
    pairs.forEach(([a, b], i) => { inputs[`a${i}`] = a; inputs[`b${i}`] = b; });
    return tf.engine().runKernel(TREE_DOT, inputs) as tf.Tensor;
  };
  /** A tree dot in float32 arithmetic written out: per leaf the products in order in double, rounded once; leaves added in float32. */
  const formulaDot = (pairs: Array<[Float32Array, Float32Array]>): number => {
    let acc = 0;
    for (const [a, b] of pairs) {
      let d = 0;
      for (let j = 0; j < a.length; j++) d += Math.fround(a[j]! * b[j]!);
      acc = Math.fround(acc + Math.fround(d));
    }
    return acc;
  };

  test.each(SIZES)('sub-scale of %i elements: the float32 formula and Sub then Multiply, bit for bit', (n) => {
    if (skip) return;
    const ah = spread(n, 11), bh = spread(n, 12);
    const before = tf.memory().numTensors;
    const a = tf.tensor(ah), b = tf.tensor(bh);
    for (const s of [1 / 3e-4, -0.5, 1e-3, 7]) {
      const sf = Math.fround(s);
      const want = Float32Array.from(ah, (x, i) => Math.fround(Math.fround(x - bh[i]!) * sf));
      const fused = subScale(a, b, s);
      const composed = tf.tidy(() => tf.mul(tf.sub(a, b), s));
      expect(bits(fused).equals(Buffer.from(want.buffer))).toBe(true);
      expect(bits(fused).equals(bits(composed))).toBe(true);
      expect(fused.shape).toEqual([n]);
      tf.dispose([fused, composed]);
    }
    tf.dispose([a, b]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('the test data would catch a difference not rounded to float32 before the product', () => {
    const n = 65537, ah = spread(n, 11), bh = spread(n, 12), sf = Math.fround(1 / 3e-4);
    let differ = 0;
    for (let i = 0; i < n; i++) if (Math.fround(Math.fround(ah[i]! - bh[i]!) * sf) !== Math.fround((ah[i]! - bh[i]!) * sf)) differ++;
    expect(differ).toBeGreaterThan(100);
  });

  test('sub-scale: NaN, Infinity, empty tensors and shapes as the composed ops', () => {
    if (skip) return;
    const a = tf.tensor([[1, NaN, Infinity], [3e38, -3e38, 0]]), b = tf.tensor([[1, 1, Infinity], [-3e38, 3e38, -0]]);
    const f = subScale(a, b, 2), c = tf.tidy(() => tf.mul(tf.sub(a, b), 2));
    expect(f.shape).toEqual([2, 3]);
    expect(Array.from(f.dataSync())).toEqual(Array.from(c.dataSync()));
    const e = tf.zeros([0, 4]), fe = subScale(e, e, 3);
    expect(fe.shape).toEqual([0, 4]);
    tf.dispose([a, b, f, c, e, fe]);
  });

  // Trees as @lets/sam and LETS contract them: an MLP's leaves (two of one length, so dot2 pairs
  // them), a leaf above 2^18 elements, odd sizes, a scalar; the same leaves in several dots.
  const SHAPES = [[784, 256], [256], [256, 256], [256], [1], [7], [270000], [3, 3, 16, 32], []];
  test.each([1, 2])('tree dots at %i thread(s): each entry the bits of LetsTreeDot and of the formula, whatever the grouping', (threads) => {
    if (skip) return;
    setNativeThreads(threads);
    const before = tf.memory().numTensors;
    const size = (sh: number[]) => sh.reduce((p, q) => p * q, 1);
    const hs = [0, 1, 2].map((t) => SHAPES.map((sh, i) => spread(size(sh), 100 * t + i)));
    const ts = hs.map((h) => h.map((v, i) => tf.tensor(v, SHAPES[i])));
    const [x, y, z] = ts as [tf.Tensor[], tf.Tensor[], tf.Tensor[]];
    const [xh, yh, zh] = hs as [Float32Array[], Float32Array[], Float32Array[]];
    const zip = <T,>(a: T[], b: T[]): Array<[T, T]> => a.map((v, i) => [v, b[i]!]);
    // ⟨x, y⟩ and ‖y‖² (projectOut), ‖x‖² and ‖z‖² (two norms), three at once, one alone, and
    // dots over a part of the tree (runs of other lengths, so other groupings).
    const cases: Array<Array<[number, number, number[]]>> = [
      [[0, 1, []], [1, 1, []]],
      [[0, 0, []], [2, 2, []]],
      [[0, 1, []], [1, 2, []], [2, 0, []]],
      [[2, 1, []]],
      [[0, 1, [0, 2, 6]], [1, 1, [1, 3]], [0, 2, [4, 5, 7, 8]]],
    ];
    const trees = [x, y, z], hosts = [xh, yh, zh];
    for (const c of cases) {
      const pick = <T,>(leaves: T[], only: number[]) => (only.length === 0 ? leaves : only.map((i) => leaves[i]!));
      const dots = c.map(([p, q, only]) => zip(pick(trees[p]!, only), pick(trees[q]!, only)));
      const fused = treeDots(dots);
      expect(fused.shape).toEqual([c.length]);
      const got = Array.from(fused.dataSync());
      c.forEach(([p, q, only], j) => {
        const one = treeDot(dots[j]!);
        expect(Object.is(got[j], one.dataSync()[0])).toBe(true);
        expect(Object.is(got[j], formulaDot(zip(pick(hosts[p]!, only), pick(hosts[q]!, only))))).toBe(true);
        one.dispose();
      });
      fused.dispose();
    }
    ts.flat().forEach((t) => t.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });

  test('tree dots: NaN and Infinity propagate per dot as LetsTreeDot', () => {
    if (skip) return;
    const a = tf.tensor([1, NaN, 2]), b = tf.tensor([Infinity, 1, 1]), c = tf.tensor([1, 2, 3]);
    const fused = Array.from(treeDots([[[a, c]], [[b, c]], [[c, c]]]).dataSync());
    const one = [treeDot([[a, c]]), treeDot([[b, c]]), treeDot([[c, c]])].map((t) => t.dataSync()[0]);
    expect(fused).toEqual(one);
    expect(Number.isNaN(fused[0])).toBe(true);
    expect(fused[1]).toBe(Infinity);
    expect(fused[2]).toBe(14);
    tf.dispose([a, b, c]);
  });

  test('bad input is named: pairs, shapes, dtypes, attributes', () => {
    if (skip) return;
    const x = tf.ones([3]), i = tf.ones([3], 'int32'), z = tf.ones([4]);
    const before = tf.memory().numTensors;
    expect(() => subScale(x, z, 1)).toThrow(/LetsSubScale: a and b must have one shape, got \[3\] and \[4\]/);
    expect(() => subScale(x, i, 1)).toThrow(/LetsSubScale: input 'b' must be a float32 tensor, got int32/);
    expect(() => tf.engine().runKernel(SUB_SCALE, { a: x, b: x }, {})).toThrow(/LetsSubScale: needs a number attribute 's'/);
    const run = (inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap) => tf.engine().runKernel(TREE_DOTS, inputs, attrs);
    expect(() => run({ a0: x, b0: x }, {})).toThrow(/LetsTreeDots: needs a number\[\] attribute 'sizes' of leaf counts ≥ 1, got undefined/);
    expect(() => run({ a0: x, b0: x }, { sizes: [1, 0] })).toThrow(/LetsTreeDots: needs a number\[\] attribute 'sizes'/);
    expect(() => run({ a0: x, b0: x }, { sizes: [2] })).toThrow(/LetsTreeDots: expects 2 input pairs a0, b0, …, a1, b1 \(the sum of sizes\); got a0, b0/);
    expect(() => run({ a0: x, b0: x, a1: x, c1: x }, { sizes: [2] })).toThrow(/LetsTreeDots: input a1 or b1 missing/);
    expect(() => run({ a0: x, b0: z }, { sizes: [1] })).toThrow(/LetsTreeDots: a0 and b0 must have one shape, got \[3\] and \[4\]/);
    expect(() => run({ a0: i, b0: x }, { sizes: [1] })).toThrow(/LetsTreeDots: input 'a0' must be a float32 tensor, got int32/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, i, z]);
  });
});

describe('LetsTreeNormalizedAxpy on native (SAM\'s ascent in one kernel)', () => {
  beforeEach(async () => {
    if (!skip) await tf.setBackend('native');
  });

  /** Runs the kernel over pairs (g, w): [‖g‖, n0, p0, n1, p1, …]. */
  const fusedAscent = (gs: tf.Tensor[], ws: tf.Tensor[], s: number, eps = 1e-12): tf.Tensor[] => {
    const inputs: tf.NamedTensorMap = {};
    gs.forEach((g, i) => { inputs[`g${i}`] = g; inputs[`w${i}`] = ws[i]!; });
    return tf.engine().runKernel(TREE_NORMALIZED_AXPY, inputs, { s, eps }) as unknown as tf.Tensor[];
  };
  /** The ops it replaces, as @lets/sam composes them: √(tree dot), + eps, then per leaf a RealDiv and a LetsAxpy. */
  const composedAscent = (gs: tf.Tensor[], ws: tf.Tensor[], s: number, eps = 1e-12): tf.Tensor[] =>
    tf.tidy(() => {
      const inputs: tf.NamedTensorMap = {};
      gs.forEach((g, i) => { inputs[`a${i}`] = g; inputs[`b${i}`] = g; });
      const norm = tf.sqrt(tf.engine().runKernel(TREE_DOT, inputs) as tf.Tensor);
      const d = tf.add(norm, eps);
      const out: tf.Tensor[] = [norm];
      gs.forEach((g, i) => {
        const n = tf.div(g, d);
        out.push(n, axpy(ws[i]!, n, s));
      });
      return out;
    });
  /** The same in float32 arithmetic written out. */
  const formula = (gh: Float32Array[], wh: Float32Array[], s: number, eps = 1e-12): Float32Array[] => {
    let acc = 0;
    for (const g of gh) {
      let d = 0;
      for (let j = 0; j < g.length; j++) d += Math.fround(g[j]! * g[j]!);
      acc = Math.fround(acc + Math.fround(d));
    }
    const norm = Math.fround(Math.sqrt(acc));
    const d = Math.fround(norm + Math.fround(eps)), sf = Math.fround(s);
    const out = [Float32Array.of(norm)];
    gh.forEach((g, i) => {
      const n = Float32Array.from(g, (x) => Math.fround(x / d));
      out.push(n, Float32Array.from(wh[i]!, (w, j) => Math.fround(w + Math.fround(sf * n[j]!))));
    });
    return out;
  };
  const same = (a: tf.Tensor[], b: Array<tf.Tensor | Float32Array>): void => {
    expect(a.length).toBe(b.length);
    a.forEach((t, i) => {
      const o = b[i]!;
      const ob = o instanceof Float32Array ? Buffer.from(o.buffer, o.byteOffset, o.byteLength) : bits(o);
      expect(bits(t).equals(ob)).toBe(true);
      if (!(o instanceof Float32Array)) expect(t.shape).toEqual(o.shape);
    });
  };

  test('leaves of every size and shape: the float32 formula and the composed ops, bit for bit', () => {
    if (skip) return;
    const shapes = [[784, 256], [256], [256, 256], [1], [7], [270000], [3, 3, 16, 32], []];
    const before = tf.memory().numTensors;
    // gradients of several magnitudes (norms from 2^-30 to 2^30), as training sees
    for (const scale of [2 ** -30, 1e-3, 2 ** 30]) {
      const gh = shapes.map((sh, i) => Float32Array.from(randomValues(sh.reduce((p, q) => p * q, 1), 60 + i), (v) => Math.fround(v * scale)));
      const wh = shapes.map((sh, i) => spread(sh.reduce((p, q) => p * q, 1), 80 + i));
      const gs = gh.map((v, i) => tf.tensor(v, shapes[i])), ws = wh.map((v, i) => tf.tensor(v, shapes[i]));
      for (const s of [0.05, -0.1]) {
        const fused = fusedAscent(gs, ws, s), composed = composedAscent(gs, ws, s);
        same(fused, composed);
        same(fused, formula(gh, wh, s));
        tf.dispose([...fused, ...composed]);
      }
      tf.dispose([...gs, ...ws]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  test('the test data would catch a fused multiply-add or a reciprocal multiply', () => {
    if (skip) return;
    const n = 65537, gh = spread(n, 3), wh = spread(n, 4);
    const [norm] = formula([gh], [wh], 0.05);
    const d = Math.fround(norm![0]! + Math.fround(1e-12)), sf = Math.fround(0.05), r = Math.fround(1 / d);
    let fma = 0, recip = 0;
    for (let i = 0; i < n; i++) {
      const q = Math.fround(gh[i]! / d);
      if (Math.fround(wh[i]! + sf * q) !== Math.fround(wh[i]! + Math.fround(sf * q))) fma++;
      if (Math.fround(gh[i]! * r) !== q) recip++;
    }
    expect(fma).toBeGreaterThan(0);
    expect(recip).toBeGreaterThan(0);
  });

  test('a zero gradient gives n = 0 and p = w; NaN and Infinity propagate as in the composed ops', () => {
    if (skip) return;
    const cases: Array<[number[], number[]]> = [[[0, -0, 0], [1, 2, 3]], [[NaN, 1, 2], [1, 2, 3]], [[Infinity, 1, 2], [1, 2, 3]], [[3e38, 3e38, 1], [1, 2, 3]], [[1, 2, 3], [NaN, Infinity, -1]]];
    for (const [g, w] of cases) {
      const gt = tf.tensor(g), wt = tf.tensor(w);
      const f = fusedAscent([gt], [wt], 0.05), c = composedAscent([gt], [wt], 0.05);
      f.forEach((t, i) => expect(Array.from(t.dataSync())).toEqual(Array.from(c[i]!.dataSync())));
      tf.dispose([gt, wt, ...f, ...c]);
    }
  });

  test('bad input is named: pairs, shapes, dtypes, attributes', () => {
    if (skip) return;
    const x = tf.ones([3]), i = tf.ones([3], 'int32'), z = tf.ones([4]);
    const before = tf.memory().numTensors;
    const run = (inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = { s: 0.1, eps: 1e-12 }) => tf.engine().runKernel(TREE_NORMALIZED_AXPY, inputs, attrs);
    expect(() => run({ g0: x, w0: x, g1: x })).toThrow(/LetsTreeNormalizedAxpy: expects inputs g0, w0, g1, w1, …; got g0, w0, g1/);
    expect(() => run({ g0: x, w0: x, g1: x, v1: x })).toThrow(/LetsTreeNormalizedAxpy: input g1 or w1 missing/);
    expect(() => run({ g0: x, w0: z })).toThrow(/LetsTreeNormalizedAxpy: g0 and w0 must have one shape, got \[3\] and \[4\]/);
    expect(() => run({ g0: i, w0: x })).toThrow(/LetsTreeNormalizedAxpy: input 'g0' must be a float32 tensor, got int32/);
    expect(() => run({ g0: x, w0: x }, { s: 0.1 })).toThrow(/LetsTreeNormalizedAxpy: needs number attributes 's' and 'eps'/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, i, z]);
  });
});

describe('LetsAxpy and LetsDot on native vs the stock cpu backend', () => {
  test.each([7, 65537])('%i elements', async (n) => {
    if (skip) return;
    const xh = spread(n, 7), yh = spread(n, 8);
    const composed = () => {
      const x = tf.tensor(xh), y = tf.tensor(yh);
      return [tf.add(x, tf.mul(y, 0.3)), tf.reshape(tf.sum(tf.mul(x, y)), [1])];
    };
    const fused = () => {
      const x = tf.tensor(xh), y = tf.tensor(yh);
      return [axpy(x, y, 0.3), tf.reshape(dot(x, y), [1])];
    };
    const [ca, cd] = await on('cpu', composed);
    const [na, nd] = await on('native', fused);
    expect(maxRelErr(na!, ca!)).toBeLessThanOrEqual(1e-6);
    expect(maxRelErr(nd!, cd!)).toBeLessThanOrEqual(1e-6);
    // Both round the same float32 operations and sum in the same order: in fact the same bits.
    expect(Buffer.from(na!.buffer).equals(Buffer.from(ca!.buffer))).toBe(true);
    expect(nd![0]).toBe(cd![0]);
  });
});
