// The page `dlog bench --report` writes: one self-contained HTML file (inline SVG and CSS, no
// external assets, no network) with, per series, a latency histogram over log-scaled buckets and a
// throughput-over-time line, plus the command line, the machine and the benchmark's printed output.
// A small inline script measures what the browser drew into <pre id="check">, so a headless
// browser can prove the plots are there (test/integration/bench-report.test.ts).
import { BUCKETS_PER_DECADE, bucketStart, type BenchResult, type BenchSeries } from './bench-result.js';

export interface ReportContext {
  readonly title: string;
  readonly command: string;
  readonly machine: string;
  readonly started: Date;
  readonly elapsedMs: number;
  /** What the benchmark printed (its tables). */
  readonly output: string;
}

const W = 640;
const H = 260;
const M = { left: 64, right: 16, top: 12, bottom: 44 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (n: number): string => n.toFixed(1);

/** A count or rate for an axis: 1.2k, 35k, 1.5M. */
function short(n: number): string {
  if (n >= 1e6) return `${+(n / 1e6).toPrecision(3)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toPrecision(3)}k`;
  return `${+n.toPrecision(3)}`;
}

/** A latency in ms, in the unit that reads best: 50 µs, 1.3 ms, 2 s. */
export function duration(ms: number): string {
  if (ms < 1) return `${+(ms * 1000).toPrecision(3)} µs`;
  if (ms < 1000) return `${+ms.toPrecision(3)} ms`;
  return `${+(ms / 1000).toPrecision(3)} s`;
}

/** The latency below which `p` % of the operations fall, to the bucket's upper bound. */
export function histogramPercentile(s: BenchSeries, p: number): number {
  const rank = (p / 100) * s.latencyCount;
  let seen = 0;
  for (let i = 0; i < s.counts.length; i++) {
    seen += s.counts[i] ?? 0;
    if (seen >= rank) return Math.min(bucketStart(s.firstBucket + i + 1), s.maxMs ?? Infinity);
  }
  return s.maxMs ?? NaN;
}

function axes(xLabel: string, yLabel: string, xTicks: ReadonlyArray<[number, string]>, yTicks: ReadonlyArray<[number, string]>): string {
  const x0 = M.left;
  const y0 = M.top + PH;
  const parts = [
    `<line class="axis" x1="${x0}" y1="${M.top}" x2="${x0}" y2="${y0}"/>`,
    `<line class="axis" x1="${x0}" y1="${y0}" x2="${x0 + PW}" y2="${y0}"/>`,
    ...xTicks.map(([x, label]) => `<line class="tick" x1="${num(x)}" y1="${y0}" x2="${num(x)}" y2="${y0 + 4}"/><text x="${num(x)}" y="${y0 + 16}" text-anchor="middle">${esc(label)}</text>`),
    ...yTicks.map(([y, label]) => `<line class="grid" x1="${x0}" y1="${num(y)}" x2="${x0 + PW}" y2="${num(y)}"/><text x="${x0 - 6}" y="${num(y + 4)}" text-anchor="end">${esc(label)}</text>`),
    `<text class="label" x="${x0 + PW / 2}" y="${H - 6}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text class="label" transform="translate(14 ${M.top + PH / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  ];
  return parts.join('');
}

function yTicksFor(max: number): Array<[number, string]> {
  return [0, 0.5, 1].map((f) => [M.top + PH - f * PH, short(f * max)]);
}

function histogram(s: BenchSeries, id: string): string {
  const n = s.counts.length;
  const most = Math.max(...s.counts);
  const barW = PW / n;
  const bars: string[] = [];
  s.counts.forEach((c, i) => {
    if (c === 0) return;
    const h = Math.max(1, (c / most) * PH);
    const lo = bucketStart(s.firstBucket + i);
    const title = `${duration(lo)} – ${duration(bucketStart(s.firstBucket + i + 1))}: ${c} operations`;
    bars.push(`<rect x="${num(M.left + i * barW + 0.5)}" y="${num(M.top + PH - h)}" width="${num(Math.max(1, barW - 1))}" height="${num(h)}"><title>${esc(title)}</title></rect>`);
  });
  // ticks at each power of ten inside the range, or at both ends when none falls inside
  const xTicks: Array<[number, string]> = [];
  for (let i = 0; i <= n; i++) {
    if ((s.firstBucket + i) % BUCKETS_PER_DECADE === 0) xTicks.push([M.left + i * barW, duration(bucketStart(s.firstBucket + i))]);
  }
  if (xTicks.length === 0) xTicks.push([M.left, duration(bucketStart(s.firstBucket))], [M.left + PW, duration(bucketStart(s.firstBucket + n))]);
  return `<svg class="plot" id="${id}" data-kind="histogram" data-expected="${bars.length}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(`${s.name}: latency histogram`)}">`
    + axes('latency (log scale)', 'operations', xTicks, yTicksFor(most))
    + `<g class="data">${bars.join('')}</g></svg>`;
}

function throughput(s: BenchSeries, id: string): string {
  const seconds = (s.throughput.length * s.binMs) / 1000;
  const most = Math.max(...s.throughput) * 1.1 || 1;
  // each bin's rate at the middle of its bin
  const points = s.throughput.map((v, i) => [M.left + (((i + 0.5) * s.binMs) / 1000 / seconds) * PW, M.top + PH - (v / most) * PH] as const);
  const xTicks: Array<[number, string]> = [];
  const step = Math.max(1, Math.ceil(seconds / 10));
  for (let t = 0; t <= seconds; t += step) xTicks.push([M.left + (t / seconds) * PW, `${t}`]);
  return `<svg class="plot" id="${id}" data-kind="throughput" data-expected="${points.length}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(`${s.name}: throughput over time`)}">`
    + axes('time (s)', 'operations/s', xTicks, yTicksFor(most))
    + `<g class="data"><polyline points="${points.map(([x, y]) => `${num(x)},${num(y)}`).join(' ')}"/>`
    + points.map(([x, y], i) => `<circle cx="${num(x)}" cy="${num(y)}" r="2.5"><title>${esc(`${num((i + 1) * s.binMs / 1000)} s: ${short(s.throughput[i] ?? 0)} operations/s`)}</title></circle>`).join('')
    + '</g></svg>';
}

function section(s: BenchSeries, i: number): string {
  const facts: string[] = [];
  if (s.latencyCount > 0) {
    facts.push(`${s.latencyCount.toLocaleString('en-US')} operations`, `min ${duration(s.minMs ?? NaN)}`, `p50 ≤ ${duration(histogramPercentile(s, 50))}`,
      `p99 ≤ ${duration(histogramPercentile(s, 99))}`, `max ${duration(s.maxMs ?? NaN)}`);
  }
  if (s.throughput.length > 0) {
    const total = s.throughput.reduce((a, b) => a + b, 0);
    facts.push(`mean ${short(total / s.throughput.length)} operations/s over ${s.throughput.length} bins of ${duration(s.binMs)}`);
  }
  return `<section><h2>${esc(s.name)}</h2><p>${esc(facts.join(' · '))}</p><div class="plots">`
    + (s.latencyCount > 0 ? histogram(s, `h${i}`) : '')
    + (s.throughput.length > 0 ? throughput(s, `t${i}`) : '')
    + '</div></section>';
}

/** Counts what the browser drew per plot, with the drawn group's size: the page checks itself. */
const CHECK_SCRIPT = `
const drawn = [...document.querySelectorAll('svg.plot')].map((svg) => {
  const g = svg.querySelector('.data');
  const box = g.getBBox();
  const line = g.querySelector('polyline');
  const count = svg.dataset.kind === 'histogram' ? g.querySelectorAll('rect').length : line.points.numberOfItems;
  return { id: svg.id, kind: svg.dataset.kind, expected: Number(svg.dataset.expected), drawn: count, width: box.width, height: box.height };
});
document.getElementById('check').textContent = JSON.stringify(drawn);
`;

export function renderBenchReport(result: BenchResult, ctx: ReportContext): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(ctx.title)}</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 24px; color: #222; }
code, pre { font: 12px ui-monospace, monospace; }
pre.output { background: #f6f6f6; padding: 8px; overflow-x: auto; }
.plots { display: flex; flex-wrap: wrap; gap: 16px; }
svg text { font-size: 11px; fill: #444; }
svg .label { font-size: 12px; fill: #222; }
.axis { stroke: #222; } .tick { stroke: #222; } .grid { stroke: #ddd; }
rect { fill: #4a7bb7; } polyline { fill: none; stroke: #c0504d; stroke-width: 2; } circle { fill: #c0504d; }
</style></head>
<body>
<h1>${esc(ctx.title)}</h1>
<p>Command: <code>${esc(ctx.command)}</code></p>
<p>Machine: ${esc(ctx.machine)}</p>
<p>Started ${esc(ctx.started.toISOString())}, ran ${esc(duration(ctx.elapsedMs))}. Latency percentiles are bucket upper bounds (${BUCKETS_PER_DECADE} buckets per factor of ten); the benchmark's own table below has exact ones.</p>
${result.series.length === 0 ? '<p>This benchmark recorded no series.</p>' : result.series.map(section).join('\n')}
<h2>Output</h2>
<pre class="output">${esc(ctx.output)}</pre>
<pre id="check" hidden></pre>
<script>${CHECK_SCRIPT}</script>
</body></html>
`;
}
