// A timer that does not keep Node's process alive (the CLI exits once its
// call is answered).
export const later = (callback, ms) => {
  const timer = setTimeout(callback, ms);
  timer.unref?.();
  return timer;
};
