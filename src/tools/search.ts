import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { confinePath, ToolInputError } from './confine';
import { type ToolContext, type ToolOutcome, clip, success } from './context';
import { isBinary } from './files';
import { gitListFiles, ignoredPaths } from './git';
import { MAX_SEARCH_MATCHES, type ToolArgs } from './schemas';

/**
 * The search tool: a JavaScript regex over the lines of every tracked or untracked, not ignored,
 * text file under a path. The file list comes from `git ls-files --cached --others --exclude-standard`
 * (nested .gitignore files, .git/info/exclude and the global excludes all apply); outside a git
 * repository we walk the tree and ask `git check-ignore` per directory level.
 */

const MAX_SEARCH_FILE_BYTES = 2 * 1024 * 1024;
const MAX_LINE_TESTED = 10_000;
const MAX_LINE_SHOWN = 300;

/** Glob to RegExp: `**` any depth, `*` and `?` within one segment, `{a,b}` alternatives. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') {
      braces++;
      re += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      re += ')';
    } else if (c === ',' && braces > 0) re += '|';
    else re += c.replace(/[.+^$(){}|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Whether `rel` (relative to the searched directory) matches the glob; a glob without '/' matches the file name. */
function globMatcher(glob: string | undefined): (rel: string) => boolean {
  if (!glob) return () => true;
  const re = globToRegExp(glob.replace(/^\.\//, ''));
  return glob.includes('/') ? (rel) => re.test(rel) : (rel) => re.test(path.posix.basename(rel));
}

async function walkFiles(root: string, relDir: string): Promise<string[]> {
  const files: string[] = [];
  let level = [relDir === '.' ? '' : relDir];
  while (level.length > 0) {
    const found: Array<{ rel: string; dir: boolean }> = [];
    for (const dir of level) {
      const dirents = await fs.readdir(path.join(root, dir), { withFileTypes: true }).catch(() => []);
      for (const e of dirents) {
        if (e.name === '.git') continue;
        found.push({ rel: dir ? `${dir}/${e.name}` : e.name, dir: e.isDirectory() });
      }
    }
    const ignored = await ignoredPaths(
      root,
      found.map((f) => f.rel),
    );
    const kept = found.filter((f) => !ignored.has(f.rel));
    files.push(...kept.filter((f) => !f.dir).map((f) => f.rel));
    level = kept.filter((f) => f.dir).map((f) => f.rel);
  }
  return files.sort();
}

export async function searchTool(args: ToolArgs<'search'>, ctx: ToolContext): Promise<ToolOutcome> {
  let regex: RegExp;
  try {
    regex = new RegExp(args.pattern);
  } catch (err) {
    throw new ToolInputError(`pattern is not a valid JavaScript regular expression: ${(err as Error).message}`);
  }
  const target = await confinePath(ctx.workspace.path, args.path, 'read');
  const stat = await fs.stat(target.abs).catch(() => undefined);
  if (!stat) throw new ToolInputError(`path '${args.path}' does not exist`);

  let files: string[];
  if (stat.isFile()) files = [target.rel];
  else files = (await gitListFiles(target.root, target.rel)) ?? (await walkFiles(target.root, target.rel));
  const prefix = stat.isFile() || target.rel === '.' ? '' : `${target.rel}/`;
  const matchesGlob = globMatcher(args.glob);
  files = files.filter((f) => (f.startsWith(prefix) ? matchesGlob(f.slice(prefix.length)) : false));

  const shown: string[] = [];
  let total = 0;
  let filesWithMatches = 0;
  for (const rel of files) {
    const abs = path.join(target.root, rel);
    const info = await fs.lstat(abs).catch(() => undefined);
    if (!info?.isFile() || info.size > MAX_SEARCH_FILE_BYTES) continue; // deleted, symlink, or huge
    const data = await fs.readFile(abs).catch(() => undefined);
    if (!data || isBinary(data)) continue;
    const lines = data.toString('utf8').split('\n');
    let inFile = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].length > MAX_LINE_TESTED ? lines[i].slice(0, MAX_LINE_TESTED) : lines[i];
      if (!regex.test(line)) continue;
      inFile++;
      total++;
      if (shown.length < MAX_SEARCH_MATCHES) {
        const text = line.length > MAX_LINE_SHOWN ? `${line.slice(0, MAX_LINE_SHOWN)}…` : line;
        shown.push(`${rel}:${i + 1}: ${text.replace(/\r$/, '')}`);
      }
    }
    if (inFile > 0) filesWithMatches++;
  }

  const scope = `${target.rel === '.' ? 'the repository' : target.rel}${args.glob ? ` (files matching ${args.glob})` : ''}`;
  const summary = `search /${clip(args.pattern, 40)}/: ${total} match${total === 1 ? '' : 'es'}`;
  if (total === 0) {
    return success(`No matches for /${args.pattern}/ in ${scope} (${files.length} files searched).`, summary);
  }
  const more =
    total > shown.length
      ? `\n[${total - shown.length} more matches not shown; narrow the search with path or glob]`
      : '';
  const header = `${total} match${total === 1 ? '' : 'es'} in ${filesWithMatches} file${filesWithMatches === 1 ? '' : 's'}:`;
  return success(`${header}\n${shown.join('\n')}${more}`, summary);
}
