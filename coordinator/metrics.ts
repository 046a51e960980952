import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/**
 * What the coordinator counts, in the Prometheus format at GET /metrics. One registry per
 * server, so several servers in one process (tests) keep their own numbers.
 */
export class CoordinatorMetrics {
  readonly registry = new Registry();
  readonly leases = new Counter({ name: 'surge_leases_total', help: 'Leases granted, by kernel', labelNames: ['kernel'] as const, registers: [this.registry] });
  readonly noWork = new Counter({ name: 'surge_lease_requests_without_work_total', help: 'Lease requests answered with no work', registers: [this.registry] });
  readonly results = new Counter({
    name: 'surge_results_total',
    help: 'Results judged, by outcome (validated, invalid, duplicate) and kernel',
    labelNames: ['outcome', 'kernel'] as const,
    registers: [this.registry],
  });
  readonly validationSeconds = new Histogram({
    name: 'surge_validation_seconds',
    help: 'Time to validate one result, by kernel',
    labelNames: ['kernel'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly requestSeconds = new Histogram({
    name: 'surge_http_request_duration_seconds',
    help: 'HTTP request latency, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'surge_' });
  }
}
