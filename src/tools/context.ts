import type { WorkspaceRef } from '../core/types';
import type { SandboxSettings } from './sandbox';

/** What one tool call produced: `content` goes to the model, `summary` to the UI and workflow state. */
export interface ToolOutcome {
  ok: boolean;
  content: string;
  summary: string;
}

export interface ToolOptions {
  /** Cancels run_command (the activity's cancellation signal). */
  signal?: AbortSignal;
  /** run_command timeout when the model does not give one. */
  commandTimeoutMs?: number;
  /** Default: sandbox off, no extra environment names. */
  sandbox?: SandboxSettings;
  /** Environment the command allow-list reads from; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** prepare_environment: sets up the workspace's dependencies again (the activity knows the run); a summary. */
  prepareEnvironment?: () => Promise<string>;
}

export interface ToolContext extends ToolOptions {
  workspace: WorkspaceRef;
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 5 * 60_000;

export function success(content: string, summary: string): ToolOutcome {
  return { ok: true, content, summary };
}

export function failure(content: string, summary: string): ToolOutcome {
  return { ok: false, content, summary };
}

/** Shortens text for one-line summaries. */
export function clip(text: string, max = 60): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}
