import { afterAll, beforeAll, expect } from 'vitest';
import { ApiClient } from './api-client.js';
import { startSightlineProcess, type SightlineProcess, type StartOptions } from './sightline.js';

export interface SightlineSuite {
  readonly server: SightlineProcess;
  readonly api: ApiClient;
}

/**
 * One `sightline start` for the tests of a describe block: started before them, stopped after
 * (it must exit 0) and its data dir removed. Call it in the describe block; read `server` and
 * `api` in the tests.
 */
export function sightlineForSuite(options: StartOptions = {}): SightlineSuite {
  let server: SightlineProcess | undefined;
  let api: ApiClient | undefined;
  beforeAll(async () => {
    server = await startSightlineProcess(options);
    api = new ApiClient(server.apiUrl, server.key);
  });
  afterAll(async () => {
    if (server === undefined) return;
    expect(await server.stop()).toBe(0);
    server.cleanup();
  });
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
