// Writing pending accesses from a database's segment into its
// document_access table, exactly once: shared by doc_flush() and a client
// whose pending table is full (through the calling connection) and by
// docstore-sidecar (through its own).
//
// How exactly once holds (DESIGN.md invariant 2): the flusher takes the
// segment's flush lock, freezes each shard's pending table as a batch with a
// sequence number, writes the counts and the batches' (shard, instance, seq)
// into docstore_access_flushes in one transaction, commits, and only then
// releases the batches. A flusher killed at any instant leaves its batches
// frozen; the next one finds them, and skips those whose seq the database
// already has.
#ifndef DOCSTORE_CORE_ACCESS_FLUSHER_H_
#define DOCSTORE_CORE_ACCESS_FLUSHER_H_

#include <cstdint>

#include "document_cache.h"
#include "sqlite_api.h"
#include "status.h"

namespace docstore {

struct FlushResult {
  uint64_t rows = 0;      // document_access rows updated or inserted
  uint64_t accesses = 0;  // accesses those rows gained
};

// How long a flush waits for another flusher to finish.
inline constexpr uint32_t kFlushLockWaitMs = 5000;

// Freezes what is pending in the cache's segment, writes it into `db` in one
// transaction with the batches' sequence numbers, commits, releases the
// batches, and brings the access fields of cached documents up to date. On
// any error (SQLITE_BUSY, SQLITE_FULL, read-only, ...) rolls back and leaves
// every access pending for the next flush. `db` must not be inside a
// transaction nor running a statement that writes (kInvalidArgument).
// Accesses to documents that no longer exist are dropped. kBusy: another
// flusher held the flush lock for longer than `wait_ms`.
Status FlushPendingAccesses(sqlite3* db, DocumentCache* cache, uint32_t wait_ms, FlushResult* result);

}  // namespace docstore

#endif  // DOCSTORE_CORE_ACCESS_FLUSHER_H_
