import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: '.',
  // A browser of your own (CHROMIUM_PATH), or the one `npx playwright install` gets.
  use: { launchOptions: { executablePath: process.env.CHROMIUM_PATH } },
});
