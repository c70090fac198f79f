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
for (const [name, entry] of Object.entries(entries)) {
  const input = path.join(root, entry);
  if (!fs.existsSync(input)) continue;
  esbuild.buildSync({
    entryPoints: [input],
    outfile: path.join(root, 'dist', 'bundle', `${name}.js`),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: false,
    legalComments: 'none',
    external: ['*.node'],
    logLevel: 'warning',
  });
}
