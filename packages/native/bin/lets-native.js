#!/usr/bin/env node
/*
 * lets-native: builds and inspects @lets/native's addon where the package is installed.
 *
 *   npx lets-native build [--rebuild] [--no-openblas]   compile build/Release/lets_native.node
 *   npx lets-native info                                what the built addon reports
 *
 * `build` runs the package's own scripts/build.mjs (g++ and Node's headers; OpenBLAS is loaded
 * at run time where installed, else the built-in GEMM runs) and, unlike the install-time
 * build, exits 1 with the reason when the addon could not be built.
 */
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const pkgDir = path.resolve(__dirname, '..');
const buildScript = path.join(pkgDir, 'scripts', 'build.mjs');
const addon = process.env.LETS_NATIVE_ADDON || path.join(pkgDir, 'build', 'Release', 'lets_native.node');

const USAGE = `usage: lets-native <command>

  build [--rebuild] [--no-openblas]   compile the native backend's addon for this machine
                                      (needs g++; OpenBLAS is optional, loaded at run time)
  info                                print what the built addon reports (CPU, ISA, GEMM path)

The addon goes to ${path.relative(process.cwd(), addon) || addon}.
Environment: LETS_NATIVE_CXXFLAGS (extra compiler flags), CXX (compiler, default g++).`;

function build(args) {
  const unknown = args.filter((a) => a !== '--rebuild' && a !== '--no-openblas');
  if (unknown.length > 0) {
    process.stderr.write(`lets-native build: unknown option ${unknown[0]}; expected --rebuild or --no-openblas\n`);
    return 2;
  }
  const env = { ...process.env, LETS_NATIVE_STRICT: '1' };
  delete env.LETS_NATIVE_SKIP_BUILD; // an explicit build is never skipped
  if (args.includes('--rebuild')) env.LETS_NATIVE_REBUILD = '1';
  if (args.includes('--no-openblas')) env.LETS_NATIVE_NO_OPENBLAS = '1';
  const r = spawnSync(process.execPath, [buildScript], { stdio: 'inherit', env });
  if (r.status === 0) return 0;
  process.stderr.write('lets-native build: the addon was not built (the line above says why); fix that and run `npx lets-native build` again\n');
  return 1;
}

function info() {
  if (!fs.existsSync(addon)) {
    process.stderr.write(`lets-native: no addon at ${addon}; run \`npx lets-native build\`\n`);
    return 1;
  }
  try {
    // The spin probe first, as the runtime loads it (src/addon.ts): how long libgomp's spin takes.
    const probe = path.join(path.dirname(addon), 'lets_spin.node');
    let spin = 'absent (waiting threads sleep at once, OMP_WAIT_POLICY=PASSIVE)';
    if (fs.existsSync(probe)) {
      try {
        spin = `${require(probe).spinNs().toFixed(1)} ns a spin (the runtime spins about 100 µs before sleeping)`;
      } catch (e) {
        spin = `does not load (${String(e && e.message).split('\n')[0]})`;
      }
    }
    const i = require(addon).info();
    for (const [k, v] of Object.entries(i)) process.stdout.write(`${k}: ${v}\n`);
    process.stdout.write(`spinProbe: ${spin}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`lets-native: the addon at ${addon} does not load (${String(e && e.message).split('\n')[0]}); run \`npx lets-native build --rebuild\`\n`);
    return 1;
  }
}

const [command, ...rest] = process.argv.slice(2);
let status;
if (command === 'build') status = build(rest);
else if (command === 'info') status = info();
else if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
  process.stdout.write(`${USAGE}\n`);
  status = command === undefined ? 2 : 0;
} else {
  process.stderr.write(`lets-native: unknown command '${command}'\n${USAGE}\n`);
  status = 2;
}
process.exitCode = status;
