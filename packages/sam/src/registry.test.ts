import * as T from '@lets/tree';
import { sgd } from '@lets/optim';
import { SAM_PRESETS } from './registry';
import * as presets from './presets';
import { W0, setup, toTree } from './test-util';

beforeAll(setup);

describe('SAM_PRESETS', () => {
  it("builds each preset around the outer optimizer with the run's ρ, under the preset's own name", () => {
    const camel = (n: string) => n.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const params = toTree(W0);
    for (const [name, p] of Object.entries(SAM_PRESETS)) {
      expect(p.description.length).toBeGreaterThan(5);
      const tx = p.build(sgd(0.1), { rho: 0.07 });
      expect(tx.name).toBe(camel(name));
      expect(typeof (presets as Record<string, unknown>)[camel(name)]).toBe('function');
      const s = tx.init(params);
      expect([name, tx.metrics(s).rho]).toEqual([name, 0.07]);
      T.disposeState(s);
    }
    T.dispose(params);
  });

  it("GSAM follows the run's learning-rate schedule and LE-SAM anneals σ over the run's length", () => {
    const params = toTree(W0);
    const lr = (t: number) => 0.1 * (1 - t / 10);
    const g = SAM_PRESETS.gsam.build(sgd(lr), { rho: 0.07, lr, totalSteps: 10 });
    const gs = g.init(params);
    expect(g.metrics(gs).rho).toBe(0.07); // ρ_max at lr_max = lr(0)
    const l = SAM_PRESETS['le-sam'].build(sgd(0.1), { rho: 0.35, totalSteps: 100 });
    const ls = l.init(params);
    expect(l.metrics(ls).rho).toBeCloseTo(0.35 / 5, 15); // warm-up over 5 % of 100 steps: σ·1/5 at step 0
    const one = SAM_PRESETS['le-sam'].build(sgd(0.1), { rho: 0.35, totalSteps: 1 }); // a one-step run still builds (T ≥ 2)
    const os = one.init(params);
    expect(one.metrics(os).rho).toBeCloseTo(0.35, 15);
    [gs, ls, os].forEach(T.disposeState);
    T.dispose(params);
  });
});
