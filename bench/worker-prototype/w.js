// The worker of the measurement in pixel.js beside it: the npm entry (the
// engine, IndexedDB, the lock, the POST) run here, off the page's thread.
import { configure, createSaasTracking } from './index.js';

onmessage = ({ data: [n, defaults, args] }) => {
  configure(defaults);
  createSaasTracking(...args).then(
    (result) => postMessage([n, true, result]),
    (error) => postMessage([n, false, { code: error.code, field: error.field, message: error.message }]),
  );
};
