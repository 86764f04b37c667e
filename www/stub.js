/* The queue stub, pasted inline before the loader: the README's first
   snippet line is this file as `npm run build` minifies it (dist/stub.js;
   a test checks that they match).

   It keeps each call in `onramp.q` until the loader hands it to the wasm.
   When the page is left before that (a confirmation page that redirects at
   once), it sends each tracking call still waiting as the page goes: one
   keepalive request, which outlives the page. Like a beacon, a request it
   started counts as delivered: the call is gone from the queue, so neither
   the loader nor a page restored from the back/forward cache sends it
   again.

   It does not check the call's values: the collector does. It lays the
   call's options over the loader tag's data-* attributes and the queued
   configure() calls, as the loader would, and sends the collector's four
   fields as given (a Date or epoch ms as ISO 8601, the time of leaving when
   purchasedAt is omitted). It sends only to a base URL the pixel would
   send to (https, or http on a loopback host), without credentials, as a
   simple text/plain request (no preflight). Nothing in it can throw into
   the page; its syntax is ES2018. */
window.onramp ||
  ((w, o, k, f) => {
    // Sends what is still waiting; `pagehide` always calls it, and
    // `beforeunload` while calls wait: WebKit fires no `pagehide` for a page
    // left before its load event (measured in WebKitGTK 2.50), and the
    // listener goes once the loader has taken the calls (a `beforeunload`
    // listener can keep a page out of the back/forward cache).
    f = () => {
      let c = { ...(document.querySelector('[data-base-url]') || {}).dataset },
        q = { ...c },
        a,
        b,
        p;
      // Consent as the page last said it before leaving (the calls that
      // waited for it go with it, as in index.js): granted, or never asked
      // for with no Global Privacy Control that the page respects.
      // Without it, the calls stay queued, for the loader if the page comes
      // back from the back/forward cache.
      try {
        for (a of o.q) a[0] == 'consent' ? (q.consent = a[1]) : a[0] == 'configure' && Object.assign(q, a[1]);
      } catch (e) {}
      if ((p = q.consent) == 'granted' || (!p && (!navigator.globalPrivacyControl || (p = q.respectGpc) == null || p + '' == 'false')))
        for (a of o.q.splice(0))
        try {
          b = a[1];
          // The positional form: (partnerKey, serviceName, customerId, purchasedAt).
          b = b && b.trim ? Object.fromEntries(k.map((n, i) => [n, a[i + 1]])) : b;
          a[0] == 'configure'
            ? Object.assign(c, b)
            : a[0] == 'createSaasTracking' &&
              // requireReferral (data-require-referral, configure() or the
              // call's): only with a referral the loader finds kept (o.g,
              // the loader's reading of the core's rules); else it stays
              // queued.
              ((p = (b = { ...c, ...b }).requireReferral) != null && p + '' != 'false' && !(o.g && o.g())
                ? o.q.push(a)
                : // The pixel's base-URL rule (core/src/endpoint.rs), or a stricter
                  // one: tests/e2e/drift.test.mjs runs both on the same cases.
                  /^(https:\/\/(?=[^/:]{1,253}(\/|:|$))((?!-)[a-z\d-]{1,63}(?<!-)\.)*(?!-)[a-z\d-]{1,63}(?<!-)|http:\/\/(localhost|127\.0\.0\.1|\[::1\]))(:(?=\d{1,5}(\/|$))0*[1-9]\d*(?<!(6553[6-9]|655[4-9]\d|65[6-9]\d\d|6[6-9]\d{3}|[7-9]\d{4})))?(\/(?!\.\.?(\/|$))[\w.~!$&'()*+,;=:@%-]+)*\/*$/i.test(
                  b.baseUrl,
                ) &&
              fetch(b.baseUrl.replace(/\/*$/, '/api/SaasTrackings'), {
                method: 'POST',
                keepalive: !0,
                mode: 'no-cors',
                credentials: 'omit',
                body: JSON.stringify(
                  {
                    ...b,
                    // Omitted, or the positional form's callback: now.
                    purchasedAt: (p = b.purchasedAt) == null || p.call ? new Date() : p.toFixed ? new Date(p) : p,
                  },
                  k,
                ),
              }));
        } catch (e) {}
    };
    o = w.onramp = function () {
      o.q.push(arguments);
      w.addEventListener('beforeunload', f);
    };
    o.q = [];
    o.f = f;
    w.addEventListener('pagehide', f);
  })(window, 0, ['partnerKey', 'serviceName', 'customerId', 'purchasedAt']);
