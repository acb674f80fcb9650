#!/usr/bin/env node
// Checks that every workspace package declares exactly what its code imports.
//
// For each packages/*/package.json:
// - the runtime code (src/**/*.ts except tests, test-util*.ts and src/test/; plus bin/ and any
//   script named in `bin` or in an install-time lifecycle script) imports nothing that is not
//   in `dependencies`, `peerDependencies` or `optionalDependencies`;
// - every entry of `dependencies` is imported by that code (nothing declared "just in case");
// - every peer is imported, or, for an optional peer loaded through a variable (so bundlers
//   leave it alone), at least named as a string in the code;
// - the tfjs packages are peers with a range, never plain dependencies, and `webgpu` is at
//   most an optional peer;
// - test code imports only what the package, its devDependencies or the root devDependencies
//   provide.
// Prints one line per problem and exits 1 if there is any; `--json` prints the import table,
// `--root DIR` checks another checkout (the tests use fixtures).
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const ts = require('typescript');

const BUILTIN = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
/** Packages that must be peers (the user's own copy is used), with the range they must allow. */
export const PEER_ONLY = [
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-backend-webgpu',
  '@tensorflow/tfjs-layers',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  'webgpu',
];
/** Peers that no library package may require: only ever optional. */
export const OPTIONAL_ONLY = ['webgpu', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`; builtins and relative paths → undefined. */
export function packageOf(spec) {
  if (spec.startsWith('.') || spec.startsWith('/') || BUILTIN.has(spec) || BUILTIN.has(spec.split('/')[0])) return undefined;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) { if (e !== 'node_modules') walk(p, out); } else out.push(p);
  }
  return out;
}

const isTest = (rel) => /\.test\.[cm]?[jt]s$/.test(rel) || /(^|\/)test-util[^/]*$/.test(rel) || /(^|\/)(test|__tests__)\//.test(rel);
const isCode = (f) => /\.([cm]?[jt]s)$/.test(f) && !f.endsWith('.d.ts');

/** Module specifiers a file imports (static, dynamic with a literal, require with a literal), and its string literals. */
export function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  const info = ts.preProcessFile(text, true, true);
  const specs = info.importedFiles.map((f) => f.fileName);
  // require.resolve('pkg/...') reaches a package's files (data sets) as surely as an import
  for (const m of text.matchAll(/require\.resolve\(\s*(['"])([^'"]+)\1/g)) specs.push(m[2]);
  const strings = new Set();
  const re = /(['"`])((?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*)\1/gi;
  for (const m of text.matchAll(re)) strings.add(m[2]);
  return { specs, strings };
}

function scriptFiles(pkgDir, pkg) {
  const files = [];
  const bins = typeof pkg.bin === 'string' ? [pkg.bin] : Object.values(pkg.bin ?? {});
  for (const b of bins) files.push(join(pkgDir, b));
  for (const hook of ['preinstall', 'install', 'postinstall']) {
    const cmd = pkg.scripts?.[hook];
    if (cmd) for (const m of cmd.matchAll(/node\s+(\S+\.[cm]?js)/g)) files.push(join(pkgDir, m[1]));
  }
  // what those scripts pull in by relative path stays inside the package; follow one level
  return files.filter((f) => existsSync(f));
}

