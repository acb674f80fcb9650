// The built-in GEMM against a float64 reference: every micro-kernel level this CPU has, both
// transposes, odd shapes (edge tiles in both directions, K across several KC blocks), row
// strides larger than the rows, beta 0 / 1 / other, and 1-3 threads; results must be identical
// bit for bit across thread counts and runs.
import { loadAddon, NativeAddon } from './addon';
import { describeNative, nativeInfo } from './backend';
import { randomValues } from './test-util';

const load = loadAddon();
const addon: NativeAddon | undefined = load.ok ? load.addon : undefined;
if (!load.ok) console.log(`@lets/native gemm tests skipped: ${load.reason}`);

const ISA_LEVEL: Record<string, 0 | 1 | 2> = { portable: 0, 'avx2+fma': 1, avx512: 2 };

interface Case { M: number; N: number; K: number; ta: boolean; tb: boolean; pad: number; beta: number }

function run(c: Case, isa: 0 | 1 | 2, threads: number, seed: number): { c: Float32Array; ref: Float64Array; c0: Float32Array; ldc: number } {
  const { M, N, K, ta, tb, pad, beta } = c;
  const aRows = ta ? K : M, aCols = ta ? M : K, bRows = tb ? N : K, bCols = tb ? K : N;
  const lda = aCols + pad, ldb = bCols + 2 * pad, ldc = N + pad;
  const a = randomValues(Math.max(1, aRows * lda), seed), b = randomValues(Math.max(1, bRows * ldb), seed + 1);
  const c0 = randomValues(Math.max(1, M * ldc), seed + 2);
  if (beta === 0) c0[0] = NaN; // must not leak into C when beta is 0
  const out = new Float32Array(c0);
  addon!.gemmBuiltin(a, b, out, M, N, K, lda, ldb, ldc, ta, tb, beta, isa, threads);
  const ref = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = beta === 0 ? 0 : beta * c0[i * ldc + j]!;
      for (let k = 0; k < K; k++) s += a[ta ? k * lda + i : i * lda + k]! * b[tb ? j * ldb + k : k * ldb + j]!;
      ref[i * N + j] = s;
    }
  }
  return { c: out, ref, c0, ldc };
}

const shapes: Array<[number, number, number]> = [
  [1, 1, 1], [3, 5, 7], [13, 37, 5], [17, 16, 300], [12, 32, 256], [25, 33, 513], [50, 8, 20], [64, 100, 33], [7, 130, 2],
  [2101, 20, 9], // transposed A with rows >= 2048 floats: the packed-A path
];
const cases: Case[] = [];
shapes.forEach(([M, N, K], i) => {
  for (const ta of [false, true]) for (const tb of [false, true]) cases.push({ M, N, K, ta, tb, pad: i % 3, beta: [0, 1, 0.5][i % 3]! });
});

describe('built-in GEMM', () => {
  const isa = nativeInfo().isa ?? 'portable';
  const levels = ([0, 1, 2] as const).filter((l) => l <= (ISA_LEVEL[isa] ?? 0));

  test('describe names the CPU, its ISA and the GEMM path', () => {
    if (!addon) return;
    const i = nativeInfo();
    expect(i.cpu).toMatch(/\S/);
    expect(['avx512', 'avx2+fma', 'portable']).toContain(i.isa);
    expect(i.gemm).toMatch(/builtin|OpenBLAS/);
    expect(describeNative()).toContain(`ISA ${i.isa}`);
  });

  test.each(levels.map((l) => [['portable', 'avx2+fma', 'avx512'][l], l] as const))('%s kernels match float64 within float32 rounding', (_name, level) => {
    if (!addon) return;
    for (const c of cases) {
      const { c: out, ref, c0, ldc } = run(c, level, 1, c.M * 7 + c.N);
      let worst = 0;
      for (let i = 0; i < c.M; i++) {
        for (let j = 0; j < c.N; j++) {
          // error bound ~ K·2^-24·Σ|a||b|; values are in [-1,1), so Σ|a||b| <= K.
          const e = Math.abs(out[i * ldc + j]! - ref[i * c.N + j]!) / (1 + Math.sqrt(c.K) + Math.abs(ref[i * c.N + j]!));
          worst = Math.max(worst, e);
        }
        // The padding between rows of C is never written.
        for (let j = c.N; j < ldc; j++) expect(out[i * ldc + j]).toBe(c0[i * ldc + j]);
      }
      if (!(worst < 1e-5)) throw new Error(`${JSON.stringify(c)}: relative error ${worst}`);
    }
  });

  test.each(levels)('level %i: bit-identical for 1, 2 and 3 threads and across runs', (level) => {
    if (!addon) return;
    for (const c of [{ M: 300, N: 200, K: 300, ta: false, tb: false, pad: 1, beta: 0 }, { M: 97, N: 290, K: 70, ta: true, tb: true, pad: 0, beta: 1 }]) {
      const one = run(c, level, 1, 3).c;
      for (const t of [2, 3, 2]) expect(Buffer.from(run(c, level, t, 3).c.buffer).equals(Buffer.from(one.buffer))).toBe(true);
    }
  });

  test('K = 0 gives beta·C, M or N = 0 writes nothing', () => {
    if (!addon) return;
    const c = new Float32Array([1, 2, 3, 4]);
    addon.gemmBuiltin(new Float32Array(1), new Float32Array(1), c, 2, 2, 0, 1, 2, 2, false, false, 0.5, 2, 1);
    expect(Array.from(c)).toEqual([0.5, 1, 1.5, 2]);
    addon.gemmBuiltin(new Float32Array(1), new Float32Array(1), c, 0, 2, 3, 3, 2, 2, false, false, 0, 2, 1);
    expect(Array.from(c)).toEqual([0.5, 1, 1.5, 2]);
  });

  test('rejects strides that read past an operand', () => {
    if (!addon) return;
    expect(() => addon.gemmBuiltin(new Float32Array(5), new Float32Array(6), new Float32Array(4), 2, 2, 3, 3, 2, 2, false, false, 0, 0, 1))
      .toThrow(/operand too short/);
    expect(() => addon.gemmBuiltin(new Float32Array(6), new Float32Array(6), new Float32Array(4), 2, 2, 3, 2, 2, 2, false, false, 0, 0, 1))
      .toThrow(/leading dimension/);
  });
});
