// `npx lets-native build|info` and the install script, run from a copy of the package as npm
// installs it (bin, scripts, csrc; no repository around it).
import { spawnSync } from 'child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

const pkgDir = join(__dirname, '..');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lets-native-bin-'));
  for (const d of ['bin', 'scripts', 'csrc']) cpSync(join(pkgDir, d), join(dir, d), { recursive: true });
  cpSync(join(pkgDir, 'package.json'), join(dir, 'package.json'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(file: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(dir, file), ...args], {
    encoding: 'utf8',
    cwd: dir,
    env: { ...process.env, LETS_NATIVE_ADDON: '', ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the package declares the bin and an install script that npm runs', () => {
  const pkg = require('../package.json');
  expect(pkg.bin).toEqual({ 'lets-native': 'bin/lets-native.js' });
  expect(pkg.scripts.install).toBe('node scripts/install.mjs');
  for (const f of ['bin', 'scripts', 'csrc', 'dist', 'LICENSE']) expect(pkg.files).toContain(f);
});

test('--help names the commands; an unknown command exits 2 with the usage', () => {
  const help = run('bin/lets-native.js', ['--help']);
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^usage: lets-native <command>/);
  expect(help.stdout).toMatch(/build \[--rebuild\] \[--no-openblas\]/);
  const bad = run('bin/lets-native.js', ['compile']);
  expect(bad.status).toBe(2);
  expect(bad.stderr).toMatch(/^lets-native: unknown command 'compile'\nusage:/);
  const opt = run('bin/lets-native.js', ['build', '--fast']);
  expect(opt.status).toBe(2);
  expect(opt.stderr).toBe('lets-native build: unknown option --fast; expected --rebuild or --no-openblas\n');
});

test('build without a compiler exits 1 with the reason and the command to run again', () => {
  const r = run('bin/lets-native.js', ['build'], { CXX: '/nonexistent/g++', LETS_NATIVE_SKIP_BUILD: '1' });
  expect(r.status).toBe(1);
  expect(r.stdout).toBe(
    "@lets/native: addon not built (no C++ compiler '/nonexistent/g++'; install g++); the 'native' backend is unavailable " +
      '(the runtime uses wasm) until `npx lets-native build` succeeds.\n',
  );
  expect(r.stderr).toMatch(/fix that and run `npx lets-native build` again/);
  expect(existsSync(join(dir, 'build', 'Release', 'lets_native.node'))).toBe(false);
});

test('the install script never fails the install and prints one line naming npx lets-native build', () => {
  const r = run('scripts/install.mjs', [], { CXX: '/nonexistent/g++', LETS_NATIVE_STRICT: '1' });
  expect(r.status).toBe(0);
  const lines = r.stdout.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^@lets\/native: addon not built \(no C\+\+ compiler '\/nonexistent\/g\+\+'; install g\+\+\).*`npx lets-native build`/);
  expect(r.stderr).toBe('');
});

test('info without an addon says how to build one', () => {
  const r = run('bin/lets-native.js', ['info']);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/^lets-native: no addon at .*build\/Release\/lets_native\.node; run `npx lets-native build`\n$/);
});

const gpp = spawnSync('g++', ['--version']).status === 0;
(gpp ? test : test.skip)('build compiles the addon in the installed copy and info reads it (needs g++)', () => {
  if (!gpp) console.log('g++ not installed: the build test is skipped');
  const r = run('bin/lets-native.js', ['build']);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^@lets\/native: built build\/Release\/lets_native\.node \(/);
  // the spin probe beside it (src/addon.ts loads it first)
  expect(existsSync(join(dir, 'build', 'Release', 'lets_spin.node'))).toBe(true);
  const info = run('bin/lets-native.js', ['info']);
  expect(info.status).toBe(0);
  expect(info.stdout).toMatch(/^threads: \d+\n/m);
  expect(info.stdout).toMatch(/^gemm: /m);
  expect(info.stdout).toMatch(/^spinProbe: \d+\.\d ns a spin \(the runtime spins about 100 µs before sleeping\)$/m);
  // up to date now: a second build does not compile again
  expect(run('bin/lets-native.js', ['build']).stdout).toBe('@lets/native: addon up to date\n');
}, 120000);
