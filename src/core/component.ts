/**
 * The lifecycle every receiver, processor, bus, store and collector shares (modelled on the
 * OpenTelemetry Collector's component.go): `shutdown` is idempotent and safe before `start`.
 */
export interface Component {
  start(): Promise<void>;
  shutdown(): Promise<void>;
}
