// Writing pending accesses from a segment into the database, exactly once:
// shared by doc_flush() (through the calling connection) and docstore-sidecar
// (through its own). Compiled into both, against whichever SQLite API header
// the target provides as "sqlite_api.h".
#ifndef DOCSTORE_EXTENSION_ACCESS_FLUSHER_H_
#define DOCSTORE_EXTENSION_ACCESS_FLUSHER_H_

#include <cstdint>
#include <string>

#include "document_cache.h"
#include "segment_counters.h"
#include "sqlite_api.h"

namespace docstore {

// Whether a statement that writes is running on `db` (SQLite 3.15 has no
// sqlite3_txn_state to ask).
bool WriteStatementRunning(sqlite3* db);

struct FlushResult {
  uint64_t rows = 0;      // document_access rows updated or inserted
  uint64_t accesses = 0;  // accesses those rows gained
  bool busy = false;      // another flusher held the flush lock for longer than the wait
};

// How long a flush waits for another flusher to finish.
inline constexpr uint32_t kFlushLockWaitMs = 5000;

// Freezes what is pending in the cache's segment, writes it into `db` in one
// transaction with the batches' sequence numbers, commits, releases the
// batches, and brings the access fields of cached documents up to date. On
// any error (SQLITE_BUSY, SQLITE_FULL, read-only, ...) rolls back and leaves
// every access pending for the next flush. `db` must not be inside a
// transaction nor running a statement that writes. Accesses to documents
// that no longer exist are dropped. Another flusher holding the flush lock
// for longer than `wait_ms`: true, with result->busy.
bool FlushPendingAccesses(sqlite3* db, DocumentCache* cache, uint32_t wait_ms, FlushResult* result,
                          std::string* error);

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_ACCESS_FLUSHER_H_
