'use strict';
// One prestarted worker of `carton-runtime prestart` (docs/prestart.md): argv[2] names the
// program, argv[3] the pool's directory; fd 3 is the pipe to the pool. Started by the pool only.
const path = require('path');
const program = process.argv[2];
const loader = require('./bundle-loader');
const bundle = program in loader.SUBCOMMANDS ? loader.loadBundleExports(program, __dirname) : undefined;
if (!bundle) {
  process.stderr.write(`prestart-worker: no bundle for "${program}" (npm run build)\n`);
  process.exit(2);
}
const main = bundle.exports;
main.prestartWorker().serveOneCaller({
  script: path.join(__dirname, `${program}.js`),
  bundleFile: bundle.file,
  dir: process.argv[3],
  program,
  poolFd: 3,
  prewarm: main.prewarm,
  runMain: main.runMain,
  afterCaller: (code, args) => {
    if (code === 0) bundle.keepCompiled(args);
  },
});
