#!/usr/bin/env node
// Measures the main job (`npm start`: lets compare --preset main): wall time of the whole
// command, and per run the test accuracy, final ρ, wall and CPU seconds (CPU seconds show the
// compute even when other processes share the machine). Extra arguments go to `lets compare`.
// Usage: node tools/cli-main-job.mjs [--epochs 2 ...]
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(mkdtempSync(join(tmpdir(), 'lets-main-job-')), 'compare');
const t0 = Date.now();
const r = spawnSync(process.execPath, [join(root, 'packages/cli/bin/lets.js'), 'compare', '--preset', 'main', '--out', out, '--json', ...process.argv.slice(2)], {
  encoding: 'utf8',
  maxBuffer: 1 << 26,
});
const wall = (Date.now() - t0) / 1000;
if (r.status !== 0) {
  process.stderr.write(r.stderr);
  process.exit(r.status ?? 1);
}
const res = JSON.parse(r.stdout);
console.log(`main job: ${wall.toFixed(1)} s wall on ${cpus().length} cores (load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}), backend ${res.backend}, ${res.jobs} jobs`);
for (const run of res.runs) {
  const s = run.summary;
  if (!s) console.log(`  ${run.id}: FAILED ${run.error}`);
  else console.log(`  ${run.id}: test accuracy ${(100 * s.testAccuracy).toFixed(2)}%, final ρ ${s.finalRho.toPrecision(3)}, ${s.steps} steps, ${s.wallSeconds.toFixed(1)} s wall, ${s.cpuSeconds.toFixed(1)} s CPU`);
}
console.log(`output: ${out}`);
