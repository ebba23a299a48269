import { loadConfig, paths, type LongrunConfig } from '../config';
import type { ModelCallInput, ModelCallResult, ToolSpec } from '../core/types';
import { ArtifactStore } from '../store/artifacts';
import { workerRedactor } from '../tools/secrets';
import { withHeartbeats } from './heartbeat';
import { createHostActivities } from './hosts';
import { createModelActivities } from './model';
import { createRunActivities } from './run';
import { createTidyActivities } from './tidy';
import { createToolActivities } from './tools';
import { toolsetSpecs, type Toolset } from './toolsets';
import { createTranscriptActivities } from './transcripts';
import { createWorkspaceActivities } from './workspace';

/** A model call as workflows make it: tools by toolset name, so their schemas stay out of history. */
export type ModelRequest = Omit<ModelCallInput, 'tools'> & { tools?: ToolSpec[]; toolset: Toolset };

export interface ActivityDeps {
  config?: LongrunConfig;
  /** This worker process's host-affine task queue. */
  hostTaskQueue: string;
  env?: NodeJS.ProcessEnv;
  promptsDir?: string;
}

/** Every activity the longrun worker registers, built once per process (one merge queue and one limiter per process). */
export function createActivities(deps: ActivityDeps) {
  const env = deps.env ?? process.env;
  const config = deps.config ?? loadConfig(env);
  // The worker's secrets, read once: replaced by a marker in everything stored or sent to a model (defence in depth).
  const redact = workerRedactor(env);
  const store = new ArtifactStore(paths.artifacts(config.home), redact);
  const model = createModelActivities({ config, store, env, redact });
  return withHeartbeats({
    ...createRunActivities({ env, hostTaskQueue: deps.hostTaskQueue }),
    ...createHostActivities(),
    ...createTranscriptActivities({ store, promptsDir: deps.promptsDir }),
    ...createWorkspaceActivities({ config, env, redact, store }),
    ...createTidyActivities({ config, store }),
    ...createToolActivities({ config, store, env, redact }),
    async callModel(req: ModelRequest): Promise<ModelCallResult> {
      const { toolset, ...rest } = req;
      return model.callModel({ ...rest, tools: [...toolsetSpecs(toolset), ...(req.tools ?? [])] });
    },
  });
}

export type LongrunActivities = ReturnType<typeof createActivities>;
