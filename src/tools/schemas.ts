import { z } from 'zod';
import type { ToolSpec } from '../core/types';

/**
 * Argument schemas of the workspace tools, and the specs the model sees. The descriptions are
 * prompts: they say what the tool does, its limits, and how to recover from its errors.
 * The control tools (finish, submit_plan, submit_verdict) are defined in src/core by the workflow.
 */

export const MAX_READ_LINES = 2_000;
export const MAX_READ_BYTES = 100 * 1024;
export const MAX_SEARCH_MATCHES = 200;
export const MAX_LIST_ENTRIES = 1_000;
export const MAX_COMMAND_TIMEOUT_SECONDS = 3_600;

const pathArg = z
  .string()
  .describe("Path relative to the repository root, e.g. 'src/index.ts'. Absolute paths must be inside the repository.");

export const toolSchemas = {
  read_file: z.object({
    path: pathArg,
    startLine: z.number().int().min(1).max(10_000_000).optional().describe('First line to read, 1-based. Default 1.'),
    endLine: z
      .number()
      .int()
      .min(1)
      .max(10_000_000)
      .optional()
      .describe(`Last line to read, inclusive. Default: startLine + ${MAX_READ_LINES - 1} or the end of the file.`),
  }),
  write_file: z.object({
    path: pathArg,
    content: z.string().describe('The complete new content of the file.'),
  }),
  edit_file: z.object({
    path: pathArg,
    oldText: z
      .string()
      .min(1)
      .describe('Exact text to replace, including whitespace and indentation; must occur exactly once in the file.'),
    newText: z.string().describe('Text to put in its place (may be empty to delete oldText).'),
  }),
  list_dir: z.object({
    path: pathArg.optional().describe("Directory relative to the repository root. Default '.' (the root)."),
    depth: z.number().int().min(1).max(10).optional().describe('How many levels to descend. Default 2.'),
  }),
  search: z.object({
    pattern: z
      .string()
      .min(1)
      .describe("JavaScript regular expression matched against each line, e.g. 'function\\s+parse' or 'TODO|FIXME'."),
    path: pathArg.optional().describe("File or directory to search in, relative to the repository root. Default '.'."),
    glob: z
      .string()
      .optional()
      .describe("Only search files whose path matches this glob, e.g. '*.ts' (any directory) or 'src/**/*.test.ts'."),
  }),
  run_command: z.object({
    command: z
      .string()
      .min(1)
      .describe("Shell command (bash), run in the repository root, e.g. 'npm test -- --testPathPattern=parser'."),
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(MAX_COMMAND_TIMEOUT_SECONDS)
      .optional()
      .describe("Kill the command after this many seconds. Default and maximum: the run's command timeout."),
  }),
  git_diff: z.object({
    path: pathArg.optional().describe('Limit the diff to this file or directory.'),
    staged: z.boolean().optional().describe('Show staged changes (git diff --cached) instead of unstaged ones.'),
  }),
  git_status: z.object({}),
  prepare_environment: z.object({}),
} as const;

export type WorkspaceToolName = keyof typeof toolSchemas;
export type ToolArgs<N extends WorkspaceToolName> = z.infer<(typeof toolSchemas)[N]>;

export const WORKSPACE_TOOL_NAMES = Object.keys(toolSchemas) as WorkspaceToolName[];
/** Tools that change the workspace: refused in a read-only workspace. */
export const WRITE_TOOL_NAMES: readonly WorkspaceToolName[] = [
  'write_file',
  'edit_file',
  'run_command',
  'prepare_environment',
];
/** Planners read a read-only checkout of the target tip: no writes, no commands, no git state to inspect. */
export const PLANNER_TOOL_NAMES: readonly WorkspaceToolName[] = ['read_file', 'list_dir', 'search'];

export const toolDescriptions: Record<WorkspaceToolName, string> = {
  read_file:
    'Read a text file of the repository. Lines come back prefixed with their line numbers (the numbers are not part ' +
    `of the file). At most ${MAX_READ_LINES} lines or ${MAX_READ_BYTES / 1024} KB per call; the output says when it ` +
    'stopped early and which startLine to use to continue. Use startLine/endLine to read part of a large file.',
  write_file:
    'Create a file or replace its whole content. Parent directories are created. Prefer edit_file for changing part ' +
    'of an existing file. Files inside .git cannot be written.',
  edit_file:
    'Replace one exact occurrence of oldText with newText in a file. oldText must match the file byte for byte ' +
    '(copy it from read_file output without the line numbers) and must be unique: if it occurs several times the ' +
    'edit is refused and the line numbers of the matches are listed — add surrounding lines to make it unique. ' +
    'If oldText is not found, read the file again; it may have changed.',
  list_dir:
    'List files and directories (directories end with /), skipping .git and anything ignored by .gitignore. ' +
    `Descends depth levels (default 2). At most ${MAX_LIST_ENTRIES} entries; list a subdirectory to see more.`,
  search:
    'Search file contents with a regular expression (JavaScript syntax, case-sensitive; use [Aa] or alternatives ' +
    'for case variants). Searches tracked and untracked files, skipping .gitignored and binary files. Returns ' +
    `path:line: text for up to ${MAX_SEARCH_MATCHES} matching lines. Narrow with path and glob.`,
  run_command:
    'Run a shell command (bash -c) in the repository root and return its exit code and output (stdout and stderr ' +
    'merged). Output longer than 16 KB keeps the first and last 8 KB with the cut marked. A non-zero exit code is ' +
    'reported, not an error of the tool. No network, no interactive input (stdin is empty), no secrets in the ' +
    'environment; background processes are killed when the command ends. Use it to build, run tests, and run git.',
  git_diff:
    'Show uncommitted changes as a unified diff (git diff), or staged changes with staged=true. New untracked files ' +
    'are not in the diff; git_status lists them.',
  git_status: 'Show the branch and the changed, staged and untracked files (git status --short --branch).',
  prepare_environment:
    "Install the project's dependencies again after you changed a lockfile or dependency manifest (package-lock.json, " +
    'uv.lock, requirements.txt, go.sum, Cargo.lock...). longrun runs the setup command (with network, outside your ' +
    'sandbox) for your workspace and links the result in (node_modules, .venv...: read-only for you). You cannot ' +
    'install packages from run_command: it has no network. run_command says when this is needed.',
};

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, description: _description, ...rest } = z.toJSONSchema(schema) as Record<string, unknown>;
  return rest;
}

export function toolSpec(name: WorkspaceToolName): ToolSpec {
  return { name, description: toolDescriptions[name], parameters: jsonSchema(toolSchemas[name]) };
}

/** The workspace tools a role may use. Control tools (finish, submit_plan, ...) are added by the workflow. */
export function toolSpecs(kind: 'worker' | 'planner'): ToolSpec[] {
  const names = kind === 'planner' ? PLANNER_TOOL_NAMES : WORKSPACE_TOOL_NAMES;
  return names.map(toolSpec);
}
