/**
 * @lets/cli — the `lets` command (train, compare, bench, report) and the functions behind it.
 * @packageDocumentation
 */
export { main } from './main';
export type { CliIO } from './main';
export { FLAGS, METHODS, SAM_VARIANTS, flagsOf } from './flags';
export type { Command, FlagSpec, FlagKind } from './flags';
export { resolve, trainOptionsOf, PRESETS } from './options';
export type { TrainOptions, CompareOptions, BenchOptions, RunFlags } from './options';
export { prepareRun, train, trainStep, evaluateExamples, readRunConfig, readFinalParams } from './train';
export type { TrainSummary, RunContext, Vars } from './train';
export { runCompare, planRuns, tabulate, formatTable } from './compare';
export type { CompareResult, CompareRun, CompareRowStats } from './compare';
export { runBench, formatBench } from './bench';
export type { BenchResult, BenchRow } from './bench';
export { buildReport } from './report/build';
export { learningRateSchedule, buildMethod } from './methods';
export { writeRunFile, readCheckpoint, writeCheckpoint } from './files';
