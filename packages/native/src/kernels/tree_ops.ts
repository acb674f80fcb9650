import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import { alloc, BACKEND_NAME, f32, KernelArgs, output } from './util';

/**
 * Fused kernels of @lets/tree's leaf math on the 'native' backend, one kernel where the composed
 * ops take two:
 *
 *   LetsAxpy  {x, y, s?} attrs {s?}   x + s·y   (tree's addScaled: tf.add(x, tf.mul(y, s)))
 *   LetsDot   {a, b}                  Σ a·b     (one leaf: tf.sum(tf.mul(a, b)))
 *   LetsTreeDot {a0, b0, a1, b1, …}   Σ_i Σ aᵢ·bᵢ (tree's vdot, sqNorm, norm: tf.addN of the leaves' LetsDot)
 *   LetsTreeNormalizedAxpy {g0, w0, g1, w1, …} attrs {s, eps}
 *                                     [‖g‖, n0, p0, n1, p1, …]: ‖g‖ = √(LetsTreeDot of g with g),
 *                                     nᵢ = gᵢ / (‖g‖ + eps), pᵢ = wᵢ + s·nᵢ (SAM's ascent: tf.sqrt,
 *                                     tf.add, one tf.div and one LetsAxpy per leaf)
 *   LetsSubScale {a, b} attrs {s}     (a − b)·s (tree's scaledDifference: tf.mul(tf.sub(a, b), s))
 *   LetsTreeDots {a0, b0, a1, b1, …} attrs {sizes}
 *                                     [K] float32: entry j is LetsTreeDot of the j-th run of
 *                                     sizes[j] pairs (tree's vdots: several whole-tree dots in
 *                                     one call, their chains interleaved and over the threads)
 *
 * For float32 tensors of one shape (per pair). LetsTreeDot adds the pairs' dots in float32, in
 * order from 0, as tfjs's AddN does: one kernel for a whole tree's ⟨a, b⟩ or ‖a‖². `s` is the input `s` (a float32 scalar tensor) when given, else
 * the number attribute `s`, rounded to float32 as tf.mul rounds a JS number. Each gives the same
 * bits as the two kernels it replaces (csrc/tree_ops.cc says how). @lets/tree reaches them through
 * tfjs's kernel registry by name and only outside gradient tapes (they have no gradients); the
 * contract is declared on both sides, here and in packages/tree/src/fused.ts.
 */
export const AXPY = 'LetsAxpy';
export const DOT = 'LetsDot';
export const TREE_DOT = 'LetsTreeDot';
export const TREE_NORMALIZED_AXPY = 'LetsTreeNormalizedAxpy';
export const SUB_SCALE = 'LetsSubScale';
export const TREE_DOTS = 'LetsTreeDots';

function values(args: KernelArgs, kernel: string, name: string): Float32Array {
  const t = args.inputs[name];
  const v = t === undefined ? undefined : f32(args.backend, t);
  if (v === undefined) throw new Error(`${kernel}: input '${name}' must be a float32 tensor, got ${t === undefined ? 'none' : t.dtype}`);
  return v;
}

function sameShape(kernel: string, p: tf.TensorInfo, q: tf.TensorInfo, names: string): void {
  if (!tf.util.arraysEqual(p.shape, q.shape)) {
    throw new Error(`${kernel}: ${names} must have one shape, got [${p.shape.join(', ')}] and [${q.shape.join(', ')}]`);
  }
}

function scale(args: KernelArgs): number {
  const st = args.inputs.s;
  if (st !== undefined) {
    const v = values(args, AXPY, 's');
    if (v.length !== 1) throw new Error(`${AXPY}: input 's' must be a scalar, got shape [${st.shape.join(', ')}]`);
    return v[0]!;
  }
  const s = args.attrs?.s;
  if (typeof s !== 'number') throw new Error(`${AXPY}: needs a scalar input 's' or a number attribute 's', got ${typeof s}`);
  return s;
}

