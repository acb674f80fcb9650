/**
 * `lets bench`: median step time of each method on the chosen dataset, model, batch size and
 * backend, and the ratios that matter: each method / SGD, each SAM variant / SAM, and each
 * lets-<variant> / <variant>. Two warm-up steps are not timed.
 */
import * as E from 'fp-ts/Either';
import * as data from '@lets/data';
import { disposeState } from '@lets/tree';
import { BenchOptions, RunFlags } from './options';
import { prepareRun, trainStep, Vars } from './train';

export interface BenchRow {
  readonly method: string;
  readonly medianMs: number;
  readonly overSgd: number;
  /** Over SAM for SAM variants; over the base variant for lets-*. */
  readonly overBase: number | null;
  readonly base: string | null;
}

export interface BenchResult {
  readonly command: 'bench';
  readonly backend: string;
  readonly dataset: string;
  readonly model: string;
  readonly batchSize: number;
  readonly steps: number;
  readonly rows: readonly BenchRow[];
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

export async function runBench(opts: BenchOptions, flags: RunFlags, io: { stderr: NodeJS.WritableStream }): Promise<BenchResult> {
  const methods = [...new Set(['sgd', 'sam', ...opts.methods, ...opts.methods.filter((m) => m.startsWith('lets-')).map((m) => m.slice(5))])];
  const times = new Map<string, number>();
  let backend = opts.base.backend;
  for (const method of methods) {
    const ctx = await prepareRun({ ...opts.base, method });
    if (E.isLeft(ctx)) throw new Error(ctx.left);
    backend = ctx.right.backend;
    const { ds, model } = ctx.right;
    const init = model.init(opts.base.seed);
    let vars: Vars = { params: init.params, mstate: init.state, ostate: ctx.right.method.tx.init(init.params) };
    const order = data.batchIndices(ds.train.count, { batchSize: opts.base.batchSize, seed: opts.base.seed, epoch: 0, dropLast: true });
    const ms: number[] = [];
    for (let i = 0; i < opts.steps + 2; i++) {
      const t0 = performance.now();
      vars = (await trainStep(ctx.right, vars, order[i % order.length] as Int32Array, i)).vars;
      if (i >= 2) ms.push(performance.now() - t0);
    }
    disposeState([vars.params, vars.mstate, vars.ostate]);
    times.set(method, median(ms));
    if (!flags.quiet) io.stderr.write(`${method}: ${median(ms).toFixed(1)} ms/step\n`);
  }
  const sgd = times.get('sgd') as number;
  const rows: BenchRow[] = methods.map((m) => {
    const base = m === 'sgd' || m === 'sam' ? null : m.startsWith('lets-') ? m.slice(5) : 'sam';
    const t = times.get(m) as number;
    return { method: m, medianMs: t, overSgd: t / sgd, overBase: base === null ? null : t / (times.get(base) as number), base };
  });
  return { command: 'bench', backend, dataset: opts.base.dataset, model: opts.base.model, batchSize: opts.base.batchSize, steps: opts.steps, rows };
}

export function formatBench(r: BenchResult): string {
  const lines = [`step time on ${r.backend}, ${r.dataset}/${r.model}, batch ${r.batchSize}, median of ${r.steps} steps`];
  for (const row of r.rows) {
    lines.push(
      `${row.method.padEnd(18)} ${row.medianMs.toFixed(1).padStart(9)} ms  ×${row.overSgd.toFixed(2)} SGD` +
        (row.base === null ? '' : `  ×${(row.overBase as number).toFixed(2)} ${row.base}`),
    );
  }
  return lines.join('\n');
}
