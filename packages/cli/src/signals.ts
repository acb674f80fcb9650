/**
 * SIGINT and SIGTERM during a run: the first one asks the run to stop after the current step
 * (it then checkpoints, prints the command that resumes it and exits 130 or 143); the handlers
 * are removed at once, so a second signal has the default effect and ends the process
 * immediately, even in the middle of a step (the atomic writes leave the last checkpoint intact).
 */
export type StopSignal = 'SIGINT' | 'SIGTERM';

/** Exit codes: 128 + the signal number, as a shell reports a process ended by it. */
export const SIGNAL_EXIT: Readonly<Record<StopSignal, number>> = { SIGINT: 130, SIGTERM: 143 };

export interface StopWatch {
  /** The signal received, if any. */
  readonly requested: () => StopSignal | undefined;
  /** Lets the event loop deliver a pending signal (the training loop only awaits microtasks). */
  readonly poll: () => Promise<void>;
  readonly dispose: () => void;
}

/** Thrown (by the run) once it has checkpointed after a signal. */
export class Interrupted extends Error {
  constructor(
    readonly signal: StopSignal,
    message: string,
  ) {
    super(message);
  }
}

/** Watches for SIGINT/SIGTERM until disposed; `onSignal` says so to the user at once. */
export function watchSignals(onSignal: (s: StopSignal) => void): StopWatch {
  let got: StopSignal | undefined;
  const handlers: Record<StopSignal, () => void> = {
    SIGINT: () => handle('SIGINT'),
    SIGTERM: () => handle('SIGTERM'),
  };
  const remove = (): void => {
    process.removeListener('SIGINT', handlers.SIGINT);
    process.removeListener('SIGTERM', handlers.SIGTERM);
  };
  const handle = (s: StopSignal): void => {
    // The next signal gets the default action: the process ends at once.
    remove();
    if (got !== undefined) return;
    got = s;
    onSignal(s);
  };
  process.on('SIGINT', handlers.SIGINT);
  process.on('SIGTERM', handlers.SIGTERM);
  return {
    requested: () => got,
    poll: () => new Promise((r) => setImmediate(r)),
    dispose: remove,
  };
}
