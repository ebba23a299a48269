export * from './types';
export { startSimulator, type Simulator, type SimulatorOptions, type SimRecord } from './server';
export {
  createResponder,
  loadScenario,
  parseScenario,
  resolveScenario,
  scenarioSchema,
  type Responder,
} from './scenario';
export { estimateTokens } from './tokens';
