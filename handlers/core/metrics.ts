import { Metrics } from '@aws-lambda-powertools/metrics';
import { platformMetrics } from '../../contract';

/** Metrics as embedded-metric-format log lines (no PutMetricData calls), in the platform's namespace. */
export function createMetrics(): Metrics {
  return new Metrics({ namespace: platformMetrics.namespace, serviceName: 'serenya' });
}
