// AvgPoolGrad against its definition written out in JavaScript, bit for bit: dx starts at 0 and
// each window, in row-major order, adds dy·(1/n) to each of its n in-image cells in float32. The
// compiler may contract d + dy·(1/n) into one FMA (g++ does with -march=native on a CPU with FMA),
// so the reference is computed both ways (`fused`: the exact product added and rounded once) and
// the kernel must give one of them whole. Where the windows tile the image every cell gets one
// term, 0 + dy·(1/n), which is the same either way, and the kernel has a path of its own for that
// case (each cell written once): there the bits are checked exactly, including the +0 that
// 0 + (-0) makes, NaN, infinities and a denormal.
import * as tf from '@tensorflow/tfjs-core';
import { loadAddon, NativeAddon } from './addon';
import { geometry } from './kernels/util';
import { randomValues } from './test-util';

const load = loadAddon();
const addon: NativeAddon | undefined = load.ok ? load.addon : undefined;
if (!load.ok) console.log(`@lets/native pooling bit tests skipped: ${load.reason}`);

/** The geometry the backend passes the addon for an average pool of x [B,H,W,C], in short names. */
interface PoolGeom { B: number; H: number; W: number; C: number; fh: number; fw: number; sh: number; sw: number; pt: number; pl: number; OH: number; OW: number; array: Int32Array }

function pool(B: number, H: number, W: number, C: number, f: number, s: number, pad: 'same' | 'valid'): PoolGeom {
  const ci = tf.backend_util.computePool2DInfo([B, H, W, C], f, s, 1, pad);
  return { B, H, W, C, fh: f, fw: f, sh: s, sw: s, pt: ci.padInfo.top, pl: ci.padInfo.left, OH: ci.outHeight, OW: ci.outWidth, array: geometry(ci) };
}

function reference(g: PoolGeom, dy: Float32Array, fused: boolean): Float32Array {
  const dx = new Float32Array(g.B * g.H * g.W * g.C);
  for (let b = 0; b < g.B; b++)
    for (let oy = 0; oy < g.OH; oy++)
      for (let ox = 0; ox < g.OW; ox++) {
        const y0 = oy * g.sh - g.pt, x0 = ox * g.sw - g.pl;
        const ylo = Math.max(0, y0), yhi = Math.min(g.H, y0 + g.fh), xlo = Math.max(0, x0), xhi = Math.min(g.W, x0 + g.fw);
        const n = (yhi - ylo) * (xhi - xlo);
        if (n <= 0) continue;
        const mult = Math.fround(1 / n);
        for (let iy = ylo; iy < yhi; iy++)
          for (let ix = xlo; ix < xhi; ix++)
            for (let c = 0; c < g.C; c++) {
              const i = ((b * g.H + iy) * g.W + ix) * g.C + c;
              const t = dy[((b * g.OH + oy) * g.OW + ox) * g.C + c]! * mult; // exact in float64
              dx[i] = Math.fround(dx[i]! + (fused ? t : Math.fround(t)));
            }
      }
  return dx;
}

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

const cases: Array<[string, PoolGeom, boolean]> = [
  ['2x2 stride 2 tiling an 8x6 image, 16 channels (the tiling path)', pool(3, 8, 6, 16, 2, 2, 'valid'), true],
  ['3x3 stride 3 tiling a 9x6 image, 3 channels (the tiling path)', pool(2, 9, 6, 3, 3, 3, 'valid'), true],
  ['2x2 stride 2, valid, on a 7x7 image (last row and column uncovered)', pool(2, 7, 7, 5, 2, 2, 'valid'), false],
  ['2x2 stride 2, same, on a 7x7 image (cut windows)', pool(2, 7, 7, 1, 2, 2, 'same'), false],
  ['3x3 stride 2, same, overlapping windows', pool(2, 8, 8, 4, 3, 2, 'same'), false],
  ['3x3 stride 1, same, padded on both sides', pool(1, 5, 6, 2, 3, 1, 'same'), false],
];

describe('AvgPoolGrad: the bits of its definition', () => {
  test.each(cases)('%s', (_name, g, tiling) => {
    if (!addon) return;
    const dy = randomValues(g.B * g.OH * g.OW * g.C, 31);
    dy[0] = -0;
    dy[1] = NaN;
    dy[2] = Infinity;
    dy[3] = -Infinity;
    dy[4] = 1e-45; // a denormal: dy/n rounds to 0 or stays denormal
    const dx = new Float32Array(g.B * g.H * g.W * g.C).fill(7); // stale values must not survive
    addon.avgPoolGrad(dy, dx, g.array);
    const fused = bits(reference(g, dy, true)), unfused = bits(reference(g, dy, false));
    if (tiling) expect(fused).toEqual(unfused); // one term a cell: contraction cannot matter
    const got = bits(dx);
    expect([fused, unfused]).toContainEqual(got);
  });
});
