// How tree reaches the fused leaf kernels: by name through tfjs's kernel registry, for float32
// leaves of one shape, outside gradient tapes; the composed ops otherwise. The kernels here are
// stand-ins registered for 'cpu' (float32 arithmetic written out, counting their calls); the real
// ones are @lets/native's, tested bit for bit against the composed ops there and, through these
// functions, in packages/train/src/treeKernels.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import * as T from './tree';
import { AXPY_KERNEL, DOT_KERNEL, SUB_SCALE_KERNEL, TREE_DOT_KERNEL, TREE_DOTS_KERNEL, TREE_NORMALIZED_AXPY_KERNEL, normalizedAxpy } from './fused';
import { useCpu } from './test-util';

type Args = { inputs: Record<string, tf.TensorInfo>; backend: { data: { get(id: object): { values: Float32Array } } }; attrs: Record<string, unknown> };
const calls = { axpy: 0, dot: 0, treeDot: 0 };
const vals = (a: Args, name: string): Float32Array => a.backend.data.get(a.inputs[name]!.dataId).values;
const out = (shape: number[], v: Float32Array): tf.TensorInfo =>
  (tf.backend() as unknown as { makeTensorInfo(s: number[], d: string, v: Float32Array): tf.TensorInfo }).makeTensorInfo(shape, 'float32', v);

const register = (): void => {
  tf.registerKernel({
    kernelName: AXPY_KERNEL, backendName: 'cpu',
    kernelFunc: ((a: Args) => {
      calls.axpy++;
      const x = vals(a, 'x'), y = vals(a, 'y');
      const s = Math.fround(a.inputs.s !== undefined ? vals(a, 's')[0]! : (a.attrs.s as number));
      return out(a.inputs.x!.shape, Float32Array.from(x, (xi, i) => xi + Math.fround(s * y[i]!)));
    }) as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: DOT_KERNEL, backendName: 'cpu',
    kernelFunc: ((a: Args) => {
      calls.dot++;
      const p = vals(a, 'a'), q = vals(a, 'b');
      let s = 0;
      for (let i = 0; i < p.length; i++) s += Math.fround(p[i]! * q[i]!);
      return out([], Float32Array.of(s));
    }) as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: TREE_DOT_KERNEL, backendName: 'cpu',
    kernelFunc: ((a: Args) => {
      calls.treeDot++;
      let acc = 0;
      for (let i = 0; i < Object.keys(a.inputs).length / 2; i++) {
        const p = vals(a, `a${i}`), q = vals(a, `b${i}`);
        let s = 0;
        for (let j = 0; j < p.length; j++) s += Math.fround(p[j]! * q[j]!);
        acc = Math.fround(acc + Math.fround(s));
      }
      return out([], Float32Array.of(acc));
    }) as unknown as tf.KernelFunc,
  });
};
const unregister = (): void => {
  for (const k of [AXPY_KERNEL, DOT_KERNEL, TREE_DOT_KERNEL]) tf.unregisterKernel(k, 'cpu');
};

beforeAll(useCpu);
afterEach(() => {
  if (tf.getKernel(AXPY_KERNEL, 'cpu') !== undefined) unregister();
  calls.axpy = calls.dot = calls.treeDot = 0;
});

const lcg = (n: number, seed: number): Float32Array => {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 2 ** ((s % 17) - 8));
};
const tree = (seed: number): T.Tree => ({ w: tf.tensor(lcg(12, seed), [3, 4]), b: tf.tensor(lcg(4, seed + 1), [4]), s: tf.tensor(lcg(1, seed + 2)[0]!) });
const bytes = (t: T.Tree | tf.Tensor): Buffer[] =>
  (t instanceof tf.Tensor ? [t] : Object.values(t)).map((x) => Buffer.from((x.dataSync() as Float32Array).slice().buffer));

/** An op's results with a set of stand-in kernels registered and without, and the calls they counted. */
function withAndWithout<R extends T.Tree | tf.Tensor, C extends object>(f: () => R, on: () => void, off: () => void, counts: C): [Buffer[], Buffer[], C] {
  const without = tf.tidy(() => bytes(f()));
  on();
  const withK = tf.tidy(() => bytes(f()));
  const seen = { ...counts };
  off();
  return [withK, without, seen];
}
/** Each op's results with the stand-in kernels registered and without. */
const both = <R extends T.Tree | tf.Tensor>(f: () => R): [Buffer[], Buffer[], typeof calls] => withAndWithout(f, register, unregister, calls);

