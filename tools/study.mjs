#!/usr/bin/env node
// The LETS evidence study: every run of docs/results.md, from one command.
//
//   node tools/study.mjs [--groups noisy,clean,spam] [--seeds 0,1,2] [--jobs 2] [--only REGEX] [--report-only]
//   node tools/study.mjs --sharpness [--groups …]  (also measure λ_max and m-sharpness of each final model)
//   node tools/study.mjs --smoke --out DIR        (a few hundred examples, one epoch, one seed)
//   npx nx run tools:study                         (the same, through Nx)
//
// Each run is one `lets train` process (the command users run, at its defaults except for what
// the plan says). A finished run leaves a compact record in docs/results/runs/<group>/<id>.json
// (its summary, its ρ / gap / validation-loss traces, the commit and the machine), written
// atomically; a record that exists is never run again, so the study resumes where it stopped.
// Two studies may share the records (e.g. one per --groups, or --only subsets): a run recorded
// since this one planned it, or whose directory lock is held (by the lock's own judgment, lock.ts), is
// skipped, not removed. --sharpness measures a run directory only if its summary is the
// record's (the same test accuracy and final ρ), so it never attaches another run's model.
// Run directories (checkpoints, metrics) go to tmp/study/ and can be deleted. After the runs,
// the page docs/results.md and its plots (docs/results/*.svg) are regenerated from the records.
import { spawn, execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { createRequire } from 'node:module';
import { buildSync } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderReport } from './study/report.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// ---- options ----
const argv = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) {
    console.error(`study: --${name} needs a value`);
    process.exit(2);
  }
  return v;
};
const has = (name) => argv.includes(`--${name}`);
const known = new Set(['groups', 'seeds', 'jobs', 'report-only', 'smoke', 'out', 'dry-run', 'help', 'only', 'sharpness']);
for (const a of argv) {
  if (a.startsWith('--') && !known.has(a.slice(2))) {
    console.error(`study: unknown option ${a}; expected --groups, --seeds, --jobs, --only, --sharpness, --report-only, --smoke, --out, --dry-run`);
    process.exit(2);
  }
}
if (has('help')) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 14).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}
const smoke = has('smoke');
const outRoot = resolve(flag('out', smoke ? join(root, 'tmp', 'study-smoke') : root));
const recordsDir = join(outRoot, smoke ? 'runs' : 'docs/results/runs');
const runsDir = join(outRoot, smoke ? 'work' : 'tmp/study');
const pagePath = join(outRoot, smoke ? 'results.md' : 'docs/results.md');
const plotsDir = join(outRoot, smoke ? 'plots' : 'docs/results');
const jobs = Number(flag('jobs', String(Math.min(2, cpus().length))));
const seeds = flag('seeds', smoke ? '0' : '0,1,2').split(',').map(Number);
const groupNames = flag('groups', smoke ? 'smoke' : 'clean,noisy,spam').split(',');
if (!Number.isInteger(jobs) || jobs < 1) {
  console.error(`study: --jobs must be an integer ≥ 1, got ${flag('jobs')}`);
  process.exit(2);
}
if (seeds.some((s) => !Number.isInteger(s) || s < 0)) {
  console.error(`study: --seeds must be comma-separated integers ≥ 0, got ${flag('seeds')}`);
  process.exit(2);
}

