import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import { alloc, BACKEND_NAME, f32, KernelArgs, output } from './util';

/**
 * Fused kernels of @lets/tree's leaf math on the 'native' backend, one kernel where the composed
 * ops take two:
 *
 *   LetsAxpy  {x, y, s?} attrs {s?}   x + s·y   (tree's addScaled: tf.add(x, tf.mul(y, s)))
 *   LetsDot   {a, b}                  Σ a·b     (tree's vdot, sqNorm, norm: tf.sum(tf.mul(a, b)))
 *
 * For float32 tensors of one shape. `s` is the input `s` (a float32 scalar tensor) when given, else
 * the number attribute `s`, rounded to float32 as tf.mul rounds a JS number. Each gives the same
 * bits as the two kernels it replaces (csrc/tree_ops.cc says how). @lets/tree reaches them through
 * tfjs's kernel registry by name and only outside gradient tapes (they have no gradients); the
 * contract is declared on both sides, here and in packages/tree/src/fused.ts.
 */
export const AXPY = 'LetsAxpy';
export const DOT = 'LetsDot';

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

/** The kernels, for the 'native' backend. */
export function treeKernelConfigs(addon: NativeAddon): tf.KernelConfig[] {
  const k = (kernelName: string, f: (args: KernelArgs) => tf.TensorInfo): tf.KernelConfig => ({
    kernelName, backendName: BACKEND_NAME, kernelFunc: f as unknown as tf.KernelFunc,
  });
  return [
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
  ];
}
