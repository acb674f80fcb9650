import * as E from 'fp-ts/Either';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FLAGS, flagsOf, METHODS, SAM_VARIANTS } from './flags';
import { commandHelp } from './help';
import { resolve, trainOptionsOf } from './options';
import { parseConfigText } from './parse';
import { tempDir } from './test-util';

const left = <A>(e: E.Either<string, A>): string => {
  if (E.isRight(e)) throw new Error(`expected a Left, got ${JSON.stringify(e.right)}`);
  return e.left;
};
const right = <A>(e: E.Either<string, A>): A => {
  if (E.isLeft(e)) throw new Error(`expected a Right, got '${e.left}'`);
  return e.right;
};

describe('flag validation', () => {
  it('refuses an unknown flag, naming it and suggesting the closest one', () => {
    const m = left(resolve('train', ['--batchsize', '32']));
    expect(m).toContain('unknown flag --batchsize');
    expect(m).toContain('did you mean --batch-size?');
  });

  it.each([
    [['--rho', 'abc'], '--rho', 'a number > 0'],
    [['--rho', '0'], '--rho', 'a number > 0'],
    [['--rho', '-0.1'], '--rho', 'a number > 0'],
    [['--epochs', '1.5'], '--epochs', 'an integer ≥ 1'],
    [['--epochs', '0'], '--epochs', 'an integer ≥ 1'],
    [['--val-fraction', '1'], '--val-fraction', 'a number > 0 and < 1'],
    [['--label-noise', '1.2'], '--label-noise', 'a number ≥ 0 and < 1'],
    [['--method', 'foo'], '--method', 'one of sgd, sam, asam'],
    [['--backend', 'gpu'], '--backend', 'one of auto, cpu, wasm, native, webgpu, tensorflow'],
    [['--estimator', 'hessian'], '--estimator', 'one of exact, fd, central, fisher, identity'],
    [['--model', 'vgg'], '--model', 'one of mlp, cnn, resnet18'],
    [['--quiet=maybe'], '--quiet', 'true or false'],
  ])('refuses %j naming %s and the accepted values', (argv, flag, acceptedText) => {
    const m = left(resolve('train', argv as string[]));
    expect(m.startsWith(`${flag}:`)).toBe(true);
    expect(m).toContain(acceptedText);
  });

  it('refuses a flag without its value, a repeated flag and a stray argument', () => {
    expect(left(resolve('train', ['--rho']))).toContain('--rho needs a value');
    expect(left(resolve('train', ['--rho', '0.1', '--rho', '0.2']))).toContain('more than once');
    expect(left(resolve('train', ['mnist']))).toContain("unexpected argument 'mnist'");
  });

  it('checks rules across flags', () => {
    expect(left(resolve('train', ['--rho-min', '0.5', '--rho-max', '0.1']))).toContain('--rho-min (0.5) must be below --rho-max (0.1)');
    expect(left(resolve('train', ['--method', 'lets-sam', '--rho', '9', '--rho-max', '5']))).toContain('must lie in [--rho-min, --rho-max]');
    // The expected error is not in the training cross-entropy's units: only with --objective val.
    for (const objective of ['gap', 'gap-val']) {
      expect(left(resolve('train', ['--val-loss', 'error', '--objective', objective]))).toContain(`--val-loss error goes with --objective val only: --objective ${objective}`);
    }
    expect(trainOptionsOf(right(resolve('train', ['--val-loss', 'error'])).values).valLoss).toBe('error');
    expect(trainOptionsOf(right(resolve('train', [])).values).valLoss).toBe('ce');
    expect(left(resolve('train', ['--val-loss', 'mae']))).toContain('one of ce, error');
  });

  it('refuses training flags with --resume (a resumed run keeps its config.json)', () => {
    expect(left(resolve('train', ['--resume', 'runs/x', '--epochs', '5']))).toContain('--epochs cannot be given with it');
    expect(left(resolve('train', ['--resume', 'runs/x', '--out=y']))).toContain('--out cannot be given with it');
    expect(E.isRight(resolve('train', ['--resume', 'runs/x', '--quiet', '--json']))).toBe(true);
  });

  it('parses comma lists for compare', () => {
    const v = right(resolve('compare', ['--methods', 'sam,lets-asam', '--rhos', '0.01,0.1', '--seeds', '1,2,3'])).values;
    expect(v['methods']).toEqual(['sam', 'lets-asam']);
    expect(v['rhos']).toEqual([0.01, 0.1]);
    expect(v['seeds']).toEqual([1, 2, 3]);
    expect(left(resolve('compare', ['--methods', 'sam,nope']))).toContain('--methods: expected comma-separated values from');
    expect(left(resolve('compare', ['--rhos', '0.1,-1']))).toContain('--rhos');
  });

  it('offers sgd, every SAM preset and lets-<preset> for each', () => {
    expect(METHODS).toEqual(['sgd', ...SAM_VARIANTS, ...SAM_VARIANTS.map((v) => `lets-${v}`)]);
    expect(SAM_VARIANTS).toHaveLength(14);
  });
});

