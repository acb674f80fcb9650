/**
 * Fault injection for tests and the soak tool: `LETS_FAULT` names what to do at which point of
 * a run, so a test reproduces a crash, a full disk or a signal at an exact place instead of
 * racing a timer.
 *
 *   LETS_FAULT="<action>@<point>[#n],..."     n: the n-th time this process reaches the point (default 1)
 *
 * Points: `before:<file>` (a write of that run-directory file is about to start: config.json,
 * last.ckpt, best.ckpt, summary.json), `after:<file>` (it was renamed into place),
 * `best-link` (best.ckpt is about to be put in place after last.ckpt named it),
 * `step:<k>` (after step k, before its checkpoint), `mkdir` (creating an output directory),
 * `lock` (the lock file was just taken).
 * Actions: `kill` (SIGKILL this process), `sigint` / `sigterm` (send that real signal to this
 * process), `E<CODE>` such as `ENOSPC`, `EIO`, `EROFS` (throw that file-system error, as fs does),
 * `hold` (at a step: wait until the file named by LETS_FAULT_RELEASE exists, at most 2 minutes).
 *
 * Unset (the normal case) costs one property read per point.
 */
import { existsSync } from 'node:fs';

const counts = new Map<string, number>();

interface Fault {
  readonly action: string;
  readonly point: string;
  readonly nth: number;
}

let parsedFrom: string | undefined;
let parsed: readonly Fault[] = [];

function faults(): readonly Fault[] {
  const spec = process.env['LETS_FAULT'];
  if (spec === undefined || spec === '') return [];
  if (spec !== parsedFrom) {
    parsedFrom = spec;
    parsed = spec.split(',').map((s) => {
      const m = /^([A-Za-z]+)@([^#]+)(?:#(\d+))?$/.exec(s.trim());
      if (m === null) throw new Error(`LETS_FAULT: cannot read '${s}' (expected action@point[#n])`);
      return { action: m[1] as string, point: m[2] as string, nth: m[3] === undefined ? 1 : Number(m[3]) };
    });
    counts.clear();
  }
  return parsed;
}

/** An error shaped like the one Node's fs throws for `code`. */
export function fsError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const text: Record<string, string> = {
    ENOSPC: 'no space left on device',
    EIO: 'i/o error',
    EROFS: 'read-only file system',
    EACCES: 'permission denied',
    EDQUOT: 'disk quota exceeded',
  };
  const e = new Error(`${code}: ${text[code] ?? 'injected error'}, ${syscall} '${path}'`) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = syscall;
  e.path = path;
  return e;
}

/** The synchronous faults at `point` (kill, signals, errors). Returns whether a `hold` is due. */
export function fault(point: string, path = point): boolean {
  const list = faults();
  if (list.length === 0) return false;
  const n = (counts.get(point) ?? 0) + 1;
  counts.set(point, n);
  let hold = false;
  for (const f of list) {
    if (f.point !== point || f.nth !== n) continue;
    if (f.action === 'kill') process.kill(process.pid, 'SIGKILL');
    else if (f.action === 'sigint') process.kill(process.pid, 'SIGINT');
    else if (f.action === 'sigterm') process.kill(process.pid, 'SIGTERM');
    else if (f.action === 'hold') hold = true;
    else if (/^E[A-Z]+$/.test(f.action)) throw fsError(f.action, point.startsWith('mkdir') ? 'mkdir' : 'write', path);
    else throw new Error(`LETS_FAULT: unknown action '${f.action}'`);
  }
  return hold;
}

/** {@link fault} that also waits out a `hold` (until the file LETS_FAULT_RELEASE exists). */
export async function faultAsync(point: string): Promise<void> {
  if (!fault(point)) return;
  const release = process.env['LETS_FAULT_RELEASE'];
  if (release === undefined) throw new Error('LETS_FAULT: hold needs LETS_FAULT_RELEASE (a file to wait for)');
  process.stderr.write(`LETS_FAULT: holding at ${point}\n`);
  // Bounded, so a test that fails before releasing it leaves no process behind for long.
  const until = Date.now() + 120_000;
  while (!existsSync(release) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}

/** Whether the clock is frozen (LETS_FIXED_CLOCK=1): durations and timestamps are 0, so two runs' files compare byte for byte. */
export const fixedClock = (): boolean => process.env['LETS_FIXED_CLOCK'] === '1';

/** Milliseconds now, or 0 under a frozen clock. */
export const nowMs = (): number => (fixedClock() ? 0 : Date.now());

/** Forgets how often each point was reached (tests that run several commands in one process). */
export function resetFaults(): void {
  counts.clear();
  parsedFrom = undefined;
}
