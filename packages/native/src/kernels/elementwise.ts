import * as tf from '@tensorflow/tfjs-core';
import { alloc, f32, NativeKernelSpec, output } from './util';

/**
 * The broadcast of a binary op as at most three merged dimensions with each operand's element
 * strides (0 where it is broadcast), or undefined when it needs more (then the cpu kernel runs).
 * Axes of size 1 are dropped and neighbouring axes on which both operands are either full or
 * broadcast are merged, so bias adds ([N,H,W,C] + [C]), per-row scales ([B,C]·[B,1]) and scalars
 * all fit.
 */
export function broadcastLayout(aShape: number[], bShape: number[], outShape: number[]): Int32Array | undefined {
  const r = outShape.length;
  const pa = [...new Array<number>(r - aShape.length).fill(1), ...aShape];
  const pb = [...new Array<number>(r - bShape.length).fill(1), ...bShape];
  const dims: number[] = [], fa: boolean[] = [], fb: boolean[] = [];
  for (let i = 0; i < r; i++) {
    const d = outShape[i]!;
    if (d === 1) continue;
    const A = pa[i] === d, B = pb[i] === d;
    const k = dims.length - 1;
    if (k >= 0 && fa[k] === A && fb[k] === B) dims[k]! *= d;
    else { dims.push(d); fa.push(A); fb.push(B); }
  }
  if (dims.length > 3) return undefined;
  while (dims.length < 3) { dims.unshift(1); fa.unshift(false); fb.unshift(false); }
  const strides = (full: boolean[]): number[] => {
    const s = [0, 0, 0];
    let acc = 1;
    for (let k = 2; k >= 0; k--) {
      if (full[k]) { s[k] = acc; acc *= dims[k]!; }
    }
    return s;
  };
  return Int32Array.from([...dims, ...strides(fa), ...strides(fb)]);
}

function binarySpec(kernelName: string, op: 0 | 1 | 2 | 3 | 4): NativeKernelSpec {
  return {
    kernelName,
    make: (addon) => (args, fallback) => {
      const { backend } = args;
      const a = args.inputs.a!, b = args.inputs.b!;
      const av = f32(backend, a), bv = f32(backend, b);
      if (av === undefined || bv === undefined) return fallback(args as never);
      const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const lay = broadcastLayout(a.shape, b.shape, outShape);
      if (lay === undefined) return fallback(args as never);
      const out = alloc(backend, tf.util.sizeFromShape(outShape));
      addon.binary(op, av, bv, out, lay);
      return output(backend, outShape, out);
    },
  };
}

/** Add, Sub, Multiply, RealDiv, SquaredDifference of float32 tensors with broadcasting, on all threads. */
export const addSpec = binarySpec('Add', 0);
export const subSpec = binarySpec('Sub', 1);
export const multiplySpec = binarySpec('Multiply', 2);
export const realDivSpec = binarySpec('RealDiv', 3);
export const squaredDifferenceSpec = binarySpec('SquaredDifference', 4);

function unarySpec(kernelName: 'Relu' | 'Step', op: 0 | 1): NativeKernelSpec {
  return {
    kernelName,
    make: (addon) => (args, fallback) => {
      const { backend } = args;
      const x = args.inputs.x!;
      const xv = f32(backend, x);
      if (xv === undefined) return fallback(args as never);
      const y = alloc(backend, xv.length);
      addon.unary(op, xv, y, op === 1 ? Number(args.attrs?.alpha ?? 0) : 0);
      return output(backend, x.shape, y);
    },
  };
}

/** Relu: max(x, 0), NaN kept. */
export const reluSpec = unarySpec('Relu', 0);
/** Step: 1 where x > 0, else alpha, NaN kept (ReLU's gradient is dy·step(x)). */
export const stepSpec = unarySpec('Step', 1);

function reduceSpec(kernelName: 'Sum' | 'Mean'): NativeKernelSpec {
  return {
    kernelName,
    make: (addon) => (args, fallback) => {
      const { backend } = args;
      const x = args.inputs.x!;
      const xv = f32(backend, x);
      // An empty input (a sum of nothing): the cpu kernel's answer, 0 or an empty tensor.
      if (xv === undefined || xv.length === 0) return fallback(args as never);
      const r = x.shape.length;
      const axes = [...new Set(tf.util.parseAxisParam(args.attrs?.axis as number | number[], x.shape))].sort((p, q) => p - q);
      if (axes.length === 0) return fallback(args as never);
      const leading = axes.every((ax, i) => ax === i);
      const trailing = axes.every((ax, i) => ax === r - axes.length + i);
      if (!leading && !trailing) return fallback(args as never);
      const reduced = tf.util.sizeFromShape(axes.map((ax) => x.shape[ax]!));
      const kept = reduced === 0 ? 0 : xv.length / reduced;
      const [outShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
      const out = alloc(backend, tf.util.sizeFromShape(outShape));
      if (out.length > 0) {
        if (trailing) addon.sum(xv, out, kept, reduced, false);
        else addon.sum(xv, out, reduced, kept, true);
        if (kernelName === 'Mean') for (let i = 0; i < out.length; i++) out[i] = out[i]! / reduced;
      }
      const shape = args.attrs?.keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
      return output(backend, shape, out);
    },
  };
}

/**
 * Sum over a leading block of axes (bias gradients: [N,H,W,C] → [C]) or a trailing block (row
 * sums), accumulated in double like the cpu kernel; other axis sets go to the cpu kernel.
 */
export const sumSpec = reduceSpec('Sum');
/** Mean over a leading or trailing block of axes: the sum (in double) divided by the count. */
export const meanSpec = reduceSpec('Mean');
