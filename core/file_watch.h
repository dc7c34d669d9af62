// What a database file looks like now, read on every cache hit without a
// system call and without entering SQLite: has anything been committed to it
// since the shared cache last caught up with it (document_cache.h)?
//
// WAL mode (what docstore_tune() sets): the first copy of the WAL-index
// header at the start of <db>-shm, mapped read-only once per connection.
// SQLite rewrites it on every commit (mxFrame, the last frame's checksum and
// the header's own checksum move) and on every WAL reset (new salts); a
// checkpoint alone leaves it. The mapping is made after the connection has
// read the database in WAL mode: from then on the connection holds a shared
// lock on the database that keeps any other connection from deleting the
// -shm (SQLite removes it when the last connection closes) or starting it
// anew, so the mapping stays the live one. A connection that leaves WAL mode
// itself (PRAGMA journal_mode) is noticed at its next catch-up only.
//
// Rollback-journal modes: the database header's change counter, which every
// commit in those modes increments, with the page count and the
// version-valid-for number beside it: one pread per hit.
//
// What <db>-shm shows anyone who may read it: frame and page numbers, salts
// and checksums. For an encrypted database the frames are encrypted and so
// are what the checksums cover: no document text.
#ifndef DOCSTORE_CORE_FILE_WATCH_H_
#define DOCSTORE_CORE_FILE_WATCH_H_

#include <array>
#include <cstdint>
#include <memory>

#include "shmcache/shmcache.h"
#include "sqlite_api.h"
#include "status.h"

namespace docstore {

class FileWatch {
 public:
  using State = std::array<uint64_t, shmcache::kObservedWords>;

  // Watches the main database of `db`, which must have read it already (so
  // that in WAL mode its -shm exists and is held open). kUnavailable when
  // the file cannot be watched (an in-memory database, WAL with its index
  // in heap memory under locking_mode=EXCLUSIVE).
  static Status Open(sqlite3* db, std::unique_ptr<FileWatch>* out);
  ~FileWatch();
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;

  // The file's state now; equal states mean nothing was committed between.
  State Observe() const {
    if (wal_index_ == nullptr) return ObserveHeader();
    State state;
    // Word by word, atomically: SQLite may be rewriting it meanwhile, and a
    // torn read only ever differs from what was published.
    for (size_t i = 0; i < state.size(); ++i) state[i] = __atomic_load_n(wal_index_ + i, __ATOMIC_ACQUIRE);
    return state;
  }
  bool wal() const { return wal_index_ != nullptr; }

 private:
  FileWatch(const uint64_t* wal_index, int database_fd) : wal_index_(wal_index), database_fd_(database_fd) {}
  State ObserveHeader() const;

  const uint64_t* const wal_index_;  // the mapped WAL-index header, or nullptr
  const int database_fd_;            // rollback modes: the database file, else -1
};

}  // namespace docstore

#endif  // DOCSTORE_CORE_FILE_WATCH_H_
