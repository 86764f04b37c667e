// The error of a module that could not load or failed unexpectedly, and of
// the consent options; the wasm module makes every other OnrampError
// (src/web/convert.rs).
export function onrampError(code, message, cause, field = null) {
  const error = new Error(message, { cause });
  error.name = 'OnrampError';
  error.code = code;
  error.field = field;
  return error;
}
