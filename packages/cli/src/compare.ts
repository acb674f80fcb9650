/**
 * `lets compare`: several methods on the same data, seeds and budget. Fixed-ρ methods run once
 * per ρ of the grid (`--rhos`), LETS methods once per ρ₀ (`--rho0s`), each once per seed.
 * Runs go to worker processes (`lets train --events` in runs/<id>/), `--jobs` at a time,
 * default one per core (tfjs's wasm backend is single-threaded in Node, so a process per core
 * is how a comparison uses the machine; the native backend gets cores/jobs threads a worker). With one job the runs happen in this process.
 *
 * Directory: compare.json (options, runs, table), configs/<id>.json, runs/<id>/ (each a run
 * directory), report.html.
 */
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { readJson, writeJsonAtomic } from './files';
import { CompareOptions, RunFlags, TrainOptions } from './options';
import { barProgress, silentProgress } from './progress';
import { openNewRun } from './rundir';
import { Interrupted, watchSignals } from './signals';
import { prepareRun, resumeCommand, shellWord, train, TrainSummary } from './train';

export interface CompareRun {
  readonly id: string;
  readonly method: string;
  readonly rho0: number;
  readonly seed: number;
  readonly learnsRho: boolean;
  readonly summary: TrainSummary | null;
  readonly error?: string;
}

export interface CompareRowStats {
  readonly method: string;
  readonly rho0: number;
  readonly learnsRho: boolean;
  readonly n: number;
  readonly testAccuracyMean: number;
  /** Sample standard deviation over seeds (0 with one seed). */
  readonly testAccuracyStd: number;
  readonly finalRhoMean: number;
  readonly gapMean: number;
  readonly accuracyGapMean: number;
  readonly wallSecondsMean: number;
}

export interface CompareResult {
  readonly command: 'compare';
  readonly options: Omit<CompareOptions, 'base'> & { readonly base: TrainOptions };
  readonly runs: readonly CompareRun[];
  readonly table: readonly CompareRowStats[];
  readonly wallSeconds: number;
  readonly backend: string;
  readonly jobs: number;
  readonly dir: string;
}

/** The runs of a comparison, in order: method × (ρ grid or ρ₀ values) × seed. */
export function planRuns(opts: CompareOptions): { id: string; options: TrainOptions; learnsRho: boolean }[] {
  const out: { id: string; options: TrainOptions; learnsRho: boolean }[] = [];
  for (const method of opts.methods) {
    const learnsRho = method.startsWith('lets-');
    const rhos = method === 'sgd' ? [0] : learnsRho ? opts.rho0s : opts.rhos;
    for (const rho of rhos) {
      for (const seed of opts.seeds) {
        const id = method === 'sgd' ? `sgd-seed${seed}` : `${method}-rho${rho}-seed${seed}`;
        out.push({ id, learnsRho, options: { ...opts.base, method, rho: method === 'sgd' ? opts.base.rho : rho, seed } });
      }
    }
  }
  return out;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const std = (xs: readonly number[]): number => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
};

