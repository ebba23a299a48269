/**
 * The generated references (docs/configuration.md, docs/run-input.schema.json, docs/cli.md) equal a fresh generation
 * from the code, and the environment table covers exactly the variables the code reads.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ENVIRONMENT, envNamesReadBy, OUTPUTS, ROOT } from '../../scripts/gen-config-docs';
import { runInputSchema } from '../../src/core/schemas';

/** String constants in src/ that look like variable names but are not read from the environment. */
const NOT_ENVIRONMENT = new Set(['LONGRUN_READY', 'LONGRUN_CONFLICTS']);
const FAMILIES = /^(LONGRUN|TEMPORAL|OPENAI|ANTHROPIC)_/;

describe('generated docs', () => {
  it('are up to date: run `npx ts-node scripts/gen-config-docs.ts` after changing schemas, defaults, prices or the CLI', async () => {
    // A process of its own: prettier (which formats the output) loads ESM, which jest's module sandbox cannot.
    const check = await promisify(execFile)(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', 'scripts/gen-config-docs.ts', '--check'],
      { cwd: ROOT },
    ).then(
      () => ({ stale: '' }),
      (err: { stderr: string }) => ({ stale: err.stderr.trim() }),
    );
    expect(check).toEqual({ stale: '' });
    for (const file of Object.values(OUTPUTS)) expect(fs.existsSync(path.join(ROOT, file))).toBe(true);
  });

  it('document every environment variable src/ reads, and none it does not', () => {
    const reads = envNamesReadBy();
    const documented = ENVIRONMENT.flatMap((g) => g.vars.map((v) => v.name));
    const patterns = documented.filter((n) => n.includes('<')).map((n) => n.slice(0, n.indexOf('<')));
    const covered = (name: string) => documented.includes(name) || patterns.some((p) => name.startsWith(p));
    const read = [...reads.names].filter((n) => FAMILIES.test(n) && !NOT_ENVIRONMENT.has(n));
    expect(read.length).toBeGreaterThan(25);
    expect(read.filter((n) => !covered(n)).sort()).toEqual([]);
    for (const prefix of reads.prefixes)
      expect({ prefix, documented: patterns.includes(prefix) }).toEqual({ prefix, documented: true });
    // No ghosts: each documented name is read by the code (a pattern entry by a prefix the code builds).
    const ghosts = documented.filter((n) =>
      n.includes('<') ? !reads.prefixes.includes(n.slice(0, n.indexOf('<'))) : !reads.names.has(n),
    );
    expect(ghosts).toEqual([]);
    expect(new Set(documented).size).toBe(documented.length);
  });

  it('keep the example input in configuration.md valid', () => {
    const md = fs.readFileSync(path.join(ROOT, 'docs', 'configuration.md'), 'utf8');
    const example = /```json\n([\s\S]*?)```/.exec(md)![1];
    expect(runInputSchema.safeParse(JSON.parse(example)).success).toBe(true);
  });

  it('publish a JSON Schema that accepts the example input and rejects unknown fields', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs', 'run-input.schema.json'), 'utf8')) as {
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, unknown>;
    };
    expect(schema.required.sort()).toEqual(['goal', 'repo']);
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(runInputSchema.shape).sort());
  });
});
