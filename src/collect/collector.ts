import type { Component } from '../core/component.js';

/** Where a collector stands, for /readyz and the self-metrics. */
export interface CollectorStatus {
  target: string;
  entityId: string;
  breaker: 'closed' | 'open' | 'half_open';
  lastSuccessAt: number | null;
  lastError: string | null;
}

/** A source that watches a system (a database server, a host) and publishes onto the bus. */
export interface Collector extends Component {
  readonly name: string;
  status(): CollectorStatus;
}
