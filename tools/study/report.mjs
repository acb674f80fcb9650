// docs/results.md and its SVG plots, from the study's run records (tools/study.mjs).
// Pure: records in, text out. Numbers are reported as measured; nothing is filtered.

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1)));
const pct = (x) => (x * 100).toFixed(2);
const fmtRho = (x) => (x === 0 ? '–' : Number(x.toPrecision(3)).toString());

/** Runs of one setting grouped by method and ρ (or ρ₀). */
const cellsOf = (records) => {
  const cells = new Map();
  for (const r of records) {
    const key = `${r.method}|${r.rho}`;
    if (!cells.has(key)) cells.set(key, { method: r.method, rho: r.rho, runs: [], failed: [] });
    (r.failed ? cells.get(key).failed : cells.get(key).runs).push(r);
  }
  const order = (m) => ['sgd', 'sam', 'lets-sam', 'asam', 'lets-asam', 'le-sam', 'gsam'].indexOf(m);
  return [...cells.values()].sort((a, b) => order(a.method) - order(b.method) || a.rho - b.rho);
};

/** The mean of f over a cell's runs where every run has a finite value; NaN (no point, '–') otherwise. */
const meanIfAll = (cell, f) => {
  const xs = cell.runs.map(f);
  return xs.length > 0 && xs.every((x) => typeof x === 'number' && Number.isFinite(x)) ? mean(xs) : NaN;
};

const stats = (cell) => {
  const acc = cell.runs.map((r) => r.summary.testAccuracy);
  const gap = cell.runs.map((r) => r.summary.gap);
  const wall = cell.runs.map((r) => r.summary.wallSeconds);
  const rho = cell.runs.map((r) => r.summary.finalRho ?? r.rho);
  return { n: acc.length, acc: acc.length ? mean(acc) : NaN, accStd: std(acc), gap: gap.length ? mean(gap) : NaN, wall: wall.length ? mean(wall) : NaN, rho: rho.length ? mean(rho) : NaN, rhos: rho };
};

