/**
 * @lets/tree — parameter trees (flat ordered maps from a '/'-path to a tensor) and their math.
 * @packageDocumentation
 */
export * from './tree';
export { AXPY_KERNEL, DOT_KERNEL, SUB_SCALE_KERNEL, TREE_DOT_KERNEL, TREE_DOTS_KERNEL, TREE_NORMALIZED_AXPY_KERNEL, normalizedAxpy, type NormalizedAxpy } from './fused';
export * from './serialize';
export * from './state';
