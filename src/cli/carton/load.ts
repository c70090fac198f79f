/** `carton load`: waits for the archive module (src/archive) to land. */
import { CartonError } from '../../common/errors';
import type { CliContext } from './context';

export async function loadCommand(_argv: string[], _ctx: CliContext): Promise<number> {
  throw new CartonError('EUNSUPPORTED', 'load: image archives are not available in this build yet', { exitCode: 125 });
}
