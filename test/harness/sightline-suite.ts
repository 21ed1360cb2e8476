import { afterAll, beforeAll, expect } from 'vitest';
import { ApiClient } from './api-client.js';
import {
  e2eShape,
  embeddedDeployment,
  startScaleOutDeployment,
  type SightlineDeployment,
} from './scale-out.js';
import { startSightlineProcess, type StartOptions } from './sightline.js';

export interface SightlineSuite {
  readonly server: SightlineDeployment;
  readonly api: ApiClient;
}

/**
 * One Sightline for the tests of a describe block: started before them, stopped after (every
 * process must exit 0) and its data removed. One embedded `sightline start`, or
 * in the vitest project `scale-out` a gateway, a processor and an API process on Kafka,
 * PostgreSQL and ClickHouse (scale-out.ts). Call it in the describe block; read `server` and
 * `api` in the tests.
 */
export function sightlineForSuite(options: StartOptions = {}): SightlineSuite {
  let server: SightlineDeployment | undefined;
  let api: ApiClient | undefined;
  beforeAll(async () => {
    server =
      e2eShape() === 'scale-out'
        ? await startScaleOutDeployment(options)
        : embeddedDeployment(await startSightlineProcess(options));
    api = new ApiClient(server.apiUrl, server.key);
  }, 180_000);
  afterAll(async () => {
    if (server === undefined) return;
    expect(await server.stop()).toBe(0);
    server.cleanup();
  }, 60_000);
  const started = <T>(value: T | undefined): T => {
    if (value === undefined)
      throw new Error('sightline is not started: call sightlineForSuite() in a describe block');
    return value;
  };
  return {
    get server() {
      return started(server);
    },
    get api() {
      return started(api);
    },
  };
}
