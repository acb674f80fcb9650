/**
 * One writer per run directory: `DIR/lock` holds the owner's pid, host, command and start time.
 *
 * Taking it is atomic: the owner's record is written to a temporary file and hard-linked to
 * `lock` (link fails with EEXIST if another process holds it), so the lock is never visible
 * half-written. A lock whose owner is gone (same host, and the pid no longer runs, or runs a
 * process started at another time or before another boot) is stale: it is reported and taken
 * over. A lock of another host cannot be checked and is refused like a live one.
 */
import * as E from 'fp-ts/Either';
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fault } from './faults';

export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly command: string;
  readonly startedAt: string;
  /** Linux: the boot id and the process start time (clock ticks since boot), to tell a reused pid. */
  readonly bootId?: string;
  readonly procStart?: string;
  readonly token: string;
}

export interface Lock {
  readonly file: string;
  readonly owner: LockOwner;
  /** Notes for the user (a stale lock taken over). */
  readonly notes: readonly string[];
  release(): void;
}

const readText = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
};

const bootId = (): string | undefined => readText('/proc/sys/kernel/random/boot_id');

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks after boot. */
function procStart(pid: number): string | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why the owner of a lock is gone, or undefined when it may still run. */
export function staleReason(o: LockOwner): string | undefined {
  if (o.host !== hostname()) return undefined;
  if (o.bootId !== undefined && bootId() !== undefined && o.bootId !== bootId()) return 'the machine has rebooted since';
  if (!pidRuns(o.pid)) return 'that process is no longer running';
  if (o.procStart !== undefined && procStart(o.pid) !== undefined && procStart(o.pid) !== o.procStart) return 'its pid now belongs to another process';
  return undefined;
}

export const describeOwner = (o: LockOwner): string =>
  `${o.command} (pid ${o.pid} on ${o.host === hostname() ? 'this host' : `host ${o.host}`}, since ${o.startedAt})`;

function readOwner(file: string): LockOwner | undefined {
  const t = readText(file);
  if (t === undefined) return undefined;
  try {
    const o = JSON.parse(t) as LockOwner;
    return typeof o.pid === 'number' && typeof o.host === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

/** The owner of `dir/lock` while it may still run (a live process here, or another host's); undefined when there is no lock or it is stale. */
export function liveOwner(dir: string): LockOwner | undefined {
  const o = readOwner(join(dir, 'lock'));
  return o !== undefined && staleReason(o) === undefined ? o : undefined;
}

const held = new Set<Lock>();
let exitHook = false;

/**
 * Takes `dir/lock` for `command`. Left: a message naming the owner (or the file-system error).
 * The lock is released by `release()`, and at process exit if still held.
 */
export function acquireLock(dir: string, command: string): E.Either<string, Lock> {
  const file = join(dir, 'lock');
  const pc = procStart(process.pid);
  const bi = bootId();
  const owner: LockOwner = {
    pid: process.pid,
    host: hostname(),
    command,
    startedAt: new Date().toISOString(),
    ...(bi !== undefined ? { bootId: bi } : {}),
    ...(pc !== undefined ? { procStart: pc } : {}),
    token: randomBytes(8).toString('hex'),
  };
  const temp = join(dir, `.lock.${process.pid}.${owner.token}.tmp`);
  try {
    writeFileSync(temp, `${JSON.stringify(owner)}\n`, { flag: 'wx' });
  } catch (e) {
    return E.left(`${dir}: cannot write there: ${errnoText(e)}`);
  }
  const notes: string[] = [];
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(temp, file);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return E.left(`${file}: cannot take the lock: ${errnoText(e)}`);
      }
      const other = readOwner(file);
      if (other === undefined) {
        // Not a lock record (a foreign file, or an unreadable one): never guess.
        return E.left(`${file} exists and is not a lets lock; remove it if no run uses ${dir}`);
      }
      const why = staleReason(other);
      if (why === undefined) {
        const remote = other.host !== hostname() ? ` (another machine: if no run is active there, remove ${file})` : '';
        return E.left(`${dir} is in use by ${describeOwner(other)}${remote}; one run directory has one writer at a time`);
      }
      if (attempt >= 3) return E.left(`${file}: could not take over the stale lock (another process keeps taking it)`);
      // Move the stale lock aside (atomic: one taker wins), check it is the one judged stale.
      const aside = join(dir, `.lock.stale.${owner.token}.tmp`);
      try {
        renameSync(file, aside);
      } catch {
        continue;
      }
      const moved = readOwner(aside);
      if (moved?.token !== other.token) {
        // Someone took the lock between our read and our rename: give it back.
        try {
          linkSync(aside, file);
        } catch {
          /* it is theirs again, or a newer one is there */
        }
        rmSync(aside, { force: true });
        continue;
      }
      rmSync(aside, { force: true });
      notes.push(`took over the stale lock of ${describeOwner(other)}: ${why} (killed?)`);
    }
  } finally {
    rmSync(temp, { force: true });
  }
  fault('lock');
  const lock: Lock = {
    file,
    owner,
    notes,
    release: () => {
      if (!held.delete(lock)) return;
      if (readOwner(file)?.token === owner.token) {
        try {
          unlinkSync(file);
        } catch {
          /* already gone */
        }
      }
    },
  };
  held.add(lock);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const l of [...held]) l.release();
    });
  }
  return E.right(lock);
}

/** "read-only file system (EROFS)" out of a Node fs error. */
export function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === undefined) return err.message ?? String(e);
  const m = /^[A-Z0-9]+: ([^,]+)/.exec(err.message ?? '');
  return `${m?.[1] ?? err.message} (${err.code})`;
}
