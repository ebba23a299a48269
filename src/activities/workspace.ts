import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { paths, safeName, type LongrunConfig } from '../config';
import type { Redact } from '../core/redact';
import type { HubInfo, IntegrationResult, Receipt, RefIncident, WorkspaceInfo } from '../core/types';
import * as environment from '../workspace/environment';
import * as hub from '../workspace/hub';
import { integrateTask } from '../workspace/integrate';
import { claimKnownRed, writeKnownRed, type KnownRed } from '../workspace/known-red';
import { Integrator } from '../workspace/integrator';
import { verifyTarget } from '../workspace/verify';
import * as worktree from '../workspace/worktree';

export { inspectRepo } from '../workspace/hub';

/**
 * Workspace activities: hub, per-task workspaces (repositories borrowing the hub's objects), checkpoints, integration by compare-and-swap,
 * verification and publishing. They run on the worker process's host-affine task queue, because
 * a worktree lives on one disk. One Integrator per factory call = one merge queue per hub per
 * worker process; create the activities once per process.
 */
export function createWorkspaceActivities(deps: {
  config: LongrunConfig;
  integrator?: Integrator;
  /** The worker's environment: the sandbox settings and the test command's allow-list come from it. */
  env?: NodeJS.ProcessEnv;
  /** Replaces the worker's secrets in receipts and conflict excerpts (output and files of agent-written code). */
  redact?: Redact;
}) {
  const home = deps.config.home;
  const redact: Redact = deps.redact ?? ((value) => value);
  const integrator = deps.integrator ?? new Integrator();

  return {
    async prepareHub(input: { runId: string; repo: string; base?: string }): Promise<HubInfo> {
      return hub.prepareHub({ home, ...input });
    },

    /** The run's first phase after the hub: its dependencies for the base commit (environment.ts). */
    async prepareEnvironment(input: { runId: string; commit: string; setup?: string; setupKey?: string[] }): Promise<{
      command: string | null;
      source: string | null;
      key: string | null;
      log: string | null;
      durationMs: number;
    }> {
      const hubPath = await hub.requireHub(home, input.runId);
      const config = { setup: input.setup, setupKey: input.setupKey };
      return environment.prepareEnvironment({
        home,
        runId: input.runId,
        hubPath,
        commit: input.commit,
        env: deps.env,
        redact,
        config,
      });
    },

    /** prepare_environment: the task's workspace keyed again after its lockfiles changed (set up when new). */
    async prepareWorkspaceEnvironment(input: {
      runId: string;
      taskId: string;
    }): Promise<{ command: string | null; key: string | null; log: string | null }> {
      const hubPath = await hub.requireHub(home, input.runId);
      const checkout = paths.worktree(home, input.runId, input.taskId);
      const prepared = await environment.materializeEnvironment({
        home,
        runId: input.runId,
        hubPath,
        checkout,
        env: deps.env,
        redact,
      });
      return { command: prepared?.command ?? null, key: prepared?.key ?? null, log: prepared?.log ?? null };
    },

    async openWorkspace(input: { runId: string; taskId: string; readOnly?: boolean }): Promise<WorkspaceInfo> {
      return worktree.openWorkspace({ home, env: deps.env, redact, ...input });
    },

    /**
     * Commits the task's work to the hub; with `transcript`, also notes how much of that transcript the checkpoint
     * covers (restoreTranscript). Local mode only: the artifact store is on a filesystem every host shares.
     */
    async checkpointWorkspace(input: {
      runId: string;
      taskId: string;
      message: string;
      transcript?: { id: string; length: number };
    }): Promise<{ commit: string | null }> {
      const { transcript, ...rest } = input;
      const result = await worktree.checkpointWorkspace({ home, ...rest });
      if (transcript) {
        const file = savedTranscriptFile(home, transcript.id);
        await fs.mkdir(path.dirname(file), { recursive: true });
        await fs.writeFile(`${file}.tmp`, JSON.stringify(transcript));
        await fs.rename(`${file}.tmp`, file);
      }
      return result;
    },

    /** The transcript as of its last checkpoint, or null when no checkpoint saved it. */
    async restoreTranscript(input: {
      runId: string;
      transcriptId: string;
    }): Promise<{ id: string; length: number } | null> {
      const text = await fs.readFile(savedTranscriptFile(home, input.transcriptId), 'utf8').catch(() => null);
      if (!text) return null;
      const { length } = JSON.parse(text) as { length: number };
      return { id: input.transcriptId, length };
    },

    async integrateTask(input: {
      runId: string;
      taskId: string;
      title: string;
      message?: string;
      testFirst?: { command: string; timeoutMs: number };
    }): Promise<IntegrationResult> {
      const testFirst = input.testFirst && { ...input.testFirst, env: deps.env, redact };
      return redact(await integrateTask(integrator, { home, ...input, testFirst }));
    },

    async closeWorkspace(input: {
      runId: string;
      taskId: string;
      keepBranch?: boolean;
    }): Promise<{ diskBytes: number }> {
      return worktree.closeWorkspace({ home, ...input });
    },

    async verifyTarget(input: {
      runId: string;
      testCommand: string;
      timeoutMs?: number;
      commit?: string;
    }): Promise<Receipt> {
      return redact(await verifyTarget({ home, env: deps.env, redact, ...input }));
    },

    async publishTarget(input: {
      runId: string;
      repo: string;
      /** 'green': `commit` as longrun/<runId>; 'tip': the tip as longrun/<runId>-tip; absent: the tip as longrun/<runId>. */
      as?: 'green' | 'tip';
      commit?: string;
    }): Promise<{ branch: string; commit: string; incidents: RefIncident[] }> {
      return hub.publishTarget(home, input.runId, input.repo, { as: input.as, commit: input.commit });
    },

    async diffStat(input: { runId: string; from: string; to?: string }): Promise<string> {
      return hub.diffStat(home, input.runId, input.from, input.to);
    },

    /** The target's known break for agents' test runs (workspace/known-red.ts); null clears it. */
    async recordKnownRed(input: { runId: string; red: KnownRed | null }): Promise<void> {
      await writeKnownRed(await hub.requireHub(home, input.runId), input.red);
    },

    /** The planner names the fixer of break `id` before it starts; false when that break is fixed meanwhile. */
    async claimKnownRed(input: { runId: string; id: string; fixer: NonNullable<KnownRed['fixer']> }): Promise<boolean> {
      return claimKnownRed(await hub.requireHub(home, input.runId), input.id, input.fixer);
    },

    async targetTip(input: { runId: string }): Promise<string> {
      return hub.targetTip(home, input.runId);
    },
  };
}

export type WorkspaceActivities = ReturnType<typeof createWorkspaceActivities>;

/** Where a checkpoint notes the length of a transcript it covers (beside the transcript's entries). */
const savedTranscriptFile = (home: string, id: string) =>
  path.join(paths.artifacts(home), 'checkpoints', `${safeName(id)}.json`);
