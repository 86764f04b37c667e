// Web Locks (not yet stable in web-sys): runs `task` holding the exclusive
// lock `name`. Where the browser has none, a lease in IndexedDB stands in
// for it: taken by a compare-and-set (accepted.js), held at most `leaseMs`,
// freed when the task is over; while another tab holds it, the task does not
// run and the result is false. Throws where there is no navigator (Node).
import { take } from './accepted.js';

export const request = (name, leaseMs, task) => {
  if (navigator.locks) return navigator.locks.request(name, task);
  const now = Date.now();
  return take(name, now, now + leaseMs).then((held) => held && Promise.resolve(task()).finally(() => take(name, now, 0)));
};
