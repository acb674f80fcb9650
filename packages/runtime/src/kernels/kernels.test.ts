// The runtime's training kernels against direct float64 evaluations of their defining
// sums (written out below, independent of the kernels' loop order, im2col or conv
// tricks), on both cpu and wasm, through tf.engine().runKernel as tfjs's own ops call them.
// Tolerance: outputs are sums of ≤ 300 float32 products of O(1) values, so float32
// accumulation error is ≤ ~300·u·max|term| ≈ 2e-5 relative; we allow 1e-4.
import * as tf from '@tensorflow/tfjs-core';
import { initRuntime } from '../backend';
import { relErrArrays, TEST_BACKENDS } from '../test-util';
import { setIm2colChunkFloats } from './conv2d_backprop_filter';
import { softmaxCrossEntropy } from '../losses';

const TOL = 1e-4;

type Pad = 'same' | 'valid';
function pads(inSize: number, f: number, s: number, pad: Pad): [number, number] {
  if (pad === 'valid') return [0, Math.floor((inSize - f) / s) + 1];
  const out = Math.ceil(inSize / s);
  const total = Math.max(0, (out - 1) * s + f - inSize);
  return [Math.floor(total / 2), out];
}

function rnd(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

// Direct sums in float64. depthwise: filter [fh, fw, C, m] and output channel c·m+q;
// regular conv: filter [fh, fw, Ci, Co].
interface Geo { B: number; H: number; W: number; C: number; fh: number; fw: number; s: number; pad: Pad; }
function geometry(g: Geo) {
  const [top, OH] = pads(g.H, g.fh, g.s, g.pad);
  const [left, OW] = pads(g.W, g.fw, g.s, g.pad);
  return { top, left, OH, OW };
}
function refConv(kind: 'filter' | 'input', depthwise: boolean, g: Geo, Co: number, a: Float32Array, b: Float32Array): number[] {
  const { top, left, OH, OW } = geometry(g);
  const m = depthwise ? Co / g.C : 0;
  const out = kind === 'filter' ? new Array(g.fh * g.fw * (depthwise ? g.C * m : g.C * Co)).fill(0) : new Array(g.B * g.H * g.W * g.C).fill(0);
  for (let bi = 0; bi < g.B; bi++)
    for (let y = 0; y < OH; y++)
      for (let x = 0; x < OW; x++)
        for (let r = 0; r < g.fh; r++)
          for (let c = 0; c < g.fw; c++) {
            const i = y * g.s - top + r;
            const j = x * g.s - left + c;
            if (i < 0 || i >= g.H || j < 0 || j >= g.W) continue;
            for (let ci = 0; ci < g.C; ci++) {
              const outs = depthwise ? Array.from({ length: m }, (_, q) => [ci * m + q, q]) : Array.from({ length: Co }, (_, o) => [o, o]);
              for (const [o, q] of outs) {
                const dyIdx = ((bi * OH + y) * OW + x) * Co + o!;
                const wIdx = depthwise ? ((r * g.fw + c) * g.C + ci) * m + q! : ((r * g.fw + c) * g.C + ci) * Co + o!;
                const xIdx = ((bi * g.H + i) * g.W + j) * g.C + ci;
                if (kind === 'filter') out[wIdx] += a[xIdx]! * b[dyIdx]!; // a = x, b = dy
                else out[xIdx] += a[dyIdx]! * b[wIdx]!; // a = dy, b = filter
              }
            }
          }
  return out;
}

const geos: Array<[string, Geo]> = [
  ['3x3 stride 1 same', { B: 2, H: 7, W: 6, C: 3, fh: 3, fw: 3, s: 1, pad: 'same' }],
  ['3x3 stride 2 same', { B: 2, H: 7, W: 6, C: 3, fh: 3, fw: 3, s: 2, pad: 'same' }],
  ['2x3 stride 2 valid', { B: 1, H: 8, W: 7, C: 2, fh: 2, fw: 3, s: 2, pad: 'valid' }],
  ['5x5 stride 1 valid', { B: 2, H: 6, W: 6, C: 2, fh: 5, fw: 5, s: 1, pad: 'valid' }],
  ['4x4 stride 2 same (even filter)', { B: 1, H: 7, W: 8, C: 2, fh: 4, fw: 4, s: 2, pad: 'same' }],
  ['2x2 stride 3 valid (taps miss some pixels)', { B: 2, H: 8, W: 7, C: 2, fh: 2, fw: 2, s: 3, pad: 'valid' }],
  ['3x3 stride 3 same', { B: 1, H: 7, W: 9, C: 3, fh: 3, fw: 3, s: 3, pad: 'same' }],
];

describe.each(TEST_BACKENDS)('training kernels on %s', (backend) => {
  beforeAll(async () => {
    await initRuntime({ backend });
  });
  let before = 0;
  beforeEach(() => {
    before = tf.memory().numTensors;
  });
  afterEach(() => {
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each(geos)('Conv2DBackpropFilter %s', (_name, g) => {
    const Co = 4;
    const { OH, OW } = geometry(g);
    const x = rnd([g.B, g.H, g.W, g.C], 1);
    const dy = rnd([g.B, OH, OW, Co], 2);
    const want = refConv('filter', false, g, Co, x.dataSync() as Float32Array, dy.dataSync() as Float32Array);
    // wasm: force several im2col chunks too
    const old = setIm2colChunkFloats(backend === 'wasm' && g.s === 1 ? OH * OW * g.fh * g.fw * g.C : 16 * 1024 * 1024);
    const got = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
      strides: g.s, pad: g.pad, dataFormat: 'NHWC', filterShape: [g.fh, g.fw, g.C, Co],
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
    setIm2colChunkFloats(old);
    expect(got.shape).toEqual([g.fh, g.fw, g.C, Co]);
    expect(relErrArrays(got.dataSync(), want)).toBeLessThan(TOL);
    tf.dispose([x, dy, got]);
  });

  it.each(geos)('Conv2DBackpropInput %s', (_name, g) => {
    const Co = 4;
    const { OH, OW } = geometry(g);
    const dy = rnd([g.B, OH, OW, Co], 3);
    const w = rnd([g.fh, g.fw, g.C, Co], 4);
    const want = refConv('input', false, g, Co, dy.dataSync() as Float32Array, w.dataSync() as Float32Array);
    const got = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, {
      strides: g.s, pad: g.pad, dataFormat: 'NHWC', inputShape: [g.B, g.H, g.W, g.C],
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
    expect(got.shape).toEqual([g.B, g.H, g.W, g.C]);
    expect(relErrArrays(got.dataSync(), want)).toBeLessThan(TOL);
    tf.dispose([dy, w, got]);
  });

  it.each(geos)('depthwise backprops (multiplier 2) %s', (_name, g) => {
    const m = 2;
    const Co = g.C * m;
    const { OH, OW } = geometry(g);
    const x = rnd([g.B, g.H, g.W, g.C], 5);
    const dy = rnd([g.B, OH, OW, Co], 6);
    const w = rnd([g.fh, g.fw, g.C, m], 7);
    const common = { strides: g.s, pad: g.pad, dilations: 1 };
    const dW = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, {
      ...common, filterShape: [g.fh, g.fw, g.C, m],
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const dX = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: w }, {
      ...common, inputShape: [g.B, g.H, g.W, g.C],
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
    expect(relErrArrays(dW.dataSync(), refConv('filter', true, g, Co, x.dataSync() as Float32Array, dy.dataSync() as Float32Array))).toBeLessThan(TOL);
    expect(relErrArrays(dX.dataSync(), refConv('input', true, g, Co, dy.dataSync() as Float32Array, w.dataSync() as Float32Array))).toBeLessThan(TOL);
    tf.dispose([x, dy, w, dW, dX]);
  });

  it.each([
    ['2x2 stride 2 valid', 2, 2, 'valid'],
    ['3x3 stride 2 same', 3, 2, 'same'],
    ['3x3 stride 1 same', 3, 1, 'same'],
  ] as const)('MaxPoolGrad and MaxPoolWithArgmax %s, with ReLU ties', (_n, f, s, pad) => {
    const [B, H, W, C] = [2, 5, 5, 3];
    const x = tf.tidy(() => tf.relu(rnd([B, H, W, C], 11))) as tf.Tensor4D;
    const [top, OH] = pads(H, f, s, pad);
    const [left, OW] = pads(W, f, s, pad);
    const dy = rnd([B, OH, OW, C], 12);
    const xv = x.dataSync();
    const dyv = dy.dataSync();
    // reference: each window's first maximum (row-major), padding skipped
    const wantArg: number[] = [];
    const wantDx = new Array(B * H * W * C).fill(0);
    for (let b = 0; b < B; b++)
      for (let y = 0; y < OH; y++)
        for (let xo = 0; xo < OW; xo++)
          for (let c = 0; c < C; c++) {
            let best = -Infinity;
            let at = -1;
            for (let r = 0; r < f; r++)
              for (let q = 0; q < f; q++) {
                const i = y * s - top + r;
                const j = xo * s - left + q;
                if (i < 0 || i >= H || j < 0 || j >= W) continue;
                const idx = ((b * H + i) * W + j) * C + c;
                if (xv[idx]! > best) {
                  best = xv[idx]!;
                  at = idx;
                }
              }
            wantArg.push(at);
            wantDx[at] += dyv[((b * OH + y) * OW + xo) * C + c]!;
          }
    const pooled = tf.maxPoolWithArgmax(x, f, s, pad, true);
    const indexes = pooled['indexes']!;
    const result = pooled['result']!;
    expect(Array.from(indexes.dataSync())).toEqual(wantArg);
    expect(Array.from(result.dataSync())).toEqual(wantArg.map((i) => xv[i]));
    const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, f, s, pad), dy)))(x);
    expect(relErrArrays(dx.dataSync(), wantDx)).toBeLessThan(1e-6);
    tf.dispose([x, dy, indexes, result, dx]);
  });

  it.each([
    ['2x2 stride 2 valid', 2, 2, 'valid'],
    ['3x3 stride 2 same', 3, 2, 'same'],
    ['3x3 stride 1 same', 3, 1, 'same'],
  ] as const)('AvgPoolGrad %s is the gradient of avgPool (padding excluded from the mean)', (_n, f, s, pad) => {
    const [B, H, W, C] = [2, 5, 6, 3];
    const [top, OH] = pads(H, f, s, pad);
    const [left, OW] = pads(W, f, s, pad);
    const x = rnd([B, H, W, C], 13) as tf.Tensor4D;
    const dy = rnd([B, OH, OW, C], 14);
    const dyv = dy.dataSync();
    const want = new Array(B * H * W * C).fill(0);
    for (let b = 0; b < B; b++)
      for (let y = 0; y < OH; y++)
        for (let xo = 0; xo < OW; xo++) {
          const cells: number[] = [];
          for (let r = 0; r < f; r++)
            for (let q = 0; q < f; q++) {
              const i = y * s - top + r;
              const j = xo * s - left + q;
              if (i >= 0 && i < H && j >= 0 && j < W) cells.push((b * H + i) * W + j);
            }
          for (const cell of cells)
            for (let c = 0; c < C; c++) want[cell * C + c] += dyv[((b * OH + y) * OW + xo) * C + c]! / cells.length;
        }
    const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(t as tf.Tensor4D, f, s, pad), dy)))(x);
    expect(relErrArrays(dx.dataSync(), want)).toBeLessThan(1e-6);
    tf.dispose([x, dy, dx]);
  });

  it.each([
    ['leading axes [0, 1, 2] (bias gradient)', [3, 4, 5, 6], [0, 1, 2], false],
    ['axis 0 with keepDims', [7, 5], [0], true],
    ['inner axis (delegated)', [3, 4, 5], [2], false],
    ['all axes (delegated)', [3, 4], [0, 1], false],
  ] as const)('Sum over %s', (_n, shape, axes, keepDims) => {
    const x = rnd([...shape], 15);
    const xv = x.dataSync();
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((p, q) => p * q, 1));
    const kept = shape.map((_, i) => i).filter((i) => !(axes as readonly number[]).includes(i));
    const outSize = kept.reduce((p, i) => p * shape[i]!, 1);
    const want = new Array(outSize).fill(0);
    for (let f = 0; f < xv.length; f++) {
      let o = 0;
      for (const i of kept) o = o * shape[i]! + (Math.floor(f / strides[i]!) % shape[i]!);
      want[o] += xv[f]!;
    }
    const got = tf.sum(x, [...axes], keepDims);
    expect(got.shape).toEqual(keepDims ? shape.map((d, i) => ((axes as readonly number[]).includes(i) ? 1 : d)) : kept.map((i) => shape[i]!));
    expect(relErrArrays(got.dataSync(), want)).toBeLessThan(TOL);
    tf.dispose([x, got]);
  });

  it('UnsortedSegmentSum scatter-adds rows and drops out-of-range ids; gather gradient works', () => {
    const x = tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]);
    const ids = tf.tensor1d([2, 0, 2, 9], 'int32');
    const got = tf.unsortedSegmentSum(x, ids, 3);
    expect(Array.from(got.dataSync())).toEqual([3, 4, 0, 0, 6, 8]);
    const table = rnd([5, 3], 8);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, tf.tensor1d([4, 1, 4, 4], 'int32'))))(table);
    expect(Array.from(g.dataSync())).toEqual([0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 3, 3, 3]);
    tf.dispose([x, ids, got, table, g]);
  });

  it.each([[false, true], [true, false], [true, true]])('BatchMatMul transposeA=%s transposeB=%s', (ta, tb) => {
    const [B, M, K, N] = [2, 3, 5, 4];
    const a = rnd(ta ? [B, K, M] : [B, M, K], 9);
    const b = rnd(tb ? [B, N, K] : [B, K, N], 10);
    const av = a.dataSync();
    const bv = b.dataSync();
    const want: number[] = [];
    for (let bi = 0; bi < B; bi++)
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) {
            const x = ta ? av[(bi * K + k) * M + i]! : av[(bi * M + i) * K + k]!;
            const y = tb ? bv[(bi * N + j) * K + k]! : bv[(bi * K + k) * N + j]!;
            s += x * y;
          }
          want.push(s);
        }
    const got = tf.matMul(a, b, ta, tb);
    expect(got.shape).toEqual([B, M, N]);
    expect(relErrArrays(got.dataSync(), want)).toBeLessThan(TOL);
    tf.dispose([a, b, got]);
  });
});

