// The bad-input matrix of the README ("Errors"), as one function run in the
// page (tests/e2e/hostile.test.mjs in Chromium, tests/engines/suite.test.mjs
// in the three engines). It must not close over anything: it is sent to the
// page as source text.

/**
 * Runs in the page: `send` is the entry under test. Returns, per case, its
 * label, what the call settled to and whether the error was well formed.
 * Built here, in the page, because Symbols, BigInts, Proxies and getters
 * cannot cross from the test.
 */
export async function runMatrix(mode) {
  const send =
    mode === 'snippet'
      ? (...args) => window.onramp('createSaasTracking', ...args)
      : (...args) => window.pixel.createSaasTracking(...args);
  const ok = { serviceName: 'svc', customerId: 'c-bad' };
  const w = (patch) => ({ ...ok, ...patch });
  const inTwoDays = Date.now() + 2 * 86_400_000;
  const cases = [
    ['no arguments', [], 'missing_field', 'serviceName'],
    ['positional, partner key only', ['pk'], 'missing_field', 'serviceName'],
    ['undefined', [w({ customerId: undefined })], 'missing_field', 'customerId'],
    ['null', [w({ customerId: null })], 'missing_field', 'customerId'],
    ['positional null', ['pk', 'svc', null], 'missing_field', 'customerId'],
    ['number', [w({ customerId: 42 })], 'invalid_type', 'customerId'],
    ['boolean', [w({ serviceName: true })], 'invalid_type', 'serviceName'],
    ['array', [w({ customerId: ['c'] })], 'invalid_type', 'customerId'],
    ['object', [w({ customerId: { toString: () => 'c' } })], 'invalid_type', 'customerId'],
    ['Symbol', [w({ customerId: Symbol('c') })], 'invalid_type', 'customerId'],
    ['BigInt', [w({ customerId: 10n })], 'invalid_type', 'customerId'],
    ['function', [w({ serviceName: () => 'svc' })], 'invalid_type', 'serviceName'],
    ['positional number', [42, 'svc', 'c'], 'invalid_type', 'partnerKey'],
    ['positional Symbol', ['pk', Symbol('s'), 'c'], 'invalid_type', 'serviceName'],
    ['positional BigInt', ['pk', 'svc', 1n], 'invalid_type', 'customerId'],
    ['empty string', [w({ customerId: '' })], 'empty_field', 'customerId'],
    ['whitespace only', [w({ serviceName: '   ' })], 'empty_field', 'serviceName'],
    ['1 MB string', [w({ customerId: 'x'.repeat(1 << 20) })], 'too_long', 'customerId'],
    ['513 characters', [w({ customerId: 'é'.repeat(513) })], 'too_long', 'customerId'],
    ['NUL', [w({ customerId: 'a\u0000b' })], 'invalid_characters', 'customerId'],
    ['newline', [w({ serviceName: 'a\nb' })], 'invalid_characters', 'serviceName'],
    ['C1 control', [w({ customerId: 'a\u0085b' })], 'invalid_characters', 'customerId'],
    ['lone surrogate', [w({ customerId: 'a\ud800b' })], 'invalid_characters', 'customerId'],
    ['lone low surrogate', [w({ partnerKey: '\udc00' })], 'invalid_characters', 'partnerKey'],
    ['date 2026-13-45', [w({ purchasedAt: '2026-13-45' })], 'invalid_date', 'purchasedAt'],
    ['date "not a date"', [w({ purchasedAt: 'not a date' })], 'invalid_date', 'purchasedAt'],
    ['date without a zone', [w({ purchasedAt: '2026-11-26T10:00:00' })], 'invalid_date', 'purchasedAt'],
    ['NaN', [w({ purchasedAt: NaN })], 'invalid_date', 'purchasedAt'],
    ['Infinity', [w({ purchasedAt: Infinity })], 'invalid_date', 'purchasedAt'],
    ['Invalid Date', [w({ purchasedAt: new Date('x') })], 'invalid_date', 'purchasedAt'],
    ['before 2000', [w({ purchasedAt: '1999-12-31' })], 'date_out_of_range', 'purchasedAt'],
    ['two days ahead', [w({ purchasedAt: inTwoDays })], 'date_out_of_range', 'purchasedAt'],
    ['date of the wrong type', [w({ purchasedAt: true })], 'invalid_type', 'purchasedAt'],
    ['relative base URL', [w({ baseUrl: '/api' })], 'invalid_base_url', 'baseUrl'],
    ['javascript: base URL', [w({ baseUrl: 'javascript:alert(1)' })], 'invalid_base_url', 'baseUrl'],
    ['data: base URL', [w({ baseUrl: 'data:text/plain,x' })], 'invalid_base_url', 'baseUrl'],
    ['ftp: base URL', [w({ baseUrl: 'ftp://onramp.example.com' })], 'invalid_base_url', 'baseUrl'],
    ['plain http to a public host', [w({ baseUrl: 'http://onramp.example.com' })], 'insecure_base_url', 'baseUrl'],
    ['credentials in the base URL', [w({ baseUrl: 'https://user:pw@onramp.example.com' })], 'invalid_base_url', 'baseUrl'],
    ['query in the base URL', [w({ baseUrl: 'https://onramp.example.com/?a=1' })], 'invalid_base_url', 'baseUrl'],
    ['base URL of the wrong type', [w({ baseUrl: 42 })], 'invalid_type', 'baseUrl'],
    ['unknown option', [w({ custmerId: 'c' })], 'unknown_option', 'custmerId'],
    ['option in the wrong case', [w({ CustomerId: 'c' })], 'unknown_option', 'CustomerId'],
    ['unknown transport', [w({ transport: 'pigeon' })], 'invalid_option', 'transport'],
    ['negative timeout', [w({ timeoutMs: -1 })], 'invalid_option', 'timeoutMs'],
    ['timeout as text', [w({ timeoutMs: '5000' })], 'invalid_type', 'timeoutMs'],
    [
      'options whose keys throw',
      [new Proxy({}, { ownKeys() { throw new Error('boom'); } })],
      'invalid_type',
      'options',
    ],
    [
      'options whose getter throws',
      [{ serviceName: 'svc', get customerId() { throw new Error('boom'); } }],
      'invalid_type',
      'options',
    ],
  ];
  const out = [];
  for (const [label, args, code, field] of cases) {
    const got = await send(...args).then(
      () => ({ settled: 'resolved' }),
      (e) => ({
        settled: 'rejected',
        name: e && e.name,
        code: e && e.code,
        field: e && e.field,
        // A brand check: WebDriver may run this in another realm than the page's.
        isError: Object.prototype.toString.call(e) === '[object Error]',
        readable: typeof (e && e.message) === 'string' && e.message.length >= 10 && !/panic|unreachable|RuntimeError/i.test(e.message),
      }),
    );
    out.push({ label, expected: { code, field }, got });
  }
  return out;
}
