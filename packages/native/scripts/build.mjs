#!/usr/bin/env node
// Builds the lets_native addon (packages/native/build/Release/lets_native.node) with the system
// C++ compiler against Node's own headers (node_api.h) and OpenMP; nothing else. The addon has
// its own GEMM and loads OpenBLAS at run time (dlopen) only where it is installed, so no BLAS
// package is needed to build it. No network, no node-gyp download. Where the compiler or the
// headers are missing it prints one line and exits 0: the 'native' backend is then simply
// unavailable and the runtime falls back to wasm. Set LETS_NATIVE_SKIP_BUILD=1 to skip,
// LETS_NATIVE_STRICT=1 to make a failed build exit 1 (CI jobs that require the addon),
// LETS_NATIVE_CXXFLAGS to add flags, LETS_NATIVE_NO_OPENBLAS=1 to build an addon that never
// loads OpenBLAS (what a machine without it gets; for measuring that case).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync, readdirSync, readFileSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(pkg, 'build', 'Release', 'lets_native.node');
// The spin probe (csrc/spin_probe.cc): a second, tiny module without OpenMP, loaded before the
// addon to time one iteration of libgomp's spin-wait (src/addon.ts says why).
const probeOut = join(pkg, 'build', 'Release', 'lets_spin.node');
const sources = ['addon.cc', 'kernels.cc', 'elementwise.cc', 'fused.cc', 'softmax.cc', 'transpose.cc', 'gemm.cc', 'blas.cc', 'cpu.cc', 'tree_ops.cc'].map((f) => join(pkg, 'csrc', f));
const strict = process.env.LETS_NATIVE_STRICT === '1';

function notice(reason) {
  console.log(`@lets/native: addon not built (${reason}); the 'native' backend is unavailable (the runtime uses wasm) until \`npx lets-native build\` succeeds.`);
  process.exit(strict ? 1 : 0);
}

if (process.env.LETS_NATIVE_SKIP_BUILD === '1') notice('LETS_NATIVE_SKIP_BUILD=1');
if (process.platform !== 'linux') notice(`platform ${process.platform} is not supported yet`);

const cxx = process.env.CXX || 'g++';
const probe = spawnSync(cxx, ['--version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) notice(`no C++ compiler '${cxx}'; install g++`);

const headerDirs = [
  join(dirname(process.execPath), '..', 'include', 'node'),
  '/usr/include/node',
  '/usr/local/include/node',
];
const nodeInclude = headerDirs.find((d) => existsSync(join(d, 'node_api.h')));
if (!nodeInclude) notice('Node headers (node_api.h) not found; install nodejs headers (libnode-dev)');

const noOpenBlas = process.env.LETS_NATIVE_NO_OPENBLAS === '1';
const extra = process.env.LETS_NATIVE_CXXFLAGS ? process.env.LETS_NATIVE_CXXFLAGS.split(/\s+/).filter(Boolean) : [];
// The flags an addon was built with sit beside it; a build with other flags is not up to date.
const stamp = `${out}.flags`;
const flags = JSON.stringify({ noOpenBlas, extra, cxx });

// Up to date? (newer than every source, same flags)
const newest = Math.max(...sources.concat(readdirSync(join(pkg, 'csrc')).map((f) => join(pkg, 'csrc', f))).map((f) => statSync(f).mtimeMs), statSync(fileURLToPath(import.meta.url)).mtimeMs);
const sameFlags = existsSync(stamp) && readFileSync(stamp, 'utf8') === flags;
if (existsSync(out) && statSync(out).mtimeMs > newest && sameFlags && process.env.LETS_NATIVE_REBUILD !== '1') {
  console.log('@lets/native: addon up to date');
  process.exit(0);
}

mkdirSync(dirname(out), { recursive: true });
const tmp = `${out}.${process.pid}.tmp`;
const base = [
  '-O3', '-std=c++17', '-shared', '-fPIC', '-fvisibility=hidden', '-fopenmp',
  '-DNODE_GYP_MODULE_NAME=lets_native', '-DNAPI_VERSION=8',
  `-I${nodeInclude}`,
  ...(noOpenBlas ? ['-DLETS_NATIVE_NO_OPENBLAS'] : []),
  ...extra,
  ...sources, '-o', tmp, '-ldl', '-lm',
];
// -march=native vectorises the direct loops for this machine (the addon is built where it runs);
// retried without it for compilers that reject it.
let res = spawnSync(cxx, ['-march=native', ...base], { encoding: 'utf8' });
if (res.status !== 0) res = spawnSync(cxx, base, { encoding: 'utf8' });
if (res.status !== 0) {
  rmSync(tmp, { force: true });
  const err = `${res.stderr || ''}${res.error ? String(res.error) : ''}`;
  if (/omp\.h|fopenmp|-lgomp/.test(err)) notice('OpenMP not available in the compiler');
  const first = err.split('\n').find((l) => /error/.test(l)) || err.split('\n')[0] || 'unknown error';
  notice(`compile failed: ${first.trim()}`);
}
const fd = openSync(tmp, 'r');
fsyncSync(fd);
closeSync(fd);
renameSync(tmp, out);

// Smoke test in a child process: the addon loads and its libraries resolve.
const check = spawnSync(process.execPath, ['-e', `const a=require(${JSON.stringify(out)});const i=a.info();process.stdout.write(i.cpu+', '+i.isa+'; GEMM '+i.gemm)`], { encoding: 'utf8' });
if (check.status !== 0) {
  rmSync(out, { force: true });
  notice(`built addon does not load: ${(check.stderr || '').split('\n').find((l) => l.trim()) || 'unknown error'}`);
}

// The spin probe. Without it the addon still loads (its threads then sleep as soon as they wait,
// OMP_WAIT_POLICY=PASSIVE), so a failure here is a line, not a failed build.
const probeTmp = `${probeOut}.${process.pid}.tmp`;
const probeArgs = ['-O2', '-std=c++17', '-shared', '-fPIC', '-fvisibility=hidden', '-DNODE_GYP_MODULE_NAME=lets_spin', '-DNAPI_VERSION=8',
  `-I${nodeInclude}`, ...extra, join(pkg, 'csrc', 'spin_probe.cc'), '-o', probeTmp];
const probeRes = spawnSync(cxx, probeArgs, { encoding: 'utf8' });
if (probeRes.status === 0) renameSync(probeTmp, probeOut);
else {
  rmSync(probeTmp, { force: true });
  rmSync(probeOut, { force: true });
  console.log(`@lets/native: spin probe not built (${(probeRes.stderr || String(probeRes.error)).split('\n').find((l) => /error/.test(l)) ?? 'compile failed'}); OpenMP threads will sleep when they wait`);
}
writeFileSync(stamp, flags);
console.log(`@lets/native: built ${out.slice(pkg.length + 1)} (${check.stdout.trim()})`);
