// Issue 12's done-when: no file under packages/lets/src or packages/train/src (tests aside) names
// a SAM variant or an HVP estimator by string. The names are the registries' own (@lets/sam's
// SAM_PRESETS, in kebab and camelCase; @lets/bilevel's HVP_ESTIMATOR_REGISTRY), so a new entry
// is covered without editing this test.
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { SAM_PRESETS } from '@lets/sam';
import { HVP_ESTIMATOR_REGISTRY } from '@lets/bilevel';

const root = join(__dirname, '..', '..');
const camel = (n: string) => n.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const names = [...Object.keys(SAM_PRESETS).flatMap((n) => [n, camel(n)]), ...Object.keys(HVP_ESTIMATOR_REGISTRY)];
const quoted = new RegExp(`(['"\`])(${[...new Set(names)].join('|')})\\1`);

const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.ts$/.test(e.name) && !/\.test\.ts$|test-util/.test(e.name) ? [join(dir, e.name)] : [],
  );

test('lets and train name no SAM variant and no estimator by string', () => {
  const hits = ['lets', 'train'].flatMap((p) =>
    sources(join(root, 'packages', p, 'src')).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => ({ where: `${file.slice(root.length + 1)}:${i + 1}`, line }))
        .filter(({ line }) => quoted.test(line))
        .map(({ where, line }) => `${where}: ${line.trim()}`),
    ),
  );
  expect(hits).toEqual([]);
  expect(quoted.test("const v = 'look-sam';") && quoted.test('estimator: "fd"') && quoted.test('`lookSam`')).toBe(true);
});
