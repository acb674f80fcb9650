/**
 * docs/sam/write-your-own.md, run exactly as written: its ```ts blocks are the files they name in
 * their first line (`// linf-sam.ts: …`, `// train.ts: …`), transpiled with the TypeScript
 * compiler and run in page order, each file's `./name` imports resolved to the files before it.
 * Checked: the variant's ε is ρ·sign(g) (its ascent stage), it trains plain and under lets()
 * (loss 10× lower in 60 steps), LETS moves ρ, LETS took the variant's declared capabilities, and
 * the whole page leaves no tensor behind (over its 120 steps: the combiner allocates).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import * as tf from '@tensorflow/tfjs-core';
import { setupCpu } from './test-util';

beforeAll(setupCpu);

const PAGE = path.join(__dirname, '..', '..', '..', 'docs', 'sam', 'write-your-own.md');

/** The page's ```ts blocks, in order, each with the file name of its first line. */
const filesOf = (text: string): { name: string; code: string }[] =>
  [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => {
    const code = m[1] as string;
    const name = /^\/\/ ([\w-]+)\.ts\b/.exec(code)?.[1];
    if (name === undefined) throw new Error(`write-your-own.md: a ts block must start with "// <file>.ts", got: ${code.split('\n')[0]}`);
    return { name, code };
  });

/** Runs the files in order (ES modules with top-level await, as CommonJS); returns what they logged. */
const runPage = async (files: readonly { name: string; code: string }[]): Promise<unknown[][]> => {
  const logged: unknown[][] = [];
  const fakeConsole = { log: (...a: unknown[]) => logged.push(a) };
  const done: Record<string, Record<string, unknown>> = {};
  const requireFrom = (id: string): unknown => {
    if (id.startsWith('./')) {
      const m = done[id.slice(2).replace(/\.ts$/, '')];
      if (m === undefined) throw new Error(`write-your-own.md: '${id}' is imported before the page defines it`);
      return m;
    }
    return require(id);
  };
  for (const f of files) {
    const js = ts.transpileModule(f.code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } }).outputText;
    const exports: Record<string, unknown> = {};
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const body = new Function('require', 'exports', 'console', `return (async () => {\n${js}\n})();`);
    await body(requireFrom, exports, fakeConsole);
    done[f.name] = exports;
  }
  return logged;
};

const line = (logged: unknown[][], tag: string): unknown[] => {
  const l = logged.find((a) => a[0] === tag);
  if (l === undefined) throw new Error(`the page logged no '${tag}' line`);
  return l;
};

describe('docs/sam/write-your-own.md, run as written', () => {
  const files = filesOf(fs.readFileSync(PAGE, 'utf8'));
  let logged: unknown[][] = [];
  let leaked = NaN;

  beforeAll(async () => {
    const before = tf.memory().numTensors;
    logged = await runPage(files);
    leaked = tf.memory().numTensors - before;
    if (process.env['LETS_VERBOSE']) console.log(logged.filter((a) => a[0] !== 'epsilon'));
  });

  it('is one variant file and one file using it', () => {
    expect(files.map((f) => f.name)).toEqual(['linf-sam', 'train']);
    // The variant file declares its capabilities and imports nothing but the packages.
    expect(files[0]!.code).toMatch(/export const capabilities: SamCapabilities = /);
    expect(files[0]!.code).not.toMatch(/from '\.\//);
  });

  it("the variant's ε is ρ·sign(g)", () => {
    const [, rho, eps, grads] = line(logged, 'epsilon') as [string, number, number[], number[]];
    expect(rho).toBe(0.01);
    expect(eps.length).toBe(grads.length);
    expect(grads.filter((g) => g !== 0).length).toBeGreaterThanOrEqual(2); // (∂L/∂scale = 0 at w = 0)
    eps.forEach((e, i) => expect(e).toBeCloseTo(rho * Math.sign(grads[i]!), 7));
  });

  it('trains plain: the loss is 10× lower after 60 steps', () => {
    const [, first, last] = line(logged, 'plain') as [string, number, number];
    expect(Number.isFinite(last)).toBe(true);
    expect(last).toBeLessThan(first / 10);
  });

  it('trains under lets(), and LETS moves ρ', () => {
    const [, first, last, rho0, rho59] = line(logged, 'lets') as [string, number, number, number, number];
    expect(last).toBeLessThan(first / 10);
    expect(Number.isFinite(rho59) && rho59 > 0).toBe(true);
    // ρ starts at 0.05; LETS (every step, Adam on log ρ) must have taken it clearly elsewhere.
    expect(Math.abs(Math.log(rho59 / 0.05))).toBeGreaterThan(0.1);
    expect(rho59).not.toBe(rho0);
  });

  it('leaves no tensor behind over its 120 steps (the combiner allocates: SAM runs it in a tidy scope)', () => {
    expect(leaked).toBe(0);
  });

  it("the variant carries the file's declared capabilities (what lets() reads)", async () => {
    const { linfSam, capabilities } = (await (async () => {
      const done: Record<string, unknown> = {};
      const js = ts.transpileModule(files[0]!.code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } }).outputText;
      // eslint-disable-next-line @typescript-eslint/no-implied-eval
      new Function('require', 'exports', js)(require, done);
      return done;
    })()) as { linfSam: (o: unknown, x?: unknown) => { capabilities: unknown; name: string }; capabilities: unknown };
    const { sgd } = await import('@lets/optim');
    const v = linfSam(sgd(0.1));
    expect(v.name).toBe('linfSam');
    expect(v.capabilities).toEqual(capabilities);
  });
});
