// A real browser for tests: Debian's chromium driven by playwright-core, headless, with what it
// needs to run in a container. `hostMap` sends made-up names (attacker.example) to 127.0.0.1, so a
// page can come from another web origin than the server it talks to.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(options: { hostMap?: string[] } = {}): Promise<Browser> {
  assert.ok(existsSync(CHROMIUM), `chromium is needed at ${CHROMIUM} (apt-get install chromium; .ci/run does it)`);
  const rules = (options.hostMap ?? []).map((h) => `MAP ${h} 127.0.0.1`).join(', ');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
      ...(rules ? [`--host-resolver-rules=${rules}`] : []),
    ],
  });
}
