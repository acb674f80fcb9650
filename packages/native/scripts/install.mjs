#!/usr/bin/env node
// @lets/native's npm `install` script: builds the addon where the package is installed, and never
// fails the install (a machine without g++ just has no 'native' backend; the runtime uses wasm).
// It prints one line. npm ≥ 11 lists dependency install scripts for approval
// (`npm approve-scripts @lets/native`) and may block them; `npx lets-native build` builds the
// addon at any time and says why when it cannot.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env };
delete env.LETS_NATIVE_STRICT; // an install never fails over the optional addon
const r = spawnSync(process.execPath, [join(pkg, 'scripts', 'build.mjs')], { encoding: 'utf8', env });
const line = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').map((l) => l.trim()).filter(Boolean).pop();
if (line !== undefined && (/: (built|addon up to date)/.test(line) || line.includes('npx lets-native build'))) console.log(line);
else console.log(`@lets/native: the addon build did not finish (${line ?? r.error ?? `exit ${r.status}`}); build it with \`npx lets-native build\`.`);
process.exit(0);
