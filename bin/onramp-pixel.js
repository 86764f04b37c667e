#!/usr/bin/env node
// Reports one signup to the OnRamp collector at $ONRAMP_BASE_URL, with the
// output and exit codes of the original integration script; or, as
// `onramp-pixel sandbox [--port N]`, runs the test kit's collector
// (onramp-pixel/testing) for test tools that are not Node.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { init, createSaasTracking } from '../dist/index.js';

const USAGE = 'usage: ' + basename(process.argv[1] ?? 'onramp-pixel') + ' partner-key service-name customer-id purchased-at';

/** `sandbox [--port N]`: the test collector until the process is stopped. */
async function sandbox(argv) {
  const at = argv.indexOf('--port');
  const port = at < 0 ? 0 : Number(argv[at + 1]);
  if (!Number.isInteger(port) || port < 0 || port > 65535 || argv.length !== (at < 0 ? 0 : 2)) {
    console.log('usage: onramp-pixel sandbox [--port N]');
    return 1;
  }
  const { startCollector } = await import('../dist/testing/index.js');
  const collector = await startCollector({ port });
  console.log(`onramp-pixel test collector listening on ${collector.baseUrl} (POST and GET /api/SaasTrackings)`);
  await new Promise((resolve) => ['SIGINT', 'SIGTERM'].forEach((signal) => process.once(signal, resolve)));
  await collector.close();
  return 0;
}

async function main(argv) {
  if (argv[0] === 'sandbox' && argv.length <= 3) return sandbox(argv.slice(1));
  const [partnerKey, serviceName, customerId, purchasedAt] = argv;
  if (!partnerKey || !serviceName || !customerId || !purchasedAt) {
    console.log('error - missing parameter.');
    console.log(USAGE);
    return 1;
  }
  const baseUrl = process.env.ONRAMP_BASE_URL;
  if (!baseUrl) {
    console.log('error - ONRAMP_BASE_URL is not set (the collector base URL, e.g. https://onramp.example.com).');
    return 1;
  }
  await init(await readFile(new URL('../dist/onramp_pixel_bg.wasm', import.meta.url)));
  try {
    const result = await createSaasTracking({ partnerKey, serviceName, customerId, purchasedAt, baseUrl, transport: 'fetch' });
    if (result.status === null) {
      // No answer at all (network error, timeout): a transport error, as in the original.
      console.error('error:', result.error ? result.error.code + ': ' + result.error.message : 'no answer');
      return 1;
    }
    console.log('statusCode:', result.status);
    console.log('body:', result.body);
    return 0;
  } catch (error) {
    if (error && error.code === 'rejected') {
      // The collector answered, and refused it: print its answer as the original did.
      console.log('statusCode:', error.status);
      console.log('body:', error.body);
      return 0;
    }
    if (error && error.field) {
      console.log('error - invalid parameter ' + error.field + ' (' + error.code + '): ' + error.message);
    } else {
      console.error('error:', error && error.code ? error.code + ': ' + error.message : error);
    }
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
