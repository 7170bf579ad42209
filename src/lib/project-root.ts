import path from 'node:path';

const twoUp = path.resolve(__dirname, '..', '..');
/** The project's root folder, wherever the process was started from (compiled, this module is in dist/src/lib). */
export const projectRoot = path.basename(twoUp) === 'dist' ? path.dirname(twoUp) : twoUp;
