/**
 * The environment a verification command sees: an allow-list, never the worker's own environment,
 * which holds provider keys and tokens. Names that look secret are dropped even when allowed.
 */

const ALLOWED = new Set(['PATH', 'HOME', 'LANG', 'LANGUAGE', 'TERM', 'TMPDIR', 'TZ', 'USER', 'LOGNAME', 'SHELL', 'CI']);
const ALLOWED_PREFIXES = ['LC_', 'NODE_', 'npm_config_'];
const SECRET = /KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE/i;

export function commandEnv(source: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined || SECRET.test(name)) continue;
    if (ALLOWED.has(name) || ALLOWED_PREFIXES.some((p) => name.startsWith(p))) env[name] = value;
  }
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  env.CI ??= '1'; // test runners stay non-interactive (no watch mode, no prompts)
  return env;
}
