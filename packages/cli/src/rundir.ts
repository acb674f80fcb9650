/**
 * Opening a run directory for writing: the output path checked and created (bounded: one
 * mkdir per missing component, never Node's recursive mkdir, which loops forever under
 * /proc on Node 20), the lock taken (./lock.ts), and what a crash may have left behind cleaned
 * up (orphan temporary files, a best.ckpt staged but not yet in place).
 *
 * States of a run directory a writer may find:
 *   fresh     nothing, or only an empty checkpoints/ and a stale lock: `--out` may use it
 *   started   config.json but no checkpoints/last.ckpt (failed or killed before the first
 *             checkpoint): `--resume` starts it again from step 0 with its config.json
 *   running   config.json and checkpoints/last.ckpt: `--resume` continues from the checkpoint
 *   finished  the same, plus summary.json
 */
import * as E from 'fp-ts/Either';
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, statfsSync, statSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fault } from './faults';
import { acquireLock, errnoText, Lock } from './lock';

/** statfs magic numbers of file systems that are not storage (Linux). */
const PSEUDO_FS: Readonly<Record<number, string>> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x1cd1: 'devpts',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0x73636673: 'securityfs',
  0xcafe4a11: 'bpf',
  0x42494e4d: 'binfmt_misc',
  0x6e736673: 'nsfs',
  0x50495045: 'pipefs',
  0x534f434b: 'sockfs',
};

/** The nearest ancestor of `p` (itself included) that exists. */
function existingAncestor(p: string): string {
  let cur = p;
  while (!existsSync(cur)) {
    const up = dirname(cur);
    if (up === cur) return cur;
    cur = up;
  }
  return cur;
}

/**
 * Creates `target` (and missing parents) as directories on a real, writable file system.
 * Left: `<flag> <target>: …` with the real errno.
 */
export function makeOutputDir(target: string, flag: string): E.Either<string, string> {
  const dir = resolvePath(target);
  const say = (why: string): E.Either<string, string> => E.left(`${flag} ${target}: ${why}`);
  const base = existingAncestor(dir);
  try {
    if (!statSync(base).isDirectory()) return say(base === dir ? 'exists and is not a directory' : `${base} is not a directory`);
    const type = statfsSync(base).type;
    const pseudo = PSEUDO_FS[type];
    if (pseudo !== undefined) return say(`${base} is on ${pseudo}, not a file system that stores files; choose a directory on a disk`);
  } catch (e) {
    return say(`cannot inspect ${base}: ${errnoText(e)}`);
  }
  // One mkdir per missing component, from the existing ancestor down.
  const missing: string[] = [];
  for (let p = dir; p !== base; p = dirname(p)) missing.unshift(p);
  for (const p of missing) {
    try {
      fault('mkdir', p);
      mkdirSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(p).isDirectory()) continue;
      return say(`cannot create ${p}: ${errnoText(e)}`);
    }
  }
  return E.right(dir);
}

/** Whether `name` (in a run directory or its checkpoints/) is a temporary file a crash can leave. */
const isTemp = (name: string): boolean => name.startsWith('.') && name.endsWith('.tmp') && !name.startsWith('.lock.');

/** Removes temporary files and staged best checkpoints left by a crash; returns how many. Call with the lock held. */
export function removeOrphans(dir: string, keepStaged?: string): number {
  let n = 0;
  for (const sub of [dir, join(dir, 'checkpoints')]) {
    if (!existsSync(sub)) continue;
    for (const name of readdirSync(sub)) {
      const staged = sub !== dir && /^\.best-\d+\.ckpt$/.test(name) && name !== keepStaged;
      if (isTemp(name) || staged) {
        rmSync(join(sub, name), { force: true });
        n++;
      }
    }
  }
  return n;
}

/** What is in a directory besides the lock and leftovers of a killed start (temps, an empty checkpoints/). */
function contents(dir: string): string[] {
  return readdirSync(dir).filter((name) => {
    if (name === 'lock' || isTemp(name) || name.startsWith('.lock.')) return false;
    if (name === 'checkpoints') {
      const p = join(dir, name);
      return !lstatSync(p).isDirectory() || readdirSync(p).some((n) => !isTemp(n));
    }
    return true;
  });
}

export interface OpenedRun {
  readonly dir: string;
  readonly lock: Lock;
  /** Notes for the user (a stale lock taken over, orphans removed). */
  readonly notes: readonly string[];
}

/**
 * Opens `target` for a new run of `command` (train or compare): created if missing, locked,
 * and empty but for leftovers of a killed start. Left: a message for the user (exit 2).
 */
export function openNewRun(target: string, flag: string, command: string): E.Either<string, OpenedRun> {
  const made = makeOutputDir(target, flag);
  if (E.isLeft(made)) return made;
  const dir = made.right;
  const notEmpty = (): E.Either<string, OpenedRun> => {
    const hint = existsSync(join(dir, 'config.json')) && command === 'train' ? ` (it holds a run: continue it with --resume ${target})` : ' (choose a new one)';
    return E.left(`${flag} ${target}: directory is not empty${hint}`);
  };
  // Refuse a used directory without writing to it (unless a writer holds it: then name the
  // writer); check again under the lock (a race).
  if (!existsSync(join(dir, 'lock')) && contents(dir).length > 0) return notEmpty();
  const lock = acquireLock(dir, `lets ${command}`);
  if (E.isLeft(lock)) return E.left(`${flag} ${lock.left}`);
  if (contents(dir).length > 0) {
    lock.right.release();
    return notEmpty();
  }
  const removed = removeOrphans(dir);
  return E.right({ dir, lock: lock.right, notes: [...lock.right.notes, ...(removed > 0 ? [`removed ${removed} temporary file(s) of a killed run`] : [])] });
}

export interface ResumeTarget {
  readonly dir: string;
  /** The checkpoint to continue from; undefined: the run never reached one (start again from step 0). */
  readonly ckpt?: string;
}

/** The run directory of `--resume PATH` (a run directory or a .ckpt file in its checkpoints/). */
export function resumeTarget(path: string): E.Either<string, ResumeTarget> {
  const p = resolvePath(path);
  if (!existsSync(p)) return E.left(`--resume ${path}: no such run directory or checkpoint`);
  if (statSync(p).isDirectory()) {
    if (!existsSync(join(p, 'config.json'))) {
      return E.left(
        contents(p).length === 0
          ? `--resume ${path}: no run was started there (no config.json); start one with --out ${path}`
          : `--resume ${path}: not a run directory (no config.json)`,
      );
    }
    const ckpt = join(p, 'checkpoints', 'last.ckpt');
    return E.right(existsSync(ckpt) ? { dir: p, ckpt } : { dir: p });
  }
  const dir = resolvePath(p, '..', '..');
  if (!existsSync(join(dir, 'config.json'))) return E.left(`--resume ${path}: ${dir} is not a run directory (no config.json)`);
  return E.right({ dir, ckpt: p });
}

/** Locks a run directory found by {@link resumeTarget} and removes a crash's temporary files. */
export function openResume(t: ResumeTarget): E.Either<string, OpenedRun> {
  const lock = acquireLock(t.dir, 'lets train --resume');
  if (E.isLeft(lock)) return E.left(`--resume ${lock.left}`);
  return E.right({ dir: t.dir, lock: lock.right, notes: lock.right.notes });
}
