/** `carton import`: waits for the archive module (src/archive) to land. */
import { CartonError } from '../../common/errors';
import type { CliContext } from './context';

export async function importCommand(_argv: string[], _ctx: CliContext): Promise<number> {
  throw new CartonError('EUNSUPPORTED', 'import: image archives are not available in this build yet', { exitCode: 125 });
}
