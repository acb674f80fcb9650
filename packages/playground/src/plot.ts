/**
 * A small line chart on a 2-D canvas: axes with round ticks, one polyline per series, a legend.
 * A log y-axis is used when asked (ρ), with ticks at 1, 2, 5 × 10^k.
 */

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Series {
  readonly label: string;
  readonly color: string;
  readonly points: readonly Point[];
  /** Draw a dot at every point (sparse series such as test accuracy). */
  readonly dots?: boolean;
}

export interface ChartOptions {
  readonly title: string;
  readonly xLabel?: string;
  readonly logY?: boolean;
  /** Fixed y-range ends (otherwise from the data). */
  readonly yMin?: number;
  readonly yMax?: number;
}

export const BACKGROUND = '#ffffff';
const AXIS = '#444444';
const GRID = '#e6e6e6';
const FONT = '12px system-ui, sans-serif';

/** Round tick values covering [lo, hi]: about `n` steps of 1, 2 or 5 × 10^k. */
export function linearTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Ticks 1, 2, 5 × 10^k inside [lo, hi] (lo > 0); fewer when the range spans many decades. */
export function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  const decades = Math.log10(hi / lo);
  const mults = decades > 3 ? [1] : [1, 2, 5];
  for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) {
    for (const m of mults) {
      const v = Number((m * 10 ** k).toPrecision(6));
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push(v);
    }
  }
  return ticks;
}

/** A short label for a tick: 0.05, 1e-4, 120, 2.5k. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  if (a < 1e-3) return v.toExponential(0).replace('e-', 'e-');
  return String(Number(v.toPrecision(3)));
}

/** Draws the chart over the whole canvas (sized to its CSS box at the device pixel ratio). */
export function drawChart(canvas: HTMLCanvasElement, series: readonly Series[], opt: ChartOptions): void {
  const dpr = globalThis.devicePixelRatio || 1;
  const cssW = canvas.clientWidth || canvas.width;
  const cssH = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(cssH * dpr);
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = BACKGROUND;
  ctx.fillRect(0, 0, cssW, cssH);
  ctx.font = FONT;

  const left = 52;
  const right = 12;
  const top = 26;
  const bottom = 30;
  const w = cssW - left - right;
  const h = cssH - top - bottom;

  ctx.fillStyle = AXIS;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
  ctx.fillText(opt.title, left, 16);

  const pts = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!opt.logY || p.y > 0));
  if (pts.length === 0) {
    ctx.fillStyle = '#888';
    ctx.fillText('waiting for the first steps…', left + 8, top + h / 2);
    return;
  }
  let x0 = Math.min(...pts.map((p) => p.x));
  let x1 = Math.max(...pts.map((p) => p.x));
  if (x1 <= x0) x1 = x0 + 1;
  let y0 = opt.yMin ?? Math.min(...pts.map((p) => p.y));
  let y1 = opt.yMax ?? Math.max(...pts.map((p) => p.y));
  if (opt.logY) {
    if (y1 / y0 < 1.5) {
      const m = Math.sqrt(y0 * y1);
      y0 = m / 1.25;
      y1 = m * 1.25;
    }
    y0 /= 1.05;
    y1 *= 1.05;
  } else {
    if (y1 - y0 < 1e-9) {
      y0 -= 0.5;
      y1 += 0.5;
    }
    const pad = (y1 - y0) * 0.05;
    if (opt.yMin === undefined) y0 -= pad;
    if (opt.yMax === undefined) y1 += pad;
  }
  const fy = opt.logY ? (v: number) => Math.log(v) : (v: number) => v;
  const X = (v: number) => left + ((v - x0) / (x1 - x0)) * w;
  const Y = (v: number) => top + h - ((fy(v) - fy(y0)) / (fy(y1) - fy(y0))) * h;

  // grid and ticks
  ctx.strokeStyle = GRID;
  ctx.lineWidth = 1;
  ctx.fillStyle = AXIS;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  // within a factor of 3 a log axis gets round linear ticks (1, 2, 5 × 10^k alone would be too few)
  const yTicks = opt.logY ? (y1 / y0 < 3 ? linearTicks(y0, y1, 4).filter((t) => t > 0) : logTicks(y0, y1)) : linearTicks(y0, y1);
  for (const t of yTicks) {
    const y = Math.round(Y(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + w, y);
    ctx.stroke();
    ctx.fillText(formatTick(t), left - 6, y);
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of linearTicks(x0, x1, 6).filter((t) => Number.isInteger(t))) {
    const x = Math.round(X(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + h);
    ctx.stroke();
    ctx.fillText(formatTick(t), x, top + h + 6);
  }
  if (opt.xLabel) {
    ctx.textAlign = 'right';
    ctx.fillText(opt.xLabel, left + w, top + h + 18);
  }
  ctx.strokeStyle = AXIS;
  ctx.strokeRect(left + 0.5, top + 0.5, w, h);

  // series
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, w, h);
  ctx.clip();
  // earlier series are drawn wider, so a series that coincides with a later one still shows
  series.forEach((s, k) => {
    const ps = s.points.filter((p) => Number.isFinite(p.y) && (!opt.logY || p.y > 0));
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = 2 + 2.5 * (series.length - 1 - k);
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ps.forEach((p, i) => (i === 0 ? ctx.moveTo(X(p.x), Y(p.y)) : ctx.lineTo(X(p.x), Y(p.y))));
    ctx.stroke();
    if (s.dots) {
      for (const p of ps) {
        ctx.beginPath();
        ctx.arc(X(p.x), Y(p.y), 2.5 + 1.5 * (series.length - 1 - k), 0, 2 * Math.PI);
        ctx.fill();
      }
    }
  });
  ctx.restore();

  // legend, top right inside the plot
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  let lx = left + w - 8;
  for (const s of [...series].reverse()) {
    const tw = ctx.measureText(s.label).width;
    lx -= tw + 22;
    ctx.fillStyle = s.color;
    ctx.fillRect(lx, 12, 14, 3);
    ctx.fillStyle = AXIS;
    ctx.fillText(s.label, lx + 18, 13);
  }
}

/** Values of `ys` smoothed by an exponential moving average with weight `beta` on the past. */
export function smooth(ys: readonly number[], beta = 0.9): number[] {
  let m = 0;
  return ys.map((y, i) => {
    m = beta * m + (1 - beta) * y;
    return m / (1 - beta ** (i + 1));
  });
}
