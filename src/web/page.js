// A timer that does not keep Node's process alive (the CLI exits once its
// call is answered).
export const later = (callback, ms) => {
  const timer = setTimeout(callback, ms);
  timer.unref?.();
  return timer;
};
// Listens to beforeunload with `handler` (`on`), or no longer; where there
// is a page (the engine says when, and core/src/host.rs why).
export const leaving = (handler, on) => globalThis.document && (on ? addEventListener : removeEventListener)('beforeunload', handler);