// ---- the plan ----
// A group: the data and model of a setting, the budget, and the methods with their ρ (fixed)
// or ρ₀ (LETS) grids. Everything else is the `lets train` default.
const GROUPS = {
  noisy: {
    title: 'Noisy-label MNIST (40 % symmetric noise), CNN',
    args: ['--dataset', 'mnist', '--model', 'cnn', '--train-size', '10000', '--label-noise', '0.4', '--epochs', '12'],
    methods: [
      ['sgd', [0]],
      ['sam', [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]],
      ['lets-sam', [0.005, 0.05, 0.5]],
      ['asam', [0.05, 0.2, 0.5, 1, 2]],
      ['lets-asam', [0.05, 0.5, 5]],
      ['le-sam', [0.35]],
      ['gsam', [0.05]],
    ],
  },
  clean: {
    title: 'Clean MNIST at a small budget (10,000 examples, 5 epochs), MLP',
    args: ['--dataset', 'mnist', '--model', 'mlp', '--train-size', '10000', '--epochs', '5'],
    methods: [
      ['sgd', [0]],
      ['sam', [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2]],
      ['lets-sam', [0.005, 0.05, 0.5, 5]],
      ['le-sam', [0.35]],
      ['gsam', [0.05]],
    ],
  },
  spam: {
    // At the scale this machine runs: 2,000 e-mails (1,800 to train), 64 tokens each, 4 epochs,
    // Adam 1e-3 (SGD 0.05 with momentum does not train this Transformer: 30.6 % test, constant).
    title: 'SpamAssassin (2,000 e-mails, 64 tokens), Transformer, Adam, with and without 20 % label noise',
    args: ['--dataset', 'spam', '--model', 'transformer', '--train-size', '2000', '--seq-len', '64', '--optimizer', 'adam', '--lr', '0.001', '--epochs', '4'],
    variants: [
      ['clean', []],
      ['noise0.2', ['--label-noise', '0.2']],
    ],
    methods: [
      ['sgd', [0]],
      ['sam', [0.01, 0.05, 0.2, 0.5]],
      ['lets-sam', [0.005, 0.05, 0.5]],
    ],
  },
  smoke: {
    title: 'Smoke (a few hundred examples, one epoch)',
    args: ['--dataset', 'mnist', '--model', 'mlp', '--train-size', '400', '--test-size', '200', '--epochs', '1', '--batch-size', '50'],
    methods: [
      ['sgd', [0]],
      ['sam', [0.05, 0.5]],
      ['lets-sam', [0.05]],
    ],
  },
};

const planOf = (names, seedList) => {
  const out = [];
  for (const g of names) {
    const group = GROUPS[g];
    if (group === undefined) {
      console.error(`study: unknown group '${g}'; expected one of ${Object.keys(GROUPS).join(', ')}`);
      process.exit(2);
    }
    for (const [variant, vargs] of group.variants ?? [['', []]]) {
      for (const [method, rhos] of group.methods) {
        for (const rho of rhos) {
          for (const seed of seedList) {
            const id = [variant, method, method === 'sgd' ? '' : `rho${rho}`, `s${seed}`].filter(Boolean).join('-');
            const args = [...group.args, ...vargs, '--method', method, ...(method === 'sgd' ? [] : ['--rho', String(rho)]), '--seed', String(seed)];
            out.push({ group: g, variant, id, method, rho: method === 'sgd' ? 0 : rho, seed, args });
          }
        }
      }
    }
  }
  return out;
};
// --only REGEX: just the runs whose id matches (a targeted rerun after deleting their records).
const only = flag('only', undefined);
let onlyRe;
try {
  onlyRe = only === undefined ? undefined : new RegExp(only);
} catch (e) {
  console.error(`study: --only must be a regular expression, got ${only}: ${e.message}`);
  process.exit(2);
}
const plan = planOf(groupNames, seeds).filter((r) => onlyRe === undefined || onlyRe.test(r.id));
// The page reports against the whole study, whatever this invocation ran.
const fullPlan = smoke ? plan : planOf(['clean', 'noisy', 'spam'], [0, 1, 2]);
// Seed 0 of every run first, then seed 1, …: an interrupted study still covers every method.
plan.sort((a, b) => a.seed - b.seed || groupNames.indexOf(a.group) - groupNames.indexOf(b.group));

