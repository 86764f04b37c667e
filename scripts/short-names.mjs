// Shortens the names by which the wasm and its wasm-bindgen glue call each
// other. wasm-bindgen names each import after its crate's binding and a hash
// (`__wbg_addEventListener_847fd86b8c33ec43`) and each closure shim after its
// types (over 100 characters), and writes every name twice, once in each file;
// the hashes are bytes gzip cannot compress. This gives each a short name in
// both files, as a minifier does for JS identifiers: imports of the glue's own
// module, its module's name, and the internal exports (`__…`, `wasm_bindgen_…`).
// The public exports, and the names of the JS files the Rust imports
// (src/web/*.js), keep theirs. Every old name must be found in the glue exactly
// where it is expected, or the build fails.

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function readLeb(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
}

function leb(value) {
  const out = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

const name = (text) => [...leb(encoder.encode(text).length), ...encoder.encode(text)];

function readName(bytes, at) {
  const [length, start] = readLeb(bytes, at);
  return [decoder.decode(bytes.subarray(start, start + length)), start + length];
}

// The end of an import's description (after its kind byte), by kind:
// function (type index), table (reference type, limits), memory (limits),
// global (value type, mutability), tag (attribute, type index).
function skipDescription(bytes, kind, at) {
  const limits = (at) => {
    const flags = bytes[at];
    let [, next] = readLeb(bytes, at + 1);
    if (flags & 1) [, next] = readLeb(bytes, next);
    return next;
  };
  switch (kind) {
    case 0:
      return readLeb(bytes, at)[1];
    case 1:
      return limits(at + 1);
    case 2:
      return limits(at);
    case 3:
      return at + 2;
    case 4:
      return readLeb(bytes, at + 1)[1];
    default:
      throw new Error(`short-names: unknown import kind ${kind}`);
  }
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
function shortName(n) {
  let s = '';
  do {
    s = ALPHABET[n % 52] + s;
    n = Math.floor(n / 52);
  } while (n > 0);
  return '_' + s;
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `wasm`: the module wasm-bindgen wrote; `glue`: its JS; `ownModule`: the
 * glue's import module name (`./onramp_pixel_bg.js`). Returns both, renamed.
 */
export function shortenNames(wasm, glue, ownModule) {
  const bytes = new Uint8Array(wasm);
  // Sections as they are, or rebuilt (imports, exports).
  const out = [bytes.subarray(0, 8)];
  const imports = new Map();
  const exports = new Map();
  const moduleName = '_';
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, start] = readLeb(bytes, at + 1);
    const end = start + size;
    if (id !== 2 && id !== 7) {
      out.push(bytes.subarray(at, end));
      at = end;
      continue;
    }
    let payload;
    {
      let [count, p] = readLeb(bytes, start);
      payload = [...leb(count)];
      for (let i = 0; i < count; i++) {
        if (id === 2) {
          let module, field;
          [module, p] = readName(bytes, p);
          [field, p] = readName(bytes, p);
          const kind = bytes[p];
          const next = skipDescription(bytes, kind, p + 1);
          if (module === ownModule) {
            if (!imports.has(field)) imports.set(field, shortName(imports.size));
            payload.push(...name(moduleName), ...name(imports.get(field)));
          } else {
            payload.push(...name(module), ...name(field));
          }
          payload.push(...bytes.subarray(p, next));
          p = next;
        } else {
          let field;
          [field, p] = readName(bytes, p);
          const next = readLeb(bytes, p + 1)[1];
          const internal = /^(__|wasm_bindgen_)/.test(field);
          if (internal) exports.set(field, shortName(exports.size));
          payload.push(...name(internal ? exports.get(field) : field), ...bytes.subarray(p, next));
          p = next;
        }
      }
    }
    out.push(Uint8Array.from([id, ...leb(payload.length), ...payload]));
    at = end;
  }

  let js = glue;
  const replaceAll = (pattern, by, what) => {
    if (what && !pattern.test(js)) throw new Error(`short-names: ${what} not found in the glue`);
    js = js.replace(pattern, by);
  };
  replaceAll(new RegExp(`"${escape(ownModule)}":`, 'g'), `"${moduleName}":`, ownModule);
  for (const [old, short] of imports) {
    replaceAll(new RegExp(`(?<![\\w$])${escape(old)}(?=\\s*:)`, 'g'), short, old);
  }
  for (const [old, short] of exports) {
    // An export the glue never uses keeps no name worth having either.
    replaceAll(new RegExp(`(?<=wasm\\.)${escape(old)}(?![\\w$])`, 'g'), short);
  }
  // No use of an old name may be left (a JS function the glue names after
  // an export is an identifier of its own, which the bundler shortens).
  for (const old of imports.keys()) {
    if (new RegExp(`(?<![\\w$])${escape(old)}(?![\\w$])`).test(js)) {
      throw new Error(`short-names: the import ${old} is still used by the glue`);
    }
  }
  for (const old of exports.keys()) {
    // No property access or string may name it any more; a bare
    // identifier is the JS function the glue writes for an export, which
    // the bundler shortens.
    if (new RegExp(`[.'"\`]${escape(old)}(?![\\w$])`).test(js)) {
      throw new Error(`short-names: the export ${old} is still used by the glue`);
    }
  }
  const renamed = Buffer.concat(out);
  // The module still validates and has the same imports and exports, and
  // every import of the glue's own module is one the glue provides.
  if (!WebAssembly.validate(renamed)) throw new Error('short-names: the renamed module does not validate');
  const before = new WebAssembly.Module(bytes);
  const after = new WebAssembly.Module(renamed);
  const count = (m) => [WebAssembly.Module.imports(m).length, WebAssembly.Module.exports(m).length].join();
  if (count(before) !== count(after)) throw new Error('short-names: imports or exports were lost');
  for (const { module, name: field } of WebAssembly.Module.imports(after)) {
    if (module === moduleName && !new RegExp(`(?<![\\w$])${escape(field)}\\s*:`).test(js)) {
      throw new Error(`short-names: the glue provides no import ${field}`);
    }
  }
  return { wasm: renamed, glue: js, imports: imports.size, exports: exports.size };
}
