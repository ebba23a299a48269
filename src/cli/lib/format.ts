/**
 * Small, pure formatting helpers for the CLI: colours (TTY only, NO_COLOR respected), money, durations and
 * aligned columns. Everything the CLI prints for people goes through here so the look stays consistent.
 */

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  magenta(s: string): string;
}

const plain: Style = { bold: id, dim: id, red: id, green: id, yellow: id, cyan: id, magenta: id };

function id(s: string): string {
  return s;
}

const sgr = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`;
const ansi: Style = {
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
  cyan: sgr(36, 39),
  magenta: sgr(35, 39),
};

/** Colours only on a terminal, and never when NO_COLOR is set (https://no-color.org) or TERM=dumb. */
export function styleFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Style {
  if (!stream.isTTY || env.NO_COLOR !== undefined || env.TERM === 'dumb') return plain;
  return ansi;
}

export const PLAIN: Style = plain;

/** $0.0123 below a dollar (agents are cheap per call), $12.34 above. */
export function money(usd: number | null | undefined): string {
  const v = usd ?? 0;
  return v < 1 ? `$${v.toFixed(4)}` : `$${v.toFixed(2)}`;
}

/** 850ms, 42s, 1m05s, 2h03m, 3d04h. */
export function elapsed(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** 1234567 → 1.2M, 12345 → 12.3k. */
export function tokens(n: number): string {
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(1)}M`;
  if (n >= 10_000) return `${(n / 1000).toFixed(1)}k`;
  return String(n);
}

/** HH:MM:SS in local time, the prefix of every event line. */
export function clock(at: number | Date = Date.now()): string {
  const d = typeof at === 'number' ? new Date(at) : at;
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

const ANSI_RE = /\x1b\[[0-9;]*m/g;

export function visibleLength(s: string): number {
  return s.replace(ANSI_RE, '').length;
}

/** Cuts to `max` visible characters with an ellipsis (no colour codes inside `s`). */
export function truncate(s: string, max: number): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : `${one.slice(0, Math.max(0, max - 1))}…`;
}

/**
 * Aligns rows into columns (two spaces apart), measuring visible width so coloured cells line up.
 * The last column is not padded; `right` lists the columns aligned to the right (numbers).
 */
export function table(rows: string[][], right: number[] = []): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell))));
  return rows.map((row) =>
    row
      .map((cell, i) => {
        if (i === row.length - 1 && !right.includes(i)) return cell;
        const pad = ' '.repeat(widths[i] - visibleLength(cell));
        return right.includes(i) ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd(),
  );
}

/** The word and colour for a run or workflow status. */
export function statusWord(status: string, style: Style): string {
  switch (status) {
    case 'done':
    case 'merged':
      return style.green(status);
    case 'failed':
    case 'terminated':
    case 'timed_out':
    case 'cancelled':
      return style.red(status);
    case 'stopped':
    case 'budget_exhausted':
    case 'max_cycles':
    case 'abandoned':
    case 'paused':
      return style.yellow(status);
    default:
      return style.cyan(status);
  }
}
