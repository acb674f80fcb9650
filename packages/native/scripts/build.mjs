#!/usr/bin/env node
// Builds the lets_native addon (packages/native/build/Release/lets_native.node) with the system
// C++ compiler against Node's own headers (node_api.h), OpenBLAS (libopenblas-dev) and OpenMP.
// No network, no node-gyp download. Where the compiler, the headers or the library are missing
// it prints one line and exits 0: the 'native' backend is then simply unavailable and the
// runtime falls back to wasm. Set LETS_NATIVE_SKIP_BUILD=1 to skip, LETS_NATIVE_STRICT=1 to make
// a failed build exit 1 (CI jobs that require the addon), LETS_NATIVE_CXXFLAGS to add flags.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync, readdirSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(pkg, 'build', 'Release', 'lets_native.node');
const sources = ['addon.cc', 'kernels.cc', 'elementwise.cc'].map((f) => join(pkg, 'csrc', f));
const strict = process.env.LETS_NATIVE_STRICT === '1';

function notice(reason) {
  console.log(`@lets/native: addon not built (${reason}); the 'native' backend is unavailable and wasm is used instead.`);
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

// Up to date? (newer than every source)
const newest = Math.max(...sources.concat(readdirSync(join(pkg, 'csrc')).map((f) => join(pkg, 'csrc', f))).map((f) => statSync(f).mtimeMs), statSync(fileURLToPath(import.meta.url)).mtimeMs);
if (existsSync(out) && statSync(out).mtimeMs > newest && process.env.LETS_NATIVE_REBUILD !== '1' && !process.env.LETS_NATIVE_BLAS) {
  console.log('@lets/native: addon up to date');
  process.exit(0);
}

// OpenBLAS: prefer Debian's OpenMP build (libopenblas0-openmp), so that BLAS and the addon's own
// OpenMP loops share one thread pool instead of two pools spinning against each other; it is
// linked by path with an rpath, since the system-wide libopenblas.so.0 may be the pthreads build.
// LETS_NATIVE_BLAS=pthread forces -lopenblas (whatever the system default is).
const ompBlas = ['/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0', '/usr/lib64/openblas-openmp/libopenblas.so.0']
  .find((f) => existsSync(f));
const blasLink = ompBlas && process.env.LETS_NATIVE_BLAS !== 'pthread'
  ? [ompBlas, `-Wl,-rpath,${dirname(ompBlas)}`]
  : ['-lopenblas'];

mkdirSync(dirname(out), { recursive: true });
const tmp = `${out}.${process.pid}.tmp`;
const base = [
  '-O3', '-std=c++17', '-shared', '-fPIC', '-fvisibility=hidden', '-fopenmp',
  '-DNODE_GYP_MODULE_NAME=lets_native', '-DNAPI_VERSION=8',
  `-I${nodeInclude}`,
  ...(process.env.LETS_NATIVE_CXXFLAGS ? process.env.LETS_NATIVE_CXXFLAGS.split(/\s+/).filter(Boolean) : []),
  ...sources, '-o', tmp, ...blasLink, '-lm',
];
// -march=native vectorises the direct loops for this machine (the addon is built where it runs);
// retried without it for compilers that reject it.
let res = spawnSync(cxx, ['-march=native', ...base], { encoding: 'utf8' });
if (res.status !== 0) res = spawnSync(cxx, base, { encoding: 'utf8' });
if (res.status !== 0) {
  rmSync(tmp, { force: true });
  const err = `${res.stderr || ''}${res.error ? String(res.error) : ''}`;
  if (/-lopenblas|cannot find -l/.test(err)) notice('OpenBLAS not found; install libopenblas-dev');
  if (/omp\.h|fopenmp|-lgomp/.test(err)) notice('OpenMP not available in the compiler');
  const first = err.split('\n').find((l) => /error/.test(l)) || err.split('\n')[0] || 'unknown error';
  notice(`compile failed: ${first.trim()}`);
}
const fd = openSync(tmp, 'r');
fsyncSync(fd);
closeSync(fd);
renameSync(tmp, out);

// Smoke test in a child process: the addon loads and its libraries resolve.
const check = spawnSync(process.execPath, ['-e', `const a=require(${JSON.stringify(out)});const i=a.info();process.stdout.write(i.blas)`], { encoding: 'utf8' });
if (check.status !== 0) {
  rmSync(out, { force: true });
  notice(`built addon does not load: ${(check.stderr || '').split('\n').find((l) => l.trim()) || 'unknown error'}`);
}
console.log(`@lets/native: built ${out.slice(pkg.length + 1)} (${check.stdout.trim()})`);
