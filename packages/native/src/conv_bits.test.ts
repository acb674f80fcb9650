// The convolution kernels are im2col (col2im for the input gradient) around the built-in GEMM.
// These tests build the column matrix in JavaScript, index by index, and check that each
// convolution kernel gives the bits of gemmBuiltin on it (and, for the input gradient, of that
// product scattered back in the kernel's order): a copy that misplaces, drops or reorders one
// element fails them, at any geometry the copy special-cases (a window row inside the image as
// one run, runs of 1-16 floats known at compile time, borders, strides, dilation).
import * as tf from '@tensorflow/tfjs-core';
import { loadAddon, NativeAddon } from './addon';
import { nativeInfo } from './backend';
import { geometry } from './kernels/util';
import { randomValues } from './test-util';

const load = loadAddon();
const addon: NativeAddon | undefined = load.ok ? load.addon : undefined;
if (!load.ok) console.log(`@lets/native convolution bit tests skipped: ${load.reason}`);
const ISA_LEVEL: Record<string, 0 | 1 | 2> = { portable: 0, 'avx2+fma': 1, avx512: 2 };

/** The geometry the backend passes the addon for tf.conv2d(x [B,H,W,Ci], w [fh,fw,Ci,Co], s, pad, d), in short names. */
interface Geom {
  B: number; H: number; W: number; Ci: number; Co: number; fh: number; fw: number;
  sh: number; sw: number; dh: number; dw: number; pt: number; pl: number; OH: number; OW: number;
  array: Int32Array;
}

function geom(B: number, H: number, W: number, Ci: number, Co: number, fh: number, fw: number, s: number, d: number,
  pad: 'same' | 'valid'): Geom {
  const ci = tf.backend_util.computeConv2DInfo([B, H, W, Ci], [fh, fw, Ci, Co], s, d, pad);
  return {
    B, H, W, Ci, Co, fh, fw, sh: ci.strideHeight, sw: ci.strideWidth, dh: ci.dilationHeight, dw: ci.dilationWidth,
    pt: ci.padInfo.top, pl: ci.padInfo.left, OH: ci.outHeight, OW: ci.outWidth, array: geometry(ci),
  };
}

/** (row, column) of the column matrix -> index into x, or -1 for padding. */
function colIndex(g: Geom, row: number, k: number): number {
  const n = Math.floor(row / (g.OH * g.OW)), p = row % (g.OH * g.OW);
  const oy = Math.floor(p / g.OW), ox = p % g.OW;
  const kh = Math.floor(k / (g.fw * g.Ci)), kw = Math.floor(k / g.Ci) % g.fw, c = k % g.Ci;
  const iy = oy * g.sh - g.pt + kh * g.dh, ix = ox * g.sw - g.pl + kw * g.dw;
  if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) return -1;
  return ((n * g.H + iy) * g.W + ix) * g.Ci + c;
}

function im2col(g: Geom, x: Float32Array): Float32Array {
  const K = g.fh * g.fw * g.Ci, rows = g.B * g.OH * g.OW, col = new Float32Array(rows * K);
  for (let r = 0; r < rows; r++)
    for (let k = 0; k < K; k++) {
      const i = colIndex(g, r, k);
      col[r * K + k] = i < 0 ? 0 : x[i]!;
    }
  return col;
}

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

const geometries: Array<[string, Geom]> = [
  ['1 channel 3x3 same (runs of 3)', geom(3, 9, 11, 1, 16, 3, 3, 1, 1, 'same')],
  ['2 channels 3x3 same', geom(2, 7, 6, 2, 8, 3, 3, 1, 1, 'same')],
  ['3 channels 3x3 same (runs of 9)', geom(2, 8, 8, 3, 16, 3, 3, 1, 1, 'same')],
  ['5 channels 3x3 stride 2 same (runs of 15)', geom(2, 9, 9, 5, 8, 3, 3, 2, 1, 'same')],
  ['16 channels 3x3 same (runs of 48)', geom(2, 6, 7, 16, 32, 3, 3, 1, 1, 'same')],
  ['3 channels 2x4 stride 2 same, even input', geom(1, 8, 8, 3, 8, 2, 4, 2, 1, 'same')],
  ['2 channels 3x3 valid', geom(2, 8, 7, 2, 8, 3, 3, 1, 1, 'valid')],
  ['1 channel 3x3 dilation 2 same', geom(2, 9, 9, 1, 8, 3, 3, 1, 2, 'same')],
  ['3 channels 5x5 same on a 3x4 image (wider than the image)', geom(2, 3, 4, 3, 16, 5, 5, 1, 1, 'same')],
];

