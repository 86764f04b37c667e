// The documentation's code blocks (README.md, CONTRIBUTING.md, docs/), run:
// every fenced block is marked `example=NAME`
// (complete, and run by a test) or `fragment` (a part, a signature, a shell
// session), so a new block cannot go untested by accident. Each example runs
// as a user would run it, from the packed package installed into an app, with
// the placeholders filled in: the collector (https://onramp.example.com, or
// the checkout's http://127.0.0.1:8080) is the sandbox, the CDN
// (https://YOUR-CDN/onramp-pixel/, https://cdn.example.com) a server of the
// installed dist/ on another origin, the integrity values dist/integrity.json's,
// `cust-42` a fresh customer id. The Rollup and esbuild recipes run in
// bundlers.test.mjs, the tag manager's and Next.js's in install.test.mjs.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { DOCS, commandLines, readmeBlocks, readmeExample as example, root, uniqueId, wasmRequests } from './helpers.mjs';
import { appsForTests, linkDependency, openSite, run, serve, viteBuild } from './package.mjs';

const blocks = readmeBlocks();

const world = appsForTests();

/** The collector's placeholders as the sandbox, the partner key's as `pk`, and `cust-42` as `id`. */
const filled = (code, id, pk = 'pk_readme') =>
  code
    .replaceAll('https://onramp.example.com', world.sandbox.origin)
    .replaceAll('http://127.0.0.1:8080', world.sandbox.origin)
    .replaceAll('YOUR-PARTNER-KEY', pk)
    .replaceAll('cust-42', id);

test('every code block is an example that a test runs, or marked as a fragment', () => {
  const ran = ['snippet', 'snippet-preload', 'snippet-call', 'csp', 'npm', 'importmap', 'react', 'ts-errors', 'ts-global', 'cli'];
  const elsewhere = [
    ...['rollup', 'esbuild-esm'], // bundlers.test.mjs
    'referral-server', // attribution.test.mjs
    ...['gtm-signup-tag', 'nextjs-layout', 'nextjs-welcome', 'nextjs-npm'], // install.test.mjs
    ...['insert-postgres', 'insert-sqlite'], // tests/relay/: the application's INSERT in its transactions
    ...['testing-playwright', 'testing-playwright-config', 'testing-puppeteer'], // recipes.test.mjs
    ...['testing-cypress', 'testing-cypress-config', 'testing-wdio', 'testing-wdio-config'], // recipes.test.mjs: syntax only
  ];
  for (const b of blocks) {
    assert.ok(b.attrs.example || b.attrs.fragment, `${b.file}:${b.line}: mark the block example=NAME (and run it here) or fragment`);
  }
  const names = blocks.filter((b) => b.attrs.example).map((b) => b.attrs.example);
  assert.deepEqual([...names].sort(), [...ran, ...elsewhere].sort());
});

