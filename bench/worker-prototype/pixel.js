/* A measurement, never shipped: what the confirmation page's main thread
   would pay with the engine in a dedicated worker. `PROFILE_COMPARE=worker
   npm run profile` puts this file in place of pixel.js (and w.js beside it)
   over a copy of dist/. It hands the loader's queued calls to a module
   worker running the npm entry as it is: the queue lives in the worker's
   memory (no localStorage there), and nothing is sent as the page is left.
   What the design needs beyond it is in docs/size-and-speed.md. */
((w) => {
  const { q: queued, w: waiting, c: data, b: base } = w.onramp;
  const worker = new Worker(new URL('w.js', base), { type: 'module' });
  const answers = new Map();
  const defaults = { baseUrl: data.baseUrl, partnerKey: data.partnerKey };
  let n = 0;
  worker.onmessage = ({ data: [i, ok, result] }) => {
    const [resolve, reject, callback] = answers.get(i);
    answers.delete(i);
    ok ? resolve(result) : reject(result);
    if (callback) ok ? callback(null, result) : callback(result);
  };
  function run([, ...list]) {
    const callback = typeof list[list.length - 1] == 'function' ? list.pop() : null;
    return new Promise((resolve, reject) => {
      answers.set(++n, [resolve, reject, callback]);
      worker.postMessage([n, defaults, list]);
    });
  }
  const onramp = (...args) => run(args);
  onramp.loaded = true;
  w.onramp = onramp;
  for (const args of queued.splice(0)) {
    const promise = run(args);
    const settle = waiting.get(args);
    if (settle) promise.then(...settle);
  }
  waiting.clear();
})(window);
