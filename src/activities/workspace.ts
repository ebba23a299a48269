import { paths, type LongrunConfig } from '../config';
import type { Redact } from '../core/redact';
import type { HubInfo, IntegrationResult, Receipt, RefIncident, WorkspaceInfo } from '../core/types';
import { ArtifactStore } from '../store/artifacts';
import * as environment from '../workspace/environment';
import * as hub from '../workspace/hub';
import { integrateTask } from '../workspace/integrate';
import { claimKnownRed, writeKnownRed, type KnownRed } from '../workspace/known-red';
import { Integrator } from '../workspace/integrator';
import { restoreTranscript, saveTranscript } from '../workspace/saved-transcripts';
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
  /** The worker's artifact store (transcripts saved at checkpoints are read from and restored into it). */
  store?: ArtifactStore;
}) {
  const home = deps.config.home;
  // LONGRUN_HUB_URL: each run's hub is this host's mirror of the run's refs there (workspace/remote.ts).
  const hubUrl = deps.config.hubUrl;
  const redact: Redact = deps.redact ?? ((value) => value);
  const integrator = deps.integrator ?? new Integrator();
  const store = deps.store ?? new ArtifactStore(paths.artifacts(home), redact);

  return {
    async prepareHub(input: { runId: string; repo: string; base?: string }): Promise<HubInfo> {
      return hub.prepareHub({ home, hubUrl, ...input });
    },

    /** The run's first phase after the hub: its dependencies for the base commit (environment.ts). */
    async prepareEnvironment(input: { runId: string; commit: string; setup?: string; setupKey?: string[] }): Promise<{
      command: string | null;
      source: string | null;
      key: string | null;
      log: string | null;
      durationMs: number;
    }> {
      const hubPath = await hub.requireHub(home, input.runId, hubUrl);
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
      const hubPath = await hub.requireHub(home, input.runId, hubUrl);
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
      return worktree.openWorkspace({ home, hubUrl, env: deps.env, redact, ...input });
    },

    /**
     * Commits and saves the task's work where every host reads it; with `transcript`, also entries [0, length) of
     * that transcript (saved-transcripts.ts), so the agent can resume on another host (restoreTranscript).
     */
    async checkpointWorkspace(input: {
      runId: string;
      taskId: string;
      message: string;
      transcript?: { id: string; length: number };
    }): Promise<{ commit: string | null }> {
      const { transcript, ...rest } = input;
      const result = await worktree.checkpointWorkspace({ home, hubUrl, ...rest });
      if (transcript) await saveTranscript(hub.hubPathOf(home, input.runId), store, input, transcript);
      return result;
    },

    /**
     * The task's transcript as saved at its last checkpoint (whatever its id: compaction renames it), written into
     * this host's artifact store (entries it already has are left alone); null when none was saved. Runs on the host
     * that will use the transcript.
     */
    async restoreTranscript(input: { runId: string; taskId: string }): Promise<{ id: string; length: number } | null> {
      const hubPath = await hub.requireHub(home, input.runId, hubUrl);
      return restoreTranscript(hubPath, store, input);
    },

    async integrateTask(input: {
      runId: string;
      taskId: string;
      title: string;
      message?: string;
      testFirst?: { command: string; timeoutMs: number };
    }): Promise<IntegrationResult> {
      const testFirst = input.testFirst && { ...input.testFirst, env: deps.env, redact };
      return redact(await integrateTask(integrator, { home, hubUrl, ...input, testFirst }));
    },

    async closeWorkspace(input: {
      runId: string;
      taskId: string;
      keepBranch?: boolean;
    }): Promise<{ diskBytes: number }> {
      return worktree.closeWorkspace({ home, hubUrl, ...input });
    },

    async verifyTarget(input: {
      runId: string;
      testCommand: string;
      timeoutMs?: number;
      commit?: string;
    }): Promise<Receipt> {
      return redact(await verifyTarget({ home, hubUrl, env: deps.env, redact, ...input }));
    },

    async publishTarget(input: {
      runId: string;
      repo: string;
      /** 'green': `commit` as longrun/<runId>; 'tip': the tip as longrun/<runId>-tip; absent: the tip as longrun/<runId>. */
      as?: 'green' | 'tip';
      commit?: string;
    }): Promise<{ branch: string; commit: string; incidents: RefIncident[] }> {
      return hub.publishTarget(home, input.runId, input.repo, { as: input.as, commit: input.commit, hubUrl });
    },

    async diffStat(input: { runId: string; from: string; to?: string }): Promise<string> {
      return hub.diffStat(home, input.runId, input.from, input.to, hubUrl);
    },

    /** The target's known break for agents' test runs (workspace/known-red.ts); null clears it. */
    async recordKnownRed(input: { runId: string; red: KnownRed | null }): Promise<void> {
      await writeKnownRed(await hub.requireHub(home, input.runId, hubUrl), input.red);
    },

    /** The planner names the fixer of break `id` before it starts; false when that break is fixed meanwhile. */
    async claimKnownRed(input: { runId: string; id: string; fixer: NonNullable<KnownRed['fixer']> }): Promise<boolean> {
      return claimKnownRed(await hub.requireHub(home, input.runId, hubUrl), input.id, input.fixer);
    },

    async targetTip(input: { runId: string }): Promise<string> {
      return hub.targetTip(home, input.runId, hubUrl);
    },
  };
}

export type WorkspaceActivities = ReturnType<typeof createWorkspaceActivities>;
