/**
 * Conv2DBackpropInput (the input gradient of conv2d, = conv2dTranspose) on wasm, as a
 * forward convolution with the wasm backend's XNNPACK Conv2D kernel:
 *
 *   dX = conv2d( dilate_s(dY), rot180(W)ᵀ,  pad = (fh−1−top, fh−1−bottom'), (fw−1−left, fw−1−right') )
 *
 * where dilate_s inserts s−1 zeros between dY's pixels (stride s), rot180(W)ᵀ[r, c, o, i] =
 * W[fh−1−r, fw−1−c, i, o], and the bottom/right pads are chosen so the output has X's
 * height and width. tfjs's wasm kernel is a naive loop (727 ms vs ~70 ms for the forward
 * conv at 128×32×32×16→32). Falls back to it for NCHW or a negative pad.
 *
 * For stride s > 1 the zero-dilated input wastes s² of the work, so the gradient is first
 * split by the phase (a, b) of the input pixel, i ≡ a, j ≡ b (mod s): only filter taps
 * r ≡ a + top, c ≡ b + left (mod s) reach those pixels, and each phase is an ordinary
 * stride-1 convolution of dY (not dilated) with that flipped sub-filter,
 *   dX[a + s·m, b + s·n] = Σ_{k,l} dY[m + q_a − k, n + q_b − l] · W[p_a + k·s, p_b + l·s]ᵀ,
 *   p_a = (a + top) mod s,  q_a = (a + top − p_a) / s,
 * whose results are interleaved into dX (same work as the forward convolution).
 */
import * as tf from '@tensorflow/tfjs-core';
import { replaceKernel, type TensorInfo, type WasmBackendLike } from './backend_access';

interface Attrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

export function registerWasmConv2dBackpropInput(): void {
  const conv = tf.getKernel('Conv2D', 'wasm');
  const stock = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (conv === undefined || stock === undefined) throw new Error('registerWasmConv2dBackpropInput: wasm Conv2D kernels missing');
  replaceKernel('Conv2DBackpropInput', 'wasm', (args) => {
    const { inputs, backend, attrs } = args;
    const b = backend as unknown as WasmBackendLike;
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = attrs as unknown as Attrs;
    if (a.dataFormat === 'NCHW') return stock.kernelFunc(args);
    const ci = tf.backend_util.computeConv2DInfo(
      a.inputShape, filter.shape as [number, number, number, number], a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast',
    );
    const { batchSize: B, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw } = ci;
    const [fh, fw, Ci, Co] = filter.shape as [number, number, number, number];
    if (sh !== 1 || sw !== 1) {
      const out = phaseDecomposed(b, conv, backend, dy, filter, ci);
      if (out !== undefined) return out;
    }
    const DH = (OH - 1) * sh + 1;
    const DW = (OW - 1) * sw + 1;
    const pt = fh - 1 - ci.padInfo.top;
    const pl = fw - 1 - ci.padInfo.left;
    const pb = H - 1 + fh - DH - pt;
    const pr = W - 1 + fw - DW - pl;
    if (pt < 0 || pl < 0 || pb < 0 || pr < 0) return stock.kernelFunc(args);

    const temps: TensorInfo[] = [];
    const wfInfo = b.makeOutput([fh, fw, Co, Ci], 'float32');
    temps.push(wfInfo);
    let src = dy;
    if (sh !== 1 || sw !== 1) {
      const dInfo = b.makeOutput([B, DH, DW, Co], 'float32');
      temps.push(dInfo);
      src = dInfo;
    }
    const wV = b.typedArrayFromHeap(filter) as Float32Array;
    const wf = b.typedArrayFromHeap(wfInfo) as Float32Array;
    for (let r = 0; r < fh; r++)
      for (let c = 0; c < fw; c++)
        for (let i = 0; i < Ci; i++)
          for (let o = 0; o < Co; o++) wf[((r * fw + c) * Co + o) * Ci + i] = wV[(((fh - 1 - r) * fw + (fw - 1 - c)) * Ci + i) * Co + o]!;
    if (src !== dy) {
      const d = b.typedArrayFromHeap(src) as Float32Array;
      const dyV = b.typedArrayFromHeap(dy) as Float32Array;
      d.fill(0);
      for (let bi = 0; bi < B; bi++)
        for (let y = 0; y < OH; y++)
          for (let x = 0; x < OW; x++) {
            const from = ((bi * OH + y) * OW + x) * Co;
            d.set(dyV.subarray(from, from + Co), ((bi * DH + y * sh) * DW + x * sw) * Co);
          }
    }
    const out = conv.kernelFunc({
      inputs: { x: src, filter: wfInfo },
      backend,
      attrs: { strides: 1, pad: [[0, 0], [pt, pb], [pl, pr], [0, 0]], dataFormat: 'NHWC', dilations: 1 },
    }) as TensorInfo;
    for (const t of temps) b.disposeData(t.dataId, true);
    return out;
  });
}

