'use strict';
/**
 * Loads a command's single-file bundle (dist/bundle/<name>.js) through a V8 code
 * cache kept beside it, so that start-up deserialises compiled bytecode instead of
 * parsing and compiling ~370 KB of JavaScript every time (docs/performance.md:
 * about 12 ms of CPU per `carton-runtime run`).
 *
 * One cache file per subcommand (<name>.js.<subcommand>.cache): each holds just the
 * functions that subcommand runs, so `state` does not deserialise `run`'s planner.
 * scripts/bundle.js writes <name>.js.main.cache (top-level code only), used until a
 * subcommand first succeeds; its own cache is then written, atomically, at exit.
 * The cache is only an accelerator: missing, stale (the bundle or Node changed),
 * damaged (CRC) or rejected by V8, the bundle is compiled from source as usual;
 * a directory this user cannot write keeps the build's cache.
 *
 * Returns false when there is no bundle (the caller then loads dist/src/ modules).
 */
const fs = require('fs');
const path = require('path');

const MAGIC = 'carton-code-cache-2';

/** Words that get a code cache of their own; anything else shares "main". */
const SUBCOMMANDS = {
  'carton-runtime': ['create', 'start', 'run', 'exec', 'state', 'kill', 'delete', 'list', 'ps', 'spec', 'pause', 'resume', 'update', 'events', 'features'],
  carton: ['run', 'ps', 'rm', 'pull', 'push', 'images', 'rmi', 'tag', 'inspect', 'load', 'save', 'import', 'login', 'logout', 'info', 'version', 'image'],
};

/**
 * @param {string} name bundle name (dist/bundle/<name>.js)
 * @param {string} binDir the bin/ directory
 * @param {string[]} subcommands words that get a cache of their own; anything else shares "main"
 */
function loadBundle(name, binDir, subcommands = []) {
  const key = subcommandOf(process.argv.slice(2), subcommands) || 'main';
  const b = compileBundle(name, binDir, key);
  if (!b) return false;
  if (b.crc32 && (!b.own || b.script.cachedDataRejected)) {
    // After a successful command every function it needed is compiled: keep them.
    process.once('exit', (code) => {
      if (code === 0) writeCache(b.cacheFile, b.identity, b.script, b.crc32);
    });
  }
  runScript(b.script, b.file);
  return true;
}

/**
 * dist/bundle/<name>.js compiled through its cache `key` (the build's "main" one when that is
 * missing); `own` is the header of the `key` cache when it was used. Undefined without a bundle.
 */
function compileBundle(name, binDir, key) {
  const file = path.join(binDir, '..', 'dist', 'bundle', `${name}.js`);
  let fd;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if (err && err.code === 'ENOENT') return undefined;
    throw err;
  }
  let source;
  let identity;
  try {
    identity = identityOf(fs.fstatSync(fd));
    source = decode(fs.readFileSync(fd));
  } finally {
    fs.closeSync(fd);
  }
  // CARTON_CODE_CACHE=0: compile from source, write nothing (to measure what the cache saves).
  const crc32 = process.env.CARTON_CODE_CACHE === '0' ? undefined : crc32Function();
  const cacheFile = cacheFileFor(file, key);
  const own = crc32 ? readCacheWithHead(cacheFile, identity, crc32) : undefined;
  let data = own && own.data;
  if (crc32 && !data && key !== 'main') data = readCache(cacheFileFor(file, 'main'), identity, crc32);
  const vm = require('vm');
  const script = new vm.Script(wrapperSource(source), { filename: file, cachedData: data });
  return { file, identity, crc32, cacheFile, own: own && own.head, script };
}

function runScript(script, file) {
  const mod = { exports: {}, filename: file, id: file, loaded: false, children: [], paths: [] };
  const req = require('module').createRequire(file);
  script.runInThisContext()(mod.exports, req, mod, file, path.dirname(file));
  return mod.exports;
}

/**
 * For a prestarted worker (bin/prestart-worker.js): the bundle's exports, nothing run,
 * through the "server" cache. That cache holds the functions of every subcommand a worker
 * has run so far (listed in its header as `covers`): a worker that runs a new one writes
 * it again, after its caller has left. Undefined without a bundle.
 */
