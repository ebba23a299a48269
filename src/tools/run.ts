import * as path from 'node:path';
import type { z } from 'zod';
import type { WorkspaceRef } from '../core/types';
import { ToolInputError, workspaceRoot } from './confine';
import {
  clip,
  DEFAULT_COMMAND_TIMEOUT_MS,
  failure,
  type ToolContext,
  type ToolOptions,
  type ToolOutcome,
  success,
} from './context';
import { environmentStale, readCheckoutEnvironment, SetupFailedError } from '../workspace/environment';
import { describeExit, execCommand } from './exec';
import { editFileTool, listDirTool, readFileTool, writeFileTool } from './files';
import { gitDiffTool, gitStatusTool, gitDirs } from './git';
import { gitProtected, SandboxUnavailableError } from './sandbox';
import {
  MAX_COMMAND_TIMEOUT_SECONDS,
  type ToolArgs,
  toolSchemas,
  toolSpec,
  WORKSPACE_TOOL_NAMES,
  type WorkspaceToolName,
  WRITE_TOOL_NAMES,
} from './schemas';
import { searchTool } from './search';

/**
 * Executes one workspace tool call. Everything the agent can get wrong (arguments, paths, a failing
 * command) comes back as `ok: false` with a message the model can act on; only faults of the
 * machinery (the workspace is gone, the required sandbox is missing) are thrown.
 */

export type { ToolOptions, ToolOutcome } from './context';

async function runCommandTool(args: ToolArgs<'run_command'>, ctx: ToolContext): Promise<ToolOutcome> {
  const cwd = await workspaceRoot(ctx.workspace.path);
  // The run's command timeout is the default and the ceiling: the activity's own timeout is sized to it.
  const limitMs = Math.min(ctx.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS, MAX_COMMAND_TIMEOUT_SECONDS * 1000);
  const timeoutMs = args.timeoutSeconds ? Math.min(args.timeoutSeconds * 1000, limitMs) : limitMs;
  const reduced =
    args.timeoutSeconds && timeoutMs < args.timeoutSeconds * 1000
      ? ` (timeoutSeconds ${args.timeoutSeconds} reduced to the limit of ${timeoutMs / 1000}s)`
      : '';
  const dirs = await gitDirs(cwd);
  const prepared = dirs ? await readCheckoutEnvironment(dirs.gitDir) : null;
  const result = await execCommand(args.command, {
    cwd,
    timeoutMs,
    signal: ctx.signal,
    sourceEnv: ctx.env,
    sandbox: ctx.sandbox,
    // A task's workspace is its own repository (`.git` inside it): `git add` / `git commit` work there. The git dir
    // is bound writable for a workspace whose `.git` lives elsewhere; a shared common dir (a linked worktree's refs
    // and objects, the hub's) never is: other tasks' branches and the target live there.
    writable: dirs ? [dirs.gitDir] : [],
    // The hub's objects the workspace borrows, and the run's prepared dependencies (symlinked into the workspace), are
    // readable, never writable.
    readOnly: [...(dirs?.borrowed ?? []), ...(prepared ? [prepared.dir] : [])],
    extraEnv: prepared?.env,
    protect: dirs ? gitProtected([dirs.gitDir]) : [],
    privateBase: dirs ? path.join(dirs.gitDir, 'longrun-sandbox') : undefined,
  });
  const status = describeExit(result, timeoutMs);
  const seconds = (result.durationMs / 1000).toFixed(1);
  const body = result.output === '' ? '(no output)' : result.output.replace(/\n$/, '');
  const stale =
    prepared && (await environmentStale(cwd, prepared))
      ? `\n[longrun: ${prepared.keyFiles.join(', ')} changed since the dependencies were installed ` +
        `(\`${prepared.command}\`); call prepare_environment to install them again]`
      : '';
  const content = `$ ${args.command}\n[${status}, ${seconds}s${result.sandboxed ? ', sandboxed' : ''}${reduced}]\n${body}${stale}`;
  const summary = `${status}: ${clip(args.command, 50)}`;
  return result.exitCode === 0 && !result.timedOut && !result.aborted
    ? success(content, summary)
    : failure(content, summary);
}