type ConvInfo = tf.backend_util.Conv2DInfo;

/** Stride > 1 by phase decomposition (see the module comment); undefined if a pad would be negative. */
function phaseDecomposed(
  b: WasmBackendLike,
  conv: tf.KernelConfig,
  backend: unknown,
  dy: TensorInfo,
  filter: TensorInfo,
  ci: ConvInfo,
): TensorInfo | undefined {
  const { batchSize: B, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw } = ci;
  const [fh, fw, Ci, Co] = filter.shape as [number, number, number, number];
  const top = ci.padInfo.top;
  const left = ci.padInfo.left;
  interface Phase1 { a: number; p: number; K: number; count: number; padBefore: number; padAfter: number }
  const phases = (s: number, f: number, pad: number, inSize: number, outSize: number): Phase1[] | undefined => {
    const out: Phase1[] = [];
    for (let a = 0; a < s; a++) {
      const count = Math.ceil((inSize - a) / s);
      if (count <= 0) continue;
      const p = (((a + pad) % s) + s) % s;
      const K = p < f ? Math.ceil((f - p) / s) : 0;
      const q = (a + pad - p) / s;
      const padBefore = K - 1 - q;
      const padAfter = count - 1 + K - outSize - padBefore;
      if (K > 0 && (padBefore < 0 || padAfter < 0)) return undefined;
      out.push({ a, p, K, count, padBefore, padAfter });
    }
    return out;
  };
  const rows = phases(sh, fh, top, H, OH);
  const cols = phases(sw, fw, left, W, OW);
  if (rows === undefined || cols === undefined) return undefined;

  const dxInfo = b.makeOutput([B, H, W, Ci], 'float32');
  (b.typedArrayFromHeap(dxInfo) as Float32Array).fill(0);
  for (const r of rows) {
    for (const c of cols) {
      if (r.K === 0 || c.K === 0) continue; // no tap reaches this phase: stays 0
      const subInfo = b.makeOutput([r.K, c.K, Co, Ci], 'float32');
      const sub = b.typedArrayFromHeap(subInfo) as Float32Array;
      const wV = b.typedArrayFromHeap(filter) as Float32Array;
      for (let j1 = 0; j1 < r.K; j1++)
        for (let j2 = 0; j2 < c.K; j2++) {
          const fr = r.p + (r.K - 1 - j1) * sh;
          const fc = c.p + (c.K - 1 - j2) * sw;
          for (let i = 0; i < Ci; i++)
            for (let o = 0; o < Co; o++) sub[((j1 * c.K + j2) * Co + o) * Ci + i] = wV[((fr * fw + fc) * Ci + i) * Co + o]!;
        }
      const part = conv.kernelFunc({
        inputs: { x: dy, filter: subInfo },
        backend: backend as tf.KernelBackend,
        attrs: { strides: 1, pad: [[0, 0], [r.padBefore, r.padAfter], [c.padBefore, c.padAfter], [0, 0]], dataFormat: 'NHWC', dilations: 1 },
      }) as TensorInfo;
      b.disposeData(subInfo.dataId, true);
      const pv = b.typedArrayFromHeap(part) as Float32Array;
      const dx = b.typedArrayFromHeap(dxInfo) as Float32Array;
      for (let bi = 0; bi < B; bi++)
        for (let m = 0; m < r.count; m++) {
          const i = r.a + m * sh;
          for (let n = 0; n < c.count; n++) {
            const j = c.a + n * sw;
            const from = ((bi * r.count + m) * c.count + n) * Ci;
            dx.set(pv.subarray(from, from + Ci), ((bi * H + i) * W + j) * Ci);
          }
        }
      b.disposeData(part.dataId, true);
    }
  }
  return dxInfo;
}
