// The size budgets: fails when what a visitor downloads grows past
// size-budget.json (the confirmation page, and a page with the snippet and
// no call), and prints the current figures every run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { measureLanding, measureShipped, root, stubLine, table } from './sizes.mjs';

const budget = JSON.parse(readFileSync(join(root, 'size-budget.json'), 'utf8'));
const { rows, total } = measureShipped();
console.log('the confirmation page (the snippet, the preload line and a call):\n' + table([...rows, total]));
const landing = measureLanding();
console.log('\na page with the snippet and no call:\n' + table([...landing.rows, landing.total]));
const stub = Buffer.byteLength(stubLine());
const problems = [];
if (total.gzip > budget.totalGzipBytes) {
  problems.push(`the confirmation page's total gzip ${total.gzip} B is over the budget of ${budget.totalGzipBytes} B`);
}
if (landing.total.gzip > budget.landingGzipBytes) {
  problems.push(`a page without a call downloads ${landing.total.gzip} B gzip, over the budget of ${budget.landingGzipBytes} B`);
}
if (budget.landingGzipBytes > budget.landingCeiling) {
  problems.push(`the budget of a page without a call, ${budget.landingGzipBytes} B, is over its ceiling of ${budget.landingCeiling} B`);
}
if (stub > budget.stubMaxBytes) problems.push(`the inline stub is ${stub} B, over ${budget.stubMaxBytes} B`);
console.log(
  `\nbudget: the confirmation page ${total.gzip} / ${budget.totalGzipBytes} B; a page without a call ${landing.total.gzip} / ` +
    `${budget.landingGzipBytes} B (ceiling ${budget.landingCeiling} B); inline stub ${stub} / ${budget.stubMaxBytes} B`,
);
// Segment's standalone bundle is the confirmation page's ceiling (the
// attribution issue's limit); the budget is over it for now, which the
// docs say (docs/size-and-speed.md), so it is reported, not failed.
if (total.gzip > budget.ceiling) {
  console.log(`the confirmation page is ${total.gzip - budget.ceiling} B over its ceiling of ${budget.ceiling} B (Segment's standalone bundle)`);
}
if (problems.length) {
  for (const p of problems) console.error('size budget: ' + p);
  process.exit(1);
}
