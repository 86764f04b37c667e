// WebdriverIO (checked for syntax by our tests, not run): the collector and
// your app start before the workers, which reach the collector over its
// HTTP API (the sandbox's: GET /api/SaasTrackings, POST /_sandbox/reset...).
import { startCollector } from 'onramp-pixel/testing';
import { startApp } from '../app.mjs';

let collector, app;

export const config = {
  runner: 'local',
  specs: ['./signup.e2e.mjs'],
  framework: 'mocha',
  capabilities: [{ browserName: 'chrome', 'goog:chromeOptions': { args: ['--headless'] } }],
  async onPrepare() {
    collector = await startCollector();
    app = await startApp({ onrampBaseUrl: collector.baseUrl });
    process.env.ONRAMP_COLLECTOR = collector.baseUrl;
    process.env.APP_URL = app.url;
  },
  async onComplete() {
    await app?.close();
    await collector?.close();
  },
};