describe('fused leaf kernels', () => {
  test('addScaled takes one LetsAxpy per leaf, for a number and for a scalar tensor, with the composed bits', () => {
    const x = tree(1), y = tree(2), s = tf.scalar(-0.3);
    const before = tf.memory().numTensors;
    let [w, wo, seen] = both(() => T.addScaled(x, 0.1, y));
    expect(w).toEqual(wo);
    expect(seen).toEqual({ axpy: 3, dot: 0, treeDot: 0 });
    calls.axpy = 0;
    [w, wo, seen] = both(() => T.addScaled(x, s, y));
    expect(w).toEqual(wo);
    expect(seen.axpy).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...Object.values(x), ...Object.values(y), s]);
  });

  test('vdot, sqNorm and norm take one LetsTreeDot for the tree, with the composed bits', () => {
    const x = tree(3), y = tree(4);
    const before = tf.memory().numTensors;
    for (const [f, n] of [[() => T.vdot(x, y), 1], [() => T.sqNorm(x), 1], [() => T.norm(x), 1], [() => T.norm(x, 1), 0]] as const) {
      calls.dot = calls.treeDot = 0;
      const [w, wo, seen] = both(f);
      expect(w).toEqual(wo);
      expect(seen).toEqual({ axpy: 0, dot: 0, treeDot: n });
    }
    // An empty tree: 0, no kernel.
    const [e, eo, seen] = both(() => T.vdot({}, {}));
    expect(e).toEqual(eo);
    expect(seen.treeDot).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...Object.values(x), ...Object.values(y)]);
  });

  test('leaves the kernels do not take are composed: broadcasting shapes, int32, a non-float32 scale', () => {
    register();
    const x = { w: tf.ones([3, 4]) }, row = { w: tf.ones([4]) }, i = { w: tf.ones([3, 4], 'int32') };
    const r1 = T.addScaled(x, 2, row), r2 = T.addScaled(i, 2, i), r3 = T.addScaled(x, tf.scalar(2, 'int32'), x);
    const d1 = T.vdot(x, row), d2 = T.sqNorm(i);
    expect(calls).toEqual({ axpy: 0, dot: 0, treeDot: 0 });
    expect(Array.from(r1.w!.dataSync())).toEqual(new Array(12).fill(3));
    expect(Array.from(r2.w!.dataSync())).toEqual(new Array(12).fill(3));
    expect(Array.from(r3.w!.dataSync())).toEqual(new Array(12).fill(3));
    expect(d1.dataSync()[0]).toBe(12);
    expect(d2.dataSync()[0]).toBe(12);
    // A mixed tree: no tree kernel; the float32 leaf of one shape fused, the other composed.
    const mixed = T.vdot({ a: tf.ones([2]), b: tf.ones([2, 2]) }, { a: tf.ones([2]), b: tf.ones([2]) });
    expect(calls).toEqual({ axpy: 0, dot: 1, treeDot: 0 });
    expect(mixed.dataSync()[0]).toBe(6);

  });

  test('a backend without the kernels composes the ops', () => {
    const x = tree(5);
    expect(tf.getKernel(DOT_KERNEL, 'cpu')).toBeUndefined();
    const n = T.sqNorm(x);
    expect(calls.dot).toBe(0);
    expect(n.dataSync()[0]).toBeGreaterThan(0);
  });
});

