import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import OpenAI from 'openai';
import { loadScenario, startSimulator } from '../../src/sim';
import { tempDir } from '../helpers/temporal';

const ROOT = path.resolve(__dirname, '..', '..');

describe('scenario files', () => {
  test('the example scenarios are valid', async () => {
    const dir = path.join(ROOT, 'sim', 'scenarios');
    const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) expect(() => loadScenario(path.join(dir, f))).not.toThrow();
  });

  test('a scripted .js scenario module drives the server', async () => {
    const dir = await tempDir('sim-script');
    try {
      const file = path.join(dir, 'echo.js');
      await fs.writeFile(
        file,
        `module.exports = (req) => ({ text: 'echo: ' + req.lastText.toUpperCase(), toolCalls: req.turn === 0 ? [{ name: 'finish', arguments: { n: req.index } }] : [] });\n`,
      );
      const sim = await startSimulator({ scenario: file });
      try {
        const openai = new OpenAI({ apiKey: 'k', baseURL: sim.env.OPENAI_BASE_URL, maxRetries: 0 });
        const c = await openai.chat.completions.create({ model: 'any', messages: [{ role: 'user', content: 'hi' }] });
        expect(c.choices[0].message.content).toBe('echo: HI');
        const call = c.choices[0].message.tool_calls![0];
        expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ n: 0 });
      } finally {
        await sim.close();
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  test('a broken JSON scenario file names the file', async () => {
    const dir = await tempDir('sim-bad');
    try {
      const file = path.join(dir, 'bad.json');
      await fs.writeFile(file, '{"rules": [');
      expect(() => loadScenario(file)).toThrow(
        new RegExp(`scenario ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not valid JSON`),
      );
      expect(() => loadScenario(path.join(dir, 'missing.json'))).toThrow(/does not exist/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('longrun sim (CLI)', () => {
  test('serves until SIGTERM, logging one line per request', async () => {
    const child = spawn(
      process.execPath,
      [
        path.join(ROOT, 'bin', 'longrun.js'),
        'sim',
        '--port',
        '0',
        '--scenario',
        path.join(ROOT, 'sim', 'scenarios', 'hello.json'),
      ],
      {
        env: { ...process.env, LONGRUN_FROM_SOURCE: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`sim did not start:\n${out}`)), 60_000);
        child.stdout.on('data', () => {
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
      });
      const openai = new OpenAI({ apiKey: 'k', baseURL: `${url}/v1`, maxRetries: 0 });
      const c = await openai.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] });
      expect(c.choices[0].message.content).toBe(
        'Hello from the longrun simulator (gpt-5). Let me look at the workspace.',
      );
      expect(out).toMatch(/export OPENAI_BASE_URL=http:\/\/127\.0\.0\.1:\d+\/v1/);
      await new Promise((r) => setTimeout(r, 100));
      expect(out).toMatch(
        /sim #0 POST \/v1\/chat\/completions model=gpt-5 turn=0 rule=0 -> 200 tool_use\[list_files\]/,
      );
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(out).toMatch(/SIGTERM: 1 requests served; stopping/);
  });
});
