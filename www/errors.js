// Every OnrampError is made here: the wasm module's (src/web/convert.rs
// imports this function), and the JS side's (a module that could not load
// or failed unexpectedly, the consent options). A refusal by the collector
// carries its answer's status and body.
export function onrampError(code, message, cause, field = null) {
  const error = new Error(message, { cause });
  error.name = 'OnrampError';
  error.code = code;
  error.field = field;
  return error;
}

// The wasm module's: with the collector's status and body when it refused
// the tracking (kept apart, so that the loader, which makes only the
// others, carries none of it).
export const answeredError = (code, message, field, status, body) =>
  Object.assign(onrampError(code, message, undefined, field), status != null && { status, body });