test('the README is a quick start: at most 250 lines, the snippet its first code block within its first 40 lines', async () => {
  const readme = (await readFile(join(root, 'README.md'), 'utf8')).split('\n');
  assert.ok(readme.length <= 250, `README.md has ${readme.length} lines`);
  const first = blocks.find((b) => b.file === 'README.md');
  assert.equal(first.attrs.example, 'snippet', 'the first code block is the snippet');
  assert.ok(first.line <= 40, `the snippet starts at line ${first.line}`);
  // Every page of docs/ is in its table of contents, and every relative link resolves.
  for (const file of DOCS.filter((f) => f.startsWith('docs/'))) assert.ok(readme.join('\n').includes(`](${file})`), `the README links ${file}`);
  for (const file of DOCS) {
    const text = await readFile(join(root, file), 'utf8');
    for (const [, target, anchor] of text.matchAll(/\]\((?!https?:)([^)#\s]*)(?:#([\w-]+))?\)/g)) {
      const path = target ? join(dirname(join(root, file)), target) : join(root, file);
      const linked = await readFile(path, 'utf8').catch(() => null);
      assert.ok(linked !== null || !target.endsWith('.md'), `${file}: ${target} exists`);
      if (anchor && linked) {
        const slugs = [...linked.matchAll(/^#{1,6} (.+)$/gm)].map(([, h]) => h.toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-'));
        assert.ok(slugs.includes(anchor), `${file}: #${anchor} is a heading of ${target || file}`);
      }
    }
  }
});

test('a block marked same-as=PATH is that file, as it is', async () => {
  const copies = blocks.filter((b) => b.attrs['same-as']);
  assert.ok(copies.length >= 1);
  for (const b of copies) assert.equal(b.code, await readFile(join(root, b.attrs['same-as']), 'utf8'), `${b.file}:${b.line}`);
});

/**
 * The installed package's dist/ served as a CDN on its own origin (CORS, as
 * the README asks of one), and the snippet with its URLs and integrity values.
 */
async function snippetSite(t, name) {
  const dir = await world.apps.install(name, null);
  const dist = join(dir, 'node_modules/onramp-pixel/dist');
  const cdn = await serve(dist, { cors: true });
  t.after(() => cdn.close());
  const integrity = JSON.parse(await readFile(join(dist, 'integrity.json'), 'utf8'));
  const snippet = filled(example('snippet'), '')
    .replaceAll('https://YOUR-CDN/onramp-pixel/', cdn.origin + '/')
    .replace(/(<script async[^>]*?integrity=")sha384-…"/s, `$1${integrity['loader.js']}"`);
  assert.doesNotMatch(snippet, /YOUR-|…/, 'every placeholder of the snippet is filled');
  return { dir, cdn, snippet };
}

/** Serves `html` as index.html from `dir` (with `headers`) and opens it; closed after the test. */
async function openHtml(t, dir, html, headers) {
  await writeFile(join(dir, 'index.html'), html);
  return openSite(t, world.browser, dir, { headers });
}

test("the snippet on a landing page, then the confirmation page's lines, pasted as they are: referred, delivered once", async (t) => {
  const { dir, snippet } = await snippetSite(t, 'readme-snippet');
  const id = uniqueId('readme-snippet');
  const head = (extra) => `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">\n${snippet}${extra}</head>`;
  await writeFile(join(dir, 'landing.html'), head('') + '<body><p>Acme CRM</p></body></html>');
  const html = head('\n' + example('snippet-preload').replaceAll('https://YOUR-CDN/onramp-pixel/', snippetCdn(snippet))) + `
<body>\n${filled(example('snippet-call'), id)}</body></html>`;
  const { page, problems } = await openHtml(t, dir, html);
  // Opened without a referral: data-require-referral skips it.
  await page.waitForTimeout(1_000);
  assert.deepEqual(await world.sandbox.find(id), [], 'not referred, not sent');
  // The marketplace's link, then the signup.
  await page.goto(new URL('/landing.html?onramp_ref=readme-1', page.url()).href);
  await page.waitForFunction(() => !location.search);
  assert.equal(await wasmRequests(page), 0, 'the landing page fetched no .wasm');
  await page.goto(new URL('/', page.url()).href);
  await world.sandbox.deliveredOnce(id);
  // The preload line's .wasm is the one the loader takes: one request.
  assert.equal(await wasmRequests(page), 1);
  assert.deepEqual(problems, []);
});

/** The CDN's base URL in the filled snippet. */
const snippetCdn = (snippet) => /src="([^"]+\/)loader\.js"/.exec(snippet)[1];

test("the Content Security Policy, sent with the snippet's page: a call is delivered without a violation", async (t) => {
  const { dir, cdn, snippet } = await snippetSite(t, 'readme-csp');
  const [name, value] = example('csp').trim().split(/:\s(.*)/s);
  assert.equal(name, 'Content-Security-Policy');
  const policy = filled(value, '').replaceAll('https://cdn.example.com', cdn.origin);
  const html = `<!doctype html><html><head><meta charset="utf-8">\n${snippet}</head><body></body></html>`;
  const { page, problems } = await openHtml(t, dir, html, { 'content-security-policy': policy });
  await page.evaluate(() => {
    window.violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.violations.push(e.violatedDirective + ' ' + e.blockedURI));
  });
  const id = uniqueId('readme-csp');
  // The call, from the test (a page under this policy makes it from a script the policy allows).
  const result = await page.evaluate(
    // (Not referred by the marketplace: this call asks for no referral.)
    (id) => new Promise((resolve) => onramp('createSaasTracking', { serviceName: 'Acme CRM', customerId: id, requireReferral: false }, (e, r) => resolve(e ? e.code : r.status))),
    id,
  );
  assert.equal(result, 201);
  await world.sandbox.deliveredOnce(id);
  assert.deepEqual(await page.evaluate(() => window.violations), []);
  assert.deepEqual(problems, []);
});

test('the npm example runs in Node as an .mjs file and delivers once', async () => {
  const dir = await world.apps.install('readme-npm', null);
  const id = uniqueId('readme-npm');
  await writeFile(join(dir, 'example.mjs'), filled(example('npm'), id));
  await run(process.execPath, ['example.mjs'], dir, { timeout: 30_000 });
  await world.sandbox.deliveredOnce(id);
});

test('the import-map example, in a page beside the installed package, delivers once', async (t) => {
  const dir = await world.apps.install('readme-importmap', null);
  const id = uniqueId('readme-importmap');
  const html = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">\n${filled(example('importmap'), id)}`;
  const { problems } = await openHtml(t, dir, html);
  await world.sandbox.deliveredOnce(id);
  assert.deepEqual(problems, []);
});

test('the React component, in a Vite 8 production build under StrictMode, delivers once, remounted at once and after', async (t) => {
  const dir = await world.apps.install('readme-react', null);
  for (const name of ['react', 'react-dom']) await linkDependency(dir, name);
  await writeFile(join(dir, 'SignupTracked.jsx'), example('react'));
  await writeFile(
    join(dir, 'main.js'),
    `import { createElement, StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { configure } from 'onramp-pixel';
import { SignupTracked } from './SignupTracked.jsx';

const params = new URLSearchParams(location.search);
configure({ baseUrl: params.get('collector'), partnerKey: 'pk_react' });
const element = createElement(StrictMode, null, createElement(SignupTracked, { customerId: params.get('id') }));
let root = createRoot(document.getElementById('app'));
root.render(element);
window.remount = () => {
  root.unmount();
  root = createRoot(document.getElementById('app'));
  root.render(element);
};
`,
  );
  await writeFile(
    join(dir, 'index.html'),
    '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><div id="app"></div><script type="module" src="/main.js"></script>\n',
  );
  await viteBuild(dir);
  const id = uniqueId('readme-react');
  const path = `/?${new URLSearchParams({ collector: world.sandbox.origin, id })}`;
  const { page, problems } = await openSite(t, world.browser, join(dir, 'dist'), { path });
  // Mounted again at once, while the first call is still out (as development
  // StrictMode's second effect is), then again once it was delivered.
  await page.evaluate(() => window.remount());
  await world.sandbox.deliveredOnce(id);
  await page.evaluate(() => window.remount());
  await page.waitForTimeout(500);
  await world.sandbox.deliveredOnce(id);
  const posts = (await world.sandbox.attempts()).filter((a) => a.customerId === id);
  assert.equal(posts.length, 1, 'one POST for the signup');
  assert.deepEqual(problems, []);
});

test('the TypeScript examples compile under tsc --strict (TypeScript 5.9 and 7.0), with the DOM library and in a Node project without it, as an app with nodenext and bundler resolution', async () => {
  const dir = await world.apps.install('readme-types', null);
  await linkDependency(dir, '@types/node');
  const meta = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ ...meta, type: 'module' }));
  await writeFile(join(dir, 'errors.ts'), example('ts-errors'));
  // The global, declared as the README says, then used as the snippet's.
  await writeFile(
    join(dir, 'global.ts'),
    example('ts-global') + "\nonramp('createSaasTracking', { serviceName: 'Acme CRM', customerId: 'cust-42' });\n",
  );
  // And a wrong use of that global fails: the declaration is what types it.
  await writeFile(join(dir, 'global-wrong.ts'), example('ts-global') + "\nonramp('createSaasTracking', { serviceName: 'Acme CRM', customerID: 'cust-42' });\n");
  const check = async (tsc, files, module, moduleResolution, lib) => {
    // Without the DOM library, a Node project's: Node's types.
    const types = lib.includes('dom') ? [] : ['node'];
    const compilerOptions = { strict: true, noEmit: true, target: 'es2022', module, moduleResolution, lib: lib.split(','), types };
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files }));
    return run(tsc, ['-p', dir], dir).then(
      () => ({ ok: true }),
      (error) => ({ ok: false, output: error.stdout }),
    );
  };
  // TypeScript 5.9 and 7.0 (the native compiler), each by its own path: both install a `tsc`.
  for (const tsc of ['typescript', 'typescript7'].map((name) => join(root, 'node_modules', name, 'bin/tsc'))) {
    for (const [module, resolution] of [
      ['nodenext', 'nodenext'],
      ['esnext', 'bundler'],
    ]) {
      for (const lib of ['es2022,dom', 'es2022']) {
        const good = await check(tsc, ['errors.ts', 'global.ts'], module, resolution, lib);
        assert.ok(good.ok, `${tsc}: ${module}/${resolution}, lib ${lib}: ${good.output}`);
      }
      const wrong = await check(tsc, ['global-wrong.ts'], module, resolution, 'es2022,dom');
      assert.equal(wrong.ok, false);
      assert.match(wrong.output, /global-wrong\.ts\(\d+,\d+\): error TS/);
    }
  }
});

test('the CLI lines run as shown (npx in an app that installed the package; node bin/ in the checkout) and deliver', async () => {
  const dir = await world.apps.install('readme-cli', null);
  const lines = commandLines(example('cli'));
  assert.equal(lines.length, 2);
  for (const [i, line] of lines.entries()) {
    const id = uniqueId(`readme-cli-${i}`);
    const command = filled(line, id);
    const { stdout } = await run('bash', ['-c', command], command.includes('node bin/') ? root : dir, { timeout: 60_000 });
    assert.match(stdout, /^statusCode: 201$/m, command);
    await world.sandbox.deliveredOnce(id);
  }
});