function loadBundleExports(name, binDir) {
  const b = compileBundle(name, binDir, 'server');
  if (!b) return undefined;
  const covers = b.own && Array.isArray(b.own.covers) ? b.own.covers : [];
  const exports = runScript(b.script, b.file);
  return {
    exports,
    file: b.file,
    /** After a successful command `args`: keep what it compiled, once per subcommand. */
    keepCompiled(args) {
      const key = subcommandOf(args, SUBCOMMANDS[name] || []) || 'main';
      if (!b.crc32 || (covers.includes(key) && !b.script.cachedDataRejected)) return;
      // Workers run side by side, each from the cache it read at its start: one that finds its
      // command covered by a newer file leaves that file alone.
      const now = readCacheWithHead(b.cacheFile, b.identity, b.crc32);
      if (now && Array.isArray(now.head.covers) && now.head.covers.includes(key)) return;
      writeCache(b.cacheFile, b.identity, b.script, b.crc32, { covers: [...covers.filter((c) => c !== key), key] });
    },
  };
}

/**
 * The build writes pure ASCII (esbuild charset "ascii"): decoded as latin1 it becomes a
 * one-byte string at copy speed, where UTF-8 decoding is slower and a single non-ASCII
 * character doubles the string. UTF-8 stays the fallback for any other file.
 */
function decode(buf) {
  return require('buffer').isAscii(buf) ? buf.toString('latin1') : buf.toString('utf8');
}

/** The first argument that is one of `subcommands` (global flags and their values come before it). */
function subcommandOf(args, subcommands) {
  return args.find((a) => subcommands.includes(a));
}

function cacheFileFor(bundleFile, key) {
  return `${bundleFile}.${key}.cache`;
}

/**
 * V8 trusts the code cache data it accepts (a damaged file can crash the process) and
 * only checksums it when told to by a flag that slows every built-in module load: the
 * header carries our own CRC-32 instead. zlib's crc32 is taken from the binding because
 * `require('zlib')` costs 3 ms of start-up (streams); without it, no cache is used.
 */
function crc32Function() {
  try {
    const f = process.binding('zlib').crc32;
    return typeof f === 'function' ? (buf) => f(buf, 0) >>> 0 : undefined;
  } catch {
    return undefined;
  }
}

/** Header line (JSON: magic, bundle identity, data length and CRC-32) then V8's cache data. */
function readCache(cacheFile, identity, crc32) {
  return readCacheWithHead(cacheFile, identity, crc32)?.data;
}

function readCacheWithHead(cacheFile, identity, crc32) {
  let buf;
  try {
    buf = fs.readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const nl = buf.indexOf(10);
  if (nl < 0 || nl > 4096) return undefined;
  let head;
  try {
    head = JSON.parse(buf.subarray(0, nl).toString('utf8'));
  } catch {
    return undefined;
  }
  const data = buf.subarray(nl + 1);
  if (!head || head.magic !== MAGIC || head.identity !== identity || head.length !== data.length) return undefined;
  if (head.crc32 !== crc32(data)) return undefined;
  return { data, head };
}

function writeCache(cacheFile, identity, script, crc32 = crc32Function(), extra = {}) {
  if (!crc32) return;
  const tmp = `${cacheFile}.tmp-${process.pid}`;
  try {
    const data = script.createCachedData();
    const head = JSON.stringify({ magic: MAGIC, identity, length: data.length, crc32: crc32(data), ...extra });
    const fd = fs.openSync(tmp, 'w', 0o644);
    try {
      fs.writeSync(fd, Buffer.concat([Buffer.from(`${head}\n`), data]));
      fs.fsyncSync(fd); // once per subcommand: a crash must not leave a renamed file without its data
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, cacheFile);
  } catch {
    // Read-only install or a full disk: the next start compiles from source, nothing more.
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* not created */
    }
  }
}

/** A rebuilt bundle (new size, mtime or inode) or another Node gets a fresh cache. */
function identityOf(st) {
  return `${st.size}:${st.mtimeMs}:${st.ino}:${process.version}:${process.arch}`;
}

/** The bundle as a CommonJS module function, the same text at build and at run time (the cache is tied to it). */
function wrapperSource(source) {
  return `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
}

/** For scripts/bundle.js: the first cache (top-level code), shared until a subcommand has its own. */
function writeFirstCache(bundleFile) {
  const vm = require('vm');
  const script = new vm.Script(wrapperSource(decode(fs.readFileSync(bundleFile))), { filename: bundleFile });
  writeCache(cacheFileFor(bundleFile, 'main'), identityOf(fs.statSync(bundleFile)), script);
}

module.exports = { loadBundle, loadBundleExports, writeFirstCache, subcommandOf, SUBCOMMANDS };
