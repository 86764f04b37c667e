// The size budget: fails when what a visitor downloads grows past
// size-budget.json, and prints the current figures every run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { measureShipped, root, stubLine, table } from './sizes.mjs';

const budget = JSON.parse(readFileSync(join(root, 'size-budget.json'), 'utf8'));
const { rows, total } = measureShipped();
console.log(table([...rows, total]));
const stub = Buffer.byteLength(stubLine());
const problems = [];
if (total.gzip > budget.totalGzipBytes) {
  problems.push(`total gzip ${total.gzip} B is over the budget of ${budget.totalGzipBytes} B`);
}
if (budget.ceiling && budget.totalGzipBytes > budget.ceiling) {
  problems.push(`the budget of ${budget.totalGzipBytes} B is over its ceiling of ${budget.ceiling} B`);
}
if (stub > budget.stubMaxBytes) problems.push(`the inline stub is ${stub} B, over ${budget.stubMaxBytes} B`);
console.log(`\nbudget: total gzip ${total.gzip} / ${budget.totalGzipBytes} B; inline stub ${stub} / ${budget.stubMaxBytes} B`);
if (problems.length) {
  for (const p of problems) console.error('size budget: ' + p);
  process.exit(1);
}
