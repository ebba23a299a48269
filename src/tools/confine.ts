import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/**
 * Path confinement for agent tools. Every path an agent names must resolve inside its worktree:
 * `..` escapes, absolute paths elsewhere, and symlinks whose target lies outside are refused with
 * a message the model can act on. Symlinks are followed component by component from the root, so
 * a link anywhere on the way (not only the last component) is checked, for writes as well as reads.
 * Writes never go into a `.git` directory.
 *
 * Known limit: the check and the file operation are two steps, so a process the agent runs
 * concurrently (run_command) could swap a directory for a symlink in between. The tools run one at a
 * time per agent, and run_command itself is confined by the sandbox (when enabled), not by this module.
 */

/** An agent mistake about a path: reported back to the model, never thrown out of the activity. */
export class ToolInputError extends Error {
  override name = 'ToolInputError';
}

export interface ConfinedPath {
  /** Absolute real path (symlinks resolved) to operate on. */
  abs: string;
  /** Path relative to the workspace root, '/' separated, '.' for the root itself; for messages. */
  rel: string;
  /** Real path of the workspace root. */
  root: string;
}

const OUTSIDE_HINT = 'use a path relative to the repository root';

export function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function toPosix(rel: string): string {
  return rel === '' ? '.' : rel.split(path.sep).join('/');
}

function touchesGitDir(rel: string): boolean {
  return rel.split(/[\\/]/).some((part) => part.toLowerCase() === '.git');
}

/** Real path of a workspace root; a missing workspace is an infrastructure fault, not the agent's. */
export async function workspaceRoot(workspacePath: string): Promise<string> {
  try {
    return await fs.realpath(workspacePath);
  } catch (err) {
    throw new Error(`workspace ${workspacePath} does not exist: ${(err as Error).message}`);
  }
}

/**
 * Resolves `requested` (relative to the workspace root, or absolute inside it) to a real path inside
 * the workspace. `mode: 'write'` also refuses `.git` and symlinks that point nowhere (writing through a
 * dangling link would create its target, wherever that is).
 */
export async function confinePath(
  workspacePath: string,
  requested: string | undefined,
  mode: 'read' | 'write',
): Promise<ConfinedPath> {
  const root = await workspaceRoot(workspacePath);
  const asked = requested === undefined || requested.trim() === '' ? '.' : requested;
  if (asked.includes('\0')) throw new ToolInputError(`path '${asked}' contains a NUL byte; ${OUTSIDE_HINT}`);

  // Lexical check first. An absolute path may name the root through its given or its real form.
  const lexical = path.isAbsolute(asked) ? path.resolve(asked) : path.resolve(root, asked);
  const base = [root, path.resolve(workspacePath)].find((r) => isInside(r, lexical));
  if (base === undefined) {
    throw new ToolInputError(`path '${asked}' is outside the workspace; ${OUTSIDE_HINT}`);
  }
  const lexicalRel = path.relative(base, lexical);
  if (mode === 'write' && touchesGitDir(lexicalRel)) {
    throw new ToolInputError(
      `path '${asked}' is inside .git; tools may not write there. Change files in the working tree.`,
    );
  }

  // Walk the components from the real root, following each symlink and checking where it lands.
  let current = root;
  const parts = lexicalRel === '' ? [] : lexicalRel.split(path.sep);
  for (let i = 0; i < parts.length; i++) {
    const next = path.join(current, parts[i]);
    let stat;
    try {
      stat = await fs.lstat(next);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        current = path.join(next, ...parts.slice(i + 1)); // the rest does not exist yet: nothing to follow
        break;
      }
      throw err;
    }
    if (!stat.isSymbolicLink()) {
      current = next;
      continue;
    }
    const linkRel = toPosix(path.relative(root, next));
    let target: string;
    try {
      target = await fs.realpath(next);
    } catch {
      if (mode === 'read') {
        current = path.join(next, ...parts.slice(i + 1)); // reading a dangling link fails as "not found"
        break;
      }
      const dest = await fs.readlink(next).catch(() => '?');
      throw new ToolInputError(
        `path '${asked}' goes through the symlink '${linkRel}', which points to '${dest}' that does not exist; ` +
          'tools do not write through dangling symlinks. Remove the link or write to a regular path.',
      );
    }
    if (!isInside(root, target)) {
      throw new ToolInputError(
        `path '${asked}' goes through the symlink '${linkRel}', which leads outside the workspace; ${OUTSIDE_HINT}`,
      );
    }
    current = target;
  }

  const rel = path.relative(root, current);
  if (mode === 'write' && touchesGitDir(rel)) {
    throw new ToolInputError(
      `path '${asked}' leads inside .git; tools may not write there. Change files in the working tree.`,
    );
  }
  return { abs: current, rel: toPosix(rel), root };
}
