/**
 * Resolving a command's options: defaults ← preset ← config file ← command line, each value
 * checked against the flag table, then the cross-flag rules. The result is an fp-ts `Either`:
 * every error message names the flag (or the file and key) and the accepted values, and the
 * caller exits non-zero before anything is written.
 */
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import { DATASETS, type DatasetEntry, type DatasetName, type DatasetSource } from '@lets/data';
import { camel, Command, FlagSpec, flagsOf } from './flags';
import { coerce, parseArgv, RawValues, readConfigFile } from './parse';

/** Everything one training run needs (also what `config.json` of a run holds). */
export interface TrainOptions {
  readonly method: string;
  readonly rho: number;
  readonly rhoLr: number;
  readonly rhoOptimizer: 'sgd' | 'adam';
  readonly estimator: string;
  readonly every: number;
  readonly rhoMin: number;
  readonly rhoMax: number;
  readonly objective: 'gap' | 'val' | 'gap-val';
  readonly objectiveWeight: number;
  /** The loss of LETS's validation passes. */
  readonly valLoss: 'ce' | 'error';
  readonly rhoLrSchedule: 'constant' | 'cosine';
  readonly rhoLrSpan: number;
  readonly stallGuard: 'on' | 'off';
  readonly stallMargin: number;
  readonly stallMaxShrinks: number;
  readonly tangentProjection: 'none' | 'gradient' | 'update';
  readonly optimizer: 'sgd' | 'adam';
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly schedule: string;
  readonly warmup: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly dataset: string;
  readonly dataDir?: string;
  readonly valFraction: number;
  readonly labelNoise: number;
  readonly noiseType: 'symmetric' | 'pairflip';
  readonly valLabels: 'noisy' | 'clean';
  readonly trainSize: number;
  readonly testSize: number;
  /** Tokens per example of a text dataset (0: @lets/data's default). */
  readonly seqLen: number;
  readonly model: string;
  readonly backend: string;
  readonly checkpointEvery: number;
  readonly logEvery: number;
}

/** Options of the process (output, verbosity), beside the training options. */
export interface RunFlags {
  readonly out?: string;
  readonly resume?: string;
  readonly quiet: boolean;
  readonly json: boolean;
  readonly noReport: boolean;
  readonly events: boolean;
  readonly haltAfter?: number;
}

export interface CompareOptions {
  readonly base: TrainOptions;
  readonly methods: readonly string[];
  readonly rhos: readonly number[];
  readonly rho0s: readonly number[];
  readonly seeds: readonly number[];
  readonly jobs?: number;
}

export interface BenchOptions {
  readonly base: TrainOptions;
  readonly methods: readonly string[];
  readonly steps: number;
}

/** Values of every flag of a command, by camelCase key, after validation. */
export type Resolved = Readonly<Record<string, unknown>>;

/**
 * Named sets of defaults. `main` is the job `npm start` runs: LETS-SAM against SAM (ρ = 0.05)
 * on MNIST with the CNN, budgeted to finish in under 10 minutes on 2 cores.
 * `smoke` runs in seconds on synthetic data (for trying the command and for tests).
 */
export const PRESETS: Readonly<Record<string, RawValues>> = {
  main: {
    methods: ['sam', 'lets-sam'],
    method: 'lets-sam',
    rho: 0.05,
    dataset: 'mnist',
    model: 'cnn',
    optimizer: 'sgd',
    lr: 0.1,
    momentum: 0.9,
    schedule: 'warmup-cosine',
    warmup: 0.2,
    epochs: 3,
    'batch-size': 128,
    'val-fraction': 0.05,
    estimator: 'fd',
    seeds: [0],
  },
  smoke: {
    methods: ['sam', 'lets-sam'],
    method: 'lets-sam',
    dataset: 'blobs',
    model: 'mlp',
    epochs: 2,
    'batch-size': 32,
    'train-size': 512,
    'test-size': 256,
    'val-fraction': 0.2,
    every: 2,
    backend: 'cpu',
    'checkpoint-every': 5,
    'log-every': 1,
  },
};

const where = (source: string, spec: FlagSpec): string => (source === 'argv' ? `--${spec.name}` : `${source}, key '${spec.name}'`);

/** Checks each present raw value and returns typed values by flag name. */
function check(specs: readonly FlagSpec[], raw: RawValues, source: string): E.Either<string, Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const spec of specs) {
    if (!(spec.name in raw)) continue;
    const r = coerce(spec.kind, raw[spec.name]);
    if (E.isLeft(r)) return E.left(`${where(source, spec)}: ${r.left}`);
    out[spec.name] = r.right;
  }
  return E.right(out);
}

