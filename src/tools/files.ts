import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { confinePath, ToolInputError } from './confine';
import { type ToolContext, type ToolOutcome, success } from './context';
import { ignoredPaths } from './git';
import { MAX_LIST_ENTRIES, MAX_READ_BYTES, MAX_READ_LINES, type ToolArgs } from './schemas';

/** The file tools: read_file, write_file, edit_file, list_dir. Agent mistakes throw ToolInputError. */

const MAX_FILE_BYTES = 20 * 1024 * 1024;
const MAX_LINE_CHARS = 2_000;

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

export function isBinary(data: Buffer): boolean {
  return data.subarray(0, 8_000).includes(0);
}

/** Splits into lines; a trailing newline does not make an extra empty line. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function numbered(lineNo: number, line: string): string {
  const shown =
    line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}… [line cut: ${line.length} chars]` : line;
  return `${String(lineNo).padStart(6)}\t${shown}`;
}

/** Reads a text file the agent named, with clear errors for the usual mistakes. */
async function readTextFile(requested: string, ctx: ToolContext): Promise<{ rel: string; abs: string; text: string }> {
  const target = await confinePath(ctx.workspace.path, requested, 'read');
  const stat = await fs.stat(target.abs).catch(() => undefined);
  if (!stat)
    throw new ToolInputError(`file '${requested}' does not exist; use list_dir or search to find the right path`);
  if (stat.isDirectory()) throw new ToolInputError(`'${requested}' is a directory; use list_dir to see its contents`);
  if (stat.size > MAX_FILE_BYTES) {
    throw new ToolInputError(
      `'${requested}' is ${(stat.size / 1024 / 1024).toFixed(1)} MB, too large to read here; use search or run_command (e.g. head, sed -n)`,
    );
  }
  const data = await fs.readFile(target.abs);
  if (isBinary(data)) throw new ToolInputError(`'${requested}' is a binary file (${plural(data.length, 'byte')})`);
  return { rel: target.rel, abs: target.abs, text: data.toString('utf8') };
}

export async function readFileTool(args: ToolArgs<'read_file'>, ctx: ToolContext): Promise<ToolOutcome> {
  const { rel, text } = await readTextFile(args.path, ctx);
  const lines = splitLines(text);
  if (lines.length === 0) return success(`${rel} is empty (0 lines)`, `read ${rel} (empty)`);
  const start = args.startLine ?? 1;
  if (start > lines.length) {
    throw new ToolInputError(`startLine ${start} is past the end: ${rel} has ${plural(lines.length, 'line')}`);
  }
  if (args.endLine !== undefined && args.endLine < start) {
    throw new ToolInputError(`endLine ${args.endLine} is before startLine ${start}`);
  }
  const end = Math.min(args.endLine ?? start + MAX_READ_LINES - 1, lines.length, start + MAX_READ_LINES - 1);
  const out: string[] = [];
  let bytes = 0;
  let last = start - 1;
  for (let n = start; n <= end; n++) {
    const line = numbered(n, lines[n - 1]);
    if (bytes + line.length > MAX_READ_BYTES && out.length > 0) break;
    out.push(line);
    bytes += line.length + 1;
    last = n;
  }
  const crlf = text.includes('\r\n') ? ' (CRLF line endings: lines end with \\r)' : '';
  const header = `${rel} lines ${start}-${last} of ${lines.length}${crlf}`;
  const wanted = Math.min(args.endLine ?? lines.length, lines.length);
  const footer =
    last < wanted
      ? `\n[stopped at line ${last} (limit ${MAX_READ_LINES} lines / ${MAX_READ_BYTES / 1024} KB per call); ` +
        `continue with startLine=${last + 1}]`
      : '';
  return success(`${header}\n${out.join('\n')}${footer}`, `read ${rel}:${start}-${last}`);
}

