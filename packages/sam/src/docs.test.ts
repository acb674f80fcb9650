/**
 * Every page in docs/sam/ has a runnable example (its first ```ts block): each one is transpiled
 * and run here, and what it logs is checked. The examples train a small least-squares model, so
 * "runs and the loss drops by 10×" is the check. The write-your-own guide (a variant in one file,
 * used plain and under lets()) is run as written by packages/lets/src/writeYourOwn.test.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import * as tf from '@tensorflow/tfjs-core';
import { setup } from './test-util';

beforeAll(setup);

const DOCS = path.join(__dirname, '..', '..', '..', 'docs', 'sam');

const exampleOf = (file: string): string => {
  const text = fs.readFileSync(path.join(DOCS, file), 'utf8');
  const m = /```ts\n([\s\S]*?)```/.exec(text);
  if (m === null) throw new Error(`${file}: expected a \`\`\`ts example block`);
  return m[1] as string;
};

/** Runs an example (ES module syntax, top-level await) and returns what it logged. */
const run = async (code: string): Promise<unknown[][]> => {
  const js = ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 },
  }).outputText;
  const logged: unknown[][] = [];
  const fakeConsole = { log: (...a: unknown[]) => logged.push(a) };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const body = new Function('require', 'exports', 'console', `return (async () => {\n${js}\n})();`);
  await body(require, {}, fakeConsole);
  return logged;
};

const pages = fs.readdirSync(DOCS).filter((f) => f.endsWith('.md') && f !== 'write-your-own.md').sort();

it('there is a page for every preset', () => {
  const names = ['sam', 'asam', 'gsam', 'esam', 'fisher-sam', 'sam-on', 'vasso', 'friendly-sam', 'look-sam', 'msam', 'gam', 'random-sam', 'stable-sam', 'le-sam'];
  expect(pages.map((p) => p.replace(/\.md$/, '')).sort()).toEqual(names.sort());
});

describe.each(pages)('docs/sam/%s example', (page) => {
  it('runs, trains (loss 10× lower) and leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const logged = await run(exampleOf(page));
    const line = logged.find((a) => a[0] === 'loss');
    expect(line).toBeDefined();
    const [, first, last] = line as [string, number, number];
    expect(Number.isFinite(last)).toBe(true);
    expect(last).toBeLessThan(first / 10);
    expect(tf.memory().numTensors).toBe(before);
  });
});