/** Cross-flag rules that a single flag's type cannot say. */
function crossCheck(command: Command, v: Resolved): E.Either<string, Resolved> {
  const rhoMin = v['rhoMin'] as number | undefined;
  const rhoMax = v['rhoMax'] as number | undefined;
  if (rhoMin !== undefined && rhoMax !== undefined && !(rhoMin < rhoMax)) {
    return E.left(`--rho-min (${rhoMin}) must be below --rho-max (${rhoMax})`);
  }
  const method = v['method'] as string | undefined;
  if (command === 'train' && method?.startsWith('lets-') && rhoMin !== undefined && rhoMax !== undefined) {
    const rho = v['rho'] as number;
    if (rho < rhoMin || rho > rhoMax) return E.left(`--rho (ρ₀ = ${rho}) must lie in [--rho-min, --rho-max] = [${rhoMin}, ${rhoMax}]`);
  }
  const objective = v['objective'] as string | undefined;
  if (v['valLoss'] === 'error' && objective !== undefined && objective !== 'val') {
    return E.left(`--val-loss error goes with --objective val only: --objective ${objective} compares the validation loss with the training loss (cross-entropy), and the expected error is not in the same units`);
  }
  return dataCheck(v);
}

/** Where a dataset comes from, as @lets/data's registry declares it (undefined: not a registered name). */
const sourceOf = (name: string): DatasetSource | undefined =>
  Object.prototype.hasOwnProperty.call(DATASETS, name) ? (DATASETS[name as DatasetName] as DatasetEntry).source : undefined;
const MAX_SEED = 2 ** 32 - 1;

/** --data-dir against --dataset, and seeds within what the random streams take. */
function dataCheck(v: Resolved): E.Either<string, Resolved> {
  const dataset = v['dataset'] as string | undefined;
  const dataDir = v['dataDir'] as string | undefined;
  if (dataset !== undefined && sourceOf(dataset) === 'directory' && dataDir === undefined) {
    return E.left(`--dataset ${dataset} needs --data-dir DIR: the directory with its files (it is not bundled)`);
  }
  if (dataset !== undefined && sourceOf(dataset) === 'generated' && dataDir !== undefined) {
    return E.left(`--data-dir is for datasets read from files; --dataset ${dataset} is generated from the seed`);
  }
  for (const [flag, xs] of [['--seed', [v['seed']]], ['--seeds', v['seeds'] ?? []]] as const) {
    const big = (xs as unknown[]).find((x) => typeof x === 'number' && x > MAX_SEED);
    if (big !== undefined) return E.left(`${flag}: expected an integer ≥ 0 and ≤ ${MAX_SEED}, got ${String(big)}`);
  }
  return E.right(v);
}

/** Flags that may go with --resume: a resumed run keeps the options in its config.json. */
const RESUME_FLAGS = ['resume', 'quiet', 'json', 'no-report', 'events', 'halt-after', 'help', 'debug'];

function resumeCheck(command: Command, argv: readonly string[]): E.Either<string, void> {
  if (command !== 'train') return E.right(undefined);
  const given = argv.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')[0] as string);
  if (!given.includes('resume')) return E.right(undefined);
  const other = given.find((g) => !RESUME_FLAGS.includes(g));
  return other === undefined
    ? E.right(undefined)
    : E.left(`--resume continues a run with the options in its config.json; --${other} cannot be given with it`);
}

/**
 * Resolves a command's options from argv (the words after the command):
 * defaults ← `--preset` ← `--config` file ← flags. Left: a message for the user.
 */
