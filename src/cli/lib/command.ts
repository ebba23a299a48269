/**
 * What every longrun command shares: exit codes, the usage error, JSON output, Ctrl-C handling, and mapping
 * Temporal's errors to messages a user can act on.
 */
import { WorkflowNotFoundError } from '@temporalio/common';
import { InvalidArgumentError } from 'commander';
import { styleFor, type Style } from './format';
import { RunNotFound } from './snapshot';

/** Exit codes: 0 success, 1 the run (or command) failed, 2 usage error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A mistake in how the command was called: exit code 2, with a message naming the flag and the fix. */
export class UsageError extends Error {}

export function stdoutStyle(): Style {
  return styleFor(process.stdout);
}

/** Stable JSON on stdout: two-space indented, one document, trailing newline. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/**
 * Ctrl-C aborts the returned signal once (the caller detaches or cleans up); a second Ctrl-C exits at once.
 * Call `dispose` when done so the handler does not outlive the command.
 */
export function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const ctrl = new AbortController();
  const onSigint = () => {
    if (ctrl.signal.aborted) process.exit(130);
    ctrl.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: ctrl.signal, dispose: () => process.off('SIGINT', onSigint) };
}

/** A run id that does not exist is a usage error (exit 2), with a hint where to find ids. */
export function asUsageError(err: unknown, runId: string, namespace: string): unknown {
  if (err instanceof RunNotFound) return new UsageError(err.message);
  if (
    err instanceof WorkflowNotFoundError ||
    /workflow (execution )?not found|not found/i.test((err as Error)?.message ?? '')
  ) {
    return new UsageError(`no run with id "${runId}" in namespace ${namespace}; see \`longrun list\``);
  }
  return err;
}

export function parsePositiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${flag} must be a positive whole number, got "${value}"`);
    return n;
  };
}

export function parsePositiveNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`${flag} must be a positive number, got "${value}"`);
    return n;
  };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
