#!/usr/bin/env node
// Bundles each command-line entry point into one file so that start-up loads a
// single script instead of resolving dozens of modules (see docs/performance.md).
'use strict';
const path = require('path');
const fs = require('fs');
const root = path.join(__dirname, '..');
const entries = {
  'carton-runtime': 'dist/src/cli/runtime/main.js',
  carton: 'dist/src/cli/carton/main.js',
};
let esbuild;
try {
  esbuild = require('esbuild');
} catch {
  console.error('bundle: esbuild not installed; bin/ will load dist/ modules directly');
  process.exit(0);
}
let failed = false;
for (const [name, entry] of Object.entries(entries)) {
  const input = path.join(root, entry);
  const outfile = path.join(root, 'dist', 'bundle', `${name}.js`);
  fs.rmSync(outfile, { force: true });
  removeCaches(outfile);
  if (!fs.existsSync(input)) continue;
  try {
    bundle(input, outfile);
    writeFirstCache(outfile);
  } catch (err) {
    // bin/ falls back to the unbundled modules, so a failed bundle costs start-up time, not function.
    console.error(`bundle: ${name} not bundled: ${err.message.split('\n')[0]}`);
    failed = true;
  }
}
if (failed && process.env.CARTON_BUNDLE_STRICT === '1') process.exit(1);

function bundle(input, outfile) {
  esbuild.buildSync({
    entryPoints: [input],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // Whitespace and comments only: names stay, so stack traces still name functions.
    // A smaller, pure-ASCII file is read as a one-byte string (bin/bundle-loader.js):
    // about 2 ms less start-up for every command (docs/performance.md).
    minifyWhitespace: true,
    charset: 'ascii',
    legalComments: 'none',
    external: ['*.node'],
    logLevel: 'silent',
  });
}

/**
 * A first V8 code cache for the bundle's top-level code, in the format bin/bundle-loader.js
 * reads; each subcommand writes its own the first time it succeeds.
 */
function writeFirstCache(outfile) {
  require(path.join(root, 'bin', 'bundle-loader.js')).writeFirstCache(outfile);
}

/** Caches of the previous bundle would be ignored (the identity changed); remove them. */
function removeCaches(outfile) {
  const dir = path.dirname(outfile);
  const prefix = `${path.basename(outfile)}.`;
  let names = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) if (n.startsWith(prefix) && /\.cache(\.tmp-\d+)?$/.test(n)) fs.rmSync(path.join(dir, n), { force: true });
}
