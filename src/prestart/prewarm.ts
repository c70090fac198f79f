/**
 * The runtime modules commands load lazily on their way (a cold start loads only those its
 * command needs): a prestarted worker evaluates them all before a caller waits for them.
 */
export function prewarmRuntimeModules(): void {
  /* eslint-disable @typescript-eslint/no-var-requires */
  require('../runtime/run');
  require('../runtime/lifecycle');
  require('../runtime/create');
  require('../runtime/deps');
  require('../runtime/container-hooks');
  require('../native/init-driver');
  require('../plan/index');
  require('../cgroups/index');
  require('../oci/validate');
  require('../seccomp/index');
  require('../seccomp/cache');
  require('../runtime/trace');
}