describe('precedence and config files', () => {
  it('takes defaults < preset < config file < flags', () => {
    const dir = tempDir();
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'epochs: 7\nbatchSize: 64\nrho: 0.2\n');
    const o = trainOptionsOf(right(resolve('train', ['--preset', 'smoke', '--config', file, '--rho', '0.3'])).values);
    expect(o.rho).toBe(0.3); // flag beats the file
    expect(o.epochs).toBe(7); // the file beats the preset (2)
    expect(o.batchSize).toBe(64);
    expect(o.dataset).toBe('blobs'); // the preset beats the default (mnist)
    expect(o.lr).toBe(0.05); // the default
  });

  it('reads JSON and YAML with flag names or camelCase keys', () => {
    const y = right(parseConfigText('train', 'batch-size: 32\nvalFraction: 0.2\nmethod: lets-sam\n', 'x.yml'));
    expect(y).toEqual({ 'batch-size': 32, 'val-fraction': 0.2, method: 'lets-sam' });
    const j = right(parseConfigText('train', '{"rhoLr": 0.5, "seed": 3}', 'x.json'));
    expect(j).toEqual({ 'rho-lr': 0.5, seed: 3 });
  });

  it('refuses an unknown key, a non-mapping, bad syntax and a bad value, naming the file and key', () => {
    expect(left(parseConfigText('train', 'epoch: 3\n', 'a.yaml'))).toMatch(/a\.yaml: unknown key 'epoch'.*did you mean epochs/);
    expect(left(parseConfigText('train', '- 1\n- 2\n', 'a.yaml'))).toContain('expected a mapping');
    expect(left(parseConfigText('train', '{"rho": ', 'a.json'))).toContain('not valid JSON');
    const dir = tempDir();
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ rho: 'big' }));
    expect(left(resolve('train', ['--config', file]))).toBe(`config file ${file}, key 'rho': expected a number > 0, got 'big'`);
    expect(left(resolve('train', ['--config', join(dir, 'missing.yaml')]))).toContain('cannot read');
  });
});

describe('--help', () => {
  it.each(['train', 'compare', 'bench'] as const)('lists every flag of %s with its accepted values', (command) => {
    const help = commandHelp(command);
    for (const f of flagsOf(command).filter((s) => !s.hidden)) expect(help).toContain(`--${f.name}`);
  });

  it('train --help names every training option', () => {
    const help = commandHelp('train');
    for (const name of ['dataset', 'data-dir', 'val-fraction', 'label-noise', 'model', 'method', 'rho', 'rho-lr', 'estimator', 'every', 'optimizer', 'schedule', 'epochs', 'batch-size', 'seed', 'backend', 'out', 'resume', 'quiet', 'json']) {
      expect(help).toContain(`--${name} `.trimEnd());
    }
    expect(FLAGS.every((f) => f.help.length > 0)).toBe(true);
  });
});
