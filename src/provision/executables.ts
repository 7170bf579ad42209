import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Progress lines for long provisioning work; stderr so `--json` output on stdout stays clean. */
export function say(message: string): void {
  process.stderr.write(`[nano-photos] ${message}\n`);
}

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The first executable named `name` on PATH, if any. */
export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** An executable from an environment variable, or a clear error if the variable names something unusable. */
export function fromEnv(variable: string): string | undefined {
  const value = process.env[variable];
  if (!value) return undefined;
  const file = path.resolve(value);
  if (!isExecutable(file)) {
    throw new Error(`${variable} is set to "${value}", but that is not an executable file`);
  }
  return file;
}

/** Executable files the SDK left in its download folder (its file names vary by version and platform). */
export function executablesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => path.join(dir, name))
    .filter(isExecutable);
}
