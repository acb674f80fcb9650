/**
 * The SAM presets by their command-line name: what each is, and how a training run builds it
 * from an outer optimizer and the run's ρ, learning-rate schedule and length. A preset that
 * follows the run (GSAM ties ρ to the learning-rate schedule, as its ProportionScheduler does;
 * LE-SAM anneals its σ over the run's length) says so in its own `build`, so a caller never
 * needs to know which preset it holds.
 */
import type { GradientTransformation, Schedule } from '@lets/optim';
import type { SamTransformation } from './types';
import { asam, esam, fisherSam, friendlySam, gam, gsam, leSam, lookSam, msam, randomSam, sam, samOn, stableSam, vasso } from './presets';

/** What a training run tells a preset. */
export interface PresetRun {
  /** ρ (for LE-SAM: its budget σ). */
  readonly rho: number;
  /** The run's learning-rate schedule of the outer optimizer. */
  readonly lr?: Schedule;
  /** The run's length in steps. */
  readonly totalSteps?: number;
}

/** A registered SAM preset. */
export interface SamPreset {
  /** One line: the method and its reference. */
  readonly description: string;
  /** The preset around `outer`, configured for the run. */
  readonly build: <S>(outer: GradientTransformation<S>, run: PresetRun) => SamTransformation<S>;
}

/** Every SAM preset, in the order a command lists them. */
export const SAM_PRESETS = {
  sam: { description: 'SAM (Foret et al. 2021)', build: (outer, run) => sam(outer, { rho: run.rho }) },
  asam: { description: 'ASAM, adaptive SAM (Kwon et al. 2021)', build: (outer, run) => asam(outer, { rho: run.rho }) },
  gsam: {
    description: "GSAM, surrogate-gap SAM (Zhuang et al. 2022); ρ follows the run's learning-rate schedule",
    build: (outer, run) => gsam(outer, { rho: run.rho, ...(run.lr !== undefined ? { lr: run.lr } : {}) }),
  },
  esam: { description: 'ESAM, stochastic weight perturbation and sharpness-sensitive data (Du et al. 2022)', build: (outer, run) => esam(outer, { rho: run.rho }) },
  'fisher-sam': { description: 'Fisher SAM (Kim et al. 2022)', build: (outer, run) => fisherSam(outer, { rho: run.rho }) },
  'sam-on': { description: 'SAM-ON, normalization layers only (Mueller et al. 2023)', build: (outer, run) => samOn(outer, { rho: run.rho }) },
  vasso: { description: 'VaSSO, variance-suppressed SAM (Li & Giannakis 2023)', build: (outer, run) => vasso(outer, { rho: run.rho }) },
  'friendly-sam': { description: 'Friendly SAM (Li et al. 2024)', build: (outer, run) => friendlySam(outer, { rho: run.rho }) },
  'look-sam': { description: 'LookSAM, the SAM pass every k steps (Liu et al. 2022)', build: (outer, run) => lookSam(outer, { rho: run.rho }) },
  msam: { description: 'mSAM, one ε per micro-batch (Foret et al. 2021 §4)', build: (outer, run) => msam(outer, { rho: run.rho }) },
  gam: { description: 'GAM, gradient-norm aware (Zhang et al. 2023)', build: (outer, run) => gam(outer, { rho: run.rho }) },
  'random-sam': { description: 'Random SAM, ascent from a Gaussian-smoothed point (Liu et al. 2022)', build: (outer, run) => randomSam(outer, { rho: run.rho }) },
  'stable-sam': { description: "StableSAM, g_p renormalized to the clean gradient's norm (Tan et al. 2024)", build: (outer, run) => stableSam(outer, { rho: run.rho }) },
  'le-sam': {
    description: "LE-SAM, loss-equated radius (2026); ρ is the budget σ, annealed over the run's length",
    // leSamSchedule needs a warm-up step below the run's length: at least 2 steps.
    build: (outer, run) => leSam(outer, { rho: run.rho, ...(run.totalSteps !== undefined ? { totalSteps: Math.max(2, run.totalSteps) } : {}) }),
  },
} as const satisfies Readonly<Record<string, SamPreset>>;

export type SamPresetName = keyof typeof SAM_PRESETS;
