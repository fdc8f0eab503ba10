// A promise for one record appended to a LogSegmentWriter: append() takes the caller's callbacks
// (one promise per record on the write path), tests that await a record at a time want a promise.
import type { DLSN } from '../../src/log/format/dlsn.js';
import type { LogRecord } from '../../src/log/format/log-record.js';
import type { LogSegmentWriter } from '../../src/log/writer/segment-writer.js';

export function appendRecord(writer: LogSegmentWriter, record: LogRecord): Promise<DLSN> {
  return new Promise((resolve, reject) => { writer.append(record, resolve, reject); });
}
