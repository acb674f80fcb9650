/**
 * SAM and LETS-SAM trained side by side: the same initial parameters, the same batches, the same
 * outer optimizer; LETS-SAM learns ρ on the validation split every `every` steps.
 *
 * One step of a run is the library's loop as a user writes it (see the README's first example):
 * the clean loss and gradients by `gradFnOf`, then the optimizer's update (which takes SAM's
 * perturbed pass, and LETS's validation pass and ρ update, inside), then `applyUpdates`; the step
 * disposes everything it replaced, so the live tensor count stays flat.
 */
import * as tf from '@tensorflow/tfjs-core';
import { applyUpdates, cosineDecay, gradFnOf, sgd, adam, type GradientTransformation } from '@lets/optim';
import { sam } from '@lets/sam';
import { lets, DEFAULT_RHO_LR } from '@lets/lets';
import { cloneState, dispose, disposeState, type Params } from '@lets/tree';
import type { Batch } from './data';
import { accuracy, mlpLoss } from './model';

export interface Settings {
  /** SGD learning rate (momentum 0.9). */
  readonly lr: number;
  /** Initial radius ρ₀ of both runs (SAM keeps it). */
  readonly rho0: number;
  /** LETS updates ρ every `every` steps. */
  readonly every: number;
  /** Learning rate of Adam on log ρ (default: the library's). */
  readonly rhoLr: number;
  /**
   * 'cosine': that rate decays to 0 over the run's ρ updates, so ρ settles (the `lets` command's
   * default, `--rho-lr-schedule`); 'constant': it stays.
   */
  readonly rhoSchedule: 'cosine' | 'constant';
}

export const DEFAULT_SETTINGS: Settings = { lr: 0.05, rho0: 0.05, every: 5, rhoLr: DEFAULT_RHO_LR, rhoSchedule: 'cosine' };

export interface StepRecord {
  readonly step: number;
  readonly loss: number;
  /** The ρ the next step uses. */
  readonly rho: number;
}

export interface EvalRecord {
  readonly step: number;
  readonly accuracy: number;
}

export class Run {
  readonly history: StepRecord[] = [];
  readonly evals: EvalRecord[] = [];
  private params: Params;
  private state: unknown;
  private steps = 0;

  constructor(
    readonly label: string,
    private readonly optimizer: GradientTransformation<any>,
    initial: Params,
  ) {
    this.params = cloneState(initial);
    this.state = optimizer.init(this.params);
  }

  /** ρ the next update uses: what the optimizer's `metrics` reports. */
  get rho(): number {
    const rho = this.optimizer.metrics?.(this.state).rho;
    if (rho === undefined) throw new Error(`${this.label}: the optimizer reports no rho (it has no metrics)`);
    return rho;
  }

  /** One training step; returns the clean loss at the old parameters (owned by the caller). */
  step(train: Batch, validation: Batch): tf.Scalar {
    const gradFn = gradFnOf(mlpLoss(train.x, train.y));
    const { loss, grads } = gradFn(this.params);
    const [updates, next] = this.optimizer.update(grads, this.state, this.params, {
      loss,
      gradFn,
      valGradFn: gradFnOf(mlpLoss(validation.x, validation.y)),
      step: this.steps,
    });
    const params = applyUpdates(this.params, updates);
    [this.params, updates, grads].forEach(dispose);
    disposeState(this.state);
    this.params = params;
    this.state = next;
    this.steps++;
    return loss;
  }

  record(loss: number): void {
    this.history.push({ step: this.steps, loss, rho: this.rho });
  }

  /** Accuracy on a batch (owned by the caller). */
  accuracy(batch: Batch): tf.Scalar {
    return accuracy(this.params, batch.x, batch.y);
  }

  dispose(): void {
    dispose(this.params);
    disposeState(this.state);
  }
}

/** The two runs of `steps` steps, from the same initial parameters (which stay the caller's). */
export function makeRuns(initial: Params, s: Settings, steps: number): { sam: Run; lets: Run } {
  const outer = () => sgd(s.lr, { momentum: 0.9 });
  const updates = Math.max(1, Math.floor(steps / s.every)); // the ρ optimizer counts its own updates
  const rate = s.rhoSchedule === 'cosine' ? cosineDecay(s.rhoLr, updates) : s.rhoLr;
  return {
    sam: new Run('SAM', sam(outer(), { rho: s.rho0 }), initial),
    lets: new Run('LETS-SAM', lets(sam(outer(), { rho: s.rho0 }), { every: s.every, estimator: 'fd', rhoOptimizer: adam(rate) }), initial),
  };
}
