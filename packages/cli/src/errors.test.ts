/**
 * What a user sees when a run cannot start or cannot go on: one line naming the input and the
 * real cause, exit 2 before anything is written (or 1 during the run), a stack only with --debug.
 * Cases 3, 4, 6, 8, 9 and 10 of the run-directory issue; faults are injected (LETS_FAULT).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { disposeState } from '@lets/tree';
import { resetFaults } from './faults';
import { readCheckpoint } from './files';
import { resolve } from './options';
import { run, tempDir, TINY } from './test-util';

afterEach(() => {
  delete process.env['LETS_FAULT'];
  resetFaults();
});

const oneLine = (s: string): void => {
  expect(s.trim().split('\n')).toHaveLength(1);
  expect(s).not.toMatch(/\n\s+at /);
};

describe('3. output paths are checked before training, in bounded time, with the real errno', () => {
  it('--out under /proc is refused at once (Node 20 recursive mkdir loops there forever)', async () => {
    const t0 = Date.now();
    const r = await run(['train', ...TINY, '--out', '/proc/lets-run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('lets train: --out /proc/lets-run: /proc is on proc, not a file system that stores files; choose a directory on a disk\n');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a read-only file system is reported as EROFS (injected into mkdir), a file in the way as not a directory', async () => {
    const dir = tempDir();
    process.env['LETS_FAULT'] = 'EROFS@mkdir';
    const r = await run(['train', ...TINY, '--out', join(dir, 'a', 'b')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`lets train: --out ${join(dir, 'a', 'b')}: cannot create ${join(dir, 'a')}: read-only file system (EROFS)\n`);
    writeFileSync(join(dir, 'f'), '');
    const f = await run(['train', ...TINY, '--out', join(dir, 'f', 'run')]);
    expect(f.code).toBe(2);
    expect(f.stderr).toBe(`lets train: --out ${join(dir, 'f', 'run')}: ${join(dir, 'f')} is not a directory\n`);
    expect(readdirSync(dir)).toEqual(['f']);
  });
});

describe('4. a config file cannot steer resume or out; a resumed run keeps its config', () => {
  it("refuses 'resume' and 'out' keys in a config file", async () => {
    const dir = tempDir();
    for (const key of ['resume', 'out']) {
      const cfg = join(dir, `${key}.yaml`);
      writeFileSync(cfg, `${key}: ${join(dir, 'old')}\n`);
      const r = await run(['train', '--config', cfg, '--lr', '0.5', '--epochs', '2', '--out', join(dir, 'y')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`lets train: config file ${cfg}: key '${key}' is not allowed in a config file; give --${key} on the command line\n`);
    }
    expect(existsSync(join(dir, 'y'))).toBe(false);
  });

  it('refuses to resume when config.json changed since the checkpoint, naming the key', async () => {
    const dir = join(tempDir(), 'run');
    const a = await run(['train', ...TINY, '--method', 'lets-sam', '--out', dir, '--halt-after', '4', '--checkpoint-every', '2', '--no-report']);
    expect(a.code).toBe(3);
    const file = join(dir, 'config.json');
    const cfg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...cfg, method: 'sam' }));
    const r = await run(['train', '--resume', dir, '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `lets train: ${file}: key 'method' is "sam" in config.json but was "lets-sam" when the checkpoint of step 4 was written; a resumed run keeps its options (restore config.json, or start a new run with --out)\n`,
    );
  });
});

describe('8 and 9. failures during a run', () => {
  it('LETS with a diverging lr fails with the divergence message, not an internal one', async () => {
    const dir = join(tempDir(), 'lets');
    const r = await run(['train', ...TINY, '--method', 'lets-sam', '--lr', '1e39', '--out', dir]);
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/^lets train: training diverged at step \d+: .*likely cause: the learning rate: lower --lr \(1e\+39\)/);
    expect(r.stderr).not.toContain('withRho');
  });

  it('a large fixed ρ that blows up is blamed on ρ', async () => {
    const r = await run(['train', ...TINY, '--method', 'sam', '--rho', '1e30', '--out', join(tempDir(), 'rho')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('likely cause: ρ: lower --rho (1e+30)');
  });

  it('an unexpected error is one line; --debug adds the stack trace', async () => {
    process.env['LETS_FAULT'] = 'EIO@before:summary.json';
    const dir = join(tempDir(), 'io');
    const r = await run(['train', ...TINY, '--out', dir]);
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toBe(`lets train: cannot write ${join(dir, 'summary.json')}: i/o error (EIO); the checkpoint of step 16 is intact: continue with lets train --resume ${dir}\n`);
    resetFaults();
    const d = await run(['train', ...TINY, '--out', join(tempDir(), 'io2'), '--debug']);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/\n\s+at /);
  });

  it('compare exits 1 when runs fail and lists which', async () => {
    const out = join(tempDir(), 'cmp');
    const r = await run(['compare', ...TINY.map((a, i) => (TINY[i - 1] === '--epochs' ? '1' : a)), '--methods', 'sgd,sam', '--lr', '1e39', '--jobs', '1', '--out', out, '--no-report']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('0/2 runs on cpu');
    expect(r.stdout).toMatch(/FAILED sgd-seed0: training diverged at step \d+: /);
    expect(r.stderr).toBe(`lets compare: 2 of 2 runs failed: sgd-seed0, sam-rho0.05-seed0 (see ${out}/compare.json)\n`);
    expect(existsSync(join(out, 'lock'))).toBe(false);
  });

  it('6. a non-finite state is never checkpointed: the last good checkpoint stays and loads', async () => {
    const dir = join(tempDir(), 'nan');
    const r = await run(['train', ...TINY, '--method', 'lets-sam', '--lr', '5', '--checkpoint-every', '5', '--out', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^lets train: training diverged at step 8: non-finite values in \S+; likely cause: the learning rate: lower --lr \(5\); the last good checkpoint \(step 5\) is kept\n$/);
    const ck = readCheckpoint(join(dir, 'checkpoints', 'last.ckpt'));
    expect(E.isRight(ck) && ck.right.step).toBe(5);
    if (E.isRight(ck)) disposeState(ck.right);
  });
});

describe('10. validation gaps', () => {
  const err = (argv: string[]): string => {
    const r = resolve('train', argv);
    return r._tag === 'Left' ? r.left : '';
  };
  it('refuses unsafe integers, hex and other non-decimal numbers, and says Infinity rather than null', () => {
    expect(err(['--seed', '99999999999999999999'])).toBe("--seed: expected an integer ≥ 0, got '99999999999999999999'");
    expect(err(['--seed', '4294967296'])).toBe('--seed: expected an integer ≥ 0 and ≤ 4294967295, got 4294967296');
    expect(err(['--lr', '0x10'])).toBe("--lr: expected a number > 0, got '0x10'");
    expect(err(['--lr', 'Infinity'])).toBe("--lr: expected a number > 0, got 'Infinity'");
    const dir = tempDir();
    writeFileSync(join(dir, 'c.yaml'), 'lr: .inf\n');
    expect(err(['--config', join(dir, 'c.yaml')])).toBe(`config file ${join(dir, 'c.yaml')}, key 'lr': expected a number > 0, got Infinity`);
  });

  it('--data-dir with a generated dataset, and a file dataset without --data-dir, are refused', () => {
    expect(err(['--dataset', 'blobs', '--data-dir', '/tmp'])).toBe('--data-dir is for datasets read from files; --dataset blobs is generated from the seed');
    expect(err(['--dataset', 'fashion-mnist'])).toBe('--dataset fashion-mnist needs --data-dir DIR: the directory with its files (it is not bundled)');
  });
});
