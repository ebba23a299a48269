// Every workflow type the longrun worker registers. `autonomousRun` is the public entry point.
export { autonomousRun } from './run';
export { planner } from './planner';
export { task } from './task';
