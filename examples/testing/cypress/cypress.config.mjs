// Cypress (checked for syntax by our tests, not run): the collector and your
// app start in Cypress's Node process; the specs reach the collector through
// tasks.
import { defineConfig } from 'cypress';
import { startCollector } from 'onramp-pixel/testing';
import { startApp } from '../app.mjs';

export default defineConfig({
  e2e: {
    specPattern: 'e2e/**/*.cy.js',
    supportFile: false,
    async setupNodeEvents(on, config) {
      const collector = await startCollector();
      const app = await startApp({ onrampBaseUrl: collector.baseUrl });
      on('task', {
        'onramp:reset': () => (collector.reset(), null),
        'onramp:waitForTracking': (match) => collector.waitForTracking(match),
        'onramp:settled': () => collector.settled().then(() => null),
        'onramp:trackings': () => collector.trackings(),
        'onramp:attempts': () => collector.attempts(),
      });
      return { ...config, baseUrl: app.url };
    },
  },
});
