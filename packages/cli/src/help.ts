/** `--help` text, generated from the flag table so every flag is listed. */
import { accepted, Command, FlagKind, flagsOf } from './flags';

const SUMMARY: Readonly<Record<Command, string>> = {
  train: 'lets train [flags]          train one model with one method; writes a run directory',
  compare: 'lets compare [flags]        several methods (ρ grid, ρ₀ values, seeds) on the same data and budget',
  bench: 'lets bench [flags]          step-time ratios: SAM/SGD, each variant/SAM, LETS/SAM',
  report: 'lets report RUN_DIR         (re)build RUN_DIR/report.html from the run or comparison files',
  sharpness: 'lets sharpness RUN_DIR      Hessian eigenvalues, trace, m-sharpness and a loss slice of a run; sharpness.json + report.html',
  worker: 'lets worker --queue URL     train the runs of queued comparisons (lets compare --queue) on this machine',
};

/** Top-level usage. */
export function usage(): string {
  return [
    'lets — sharpness-aware training with a learned radius ρ (LETS)',
    '',
    'Usage:',
    ...Object.values(SUMMARY).map((s) => `  ${s}`),
    '',
    "Run 'lets <command> --help' for the flags of a command.",
    '',
  ].join('\n');
}

/** One line per value that its registry describes: `        name  description`. */
function valueLines(kind: FlagKind): string {
  if ((kind.type !== 'enum' && kind.type !== 'enums') || kind.descriptions === undefined) return '';
  const d = kind.descriptions;
  const described = kind.values.filter((v) => d[v] !== undefined);
  const width = Math.max(0, ...described.map((v) => v.length));
  return described.map((v) => `\n        ${v.padEnd(width)}  ${d[v]}`).join('');
}

/** Help of one command: every (non-internal) flag, its accepted values (with what each is, where its package describes it) and its default. */
export function commandHelp(command: Command): string {
  const specs = flagsOf(command).filter((s) => !s.hidden);
  const lines = specs.map((s) => {
    const arg = s.kind.type === 'bool' ? '' : ' <value>';
    const def = s.default === undefined || s.kind.type === 'bool' ? '' : ` [default: ${Array.isArray(s.default) ? s.default.join(',') : String(s.default)}]`;
    const acc = s.kind.type === 'bool' ? '' : `\n      accepts ${accepted(s.kind)}`;
    return `  --${s.name}${arg}\n      ${s.help}${def}${acc}${valueLines(s.kind)}`;
  });
  return [
    `Usage: ${SUMMARY[command]}`,
    '',
    'Flags (the same names, or their camelCase, are the keys of a --config JSON/YAML file;',
    'precedence: defaults < --preset < --config < flags):',
    ...lines,
    '',
  ].join('\n');
}
