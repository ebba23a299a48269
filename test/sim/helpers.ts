import type { ChatMessage, ResolvedModel, ToolSpec } from '../../src/core/types';
import { priceFor } from '../../src/models/pricing';

export const READ_FILE: ToolSpec = {
  name: 'read_file',
  description: 'Read a file from the workspace.',
  parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
};

export const FINISH: ToolSpec = {
  name: 'finish',
  description: 'Report the task as done.',
  parameters: { type: 'object', properties: { summary: { type: 'string' } }, required: ['summary'] },
};

export function model(provider: ResolvedModel['provider'], name: string): ResolvedModel {
  return { provider, model: name, maxTokens: 1024, contextWindow: 200_000, price: priceFor(provider, name, {}) };
}

export function conversation(task = 'Add a README'): ChatMessage[] {
  return [
    { role: 'system', content: 'You are a longrun worker. Finish the task with the tools you have.' },
    { role: 'user', content: `Task: ${task}\nAcceptance: the file exists.` },
  ];
}
