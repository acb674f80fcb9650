#!/usr/bin/env node
/*
 * Soak test of the `lets` run directory (not part of `npm test`; takes a few minutes):
 * one run with --checkpoint-every 1, killed with SIGKILL at random moments (some during
 * start-up, most during training), resumed after each kill; at the end its summary.json,
 * metrics.jsonl and both checkpoints must be byte-identical to those of an uninterrupted run
 * (the clock is frozen with LETS_FIXED_CLOCK=1 so timings do not differ; summary.json's
 * `resumed` is the one field that must differ).
 *
 *   node tools/cli-soak.mjs [--kills 50] [--seed 1] [--epochs 12] [--dir /tmp/lets-soak]
 *
 * Exit 0 when every file matches and all kills happened; 1 otherwise.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const LAUNCHER = join(root, 'packages', 'cli', 'bin', 'lets.js');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const KILLS = Number(arg('kills', '50'));
const SEED = Number(arg('seed', '1'));
const EPOCHS = arg('epochs', '12');
const base = arg('dir', mkdtempSync(join(tmpdir(), 'lets-soak-')));
const RUN = ['--preset', 'smoke', '--method', 'lets-sam', '--batch-size', '8', '--epochs', EPOCHS, '--checkpoint-every', '1', '--no-report'];
const env = { ...process.env, LETS_FIXED_CLOCK: '1' };

// A small seeded generator, so a soak can be repeated.
let s = SEED >>> 0 || 1;
const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);

function lets(args, killAfter) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [LAUNCHER, 'train', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let timer;
    let firstStep = false;
    const arm = (ms) => {
      timer = setTimeout(() => child.kill('SIGKILL'), ms);
    };
    if (killAfter?.fromStart !== undefined) arm(killAfter.fromStart);
    child.stdout.on('data', (d) => {
      if (!firstStep && killAfter?.afterFirstStep !== undefined && d.toString().includes('"event":"step"')) {
        firstStep = true;
        arm(killAfter.afterFirstStep);
      }
    });
    child.stderr.on('data', (d) => (err += d.toString()));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, err });
    });
  });
}

const t0 = Date.now();
const ref = join(base, 'run');
rmSync(ref, { recursive: true, force: true });
rmSync(`${ref}.ref`, { recursive: true, force: true });
console.log(`soak: ${KILLS} SIGKILLs, seed ${SEED}, in ${base}`);
const r0 = await lets([...RUN, '--quiet', '--out', ref]);
if (r0.code !== 0) {
  console.error(`reference run failed: ${r0.err}`);
  process.exit(1);
}
renameSync(ref, `${ref}.ref`);
const refSeconds = (Date.now() - t0) / 1000;
console.log(`reference run: ${refSeconds.toFixed(1)} s`);

const dir = ref; // the soaked run has the same path, so summary.runDir matches
const seen = { kills: 0, beforeConfig: 0, beforeCheckpoint: 0, orphanTemps: 0, stagedBest: 0, resumes: 0 };
const stepsAt = [];
const lastStep = () => {
  const m = join(dir, 'metrics.jsonl');
  if (!existsSync(m)) return 0;
  const lines = readFileSync(m, 'utf8').split('\n').filter((l) => l.includes('"type":"step"'));
  try {
    return JSON.parse(lines[lines.length - 1] ?? '{"step":0}').step;
  } catch {
    return -1;
  }
};
let finished = false;
while (!finished) {
  const started = existsSync(join(dir, 'config.json'));
  if (started) {
    const ck = existsSync(join(dir, 'checkpoints')) ? readdirSync(join(dir, 'checkpoints')) : [];
    seen.orphanTemps += ck.filter((f) => f.endsWith('.tmp')).length + readdirSync(dir).filter((f) => f.endsWith('.tmp')).length;
    seen.stagedBest += ck.filter((f) => /^\.best-\d+\.ckpt$/.test(f)).length;
    if (!ck.includes('last.ckpt')) seen.beforeCheckpoint++;
    seen.resumes++;
  } else if (existsSync(dir)) seen.beforeConfig++;
  const args = started ? ['--resume', dir, '--events'] : [...RUN, '--events', '--out', dir];
  const kill = seen.kills >= KILLS ? undefined : rand() < 0.2 ? { fromStart: Math.floor(rand() * 1500) } : { afterFirstStep: Math.floor(rand() * 600) };
  const r = await lets(args, kill);
  if (r.signal === 'SIGKILL') {
    seen.kills++;
    stepsAt.push(lastStep());
    continue;
  }
  if (r.code !== 0) {
    console.error(`a run exited ${r.code} after ${seen.kills} kills: ${r.err}`);
    process.exit(1);
  }
  finished = true;
}

const same = (f) => readFileSync(join(dir, f)).equals(readFileSync(join(`${ref}.ref`, f)));
const results = {};
for (const f of ['metrics.jsonl', 'checkpoints/last.ckpt', 'checkpoints/best.ckpt', 'config.json']) results[f] = same(f);
const a = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
const b = JSON.parse(readFileSync(join(`${ref}.ref`, 'summary.json'), 'utf8'));
results['summary.json (but resumed)'] = JSON.stringify({ ...a, resumed: b.resumed }, null, 2) === JSON.stringify(b, null, 2);
results['no leftovers'] = readdirSync(join(dir, 'checkpoints')).sort().join(',') === 'best.ckpt,last.ckpt' && !existsSync(join(dir, 'lock'));
const ok = Object.values(results).every(Boolean) && seen.kills === KILLS;
console.log(`kills: ${seen.kills} (${seen.beforeConfig} before config.json, ${seen.beforeCheckpoint} before the first checkpoint); resumes: ${seen.resumes}; orphan temps cleaned: ${seen.orphanTemps}; staged best.ckpt found: ${seen.stagedBest}`);
console.log(`last logged step at each kill: ${stepsAt.join(' ')}`);
for (const [k, v] of Object.entries(results)) console.log(`  ${v ? 'identical' : 'DIFFERENT'}  ${k}`);
console.log(`${ok ? 'PASS' : 'FAIL'}: ${a.steps} steps, ${((Date.now() - t0) / 1000).toFixed(0)} s in all`);
process.exit(ok ? 0 : 1);
