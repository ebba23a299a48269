import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { RUN_ID_PATTERN } from '../core/ids';
import { DEFAULT_LIMITS, describeIssues, runInputSchema } from '../core/schemas';
import { ROLES, type RoleModels } from '../core/types';
import { resolveModels } from '../models/defaults';
import { checkProviderKeys } from '../models/settings';
import { promptsHash } from '../prompts/load';
import type { ResolvedRun } from '../workflows/definitions';
import { inspectRepo } from '../workspace/hub';
import { chooseSandbox, sandboxSettingsFromEnv } from '../tools/sandbox';
import { isLocalRepo } from '../workspace/names';

const run = promisify(execFile);

export const RUN_ERRORS = {
  invalidInput: 'InvalidRunInput',
  // This worker cannot run agent-written code as LONGRUN_SANDBOX requires (bubblewrap missing or broken).
  sandboxUnavailable: 'SandboxUnavailable',
} as const;

/** Why this worker would refuse to run agent-written code (LONGRUN_SANDBOX), or null when it can. */
export async function sandboxProblem(env: NodeJS.ProcessEnv): Promise<string | null> {
  try {
    await chooseSandbox(sandboxSettingsFromEnv(env), env.PATH);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Every problem with a run's input, one line each naming the field and the fix. Shared by the first activity
 * of a run and by the CLI, which checks locally before starting anything.
 */
export async function runInputProblems(
  input: unknown,
  runId: string,
  env: NodeJS.ProcessEnv,
): Promise<{ problems: string[]; models: RoleModels | null }> {
  const problems: string[] = [];
  if (!RUN_ID_PATTERN.test(runId)) {
    problems.push(
      `workflow id "${runId}": becomes a git branch name; use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  const parsed = runInputSchema.safeParse(input);
  // Fields with schema problems; every other field is still checked, so one mistake does not hide the next.
  const bad = new Set<string>();
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      bad.add(String(issue.path[0] ?? ''));
      if (issue.code === 'unrecognized_keys' && issue.path.join('.') === 'models') {
        problems.push(
          `models: unknown role ${issue.keys.map((k) => `"${k}"`).join(', ')}; roles are ${ROLES.join(', ')}`,
        );
      } else if (issue.code === 'unrecognized_keys') {
        const where = issue.path.join('.') || '(input)';
        problems.push(
          `${where}: unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; check the spelling against the docs`,
        );
      } else {
        problems.push(...describeIssues({ issues: [issue] } as never));
      }
    }
  }
  const raw = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  if (raw.mergePolicy === 'tests-pass' && (typeof raw.testCommand !== 'string' || !raw.testCommand.trim()))
    problems.push(
      "mergePolicy: 'tests-pass' needs a testCommand to run on each merge; set testCommand or drop mergePolicy",
    );
  const repo = typeof raw.repo === 'string' && raw.repo.trim() && !bad.has('repo') ? raw.repo.trim() : null;
  if (repo)
    problems.push(
      ...(await repoProblems(repo, !bad.has('base') && typeof raw.base === 'string' ? raw.base.trim() : undefined)),
    );

  let models: RoleModels | null = null;
  if (!bad.has('models')) {
    try {
      models = resolveModels((raw.models ?? {}) as Parameters<typeof resolveModels>[0], env);
      problems.push(...checkProviderKeys(models, env));
      const limits = { ...DEFAULT_LIMITS, ...(bad.has('limits') ? {} : (raw.limits as object)) };
      if (limits.maxCostUsd !== null) {
        for (const role of ROLES) {
          if (!models[role].price) {
            problems.push(
              `limits.maxCostUsd: models.${role} (${models[role].provider}:${models[role].model}) has no known price, so spend cannot be enforced; ` +
                'add its price to LONGRUN_PRICES or remove maxCostUsd',
            );
          }
        }
      }
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return { problems, models: parsed.success ? models : null };
}

async function repoProblems(repo: string, base: string | undefined): Promise<string[]> {
  if (isLocalRepo(repo) && !path.isAbsolute(repo.replace(/^file:\/\//, ''))) {
    return [`repo: "${repo}" is a relative path; pass an absolute path (the worker resolves it on its own host)`];
  }
  const problems = await inspectRepo(repo);
  if (!problems.length && base && isLocalRepo(repo)) {
    try {
      await run('git', ['rev-parse', '--verify', '--quiet', `${base}^{commit}`], {
        cwd: repo.replace(/^file:\/\//, ''),
      });
    } catch {
      problems.push(`base: "${base}" is not a commit, branch or tag of ${repo}; omit it to start from HEAD`);
    }
  }
  return problems;
}

export function createRunActivities(deps: { env?: NodeJS.ProcessEnv; hostTaskQueue: string }) {
  const env = deps.env ?? process.env;
  return {
    /** The first activity of a run: the input and this worker's sandbox are checked before any agent starts. */
    async validateRun(input: unknown, runId: string, startedAt: number): Promise<ResolvedRun> {
      const { problems, models } = await runInputProblems(input, runId, env);
      if (problems.length || !models) {
        throw ApplicationFailure.create({
          type: RUN_ERRORS.invalidInput,
          nonRetryable: true,
          message: `Invalid run input (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n- ${problems.join('\n- ')}`,
          details: [problems],
        });
      }
      // Every agent command and the test command is agent-written code: refuse the run here, before any agent
      // starts, rather than at its first command (each host checks again when it runs one).
      const sandbox = await sandboxProblem(env);
      if (sandbox) {
        throw ApplicationFailure.create({ type: RUN_ERRORS.sandboxUnavailable, nonRetryable: true, message: sandbox });
      }
      const spec = runInputSchema.parse(input);
      return {
        runId,
        repo: isLocalRepo(spec.repo) ? path.resolve(spec.repo.replace(/^file:\/\//, '')) : spec.repo,
        goal: spec.goal,
        base: spec.base ?? null,
        testCommand: spec.testCommand ?? null,
        ...(spec.setup !== undefined ? { setup: spec.setup } : {}),
        ...(spec.setupKey ? { setupKey: spec.setupKey } : {}),
        guidance: spec.guidance ?? '',
        models,
        limits: { ...DEFAULT_LIMITS, ...spec.limits },
        modelCalls: spec.modelCalls ?? 'activity',
        ...(spec.mergePolicy === 'tests-pass' ? { mergePolicy: spec.mergePolicy } : {}),
        startedAt,
        promptsHash: await promptsHash(),
      };
    },

    /**
     * Host affinity: the queue of the worker process that picked this up from the shared queue. Planners start each
     * agent workflow on the queue this returns, so agents spread over the hosts with free capacity and then stay there.
     */
    async hostQueue(): Promise<string> {
      return deps.hostTaskQueue;
    },
  };
}
