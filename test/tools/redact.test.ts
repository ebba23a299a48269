import * as fs from 'node:fs';
import * as path from 'node:path';
import { envSecrets, fileSecrets, redactor } from '../../src/core/redact';
import { workerSecrets } from '../../src/tools/secrets';
import { tempDir } from '../helpers/temporal';
import { removeDir } from './fixtures';

describe('redaction', () => {
  test('secret-named variables, long enough to be secrets, are replaced by a marker naming them', () => {
    const secrets = envSecrets({
      ANTHROPIC_API_KEY: 'sk-ant-abcdef123456',
      TEMPORAL_API_KEY: 'tmprl-key-000111',
      GITHUB_TOKEN: 'ghp_0123456789',
      KEYBOARD: 'us', // too short to be a secret (and would match ordinary text)
      PATH: '/usr/bin:/bin',
      HOME: '/home/me',
    });
    expect(secrets.map((s) => s.name).sort()).toEqual(['ANTHROPIC_API_KEY', 'GITHUB_TOKEN', 'TEMPORAL_API_KEY']);
    const redact = redactor(secrets);
    expect(redact('FOUND ANTHROPIC_API_KEY=sk-ant-abcdef123456 and ghp_0123456789ghp_0123456789 us')).toBe(
      'FOUND ANTHROPIC_API_KEY=[redacted:ANTHROPIC_API_KEY] and [redacted:GITHUB_TOKEN][redacted:GITHUB_TOKEN] us',
    );
  });

  test('walks messages and tool calls (strings in arrays and plain objects); other values are kept', () => {
    const redact = redactor([{ name: 'OPENAI_API_KEY', value: 'sk-openai-secret-1' }]);
    const message = {
      role: 'assistant',
      content: 'the key is sk-openai-secret-1',
      toolCalls: [{ id: 'c1', name: 'finish', arguments: { summary: 'x', findings: ['sk-openai-secret-1'], n: 3 } }],
      isError: false,
    };
    expect(redact(message)).toEqual({
      role: 'assistant',
      content: 'the key is [redacted:OPENAI_API_KEY]',
      toolCalls: [
        { id: 'c1', name: 'finish', arguments: { summary: 'x', findings: ['[redacted:OPENAI_API_KEY]'], n: 3 } },
      ],
      isError: false,
    });
    expect(message.content).toBe('the key is sk-openai-secret-1'); // the input is not changed
  });

  test('a longer secret that contains a shorter one is replaced whole', () => {
    const redact = redactor([
      { name: 'SHORT_TOKEN', value: 'abcdefgh' },
      { name: 'LONG_TOKEN', value: 'abcdefgh-ijklmnop' },
    ]);
    expect(redact('abcdefgh-ijklmnop / abcdefgh')).toBe('[redacted:LONG_TOKEN] / [redacted:SHORT_TOKEN]');
  });

  test('no secrets: the redactor returns its input untouched (no work on the hot path)', () => {
    const redact = redactor([]);
    const message = { content: 'x' };
    expect(redact(message)).toBe(message);
  });

  test('a credential file yields the whole text, each key line and each value, but not PEM armor', () => {
    const key = [
      '-----BEGIN OPENSSH PRIVATE KEY-----',
      'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB',
      'AAAAMwAAAAtzc2gtZWQyNTUxOQAAACDcanaryCANARYcanary000',
      '-----END OPENSSH PRIVATE KEY-----',
      '',
    ].join('\n');
    const redact = redactor(fileSecrets('~/.ssh/id_ed25519', key));
    expect(redact(key)).toBe('[redacted:~/.ssh/id_ed25519]\n');
    expect(redact('line: AAAAMwAAAAtzc2gtZWQyNTUxOQAAACDcanaryCANARYcanary000')).toBe(
      'line: [redacted:~/.ssh/id_ed25519]',
    );
    expect(redact('-----BEGIN OPENSSH PRIVATE KEY-----')).toBe('-----BEGIN OPENSSH PRIVATE KEY-----');

    const npmrc = redactor(fileSecrets('~/.npmrc', '//registry.npmjs.org/:_authToken=npm_canaryTokenValue42\n'));
    expect(npmrc('token npm_canaryTokenValue42')).toBe('token [redacted:~/.npmrc]');
    const aws = redactor(
      fileSecrets(
        '~/.aws/credentials',
        '[default]\nregion = us-east-1\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG\n',
      ),
    );
    expect(aws('[default] us-east-1 wJalrXUtnFEMI/K7MDENG')).toBe('[default] us-east-1 [redacted:~/.aws/credentials]');
    const docker = redactor(fileSecrets('~/.docker/config.json', '{"auths": {"x": {"auth": "dXNlcjpwYXNzd29yZA=="}}}'));
    expect(docker('auth dXNlcjpwYXNzd29yZA==')).toBe('auth [redacted:~/.docker/config.json]');
  });
});

describe("the worker's secrets", () => {
  let home: string;
  beforeEach(async () => (home = await tempDir('redact-home')));
  afterEach(() => removeDir(home));

  test('variables, the contents (not the path) of a secret-named file variable, and the credential stores', () => {
    fs.mkdirSync(path.join(home, '.ssh'));
    fs.writeFileSync(path.join(home, '.ssh', 'id_rsa'), 'PRIVATE-canary-line-0123456789\n');
    fs.writeFileSync(path.join(home, '.ssh', 'id_rsa.pub'), 'ssh-rsa PUBLIC-part-0123456789 me@host\n');
    fs.writeFileSync(path.join(home, '.ssh', 'known_hosts'), 'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\n');
    fs.writeFileSync(path.join(home, '.npmrc'), '//registry.npmjs.org/:_authToken=npm_canary_0123456789\n');
    const tlsKey = path.join(home, 'client.key');
    fs.writeFileSync(
      tlsKey,
      '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n',
    );
    const redact = redactor(
      workerSecrets({ HOME: home, ANTHROPIC_API_KEY: 'sk-ant-canary-4242', TEMPORAL_TLS_KEY: tlsKey, PATH: '/bin' }),
    );
    expect(
      redact(
        `sk-ant-canary-4242 PRIVATE-canary-line-0123456789 npm_canary_0123456789 MIIEvQIBADANBgkqhkiG9w0BAQEFAASC`,
      ),
    ).toBe('[redacted:ANTHROPIC_API_KEY] [redacted:~/.ssh/id_rsa] [redacted:~/.npmrc] [redacted:TEMPORAL_TLS_KEY]');
    // Public keys, host lists and the path of the key file are not secrets.
    expect(redact(`PUBLIC-part-0123456789 AAAAC3NzaC1lZDI1NTE5 ${tlsKey}`)).toBe(
      `PUBLIC-part-0123456789 AAAAC3NzaC1lZDI1NTE5 ${tlsKey}`,
    );
  });
});
