import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root: the nearest directory holding Kuraban's package.json above this file, above its
 * TypeScript source (through the source map, when compiled to another outDir such as /tmp/…), or above
 * the working directory (`npm test` runs from the root) — tried in that order.
 */
export function projectRoot(): string {
  const here = fileURLToPath(import.meta.url);
  const starts = [dirname(here)];
  const map = `${here}.map`;
  if (existsSync(map)) {
    const { sources, sourceRoot } = JSON.parse(readFileSync(map, 'utf8')) as { sources?: string[]; sourceRoot?: string };
    const source = sources?.[0];
    if (source !== undefined) starts.push(dirname(resolve(dirname(here), sourceRoot ?? '', source)));
  }
  starts.push(process.cwd());
  for (const start of starts) {
    for (let dir = start; ; dir = dirname(dir)) {
      const pkg = join(dir, 'package.json');
      if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'kuraban') return dir;
      if (dirname(dir) === dir) break;
    }
  }
  throw new Error(`cannot find the kuraban repository above ${starts.join(', ')}; or set KURABAN_VECTORS_DIR`);
}

/** Published third-party vectors: `$KURABAN_VECTORS_DIR` if set, else `<repo root>/../shared/vectors`. */
export function vectorsDir(): string {
  const fromEnv = process.env['KURABAN_VECTORS_DIR'];
  return fromEnv !== undefined && fromEnv !== '' ? resolve(fromEnv) : resolve(projectRoot(), '..', 'shared', 'vectors');
}
