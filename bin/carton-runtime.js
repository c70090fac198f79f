#!/usr/bin/env node
'use strict';
// The single-file bundle through its code cache (bin/bundle-loader.js); without a
// bundle (esbuild missing at build time), the compiled modules of dist/src/.
const path = require('path');
const loader = require('./bundle-loader');
if (!loader.loadBundle('carton-runtime', __dirname, loader.SUBCOMMANDS['carton-runtime'])) {
  require(path.join(__dirname, '..', 'dist', 'src', 'cli', 'runtime', 'main.js'));
}