// ---- the machine and the commit ----
const machine = () => {
  const model = cpus()[0]?.model?.trim() ?? 'unknown CPU';
  // The BLAS core decides the dense layers' last bits: a record says which one it ran with when it
  // was set by hand (an AMD EPYC Zen 4 with OPENBLAS_CORETYPE=SkylakeX gives the Xeon records' bits).
  const core = process.env.OPENBLAS_CORETYPE ? `, OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE}` : '';
  return `${model}, ${cpus().length} cores, Node ${process.version}${core}`;
};
const commit = () => {
  try {
    const head = execFileSync('git', ['rev-parse', '--short=7', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', 'packages'], { cwd: root, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
};

const writeAtomic = (path, text) => {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
};

const recordPath = (r) => join(recordsDir, r.group, `${r.id}.json`);

/** Whether a run directory's summary is the run a record describes (same test accuracy, test loss and final ρ). */
const isRecordedRun = (sum, recSummary) =>
  sum !== undefined && recSummary !== undefined && sum.testAccuracy === recSummary.testAccuracy && sum.testLoss === recSummary.testLoss && sum.finalRho === recSummary.finalRho;

/** The summary keys a record keeps. */
const KEEP = ['method', 'dataset', 'model', 'backend', 'seed', 'rho0', 'finalRho', 'epochs', 'steps', 'testAccuracy', 'testLoss',
  'valAccuracy', 'valLoss', 'valLabels', 'valCleanAccuracy', 'valCleanLoss', 'trainAccuracy', 'trainLoss', 'gap', 'bestValAccuracy', 'wallSeconds'];

/** The compact record of a finished run: summary plus traces sampled to ≤ 200 points. */
const recordOf = (r, dir, wall, startCommit) => {
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const steps = lines.filter((l) => l.type === 'step');
  const every = Math.max(1, Math.ceil(steps.length / 200));
  const trace = steps.filter((_, i) => i % every === 0 || i === steps.length - 1).map((l) => ({
    step: l.step,
    rho: l.rho,
    loss: l.loss,
    ...(typeof l.gap === 'number' ? { gap: l.gap } : {}),
    ...(typeof l.valLoss === 'number' ? { valLoss: l.valLoss } : {}),
  }));
  const updates = steps.filter((l) => typeof l.gap === 'number');
  const epochs = lines.filter((l) => l.type === 'epoch').map((l) => ({
    epoch: l.epoch, rho: l.rho, trainLoss: l.trainLoss, valLoss: l.valLoss,
    ...(typeof l.valCleanLoss === 'number' ? { valCleanLoss: l.valCleanLoss } : {}),
    testAccuracy: l.testAccuracy, gap: l.gap,
  }));
  return {
    id: r.id, group: r.group, variant: r.variant, method: r.method, rho: r.rho, seed: r.seed,
    command: `lets train ${r.args.join(' ')}`,
    commit: startCommit, machine: machine(), finished: new Date().toISOString(), processSeconds: wall,
    summary: Object.fromEntries(KEEP.filter((k) => k in summary).map((k) => [k, summary[k]])),
    updates: updates.length,
    trace, epochs,
  };
};

// The run-directory lock's own judgment of its owner (packages/cli/src/lock.ts, `liveOwner`: a
// live process of this host started when the lock says, or another host's), loaded from its
// source the way the launcher runs the CLI, so the study and `lets train` agree on it.
let lockModule;
const liveLockOwner = (dir) => {
  if (lockModule === undefined) {
    const outfile = join(root, 'tmp', 'study-lock.cjs');
    buildSync({ entryPoints: [join(root, 'packages/cli/src/lock.ts')], bundle: true, platform: 'node', format: 'cjs', outfile, logLevel: 'warning', external: ['fp-ts', 'fp-ts/*'] });
    lockModule = createRequire(join(root, 'package.json'))(outfile);
  }
  const owner = lockModule.liveOwner(dir);
  return owner === undefined ? undefined : { owner, text: lockModule.describeOwner(owner) };
};

const runOne = (r) =>
  new Promise((done) => {
    const dir = join(runsDir, r.group, r.id);
    // Another study on the same records may have finished this run since the plan was made, or be
    // running it now (its directory locked by a live process): neither is redone nor removed.
    if (existsSync(recordPath(r))) {
      console.log(`study: ${r.group}/${r.id}: recorded since this study planned it (another study?), skipped`);
      return done();
    }
    const held = liveLockOwner(dir);
    if (held !== undefined) {
      console.log(`study: ${r.group}/${r.id}: skipped: ${dir} is in use by ${held.text}`);
      return done();
    }
    rmSync(dir, { recursive: true, force: true }); // an unfinished run restarts from step 0
    mkdirSync(dirname(dir), { recursive: true });
    const t0 = Date.now();
    const startCommit = commit(); // the code the run loads is the code at its start
    const threads = String(Math.max(1, Math.floor(cpus().length / jobs)));
    const child = spawn(process.execPath, [join(root, 'packages/cli/bin/lets.js'), 'train', ...r.args, '--out', dir, '--json', '--no-report', '--log-every', '5'], {
      cwd: root,
      env: { ...process.env, LETS_NATIVE_THREADS: process.env.LETS_NATIVE_THREADS ?? threads },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stdout.on('data', () => {});
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const wall = (Date.now() - t0) / 1000;
      if (code === 0 && existsSync(join(dir, 'summary.json'))) {
        const rec = recordOf(r, dir, wall, startCommit);
        writeAtomic(recordPath(r), `${JSON.stringify(rec, null, 1)}\n`);
        console.log(`study: ${r.group}/${r.id}: test ${(rec.summary.testAccuracy * 100).toFixed(2)}%, ρ ${rec.summary.finalRho?.toPrecision(3)}, ${wall.toFixed(0)} s`);
      } else {
        // A run that fails by itself (divergence) is recorded as failed, so it is reported, not retried forever.
        const message = err.trim().split('\n').slice(-3).join(' ').slice(0, 500);
        writeAtomic(recordPath(r), `${JSON.stringify({ id: r.id, group: r.group, variant: r.variant, method: r.method, rho: r.rho, seed: r.seed, command: `lets train ${r.args.join(' ')}`, commit: startCommit, machine: machine(), failed: true, exitCode: code, message }, null, 1)}\n`);
        console.log(`study: ${r.group}/${r.id}: FAILED (exit ${code}): ${message}`);
      }
      done();
    });
  });

// A record written before a summary key was kept (KEEP) gains it from its run directory, when
// that directory is the recorded run (same test accuracy, test loss and final ρ) and its summary
// has the key; nothing else of the record changes.
for (const r of plan) {
  if (!existsSync(recordPath(r))) continue;
  const sumPath = join(runsDir, r.group, r.id, 'summary.json');
  if (!existsSync(sumPath)) continue;
  const rec = JSON.parse(readFileSync(recordPath(r), 'utf8'));
  const sum = JSON.parse(readFileSync(sumPath, 'utf8'));
  if (rec.failed || !isRecordedRun(sum, rec.summary)) continue;
  const missing = KEEP.filter((k) => k in sum && !(k in rec.summary));
  if (missing.length === 0) continue;
  rec.summary = Object.fromEntries(KEEP.filter((k) => k in rec.summary || missing.includes(k)).map((k) => [k, k in rec.summary ? rec.summary[k] : sum[k]]));
  writeAtomic(recordPath(r), `${JSON.stringify(rec, null, 1)}\n`);
  console.log(`study: ${r.group}/${r.id}: record gained ${missing.join(', ')} from its run directory`);
}

const todo = plan.filter((r) => !existsSync(recordPath(r)));
console.log(`study: ${plan.length} runs planned, ${plan.length - todo.length} recorded, ${todo.length} to run (${jobs} at a time) — ${machine()}`);
if (has('dry-run')) {
  for (const r of todo) console.log(`  ${r.group}/${r.id}: lets train ${r.args.join(' ')}`);
  process.exit(0);
}

let stopping = false;
process.on('SIGINT', () => {
  stopping = true;
  console.log('study: stopping after the runs in progress (their records are written when they finish)');
});

if (!has('report-only')) {
  const queue = [...todo];
  await Promise.all(
    Array.from({ length: Math.min(jobs, queue.length) }, async () => {
      while (queue.length > 0 && !stopping) await runOne(queue.shift());
    }),
  );
}

// ---- sharpness of the final models (lets sharpness on each run's last checkpoint) ----
const sharpnessOf = (r) =>
  new Promise((done) => {
    const path = recordPath(r);
    if (!existsSync(path)) return done();
    const rec = JSON.parse(readFileSync(path, 'utf8'));
    const dir = join(runsDir, r.group, r.id);
    if (rec.failed || rec.sharpness !== undefined || !existsSync(join(dir, 'checkpoints', 'last.ckpt'))) return done();
    // The run directory must be the run the record describes (a later rerun of the same id, or
    // an older one, would attach another model's sharpness to this record).
    const summaryPath = join(dir, 'summary.json');
    const sum = existsSync(summaryPath) ? JSON.parse(readFileSync(summaryPath, 'utf8')) : undefined;
    if (!isRecordedRun(sum, rec.summary)) {
      console.log(`study: ${r.group}/${r.id}: sharpness skipped: ${dir} is not the recorded run (its summary ${sum === undefined ? 'is missing' : `says test ${sum.testAccuracy}, ρ ${sum.finalRho}; the record ${rec.summary?.testAccuracy}, ρ ${rec.summary?.finalRho}`})`);
      return done();
    }
    const child = spawn(process.execPath, [join(root, 'packages/cli/bin/lets.js'), 'sharpness', dir, '--checkpoint', 'last', '--what', 'eig,msharp', '--no-report', '--quiet'], {
      cwd: root,
      env: { ...process.env, LETS_NATIVE_THREADS: process.env.LETS_NATIVE_THREADS ?? String(Math.max(1, Math.floor(cpus().length / jobs))) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      if (code === 0 && existsSync(join(dir, 'sharpness.json'))) {
        const sj = JSON.parse(readFileSync(join(dir, 'sharpness.json'), 'utf8'));
        rec.sharpness = {
          checkpoint: sj.checkpoint, subset: sj.subset, loss: sj.loss,
          lambdaMax: sj.eigenvalues?.values?.[0], hvps: sj.eigenvalues?.hvps, estimator: sj.eigenvalues?.estimator,
          mSharpness: sj.msharpness?.plain?.sharpness, mSharpnessRho: sj.msharpness?.plain?.rho,
          adaptiveMSharpness: sj.msharpness?.adaptive?.sharpness, adaptiveRho: sj.msharpness?.adaptive?.rho,
          commit: commit(),
        };
        writeAtomic(path, `${JSON.stringify(rec, null, 1)}\n`);
        console.log(`study: ${r.group}/${r.id}: λ_max ${rec.sharpness.lambdaMax?.toPrecision(4)}, m-sharpness ${rec.sharpness.mSharpness?.toPrecision(3)}`);
      } else console.log(`study: ${r.group}/${r.id}: sharpness FAILED (exit ${code}): ${err.trim().split('\n').slice(-2).join(' ').slice(0, 300)}`);
      done();
    });
  });
if (has('sharpness') && !stopping) {
  const queue = [...plan];
  await Promise.all(
    Array.from({ length: Math.min(jobs, queue.length) }, async () => {
      while (queue.length > 0 && !stopping) await sharpnessOf(queue.shift());
    }),
  );
}

// ---- the page ----
const records = [];
if (existsSync(recordsDir)) {
  for (const g of readdirSync(recordsDir)) {
    for (const f of readdirSync(join(recordsDir, g))) if (f.endsWith('.json')) records.push(JSON.parse(readFileSync(join(recordsDir, g, f), 'utf8')));
  }
}
const readingPath = join(root, 'tools', 'study', 'reading.md');
const reading = !smoke && existsSync(readingPath) ? readFileSync(readingPath, 'utf8') : '';
const { markdown, plots } = renderReport({ records, groups: GROUPS, plan: fullPlan, plotsRel: smoke ? 'plots' : 'results', smoke, reading });
for (const [name, svg] of Object.entries(plots)) writeAtomic(join(plotsDir, name), svg);
writeAtomic(pagePath, markdown);
console.log(`study: wrote ${pagePath} (${records.length} records, ${Object.keys(plots).length} plots)`);