// ---- SVG ----
const W = 560;
const H = 320;
const M = { l: 56, r: 16, t: 28, b: 44 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** A line/scatter plot with a log-x axis option. series: {label, points:[[x,y]], line?, marker?} */
const plot = ({ title, xLabel, yLabel, series, logX = false, logY = false }) => {
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!logX || x > 0) && (!logY || y > 0));
  if (pts.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="60"><text x="10" y="30">${esc(title)}: no data yet</text></svg>\n`;
  const tx = (x) => (logX ? Math.log10(x) : x);
  const ty = (y) => (logY ? Math.log10(y) : y);
  let [x0, x1] = [Math.min(...pts.map((p) => tx(p[0]))), Math.max(...pts.map((p) => tx(p[0])))];
  let [y0, y1] = [Math.min(...pts.map((p) => ty(p[1]))), Math.max(...pts.map((p) => ty(p[1])))];
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  if (y1 === y0) [y0, y1] = [y0 - 1, y1 + 1];
  const pad = (y1 - y0) * 0.06;
  [y0, y1] = [y0 - pad, y1 + pad];
  const X = (x) => M.l + ((tx(x) - x0) / (x1 - x0)) * (W - M.l - M.r);
  const Y = (y) => H - M.b - ((ty(y) - y0) / (y1 - y0)) * (H - M.t - M.b);
  const ticks = (a, b, log) => {
    if (log) {
      const out = [];
      for (let e = Math.floor(a); e <= Math.ceil(b); e++) if (e >= a - 1e-9 && e <= b + 1e-9) out.push(Number((10 ** e).toPrecision(6)));
      return out.length >= 2 ? out : [10 ** a, 10 ** b];
    }
    const step = 10 ** Math.floor(Math.log10((b - a) / 4 || 1));
    const s = [1, 2, 5, 10].map((k) => k * step).find((k) => (b - a) / k <= 6) ?? step * 10;
    const out = [];
    for (let v = Math.ceil(a / s) * s; v <= b + 1e-12; v += s) out.push(Number(v.toPrecision(6)));
    return out;
  };
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="16" text-anchor="middle" font-size="13">${esc(title)}</text>`,
    `<line x1="${M.l}" y1="${H - M.b}" x2="${W - M.r}" y2="${H - M.b}" stroke="black"/>`,
    `<line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${H - M.b}" stroke="black"/>`,
    `<text x="${(W + M.l) / 2}" y="${H - 8}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text x="14" y="${(H - M.b + M.t) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(H - M.b + M.t) / 2})">${esc(yLabel)}</text>`,
  ];
  for (const v of ticks(x0, x1, logX)) {
    const x = X(v);
    if (x < M.l - 1 || x > W - M.r + 1) continue;
    parts.push(`<line x1="${x}" y1="${H - M.b}" x2="${x}" y2="${H - M.b + 4}" stroke="black"/><text x="${x}" y="${H - M.b + 16}" text-anchor="middle">${v}</text>`);
  }
  for (const v of ticks(y0, y1, logY)) {
    const y = Y(v);
    if (y < M.t - 1 || y > H - M.b + 1) continue;
    parts.push(`<line x1="${M.l - 4}" y1="${y}" x2="${M.l}" y2="${y}" stroke="black"/><text x="${M.l - 6}" y="${y + 4}" text-anchor="end">${v}</text>`);
  }
  series.forEach((s, i) => {
    const c = s.color ?? COLORS[i % COLORS.length];
    const ps = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!logX || x > 0) && (!logY || y > 0));
    if (s.line !== false && ps.length > 1) parts.push(`<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${ps.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ')}"/>`);
    if (s.marker !== false) for (const [x, y] of ps) parts.push(s.marker === 'star' ? `<path d="M${X(x)},${Y(y) - 6} l2,4 l4,0 l-3,3 l1,5 l-4,-3 l-4,3 l1,-5 l-3,-3 l4,0 z" fill="${c}"/>` : `<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="2.5" fill="${c}"/>`);
    parts.push(`<rect x="${W - M.r - 150}" y="${M.t + 4 + i * 14}" width="10" height="3" fill="${c}"/><text x="${W - M.r - 136}" y="${M.t + 9 + i * 14}">${esc(s.label)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
};

/** The page. */
export const renderReport = ({ records, groups, plan, plotsRel, smoke, reading = '' }) => {
  const plots = {};
  const out = [];
  const commits = [...new Set(records.map((r) => r.commit))];
  const machines = [...new Set(records.map((r) => r.machine))];
  out.push(smoke ? '# LETS study (smoke)' : '# Results: does LETS stop the tuning of ρ?');
  out.push('');
  out.push('Generated by `npx nx run tools:study` (`node tools/study.mjs`) from the run records in');
  out.push('`docs/results/runs/`; do not edit by hand. Each row is `lets train` at its defaults except');
  out.push('for the settings named; LETS rows use the default LETS options of the commit that made them');
  out.push('(since 5523dac: objective `val` with the step-length-neutral tangent, Adam on log ρ with lr 0.15');
  out.push('cosine-decayed over the first 30 % of the ρ updates and then held, ρ updated every 5 steps, `fd`');
  out.push('estimator, stall guard on with retry; docs/lets.md; the reading below says which rows are older).');
  out.push('Test accuracy is mean ± sample std over seeds; gap is the final test − training loss (both');
  out.push('on clean labels; the training loss on a fixed subset of the training split in eval mode); wall');
  out.push('time is one run on a 2-core machine that ran two runs at a time beside other work (load average');
  out.push('4–23), so compare wall times within a table only.');
  out.push('');
  out.push(`- commits: ${commits.map((c) => `\`${c}\``).join(', ') || '–'}`);
  out.push(`- machine: ${machines.join('; ') || '–'}`);
  out.push(`- runs recorded: ${records.length} (${records.filter((r) => r.failed).length} failed) of the ${plan.length} the study plans`);
  out.push('');
  if (reading.trim() !== '') {
    out.push(reading.trim());
    out.push('');
  }

  const byGroup = new Map();
  for (const r of records) {
    const k = `${r.group}${r.variant ? `/${r.variant}` : ''}`;
    if (!byGroup.has(k)) byGroup.set(k, []);
    byGroup.get(k).push(r);
  }
  for (const [key, recs] of [...byGroup.entries()].sort()) {
    const [g, variant] = key.split('/');
    const group = groups[g];
    out.push(`## ${group?.title ?? g}${variant ? ` — ${variant}` : ''}`);
    out.push('');
    const sample = recs.find((r) => !r.failed);
    if (sample) out.push(`Command of each run: \`${sample.command.replace(/--method \S+ (--rho \S+ )?--seed \S+/, '--method M [--rho ρ] --seed S')}\``);
    out.push('');
    const sharp = recs.some((r) => r.sharpness !== undefined);
    out.push(`| method | ρ / ρ₀ | seeds | test acc % | gap | final ρ | wall s |${sharp ? ' λ_max | m-sharpness (ρ 0.05) |' : ''}`);
    out.push(`|---|---|---|---|---|---|---|${sharp ? '---|---|' : ''}`);
    const cells = cellsOf(recs);
    const meanOf = (c, f) => {
      const xs = c.runs.map(f).filter((x) => typeof x === 'number' && Number.isFinite(x));
      return xs.length ? `${mean(xs).toPrecision(3)}${xs.length < c.runs.length ? ` (${xs.length} of ${c.runs.length})` : ''}` : '–';
    };
    for (const c of cells) {
      const s = stats(c);
      const learned = c.method.startsWith('lets-');
      const sh = sharp ? ` ${meanOf(c, (r) => r.sharpness?.lambdaMax)} | ${meanOf(c, (r) => r.sharpness?.mSharpness)} |` : '';
      out.push(`| ${c.method} | ${fmtRho(c.rho)} | ${s.n}${c.failed.length ? ` (+${c.failed.length} failed)` : ''} | ${s.n ? `${pct(s.acc)} ± ${pct(s.accStd)}` : '–'} | ${s.n ? s.gap.toFixed(3) : '–'} | ${learned ? s.rhos.map(fmtRho).join(', ') : c.method === 'sgd' ? '–' : c.method === 'gsam' || c.method === 'le-sam' ? 'scheduled' : 'fixed'} | ${s.n ? s.wall.toFixed(0) : '–'} |${sh}`);
    }
    if (sharp) {
      out.push('');
      out.push('λ_max: the top Hessian eigenvalue of the training loss at the final model (Lanczos on exact HVPs, 1,000 training examples); m-sharpness: max over ‖ε‖ ≤ 0.05 of L(w+ε) − L(w) by SAM\'s ascent, per 128-example batch (`lets sharpness RUN_DIR --checkpoint last --what eig,msharp`, docs/sharpness.md).');
    }
    out.push('');
    // What the validation data says about ρ: under label noise with noisy validation labels (the
    // records say `valLabels`), the validation figures of every cell on the labels LETS sees and
    // on the clean ones (an oracle), beside the test accuracy.
    const noisyRecs = recs.filter((r) => !r.failed && r.summary?.valLabels === 'noisy');
    if (noisyRecs.length) {
      const f4 = (x) => (Number.isFinite(x) ? x.toFixed(4) : '–');
      const f2 = (x) => (Number.isFinite(x) ? pct(x) : '–');
      out.push('What the validation split says (means over the seeds; `valLabels: noisy`: the validation labels are as noisy as the training labels, and LETS\'s objective is the loss on them; the clean-label figures are an oracle a user does not have):');
      out.push('');
      out.push('| method | ρ / ρ₀ | test acc % | val loss, noisy labels | val acc % (noisy labels) | val loss, clean labels | val acc % (clean labels) |');
      out.push('|---|---|---|---|---|---|---|');
      for (const c of cells.filter((c) => c.runs.length && c.runs.every((r) => r.summary.valLabels === 'noisy'))) {
        out.push(`| ${c.method} | ${fmtRho(c.rho)} | ${f2(meanIfAll(c, (r) => r.summary.testAccuracy))} | ${f4(meanIfAll(c, (r) => r.summary.valLoss))} | ${f2(meanIfAll(c, (r) => r.summary.valAccuracy))} | ${f4(meanIfAll(c, (r) => r.summary.valCleanLoss))} | ${f2(meanIfAll(c, (r) => r.summary.valCleanAccuracy))} |`);
      }
      out.push('');
    }
    // The done-when reading: each LETS ρ₀ against the best fixed ρ of its variant.
    for (const [fixed, learned] of [['sam', 'lets-sam'], ['asam', 'lets-asam']]) {
      const grid = cells.filter((c) => c.method === fixed && c.runs.length > 0).map((c) => ({ c, s: stats(c) }));
      const lets = cells.filter((c) => c.method === learned && c.runs.length > 0).map((c) => ({ c, s: stats(c) }));
      if (grid.length === 0 || lets.length === 0) continue;
      const best = grid.reduce((a, b) => (b.s.acc > a.s.acc ? b : a));
      // The region counts SGD as the variant at ρ = 0 (the same step); the best is the grid's.
      const sgd = cells.filter((c) => c.method === 'sgd' && c.runs.length > 0).map((c) => ({ c: { ...c, rho: 0 }, s: stats(c) }));
      const near = [...sgd, ...grid].filter((x) => x.s.acc >= best.s.acc - 0.005).map((x) => x.c.rho);
      out.push(`Best fixed-ρ ${fixed.toUpperCase()}: ρ = ${fmtRho(best.c.rho)}, ${pct(best.s.acc)} ± ${pct(best.s.accStd)} (${best.s.n} seeds); fixed ρ within 0.5 points of it: ${near.map((r) => (r === 0 ? '0 (SGD)' : fmtRho(r))).join(', ')}.`);
      out.push('');
      out.push(`| ${learned} ρ₀ | test acc % | − best ${fixed} | within one std of it? | final ρ (mean) | in the 0.5-point region? |`);
      out.push('|---|---|---|---|---|---|');
      const lo = Math.min(...near);
      const hi = Math.max(...near);
      for (const { c, s } of lets) {
        const d = s.acc - best.s.acc;
        const within = s.acc >= best.s.acc - Math.max(best.s.accStd, 1e-9);
        const inRegion = s.rhos.every((r) => r >= lo * 0.999 && r <= hi * 1.001);
        out.push(`| ${fmtRho(c.rho)} | ${pct(s.acc)} ± ${pct(s.accStd)} | ${(d * 100).toFixed(2)} | ${within ? 'yes' : 'no'} | ${fmtRho(s.rho)} | ${inRegion ? 'yes' : 'no'} (${lo === 0 ? '0' : fmtRho(lo)}–${fmtRho(hi)}) |`);
      }
      out.push('');
    }
    // Plots.
    const slug = key.replace('/', '-');
    const series = [];
    for (const [m, color] of [['sam', '#1f77b4'], ['asam', '#2ca02c']]) {
      const grid = cells.filter((c) => c.method === m && c.runs.length > 0);
      if (grid.length) series.push({ label: `${m} (fixed ρ)`, color, points: grid.map((c) => [c.rho, stats(c).acc * 100]) });
      const lets = cells.filter((c) => c.method === `lets-${m}` && c.runs.length > 0);
      if (lets.length) series.push({ label: `lets-${m} (at final ρ)`, color: m === 'sam' ? '#d62728' : '#9467bd', line: false, marker: 'star', points: lets.flatMap((c) => c.runs.map((r) => [r.summary.finalRho, r.summary.testAccuracy * 100])) });
    }
    if (series.length) {
      plots[`${slug}-accuracy.svg`] = plot({ title: `${group?.title ?? g}: test accuracy against ρ`, xLabel: 'ρ (log scale)', yLabel: 'test accuracy %', series, logX: true });
      out.push(`![accuracy against ρ](${plotsRel}/${slug}-accuracy.svg)`);
      out.push('');
    }
    const letsRuns = recs.filter((r) => !r.failed && r.method.startsWith('lets-') && r.seed === Math.min(...recs.map((x) => x.seed)));
    if (letsRuns.length) {
      plots[`${slug}-rho.svg`] = plot({
        title: 'learned ρ over training (first seed)', xLabel: 'step', yLabel: 'ρ (log scale)', logY: true,
        series: letsRuns.map((r) => ({ label: `${r.method} ρ₀=${fmtRho(r.rho)}`, marker: false, points: r.trace.map((p) => [p.step, p.rho]) })),
      });
      out.push(`![ρ over time](${plotsRel}/${slug}-rho.svg)`);
      out.push('');
    }
    const withSharp = recs.filter((r) => !r.failed && typeof r.sharpness?.lambdaMax === 'number');
    if (withSharp.length) {
      const byMethod = (m) => withSharp.filter((r) => r.method === m);
      plots[`${slug}-sharpness.svg`] = plot({
        title: 'λ_max of the final model against ρ', xLabel: 'ρ (log scale; LETS at its final ρ)', yLabel: 'λ_max', logX: true,
        series: [
          { label: 'sam (fixed ρ)', color: '#1f77b4', line: false, points: byMethod('sam').map((r) => [r.rho, r.sharpness.lambdaMax]) },
          { label: 'lets-sam', color: '#d62728', line: false, marker: 'star', points: byMethod('lets-sam').map((r) => [r.summary.finalRho, r.sharpness.lambdaMax]) },
          { label: 'asam (fixed ρ)', color: '#2ca02c', line: false, points: byMethod('asam').map((r) => [r.rho, r.sharpness.lambdaMax]) },
          { label: 'lets-asam', color: '#9467bd', line: false, marker: 'star', points: byMethod('lets-asam').map((r) => [r.summary.finalRho, r.sharpness.lambdaMax]) },
        ].filter((x) => x.points.length > 0),
      });
      out.push(`![λ_max against ρ](${plotsRel}/${slug}-sharpness.svg)`);
      out.push('');
    }
    const fixed = cells.filter((c) => (c.method === 'sam' || c.method === 'asam') && c.runs.length > 0);
    if (fixed.length) {
      // The validation loss on the labels LETS's validation passes see (noisy under label noise
      // since the summaries say `valLabels`), and on the clean labels. A record from before
      // `valLabels` measured its validation split on the clean labels.
      const noisyVal = (r) => (r.summary.valLabels === 'noisy' ? r.summary.valLoss : undefined);
      const cleanVal = (r) => (r.summary.valLabels === 'noisy' ? r.summary.valCleanLoss : r.summary.valLoss);
      const anyNoisy = recs.some((r) => r.summary?.valLabels === 'noisy');
      plots[`${slug}-gap.svg`] = plot({
        title: 'final gap and validation loss against fixed ρ', xLabel: 'ρ (log scale)', yLabel: 'loss', logX: true,
        series: ['sam', 'asam'].flatMap((m) => {
          const cs = fixed.filter((c) => c.method === m);
          return cs.length ? [
            { label: `${m}: test − train loss`, points: cs.map((c) => [c.rho, meanIfAll(c, (r) => r.summary.gap)]) },
            ...(anyNoisy ? [{ label: `${m}: validation loss, noisy labels`, points: cs.map((c) => [c.rho, meanIfAll(c, noisyVal)]) }] : []),
            { label: `${m}: validation loss${anyNoisy ? ', clean labels' : ''}`, points: cs.map((c) => [c.rho, meanIfAll(c, cleanVal)]) },
          ] : [];
        }),
      });
      out.push(`![gap and validation loss against ρ](${plotsRel}/${slug}-gap.svg)`);
      out.push('');
    }
  }
  const failed = records.filter((r) => r.failed);
  if (failed.length) {
    out.push('## Failed runs');
    out.push('');
    for (const r of failed) out.push(`- ${r.group}/${r.id} (exit ${r.exitCode}): ${r.message}`);
    out.push('');
  }
  const missing = plan.filter((p) => !records.some((r) => r.group === p.group && r.id === p.id));
  if (missing.length) {
    out.push('## Not yet run');
    out.push('');
    out.push(`${missing.length} planned runs have no record yet (the study resumes with them): ${missing.slice(0, 40).map((p) => `${p.group}/${p.id}`).join(', ')}${missing.length > 40 ? ', …' : ''}.`);
    out.push('');
  }
  return { markdown: `${out.join('\n')}\n`, plots };
};