export function checkPackage(pkgDir, rootPkg) {
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const problems = [];
  const say = (m) => problems.push(`${pkg.name}: ${m}`);
  const deps = pkg.dependencies ?? {};
  const peers = pkg.peerDependencies ?? {};
  const peerMeta = pkg.peerDependenciesMeta ?? {};
  const optional = pkg.optionalDependencies ?? {};
  const dev = pkg.devDependencies ?? {};
  const rootDev = { ...(rootPkg.devDependencies ?? {}), ...(rootPkg.dependencies ?? {}) };

  const all = walk(join(pkgDir, 'src')).filter(isCode);
  const runtimeFiles = [...all.filter((f) => !isTest(relative(join(pkgDir, 'src'), f))), ...scriptFiles(pkgDir, pkg)];
  for (const b of walk(join(pkgDir, 'bin')).filter(isCode)) if (!runtimeFiles.includes(b)) runtimeFiles.push(b);
  const testFiles = all.filter((f) => isTest(relative(join(pkgDir, 'src'), f)));

  const used = new Map(); // package → first file importing it
  const named = new Set();
  for (const f of runtimeFiles) {
    const { specs, strings } = importsOf(f);
    for (const s of specs) {
      const p = packageOf(s);
      if (p !== undefined && p !== pkg.name && !used.has(p)) used.set(p, relative(pkgDir, f));
    }
    for (const s of strings) named.add(s);
  }
  for (const [p, f] of used) {
    if (!(p in deps) && !(p in peers) && !(p in optional)) say(`${f} imports '${p}', which is not in dependencies or peerDependencies`);
  }
  for (const p of Object.keys(deps)) {
    if (!used.has(p)) say(`dependency '${p}' is not imported by its code (src without tests, bin, install scripts); remove it or move it to devDependencies`);
  }
  for (const p of Object.keys(optional)) {
    if (!used.has(p) && !named.has(p)) say(`optional dependency '${p}' is never named by its code`);
  }
  for (const [p, range] of Object.entries(peers)) {
    const isOptional = peerMeta[p]?.optional === true;
    if (!used.has(p) && !(isOptional && named.has(p))) {
      say(`peer '${p}' is ${isOptional ? 'never named' : 'not imported'} by its code`);
    }
    if (/^\d/.test(range)) say(`peer '${p}' is pinned to ${range}; give a range (e.g. ^${range})`);
    if (OPTIONAL_ONLY.includes(p) && !isOptional) say(`peer '${p}' must be optional (peerDependenciesMeta.${p}.optional)`);
    if (!(p in rootDev) && !(p in dev) && !isOptional) say(`peer '${p}' is not a devDependency of the repository root, so the monorepo does not install it`);
  }
  for (const p of PEER_ONLY) {
    if (p in deps) say(`'${p}' is a dependency; it must be a peer (the user's own tfjs is used)`);
    if (p in optional) say(`'${p}' is an optional dependency; it must be an optional peer (npm would install it by default)`);
  }
  for (const f of testFiles) {
    for (const s of importsOf(f).specs) {
      const p = packageOf(s);
      if (p === undefined || p === pkg.name) continue;
      if (!(p in deps) && !(p in peers) && !(p in optional) && !(p in dev) && !(p in rootDev) && !p.startsWith('@lets/')) {
        say(`test ${relative(pkgDir, f)} imports '${p}', declared neither by the package nor by the repository root`);
      }
    }
  }
  if (pkg.private !== true) for (const m of metadataProblems(pkgDir, pkg)) say(m);
  return { name: pkg.name, problems, imports: [...used.keys()].sort() };
}

/** What a published package needs besides its dependencies: licence, links, engines, maps. */
export function metadataProblems(pkgDir, pkg) {
  const out = [];
  const dir = relative(join(pkgDir, '..', '..'), pkgDir).split('\\').join('/');
  const rootLicense = join(pkgDir, '..', '..', 'LICENSE');
  const license = join(pkgDir, 'LICENSE');
  if (!existsSync(license)) out.push('no LICENSE file (copy the repository root LICENSE)');
  else if (existsSync(rootLicense) && readFileSync(license, 'utf8') !== readFileSync(rootLicense, 'utf8')) out.push('LICENSE differs from the repository root LICENSE');
  if (pkg.license !== 'MIT') out.push(`license is ${JSON.stringify(pkg.license)}, expected "MIT"`);
  for (const f of ['LICENSE', 'README.md', 'dist']) if (!(pkg.files ?? []).includes(f)) out.push(`files does not list ${f}`);
  if (pkg.repository?.directory !== dir) out.push(`repository.directory is ${JSON.stringify(pkg.repository?.directory)}, expected "${dir}"`);
  if (typeof pkg.repository?.url !== 'string') out.push('no repository.url');
  if (typeof pkg.engines?.node !== 'string') out.push('no engines.node');
  if (!('sideEffects' in pkg)) out.push('no sideEffects field');
  const readme = join(pkgDir, 'README.md');
  if (existsSync(readme)) {
    for (const m of readFileSync(readme, 'utf8').matchAll(/\]\((\.{1,2}\/[^)]*)\)/g)) out.push(`README.md links to ${m[1]}, which is dead on npm; use an absolute link`);
  }
  const build = join(pkgDir, 'tsconfig.build.json');
  if (existsSync(build)) {
    const opts = JSON.parse(readFileSync(build, 'utf8')).compilerOptions ?? {};
    if (opts.inlineSources !== true) out.push('tsconfig.build.json does not set inlineSources: source maps would point at src/, which is not shipped');
  }
  return out;
}

export function checkAll(dir = root) {
  const rootPkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const pkgsDir = join(dir, 'packages');
  return readdirSync(pkgsDir)
    .filter((p) => existsSync(join(pkgsDir, p, 'package.json')))
    .map((p) => checkPackage(join(pkgsDir, p), rootPkg));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const at = process.argv.indexOf('--root');
  const results = checkAll(at > 0 ? process.argv[at + 1] : root);
  if (process.argv.includes('--json')) console.log(JSON.stringify(results.map(({ name, imports }) => ({ name, imports })), null, 2));
  const problems = results.flatMap((r) => r.problems);
  for (const p of problems) console.log(`check-deps: ${p}`);
  console.log(`check-deps: ${results.length} packages, ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
  process.exit(problems.length > 0 ? 1 : 0);
}
