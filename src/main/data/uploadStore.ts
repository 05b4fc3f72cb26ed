/**
 * Files sent from the UI in base64 chunks (the same path for Electron IPC and HTTP). Each upload is
 * a .part file plus a small JSON record in the project's uploads folder, so the job process that
 * imports it can find it by id.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../shared/contract';

interface UploadRecord {
  fileName: string;
  size: number;
}

export class UploadStore {
  constructor(private readonly dir: string) {}

  create(fileName: string, size: number): string {
    const uploadId = randomBytes(16).toString('hex');
    writeFileSync(this.dataPath(uploadId), '');
    writeFileSync(this.recordPath(uploadId), JSON.stringify({ fileName, size } satisfies UploadRecord));
    return uploadId;
  }

  /** Appends at `offset`, which must be the bytes received so far: a resent or skipped chunk is refused. */
  append(uploadId: string, offset: number, base64: string): number {
    const record = this.record(uploadId);
    const received = statSync(this.dataPath(uploadId)).size;
    if (offset !== received)
      throw new AppError('conflict', `upload ${uploadId}: chunk at byte ${offset}, expected ${received}`);
    const bytes = Buffer.from(base64, 'base64');
    if (received + bytes.length > record.size) {
      throw new AppError('invalid_input', `upload ${uploadId}: more bytes than the declared size ${record.size}`);
    }
    appendFileSync(this.dataPath(uploadId), bytes);
    return received + bytes.length;
  }

  /** The complete file behind an upload, with the name the user chose it by. */
  resolve(uploadId: string): { path: string; fileName: string } {
    const record = this.record(uploadId);
    const received = statSync(this.dataPath(uploadId)).size;
    if (received !== record.size) {
      throw new AppError('conflict', `upload ${uploadId} is incomplete: ${received} of ${record.size} bytes received`);
    }
    return { path: this.dataPath(uploadId), fileName: record.fileName };
  }

  remove(uploadId: string): void {
    rmSync(this.dataPath(uploadId), { force: true });
    rmSync(this.recordPath(uploadId), { force: true });
  }

  private record(uploadId: string): UploadRecord {
    if (!/^[a-f0-9]{32}$/.test(uploadId) || !existsSync(this.recordPath(uploadId))) {
      throw new AppError('not_found', `no upload ${uploadId}`);
    }
    return JSON.parse(readFileSync(this.recordPath(uploadId), 'utf8')) as UploadRecord;
  }

  private dataPath(uploadId: string): string {
    return join(this.dir, `${uploadId}.part`);
  }

  private recordPath(uploadId: string): string {
    return join(this.dir, `${uploadId}.json`);
  }
}
