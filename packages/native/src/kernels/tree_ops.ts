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

/**
 * Inputs `${x}0, ${y}0, …, ${x}${n-1}, ${y}${n-1}` as float32 pairs of one shape, all checked
 * before any work, so a bad pair throws naming it.
 */
function pairsOf(args: KernelArgs, kernel: string, n: number, x: string, y: string): Array<{ shape: number[]; a: Float32Array; b: Float32Array }> {
  const pairs: Array<{ shape: number[]; a: Float32Array; b: Float32Array }> = [];
  for (let i = 0; i < n; i++) {
    const a = args.inputs[`${x}${i}`], b = args.inputs[`${y}${i}`];
    if (a === undefined || b === undefined) throw new Error(`${kernel}: input ${x}${i} or ${y}${i} missing (expects ${x}0, ${y}0, …, ${x}${n - 1}, ${y}${n - 1})`);
    sameShape(kernel, a, b, `${x}${i} and ${y}${i}`);
    pairs.push({ shape: a.shape.slice(), a: values(args, kernel, `${x}${i}`), b: values(args, kernel, `${y}${i}`) });
  }
  return pairs;
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
  // Each pair's dot (addon.dot's bits): in one call where the addon has `dots` (the chains side by
  // side and over the threads), else one call a pair.
  const dots = typeof addon.dots === 'function' ? addon.dots.bind(addon) : undefined;
  const leafDots = (pairs: ReadonlyArray<readonly [Float32Array, Float32Array]>): ArrayLike<number> => {
    if (dots === undefined) return pairs.map(([a, b]) => addon.dot(a, b));
    const out = new Float32Array(pairs.length);
    dots(pairs.flat(), out);
    return out;
  };
  // LetsTreeDot's sum of leaf dots i ∈ [from, to): accumulated as AddN does, acc = fround(acc + dotᵢ) from +0.
  const sumInOrder = (d: ArrayLike<number>, from: number, to: number): number => {
    let acc = 0;
    for (let i = from; i < to; i++) acc = Math.fround(acc + d[i]!);
    return acc;
  };
  const treeDot = (pairs: ReadonlyArray<readonly [Float32Array, Float32Array]>): number => sumInOrder(leafDots(pairs), 0, pairs.length);
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
      const out = alloc(args.backend, 1);
      out[0] = treeDot(pairsOf(args, TREE_DOT, n, 'a', 'b').map(({ a, b }) => [a, b] as const));
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
  if (dots !== undefined) {
    configs.push(
      k(TREE_DOTS, (args) => {
        const n = Object.keys(args.inputs).length / 2;
        const sizes = args.attrs?.sizes;
        if (!Array.isArray(sizes) || sizes.length === 0 || !sizes.every((c) => Number.isInteger(c) && c >= 1)) {
          throw new Error(`${TREE_DOTS}: needs a number[] attribute 'sizes' of leaf counts ≥ 1, got ${JSON.stringify(sizes)}`);
        }
        const total = (sizes as number[]).reduce((x, y) => x + y, 0);
        if (!Number.isInteger(n) || n !== total) throw new Error(`${TREE_DOTS}: expects ${total} input pairs a0, b0, …, a${total - 1}, b${total - 1} (the sum of sizes); got ${Object.keys(args.inputs).join(', ') || 'none'}`);
        const d = leafDots(pairsOf(args, TREE_DOTS, n, 'a', 'b').map(({ a, b }) => [a, b] as const));
        // Each run of pairs summed as LetsTreeDot sums its leaves.
        const out = alloc(args.backend, sizes.length);
        let from = 0;
        (sizes as number[]).forEach((c, j) => {
          out[j] = sumInOrder(d, from, from + c);
          from += c;
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
      const leaves = pairsOf(args, K, n, 'g', 'w').map(({ shape, a, b }) => ({ shape, g: a, w: b }));
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
