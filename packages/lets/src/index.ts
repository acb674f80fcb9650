/**
 * @lets/lets — LETS: the SAM radius ρ learned by bilevel optimization for any SAM variant,
 * and the training pipeline (step function, epoch loop, evaluation, callbacks, checkpoints).
 * @packageDocumentation
 */
export * from './lets';
export * from './pipeline';
