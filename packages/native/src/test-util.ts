// Test helpers: gradient registration, availability, and comparing a kernel on 'native' with
// the stock cpu kernel on the same inputs.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { buildSync } from 'esbuild';
import { nativeInfo, registerNativeBackend } from './backend';

let gradientsLoaded = false;

/**
 * Registers tfjs-core's gradient functions. tfjs-core's Node bundle has none and its ESM module
 * cannot be required, so it is bundled once with esbuild into build/ (this package does not
 * depend on @lets/runtime, which depends on it).
 */
export function loadTfjsGradients(): void {
  if (gradientsLoaded) return;
  const out = path.join(__dirname, '..', 'build', 'test', 'tfjs-gradients.cjs');
  if (!fs.existsSync(out)) {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    buildSync({
      stdin: { contents: "import '@tensorflow/tfjs-core/dist/register_all_gradients';", resolveDir: __dirname, loader: 'js' },
      bundle: true, platform: 'node', format: 'cjs', outfile: tmp, logLevel: 'warning',
    });
    fs.renameSync(tmp, out);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(out);
  gradientsLoaded = true;
}

/** Registers the backend; returns a skip reason (printed once) when the addon is not built. */
export function setupNative(): string | undefined {
  loadTfjsGradients();
  if (registerNativeBackend()) return undefined;
  const reason = nativeInfo().reason ?? 'unknown';
  // eslint-disable-next-line no-console
  console.log(`@lets/native tests skipped: ${reason}`);
  return reason;
}

/** Runs f on a backend and returns its outputs' values (tensors created inside are disposed). */
export async function on(backend: string, f: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  const prev = tf.getBackend();
  await tf.setBackend(backend);
  try {
    const outs = tf.tidy(f);
    const list = Array.isArray(outs) ? outs : [outs];
    const vals = await Promise.all(list.map(async (t) => new Float32Array(await t.data())));
    tf.dispose(list);
    return vals;
  } finally {
    if (prev) await tf.setBackend(prev);
  }
}

/** max_i |a_i − b_i| / (1 + |b_i|): absolute near 0, relative for large values. */
export function maxRelErr(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  return m;
}

/** Deterministic pseudo-random values in [-1, 1) (xorshift), independent of any backend. */
export function randomValues(n: number, seed: number): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}

export function rand(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed), shape, 'float32');
}
