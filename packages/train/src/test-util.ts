/** Fixtures of the train tests: the CPU backend and fixed pseudo-random numbers. */
export { setupCpu, lcg, lcgTensor as uniform } from '@lets/testing';

