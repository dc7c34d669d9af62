#include "file_watch.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "sqlite_util.h"

namespace docstore {
namespace {

// The two copies of the WAL-index header and the checkpoint information:
// the first page of <db>-shm covers them.
constexpr size_t kWalIndexMapBytes = 4096;
constexpr size_t kWalIndexHeaderBytes = 48;
static_assert(kWalIndexHeaderBytes == sizeof(FileWatch::State));

// Database header: the change counter at 24, the page count at 28,
// version-valid-for at 92.
constexpr off_t kHeaderChangeCounter = 24;
constexpr size_t kHeaderSpan = 100 - kHeaderChangeCounter;
// Tells a rollback-mode state from any WAL-index header (whose first word
// holds SQLite's WAL-index version, 3007000).
constexpr uint64_t kRollbackMark = 0x6b636162'6c6c6f72ull;  // "rollback"

}  // namespace

Status FileWatch::Open(sqlite3* db, std::unique_ptr<FileWatch>* out) {
  out->reset();
  const char* path = sqlite3_db_filename(db, "main");
  if (path == nullptr || *path == '\0') return Status::Unavailable("an in-memory database has no file to watch");
  const std::string mode = QueryText(db, "PRAGMA main.journal_mode");
  if (mode == "wal") {
    const std::string shm = std::string(path) + "-shm";
    const int fd = open(shm.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return Status::Unavailable("cannot open " + shm + " (" + std::strerror(errno) +
                                 "): a WAL database whose index is not in a file (locking_mode=EXCLUSIVE?)");
    }
    struct stat st;
    void* map = MAP_FAILED;
    if (fstat(fd, &st) == 0 && static_cast<size_t>(st.st_size) >= kWalIndexMapBytes) {
      map = mmap(nullptr, kWalIndexMapBytes, PROT_READ, MAP_SHARED, fd, 0);
    }
    close(fd);
    if (map == MAP_FAILED) return Status::Unavailable("cannot map the WAL index " + shm);
    out->reset(new FileWatch(static_cast<const uint64_t*>(map), -1));
    return Status::Ok();
  }
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Unavailable(std::string("cannot open ") + path + ": " + std::strerror(errno));
  out->reset(new FileWatch(nullptr, fd));
  return Status::Ok();
}

FileWatch::~FileWatch() {
  if (wal_index_ != nullptr) munmap(const_cast<uint64_t*>(wal_index_), kWalIndexMapBytes);
  if (database_fd_ >= 0) close(database_fd_);
}

FileWatch::State FileWatch::ObserveHeader() const {
  State state{};
  state[0] = kRollbackMark;
  unsigned char header[kHeaderSpan] = {};
  // A short read (a file being replaced) leaves zeros: a state of its own.
  const ssize_t n = pread(database_fd_, header, sizeof header, kHeaderChangeCounter);
  state[1] = static_cast<uint64_t>(n);
  std::memcpy(&state[2], header, 8);                                          // change counter, page count
  std::memcpy(&state[3], header + (92 - kHeaderChangeCounter), 8);            // version-valid-for, library version
  return state;
}

}  // namespace docstore
