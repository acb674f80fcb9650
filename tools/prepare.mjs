// Runs on `npm install` / `npm ci` (the root package's own lifecycle script).
// tfjs-core's Node bundle registers no gradient functions, and its ESM gradient
// registrations cannot be loaded by Node directly (extensionless imports), so we bundle
// them once into a CommonJS file that @lets/runtime loads. See packages/runtime/README.md.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'packages/runtime/generated/tfjs-gradients.cjs');
mkdirSync(dirname(out), { recursive: true });
await build({
  stdin: {
    contents: "import '@tensorflow/tfjs-core/dist/register_all_gradients';",
    resolveDir: root,
    loader: 'js',
  },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  outfile: out,
  logLevel: 'warning',
});
console.log(`prepare: wrote ${out.slice(root.length + 1)}${existsSync(out) ? '' : ' (missing!)'}`);

// The optional native CPU backend (@lets/native): compiles its addon against OpenBLAS when a
// compiler and the library are present; otherwise prints one line and the runtime uses wasm.
const native = join(root, 'packages/native/scripts/build.mjs');
if (existsSync(native)) spawnSync(process.execPath, [native], { stdio: 'inherit' });