/** Groups finished runs by (method, ρ/ρ₀) into mean ± std rows. */
export function tabulate(runs: readonly CompareRun[]): CompareRowStats[] {
  const groups = new Map<string, CompareRun[]>();
  for (const r of runs) {
    if (r.summary === null) continue;
    const k = `${r.method}\u0000${r.rho0}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const s = g.map((r) => r.summary as TrainSummary);
    const first = g[0] as CompareRun;
    return {
      method: first.method,
      rho0: first.rho0,
      learnsRho: first.learnsRho,
      n: g.length,
      testAccuracyMean: mean(s.map((x) => x.testAccuracy)),
      testAccuracyStd: std(s.map((x) => x.testAccuracy)),
      finalRhoMean: mean(s.map((x) => x.finalRho)),
      gapMean: mean(s.map((x) => x.gap)),
      accuracyGapMean: mean(s.map((x) => x.accuracyGap)),
      wallSecondsMean: mean(s.map((x) => x.wallSeconds)),
    };
  });
}

/** The comparison as a text table. */
export function formatTable(r: CompareResult): string {
  const head = ['method', 'ρ / ρ₀', 'seeds', 'test accuracy (mean ± std)', 'final ρ', 'gap (test−train loss)', 'train−test acc', 'wall s'];
  const rows = r.table.map((t) => [
    t.method,
    t.method === 'sgd' ? '–' : String(t.rho0),
    String(t.n),
    `${(100 * t.testAccuracyMean).toFixed(2)}% ± ${(100 * t.testAccuracyStd).toFixed(2)}`,
    t.method === 'sgd' ? '–' : t.finalRhoMean.toPrecision(3),
    t.gapMean.toFixed(4),
    `${(100 * t.accuracyGapMean).toFixed(2)}%`,
    t.wallSecondsMean.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  const failed = r.runs.filter((x) => x.summary === null);
  return [
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `${r.runs.length - failed.length}/${r.runs.length} runs on ${r.backend}, ${r.jobs} at a time, ${r.wallSeconds.toFixed(1)} s in all`,
    ...failed.map((f) => `FAILED ${f.id}: ${f.error ?? 'unknown error'}`),
  ].join('\n');
}

/** The command that starts a worker: this module's entry (the launcher, the bundle or dist/main.js). */
function workerEntry(): string {
  return process.env['LETS_CLI_ENTRY'] ?? require.main?.filename ?? join(__dirname, 'main.js');
}

interface Status {
  text: string;
}

/** Runs one worker process; resolves with its summary (or the error it printed). */
function runWorker(configFile: string, outDir: string, jobs: number, status: Status, onEvent: (ev: Record<string, number | string>) => void): Promise<{ summary: TrainSummary | null; error?: string }> {
  return new Promise((resolveRun) => {
    // The native backend's OpenMP/OpenBLAS threads: share the cores among the workers rather
    // than oversubscribe them (unless the user chose a count).
    const threads = process.env['LETS_NATIVE_THREADS'] ?? String(Math.max(1, Math.floor(cpus().length / jobs)));
    const child = spawn(process.execPath, [workerEntry(), 'train', '--config', configFile, '--out', outDir, '--events'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LETS_NATIVE_THREADS: threads },
    });
    let errText = '';
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const ev = JSON.parse(line) as Record<string, number | string>;
          if (ev['event'] === 'step') {
            status.text = `e${(ev['epoch'] as number) + 1}/${ev['epochs']} ${Math.round((100 * (ev['batch'] as number)) / (ev['batches'] as number))}% acc ${(100 * (ev['accuracy'] as number)).toFixed(1)}% ρ ${(ev['rho'] as number).toPrecision(3)}`;
          } else if (ev['event'] === 'epoch') {
            status.text = `epoch ${ev['epoch']}/${ev['epochs']} test acc ${(100 * (ev['testAccuracy'] as number)).toFixed(2)}%`;
          }
          onEvent(ev);
        } catch {
          /* not an event line */
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      errText = (errText + d.toString('utf8')).slice(-4000);
    });
    child.on('close', (code) => {
      if (code === 0) {
        const s = readJson(join(outDir, 'summary.json'));
        if (E.isRight(s)) return resolveRun({ summary: s.right as TrainSummary });
        return resolveRun({ summary: null, error: s.left });
      }
      resolveRun({ summary: null, error: `exit ${code}: ${errText.trim().split('\n').slice(-3).join(' | ')}` });
    });
  });
}

/** Runs the comparison into `dir` and writes compare.json. */
export async function runCompare(opts: CompareOptions, dir: string, flags: RunFlags, io: { stderr: NodeJS.WritableStream }): Promise<CompareResult> {
  const t0 = Date.now();
  const plan = planRuns(opts);
  const jobs = Math.max(1, Math.min(opts.jobs ?? cpus().length, plan.length));
  const runs: CompareRun[] = plan.map((p) => ({ id: p.id, method: p.options.method, rho0: p.options.rho, seed: p.options.seed, learnsRho: p.learnsRho, summary: null }));
  const save = (backend: string): CompareResult => {
    const result: CompareResult = { command: 'compare', options: opts, runs, table: tabulate(runs), wallSeconds: (Date.now() - t0) / 1000, backend, jobs, dir };
    writeJsonAtomic(join(dir, 'compare.json'), result);
    return result;
  };
  save(opts.base.backend);
  let backend = opts.base.backend;
  const err = io.stderr as NodeJS.WriteStream;
  if (jobs === 1) {
    for (const [i, p] of plan.entries()) {
      const ctx = await prepareRun(p.options);
      if (E.isLeft(ctx)) {
        runs[i] = { ...(runs[i] as CompareRun), error: ctx.left };
        continue;
      }
      backend = ctx.right.backend;
      const progress = flags.quiet ? silentProgress : barProgress(p.id, err);
      const opened = openNewRun(join(dir, 'runs', p.id), 'run', 'compare');
      if (E.isLeft(opened)) {
        runs[i] = { ...(runs[i] as CompareRun), error: opened.left };
        continue;
      }
      try {
        const s = await train(ctx.right, opened.right.dir, { ...flags, json: false, events: false }, { progress, stderr: err });
        runs[i] = { ...(runs[i] as CompareRun), summary: s };
      } catch (e) {
        runs[i] = { ...(runs[i] as CompareRun), error: (e as Error).message };
        // A signal stops the whole comparison (the run checkpointed; compare.json says so).
        if (e instanceof Interrupted) {
          save(backend);
          throw e;
        }
      } finally {
        opened.right.lock.release();
      }
      save(backend);
    }
    return save(backend);
  }
  // Every run's config up front: a comparison stopped early says how to start the rest.
  for (const p of plan) writeJsonAtomic(join(dir, 'configs', `${p.id}.json`), p.options);
  const statuses: Status[] = plan.map(() => ({ text: 'waiting' }));
  const tty = err.isTTY === true && !flags.quiet;
  let lastDraw = 0;
  const draw = (force = false): void => {
    if (!tty || (!force && Date.now() - lastDraw < 250)) return;
    lastDraw = Date.now();
    const active = plan.map((p, i) => ({ p, s: statuses[i] as Status })).filter((x) => x.s.text !== 'waiting' && !x.s.text.startsWith('done'));
    err.write(`\r${active.map((x) => `[${x.p.id} ${x.s.text}]`).join(' ')}\x1b[K`);
  };
  const say = (msg: string): void => {
    if (!flags.quiet) err.write(`${tty ? '\r\x1b[K' : ''}${msg}\n`);
  };
  let next = 0;
  // A signal (Ctrl-C reaches the workers too): start no new run, let the running ones
  // checkpoint (or finish), then stop; a second signal ends this process at once.
  const signals = watchSignals((s) => err.write(`${tty ? '\r\x1b[K' : ''}lets compare: ${s}: starting no new runs; waiting for the running ones to checkpoint or finish (${s === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again exits at once)\n`));
  const worker = async (): Promise<void> => {
    while (next < plan.length && signals.requested() === undefined) {
      const i = next++;
      const p = plan[i] as (typeof plan)[number];
      const configFile = join(dir, 'configs', `${p.id}.json`);
      say(`started ${p.id}`);
      (statuses[i] as Status).text = 'starting';
      let decile = -1;
      const r = await runWorker(configFile, join(dir, 'runs', p.id), jobs, statuses[i] as Status, (ev) => {
        if (tty) return draw();
        // Without a terminal: a line every 10% of an epoch and at each epoch's end.
        if (ev['event'] === 'epoch') say(`${p.id}: ${(statuses[i] as Status).text}`);
        else if (ev['event'] === 'step') {
          const d = Math.floor((10 * (ev['batch'] as number)) / (ev['batches'] as number)) + 10 * (ev['epoch'] as number);
          if (d > decile) {
            decile = d;
            say(`${p.id}: ${(statuses[i] as Status).text}`);
          }
        }
      });
      (statuses[i] as Status).text = 'done';
      runs[i] = { ...(runs[i] as CompareRun), summary: r.summary, ...(r.error !== undefined ? { error: r.error } : {}) };
      if (r.summary) backend = r.summary.backend;
      say(
        r.summary
          ? `finished ${p.id}: test accuracy ${(100 * r.summary.testAccuracy).toFixed(2)}%, final ρ ${r.summary.finalRho.toPrecision(3)}, ${r.summary.wallSeconds.toFixed(1)} s`
          : `FAILED ${p.id}: ${r.error ?? ''}`,
      );
      save(backend);
    }
  };
  try {
    await Promise.all(Array.from({ length: jobs }, worker));
  } finally {
    signals.dispose();
  }
  const result = save(backend);
  const stopped = signals.requested();
  if (stopped !== undefined) {
    const open = plan.filter((_, i) => (runs[i] as CompareRun).summary === null);
    const how = open.map((p) => {
      const runDir = join(dir, 'runs', p.id);
      return existsSync(join(runDir, 'config.json')) ? resumeCommand(runDir) : `lets train --config ${shellWord(join(dir, 'configs', `${p.id}.json`))} --out ${shellWord(runDir)}`;
    });
    throw new Interrupted(stopped, `stopped by ${stopped}: ${plan.length - open.length} of ${plan.length} runs finished; the others: ${how.join('; ')}`);
  }
  return result;
}
