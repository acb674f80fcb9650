/**
 * No public name collides: tools/public-names.mjs reads every package's src/index.ts with the
 * TypeScript compiler and lists the names (values or types) that two packages export, and the
 * exports named like a Jest global. The repository's list must be empty; a made-up pair of
 * packages shows the check finds both kinds.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
const script = path.join(root, 'tools', 'public-names.mjs');
const run = (...args: string[]) => spawnSync(process.execPath, [script, '--json', ...args], { cwd: root, encoding: 'utf8' });

it('no name is exported by two packages, and none shadows a Jest global', () => {
  const r = run();
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual({});
  expect(r.status).toBe(0);
});

it('finds a name two packages export (through export * and a re-export) and one named like a Jest global', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lets-names-'));
  try {
    const write = (file: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    };
    write('packages/a/src/index.ts', "export * from './inner';\nexport const own = 1;\n");
    write('packages/a/src/inner.ts', 'export const evaluate = (): number => 1;\nexport type Shared = number;\n');
    write('packages/b/src/index.ts', "export { run as evaluate } from './run';\nexport interface Shared { readonly x: number }\nexport function describe(): string { return 'b'; }\n");
    write('packages/b/src/run.ts', 'export const run = (): number => 2;\n');
    // a browser entry counts too, and the same name in a package's two entries is no collision
    write('packages/c/src/index.ts', 'export const own = 3;\nexport const both = 1;\n');
    write('packages/c/src/browser.ts', "export { both } from './index';\nexport const pageOnly = 1;\n");
    write('packages/b/src/browser.ts', "export { describe } from './index';\nexport const pageOnly = 2;\n");
    write('packages/d/README.md', 'no src/index.ts: not a package with a public face\n');
    const r = run('--root', dir);
    expect(JSON.parse(r.stdout)).toEqual({ Shared: ['a', 'b'], describe: ['jest', 'b'], evaluate: ['a', 'b'], own: ['a', 'c'], pageOnly: ['b', 'c'] });
    expect(r.status).toBe(1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
