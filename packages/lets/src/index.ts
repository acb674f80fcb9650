/**
 * @lets/lets — LETS: the SAM radius ρ learned by bilevel optimization for any SAM variant.
 * The training pipeline that runs it on real models is @lets/train.
 * @packageDocumentation
 */
export * from './lets';
