import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { ChatMessage, Receipt, ScopeSpec, TaskSpec, TranscriptRef, Usage } from '../core/types';
import { compactorBriefing, judgeBriefing, plannerBriefing, workerBriefing, type Briefing } from '../prompts/render';
import { loadPrompt } from '../prompts/load';
import type { ArtifactStore } from '../store/artifacts';
import type { PlannerResult, ResolvedRun, RunContext } from '../workflows/definitions';

const run = promisify(execFile);

export type StartTranscriptRequest =
  | { transcriptId: string; kind: 'worker'; ctx: RunContext; workspacePath: string; task: TaskSpec; guidance: string[] }
  | {
      transcriptId: string;
      kind: 'planner' | 'subplanner';
      ctx: RunContext;
      workspacePath: string;
      scope: ScopeSpec | null;
      depth: number;
      guidance: string[];
      maxTasks: number;
      canDelegate: boolean;
    }
  | {
      transcriptId: string;
      kind: 'judge';
      run: ResolvedRun;
      cycle: number;
      scratchpad: string;
      plan: PlannerResult | null;
      plannerError: string | null;
      receipt: Receipt | null;
      diffStat: string;
      usage: Usage;
      stopRequested: boolean;
    };

const REPO_INSTRUCTIONS = ['AGENTS.md', 'CLAUDE.md'];
const MAX_INSTRUCTIONS = 20_000;
/** Characters of conversation handed to the compactor; the middle is cut beyond this. */
const MAX_COMPACT_INPUT = 400_000;

const tokensOf = (messages: ChatMessage[]) => Math.ceil(messages.reduce((n, m) => n + m.content.length, 0) / 4);

/**
 * Transcript activities: they build and edit conversations in the artifact store. The workflow only ever
 * holds { id, length }.
 */
export function createTranscriptActivities(deps: { store: ArtifactStore; promptsDir?: string }) {
  const { store } = deps;

  async function startTranscript(req: StartTranscriptRequest): Promise<TranscriptRef & { tokens: number }> {
    const messages = await firstMessages(req, deps.promptsDir);
    const ref = await store.append(req.transcriptId, 0, messages);
    return { ...ref, tokens: tokensOf(messages) };
  }

  async function appendMessages(req: {
    transcriptId: string;
    from: number;
    messages: ChatMessage[];
  }): Promise<TranscriptRef> {
    return store.append(req.transcriptId, req.from, req.messages);
  }

  /** Writes the compactor's conversation: its instructions and the agent's conversation so far (without the task). */
  async function prepareCompaction(req: { source: TranscriptRef; targetId: string }): Promise<TranscriptRef> {
    const messages = await store.read(req.source);
    let text = messages.slice(2).map(render).join('\n\n');
    if (text.length > MAX_COMPACT_INPUT) {
      const half = MAX_COMPACT_INPUT / 2;
      text = `${text.slice(0, half)}\n\n[... ${text.length - MAX_COMPACT_INPUT} characters cut ...]\n\n${text.slice(-half)}`;
    }
    return store.append(req.targetId, 0, [
      { role: 'system', content: await loadPrompt('compactor', deps.promptsDir) },
      { role: 'user', content: compactorBriefing(text) },
    ]);
  }

  /** The new conversation: system prompt and task verbatim (never dropped), then the summary. */
  async function applyCompaction(req: {
    source: TranscriptRef;
    compactor: TranscriptRef;
    newId: string;
  }): Promise<{ transcript: TranscriptRef; tokens: number }> {
    const [system, task] = [await store.readEntry(req.source.id, 0), await store.readEntry(req.source.id, 1)];
    const reply = await store.readEntry(req.compactor.id, req.compactor.length - 1);
    const summary =
      reply.role === 'assistant' && reply.content.trim() ? reply.content : '(the compactor returned no summary)';
    const messages: ChatMessage[] = [
      system,
      {
        role: 'user',
        content: `${task.content}\n\n## Your progress so far\nYour earlier conversation was compacted to save context. Summary:\n\n${summary}\n\nContinue from here.`,
      },
    ];
    const transcript = await store.append(req.newId, 0, messages);
    return { transcript, tokens: tokensOf(messages) };
  }

  return { startTranscript, appendMessages, prepareCompaction, applyCompaction };
}

async function firstMessages(req: StartTranscriptRequest, promptsDir?: string): Promise<ChatMessage[]> {
  if (req.kind === 'judge') {
    const plan = req.plan;
    const user = judgeBriefing({
      goal: req.run.goal,
      cycle: req.cycle,
      limits: req.run.limits,
      scratchpad: req.scratchpad,
      handoffs: plan?.handoffs ?? [],
      counts: { merged: plan?.merged ?? 0, failed: plan?.failed ?? 0, abandoned: plan?.abandoned ?? 0 },
      notAttempted: plan?.notAttempted ?? [],
      plannerError: req.plannerError,
      receipt: req.receipt,
      testCommand: req.run.testCommand,
      diffStat: req.diffStat,
      usage: req.usage,
      stopRequested: req.stopRequested,
    });
    return [
      { role: 'system', content: await loadPrompt('judge', promptsDir) },
      { role: 'user', content: user },
    ];
  }
  const { ctx } = req;
  const briefing: Briefing = {
    goal: ctx.run.goal,
    cycle: ctx.cycle,
    scratchpad: ctx.scratchpad,
    nextFocus: ctx.nextFocus,
    guidance: req.guidance,
    repoInstructions: await repoInstructions(req.workspacePath),
    testCommand: ctx.run.testCommand,
  };
  if (req.kind === 'worker') {
    return [
      { role: 'system', content: await loadPrompt('worker', promptsDir) },
      { role: 'user', content: workerBriefing(briefing, req.task) },
    ];
  }
  const user = plannerBriefing(briefing, {
    scope: req.scope,
    depth: req.depth,
    maxTasks: req.maxTasks,
    canDelegate: req.canDelegate,
    fileList: await fileList(req.workspacePath),
  });
  return [
    { role: 'system', content: await loadPrompt(req.kind, promptsDir) },
    { role: 'user', content: user },
  ];
}

async function repoInstructions(workspace: string): Promise<string | null> {
  const parts: string[] = [];
  for (const name of REPO_INSTRUCTIONS) {
    const text = await fs.readFile(path.join(workspace, name), 'utf8').catch(() => null);
    if (text?.trim()) parts.push(`### ${name}\n${text.slice(0, MAX_INSTRUCTIONS)}`);
  }
  return parts.length ? parts.join('\n\n') : null;
}

async function fileList(workspace: string, max = 300): Promise<string> {
  try {
    const { stdout } = await run('git', ['ls-files'], { cwd: workspace, maxBuffer: 64 * 1024 * 1024 });
    const files = stdout.split('\n').filter(Boolean);
    const shown = files.slice(0, max).join('\n');
    return files.length > max ? `${shown}\n… and ${files.length - max} more files` : shown;
  } catch {
    return '(could not list files)';
  }
}

function render(m: ChatMessage): string {
  if (m.role === 'assistant') {
    const calls = (m.toolCalls ?? []).map((c) => `→ ${c.name}(${JSON.stringify(c.arguments ?? {}).slice(0, 2_000)})`);
    return `[assistant]\n${[m.content, ...calls].filter(Boolean).join('\n')}`;
  }
  if (m.role === 'tool') return `[tool ${m.name}${m.isError ? ' error' : ''}]\n${m.content.slice(0, 8_000)}`;
  return `[${m.role}]\n${m.content}`;
}
