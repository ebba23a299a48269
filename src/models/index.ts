/** The model layer: per-role settings, prices, provider clients, error classification, concurrency limits. */
export * from './defaults';
export * from './errors';
export * from './limiter';
export * from './pricing';
export * from './settings';
export {
  createProvider,
  ModelConfigError,
  parseToolArguments,
  type Completion,
  type CompletionRequest,
  type ModelProvider,
} from './providers';
