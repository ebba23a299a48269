import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { recordingVersion, savedHistoryFiles } from '../helpers/histories';

describe('replay fixtures', () => {
  it('are recorded only when LONGRUN_RECORD_HISTORIES names a version', () => {
    expect(recordingVersion({})).toBeNull();
    expect(recordingVersion({ LONGRUN_RECORD_HISTORIES: ' ' })).toBeNull();
    expect(recordingVersion({ LONGRUN_RECORD_HISTORIES: 'v0.2.0' })).toBe('v0.2.0');
    expect(() => recordingVersion({ LONGRUN_RECORD_HISTORIES: 'latest' })).toThrow(/not a version like v0.2.0/);
  });

  it('are listed per version and scenario, in order', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-replay-'));
    for (const [v, s, f] of [
      ['v0.2.0', 'e2e', '01-b.json'],
      ['v0.1.0', 'stop', '00-a.json'],
      ['v0.2.0', 'e2e', '00-a.json'],
    ]) {
      fs.mkdirSync(path.join(root, v, s), { recursive: true });
      fs.writeFileSync(path.join(root, v, s, f), '{}');
    }
    fs.writeFileSync(path.join(root, 'v0.1.0', 'stop', 'notes.txt'), '');
    expect(savedHistoryFiles(root).map((h) => `${h.version}/${h.scenario}/${path.basename(h.file)}`)).toEqual([
      'v0.1.0/stop/00-a.json',
      'v0.2.0/e2e/00-a.json',
      'v0.2.0/e2e/01-b.json',
    ]);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('of v0.1.0 cover the end-to-end, stop, continue-as-new, local-model-call and crash runs', () => {
    const scenarios = new Set(
      savedHistoryFiles()
        .filter((h) => h.version === 'v0.1.0')
        .map((h) => h.scenario),
    );
    expect([...scenarios].sort()).toEqual(['continue-as-new', 'crash', 'e2e', 'local-model-calls', 'stop']);
  });

  it('of v0.2.0 cover the same runs', () => {
    const scenarios = new Set(
      savedHistoryFiles()
        .filter((h) => h.version === 'v0.2.0')
        .map((h) => h.scenario),
    );
    expect([...scenarios].sort()).toEqual(['continue-as-new', 'crash', 'e2e', 'local-model-calls', 'stop']);
  });
});
