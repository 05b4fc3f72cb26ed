/** Evaluation figures for decoded responses: see metrics.ts. */
export {
  METRIC_NAMES,
  aggregate,
  aggregateMetrics,
  distinctN,
  formatSpread,
  lengthInWords,
  mean,
  sampleSd,
  summarizeResponses,
  whitespaceTokens,
  type MetricName,
  type ResponseMetrics,
  type ScoredResponse,
  type Spread,
} from './metrics';
