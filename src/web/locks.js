// Web Locks (not yet stable in web-sys): asks for the exclusive lock `name`
// and resolves, once it is held, to the function that releases it. Where
// the browser has none, a lease in IndexedDB stands in for it: taken by a
// compare-and-set (accepted.js), held at most `leaseMs` (a lease more than
// `longestMs` ahead holds nothing), freed by the same function; while
// another tab holds it, resolves the time its lease ends. Resolves null where
// the lock cannot be asked for (Node, a refused request).
import { give, take } from './accepted.js';

export const acquire = (name, leaseMs, longestMs) =>
  new Promise((granted) => {
    const hold = () => new Promise((release) => granted(release));
    if (navigator.locks) return navigator.locks.request(name, hold).catch(() => granted(null));
    const now = Date.now();
    const until = now + leaseMs;
    take(name, now, until, longestMs).then((held) => (held === true ? hold().then(() => give(name, until)) : granted(held)));
  }).catch(() => null);
