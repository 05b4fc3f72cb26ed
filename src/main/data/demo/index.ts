/** The built-in demo task: see README.md. */
export {
  DEMO_DEFAULTS,
  DEMO_SPLITS,
  FAMILY_WEIGHTS,
  generateDemoTask,
  type DemoOptions,
  type DemoPrompt,
  type DemoSplit,
  type DemoTask,
} from './generate';
export {
  DEMO_WEIGHTS,
  judgeAnswer,
  judgeHelpfulness,
  judgeSafety,
  scoreDemo,
  type DemoScore,
  type DemoWeights,
  type Verdict,
} from './score';
export { DEMO_FAMILIES, familyRequests, hhPrompt, parseRequest, type DemoFamily, type Task } from './tasks';
export { PRIMARY_FLAW, RESPONSE_KINDS, flawsFor, type FlawKind, type ResponseKind } from './responses';
export { demoSourceName, storeDemoTask } from './storeDemo';
