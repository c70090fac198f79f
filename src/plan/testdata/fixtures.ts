/**
 * The config.json files Podman 4.3 and Docker 20.10 generated on this kind of
 * host (captured in /work/shared/reference), kept beside the tests so they run
 * anywhere. Each call returns a fresh copy.
 */
import dockerRunD from './docker-config-run-d.json';
import podmanRunD from './podman-config-run-d.json';
import podmanTty from './podman-config-tty.json';
import podmanDefaultNet from './podman-config-defaultnet.json';
import dockerExecTty from './docker-exec-process-tty.json';

const copy = (o: unknown): unknown => JSON.parse(JSON.stringify(o));

export const CONFIG_FIXTURES: Record<string, () => unknown> = {
  'docker-config-run-d.json': () => copy(dockerRunD),
  'podman-config-run-d.json': () => copy(podmanRunD),
  'podman-config-tty.json': () => copy(podmanTty),
  'podman-config-defaultnet.json': () => copy(podmanDefaultNet),
};

export const dockerExecProcessTty = (): unknown => copy(dockerExecTty);
