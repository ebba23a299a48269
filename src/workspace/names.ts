import { safeName } from '../config';

/** Pure naming rules for refs, trailers and messages. */

/**
 * A ref component git accepts (git check-ref-format): safeName's charset, and no '..',
 * no leading '.' or '-', no trailing '.' or '.lock'.
 */
export function refComponent(id: string): string {
  let name = safeName(id).replace(/\.\.+/g, '_');
  name = name
    .replace(/^[.-]/, '_')
    .replace(/\.lock$/i, '_lock')
    .replace(/\.$/, '_');
  return name || '_';
}

export const targetBranch = (runId: string) => `longrun/${refComponent(runId)}`;
export const taskBranch = (taskId: string) => `task/${refComponent(taskId)}`;
export const headRef = (branch: string) => `refs/heads/${branch}`;

export const TRAILER_KEY = 'Longrun-Task';

export function trailerLine(taskId: string): string {
  return `${TRAILER_KEY}: ${taskId}`;
}

/** True when a commit message carries exactly this task's trailer (not a prefix of another id). */
export function hasTaskTrailer(message: string, taskId: string): boolean {
  const want = trailerLine(taskId);
  return message.split('\n').some((line) => line.trim() === want);
}

/** Appends the trailer as its own paragraph, as `git interpret-trailers` would. */
export function withTrailer(message: string, taskId: string): string {
  const body = message.trim() || `Task ${taskId}`;
  return hasTaskTrailer(body, taskId) ? body : `${body}\n\n${trailerLine(taskId)}`;
}

/** Subject lines stay one line and readable in `git log --oneline`. */
export function oneLine(text: string, max = 120): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export function mergeMessage(taskId: string, title: string): string {
  return withTrailer(`Merge task ${taskId}: ${oneLine(title)}`, taskId);
}

/** A local path (absolute, relative, or file://) as opposed to a URL or scp-style address git clones over the network. */
export function isLocalRepo(repo: string): boolean {
  if (repo.startsWith('file://')) return true;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo)) return false;
  // scp-like "host:path" (but not a Windows drive "C:\")
  if (/^[^/\\]+:/.test(repo) && !/^[a-zA-Z]:[\\/]/.test(repo)) return false;
  return true;
}

/** Lines that mean a conflict was left unresolved. */
export function markerLines(content: string): number[] {
  const out: number[] = [];
  content.split('\n').forEach((line, i) => {
    if (line.startsWith('<<<<<<<') || line.startsWith('>>>>>>>')) out.push(i + 1);
  });
  return out;
}

/** Keeps the end of output, where test failures are reported. */
export function tailText(text: string, max: number): string {
  if (text.length <= max) return text;
  return `[... ${text.length - max} earlier characters cut ...]\n${text.slice(text.length - max)}`;
}
