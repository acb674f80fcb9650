/**
 * Reading flag values from the command line and from config files, as fp-ts `Either`s:
 * a bad value is a `Left` naming the flag (or the file and key), what was given and what is
 * accepted. Nothing here touches the disk except reading the config file.
 */
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import YAML from 'yaml';
import { accepted, camel, Command, FlagKind, FlagSpec, flagsOf } from './flags';

/** Raw values by flag name, as given (strings from argv, JSON values from a file). */
export type RawValues = Readonly<Record<string, unknown>>;

export interface ParsedArgs {
  readonly values: RawValues;
  readonly positionals: readonly string[];
}

/** Edit distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

function suggestion(name: string, specs: readonly FlagSpec[]): string {
  const best = specs
    .filter((s) => !s.hidden)
    .map((s) => ({ s, d: distance(name, s.name) }))
    .sort((x, y) => x.d - y.d)[0];
  return best !== undefined && best.d <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean --${best.s.name}?)` : '';
}

/**
 * Splits argv (after the command word) into flag values and positionals.
 * Accepts `--name value`, `--name=value`, and bare `--name` for booleans.
 */
export function parseArgv(command: Command, argv: readonly string[]): E.Either<string, ParsedArgs> {
  const specs = flagsOf(command);
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h') {
      values['help'] = 'true';
      continue;
    }
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-') && arg.length > 1 && Number.isNaN(Number(arg))) {
        return E.left(`unknown flag ${arg} for 'lets ${command}'; flags are long (--name); run 'lets ${command} --help'`);
      }
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const spec = specs.find((s) => s.name === name);
    if (spec === undefined) {
      return E.left(`unknown flag --${name} for 'lets ${command}'${suggestion(name, specs)}; run 'lets ${command} --help' for the list`);
    }
    if (name in values) return E.left(`--${name} is given more than once`);
    if (eq >= 0) values[name] = arg.slice(eq + 1);
    else if (spec.kind.type === 'bool') values[name] = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        return E.left(`--${name} needs a value: ${accepted(spec.kind)}`);
      }
      values[name] = next;
      i++;
    }
  }
  if (command !== 'report' && command !== 'sharpness' && positionals.length > 0) {
    return E.left(`unexpected argument '${positionals[0]}' for 'lets ${command}'; every option is a --flag (run 'lets ${command} --help')`);
  }
  return E.right({ values, positionals });
}

// JSON.stringify writes Infinity and NaN (YAML's .inf, .nan) as null: say what was given.
const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : typeof v === 'number' ? String(v) : JSON.stringify(v));

function inRange(x: number, k: { min?: number; max?: number; exclusiveMin?: boolean; exclusiveMax?: boolean }): boolean {
  if (k.min !== undefined && (k.exclusiveMin ? !(x > k.min) : !(x >= k.min))) return false;
  if (k.max !== undefined && (k.exclusiveMax ? !(x < k.max) : !(x <= k.max))) return false;
  return true;
}

/** A decimal number as written by a person: 0.05, -3, 1e-4, .5 (not 0x10, 0b1, Infinity or ''). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && DECIMAL.test(v.trim())) return Number(v);
  return undefined;
}

function toList(v: unknown): readonly unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return [v];
}

/** Reads one value of `kind`; Left holds what was expected (the caller adds where it came from). */
export function coerce(kind: FlagKind, v: unknown): E.Either<string, unknown> {
  const bad = E.left(`expected ${accepted(kind)}, got ${show(v)}`);
  switch (kind.type) {
    case 'int': {
      const x = toNumber(v);
      // A safe integer: 99999999999999999999 would round to another number.
      return x !== undefined && Number.isSafeInteger(x) && inRange(x, kind) ? E.right(x) : bad;
    }
    case 'number': {
      const x = toNumber(v);
      return x !== undefined && Number.isFinite(x) && inRange(x, kind) ? E.right(x) : bad;
    }
    case 'enum':
      return typeof v === 'string' && kind.values.includes(v) ? E.right(v) : bad;
    case 'string':
      return typeof v === 'string' && v !== '' ? E.right(v) : bad;
    case 'bool':
      if (typeof v === 'boolean') return E.right(v);
      if (v === 'true' || v === '1' || v === 'yes') return E.right(true);
      if (v === 'false' || v === '0' || v === 'no') return E.right(false);
      return bad;
    case 'numbers': {
      const xs = toList(v).map(toNumber);
      return xs.length > 0 && xs.every((x) => x !== undefined && Number.isFinite(x) && inRange(x, kind)) ? E.right(xs) : bad;
    }
    case 'ints': {
      const xs = toList(v).map(toNumber);
      return xs.length > 0 && xs.every((x) => x !== undefined && Number.isSafeInteger(x) && inRange(x, kind)) ? E.right(xs) : bad;
    }
    case 'enums': {
      const xs = toList(v);
      return xs.length > 0 && xs.every((x) => typeof x === 'string' && kind.values.includes(x)) ? E.right(xs) : bad;
    }
  }
}

/** Flags a config file cannot carry (they choose the run directory, or are internal). */
const NOT_IN_CONFIG: readonly string[] = ['resume', 'out', 'halt-after', 'events'];

/**
 * Parses a config file's text (JSON, or YAML for .yaml/.yml; YAML is a superset of JSON so an
 * unknown extension is read as YAML) into raw values keyed by flag name. Keys may be the flag
 * name (`batch-size`) or its camelCase (`batchSize`); an unknown key is refused.
 */
export function parseConfigText(command: Command, text: string, file: string): E.Either<string, RawValues> {
  const doc = pipe(
    E.tryCatch(
      () => (extname(file).toLowerCase() === '.json' ? JSON.parse(text) : YAML.parse(text)) as unknown,
      (e) => `config file ${file}: not valid ${extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`,
    ),
  );
  return pipe(
    doc,
    E.chain((d) =>
      d !== null && typeof d === 'object' && !Array.isArray(d)
        ? E.right(d as Record<string, unknown>)
        : E.left(`config file ${file}: expected a mapping of flag names to values at the top level`),
    ),
    E.chain((d) => {
      const specs = flagsOf(command).filter((s) => s.name !== 'config' && s.name !== 'help');
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(d)) {
        const spec = specs.find((s) => s.name === key || camel(s.name) === key);
        if (spec === undefined) {
          return E.left(`config file ${file}: unknown key '${key}' for 'lets ${command}'${suggestion(key, specs).replace('--', '')}`);
        }
        if (spec.name in out) return E.left(`config file ${file}: key '${key}' is given twice`);
        // Where a run is written and whether it continues another are the command line's to say.
        if (NOT_IN_CONFIG.includes(spec.name)) {
          return E.left(`config file ${file}: key '${key}' is not allowed in a config file; give --${spec.name} on the command line`);
        }
        out[spec.name] = value;
      }
      return E.right(out);
    }),
  );
}

/** Reads and parses a config file. */
export function readConfigFile(command: Command, file: string): E.Either<string, RawValues> {
  return pipe(
    E.tryCatch(
      () => readFileSync(file, 'utf8'),
      (e) => `--config: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    ),
    E.chain((text) => parseConfigText(command, text, file)),
  );
}
