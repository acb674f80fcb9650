import { resolve, trainOptionsOf } from './options';
import { runBench, formatBench } from './bench';
import { Writable } from 'node:stream';

describe('bench', () => {
  it('times SGD, SAM, the methods and their bases, with ratios over SGD and over the base', async () => {
    const r = resolve('bench', ['--preset', 'smoke', '--train-size', '200', '--batch-size', '20']);
    if (r._tag === 'Left') throw new Error(r.left);
    const base = trainOptionsOf(r.right.values);
    const quietErr = new Writable({ write: (_c, _e, cb) => cb() });
    const res = await runBench({ base, methods: ['lets-asam'], steps: 3 }, { quiet: true, json: false, noReport: false, events: false }, { stderr: quietErr });
    expect(res.rows.map((x) => x.method)).toEqual(['sgd', 'sam', 'lets-asam', 'asam']);
    const by = Object.fromEntries(res.rows.map((x) => [x.method, x]));
    expect(by['sgd']?.overSgd).toBe(1);
    expect(by['sam']?.base).toBeNull();
    expect(by['asam']?.base).toBe('sam');
    expect(by['lets-asam']?.base).toBe('asam');
    expect(by['lets-asam']?.overBase).toBeCloseTo((by['lets-asam']?.medianMs as number) / (by['asam']?.medianMs as number), 12);
    expect(res.rows.every((x) => x.medianMs > 0)).toBe(true);
    expect(formatBench(res)).toContain('lets-asam');
  });
});