describe('convolution kernels: the bits of the built-in GEMM on a column matrix built index by index', () => {
  beforeAll(() => {
    if (!addon) return;
    addon.setThreads(1);
    addon.setChunkFloats(1 << 30); // one chunk: the kernel's product is the single one below
  });
  afterAll(() => {
    if (!addon) return;
    addon.setChunkFloats(0);
    addon.setThreads(nativeInfo().threads ?? 1);
  });

  test.each(geometries)('%s', (_name, g) => {
    if (!addon) return;
    const isa = ISA_LEVEL[nativeInfo().isa ?? 'portable'] ?? 0;
    const K = g.fh * g.fw * g.Ci, rows = g.B * g.OH * g.OW;
    const x = randomValues(g.B * g.H * g.W * g.Ci, 11), w = randomValues(K * g.Co, 12);
    const dy = randomValues(rows * g.Co, 13);
    const col = im2col(g, x), geo = g.array;

    const y = new Float32Array(rows * g.Co), yRef = new Float32Array(rows * g.Co);
    addon.conv2d(x, w, y, geo);
    addon.gemmBuiltin(col, w, yRef, rows, g.Co, K, K, g.Co, g.Co, false, false, 0, isa, 1);
    expect(bits(y)).toEqual(bits(yRef));

    const dw = new Float32Array(K * g.Co), dwRef = new Float32Array(K * g.Co);
    addon.conv2dBackpropFilter(x, dy, dw, geo);
    addon.gemmBuiltin(col, dy, dwRef, K, g.Co, rows, K, g.Co, g.Co, true, false, 0, isa, 1);
    expect(bits(dw)).toEqual(bits(dwRef));

    // dx: dcol = dy·wᵀ, then each column entry added into its pixel, rows and columns in order.
    const dx = new Float32Array(x.length), dcol = new Float32Array(rows * K), dxRef = new Float32Array(x.length);
    addon.conv2dBackpropInput(dy, w, dx, geo);
    addon.gemmBuiltin(dy, w, dcol, rows, K, g.Co, g.Co, g.Co, K, false, true, 0, isa, 1);
    for (let r = 0; r < rows; r++)
      for (let k = 0; k < K; k++) {
        const i = colIndex(g, r, k);
        if (i >= 0) dxRef[i] = Math.fround(dxRef[i]! + dcol[r * K + k]!);
      }
    expect(bits(dx)).toEqual(bits(dxRef));
  });

  test('the forward and the input gradient do not depend on the chunking or the thread count', () => {
    if (!addon) return;
    const g = geom(5, 9, 10, 3, 16, 3, 3, 1, 1, 'same');
    const K = g.fh * g.fw * g.Ci, rows = g.B * g.OH * g.OW, geo = g.array;
    const x = randomValues(g.B * g.H * g.W * g.Ci, 21), w = randomValues(K * g.Co, 22), dy = randomValues(rows * g.Co, 23);
    const runAt = (threads: number, chunk: number) => {
      addon.setThreads(threads);
      addon.setChunkFloats(chunk);
      const y = new Float32Array(rows * g.Co), dx = new Float32Array(x.length);
      addon.conv2d(x, w, y, geo);
      addon.conv2dBackpropInput(dy, w, dx, geo);
      return [bits(y), bits(dx)];
    };
    const one = runAt(1, 1 << 30);
    for (const [threads, chunk] of [[1, 1], [2, 1], [2, g.OH * g.OW * K * 2], [3, 1 << 30]] as const)
      expect(runAt(threads, chunk)).toEqual(one);
    addon.setThreads(1);
    addon.setChunkFloats(1 << 30);
  });
});
