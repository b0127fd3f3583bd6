import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/**
 * The SHA-256 of the whole file, streamed. The whole file rather than its first MiB plus its size:
 * a resumed import skips `linesDone` lines on the strength of this identity, so two files of the
 * same size that differ after the first MiB (a corrected row, a re-sorted extract) must never be
 * taken for one another — that would silently skip rows. Hashing costs one sequential read (about
 * 1 GB/s), small next to encrypting and indexing every record.
 */
export async function hashFile(path: string): Promise<Buffer> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest();
}

const JOB_ID_DOMAIN = 'kuraban-import-job-v1';

/**
 * An import job is this file's content going into this collection in this format: the same file
 * re-run resumes or reports "already imported"; a changed file is a new job. The collection's id
 * (not its name) is used, so a collection dropped and re-created under the same name starts afresh.
 */
export function importJobId(parts: { tenantId: string; collectionId: string; format: string; size: number; sha256: Buffer }): string {
  const h = createHash('sha256');
  for (const p of [JOB_ID_DOMAIN, parts.tenantId, parts.collectionId, parts.format, String(parts.size), parts.sha256.toString('hex')]) {
    h.update(`${p.length}:${p}\n`);
  }
  return `imp_${h.digest('hex').slice(0, 40)}`;
}
