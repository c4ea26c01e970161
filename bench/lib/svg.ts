// bench/results/latest.svg: per workload, ops/s of each target relative to the workload's baseline (log scale).

import { fmtOps, type Results, type Summary } from './report.js';
import type { Workload } from './workloads.js';


const COLORS: Record<string, string> = {
  redis: '#6b7280',
  'redis-wan': '#6b7280',
  proxy: '#2563eb',
  'proxy-wan': '#2563eb',
  'proxy-cap1': '#60a5fa',
  'proxy-ttl': '#7c3aed',
  'proxy-cap1-ttl': '#a78bfa',
  'proxy-nocache': '#93c5fd',
  twemproxy: '#f59e0b',
  'twemproxy-wan': '#f59e0b',
  ceiling: '#10b981',
  relay: '#ef4444',
};

function xmlEsc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const SHORT: Record<string, string> = {
  redis: 'Redis',
  'redis-wan': 'Redis (over delay)',
  proxy: 'RedisProxy',
  'proxy-wan': 'RedisProxy (over delay)',
  'proxy-cap1': 'RedisProxy cap 1',
  'proxy-ttl': 'RedisProxy ttl coh.',
  'proxy-cap1-ttl': 'RedisProxy cap 1 ttl',
  'proxy-nocache': 'RedisProxy cap 0',
  twemproxy: 'twemproxy',
  'twemproxy-wan': 'twemproxy (over delay)',
  ceiling: 'ceiling',
  relay: 'naive relay',
};

/**
 * Diverging bars on a log2 axis: each bar starts at the workload's baseline (1×,
 * direct Redis) and runs right when faster, left when slower.
 */
export function svg(res: Results, workloads: Array<Pick<Workload, 'id' | 'title' | 'targets' | 'baseline'>>): string {
  const S = (w: string, t: string): Summary | undefined => res.summaries.find((s) => s.workload === w && s.target === t && s.reps > 0);
  const rowH = 16;
  const headH = 24;
  const left = 160;
  const barW = 600;
  const width = left + barW + 70;
  let lo = 0.25;
  let hi = 2;
  for (const w of workloads)
    for (const t of w.targets) {
      const a = S(w.id, t);
      const b = S(w.id, w.baseline);
      if (!a || !b || !(a.opsPerSec > 0) || !(b.opsPerSec > 0)) continue;
      const r = a.opsPerSec / b.opsPerSec;
      lo = Math.min(lo, 2 ** Math.floor(Math.log2(r)));
      hi = Math.max(hi, 2 ** Math.ceil(Math.log2(r)));
    }
  lo = Math.max(lo, 1 / 64);
  hi = Math.min(hi, 64);
  const span = Math.log2(hi) - Math.log2(lo);
  const x = (r: number): number => left + ((Math.log2(Math.min(Math.max(r, lo), hi)) - Math.log2(lo)) / span) * barW;
  const x1 = x(1);
  const parts: string[] = [];
  let y = 40;
  for (const w of workloads) {
    parts.push(`<text x="8" y="${y + 16}" font-weight="bold">${xmlEsc(w.title)}</text>`);
    y += headH;
    for (const t of w.targets) {
      const a = S(w.id, t);
      const b = S(w.id, w.baseline);
      parts.push(`<text x="${left - 8}" y="${y + 12}" text-anchor="end">${xmlEsc(SHORT[t] ?? t)}</text>`);
      if (a && b && a.opsPerSec > 0 && b.opsPerSec > 0) {
        const r = a.opsPerSec / b.opsPerSec;
        const xr = x(r);
        const x0 = Math.min(xr, x1);
        const w0 = Math.max(1, Math.abs(xr - x1));
        parts.push(`<rect x="${x0.toFixed(1)}" y="${y + 2}" width="${w0.toFixed(1)}" height="${rowH - 4}" fill="${COLORS[t] ?? '#9ca3af'}"><title>${xmlEsc(`${SHORT[t] ?? t}: ${fmtOps(a.opsPerSec)} ops/s`)}</title></rect>`);
        parts.push(`<text x="${(Math.max(xr, x1) + 4).toFixed(1)}" y="${y + 12}">${r.toFixed(2)}×</text>`);
      } else {
        parts.push(`<text x="${(x1 + 4).toFixed(1)}" y="${y + 12}" fill="#9ca3af">n/a</text>`);
      }
      y += rowH;
    }
    y += 6;
  }
  const height = y + 20;
  const grid: string[] = [];
  for (let g = lo; g <= hi * 1.0001; g *= 2) {
    const gx = x(g).toFixed(1);
    const label = g >= 1 ? `${g}×` : `1/${Math.round(1 / g)}×`;
    grid.push(`<line x1="${gx}" y1="30" x2="${gx}" y2="${height - 16}" stroke="${g === 1 ? '#111827' : '#e5e7eb'}" stroke-width="${g === 1 ? 1.5 : 1}"${g === 1 ? ' stroke-dasharray="4 3"' : ''}/>`);
    grid.push(`<text x="${gx}" y="${height - 4}" text-anchor="middle" fill="#6b7280">${label}</text>`);
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="8" y="18" font-size="13" font-weight="bold">ops/s relative to direct Redis, log scale (dashed line = 1×) — ${xmlEsc(res.meta.mode)} run ${xmlEsc(res.meta.startedAt)}</text>`,
    ...grid,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
