// The sandbox's test-events page: what the sandbox received, live. Every
// value on it comes from pages the sandbox does not know, so it is written
// with textContent only, never parsed as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
const seen = new Set();
let first = true;

function cell(row, value, pre) {
  const td = row.insertCell();
  if (pre) {
    const block = document.createElement('pre');
    block.textContent = value;
    td.append(block);
  } else {
    td.textContent = value == null ? '—' : String(value);
  }
}

function fill(id, items, columns, key) {
  const body = $(id).tBodies[0];
  body.replaceChildren();
  for (const item of items) {
    const row = body.insertRow();
    for (const [get, pre] of columns) cell(row, get(item), pre);
    const k = key && key(item);
    if (k && !first && !seen.has(k)) row.className = 'fresh';
    if (k) seen.add(k);
  }
  const count = $('count-' + id);
  if (count) count.textContent = '(' + items.length + ')';
}

const body = (t) =>
  JSON.stringify({ partnerKey: t.partnerKey, serviceName: t.serviceName, customerId: t.customerId, purchasedAt: t.purchasedAt }, null, 1);

async function refresh() {
  const response = await fetch('/_sandbox/state', { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error('HTTP ' + response.status);
  const state = await response.json();
  fill('trackings', state.trackings, [[(t) => t.receivedAt], [body, true], [(t) => t.deliveries], [(t) => t.origin]], (t) => t.id + ':' + t.deliveries);
  fill('rejected', state.rejected, [
    [(r) => r.receivedAt],
    [(r) => r.status],
    [(r) => r.error.code + (r.error.field ? ' (' + r.error.field + ')' : '') + ': ' + r.error.message],
    [(r) => r.body, true],
    [(r) => r.origin],
  ], (r) => r.receivedAt + r.body);
  fill('attempts', state.attempts, [
    [(a) => a.at],
    [(a) => (a.customerId == null ? null : JSON.stringify(a.customerId))],
    [(a) => a.status],
    [(a) => a.outcome],
    [(a) => a.origin],
  ]);
  fill('faults', state.faults, [[(f) => f.status], [(f) => f.retryAfter], [(f) => f.delayMs + ' ms'], [(f) => (f.drop ? 'yes' : 'no')], [(f) => f.times]]);
  first = false;
}

// The demand chart: a row per service (and one for all of them when there
// are several), each a labelled bar per day. Each bar carries its date and
// count (its title, read by screen readers and shown on hover), and each
// row its total in words, so that nothing rests on colour.
const SVG = 'http://www.w3.org/2000/svg';
function svg(name, attributes) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

function demandRow(label, counts, days, max) {
  const row = document.createElement('div');
  row.className = 'demand-row';
  row.setAttribute('role', 'listitem');
  const total = counts.reduce((a, b) => a + b, 0);
  const name = document.createElement('span');
  name.className = 'demand-name';
  name.textContent = label;
  const width = 6;
  const height = 40;
  const chart = svg('svg', { viewBox: `0 0 ${counts.length * width} ${height}`, width: counts.length * width, height, role: 'img' });
  chart.setAttribute('aria-label', `${label}: ${total} in the last ${days.length} days`);
  counts.forEach((count, i) => {
    const tall = count ? Math.max(2, Math.round((count / max) * height)) : 0;
    const bar = svg('rect', { x: i * width, y: height - tall, width: width - 1, height: tall, class: 'demand-bar' });
    const title = svg('title', {});
    title.textContent = `${days[i]}: ${count}`;
    bar.append(title);
    chart.append(svg('rect', { x: i * width, y: height - 1, width: width - 1, height: 1, class: 'demand-base' }), bar);
  });
  const sum = document.createElement('span');
  sum.className = 'demand-sum';
  sum.textContent = `${total} (today ${counts[counts.length - 1]})`;
  row.append(name, chart, sum);
  return row;
}

function drawDemand(summary) {
  const rows = summary.services.map((s) => [s.serviceName + ' · ' + s.partnerKey, s.perDay]);
  if (rows.length > 1) rows.unshift(['all services', summary.perDay]);
  const max = Math.max(1, ...rows.flatMap(([, counts]) => counts));
  const place = $('demand');
  place.replaceChildren(...rows.map(([label, counts]) => demandRow(label, counts, summary.days, max)));
  if (!rows.length) place.textContent = 'No tracking in the last 30 days.';
  $('demand-total').textContent = `(${summary.total} from ${summary.days[0]} to ${summary.days[summary.days.length - 1]}` +
    (summary.outside ? `; ${summary.outside} dated outside them` : '') + ')';
}

async function refreshDemand() {
  const response = await fetch('/_sandbox/summary', { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error('HTTP ' + response.status);
  drawDemand(await response.json());
}

// One read at a time; a change that comes during one is read once it ends
// (dropping it would leave the page behind until the next change).
let pending = null;
let again = false;
function update() {
  if (pending) return void (again = true);
  pending = Promise.all([refresh(), refreshDemand()])
    .catch((error) => status('down', 'cannot read the sandbox: ' + error.message))
    .finally(() => {
      pending = null;
      if (again) (again = false), update();
    });
}

function status(kind, text) {
  $('status').className = 'status ' + kind;
  $('status').textContent = text;
}

function control(path, payload) {
  return fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) }).then(
    async (response) => {
      if (!response.ok) alert((await response.text()) || 'HTTP ' + response.status);
      update();
    },
  );
}

$('endpoint').textContent = location.origin + '/api/SaasTrackings';

$('reset').addEventListener('click', () => {
  if (confirm('Forget every stored tracking, rejected submission, attempt and fault?')) control('/_sandbox/reset', {});
});

$('fault').addEventListener('submit', (event) => {
  event.preventDefault();
  const kind = $('fault-kind').value;
  const fault = { times: Number($('fault-times').value) || 1, delayMs: Number($('fault-delay').value) || 0 };
  if (kind === 'drop') fault.drop = true;
  else fault.status = Number(kind);
  const retry = $('fault-retry').value.trim();
  if (retry) fault.retryAfter = /^\d+$/.test(retry) ? Number(retry) : retry;
  control('/_sandbox/faults', [fault]);
});

// Server-sent events say when something changed; the page then reads the
// state. EventSource reconnects by itself.
const events = new EventSource('/_sandbox/events');
events.addEventListener('change', update);
events.addEventListener('open', () => status('live', 'live'));
events.addEventListener('error', () => status('down', 'reconnecting…'));
update();