/**
 * The kernels, for the 'native' backend; none when the loaded addon predates them (a stale
 * build/), so @lets/tree composes its ops there.
 */
export function treeKernelConfigs(addon: NativeAddon): tf.KernelConfig[] {
  if (typeof addon.axpy !== 'function' || typeof addon.dot !== 'function') return [];
  const k = (kernelName: string, f: (args: KernelArgs) => tf.TensorInfo): tf.KernelConfig => ({
    kernelName, backendName: BACKEND_NAME, kernelFunc: f as unknown as tf.KernelFunc,
  });
  // LetsTreeDot's sum: the leaves' dots accumulated as AddN does, acc = fround(acc + dotᵢ) from +0.
  const treeDot = (pairs: ReadonlyArray<readonly [Float32Array, Float32Array]>): number => {
    let acc = 0;
    for (const [a, b] of pairs) acc = Math.fround(acc + addon.dot(a, b));
    return acc;
  };
  const configs = [
    k(AXPY, (args) => {
      const x = args.inputs.x!, y = args.inputs.y!;
      const xv = values(args, AXPY, 'x'), yv = values(args, AXPY, 'y');
      sameShape(AXPY, x, y, 'x and y');
      const s = scale(args);
      const out = alloc(args.backend, xv.length);
      addon.axpy(xv, yv, s, out);
      return output(args.backend, x.shape.slice(), out);
    }),
    k(DOT, (args) => {
      const av = values(args, DOT, 'a'), bv = values(args, DOT, 'b');
      sameShape(DOT, args.inputs.a!, args.inputs.b!, 'a and b');
      const out = alloc(args.backend, 1);
      out[0] = addon.dot(av, bv);
      return output(args.backend, [], out);
    }),
    k(TREE_DOT, (args) => {
      const n = Object.keys(args.inputs).length / 2;
      if (!Number.isInteger(n) || n < 1) throw new Error(`${TREE_DOT}: expects inputs a0, b0, a1, b1, …; got ${Object.keys(args.inputs).join(', ') || 'none'}`);
      // Checked first, so a bad pair throws before any work.
      const pairs: Array<[Float32Array, Float32Array]> = [];
      for (let i = 0; i < n; i++) {
        const a = args.inputs[`a${i}`], b = args.inputs[`b${i}`];
        if (a === undefined || b === undefined) throw new Error(`${TREE_DOT}: input a${i} or b${i} missing (expects a0, b0, …, a${n - 1}, b${n - 1})`);
        sameShape(TREE_DOT, a, b, `a${i} and b${i}`);
        pairs.push([values(args, TREE_DOT, `a${i}`), values(args, TREE_DOT, `b${i}`)]);
      }
      const out = alloc(args.backend, 1);
      out[0] = treeDot(pairs);
      return output(args.backend, [], out);
    }),
  ];
  if (typeof addon.subScale === 'function') {
    const subScale = addon.subScale.bind(addon);
    configs.push(
      k(SUB_SCALE, (args) => {
        const a = args.inputs.a!, b = args.inputs.b!;
        const av = values(args, SUB_SCALE, 'a'), bv = values(args, SUB_SCALE, 'b');
        sameShape(SUB_SCALE, a, b, 'a and b');
        const s = args.attrs?.s;
        if (typeof s !== 'number') throw new Error(`${SUB_SCALE}: needs a number attribute 's', got ${typeof s}`);
        const out = alloc(args.backend, av.length);
        subScale(av, bv, s, out);
        return output(args.backend, a.shape.slice(), out);
      }),
    );
  }
  if (typeof addon.dots === 'function') {
    const dots = addon.dots.bind(addon);
    configs.push(
      k(TREE_DOTS, (args) => {
        const n = Object.keys(args.inputs).length / 2;
        const sizes = args.attrs?.sizes;
        if (!Array.isArray(sizes) || sizes.length === 0 || !sizes.every((c) => Number.isInteger(c) && c >= 1)) {
          throw new Error(`${TREE_DOTS}: needs a number[] attribute 'sizes' of leaf counts ≥ 1, got ${JSON.stringify(sizes)}`);
        }
        const total = (sizes as number[]).reduce((x, y) => x + y, 0);
        if (!Number.isInteger(n) || n !== total) throw new Error(`${TREE_DOTS}: expects ${total} input pairs a0, b0, …, a${total - 1}, b${total - 1} (the sum of sizes); got ${Object.keys(args.inputs).join(', ') || 'none'}`);
        // Checked first, so a bad pair throws before any work.
        const flat: Float32Array[] = [];
        for (let i = 0; i < n; i++) {
          const a = args.inputs[`a${i}`], b = args.inputs[`b${i}`];
          if (a === undefined || b === undefined) throw new Error(`${TREE_DOTS}: input a${i} or b${i} missing (expects a0, b0, …, a${n - 1}, b${n - 1})`);
          sameShape(TREE_DOTS, a, b, `a${i} and b${i}`);
          flat.push(values(args, TREE_DOTS, `a${i}`), values(args, TREE_DOTS, `b${i}`));
        }
        const leafDots = new Float32Array(n);
        dots(flat, leafDots);
        // Each run of pairs summed as LetsTreeDot sums its leaves: acc = fround(acc + dotᵢ) from +0.
        const out = alloc(args.backend, sizes.length);
        let i = 0;
        (sizes as number[]).forEach((c, j) => {
          let acc = 0;
          for (let e = i + c; i < e; i++) acc = Math.fround(acc + leafDots[i]!);
          out[j] = acc;
        });
        return output(args.backend, [sizes.length], out);
      }),
    );
  }
  if (typeof addon.divAxpy !== 'function') return configs;
  const divAxpy = addon.divAxpy.bind(addon);
  const K = TREE_NORMALIZED_AXPY;
  configs.push({
    kernelName: K, backendName: BACKEND_NAME,
    kernelFunc: ((args: KernelArgs): tf.TensorInfo[] => {
      const n = Object.keys(args.inputs).length / 2;
      if (!Number.isInteger(n) || n < 1) throw new Error(`${K}: expects inputs g0, w0, g1, w1, …; got ${Object.keys(args.inputs).join(', ') || 'none'}`);
      const s = args.attrs?.s, eps = args.attrs?.eps;
      if (typeof s !== 'number' || typeof eps !== 'number') throw new Error(`${K}: needs number attributes 's' and 'eps', got ${typeof s} and ${typeof eps}`);
      // Checked first, so a bad pair throws before any work.
      const leaves: Array<{ shape: number[]; g: Float32Array; w: Float32Array }> = [];
      for (let i = 0; i < n; i++) {
        const g = args.inputs[`g${i}`], w = args.inputs[`w${i}`];
        if (g === undefined || w === undefined) throw new Error(`${K}: input g${i} or w${i} missing (expects g0, w0, …, g${n - 1}, w${n - 1})`);
        sameShape(K, g, w, `g${i} and w${i}`);
        leaves.push({ shape: g.shape.slice(), g: values(args, K, `g${i}`), w: values(args, K, `w${i}`) });
      }
      // ‖g‖ as LetsTreeDot then tf.sqrt (tfjs's Sqrt: Math.sqrt stored to float32), then
      // ‖g‖ + eps as tf.add of two float32 scalars: every step rounded to float32 as there.
      const norm = Math.fround(Math.sqrt(treeDot(leaves.map(({ g }) => [g, g]))));
      const d = Math.fround(norm + Math.fround(eps));
      const normOut = alloc(args.backend, 1);
      normOut[0] = norm;
      const outs: tf.TensorInfo[] = [output(args.backend, [], normOut)];
      for (const { shape, g, w } of leaves) {
        const nv = alloc(args.backend, g.length), pv = alloc(args.backend, g.length);
        divAxpy(g, w, d, s, nv, pv);
        outs.push(output(args.backend, shape, nv), output(args.backend, shape.slice(), pv));
      }
      return outs;
    }) as unknown as tf.KernelFunc,
  });
  return configs;
}
