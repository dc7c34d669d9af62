#include "file_watch.h"

#include <cstring>
#include <string>

#include "sqlite_util.h"

namespace docstore {
namespace {

// SQLite maps the WAL index in regions of this size; the first holds both
// copies of the header.
constexpr int kWalIndexRegionBytes = 32768;
constexpr size_t kWalIndexHeaderBytes = 48;
static_assert(kWalIndexHeaderBytes == sizeof(FileWatch::State));

// Database header: the change counter at 24, the page count at 28,
// version-valid-for at 92.
constexpr int kHeaderChangeCounter = 24;
constexpr int kHeaderSpan = 100 - kHeaderChangeCounter;
// Tells a rollback-mode state from any WAL-index header (whose first word
// holds SQLite's WAL-index version, 3007000).
constexpr uint64_t kRollbackMark = 0x6b636162'6c6c6f72ull;  // "rollback"

}  // namespace

Status FileWatch::Open(sqlite3* db, std::unique_ptr<FileWatch>* out) {
  out->reset();
  const char* path = sqlite3_db_filename(db, "main");
  if (path == nullptr || *path == '\0') return Status::Unavailable("an in-memory database has no file to watch");
  sqlite3_vfs* vfs = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_VFS_POINTER, &vfs) != SQLITE_OK || vfs == nullptr) {
    return Status::Unavailable("cannot find the database's VFS");
  }
  auto* file = static_cast<sqlite3_file*>(std::calloc(1, static_cast<size_t>(vfs->szOsFile)));
  if (file == nullptr) return Status::Unavailable("out of memory");
  int flags = 0;
  // `path` is the pager's own copy, in the form xOpen expects (URI
  // parameters after it), and outlives this watch: the connection ends it.
  if (vfs->xOpen(vfs, path, file, SQLITE_OPEN_READONLY | SQLITE_OPEN_MAIN_DB, &flags) != SQLITE_OK) {
    if (file->pMethods != nullptr) file->pMethods->xClose(file);
    std::free(file);
    return Status::Unavailable(std::string("cannot open ") + path + " to watch it");
  }
  std::unique_ptr<FileWatch> watch(new FileWatch(file));
  if (QueryText(db, "PRAGMA main.journal_mode") == "wal") {
    volatile void* region = nullptr;
    if (file->pMethods->iVersion < 2 || file->pMethods->xShmMap == nullptr ||
        file->pMethods->xShmMap(file, 0, kWalIndexRegionBytes, 0, &region) != SQLITE_OK || region == nullptr) {
      return Status::Unavailable(std::string("cannot map the WAL index of ") + path +
                                 " (is it in heap memory, under locking_mode=EXCLUSIVE?)");
    }
    watch->wal_index_ = const_cast<const uint64_t*>(static_cast<volatile uint64_t*>(region));
  }
  *out = std::move(watch);
  return Status::Ok();
}

FileWatch::~FileWatch() {
  if (wal_index_ != nullptr) file_->pMethods->xShmUnmap(file_, 0);
  file_->pMethods->xClose(file_);
  std::free(file_);
}

FileWatch::State FileWatch::ObserveHeader() const {
  State state{};
  state[0] = kRollbackMark;
  unsigned char header[kHeaderSpan] = {};
  // A short read (a file being replaced) reads as zeros: a state of its own.
  state[1] = static_cast<uint64_t>(file_->pMethods->xRead(file_, header, sizeof header, kHeaderChangeCounter));
  std::memcpy(&state[2], header, 8);                               // change counter, page count
  std::memcpy(&state[3], header + (92 - kHeaderChangeCounter), 8);  // version-valid-for, library version
  return state;
}

}  // namespace docstore
