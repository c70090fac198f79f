// carton entry point; the command table lands with the engine.
process.stdout.write('carton: not built yet\n');
process.exitCode = 1;
