import { initialStuck, stuckWarning, trackTool, type StuckState } from '../../src/workflows/lib/stuck';

const feed = (s: StuckState, n: number, t: Parameters<typeof trackTool>[1], repeats = 3) => {
  const verdicts: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = trackTool(s, t, repeats);
    s = r.state;
    verdicts.push(r.verdict.kind);
  }
  return { s, verdicts };
};
const read = { name: 'read_file', preview: 'AGENTS.md', ok: true, summary: 'read 3 lines' };
const failing = { name: 'run_command', preview: 'npm test', ok: false, summary: 'exit 1: npm test' };

describe('trackTool', () => {
  it('warns once at the same call made `repeats` times in a row, and stops it at twice as many', () => {
    const { verdicts } = feed(initialStuck(), 7, read);
    expect(verdicts).toEqual(['ok', 'ok', 'warn', 'ok', 'ok', 'stuck', 'stuck']);
  });

  it('resets the streak when the call changes', () => {
    let { s } = feed(initialStuck(), 2, read);
    s = trackTool(s, { ...read, preview: 'README.md' }, 3).state;
    expect(feed(s, 2, read).verdicts).toEqual(['ok', 'ok']);
  });

  it('counts the same failure of the same command even with other calls between, and says what it is', () => {
    let s = initialStuck();
    const kinds: string[] = [];
    const whats: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = trackTool(s, failing, 3);
      kinds.push(r.verdict.kind);
      if (r.verdict.kind !== 'ok') whats.push(r.verdict.what);
      s = trackTool(r.state, { name: 'edit_file', preview: `src/a${i}.ts`, ok: true, summary: 'edited' }, 3).state;
    }
    expect(kinds).toEqual(['ok', 'ok', 'warn', 'ok', 'ok', 'stuck']);
    expect(whats[0]).toBe('got the same failure 3 times from run_command(npm test): exit 1: npm test');
    expect(stuckWarning(whats[0])).toMatch(/^You look stuck: you got the same failure 3 times/);
  });

  it('does not count a different failure of the same command as the same, and is off at 0', () => {
    let s = initialStuck();
    for (let i = 0; i < 4; i++) {
      s = trackTool(s, { ...failing, summary: `exit ${i + 1}: npm test` }, 3).state;
      s = trackTool(s, read, 3).state;
    }
    expect(Object.values(s.failures)).toEqual([1, 1, 1, 1]);
    expect(feed(initialStuck(), 10, read, 0).verdicts.every((v) => v === 'ok')).toBe(true);
  });
});
