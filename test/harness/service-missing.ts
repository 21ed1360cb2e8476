/**
 * Decides what a test file does when the external service it needs is not installed.
 *
 * In CI a missing service is a failure, never a silent skip: a skipped integration suite looks
 * green while testing nothing. Locally it returns `available` so the file can use
 * `describe.skipIf(!available)`, and warns the developer what to install.
 */
export function requireService(name: string, available: boolean, howToInstall: string): boolean {
  if (available) return true;
  if (process.env.CI === 'true') {
    throw new Error(
      `${name} is required in CI but is not installed on this machine; ${howToInstall}. ` +
        'Integration tests must not be skipped in CI.',
    );
  }
  console.warn(
    `[sightline tests] ${name} is not installed, skipping the tests that need it; ${howToInstall}.`,
  );
  return false;
}
