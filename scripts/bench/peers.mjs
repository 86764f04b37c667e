// The peers of the bench (npm dev dependencies at pinned versions, served from
// node_modules), each on a page that loads its script and sends one event, and
// the local endpoint those events go to.
//
// Every peer page reads the load's `id` from its query and sends to
// `<collector>/collect/<id>/…`, on a loopback origin other than the page's
// (as ours sends to the sandbox on another origin). The endpoint answers every
// request under /collect/ with 200 `{}` and permissive CORS (the requesting
// origin echoed, credentials allowed: Snowplow sends with credentials), and
// logs it, so the bench can check that the event request of each load arrived.
// `event` matches the path of the peer's event request after /collect/<id>:
// the request each row times. Other requests a peer makes to the endpoint
// (PostHog's flags and remote config, Segment's settings) are answered too but
// not timed.

const idScript = "var id = new URLSearchParams(location.search).get('id') || 'bench-' + Math.random();";

export const PEERS = [
  {
    name: 'Plausible',
    pkg: '@plausible-analytics/tracker',
    file: 'plausible.js',
    // POST <endpoint>, text/plain, keepalive fetch; a pageview on init.
    event: /^\/api\/event$/,
    head: (collector) => `<script type="module">
  import { init } from '/peer/@plausible-analytics/tracker/plausible.js';
  ${idScript}
  init({ domain: 'bench.example', endpoint: '${collector}/collect/' + id + '/api/event', captureOnLocalhost: true });
</script>`,
  },
  {
    name: 'Snowplow',
    pkg: '@snowplow/browser-tracker',
    file: 'dist/index.umd.min.js',
    // POST <endpoint>/com.snowplowanalytics.snowplow/tp2, application/json, with credentials.
    event: /^\/com\.snowplowanalytics\.snowplow\/tp2$/,
    head: (collector) => `<script src="/peer/@snowplow/browser-tracker/dist/index.umd.min.js"></script>
<script>
  ${idScript}
  snowplowBrowserTracking.newTracker('sp', '${collector}/collect/' + id, { appId: 'bench', eventMethod: 'post' });
  snowplowBrowserTracking.trackPageView();
</script>`,
  },
  {
    name: 'Segment',
    pkg: '@segment/analytics-next',
    file: 'dist/umd/standalone.js',
    // Segment's snippet queues the call in `window.analytics` and names the
    // write key and the CDN (`_writeKey`, `_cdn`, read by standalone.js as it
    // starts); standalone.js fetches `<cdn>/v1/projects/<writeKey>/settings`,
    // served by settings() below, whose 'Segment.io' integration points
    // `apiHost` here. Track events go to `<protocol>://<apiHost>/t`.
    event: /^\/v1\/t$/,
    head: (collector) => `<script>
  ${idScript}
  (function () {
    var a = (window.analytics = []);
    a.invoked = true;
    a.methods = ['track', 'page', 'identify', 'group', 'alias', 'ready', 'reset', 'on', 'once', 'off'];
    a.factory = function (m) {
      return function () {
        var args = Array.prototype.slice.call(arguments);
        args.unshift(m);
        a.push(args);
        return a;
      };
    };
    for (var i = 0; i < a.methods.length; i++) a[a.methods[i]] = a.factory(a.methods[i]);
    a._writeKey = 'bench_wk';
    a._cdn = '${collector}/cdn/' + id;
    a.track('signup');
  })();
</script>
<script src="/peer/@segment/analytics-next/dist/umd/standalone.js"></script>`,
  },
  {
    name: 'PostHog',
    pkg: 'posthog-js',
    file: 'dist/array.js',
    // POST <api_host>/e/?… ; posthog-js batches captures (request_batching,
    // on by default) and flushes its queue 3 s after DOMContentLoaded. Its bot
    // filter drops every event from headless Chromium's user agent
    // ("HeadlessChrome"); opt_out_useragent_filter is the switch its own
    // warning names for that. It also fetches its remote config and flags
    // from api_host (answered, not timed).
    event: /^\/(i\/v0\/)?e\/?$/,
    head: (collector) => `<script src="/peer/posthog-js/dist/array.js"></script>
<script>
  ${idScript}
  posthog.init('phc_bench', { api_host: '${collector}/collect/' + id, autocapture: false, capture_pageview: false, disable_session_recording: true, opt_out_useragent_filter: true });
  posthog.capture('signup');
</script>`,
  },
];

/** Segment's CDN settings for write key bench_wk, its 'Segment.io' integration sending to our endpoint. */
function segmentSettings(collector, id) {
  const host = new URL(collector).host;
  return {
    integrations: {
      'Segment.io': { apiKey: 'bench_wk', apiHost: `${host}/collect/${id}/v1`, protocol: 'http', unbundledIntegrations: [], addBundledMetadata: true },
    },
    plan: { track: { __default: { enabled: true, integrations: {} } }, identify: { __default: { enabled: true } }, group: { __default: { enabled: true } } },
    edgeFunction: {},
    analyticsNextEnabled: true,
    middlewareSettings: {},
    enabledMiddleware: {},
    metrics: { sampleRate: 0 },
    legacyVideoPluginsEnabled: false,
    remotePlugins: [],
  };
}

function cors(req) {
  return {
    'access-control-allow-origin': req.headers.origin || '*',
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'GET, POST, PUT, OPTIONS',
    'access-control-allow-headers': req.headers['access-control-request-headers'] || '*',
    'access-control-max-age': '0',
    vary: 'Origin',
  };
}

/**
 * Handles the local endpoint (/collect/<id>/…) and Segment's CDN (/cdn/<id>/…:
 * the settings, and standalone.js's lazy bundles from node_modules); returns
 * false for any other path. Each request (preflights included) is pushed to
 * `log` as { id, method, path, at }.
 */
export function handleCollector(req, res, { collector, log, readBundle }) {
  const url = new URL(req.url, 'http://x');
  const match = url.pathname.match(/^\/(collect|cdn)\/([^/]+)(\/.*)?$/);
  if (!match) return false;
  const [, kind, id, rest = '/'] = match;
  log.push({ id, kind, method: req.method, path: rest, at: Date.now() });
  req.resume();
  const headers = cors(req);
  if (req.method === 'OPTIONS') {
    res.writeHead(204, headers);
    res.end();
    return true;
  }
  if (kind === 'cdn') {
    if (/^\/v1\/projects\/[^/]+\/settings$/.test(rest)) {
      res.writeHead(200, { ...headers, 'content-type': 'application/json' });
      res.end(JSON.stringify(segmentSettings(collector, id)));
      return true;
    }
    const bundle = rest.match(/^\/analytics-next\/bundles\/([\w.-]+\.js)$/);
    const body = bundle && readBundle(bundle[1]);
    if (body) {
      res.writeHead(200, { ...headers, 'content-type': 'text/javascript' });
      res.end(body);
    } else {
      res.writeHead(404, headers);
      res.end();
    }
    return true;
  }
  // Answered once the body is in, as a collector would.
  req.on('end', () => {
    res.writeHead(200, { ...headers, 'content-type': rest.endsWith('.js') ? 'text/javascript' : 'application/json' });
    res.end('{}');
  });
  return true;
}
