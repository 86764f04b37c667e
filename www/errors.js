// The error of a module that could not load or failed unexpectedly; the
// wasm module makes every other OnrampError (src/web/convert.rs).
export function onrampError(code, message, cause) {
  const error = new Error(message, { cause });
  error.name = 'OnrampError';
  error.code = code;
  error.field = null;
  return error;
}
