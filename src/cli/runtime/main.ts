// carton-runtime entry point; the command table lands with the lifecycle code.
process.stdout.write('carton-runtime: not built yet\n');
process.exitCode = 1;
