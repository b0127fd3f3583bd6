export { buildApp } from './app.js';
export type { AppOptions } from './app.js';
export { toProblem, PROBLEM_CONTENT_TYPE } from './problem.js';
export type { Problem } from './problem.js';
