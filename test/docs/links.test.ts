/** Every relative link in docs/ and docker/README.md points at a file that exists, and at a heading that exists. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../../scripts/gen-config-docs';
import { anchorOf } from './markdown';

function pages(): string[] {
  const docs = fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join(ROOT, 'docs', f));
  return [...docs, path.join(ROOT, 'docker', 'README.md')];
}

/** Anchors of a Markdown file's headings, outside code blocks. */
function anchors(file: string): Set<string> {
  const text = fs.readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1])));
}

describe('links in the docs', () => {
  it('resolve to existing files and headings', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const page of pages()) {
      const text = fs.readFileSync(page, 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1];
        if (/^[a-z]+:/.test(target)) continue; // http(s), mailto
        const [file, anchor] = target.split('#');
        const resolved = file ? path.resolve(path.dirname(page), file) : page;
        checked++;
        if (!fs.existsSync(resolved)) broken.push(`${path.relative(ROOT, page)}: ${target} (no such file)`);
        else if (anchor && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) {
          broken.push(`${path.relative(ROOT, page)}: ${target} (no such heading)`);
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
    expect(broken).toEqual([]);
  });
});