describe('normalizedAxpy (SAM\'s ascent in one kernel)', () => {
  let ascentCalls = 0;
  // A stand-in for @lets/native's kernel: float32 arithmetic written out.
  const registerAscent = (): void => {
    tf.registerKernel({
      kernelName: TREE_NORMALIZED_AXPY_KERNEL, backendName: 'cpu',
      kernelFunc: ((a: Args) => {
        ascentCalls++;
        const n = Object.keys(a.inputs).length / 2;
        let acc = 0;
        for (let i = 0; i < n; i++) {
          const g = vals(a, `g${i}`);
          let d = 0;
          for (let j = 0; j < g.length; j++) d += Math.fround(g[j]! * g[j]!);
          acc = Math.fround(acc + Math.fround(d));
        }
        const norm = Math.fround(Math.sqrt(acc));
        const d = Math.fround(norm + Math.fround(a.attrs.eps as number)), s = Math.fround(a.attrs.s as number);
        const outs = [out([], Float32Array.of(norm))];
        for (let i = 0; i < n; i++) {
          const g = vals(a, `g${i}`), w = vals(a, `w${i}`);
          const q = Float32Array.from(g, (x) => Math.fround(x / d));
          outs.push(out(a.inputs[`g${i}`]!.shape, q), out(a.inputs[`g${i}`]!.shape, Float32Array.from(w, (x, j) => Math.fround(x + Math.fround(s * q[j]!)))));
        }
        return outs;
      }) as unknown as tf.KernelFunc,
    });
  };
  afterEach(() => {
    if (tf.getKernel(TREE_NORMALIZED_AXPY_KERNEL, 'cpu') !== undefined) tf.unregisterKernel(TREE_NORMALIZED_AXPY_KERNEL, 'cpu');
    ascentCalls = 0;
  });

  test('one kernel for the tree, each output under its path, with the composed ops\' bits', () => {
    const g = tree(7), w = tree(8);
    const before = tf.memory().numTensors;
    expect(normalizedAxpy(g, 0.05, w, 1e-12)).toBeUndefined(); // no kernel: the caller composes
    registerAscent();
    const r = normalizedAxpy(g, 0.05, w, 1e-12)!;
    expect(ascentCalls).toBe(1);
    const composed = tf.tidy(() => {
      const norm = T.norm(g);
      const n = T.map((x) => tf.div(x, tf.add(norm, 1e-12)))(g);
      return { norm, n, p: T.addScaled(w, 0.05, n) };
    });
    expect(Object.keys(r.n)).toEqual(Object.keys(g));
    expect(Object.keys(r.p)).toEqual(Object.keys(g));
    expect(bytes(r.norm)).toEqual(bytes(composed.norm));
    expect(bytes(r.n)).toEqual(bytes(composed.n));
    expect(bytes(r.p)).toEqual(bytes(composed.p));
    for (const k of Object.keys(g)) expect(r.p[k]!.shape).toEqual(g[k]!.shape);
    tf.dispose([r.norm, ...Object.values(r.n), ...Object.values(r.p), composed.norm, ...Object.values(composed.n), ...Object.values(composed.p)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...Object.values(g), ...Object.values(w)]);
  });

  test('undefined where the kernel does not apply: other paths, int32 or broadcasting leaves, no leaves, a gradient tape', () => {
    registerAscent();
    const g = { a: tf.ones([2]), b: tf.ones([3]) }, i = tf.ones([3], 'int32'), row = tf.ones([1]);
    const before = tf.memory().numTensors;
    expect(normalizedAxpy(g, 0.1, { b: g.b, a: g.a }, 1e-12)).toBeUndefined();
    expect(normalizedAxpy(g, 0.1, { a: g.a }, 1e-12)).toBeUndefined();
    expect(normalizedAxpy(g, 0.1, { a: g.a, b: i }, 1e-12)).toBeUndefined();
    expect(normalizedAxpy(g, 0.1, { a: g.a, b: row }, 1e-12)).toBeUndefined();
    expect(normalizedAxpy({}, 0.1, {}, 1e-12)).toBeUndefined();
    // under a gradient tape (the kernel has no gradient)
    const state = tf.engine().state;
    state.gradientDepth++;
    try {
      expect(normalizedAxpy(g, 0.1, g, 1e-12)).toBeUndefined();
    } finally {
      state.gradientDepth--;
    }
    expect(ascentCalls).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([i, row]);
    tf.dispose(Object.values(g));
  });
});

