// IndexedDB (its request events need many closures through web-sys): the
// time each tracking was accepted, by id, consistent across tabs. Each call
// resolves, to null or undefined where IndexedDB cannot be used; the Rust
// side decides what a value means.
let db;
const open = () =>
  (db ||= new Promise((resolve) => {
    // Version 2 keeps the leases in a store of their own (version 1 kept
    // them among the accepted; those left there are forgotten with the
    // accepted after 7 days).
    const request = indexedDB.open('onramp-pixel', 2);
    request.onupgradeneeded = () => {
      for (const name of ['accepted', 'leases']) request.result.objectStoreNames.contains(name) || request.result.createObjectStore(name);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = request.onblocked = () => resolve(null);
  }).catch(() => null));
const run = (name, mode, use) =>
  open()
    .then(
      (d) =>
        d &&
        new Promise((resolve) => {
          const transaction = d.transaction(name, mode);
          const request = use(transaction.objectStore(name));
          transaction.oncomplete = () => resolve(request.result);
          transaction.onerror = transaction.onabort = () => resolve(null);
        }),
    )
    .catch(() => null);
// Opened as soon as the loader runs (index.js calls it), while the wasm
// downloads: creating the database is the slowest step before a first
// attempt may send. Not while consent is pending or denied: nothing is
// written then.
export const warm = open;
export const get = (id) => run('accepted', 'readonly', (store) => store.get(id));
// Stores `at` under `id` (or keeps the later time it holds: a clock since
// set back must not shorten how long an acceptance is remembered) and
// deletes, in the same transaction, every other entry from before
// `forgetBefore`.
export const put = (id, at, forgetBefore) =>
  run('accepted', 'readwrite', (store) => {
    const request = store.openCursor();
    request.onsuccess = ({ target: { result: cursor } }) =>
      cursor
        ? (cursor.key == id ? (at = Math.max(at, cursor.value)) : cursor.value < forgetBefore && cursor.delete(),
          cursor.continue())
        : store.put(at, id);
    return request;
  });
// A lease's compare-and-set, which must happen inside one readwrite
// transaction (IndexedDB runs it alone across tabs): stores `until` under
// `key` when what is there is not after `now`, or is more than `longest`
// after it (taken by a clock since set back: it holds nothing), and
// resolves true when it did, or the time the lease held ends. Resolves true
// where IndexedDB cannot be used.
export const take = (key, now, until, longest) =>
  new Promise((resolve) =>
    run('leases', 'readwrite', (store) => {
      const request = store.get(key);
      request.onsuccess = () => {
        const held = request.result - now;
        const free = !(held > 0 && held <= longest);
        if (free) store.put(until, key);
        resolve(free || request.result);
      };
      return request;
    }).then(() => resolve(true)),
  );
// Frees the lease taken until `until`, if it is still that one (a lease
// that ran out may have been taken by another tab since).
export const give = (key, until) =>
  run('leases', 'readwrite', (store) => {
    const request = store.get(key);
    request.onsuccess = () => request.result === until && store.delete(key);
    return request;
  });
