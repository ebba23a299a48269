/**
 * docker/ checked without a Docker engine: compose.yaml and the Dockerfile are parsed and held against the code —
 * the services and images, the environment names the code really reads, the volumes, the search attributes,
 * the non-root user and the CMD that `npm run build` emits.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { envNamesReadBy, type EnvReads } from '../../scripts/gen-config-docs';
import { loadConfig } from '../../src/config';
import { SEARCH_ATTRIBUTES } from '../../src/core/search-attributes';
import { SANDBOX_MODES } from '../../src/tools/sandbox';
import { compose, dependsOn, dockerfile, DOCKER, envFileNames, mount, ROOT, type ComposeFile } from './files';

const FAMILIES = /^(LONGRUN|TEMPORAL|OPENAI|ANTHROPIC)_/;

function readByCode(reads: EnvReads, name: string): boolean {
  return (
    reads.names.has(name) || reads.prefixes.some((p) => name.startsWith(p) && /^[A-Z0-9_]+$/.test(name.slice(p.length)))
  );
}

describe('docker/compose.yaml', () => {
  let file: ComposeFile;
  let reads: EnvReads;
  let example: ReturnType<typeof envFileNames>;

  beforeAll(() => {
    file = compose();
    reads = envNamesReadBy();
    example = envFileNames(fs.readFileSync(path.join(DOCKER, 'longrun.env.example'), 'utf8'));
  });

  it('has PostgreSQL, the Temporal server, the Web UI, the search-attribute setup and the worker', () => {
    expect(Object.keys(file.services).sort()).toEqual([
      'postgres',
      'search-attributes',
      'temporal',
      'temporal-ui',
      'worker',
    ]);
    expect(file.services.temporal.image).toMatch(/^temporalio\/auto-setup:/);
    expect(file.services['temporal-ui'].image).toMatch(/^temporalio\/ui:/);
    expect(file.services['search-attributes'].image).toMatch(/^temporalio\/admin-tools:/);
    expect(file.services.postgres.image).toMatch(/^postgres:/);
  });

  it('pins every image to a version (no missing tag, no latest)', () => {
    for (const [name, service] of Object.entries(file.services)) {
      if (!service.image) continue;
      const tag = /^[^:]+:(.+)$/.exec(service.image)?.[1];
      expect({ name, tag }).toEqual({ name, tag: expect.stringMatching(/^\d[\w.-]*$/) });
    }
    // auto-setup and admin-tools come from one Temporal release.
    const server = file.services.temporal.image!.split(':')[1];
    expect(file.services['search-attributes'].image!.split(':')[1].startsWith(`${server}-`)).toBe(true);
  });

  it('runs Temporal on PostgreSQL, with the dynamic config it mounts', () => {
    const t = file.services.temporal;
    expect(t.environment?.DB).toBe('postgres12');
    expect(file.services[String(t.environment?.POSTGRES_SEEDS)]).toBe(file.services.postgres);
    expect(dependsOn(t).postgres).toBe('service_healthy');
    const dyn = String(t.environment?.DYNAMIC_CONFIG_FILE_PATH);
    const mounted = t.volumes!.map(mount).find((m) => m.target === `/etc/temporal/${dyn}`);
    expect(mounted).toBeDefined();
    expect(fs.existsSync(path.join(DOCKER, mounted!.source))).toBe(true);
    expect(t.ports).toContain('7233:7233');
    expect(file.services['temporal-ui'].ports).toContain('8233:8080');
    expect(file.services['temporal-ui'].environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  it('registers exactly the search attributes the workflows set, with their types', () => {
    const setup = file.services['search-attributes'];
    expect(setup.restart).toBe('no');
    const script = setup.volumes!.map(mount).find((m) => setup.entrypoint!.includes(m.target));
    expect(script).toBeDefined();
    const text = fs.readFileSync(path.join(DOCKER, script!.source), 'utf8');
    const created = Object.fromEntries([...text.matchAll(/^create (\w+) (\w+)$/gm)].map((m) => [m[1], m[2]]));
    expect(created).toEqual(SEARCH_ATTRIBUTES);
    expect(text).toContain('temporal operator search-attribute create');
    expect(setup.environment?.TEMPORAL_NAMESPACE).toBe('default');
  });

  it('builds the worker from docker/Dockerfile and starts it only after the search attributes exist', () => {
    const w = file.services.worker;
    expect(path.resolve(DOCKER, w.build!.context, w.build!.dockerfile)).toBe(path.join(DOCKER, 'Dockerfile'));
    expect(path.resolve(DOCKER, w.build!.context)).toBe(ROOT);
    expect(w.deploy?.replicas).toBe('${LONGRUN_WORKERS:-2}');
    expect(dependsOn(w)['search-attributes']).toBe('service_completed_successfully');
    expect(w.restart).toBe('unless-stopped');
  });

  it('gives the worker its keys through env_file, with a committed example and the secrets kept out of git and the image', () => {
    const w = file.services.worker;
    expect(w.env_file).toEqual(['./longrun.env']);
    expect(fs.readFileSync(path.join(DOCKER, '.gitignore'), 'utf8').split('\n')).toContain('longrun.env');
    expect(fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n')).toContain('docker/longrun.env');
    for (const key of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY']) expect(example.set.get(key)).toBe('');
    // Nothing secret in the compose file itself.
    expect(Object.keys(w.environment ?? {}).filter((n) => /KEY|TOKEN|SECRET/.test(n))).toEqual([]);
  });

  it('uses only environment names the code reads, and sets the important ones', () => {
    const worker = file.services.worker;
    const sandbox = compose('compose.sandbox.yaml').services.worker;
    const named = [
      ...Object.keys(dockerfile().env),
      ...Object.keys(worker.environment ?? {}),
      ...Object.keys(sandbox.environment ?? {}),
      ...example.set.keys(),
      ...example.commented,
    ].filter((n) => FAMILIES.test(n));
    expect(named.length).toBeGreaterThan(20);
    expect(named.filter((n) => !readByCode(reads, n))).toEqual([]);
    // Wired for the compose topology.
    expect(example.set.get('TEMPORAL_ADDRESS')).toBe('temporal:7233');
    expect(example.set.get('TEMPORAL_NAMESPACE')).toBe('default');
    expect(example.set.get('LONGRUN_TASK_QUEUE')).toBe(loadConfig({}).taskQueue);
    expect(SANDBOX_MODES).toContain(example.set.get('LONGRUN_SANDBOX'));
    // Documented so a user finds them: Temporal Cloud / TLS and the rate-limit knobs.
    for (const name of [
      'TEMPORAL_API_KEY',
      'TEMPORAL_TLS',
      'TEMPORAL_TLS_CERT',
      'TEMPORAL_TLS_KEY',
      'LONGRUN_MODEL_CONCURRENCY',
      'LONGRUN_HOST_ID',
      'LONGRUN_PRICES',
    ]) {
      expect(example.commented.has(name) || example.set.has(name)).toBe(true);
    }
  });

  it('keeps the state dir on a named volume at LONGRUN_HOME, the same path the image declares', () => {
    const w = file.services.worker;
    const home = String(w.environment?.LONGRUN_HOME);
    expect(home).toBe('/var/lib/longrun');
    expect(dockerfile().env.LONGRUN_HOME).toBe(home);
    expect(dockerfile().volumes).toContain(home);
    const state = w.volumes!.map(mount).find((m) => m.target === home);
    expect(state?.bind).toBe(false);
    // LONGRUN_HOME is fixed by the mount: the env file must not move it.
    expect(example.set.has('LONGRUN_HOME')).toBe(false);
  });

  it('declares every named volume it uses, and every bind-mount source exists', () => {
    const declared = new Set(Object.keys(file.volumes ?? {}));
    const used = new Set<string>();
    for (const f of ['compose.yaml', 'compose.sandbox.yaml']) {
      for (const service of Object.values(compose(f).services)) {
        for (const m of (service.volumes ?? []).map(mount)) {
          if (m.bind)
            expect({ source: m.source, exists: fs.existsSync(path.resolve(DOCKER, m.source)) }).toEqual({
              source: m.source,
              exists: true,
            });
          else used.add(m.source);
        }
      }
    }
    expect([...used].filter((v) => !declared.has(v))).toEqual([]);
    expect([...declared].filter((v) => !used.has(v))).toEqual([]);
  });

  it('has a sandbox override that lets bubblewrap create namespaces and makes the sandbox mandatory', () => {
    const w = compose('compose.sandbox.yaml').services.worker;
    expect(w.security_opt).toEqual(
      expect.arrayContaining(['seccomp=unconfined', 'apparmor=unconfined', 'systempaths=unconfined']),
    );
    expect(w.environment?.LONGRUN_SANDBOX).toBe('bwrap');
  });
});

describe('docker/Dockerfile', () => {
  const d = dockerfile();

  it('builds in one stage (npm ci, npm run build) and runs from node:20-bookworm-slim in another', () => {
    expect(d.stages.length).toBe(2);
    expect(d.build.name).toBe('build');
    const buildRuns = d.build.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(buildRuns.some((r) => /^npm ci\b/.test(r))).toBe(true);
    expect(buildRuns).toContain('npm run build');
    expect(d.runtime.from).toBe('node:20-bookworm-slim');
    expect(d.runs.some((r) => /npm ci --omit=dev/.test(r))).toBe(true);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      engines: { node: string };
    };
    expect(pkg.scripts.build).toBe('tsc -p tsconfig.build.json');
    expect(Number(/>=\s*(\d+)/.exec(pkg.engines.node)![1])).toBeLessThanOrEqual(20);
  });

  it('installs git and bubblewrap', () => {
    expect(d.aptPackages).toEqual(expect.arrayContaining(['git', 'bubblewrap']));
  });

  it('runs as a non-root user it creates, owning LONGRUN_HOME', () => {
    expect(d.user).toBe('longrun');
    expect(
      d.runs.some((r) => /useradd\b.*\blongrun\b/.test(r) && /chown longrun:longrun \/var\/lib\/longrun/.test(r)),
    ).toBe(true);
    const userIndex = d.runtime.instructions.findIndex((i) => i.op === 'USER');
    expect(d.runtime.instructions.slice(userIndex + 1).some((i) => i.op === 'USER' && /^(root|0)\b/.test(i.args))).toBe(
      false,
    );
  });

  it('starts `node dist/workers/main.js`, which is where tsconfig.build.json compiles src/workers/main.ts', () => {
    expect(d.cmd).toEqual(['node', 'dist/workers/main.js']);
    const build = JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
      compilerOptions: { rootDir: string; outDir: string };
      include: string[];
    };
    const { rootDir, outDir } = build.compilerOptions;
    const source = path.join(rootDir, path.relative(outDir, d.cmd[1])).replace(/\.js$/, '.ts');
    expect(source).toBe(path.join('src', 'workers', 'main.ts'));
    expect(fs.existsSync(path.join(ROOT, source))).toBe(true);
    expect(build.include).toContain(rootDir);
    // The build stage copies what tsc needs.
    const copied = d.build.instructions.filter((i) => i.op === 'COPY').flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(copied).toEqual(
      expect.arrayContaining(['tsconfig.json', 'tsconfig.build.json', 'src', 'package-lock.json']),
    );
  });

  it('copies what the compiled code reads at run time, and keeps secrets out of the build context', () => {
    expect(d.runtimeCopies).toEqual(expect.arrayContaining(['prompts', 'sim', 'bin']));
    for (const src of d.runtimeCopies) expect(fs.existsSync(path.join(ROOT, src))).toBe(true);
    const ignore = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['.git', 'node_modules', 'dist', 'docker/longrun.env']) expect(ignore).toContain(entry);
    // What the image needs must not be ignored.
    for (const needed of [...d.runtimeCopies, 'src', 'package.json', 'package-lock.json'])
      expect(ignore).not.toContain(needed);
  });

  it('reaps orphaned agent processes with an init and sets LONGRUN_HOME as a volume', () => {
    expect(d.entrypoint).toEqual(['/usr/bin/tini', '--']);
    expect(d.aptPackages).toContain('tini');
    expect(d.env.LONGRUN_HOME).toBe('/var/lib/longrun');
  });
});
