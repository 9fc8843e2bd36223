/**
 * Grouped bar charts as a hand-written SVG string (no dependency): one panel per chart, groups along the
 * x axis, one coloured bar per series, a value label on each bar, and a legend. A panel may use a log
 * scale when its values span orders of magnitude.
 */

export interface BarPanel {
  readonly title: string;
  readonly unit: string;
  readonly groups: readonly string[];
  readonly series: readonly { name: string; values: readonly number[] }[];
  /** @default false */
  readonly log?: boolean;
  /** Formats a bar's label. @default two significant digits */
  readonly format?: (value: number) => string;
}

const COLOURS = ['#1f6feb', '#d29922', '#8957e5', '#2da44e', '#cf222e', '#6e7781'];
const WIDTH = 900;
const PANEL_HEIGHT = 300;
const MARGIN = { left: 70, right: 20, top: 46, bottom: 56 };

const escapeXml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const defaultFormat = (v: number) =>
  v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(2);

function niceMax(max: number): number {
  if (max <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= max) return step * magnitude;
  return 10 * magnitude;
}

function panel(p: BarPanel, top: number): string {
  const out: string[] = [];
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const y0 = top + MARGIN.top;
  const values = p.series.flatMap((s) => s.values).filter((v) => Number.isFinite(v) && v > 0);
  const fmt = p.format ?? defaultFormat;
  let scale: (v: number) => number;
  let ticks: number[];
  if (p.log) {
    const lo = 10 ** Math.floor(Math.log10(Math.min(...values)));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...values)));
    scale = (v) => (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
    ticks = [];
    for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(t);
  } else {
    const hi = niceMax(Math.max(...values, 0));
    scale = (v) => v / hi;
    ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * hi);
  }
  out.push(
    `<text x="${MARGIN.left}" y="${top + 24}" font-size="15" font-weight="bold">${escapeXml(p.title)}</text>`,
    `<text x="${WIDTH - MARGIN.right}" y="${top + 24}" font-size="12" text-anchor="end" fill="#57606a">${escapeXml(p.unit)}${p.log ? ' (log scale)' : ''}</text>`,
  );
  for (const t of ticks) {
    const y = y0 + plotH - scale(t) * plotH;
    out.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#d0d7de" stroke-width="1"/>`,
      `<text x="${MARGIN.left - 6}" y="${(y + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#57606a">${escapeXml(fmt(t))}</text>`,
    );
  }
  const groupW = plotW / p.groups.length;
  const barW = Math.min(48, (groupW * 0.8) / p.series.length);
  p.groups.forEach((group, g) => {
    const gx = MARGIN.left + g * groupW + (groupW - barW * p.series.length) / 2;
    p.series.forEach((s, i) => {
      const v = s.values[g] ?? 0;
      const h = Math.max(0, scale(v) * plotH);
      const x = gx + i * barW;
      const y = y0 + plotH - h;
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 3).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLOURS[i % COLOURS.length]}"><title>${escapeXml(`${s.name}, ${group}: ${fmt(v)} ${p.unit}`)}</title></rect>`,
        `<text x="${(x + (barW - 3) / 2).toFixed(1)}" y="${(y - 4).toFixed(1)}" font-size="10" text-anchor="middle">${escapeXml(fmt(v))}</text>`,
      );
    });
    out.push(
      `<text x="${(MARGIN.left + (g + 0.5) * groupW).toFixed(1)}" y="${y0 + plotH + 18}" font-size="12" text-anchor="middle">${escapeXml(group)}</text>`,
    );
  });
  let lx = MARGIN.left;
  const ly = y0 + plotH + 38;
  p.series.forEach((s, i) => {
    out.push(
      `<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLOURS[i % COLOURS.length]}"/>`,
      `<text x="${lx + 16}" y="${ly}" font-size="12">${escapeXml(s.name)}</text>`,
    );
    lx += 24 + s.name.length * 7;
  });
  return out.join('\n');
}

/** One SVG document with the panels stacked vertically, and a footer line. */
export function barChartSvg(panels: readonly BarPanel[], footer: string): string {
  const height = panels.length * PANEL_HEIGHT + 28;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="-apple-system, Segoe UI, Helvetica, Arial, sans-serif">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...panels.map((p, i) => panel(p, i * PANEL_HEIGHT)),
    `<text x="${MARGIN.left}" y="${height - 10}" font-size="11" fill="#57606a">${escapeXml(footer)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