describe('scaledDifference and vdots (a difference quotient in one kernel a leaf, several tree dots in one call)', () => {
  const more = { subScale: 0, treeDots: 0 };
  const leafDot = (p: Float32Array, q: Float32Array): number => {
    let s = 0;
    for (let j = 0; j < p.length; j++) s += Math.fround(p[j]! * q[j]!);
    return Math.fround(s);
  };
  const registerMore = (): void => {
    tf.registerKernel({
      kernelName: SUB_SCALE_KERNEL, backendName: 'cpu',
      kernelFunc: ((a: Args) => {
        more.subScale++;
        const x = vals(a, 'a'), y = vals(a, 'b'), sf = Math.fround(a.attrs.s as number);
        return out(a.inputs.a!.shape, Float32Array.from(x, (xi, i) => Math.fround(xi - y[i]!) * sf));
      }) as unknown as tf.KernelFunc,
    });
    tf.registerKernel({
      kernelName: TREE_DOTS_KERNEL, backendName: 'cpu',
      kernelFunc: ((a: Args) => {
        more.treeDots++;
        const sizes = a.attrs.sizes as number[];
        let i = 0;
        const r = sizes.map((c) => {
          let acc = 0;
          for (let e = i + c; i < e; i++) acc = Math.fround(acc + leafDot(vals(a, `a${i}`), vals(a, `b${i}`)));
          return acc;
        });
        return out([sizes.length], Float32Array.from(r));
      }) as unknown as tf.KernelFunc,
    });
  };
  const unregisterMore = (): void => {
    for (const k of [SUB_SCALE_KERNEL, TREE_DOTS_KERNEL]) if (tf.getKernel(k, 'cpu') !== undefined) tf.unregisterKernel(k, 'cpu');
  };
  afterEach(() => {
    unregisterMore();
    more.subScale = more.treeDots = 0;
  });
  const twice = <R extends T.Tree | tf.Tensor>(f: () => R): [Buffer[], Buffer[], typeof more] => withAndWithout(f, registerMore, unregisterMore, more);

  test('scaledDifference is scaleBy(sub(a, b), s) bit for bit, one LetsSubScale a leaf', () => {
    const a = tree(6), b = tree(7);
    const before = tf.memory().numTensors;
    for (const s of [1 / 3e-4, -0.5]) {
      more.subScale = 0;
      const [w, wo, seen] = twice(() => T.scaledDifference(a, b, s));
      expect(w).toEqual(wo);
      expect(w).toEqual(tf.tidy(() => bytes(T.scaleBy(T.sub(a, b), s))));
      expect(seen.subScale).toBe(3);
    }
    // Leaves the kernel does not take are composed (broadcasting, int32).
    expect(tf.memory().numTensors).toBe(before);
    registerMore();
    more.subScale = 0;
    tf.tidy(() => {
      const r = T.scaledDifference({ w: tf.ones([3, 4]), i: tf.ones([2], 'int32') }, { w: tf.ones([4]), i: tf.zeros([2], 'int32') }, 2);
      expect(more.subScale).toBe(0);
      expect(Array.from(r.w!.dataSync())).toEqual(new Array(12).fill(0));
      expect(Array.from(r.i!.dataSync())).toEqual([2, 2]);
      expect(() => T.scaledDifference({ a: tf.ones([2]) }, { b: tf.ones([2]) }, 1)).toThrow(/trees/);
    });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...Object.values(a), ...Object.values(b)]);
  });

  test('vdots: entry j has the bits of vdot of pair j, all in one LetsTreeDots, one read', () => {
    const x = tree(8), y = tree(9), z = tree(10);
    const before = tf.memory().numTensors;
    const pairs: Array<[T.Tree, T.Tree]> = [[x, y], [y, y], [z, x]];
    const [w, wo, seen] = twice(() => T.vdots(pairs));
    expect(w).toEqual(wo);
    expect(seen.treeDots).toBe(1);
    const each = pairs.map(([a, b]) => tf.tidy(() => T.vdot(a, b).dataSync()[0]));
    const got = tf.tidy(() => Array.from(T.vdots(pairs).dataSync()));
    got.forEach((v, j) => expect(Object.is(v, each[j])).toBe(true));
    // vdots([[x, x]]) is sqNorm(x), and its square root norm(x).
    expect(tf.tidy(() => T.vdots([[x, x]]).dataSync()[0])).toBe(tf.tidy(() => T.sqNorm(x).dataSync()[0]));
    expect(tf.tidy(() => tf.sqrt(T.vdots([[x, x]])).dataSync()[0])).toBe(tf.tidy(() => T.norm(x).dataSync()[0]));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...Object.values(x), ...Object.values(y), ...Object.values(z)]);
  });

  test('vdots composes where the kernel does not apply (an empty tree, a leaf it does not take) and names bad input', () => {
    registerMore();
    const x = tree(11);
    const before = tf.memory().numTensors;
    const withEmpty = tf.tidy(() => Array.from(T.vdots([[x, x], [{}, {}]]).dataSync()));
    const mixed = tf.tidy(() => Array.from(T.vdots([[x, x], [{ a: tf.ones([2, 2]) }, { a: tf.ones([2]) }]]).dataSync()));
    expect(more.treeDots).toBe(0);
    expect(withEmpty[1]).toBe(0);
    expect(withEmpty[0]).toBe(tf.tidy(() => T.sqNorm(x).dataSync()[0]));
    expect(mixed[1]).toBe(4);
    expect(() => T.vdots([])).toThrow(/vdots: expected at least one pair of trees, got none/);
    expect(() => T.vdots([[x, x], [x, { w: x.w! }]])).toThrow(/vdots: pair 1's trees/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(Object.values(x));
  });
});
