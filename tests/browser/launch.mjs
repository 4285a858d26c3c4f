// What every browser driver here needs: Debian's Chromium trusting exactly the local server's certificate
// (pinned by its public key, so nothing else is trusted), one JSON line per step on stdout, and a watchdog
// that reports and exits if the scenario outlives --timeout-ms.
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const report = (step, fields = {}) => process.stdout.write(JSON.stringify({ step, ...fields }) + '\n');

/** Playwright launches with a fresh temporary profile (its own --user-data-dir) and --headless. */
export async function launchChromium(args) {
  const leafPem = readFileSync(args['server-cert'], 'utf8').split(/(?<=-----END CERTIFICATE-----)/)[0];
  const spki = createHash('sha256')
    .update(new X509Certificate(leafPem).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');
  return chromium.launch({
    executablePath: args.chromium,
    headless: true,
    chromiumSandbox: false,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--ignore-certificate-errors-spki-list=${spki}`,
    ],
  });
}

/** Report 'failed' and exit 3 after --timeout-ms; clear the returned timer when the scenario ends. */
export function watchdog(args) {
  return setTimeout(() => {
    report('failed', { error: `timed out after ${args['timeout-ms']} ms` });
    process.exit(3);
  }, Number(args['timeout-ms']));
}
