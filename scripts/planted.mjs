// Plants one bug at a time in a scratch copy of the core and runs the
// simulation's schedules against each: the share of schedules that break a
// promise is how well the simulation aims at the rule the bug breaks.
// `docs/delivery.md` shows the table it prints (`node scripts/planted.mjs`;
// `--schedules N`, 100,000 by default; `--only NAME` for one bug; `--rev R`
// for the core of a git revision instead of the working tree's). Each
// plant names the exact code it replaces: when the code moves, the plant
// fails loudly instead of measuring nothing. Not part of `npm test` (about
// a minute a bug).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const schedules = Number(arg('--schedules', '100000'));
const only = arg('--only', null);
const rev = arg('--rev', null);

/** Each bug: its name, what it breaks, and the code it replaces. */
export const PLANTS = [
  {
    name: 'reload-guard',
    what: 'the reload guard dropped (a call for a tracking this browser delivered sends it again)',
    file: 'src/steps.rs',
    from: '        Some(r) if r.was_accepted(now) => Admission::AlreadySent,\n',
    to: '',
  },
  {
    name: 'lease-free',
    what: "another tab's lease taken as free (an attempt that finds it sends anyway)",
    file: 'src/engine.rs',
    from: 'Lock::Taken(until) => Turn {\n                taken_until: Some(until),\n                ..Turn::UNLOCKED\n            },',
    to: 'Lock::Taken(_) => Turn::UNLOCKED,',
  },
  {
    name: 'retry-after',
    what: "the collector's Retry-After ignored (the backoff alone sets the wait)",
    file: 'src/retry.rs',
    from: 'retry_after.unwrap_or_else(|| backoff_ms(failures, random))',
    to: 'retry_after.map_or_else(|| backoff_ms(failures, random), |_| backoff_ms(failures, random))',
  },
  {
    name: 'leaving-failed',
    what: 'a page being left sends trackings whose attempts failed',
    file: 'src/engine.rs',
    from: 'record.failures == 0 && queued.iter()',
    to: 'queued.iter()',
  },
  {
    name: 'claim-not-due',
    what: "a due flush's attempt claims a tracking another tab's failed attempt just set a wait for",
    file: 'src/steps.rs',
    from: '    if !record.is_due(now, force) {',
    to: '    if !record.is_due(now, true) {',
  },
  {
    name: 'lost-wakeup',
    what: "a flush's attempts all done, but the flush returns Pending once without waking its task",
    file: 'src/engine.rs',
    from: '        if pending {\n            Poll::Pending\n        } else {\n            Poll::Ready(delivered)\n        }',
    to: '        if pending || !LOST.with(|lost| lost.replace(true)) {\n            Poll::Pending\n        } else {\n            LOST.with(|lost| lost.set(false));\n            Poll::Ready(delivered)\n        }',
    append: 'thread_local! { static LOST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) }; }\n',
  },
  {
    name: 'flush-unlocked',
    what: "a flush's attempts sent without the tracking's lock",
    file: 'src/engine.rs',
    from: 'let turn = engine.turn(lock, &id).await;',
    to: 'drop(lock); let turn = Turn::UNLOCKED;',
  },
  {
    name: 'accepted-unmarked',
    what: 'an accepted tracking not written to the accepted set',
    file: 'src/engine.rs',
    from: '            self.mark_accepted(id).await;\n',
    to: '',
  },
  {
    name: 'ttl-hour',
    what: "the queue's TTL cut to an hour",
    file: 'src/queue.rs',
    from: 'pub const TTL_MS: i64 = 7 * 24 * 3_600_000;',
    to: 'pub const TTL_MS: i64 = 3_600_000;',
  },
];

/** Runs the simulation in `dir`; the number of schedules that broke a promise. */
function broken(dir) {
  const env = {
    ...process.env,
    ONRAMP_SIM_SCHEDULES: String(schedules),
    CARGO_TARGET_DIR: join(tmpdir(), 'onramp-planted-target'),
  };
  let out;
  try {
    out = execFileSync(
      'cargo',
      ['test', '--release', '--offline', '-q', '--test', 'simulation', 'every_schedule', '--', '--nocapture'],
      { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 },
    );
  } catch (err) {
    out = `${err.stdout}${err.stderr}`;
    if (/error(\[E\d+\])?:/.test(err.stderr) && !/broke a promise/.test(out)) {
      throw new Error(`the planted core does not build:\n${err.stderr.slice(-3000)}`);
    }
  }
  const m = /(\d+) schedules broke a promise/.exec(out);
  return m ? Number(m[1]) : 0;
}

const scratch = mkdtempSync(join(tmpdir(), 'onramp-planted-'));
const core = join(scratch, 'core');
const rows = [];
try {
  for (const plant of PLANTS.filter((p) => !only || p.name === only)) {
    rmSync(core, { recursive: true, force: true });
    if (rev) {
      execFileSync('sh', ['-c', `git -C "${root}" archive ${rev} core Cargo.lock | tar -x -C "${scratch}"`]);
      cpSync(join(scratch, 'Cargo.lock'), join(core, 'Cargo.lock'));
    } else {
      cpSync(join(root, 'core'), core, { recursive: true, filter: (src) => !src.includes('/target') });
      cpSync(join(root, 'Cargo.lock'), join(core, 'Cargo.lock'));
    }
    writeFileSync(join(core, 'Cargo.toml'), `${readFileSync(join(core, 'Cargo.toml'), 'utf8')}\n[workspace]\n`);
    const file = join(core, plant.file);
    const text = readFileSync(file, 'utf8');
    if (!text.includes(plant.from)) throw new Error(`${plant.name}: ${plant.file} no longer has the code it replaces`);
    writeFileSync(file, text.replace(plant.from, plant.to) + (plant.append ?? ''));
    const n = broken(core);
    const share = ((100 * n) / schedules).toFixed(2);
    rows.push(`| ${plant.what} | ${n.toLocaleString('en-US')} | ${share} % |`);
    console.error(`${plant.name}: ${n} of ${schedules}`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`| bug planted | schedules that break a promise (of ${schedules.toLocaleString('en-US')}) | share |`);
console.log('|---|---|---|');
for (const row of rows) console.log(row);
