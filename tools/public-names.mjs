#!/usr/bin/env node
/**
 * Public names exported by more than one package: reads every `packages/<p>/src/index.ts` (and
 * `src/browser.ts`, a browser entry, where there is one) with the TypeScript compiler (following `export *` and re-exports) and lists each name, value or
 * type, that two or more packages export, and each exported name that shadows one of Jest's
 * globals (`describe`, `it`, …) in a test file that imports it. A user importing from two
 * packages should never have to rename one of them, so both lists must stay empty
 * (tools/test/public-names.test.ts runs this).
 *
 *   node tools/public-names.mjs          prints "name: pkg, pkg" lines; exit 1 when any collide
 *   node tools/public-names.mjs --json   {"name": ["pkg", …], …}
 *   --root DIR                           read DIR/packages/* instead of this repository's
 */
import { createRequire } from 'node:module';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ts = require('typescript');

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The packages with a `src/index.ts`, by directory name, with their entries (`src/browser.ts` too, where there is one). */
export function packageEntries(rootDir = root) {
  const dir = join(rootDir, 'packages');
  return readdirSync(dir)
    .filter((p) => existsSync(join(dir, p, 'src', 'index.ts')))
    .sort()
    .map((p) => ({ name: p, entries: ['index.ts', 'browser.ts'].map((f) => join(dir, p, 'src', f)).filter((f) => existsSync(f)) }));
}

/** Exported names of each package's entry: Map(package → sorted names). */
export function exportedNames(rootDir = root) {
  const entries = packageEntries(rootDir);
  const program = ts.createProgram(
    entries.flatMap((e) => e.entries),
    { noEmit: true, noLib: true, skipLibCheck: true, allowJs: false, moduleResolution: ts.ModuleResolutionKind.Node10, target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, types: [] },
  );
  const checker = program.getTypeChecker();
  const out = new Map();
  for (const { name, entries: files } of entries) {
    const names = files.flatMap((file) => {
      const sf = program.getSourceFile(file);
      const sym = sf && checker.getSymbolAtLocation(sf);
      return sym ? checker.getExportsOfModule(sym).map((s) => s.getName()).filter((n) => n !== 'default') : [];
    });
    out.set(name, [...new Set(names)].sort());
  }
  return out;
}

/** Jest's globals: a package export of one of these names shadows it in a test that imports it. */
export const JEST_GLOBALS = ['describe', 'it', 'test', 'expect', 'jest', 'beforeAll', 'afterAll', 'beforeEach', 'afterEach'];

/**
 * Names exported by more than one package, and package exports named like a Jest global (listed
 * with the owner 'jest'): {name: [owners]} in name order. `names` defaults to {@link exportedNames}.
 */
export function collisions(names = exportedNames()) {
  const owners = new Map(JEST_GLOBALS.map((n) => [n, ['jest']]));
  for (const [pkg, ns] of names) {
    for (const n of ns) owners.set(n, [...(owners.get(n) ?? []), pkg]);
  }
  return Object.fromEntries([...owners].filter(([, ps]) => ps.length > 1).sort(([a], [b]) => (a < b ? -1 : 1)));
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--root');
  const c = collisions(exportedNames(i > 0 ? resolve(process.argv[i + 1]) : root));
  if (process.argv.includes('--json')) console.log(JSON.stringify(c, null, 2));
  else for (const [n, ps] of Object.entries(c)) console.log(`${n}: ${ps.join(', ')}`);
  process.exit(Object.keys(c).length === 0 ? 0 : 1);
}
