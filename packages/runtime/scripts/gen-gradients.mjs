// Generates generated/tfjs-gradients.cjs: tfjs-core's gradient registrations as one CommonJS
// bundle. tfjs-core's Node entry registers no gradients and its ESM registration module
// cannot be loaded by Node directly (extensionless imports), so @lets/runtime loads this file.
// Run by the package's `build` (so the published package ships it) and by the repository's
// `npm install` (tools/prepare.mjs), so tests need no build.
import { build } from 'esbuild';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(pkg, 'generated/tfjs-gradients.cjs');
mkdirSync(dirname(out), { recursive: true });
// written beside the target and renamed into place: a build that runs while tests load the
// bundle (the consumer test builds during `npm test`) never exposes a half-written file
const result = await build({
  stdin: {
    contents: "import '@tensorflow/tfjs-core/dist/register_all_gradients';",
    resolveDir: pkg,
    loader: 'js',
  },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  outfile: out,
  write: false,
  logLevel: 'warning',
});
const tmp = `${out}.${process.pid}.tmp`;
writeFileSync(tmp, result.outputFiles[0].contents);
renameSync(tmp, out);
console.log('@lets/runtime: wrote generated/tfjs-gradients.cjs');