export function resolve(command: Command, argv: readonly string[]): E.Either<string, { values: Resolved; positionals: readonly string[] }> {
  const specs = flagsOf(command);
  return pipe(
    parseArgv(command, argv),
    E.bindTo('args'),
    E.bind('cli', ({ args }) => check(specs, args.values, 'argv')),
    E.bind('preset', ({ cli }) => {
      const name = cli['preset'] as string | undefined;
      if (name === undefined) return E.right<string, Record<string, unknown>>({});
      const known = specs.map((s) => s.name);
      const subset = Object.fromEntries(Object.entries(PRESETS[name] ?? {}).filter(([k]) => known.includes(k)));
      return check(specs, subset, `preset '${name}'`);
    }),
    E.bind('file', ({ cli }) => {
      const file = cli['config'] as string | undefined;
      return file === undefined
        ? E.right<string, Record<string, unknown>>({})
        : pipe(
            readConfigFile(command, file),
            E.chain((raw) => check(specs, raw, `config file ${file}`)),
          );
    }),
    E.map(({ args, cli, preset, file }) => {
      const values: Record<string, unknown> = {};
      for (const spec of specs) {
        const v = spec.name in cli ? cli[spec.name] : spec.name in file ? file[spec.name] : spec.name in preset ? preset[spec.name] : spec.default;
        if (v !== undefined) values[camel(spec.name)] = v;
      }
      return { values, positionals: args.positionals };
    }),
    E.chain(({ values, positionals }) => pipe(crossCheck(command, values), E.map((v) => ({ values: v, positionals })))),
    E.chainFirst(() => resumeCheck(command, argv)),
  );
}

const TRAIN_KEYS: readonly (keyof TrainOptions)[] = [
  'method', 'rho', 'rhoLr', 'rhoOptimizer', 'estimator', 'every', 'rhoMin', 'rhoMax', 'objective', 'objectiveWeight', 'valLoss',
  'rhoLrSchedule', 'rhoLrSpan', 'stallGuard', 'stallMargin', 'stallMaxShrinks', 'tangentProjection', 'optimizer', 'lr', 'momentum', 'weightDecay', 'schedule', 'warmup', 'epochs', 'batchSize', 'seed',
  'dataset', 'dataDir', 'valFraction', 'labelNoise', 'noiseType', 'valLabels', 'trainSize', 'testSize', 'seqLen', 'model',
  'backend', 'checkpointEvery', 'logEvery',
];

/**
 * Keys added after runs were first written, with the value that reproduces how those runs
 * were trained: a config.json without them resumes exactly as it ran.
 */
const LEGACY_VALUES: Readonly<Partial<Record<keyof TrainOptions, unknown>>> = {
  objective: 'gap',
  objectiveWeight: 1,
  valLoss: 'ce',
  rhoLrSchedule: 'constant',
  stallGuard: 'off',
  valLabels: 'clean',
  tangentProjection: 'none',
  rhoLrSpan: 1,
  stallMargin: 0.02,
  // No bound in practice: ρ reaches its lower clamp long before 1000 halvings.
  stallMaxShrinks: 1000,
  seqLen: 0,
};

/** The training options out of resolved values (keys a command lacks take the train defaults). */
export function trainOptionsOf(v: Resolved): TrainOptions {
  const defaults = Object.fromEntries(flagsOf('train').filter((s) => s.default !== undefined).map((s) => [camel(s.name), s.default]));
  const out: Record<string, unknown> = {};
  for (const k of TRAIN_KEYS) {
    const x = k in v ? v[k] : defaults[k];
    if (x !== undefined) out[k] = x;
  }
  return out as unknown as TrainOptions;
}

export function runFlagsOf(v: Resolved): RunFlags {
  const json = v['json'] === true;
  return {
    ...(v['out'] !== undefined ? { out: v['out'] as string } : {}),
    ...(v['resume'] !== undefined ? { resume: v['resume'] as string } : {}),
    ...(v['haltAfter'] !== undefined ? { haltAfter: v['haltAfter'] as number } : {}),
    quiet: v['quiet'] === true || json || v['events'] === true,
    json,
    noReport: v['noReport'] === true,
    events: v['events'] === true,
  };
}

/** Checks that a stored config (a run's config.json) is a complete, valid TrainOptions. */
export function validateTrainOptions(raw: unknown, source: string): E.Either<string, TrainOptions> {
  if (raw === null || typeof raw !== 'object') return E.left(`${source}: expected an object of training options`);
  const specs = flagsOf('train');
  const byKey = new Map(specs.map((s) => [camel(s.name), s]));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(raw as Record<string, unknown>)) {
    const spec = byKey.get(k);
    if (spec === undefined || !TRAIN_KEYS.includes(k as keyof TrainOptions)) return E.left(`${source}: unknown key '${k}'`);
    const r = coerce(spec.kind, x);
    if (E.isLeft(r)) return E.left(`${source}, key '${k}': ${r.left}`);
    out[k] = r.right;
  }
  for (const k of TRAIN_KEYS) {
    if (!(k in out) && k in LEGACY_VALUES) out[k] = LEGACY_VALUES[k];
    if (!(k in out) && k !== 'dataDir') return E.left(`${source}: missing key '${k}'`);
  }
  return E.right(out as unknown as TrainOptions);
}
