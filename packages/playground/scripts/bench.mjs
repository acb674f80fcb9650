#!/usr/bin/env node
// Steps per second of the playground's model in headless Chromium, per backend: builds the page,
// serves it on 127.0.0.1, runs `--steps` steps on each backend (one step = a SAM step and a
// LETS-SAM step on the same batch; test accuracy every 50 steps, as the page does) and reports
// the page's own timing (the steps after the first, which compiles shaders and warms up).
//
// Usage: node packages/playground/scripts/bench.mjs [--backends webgl,wasm,cpu,webgpu] [--steps 40] [--query 'batch=64&hidden=128'] [--json]
import { build } from 'esbuild';
import { spawnSync, execSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = join(here, '..');
const root = join(pkgDir, '..', '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
};
const backends = opt('backends', 'webgl,wasm,cpu,webgpu').split(',');
const steps = Number(opt('steps', '40'));
const query = opt('query', '');
const outDir = join(root, 'tmp', 'playground-bench', 'dist');

// the test's browser helpers (TypeScript), bundled for Node on the fly
const helpers = join(root, 'tmp', 'playground-bench', 'browser.cjs');
await build({
  entryPoints: [join(root, 'tools/browser/chromium.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  outfile: helpers,
  external: ['playwright-core', 'pngjs', 'esbuild'],
  logLevel: 'warning',
});
const { findChromium, launch, openPage, serveStatic } = createRequire(import.meta.url)(helpers);

const chromium = findChromium();
if (!chromium) {
  console.error('playground bench: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)');
  process.exit(1);
}
const b = spawnSync(process.execPath, [join(here, 'build.mjs'), '--out', outDir], { encoding: 'utf8' });
if (b.status !== 0) {
  console.error(b.stdout, b.stderr);
  process.exit(1);
}
const { server, url } = await serveStatic(outDir);
const browser = await launch(chromium);
const version = browser.version();
const cpu = (() => {
  try {
    return execSync('lscpu', { encoding: 'utf8' }).match(/Model name:\s*(.+)/)?.[1]?.trim();
  } catch {
    return cpus()[0]?.model;
  }
})();

/** CPU seconds (user + system) used so far by this process's child processes and their descendants (Chromium's). */
function childCpuSeconds() {
  const stats = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' '); // fields from 3 on
      stats.set(Number(d), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // gone meanwhile
    }
  }
  const mine = new Set([process.pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, s] of stats) if (!mine.has(pid) && mine.has(s.ppid)) (mine.add(pid), (grew = true));
  }
  mine.delete(process.pid);
  let ticks = 0;
  for (const pid of mine) ticks += stats.get(pid).ticks;
  return ticks / 100; // USER_HZ
}

const rows = [];
for (const backend of backends) {
  const load0 = loadavg()[0];
  const t0 = Date.now();
  const { page, errors } = await openPage(browser, `${url}?backend=${backend}&steps=${steps}${query ? `&${query}` : ''}`);
  let cpu0 = NaN;
  let fromStep = 0;
  try {
    // CPU time is taken from the end of the first step, like the page's own timing
    await page.waitForFunction(() => window.playground?.step >= 1 || window.playground?.status === 'error', null, { timeout: 300_000, polling: 20 });
    cpu0 = childCpuSeconds();
    fromStep = await page.evaluate(() => window.playground.step);
    await page.waitForFunction(() => ['done', 'error'].includes(window.playground?.status), null, { timeout: 590_000, polling: 500 });
  } catch (e) {
    errors.push(String(e));
  }
  const s = await page.evaluate(() => JSON.parse(JSON.stringify(window.playground)));
  const cpuSeconds = childCpuSeconds() - cpu0;
  rows.push({
    cpuSecondsPerStep: s.step > fromStep ? cpuSeconds / (s.step - fromStep) : undefined,
    backend,
    used: s.backend,
    status: s.status,
    error: s.error ?? (errors.length ? errors[0] : undefined),
    steps: s.timing.steps,
    stepsPerSecond: s.timing.stepsPerSecond,
    msPerStep: s.timing.steps ? (1000 * s.timing.seconds) / s.timing.steps : undefined,
    pageSeconds: (Date.now() - t0) / 1000,
    load: [load0, loadavg()[0]],
    finalAccuracy: { sam: s.evaluations.sam.at(-1)?.accuracy, lets: s.evaluations.lets.at(-1)?.accuracy },
    rho: s.history.lets.at(-1)?.rho,
  });
  await page.close();
}
await browser.close();
server.close();

const settings = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).name;
if (args.includes('--json')) {
  console.log(JSON.stringify({ chromium: version, cpu, cores: cpus().length, steps, query, rows }, null, 2));
} else {
  console.log(`${settings} bench: Chromium ${version}, ${cpu} (${cpus().length} cores), ${steps} steps${query ? `, ${query}` : ''}`);
  console.log('| backend | steps/s | ms/step | Chromium CPU ms/step | load (1 min) before → after | note |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    const note = r.status === 'done' ? (r.used !== r.backend ? `ran on ${r.used}` : '') : `${r.status}: ${r.error ?? ''}`;
    console.log(
      `| ${r.backend} | ${r.status === 'done' ? r.stepsPerSecond.toFixed(2) : '–'} | ${r.status === 'done' ? r.msPerStep.toFixed(0) : '–'} | ` +
        `${r.status === 'done' && r.cpuSecondsPerStep !== undefined ? (1000 * r.cpuSecondsPerStep).toFixed(0) : '–'} | ` +
        `${r.load[0].toFixed(1)} → ${r.load[1].toFixed(1)} | ${note} |`,
    );
  }
}