export async function writeFileTool(args: ToolArgs<'write_file'>, ctx: ToolContext): Promise<ToolOutcome> {
  const target = await confinePath(ctx.workspace.path, args.path, 'write');
  const stat = await fs.stat(target.abs).catch(() => undefined);
  if (stat?.isDirectory()) throw new ToolInputError(`'${args.path}' is a directory; give a file path`);
  try {
    await fs.mkdir(path.dirname(target.abs), { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new ToolInputError(`cannot create '${args.path}': a parent of it is a file, not a directory`);
    }
    throw err;
  }
  await fs.writeFile(target.abs, args.content);
  const lines = splitLines(args.content).length;
  const verb = stat ? 'replaced' : 'created';
  const bytes = Buffer.byteLength(args.content);
  return success(`${verb} ${target.rel} (${plural(lines, 'line')}, ${plural(bytes, 'byte')})`, `${verb} ${target.rel}`);
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** Line where `oldText` would match if indentation and trailing spaces were ignored, for a hint. */
function looseMatchLine(text: string, oldText: string): number | undefined {
  const want = splitLines(oldText).map((l) => l.trim());
  if (want.length === 0 || want.every((l) => l === '')) return undefined;
  const have = text.split('\n').map((l) => l.trim());
  for (let i = 0; i + want.length <= have.length; i++) {
    if (want.every((l, j) => have[i + j] === l)) return i + 1;
  }
  return undefined;
}

export async function editFileTool(args: ToolArgs<'edit_file'>, ctx: ToolContext): Promise<ToolOutcome> {
  const { rel, text } = await readTextFile(args.path, ctx);
  const { abs } = await confinePath(ctx.workspace.path, args.path, 'write'); // .git and dangling-link rules
  if (args.oldText === args.newText) throw new ToolInputError('oldText and newText are identical; nothing to change');

  const matches: number[] = [];
  for (let i = text.indexOf(args.oldText); i !== -1; i = text.indexOf(args.oldText, i + args.oldText.length)) {
    matches.push(i);
  }
  if (matches.length === 0) {
    const loose = looseMatchLine(text, args.oldText);
    const hint =
      loose !== undefined
        ? ` Text matching except for indentation/trailing spaces starts at line ${loose}; copy the exact whitespace.`
        : text.includes('\r\n') && args.oldText.includes('\n')
          ? ' The file has CRLF line endings; oldText must contain \\r\\n.'
          : ' Read the file again with read_file and copy the exact text (without the line numbers).';
    throw new ToolInputError(`oldText was not found in ${rel}.${hint}`);
  }
  if (matches.length > 1) {
    const lines = matches.slice(0, 10).map((m) => lineOf(text, m));
    throw new ToolInputError(
      `oldText occurs ${matches.length} times in ${rel} (at lines ${lines.join(', ')}${matches.length > 10 ? ', ...' : ''}); ` +
        'it must be unique. Include more surrounding lines in oldText to pick one occurrence.',
    );
  }
  // Slices, not String.replace: newText may contain "$&" and similar, which replace() would interpret.
  const at = matches[0];
  const updated = text.slice(0, at) + args.newText + text.slice(at + args.oldText.length);
  await fs.writeFile(abs, updated);

  const firstLine = lineOf(updated, at);
  const newLines = Math.max(splitLines(args.newText).length, 1);
  const all = splitLines(updated);
  const from = Math.max(1, firstLine - 3);
  const to = Math.min(all.length, firstLine + newLines - 1 + 3, from + 40);
  const snippet = all
    .slice(from - 1, to)
    .map((l, i) => numbered(from + i, l))
    .join('\n');
  return success(
    `edited ${rel}: replaced ${plural(splitLines(args.oldText).length || 1, 'line')} at line ${firstLine} ` +
      `with ${plural(newLines, 'line')}. Lines ${from}-${to} now:\n${snippet}`,
    `edited ${rel}:${firstLine}`,
  );
}

export async function listDirTool(args: ToolArgs<'list_dir'>, ctx: ToolContext): Promise<ToolOutcome> {
  const target = await confinePath(ctx.workspace.path, args.path, 'read');
  const stat = await fs.stat(target.abs).catch(() => undefined);
  if (!stat) throw new ToolInputError(`directory '${args.path}' does not exist`);
  if (!stat.isDirectory()) throw new ToolInputError(`'${args.path}' is a file; use read_file to read it`);
  const depth = args.depth ?? 2;
  const entries: string[] = [];
  let omitted = 0;
  // Breadth first, one `git check-ignore` per level, so ignored trees (node_modules) are never walked.
  let level = [target.rel === '.' ? '' : target.rel];
  for (let d = 1; d <= depth && level.length > 0; d++) {
    const found: Array<{ rel: string; dir: boolean; link?: string }> = [];
    for (const dir of level) {
      const dirents = await fs.readdir(path.join(target.root, dir), { withFileTypes: true }).catch(() => []);
      for (const e of dirents) {
        if (e.name === '.git') continue;
        const rel = dir ? `${dir}/${e.name}` : e.name;
        const link = e.isSymbolicLink() ? await fs.readlink(path.join(target.root, rel)).catch(() => '?') : undefined;
        found.push({ rel, dir: e.isDirectory(), link });
      }
    }
    const ignored = await ignoredPaths(
      target.root,
      found.map((f) => f.rel),
    );
    const kept = found.filter((f) => !ignored.has(f.rel)).sort((a, b) => a.rel.localeCompare(b.rel));
    for (const f of kept) {
      if (entries.length >= MAX_LIST_ENTRIES) omitted++;
      else entries.push(f.link !== undefined ? `${f.rel} -> ${f.link}` : f.dir ? `${f.rel}/` : f.rel);
    }
    level = kept.filter((f) => f.dir).map((f) => f.rel);
  }
  entries.sort();
  const where = target.rel === '.' ? 'repository root' : `${target.rel}/`;
  const body = entries.length === 0 ? '(empty)' : entries.join('\n');
  const more = omitted > 0 ? `\n[${omitted} more entries not shown; list a subdirectory or use a smaller depth]` : '';
  return success(
    `${where} (depth ${depth}, .gitignored entries hidden):\n${body}${more}`,
    `listed ${target.rel} (${plural(entries.length + omitted, 'entry', 'entries')})`,
  );
}