async function prepareEnvironmentTool(_args: ToolArgs<'prepare_environment'>, ctx: ToolContext): Promise<ToolOutcome> {
  if (!ctx.prepareEnvironment) {
    return failure('prepare_environment is not available outside a run', 'prepare_environment unavailable');
  }
  try {
    const summary = await ctx.prepareEnvironment();
    return success(summary, 'dependencies prepared');
  } catch (err) {
    if (err instanceof SetupFailedError) return failure(err.message, 'setup failed');
    throw err;
  }
}

type Handler<N extends WorkspaceToolName> = (args: ToolArgs<N>, ctx: ToolContext) => Promise<ToolOutcome>;

const handlers: { [N in WorkspaceToolName]: Handler<N> } = {
  read_file: readFileTool,
  write_file: writeFileTool,
  edit_file: editFileTool,
  list_dir: listDirTool,
  search: searchTool,
  run_command: runCommandTool,
  git_diff: gitDiffTool,
  git_status: gitStatusTool,
  prepare_environment: prepareEnvironmentTool,
};

export function isWorkspaceTool(name: string): name is WorkspaceToolName {
  return (WORKSPACE_TOOL_NAMES as string[]).includes(name);
}

/** "path (string), startLine (integer, optional)", from the JSON Schema the model was given. */
function expectedFields(name: WorkspaceToolName): string {
  const schema = toolSpec(name).parameters as { properties?: Record<string, { type?: string }>; required?: string[] };
  const fields = Object.entries(schema.properties ?? {}).map(([field, prop]) => {
    const optional = !(schema.required ?? []).includes(field);
    return `${field} (${prop.type ?? 'any'}${optional ? ', optional' : ''})`;
  });
  return fields.length === 0 ? 'none (pass {})' : fields.join(', ');
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `- ${issue.path.length > 0 ? issue.path.join('.') : '(arguments)'}: ${issue.message}`)
    .join('\n');
}

export async function executeTool(
  name: string,
  args: unknown,
  workspace: WorkspaceRef,
  opts: ToolOptions = {},
): Promise<ToolOutcome> {
  if (!isWorkspaceTool(name)) {
    return failure(`unknown tool '${name}'; available: ${WORKSPACE_TOOL_NAMES.join(', ')}`, `unknown tool ${name}`);
  }
  if (workspace.readOnly && WRITE_TOOL_NAMES.includes(name)) {
    return failure(
      `${name} is not available: this workspace is a read-only checkout. Use read_file, list_dir and search to inspect it.`,
      `${name} refused (read-only)`,
    );
  }
  const schema = toolSchemas[name] as z.ZodObject;
  const parsed = schema.safeParse(args ?? {});
  if (!parsed.success) {
    return failure(
      `invalid arguments for ${name}:\n${describeIssues(parsed.error)}\nexpected fields: ${expectedFields(name)}`,
      `${name}: invalid arguments`,
    );
  }
  const handler = handlers[name] as Handler<WorkspaceToolName>;
  try {
    return await handler(parsed.data as ToolArgs<WorkspaceToolName>, { ...opts, workspace });
  } catch (err) {
    if (err instanceof ToolInputError) return failure(err.message, `${name}: ${clip(err.message, 60)}`);
    if (err instanceof SandboxUnavailableError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    // Filesystem refusals the agent can react to (permission, a file where a directory should be, ...).
    if (code && ['EACCES', 'EPERM', 'ENOTDIR', 'EISDIR', 'ENOENT', 'ENAMETOOLONG', 'EROFS'].includes(code)) {
      return failure(`${name} failed: ${(err as Error).message}`, `${name}: ${code}`);
    }
    throw err;
  }
}
