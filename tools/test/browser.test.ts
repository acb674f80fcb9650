/**
 * The browser build, proved: a program using @lets/runtime, tree, optim, sam, lets, train and
 * models is
 * bundled with esbuild --platform=browser (failing if any Node built-in or Node build of tfjs is
 * reached), then run in headless Chromium on cpu and on WebGL: LETS-SAM trains, ρ moves and is
 * read back, the checkpoint bytes round-trip bit for bit, nothing leaks, no console error.
 * Without Chromium (/usr/bin/chromium, see .ci/apt/cli.txt, or CHROMIUM_PATH) the Chromium part
 * prints why and skips; the bundle checks always run.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import {
  bundleForBrowser,
  countPixels,
  decodePng,
  findChromium,
  launch,
  NodeOnlyReachedError,
  REPO_ROOT,
  runInChromium,
  writeIndexHtml,
} from '../browser/chromium';

const out = join(REPO_ROOT, 'tmp', 'browser', 'smoke');

describe('browser bundle', () => {
  let bundle: Awaited<ReturnType<typeof bundleForBrowser>>;
  beforeAll(async () => {
    rmSync(out, { recursive: true, force: true });
    bundle = await bundleForBrowser({ entry: join(REPO_ROOT, 'tools/browser/smoke/main.ts'), outfile: join(out, 'smoke.js') });
    writeIndexHtml(out, './smoke.js');
  });

  it('of a program using runtime, tree, optim, sam, bilevel, lets, train and models reaches no Node built-in and only the browser entries', () => {
    const inputs = bundle.workspaceInputs;
    for (const f of ['runtime/src/browser.ts', 'runtime/src/backend_browser.ts', 'runtime/src/checkpoint_bytes.ts', 'train/src/browser.ts', 'models/src/index.ts', 'bilevel/src/index.ts', 'lets/src/index.ts', 'sam/src/index.ts', 'optim/src/index.ts', 'tree/src/index.ts']) {
      expect(inputs).toContain(`packages/${f}`);
    }
    // the Node-only files stay out: checkpoint files, gradients read from disk, Dawn's loader, the native addon
    for (const f of ['runtime/src/index.ts', 'runtime/src/checkpoint.ts', 'runtime/src/gradients.ts', 'runtime/src/webgpu.ts', 'runtime/src/backend.ts', 'train/src/index.ts', 'train/src/checkpoint_file.ts']) {
      expect(inputs).not.toContain(`packages/${f}`);
    }
    expect(inputs.some((f) => f.startsWith('packages/native/') || f.startsWith('packages/data/'))).toBe(false);
    const tfjs = Object.keys(bundle.metafile.inputs).filter((f) => f.includes('@tensorflow/'));
    expect(tfjs.some((f) => /\.node\.js$/.test(f))).toBe(false);
    expect(tfjs.some((f) => f.includes('tfjs-backend-webgl/dist/'))).toBe(true);
  });

  it('fails, naming each built-in and its importer, for a program that imports the Node entry', async () => {
    let err: unknown;
    try {
      await bundleForBrowser({ entry: join(REPO_ROOT, 'tools/browser/fixtures/node-entry.ts'), outfile: join(REPO_ROOT, 'tmp', 'browser', 'node-entry', 'out.js') });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NodeOnlyReachedError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^the browser bundle reaches Node-only code:/);
    expect(msg).toMatch(/Node built-in 'fs' {2}\(imported by packages\/runtime\/src\/checkpoint\.ts\)/);
    expect(msg).toMatch(/Node built-in 'crypto' {2}\(imported by packages\/runtime\/src\/checkpoint\.ts\)/);
    expect(msg).toMatch(/Node built-in 'module' {2}\(imported by packages\/runtime\/src\/webgpu\.ts\)/);
  });

  it("each package's browser entry exports exactly its Node entry's names less the Node-only ones", async () => {
    const { build } = await import('esbuild');
    const exportsOf = async (entry: string) => {
      const r = await build({ entryPoints: [join(REPO_ROOT, entry)], bundle: true, write: false, platform: 'neutral', format: 'esm', packages: 'external', metafile: true, logLevel: 'silent', outdir: join(REPO_ROOT, 'tmp', 'browser', 'exports') });
      return new Set(Object.values(r.metafile!.outputs)[0]!.exports);
    };
    const nodeOnly: Record<string, string[]> = {
      runtime: ['saveStateFile', 'loadStateFile', 'writeFileAtomic', 'writeFileAtomicSync'],
      train: ['saveCheckpoint', 'loadCheckpoint'],
    };
    for (const [pkg, only] of Object.entries(nodeOnly)) {
      const node = await exportsOf(`packages/${pkg}/src/index.ts`);
      const browser = await exportsOf(`packages/${pkg}/src/browser.ts`);
      for (const name of only) expect(node.has(name)).toBe(true);
      expect([...browser].sort()).toEqual([...node].filter((n) => !only.includes(n)).sort());
    }
  });
});

const chromium = findChromium();
if (chromium === undefined) {
  // eslint-disable-next-line no-console
  console.log('browser smoke: Chromium part skipped: no Chromium at /usr/bin/chromium (apt-get install chromium; see .ci/apt/cli.txt) or CHROMIUM_PATH');
}
const maybe = chromium !== undefined ? describe : describe.skip;

interface Smoke {
  backend: string;
  steps: number;
  losses: number[];
  rhos: number[];
  rho0: number;
  accuracy: number;
  checkpointBytes: number;
  checkpointKeys: string[];
  bitExact: boolean;
  fitBytesEqualEncoded: boolean;
  tensorsBefore: number;
  tensorsAfter: number;
  nodeFileApi: boolean;
  nodeOnlyRefusal: string;
  error?: string;
}

maybe('browser smoke in headless Chromium', () => {
  let browser: Browser;
  const runs: Record<string, Smoke> = {};
  beforeAll(async () => {
    if (!existsSync(join(out, 'smoke.js'))) {
      await bundleForBrowser({ entry: join(REPO_ROOT, 'tools/browser/smoke/main.ts'), outfile: join(out, 'smoke.js') });
      writeIndexHtml(out, './smoke.js');
    }
    browser = await launch(chromium!);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it.each(['cpu', 'webgl'])('trains LETS-SAM on %s: ρ moves and is read back, checkpoint bytes round-trip bit for bit, no leak, no console error', async (backend) => {
    const t0 = Date.now();
    const shot = join(REPO_ROOT, 'tmp', 'browser', `smoke-${backend}.png`);
    const run = await runInChromium<Smoke>(browser, out, { query: `backend=${backend}`, timeoutMs: 90_000, screenshot: shot });
    const r = run.result;
    // eslint-disable-next-line no-console
    console.log(`browser smoke on ${backend}: ${r.steps} steps, loss ${r.losses?.[0]?.toFixed(4)} → ${r.losses?.at(-1)?.toFixed(4)}, ρ ${r.rho0} → ${r.rhos?.at(-1)?.toPrecision(4)}, accuracy ${r.accuracy}, checkpoint ${r.checkpointBytes} bytes, page ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(r.error).toBeUndefined();
    expect(run.errors).toEqual([]);
    expect(r.backend).toBe(backend);
    expect(r.steps).toBe(12); // 64 training points / 16 a batch × 3 epochs
    expect(r.losses.at(-1)!).toBeLessThan(r.losses[0]!);
    expect(r.accuracy).toBeGreaterThan(0.8);
    expect(r.rhos.length).toBeGreaterThanOrEqual(12);
    expect(new Set(r.rhos).size).toBeGreaterThan(1);
    expect(r.rhos.at(-1)).not.toBe(r.rho0);
    expect(r.rhos.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    expect(r.checkpointKeys).toEqual(['smoke/last']);
    expect(r.checkpointBytes).toBeGreaterThan(100);
    expect(r.bitExact).toBe(true);
    expect(r.fitBytesEqualEncoded).toBe(true);
    expect(r.tensorsAfter).toBe(r.tensorsBefore);
    expect(r.nodeFileApi).toBe(false);
    expect(r.nodeOnlyRefusal).toBe(
      "@lets/runtime: backend 'native' is not available: it does not run in a browser. Here the backends are webgpu, webgl, wasm, cpu (or 'auto'); docs/browser.md says what runs where",
    );
    // the screenshot shows the page's printed result (dark text on white)
    const img = decodePng(readFileSync(shot));
    expect(countPixels(img, { x: 0, y: 0, width: 600, height: 400 }, [0, 0, 0], 80)).toBeGreaterThan(200);
    runs[backend] = r;
  });

  it('cpu and WebGL give the same losses to float32 rounding', () => {
    if (runs['cpu'] === undefined || runs['webgl'] === undefined) throw new Error('a backend run above failed');
    runs['cpu'].losses.forEach((l, i) => expect(Math.abs(l - runs['webgl']!.losses[i]!)).toBeLessThan(1e-3 * Math.max(1, Math.abs(l))));
  });
});

