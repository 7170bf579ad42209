/** An integer setting from the environment, `fallback` when unset or empty; anything else out of range is refused. */
export function envInteger(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1, max = Infinity): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = raw.trim() === '' ? NaN : Number(raw); // Number(' ') is 0: blanks are a mistake, not zero
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Infinity ? `of at least ${min}` : `between ${min} and ${max}`;
    throw new Error(`${name}: expected an integer ${range}, received ${JSON.stringify(raw)}`);
  }
  return value;
}