describe('a CNN trains on wasm exactly as on cpu', () => {
  // Same seed, same data, 3 SGD steps: the losses agree to float32 accumulation-order noise.
  async function losses(backend: 'cpu' | 'wasm'): Promise<number[]> {
    await initRuntime({ backend });
    const p = {
      k1: tf.variable(tf.randomNormal([3, 3, 3, 8], 0, 0.3, 'float32', 1)),
      k2: tf.variable(tf.randomNormal([3, 3, 8, 8], 0, 0.2, 'float32', 2)),
      dw: tf.variable(tf.randomNormal([3, 3, 8, 1], 0, 0.3, 'float32', 5)),
      wd: tf.variable(tf.randomNormal([4 * 4 * 8, 5], 0, 0.1, 'float32', 3)),
    };
    const x = tf.randomNormal([8, 8, 8, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2], 'int32'), 5), 'float32'));
    const out: number[] = [];
    for (let step = 0; step < 3; step++) {
      const l = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          let h = tf.relu(tf.conv2d(x, p.k1 as tf.Tensor4D, 1, 'same'));
          h = tf.relu(tf.conv2d(h, p.k2 as tf.Tensor4D, 2, 'same'));
          h = tf.relu(tf.depthwiseConv2d(h, p.dw as tf.Tensor4D, 1, 'same'));
          h = tf.avgPool(h, 1, 1, 'valid');
          return softmaxCrossEntropy(tf.matMul(tf.reshape(h, [8, 128]), p.wd), y);
        }, Object.values(p));
        for (const v of Object.values(p)) v.assign(tf.sub(v, tf.mul(grads[v.name]!, 0.5)));
        return value;
      });
      out.push(l.dataSync()[0]!);
      l.dispose();
    }
    tf.dispose([x, y, ...Object.values(p)]);
    return out;
  }

  it('same losses on both backends', async () => {
    const cpu = await losses('cpu');
    const wasm = await losses('wasm');
    expect(cpu[2]).not.toBeCloseTo(cpu[0]!, 3); // it actually trains
    for (let i = 0; i < 3; i++) expect(Math.abs(wasm[i]! - cpu[i]!)).toBeLessThan(1e-4 * Math.abs(cpu[i]!));
  });
});
