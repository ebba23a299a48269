/**
 * What a workflow evaluates when it starts. The SDK's reused V8 context evaluates a workflow's modules afresh for every
 * workflow, so whatever src/workflows imports eagerly is paid by every agent's first workflow task. zod and longrun's
 * schemas cost ~30 ms there (bench/scaling.ts profile); they are reached only through the lazy require in
 * src/workflows/lib/validation.ts. This walks the eager (value) imports from src/workflows/index.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');

/** Modules a file imports for values (type-only imports and `require` inside functions are not eager). */
function eagerImports(file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const out: string[] = [];
  for (const stmt of source.statements) {
    if (ts.isImportDeclaration(stmt)) {
      const clause = stmt.importClause;
      if (clause?.isTypeOnly) continue;
      const named = clause?.namedBindings;
      const onlyTypes =
        clause && !clause.name && named && ts.isNamedImports(named) && named.elements.every((e) => e.isTypeOnly);
      if (onlyTypes) continue;
      out.push((stmt.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExportDeclaration(stmt) && stmt.moduleSpecifier && !stmt.isTypeOnly) {
      out.push((stmt.moduleSpecifier as ts.StringLiteral).text);
    }
  }
  return out;
}

function resolve(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return spec; // a package
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(candidate)) return candidate;
  return null;
}

function eagerGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!file.endsWith('.ts')) continue;
    for (const spec of eagerImports(file)) {
      const target = resolve(file, spec);
      if (target) queue.push(target);
    }
  }
  return seen;
}

describe('modules a workflow evaluates when it starts', () => {
  const graph = eagerGraph(path.join(ROOT, 'src', 'workflows', 'index.ts'));
  const rel = (f: string) => (path.isAbsolute(f) ? path.relative(ROOT, f) : f);

  it('reaches the workflows and their pure helpers', () => {
    // The walk itself works: it finds what the workflows plainly use.
    expect([...graph].map(rel)).toEqual(
      expect.arrayContaining(['src/workflows/task.ts', 'src/core/defaults.ts', 'src/core/control-names.ts']),
    );
  });

  it('never imports zod or the schema modules eagerly', () => {
    const heavy = [...graph]
      .map(rel)
      .filter((f) => /^zod(\/|$)|src\/core\/(schemas|control-schemas|control-tools)\.ts$/.test(f));
    expect(heavy).toEqual([]);
  });

  it('gets the control schemas through the lazy accessor', () => {
    const lazy = fs.readFileSync(path.join(ROOT, 'src', 'workflows', 'lib', 'validation.ts'), 'utf8');
    expect(lazy).toMatch(/require\('\.\.\/\.\.\/core\/control-schemas'\)/);
  });
});
