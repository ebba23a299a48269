/**
 * Every default the README and docker/longrun.env.example state equals the code's: environment defaults against the
 * generated reference (scripts/gen-config-docs.ts), the README's run-input example against DEFAULT_LIMITS.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENVIRONMENT, ROOT } from '../../scripts/gen-config-docs';
import { DEFAULT_LIMITS } from '../../src/core/schemas';

const documentedDefault = new Map(ENVIRONMENT.flatMap((g) => g.vars.map((v) => [v.name, v.default] as const)));
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** Rows of the README's environment table: names in backticks, then the defaults in the same order. */
function readmeEnvRows(): Array<{ names: string[]; defaults: string[] }> {
  const section = readme.slice(readme.indexOf('## Configuration (environment of the worker)'));
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('|')));
  return table
    .split('\n')
    .filter((l) => /^\| `/.test(l))
    .map((l) => {
      const [names, defaults] = l.split(' | ');
      return {
        names: [...names.matchAll(/`([A-Z0-9_]+)(?:\[[^\]]*\])?`/g)].map((m) => m[1]),
        defaults: defaults
          .split(/\s*(?:,|\/)\s*/)
          .map((d) => d.replace(/`/g, '').trim())
          .filter(Boolean),
      };
    });
}

describe('stated defaults', () => {
  it('in the README environment table match the code', () => {
    const rows = readmeEnvRows().filter((r) => r.defaults.length > 0 && r.defaults.length === r.names.length);
    expect(rows.length).toBeGreaterThanOrEqual(4);
    const mismatches = rows.flatMap((r) =>
      r.names
        .map((name, i) => ({ name, readme: r.defaults[i], code: documentedDefault.get(name) }))
        .filter((x) => x.code !== undefined && x.readme !== x.code),
    );
    expect(mismatches).toEqual([]);
  });

  it('in docker/longrun.env.example (commented lines show the default) match the code', () => {
    const example = fs.readFileSync(path.join(ROOT, 'docker', 'longrun.env.example'), 'utf8');
    const lines = [...example.matchAll(/^# ([A-Z][A-Z0-9_]+)=(\S+)$/gm)];
    // Placeholder defaults such as `<install dir>/prompts` show the image's own value there.
    const checked = lines.filter((m) => /^[^<(]+$/.test(documentedDefault.get(m[1]) ?? ''));
    expect(checked.length).toBeGreaterThanOrEqual(5);
    expect(checked.filter((m) => m[2] !== documentedDefault.get(m[1])).map((m) => `${m[1]}=${m[2]}`)).toEqual([]);
  });

  it('in the README run input example match DEFAULT_LIMITS', () => {
    const block = /```jsonc\n([\s\S]*?)```/.exec(readme)![1];
    const limits = block.slice(block.indexOf('"limits"'), block.indexOf('}', block.indexOf('"limits"')));
    const stated = [...limits.matchAll(/"(\w+)": (null|\d+(?:\.\d+)?)/g)].map((m) => [m[1], JSON.parse(m[2])]);
    expect(stated.length).toBeGreaterThanOrEqual(8);
    const code = DEFAULT_LIMITS as Record<string, unknown>;
    expect(stated.filter(([k, v]) => code[k as string] !== v)).toEqual([]);
  });
});
