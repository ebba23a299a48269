import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

export const PROMPT_NAMES = ['planner', 'subplanner', 'worker', 'judge', 'compactor'] as const;
export type PromptName = (typeof PROMPT_NAMES)[number];

/** prompts/ at the project root; `LONGRUN_PROMPTS_DIR` points a worker at a tuned set without a rebuild. */
export function promptsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LONGRUN_PROMPTS_DIR || path.resolve(__dirname, '..', '..', 'prompts');
}

export async function loadPrompt(name: PromptName, dir = promptsDir()): Promise<string> {
  try {
    return await fs.readFile(path.join(dir, `${name}.md`), 'utf8');
  } catch (err) {
    throw new Error(
      `prompt ${name}.md is missing from ${dir} (${(err as Error).message}); set LONGRUN_PROMPTS_DIR or restore prompts/`,
    );
  }
}

/** One hash over every prompt, recorded in the run's memo: which instructions a run was given. */
export async function promptsHash(dir = promptsDir()): Promise<string> {
  const hash = createHash('sha256');
  for (const name of PROMPT_NAMES)
    hash
      .update(name)
      .update('\0')
      .update(await loadPrompt(name, dir))
      .update('\0');
  return hash.digest('hex').slice(0, 16);
}
