/**
 * Progress display on stderr: a bar with the step, loss, accuracy, ρ and throughput, redrawn
 * in place on a terminal and printed every 10% of an epoch otherwise. `--quiet` and `--json`
 * show nothing; `--events` (compare's workers) prints the same data as JSON lines on stdout.
 */

export interface StepInfo {
  readonly step: number;
  /** Batches done in this epoch. */
  readonly batch: number;
  /** Running mean loss and accuracy of this epoch. */
  readonly loss: number;
  readonly accuracy: number;
  readonly rho: number;
  readonly examplesPerSecond: number;
}

export interface EpochInfo {
  readonly epoch: number;
  readonly valAccuracy: number;
  readonly testAccuracy: number;
  readonly rho: number;
}

export interface Progress {
  epochStart(epoch: number, epochs: number, batches: number, done: number): void;
  step(s: StepInfo): void;
  epochEnd(e: EpochInfo): void;
}

export const silentProgress: Progress = { epochStart: () => {}, step: () => {}, epochEnd: () => {} };

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
const fmtRho = (r: number): string => (r === 0 ? '0' : r.toPrecision(3));

/** A progress bar on a stream (stderr). */
export function barProgress(label: string, out: NodeJS.WriteStream = process.stderr): Progress {
  const tty = out.isTTY === true;
  let epoch = 0;
  let epochs = 0;
  let batches = 0;
  let lastPrinted = -1;
  let rate = 0;
  const width = 24;
  return {
    epochStart(e, n, b, done) {
      epoch = e;
      epochs = n;
      batches = b;
      lastPrinted = Math.floor((10 * done) / Math.max(1, b)) - 1;
      rate = 0;
    },
    step(s) {
      rate = rate === 0 ? s.examplesPerSecond : 0.9 * rate + 0.1 * s.examplesPerSecond;
      const frac = s.batch / Math.max(1, batches);
      const filled = Math.round(frac * width);
      const line =
        `${label} epoch ${epoch + 1}/${epochs} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` +
        `${s.batch}/${batches} step ${s.step} loss ${s.loss.toFixed(4)} acc ${pct(s.accuracy)} ρ ${fmtRho(s.rho)} ${rate.toFixed(0)} ex/s`;
      if (tty) out.write(`\r${line}\x1b[K`);
      else {
        const tenth = Math.floor(10 * frac);
        if (tenth > lastPrinted) {
          lastPrinted = tenth;
          out.write(`${line}\n`);
        }
      }
    },
    epochEnd(e) {
      out.write(`${tty ? '\r\x1b[K' : ''}${label} epoch ${e.epoch}/${epochs}: val acc ${pct(e.valAccuracy)}  test acc ${pct(e.testAccuracy)}  ρ ${fmtRho(e.rho)}\n`);
    },
  };
}

/** Progress as JSON lines on stdout (read by `lets compare` from its workers). */
export function eventProgress(out: NodeJS.WritableStream = process.stdout): Progress {
  let epochs = 0;
  let batches = 0;
  let epoch = 0;
  let lastT = 0;
  return {
    epochStart(e, n, b) {
      epoch = e;
      epochs = n;
      batches = b;
    },
    step(s) {
      const now = Date.now();
      if (now - lastT < 500 && s.batch < batches) return;
      lastT = now;
      out.write(`${JSON.stringify({ event: 'step', epoch, epochs, batches, ...s })}\n`);
    },
    epochEnd(e) {
      out.write(`${JSON.stringify({ event: 'epoch', epochs, ...e })}\n`);
    },
  };
}
