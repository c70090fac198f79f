#!/usr/bin/env node
'use strict';
// The single-file bundle through its code cache (bin/bundle-loader.js); without a
// bundle (esbuild missing at build time), the compiled modules of dist/src/.
const path = require('path');
if (!require('./bundle-loader').loadBundle('carton', __dirname, require('./bundle-loader').SUBCOMMANDS.carton)) {
  require(path.join(__dirname, '..', 'dist', 'src', 'cli', 'carton', 'main.js'));
}
