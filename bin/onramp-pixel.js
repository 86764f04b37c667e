#!/usr/bin/env node
// Reports one signup to the OnRamp collector at $ONRAMP_BASE_URL, with the
// output and exit codes of the original integration script.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { init, createSaasTracking } from '../dist/index.js';

const USAGE = 'usage: ' + basename(process.argv[1] ?? 'onramp-pixel') + ' partner-key service-name customer-id purchased-at';

async function main(argv) {
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
