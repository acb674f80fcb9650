/**
 * The command's flags come from the registries the packages export: an entry added to a
 * package's registry (here, in a mock of each package, defined only in this test) is accepted
 * by validation, listed with its description in --help, and built, with no edit to the CLI.
 */
import * as E from 'fp-ts/Either';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const withRegistryEntries = <T>(f: () => T): T => {
  let out: T | undefined;
  jest.isolateModules(() => {
    jest.doMock('@lets/sam', () => {
      const a = jest.requireActual('@lets/sam');
      const preset = { description: 'a preset defined only in this test', build: (outer: Any, run: Any) => a.sam(outer, { rho: 2 * run.rho }) };
      return { ...a, SAM_PRESETS: { ...a.SAM_PRESETS, 'test-sam': preset } };
    });
    jest.doMock('@lets/optim', () => {
      const a = jest.requireActual('@lets/optim');
      const halfRate = { description: 'half the peak throughout (this test)', build: (peak: number) => a.constant(peak / 2) };
      return { ...a, RUN_SCHEDULES: { ...a.RUN_SCHEDULES, 'test-half': halfRate } };
    });
    jest.doMock('@lets/bilevel', () => {
      const a = jest.requireActual('@lets/bilevel');
      return { ...a, HVP_ESTIMATOR_REGISTRY: { ...a.HVP_ESTIMATOR_REGISTRY, 'test-hvp': { description: 'an estimator of this test', build: () => a.identityHvp() } } };
    });
    jest.doMock('@lets/data', () => {
      const a = jest.requireActual('@lets/data');
      const ds = { description: 'blobs under another name (this test)', source: 'generated', spec: (o: Any) => ({ name: 'blobs', seed: o.seed }) };
      return { ...a, DATASETS: { ...a.DATASETS, 'test-blobs': ds } };
    });
    jest.doMock('@lets/models', () => {
      const a = jest.requireActual('@lets/models');
      return { ...a, modelRegistry: { ...a.modelRegistry, 'test-mlp': { description: 'an MLP of this test', input: 'flat', fixed: true, build: a.mlp } } };
    });
    jest.doMock('@lets/runtime', () => {
      const a = jest.requireActual('@lets/runtime');
      return { ...a, BACKENDS: { ...a.BACKENDS, 'test-backend': { description: 'a backend of this test' } } };
    });
    out = f();
  });
  return out as T;
};

describe('registries drive the flags', () => {
  it('an entry added to each package registry is a flag value, described in --help and validated', () => {
    withRegistryEntries(() => {
      const { resolve, trainOptionsOf } = require('./options');
      const { commandHelp } = require('./help');
      const help: string = commandHelp('train');
      for (const [value, description] of <[string, string][]>[
        ['test-sam', 'a preset defined only in this test'],
        ['test-half', 'half the peak throughout (this test)'],
        ['test-hvp', 'an estimator of this test'],
        ['test-blobs', 'blobs under another name (this test)'],
        ['test-mlp', 'an MLP of this test'],
        ['test-backend', 'a backend of this test'],
      ]) {
        expect(help).toMatch(new RegExp(`\\n {8}${value} +${description.replace(/[()]/g, '\\$&')}\\n`));
      }
      expect(help).toContain('lets-test-sam');
      const argv = ['--method', 'lets-test-sam', '--schedule', 'test-half', '--estimator', 'test-hvp', '--dataset', 'test-blobs', '--model', 'test-mlp', '--backend', 'test-backend'];
      const r = resolve('train', argv);
      expect(E.isRight(r)).toBe(true);
      const o = trainOptionsOf(r.right.values);
      expect([o.method, o.schedule, o.estimator, o.dataset, o.model, o.backend]).toEqual(['lets-test-sam', 'test-half', 'test-hvp', 'test-blobs', 'test-mlp', 'test-backend']);
      // the dataset's declared source drives the --data-dir rule
      const withDir = resolve('train', ['--dataset', 'test-blobs', '--data-dir', 'x']);
      expect(E.isLeft(withDir) && withDir.left).toBe('--data-dir is for datasets read from files; --dataset test-blobs is generated from the seed');
      // and a value no registry has is still refused, naming the new ones among the accepted
      const bad = resolve('train', ['--method', 'nope']);
      expect(E.isLeft(bad) && bad.left).toMatch(/^--method: expected one of sgd, .*test-sam.*lets-test-sam/);
    });
  });

  it("the new preset and schedule are what the run builds: ρ of the preset's own build, the schedule's rate", () => {
    withRegistryEntries(() => {
      const { resolve, trainOptionsOf } = require('./options');
      const { buildMethod, learningRateSchedule } = require('./methods');
      expect(learningRateSchedule('test-half', 0.2, 10, 0)(3)).toBe(0.1);
      // (no momentum and no parameters: the state holds no tensor, so no backend is needed)
      const o = trainOptionsOf(right(resolve('train', ['--method', 'test-sam', '--rho', '0.03', '--schedule', 'test-half', '--momentum', '0'])));
      const m: Any = buildMethod(o, 10);
      expect(E.isRight(m)).toBe(true);
      const state = m.right.tx.init({});
      expect(m.right.tx.metrics(state).rho).toBe(0.06); // the test preset doubles ρ
      const lm: E.Either<string, Any> = buildMethod(trainOptionsOf(right(resolve('train', ['--method', 'lets-test-sam', '--rho', '0.03', '--estimator', 'test-hvp']))), 10);
      expect(E.isRight(lm) && lm.right.learnsRho).toBe(true);
    });
  });
});

function right(e: E.Either<string, { values: unknown }>): Any {
  if (E.isLeft(e)) throw new Error(`expected a Right, got '${e.left}'`);
  return e.right.values;
}
