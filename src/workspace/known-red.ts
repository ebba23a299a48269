import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { KnownRed } from '../core/types';
import { git } from './git';
import { pushRefs, remoteOf } from './remote';

export type { KnownRed };

/**
 * The known break of a run's target, as a small file in the hub: the run writes it when a check finds a break and
 * clears it when a check is green; the planner that queues the break's fixer adds its name before the fixer starts.
 * Every run_command reads it (one small file), so a worker that runs the tests while the target is known red is told
 * in the tool result which failures are known and who owns them: it does not chase a break it did not cause.
 * With a remote hub (remote.ts) the record is a ref to a blob, `refs/longrun/known-red`, so every host reads the
 * same one; the fixer's claim is a compare-and-swap on it.
 */

const FILE = 'longrun-known-red.json';
/** The failing output a tool result quotes; the fixer reads the whole output itself. */
const NOTE_OUTPUT = 1_500;

const file = (hubPath: string) => path.join(hubPath, FILE);

export const KNOWN_RED_REF = 'refs/longrun/known-red';

/** The record in a mirror, with the blob it is (for a lease); null when none. One `cat-file` process. */
async function readRecordRef(hubPath: string): Promise<{ blob: string; text: string } | null> {
  const r = await git(hubPath, ['cat-file', '--batch'], { input: `${KNOWN_RED_REF}\n` });
  const header = r.stdout.slice(0, r.stdout.indexOf('\n'));
  const [blob, type, size] = header.split(' ');
  if (type !== 'blob') return null; // "<ref> missing"
  const start = header.length + 1;
  return { blob, text: Buffer.from(r.stdout.slice(start), 'utf8').subarray(0, Number(size)).toString('utf8') };
}

export async function readKnownRed(hubPath: string): Promise<KnownRed | null> {
  const text = (await remoteOf(hubPath))
    ? ((await readRecordRef(hubPath))?.text ?? null)
    : await fs.readFile(file(hubPath), 'utf8').catch(() => null);
  if (!text) return null;
  try {
    return JSON.parse(text) as KnownRed;
  } catch {
    return null; // a torn write: written again by the next check
  }
}

/** Writes (or, with null, clears) the record; a rename, so a reader sees the old record or the new one. */
export async function writeKnownRed(hubPath: string, red: KnownRed | null, expected?: string | null): Promise<boolean> {
  const remote = await remoteOf(hubPath);
  const text = red && JSON.stringify({ ...red, outputTail: red.outputTail.slice(-NOTE_OUTPUT) });
  if (remote) {
    const blob = text && (await git(hubPath, ['hash-object', '-w', '--stdin'], { input: text })).stdout.trim();
    return pushRefs(hubPath, remote, [{ ref: KNOWN_RED_REF, next: blob || null, expected }], 'longrun: known red');
  }
  if (!text) {
    await fs.rm(file(hubPath), { force: true });
    return true;
  }
  const tmp = `${file(hubPath)}.${process.pid}.tmp`;
  await fs.writeFile(tmp, text);
  await fs.rename(tmp, file(hubPath));
  return true;
}

/** Names the fixer of break `id`; false when that break is no longer the known one (fixed meanwhile). */
export async function claimKnownRed(hubPath: string, id: string, fixer: NonNullable<KnownRed['fixer']>) {
  if (!(await remoteOf(hubPath))) {
    const red = await readKnownRed(hubPath);
    if (!red || red.id !== id) return false;
    if (!red.fixer) await writeKnownRed(hubPath, { ...red, fixer });
    return true;
  }
  // Another host may clear or replace the record meanwhile: write only over the record we read.
  for (let attempt = 0; attempt < 5; attempt++) {
    const record = await readRecordRef(hubPath);
    const red = record && (JSON.parse(record.text) as KnownRed);
    if (!red || red.id !== id) return false;
    if (red.fixer || (await writeKnownRed(hubPath, { ...red, fixer }, record.blob))) return true;
  }
  throw new Error(`the known-red record of ${hubPath} kept changing while its fixer was named (5 attempts)`);
}

/** Whether a command runs the run's tests: it names the test command (`npm test -- x` does), or fails naming tests. */
export const runsTests = (command: string, testCommand: string, ok: boolean) =>
  command.includes(testCommand.trim()) || (!ok && /test/i.test(command));

/** What a worker's test run is told while the target is known red; the fixer is told it owns the break. */
export function knownRedNote(red: KnownRed, ownFix: string | undefined): string {
  const output = ['Known failing output (tail):', '```', red.outputTail.trim(), '```'].join('\n');
  if (ownFix && red.id.startsWith(ownFix.slice(0, 12))) {
    return (
      `\n[longrun: you own the known break of the target (\`${red.command}\` fails there since ${red.id}). Fix ` +
      `it.\n${output}]`
    );
  }
  const owner = red.fixer
    ? `A fixer task owns it: "${red.fixer.title}"${red.fixer.by === 'longrun' ? ' (made by longrun)' : ''}.`
    : 'Its fixer task is being assigned.';
  return (
    `\n[longrun: the target is known red: \`${red.command}\` fails there since ${red.id}, a break your task did not ` +
    `cause. ${owner} Do not chase these failures: failures that match the ones below are known and owned; fix only ` +
    `what your own change breaks, then finish.\n${output}]`
  );
}
