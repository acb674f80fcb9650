/**
 * Vega-Lite specifications of the report's plots, built from a run's metrics or a comparison's
 * summary. Pure data in, spec out: the rendering (vega → SVG) is in render.ts.
 */

type Row = Readonly<Record<string, unknown>>;
export type VlSpec = Record<string, unknown>;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';
const W = 420;
const H = 240;

const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

/** Long-format rows {epoch, split, value} of an epoch-level metric for several splits. */
function epochRows(epochs: readonly Row[], metric: 'Loss' | 'Accuracy'): Row[] {
  const out: Row[] = [];
  for (const e of epochs) {
    // With noisy validation labels the epoch line also has valClean…: both are drawn, named.
    const noisy = num(e[`valClean${metric}`]) !== undefined;
    for (const split of ['train', 'val', 'valClean', 'test'] as const) {
      const v = num(e[`${split}${metric}`]);
      const name = split === 'val' ? (noisy ? 'validation (noisy labels)' : 'validation') : split === 'valClean' ? 'validation (clean labels)' : split;
      if (v !== undefined) out.push({ epoch: e['epoch'], split: name, value: v });
    }
  }
  return out;
}

/** Training loss or accuracy per logged step, as a faint line under the epoch points. */
function stepRows(steps: readonly Row[], key: 'loss' | 'accuracy'): Row[] {
  return steps.filter((s) => num(s[key]) !== undefined).map((s) => ({ epoch: s['epoch'], split: 'train (steps)', value: s[key] }));
}

const SPLITS: readonly (readonly [string, string])[] = [
  ['train (steps)', '#c7c7c7'],
  ['train', '#1f77b4'],
  ['validation', '#ff7f0e'],
  ['validation (noisy labels)', '#ff7f0e'],
  ['validation (clean labels)', '#d62728'],
  ['test', '#2ca02c'],
];

/** The colour of each split, for the splits the plot has (a legend lists its whole domain). */
const splitColor = (rows: readonly Row[]) => {
  const present = new Set(rows.map((r) => r['split']));
  const used = SPLITS.filter(([name]) => present.has(name));
  return { field: 'split', type: 'nominal', title: 'split', scale: { domain: used.map(([n]) => n), range: used.map(([, c]) => c) } };
};

/** Loss or accuracy against epochs: train/validation/test at epoch ends, training steps faint. */
export function curveSpec(title: string, metric: 'Loss' | 'Accuracy', steps: readonly Row[], epochs: readonly Row[]): VlSpec {
  const yTitle = metric === 'Loss' ? 'cross-entropy loss' : 'accuracy';
  const stepValues = stepRows(steps, metric === 'Loss' ? 'loss' : 'accuracy');
  const epochValues = epochRows(epochs, metric);
  // One colour scale for both layers (Vega-Lite unions them), over the splits the plot has.
  const color = splitColor([...stepValues, ...epochValues]);
  return {
    $schema: SCHEMA,
    title,
    width: W,
    height: H,
    layer: [
      {
        data: { values: stepValues },
        mark: { type: 'line', strokeWidth: 1, opacity: 0.7 },
        encoding: {
          x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
          y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false } },
          color,
        },
      },
      {
        data: { values: epochValues },
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: {
          x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
          y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false } },
          color,
        },
      },
    ],
  };
}

/** ρ over training (per logged step). */
export function rhoSpec(steps: readonly Row[], title = 'ρ over training'): VlSpec {
  return {
    $schema: SCHEMA,
    title,
    width: W,
    height: H,
    data: { values: steps.filter((s) => num(s['rho']) !== undefined).map((s) => ({ epoch: s['epoch'], rho: s['rho'] })) },
    mark: { type: 'line', strokeWidth: 2, color: '#9467bd' },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { field: 'rho', type: 'quantitative', title: 'ρ', scale: { zero: false }, axis: { format: '.3~g' } },
    },
  };
}

/** The generalization gap over training: test − train and validation − train loss at epoch ends, and LETS's per-step δ when logged. */
export function gapSpec(steps: readonly Row[], epochs: readonly Row[]): VlSpec {
  const rows: Row[] = [];
  for (const e of epochs) {
    const g = num(e['gap']);
    const vg = num(e['valGap']);
    if (g !== undefined) rows.push({ epoch: e['epoch'], kind: 'test − train loss', gap: g });
    if (vg !== undefined) rows.push({ epoch: e['epoch'], kind: 'validation − train loss', gap: vg });
  }
  for (const s of steps) {
    const d = num(s['gap']) ?? num(s['delta']);
    if (d !== undefined) rows.push({ epoch: s['epoch'], kind: 'LETS δ (batch)', gap: d });
  }
  return {
    $schema: SCHEMA,
    title: 'Generalization gap over training',
    width: W,
    height: H,
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { field: 'gap', type: 'quantitative', title: 'loss gap' },
      color: { field: 'kind', type: 'nominal', title: '' },
    },
  };
}

export interface CompareRow {
  readonly method: string;
  readonly rho0: number;
  readonly seed: number;
  readonly finalRho: number;
  readonly testAccuracy: number;
  readonly learnsRho: boolean;
}

/**
 * Test accuracy against ρ: fixed-ρ methods as lines over their ρ grid (mean over seeds, with
 * the seeds as points); LETS runs as large diamonds at the ρ they learned, labelled.
 */
export function accuracyVsRhoSpec(rows: readonly CompareRow[]): VlSpec {
  const fixed = rows.filter((r) => !r.learnsRho).map((r) => ({ method: r.method, rho: r.rho0, accuracy: r.testAccuracy }));
  const learned = rows.filter((r) => r.learnsRho).map((r) => ({ method: `${r.method} (ρ₀ ${r.rho0})`, rho: r.finalRho, accuracy: r.testAccuracy, label: `${r.method}: learned ρ ${r.finalRho.toPrecision(3)}` }));
  const x = { field: 'rho', type: 'quantitative', title: 'ρ (fixed, or learned by LETS)', scale: { type: 'log' } };
  const y = { field: 'accuracy', type: 'quantitative', title: 'test accuracy', scale: { zero: false } };
  return {
    $schema: SCHEMA,
    title: 'Test accuracy against ρ (LETS: at its learned ρ)',
    width: W,
    height: H,
    layer: [
      { data: { values: fixed }, mark: { type: 'line', point: true }, encoding: { x, y: { ...y, aggregate: 'mean' }, color: { field: 'method', type: 'nominal' } } },
      { data: { values: fixed }, mark: { type: 'point', opacity: 0.5 }, encoding: { x, y, color: { field: 'method', type: 'nominal' } } },
      { data: { values: learned }, mark: { type: 'point', shape: 'diamond', size: 160, filled: true }, encoding: { x, y, color: { field: 'method', type: 'nominal' } } },
      { data: { values: learned }, mark: { type: 'rule', strokeDash: [4, 3], opacity: 0.6 }, encoding: { x, color: { field: 'method', type: 'nominal' } } },
      { data: { values: learned }, mark: { type: 'text', align: 'left', dx: 8, dy: -8, fontSize: 10 }, encoding: { x, y, text: { field: 'label' } } },
    ],
  };
}

/** One epoch-level metric of every run of a comparison, one line per run. */
export function runsCurveSpec(title: string, yTitle: string, rows: readonly Row[], field: string): VlSpec {
  return {
    $schema: SCHEMA,
    title,
    width: W,
    height: H,
    data: { values: rows.filter((r) => num(r[field]) !== undefined) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { field, type: 'quantitative', title: yTitle, scale: { zero: false } },
      color: { field: 'run', type: 'nominal', title: 'run' },
    },
  };
}
