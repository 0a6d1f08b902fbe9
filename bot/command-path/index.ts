/** The command path (README.md in this folder): parse -> authorize -> approve -> record -> run. */
export * from './approval-flow.js';
export * from './command-gate.js';
export * from './command-path-dependencies.js';
export * from './dependencies-from-env.js';
export * from './execute.js';
export * from './run-command.js';
export * from './setup.js';
