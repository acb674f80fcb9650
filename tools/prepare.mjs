// Runs on `npm install` / `npm ci` (the root package's own lifecycle script):
// 1. @lets/runtime's tfjs gradient bundle (see packages/runtime/scripts/gen-gradients.mjs);
// 2. the optional native CPU backend (@lets/native): compiles its addon against OpenBLAS where a
//    compiler and the library are present; otherwise it prints one line and the runtime uses wasm.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (script, required) => {
  const r = spawnSync(process.execPath, [join(root, script)], { stdio: 'inherit' });
  if (required && r.status !== 0) {
    console.error(`prepare: ${script} failed (exit ${r.status})`);
    process.exit(1);
  }
};
run('packages/runtime/scripts/gen-gradients.mjs', true);
if (existsSync(join(root, 'packages/native/scripts/build.mjs'))) run('packages/native/scripts/build.mjs', false);
