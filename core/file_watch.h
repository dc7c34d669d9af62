// What a database file looks like now, read on every cache hit without a
// system call and without entering SQLite: has anything been committed to it
// since the shared cache last caught up with it (document_cache.h)?
//
// The file is opened through the connection's own VFS (read-only, never
// locked), not with open(2): closing any descriptor of a file releases every
// POSIX lock the process holds on it, SQLite's included, and SQLite's VFS is
// what keeps track of that.
//
// WAL mode (what docstore_tune() sets): the first copy of the WAL-index
// header at the start of <db>-shm, mapped through the VFS's xShmMap (the
// same mapping SQLite reads, held by this watch until it is closed).
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
// version-valid-for number beside it: one read (a pread) per hit. (Under
// SQLCipher those bytes are encrypted; page 1 is rewritten, so they change,
// on every commit all the same.)
//
// What <db>-shm shows anyone who may read it: frame and page numbers, salts
// and checksums. For an encrypted database the frames are encrypted and so
// are what the checksums cover: no document text.
#ifndef DOCSTORE_CORE_FILE_WATCH_H_
#define DOCSTORE_CORE_FILE_WATCH_H_

#include <array>
#include <cstdint>
#include <cstdlib>
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
  explicit FileWatch(sqlite3_file* file) : file_(file) {}
  State ObserveHeader() const;

  sqlite3_file* const file_;             // the database, opened through its VFS
  const uint64_t* wal_index_ = nullptr;  // WAL mode: the mapped WAL-index header
};

}  // namespace docstore

#endif  // DOCSTORE_CORE_FILE_WATCH_H_
