// docstore-sidecar: writes the accesses that doc_get and doc_touch counted in
// a database's shared-memory segment into its document_access table, in
// batched transactions, exactly once (see core/access_flusher.h).
//
//   docstore-sidecar [options] DATABASE
//     --interval-ms N   flush every N ms (default 100)
//     --fill-percent P  flush at once when a pending table is P% full (default 50)
//     --once            flush once and exit (0: flushed or nothing to do)
//     --key-file PATH   SQLCipher key from a file of this user or root, mode 0600
//                       or 0640 (its group may read it; no one else)
//     --key-fd N        SQLCipher key from an inherited descriptor
//     --raw-key         the key is a raw key in hex (64 digits, or 96 with the
//                       salt), applied as x'...' with no key derivation
//     --cipher-compatibility 3|4, --kdf-iter N, --cipher-page-size N
//                       the cipher settings the application applies after its
//                       key (SQLCipher 3 databases: --cipher-compatibility 3)
//     --warm N          load the N most accessed documents into the cache
//                       (core/cache_warm.h), creating the segment if there is
//                       none: a warm start after a reboot
//     --verbose         one line per flush (otherwise one line per error)
//     --metrics-listen HOST:PORT   serve GET /metrics (Prometheus) on HOST:PORT
//     --metrics-file PATH          write the same text to PATH (node_exporter's
//                       textfile collector); both in metrics_server.h
//     --version         the version, and the SQLite/SQLCipher it is linked with
//   docstore-sidecar --list-segments [--remove-orphans] [--under DIR]
//                       every docstore segment on the host (--under: of the
//                       databases under DIR), its database and whether that
//                       still exists; removes the orphans that no process
//                       uses (segment_list.h)
//   docstore-sidecar --remove-segment DATABASE
//                       removes the database's segment unless a process uses
//                       it (for the systemd unit's ExecStopPost)
//
// One runs per database file on a host (--once aside): a second one says
// which is running and exits 1. Until the database exists and has docstore's
// schema, it says so once and looks again every interval (a service may start
// before the application; --once exits 0 without the schema). It attaches to
// the segment the database's clients made and never creates one: until one
// exists there is nothing to flush, and it looks again at every interval
// (--once: exits 0 at once). With --warm it does create it (as a client
// would: DOCSTORE_CACHE_* settings, the database's owner and mode), then warms
// it from its flush loop, one batch of 256 documents per turn, so a flush is
// never held up by more than one batch; it tops up a cache that has entries
// already (--once: warms it all, then flushes). Linked with SQLCipher 4 (or
// 3.4, see --version). SIGTERM or SIGINT: a last flush, then exit 0. Exit 2: a
// usage error. The key is never taken from the command line, where other
// users could read it; it is derived once, when the database is opened, not
// per flush. A sidecar killed at any instant loses and doubles nothing: the
// next one (or doc_flush) finds what it froze and the database says whether
// it was written.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string.h>
#include <string>
#include <thread>
#include <utility>

#include "access_flusher.h"
#include "cache_warm.h"
#include "docstore_version.h"
#include "document_cache.h"
#include "metrics_server.h"
#include "segment_list.h"
#include "sqlite_api.h"
#include "sqlite_util.h"

namespace docstore {
namespace {

std::atomic<bool> stop_requested{false};

// Which SQLCipher line this build reads (cmake: DOCSTORE_SQLCIPHER4).
#if SQLITE_VERSION_NUMBER >= 3026000
constexpr const char* kLinkedCipher = " (SQLCipher 4: plain databases and keyed ones of both lines)";
#else
constexpr const char* kLinkedCipher = " (SQLCipher 3.4: plain databases and SQLCipher 3 ones)";
#endif

void RequestStop(int) { stop_requested = true; }

struct Options {
  std::string database;
  bool list_segments = false;
  bool remove_orphans = false;
  bool remove_segment = false;
  std::string under;
  int interval_ms = 100;
  int fill_percent = 50;
  bool once = false;
  bool verbose = false;
  int warm = 0;  // documents to load at start; 0: none
  std::string key_file;
  int key_fd = -1;
  bool raw_key = false;
  // Each applied with PRAGMA after the key when not 0.
  int cipher_compatibility = 0;
  int kdf_iter = 0;
  int cipher_page_size = 0;
  std::string metrics_listen;
  std::string metrics_file;

  bool keyed() const { return !key_file.empty() || key_fd >= 0; }
};

// Exits 2 after a problem; 0 (usage on stdout) when asked for help.
[[noreturn]] void Usage(const char* problem) {
  if (problem != nullptr) std::fprintf(stderr, "docstore-sidecar: %s\n", problem);
  std::fprintf(problem != nullptr ? stderr : stdout,
               "usage: docstore-sidecar [--interval-ms N] [--fill-percent P] [--once] [--warm N] [--verbose]\n"
               "                        [--version]\n"
               "                        [--key-file PATH | --key-fd N] [--raw-key]\n"
               "                        [--cipher-compatibility 3|4] [--kdf-iter N] [--cipher-page-size N]\n"
               "                        [--metrics-listen HOST:PORT] [--metrics-file PATH]\n"
               "                        DATABASE\n"
               "       docstore-sidecar --list-segments [--remove-orphans] [--under DIR]\n"
               "       docstore-sidecar --remove-segment DATABASE\n");
  std::exit(problem != nullptr ? 2 : 0);
}

int ParseInt(const char* text, int low, int high, const char* what) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || value < low || value > high) {
    const std::string problem = std::string(what) + " must be a number from " + std::to_string(low) +
                                " to " + std::to_string(high);
    Usage(problem.c_str());
  }
  return static_cast<int>(value);
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) Usage((arg + " needs a value").c_str());
      return argv[++i];
    };
    if (arg == "--interval-ms") {
      o.interval_ms = ParseInt(value(), 1, 3600000, "--interval-ms");
    } else if (arg == "--fill-percent") {
      o.fill_percent = ParseInt(value(), 1, 100, "--fill-percent");
    } else if (arg == "--once") {
      o.once = true;
    } else if (arg == "--warm") {
      o.warm = ParseInt(value(), 1, 1 << 30, "--warm");
    } else if (arg == "--verbose") {
      o.verbose = true;
    } else if (arg == "--key-file") {
      o.key_file = value();
    } else if (arg == "--key-fd") {
      o.key_fd = ParseInt(value(), 0, 1 << 20, "--key-fd");
    } else if (arg == "--raw-key") {
      o.raw_key = true;
    } else if (arg == "--cipher-compatibility") {
      o.cipher_compatibility = ParseInt(value(), 3, 4, "--cipher-compatibility");
    } else if (arg == "--kdf-iter") {
      o.kdf_iter = ParseInt(value(), 1, 1 << 30, "--kdf-iter");
    } else if (arg == "--cipher-page-size") {
      o.cipher_page_size = ParseInt(value(), 512, 65536, "--cipher-page-size");
      if ((o.cipher_page_size & (o.cipher_page_size - 1)) != 0) Usage("--cipher-page-size must be a power of two");
    } else if (arg == "--remove-segment") {
      o.remove_segment = true;
    } else if (arg == "--list-segments") {
      o.list_segments = true;
    } else if (arg == "--remove-orphans") {
      o.remove_orphans = true;
    } else if (arg == "--under") {
      o.under = value();
    } else if (arg == "--metrics-listen") {
      o.metrics_listen = value();
      std::string host;
      int port = 0;
      if (const Status s = ParseListenAddress(o.metrics_listen, &host, &port); !s.ok()) Usage(s.message().c_str());
    } else if (arg == "--metrics-file") {
      o.metrics_file = value();
    } else if (arg == "--help" || arg == "-h") {
      Usage(nullptr);
    } else if (arg == "--version") {
      std::printf("docstore-sidecar %s (commit %s), linked with SQLite %s%s\n", kDocstoreVersion, kDocstoreCommit,
                  sqlite3_libversion(), kLinkedCipher);
      std::exit(0);
    } else if (!arg.empty() && arg[0] == '-') {
      Usage(("unknown option " + arg).c_str());
    } else if (o.database.empty()) {
      o.database = arg;
    } else {
      Usage("one database only");
    }
  }
  if ((o.remove_orphans || !o.under.empty()) && !o.list_segments) {
    Usage("--remove-orphans and --under go with --list-segments");
  }
  if (o.list_segments) {
    if (!o.database.empty()) Usage("--list-segments takes no database");
    return o;
  }
  if (o.database.empty()) Usage("no database given");
  if (o.remove_segment) return o;
  if (!o.key_file.empty() && o.key_fd >= 0) Usage("--key-file or --key-fd, not both");
  if (!o.keyed() && (o.raw_key || o.cipher_compatibility != 0 || o.kdf_iter != 0 || o.cipher_page_size != 0)) {
    Usage("--raw-key and the cipher settings need --key-file or --key-fd");
  }
  if (o.once && (!o.metrics_listen.empty() || !o.metrics_file.empty())) {
    Usage("--metrics-listen and --metrics-file are for a sidecar that keeps running, not --once");
  }
  return o;
}

// The whole of an open descriptor, one trailing newline dropped.
bool ReadKey(int fd, std::string* key) {
  char buffer[4096];
  ssize_t n;
  key->reserve(sizeof buffer);  // no reallocation leaving copies behind for a key of normal size
  while ((n = read(fd, buffer, sizeof buffer)) > 0) key->append(buffer, static_cast<size_t>(n));
  explicit_bzero(buffer, sizeof buffer);
  if (n < 0) return false;
  if (!key->empty() && key->back() == '\n') key->pop_back();
  if (!key->empty() && key->back() == '\r') key->pop_back();
  return true;
}

// A raw key in hex becomes the literal x'...' that SQLCipher takes as key
// bytes, skipping key derivation.
bool RawKeyLiteral(std::string* key, std::string* error) {
  const bool hex = std::all_of(key->begin(), key->end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  if (!hex || (key->size() != 64 && key->size() != 96)) {
    *error = "--raw-key: the key must be 64 hex digits (256 bits), or 96 with the salt; it has " +
             std::to_string(key->size()) + (hex ? " digits" : " characters, not all hex digits");
    return false;
  }
  key->insert(0, "x'");
  key->push_back('\'');
  return true;
}

bool LoadKey(const Options& o, std::string* key, std::string* error) {
  if (o.key_fd >= 0) {
    if (!ReadKey(o.key_fd, key)) {
      *error = "cannot read the key from descriptor " + std::to_string(o.key_fd) + ": " + std::strerror(errno);
      return false;
    }
    close(o.key_fd);
  } else {
    const int fd = open(o.key_file.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
      *error = "cannot open the key file " + o.key_file + ": " + std::strerror(errno);
      if (fd >= 0) close(fd);
      return false;
    }
    // This user's own file, or root's (an administrator's key given to the
    // service's group): readable by the owner and at most read by the group,
    // as Debian keeps such secrets (root:service 0640).
    if (!S_ISREG(st.st_mode) || (st.st_uid != geteuid() && st.st_uid != 0)) {
      close(fd);
      *error = "the key file " + o.key_file + " must be a regular file owned by this user or root";
      return false;
    }
    if ((st.st_mode & 027) != 0) {
      close(fd);
      char mode[8];
      std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
      *error = "the key file " + o.key_file + " can be " + ((st.st_mode & 007) != 0 ? "read by others" : "changed by its group") +
               " (mode " + mode + "); chmod 600 it, or 640 to share it with the file's group";
      return false;
    }
    const bool ok = ReadKey(fd, key);
    close(fd);
    if (!ok) {
      *error = "cannot read the key file " + o.key_file;
      return false;
    }
  }
  if (key->empty()) {
    *error = "the key is empty";
    return false;
  }
  if (o.raw_key) return RawKeyLiteral(key, error);
  return true;
}

// One flushing sidecar per database file on a host. The first holds a
// listening abstract unix socket named after the file's device and inode:
// the kernel releases the name when the process exits, however it dies, so
// nothing is left to clean up; a second finds it taken, and learns the
// first one's pid from the connection (SO_PEERCRED), which the first one
// accepts and closes (DismissCallers). Returns the socket to keep open while
// flushing, or -1 with *error.
int ClaimDatabase(const std::string& path, std::string* error) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    *error = "cannot stat " + path + ": " + std::strerror(errno);
    return -1;
  }
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const int name_bytes = std::snprintf(address.sun_path + 1, sizeof address.sun_path - 1,
                                       "docstore-sidecar-%llx-%llx", static_cast<unsigned long long>(st.st_dev),
                                       static_cast<unsigned long long>(st.st_ino));
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name_bytes);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *error = std::string("cannot make a socket: ") + std::strerror(errno);
    return -1;
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), length) == 0 && listen(fd, 1) == 0) return fd;
  const int bind_errno = errno;
  close(fd);
  if (bind_errno != EADDRINUSE) {
    *error = std::string("cannot claim the database: ") + std::strerror(bind_errno);
    return -1;
  }
  std::string first = "another docstore-sidecar";
  const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  ucred peer{};
  socklen_t peer_bytes = sizeof peer;
  if (probe >= 0 && connect(probe, reinterpret_cast<const sockaddr*>(&address), length) == 0 &&
      getsockopt(probe, SOL_SOCKET, SO_PEERCRED, &peer, &peer_bytes) == 0) {
    first += " (pid " + std::to_string(peer.pid) + ")";
  }
  if (probe >= 0) close(probe);
  *error = first + " already flushes " + path +
           "; one per database is enough (stop that one first; docstore-sidecar --once or SELECT doc_flush() flush "
           "once beside it)";
  return -1;
}

// How long a flush of the loop waits for another flusher to finish.
constexpr uint32_t kLoopFlushWaitMs = 100;

// Closes the connections of sidecars that asked who holds the claim.
void DismissCallers(int claim) {
  for (int caller; (caller = accept4(claim, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) close(caller);
}

class Sidecar {
 public:
  explicit Sidecar(Options options) : o_(std::move(options)), metrics_(o_.database) {}
  ~Sidecar() {
    if (db_ != nullptr) sqlite3_close(db_);
  }

  int Run() {
    std::string error;
    for (OpenResult opened; (opened = Open(&error)) != OpenResult::kOpened;) {
      // A database not there or not set up yet is one an application will
      // create: the loop waits for it (a service may start first); --once has
      // nothing to flush without the schema, and names a missing file.
      if (opened == OpenResult::kFailed || o_.once) {
        std::fprintf(stderr, "docstore-sidecar: %s%s\n", error.c_str(),
                     opened == OpenResult::kFailed ? "" : ": nothing to flush");
        return opened == OpenResult::kFailed ? 1 : 0;
      }
      if (error != waiting_for_) {
        std::fprintf(stderr, "docstore-sidecar: %s; looking again every %d ms\n", error.c_str(), o_.interval_ms);
      }
      waiting_for_ = error;
      for (int slept = 0; slept < o_.interval_ms && !stop_requested; slept += 10) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (stop_requested) return 0;
    }
    if (sqlite3_db_readonly(db_, "main") == 1) {
      // Readers count no accesses where the database cannot be written
      // (core/cache_client.h), so nothing waits for a flush here.
      std::fprintf(stderr,
                   "docstore-sidecar: %s is read-only here (file permissions, a read-only mount, a replica):"
                   " accesses are not counted on a read-only database, so there is nothing to flush; run"
                   " docstore-sidecar where the database is written\n",
                   o_.database.c_str());
      return 0;
    }
    if (o_.once) {
      if (o_.warm > 0) BeginWarm();  // before Attach: the segment it makes is the one flushed
      while (warm_ != nullptr) WarmStep();
      if (!Attach()) return 1;
      return cache_ == nullptr || Flush(kFlushLockWaitMs) ? 0 : 1;
    }
    const int claim = ClaimDatabase(o_.database, &error);  // held until this process exits
    if (claim < 0) {
      std::fprintf(stderr, "docstore-sidecar: %s\n", error.c_str());
      return 1;
    }
    if (const Status status = metrics_.Start(o_.metrics_listen, o_.metrics_file); !status.ok()) {
      std::fprintf(stderr, "docstore-sidecar: %s\n", status.message().c_str());
      return 1;
    }
    if (o_.warm > 0) BeginWarm();  // as above
    auto last_attempt = std::chrono::steady_clock::now() - std::chrono::hours(1);
    while (!stop_requested) {
      DismissCallers(claim);
      const auto now = std::chrono::steady_clock::now();
      const bool due = now - last_attempt >= std::chrono::milliseconds(o_.interval_ms);
      if (cache_ == nullptr) {
        if (due) {
          if (!Attach()) return 1;
          last_attempt = now;
        }
      } else {
        cache_->Heartbeat(getpid());
        if (due || cache_->PendingFullestPercent() >= static_cast<uint64_t>(o_.fill_percent)) {
          Flush(kLoopFlushWaitMs);
          last_attempt = now;
        }
      }
      if (due) metrics_.Tick();
      if (warm_ != nullptr) {
        WarmStep();  // instead of sleeping
        continue;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(o_.interval_ms, 10)));
    }
    if (cache_ == nullptr) return 0;
    const bool flushed = Flush(kFlushLockWaitMs);
    cache_->SidecarStopped();
    return flushed ? 0 : 1;
  }

 private:
  enum class OpenResult { kOpened, kNotYet, kFailed };

  // Opens the database with its key (once: a key from a descriptor is read
  // once), then looks for docstore's schema. kNotYet: no such file, or no
  // docstore schema in it yet (nothing can have counted accesses in it).
  OpenResult Open(std::string* error) {
    if (db_ == nullptr) {
      const OpenResult opened = OpenFile(error);
      if (opened != OpenResult::kOpened) return opened;
    }
    database_id_ = QueryText(db_, "SELECT value FROM docstore_meta WHERE key = 'database_id'");
    if (database_id_.empty()) {
      *error = o_.database + " has no docstore schema yet (run SELECT docstore_init())";
      return OpenResult::kNotYet;
    }
    return OpenResult::kOpened;
  }

  OpenResult OpenFile(std::string* error) {
    struct stat st;
    if (!o_.once && stat(o_.database.c_str(), &st) != 0 && errno == ENOENT) {
      *error = o_.database + " does not exist yet";
      return OpenResult::kNotYet;
    }
    if (sqlite3_open_v2(o_.database.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      *error = "cannot open " + o_.database + ": " + sqlite3_errmsg(db_);
      return OpenResult::kFailed;
    }
    // SQLCipher 4 logs a failed page check to stderr itself; the message
    // below says what it means (SQLCipher 3.4 knows no such pragma).
    sqlite3_exec(db_, "PRAGMA cipher_log_level = NONE", nullptr, nullptr, nullptr);
    sqlite3_busy_timeout(db_, 1000);
    const bool keyed = o_.keyed();
    if (keyed && !ApplyKey(error)) return OpenResult::kFailed;
    if (sqlite3_exec(db_, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr) != SQLITE_OK) {
      // The key hint only where a key can be the cause: SQLite reads an
      // encrypted file, or one read with the wrong key, as "not a database".
      const bool not_a_database = (sqlite3_errcode(db_) & 0xff) == SQLITE_NOTADB;
      *error = "cannot read " + o_.database + " (" + sqlite3_errmsg(db_) + ")" +
               (!not_a_database ? "" : keyed ? ": wrong key or cipher settings?" : ": encrypted? give --key-file or --key-fd");
      return OpenResult::kFailed;
    }
    return OpenResult::kOpened;
  }

  // Attaches to the database's segment if there is one: true, with cache_
  // still null when there is none yet. False (said on stderr) for a segment
  // that exists but cannot be used.
  bool Attach() {
    // No cache key: the sidecar serves no document, it only patches the
    // access fields, which are outside the seal.
    const Status status = DocumentCache::Attach(o_.database, database_id_, DocumentCache::AttachMode::kOpenExisting,
                                                EntryCodec(), "the sidecar serves no documents", &cache_);
    if (status.IsUnavailable()) {
      // None yet, or one that is not to be trusted (segment_trust.h): said
      // once per reason, looked for again every interval.
      if (status.message() != waiting_for_) {
        std::fprintf(stderr, "docstore-sidecar: no segment of %s to flush yet (%s)\n", o_.database.c_str(),
                     status.message().c_str());
      }
      waiting_for_ = status.message();
      metrics_.Waiting(waiting_for_);
      return true;
    }
    if (!status.ok()) {
      std::fprintf(stderr, "docstore-sidecar: cannot use the shared segment of %s: %s\n", o_.database.c_str(),
                   status.message().c_str());
    }
    if (status.ok()) metrics_.Attached(cache_);
    return status.ok();
  }

  // Ranks the documents and makes or attaches the segment, as a client
  // does (reads on, the cache key of a keyed database). A warm that cannot
  // be done is said and left: flushing goes on.
  void BeginWarm() {
    warm_client_ = std::make_unique<CacheClient>(db_);
    const Status status = CacheWarm::Begin(warm_client_.get(), static_cast<uint64_t>(o_.warm), &warm_);
    if (!status.ok()) EndWarm(status);
  }

  void WarmStep() {
    const Status status = warm_->Step();
    if (!status.ok() || warm_->done()) EndWarm(status);
  }

  void EndWarm(const Status& status) {
    if (!status.ok()) {
      std::fprintf(stderr, "docstore-sidecar: --warm: cannot warm %s: %s\n", o_.database.c_str(),
                   status.message().c_str());
    } else {
      const WarmResult& r = warm_->result();
      std::fprintf(stderr, "docstore-sidecar: --warm: loaded %llu of the %llu most accessed documents (%llu were"
                   " cached already)%s\n",
                   static_cast<unsigned long long>(r.loaded), static_cast<unsigned long long>(r.ranked),
                   static_cast<unsigned long long>(r.already_cached),
                   r.stopped_full ? "; stopped when the cache began to evict (it is full)" : "");
    }
    warm_.reset();
    warm_client_.reset();
  }

  // The key, then the cipher settings, as SQLCipher wants them: before the
  // first read, which derives the key once for the life of the connection.
  bool ApplyKey(std::string* error) {
    std::string key;
    if (!LoadKey(o_, &key, error)) {
      explicit_bzero(key.data(), key.size());
      return false;
    }
    const int rc = sqlite3_key(db_, key.data(), static_cast<int>(key.size()));
    explicit_bzero(key.data(), key.size());
    if (rc != SQLITE_OK) {
      *error = std::string("cannot apply the key: ") + sqlite3_errmsg(db_);
      return false;
    }
    const std::pair<const char*, int> settings[] = {{"cipher_compatibility", o_.cipher_compatibility},
                                                    {"kdf_iter", o_.kdf_iter},
                                                    {"cipher_page_size", o_.cipher_page_size}};
    for (const auto& [pragma, value] : settings) {
      if (value == 0) continue;
      const std::string sql = std::string("PRAGMA ") + pragma + " = " + std::to_string(value);
      if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
        *error = sql + ": " + sqlite3_errmsg(db_);
        return false;
      }
    }
    return true;
  }

  // One flush, waiting at most `wait_ms` for the flush lock; logs a failure
  // once until the next success. Another flusher holding the lock is no
  // failure: it is doing this one's work (so the loop hardly waits for it,
  // and keeps its heartbeat; the last flush and --once wait).
  bool Flush(uint32_t wait_ms) {
    FlushResult result;
    const Status status = FlushPendingAccesses(db_, cache_.get(), wait_ms, &result);
    if (status.IsBusy()) return true;
    if (!status.ok()) {
      if (status.message() != last_error_) {
        std::fprintf(stderr, "docstore-sidecar: flush failed, will retry: %s\n", status.message().c_str());
      }
      last_error_ = status.message();
      return false;
    }
    if (!last_error_.empty()) std::fprintf(stderr, "docstore-sidecar: flushing again\n");
    last_error_.clear();
    if (o_.verbose && result.rows > 0) {
      std::fprintf(stderr, "docstore-sidecar: flushed %llu accesses to %llu documents\n",
                   static_cast<unsigned long long>(result.accesses), static_cast<unsigned long long>(result.rows));
    }
    return true;
  }

  const Options o_;
  sqlite3* db_ = nullptr;
  std::string database_id_;
  std::shared_ptr<DocumentCache> cache_;  // null until the segment exists
  SidecarMetrics metrics_;                    // --metrics-listen, --metrics-file
  std::unique_ptr<CacheClient> warm_client_;  // --warm: the segment as a client attaches it
  std::unique_ptr<CacheWarm> warm_;           // --warm: null once done
  std::string waiting_for_;  // why there was no database or segment to use, last said
  std::string last_error_;
};

}  // namespace
}  // namespace docstore

int main(int argc, char** argv) {
  const docstore::Options options = docstore::ParseOptions(argc, argv);
  if (options.list_segments) return docstore::ListSegmentsCommand(options.remove_orphans, options.under);
  if (options.remove_segment) return docstore::RemoveDatabaseSegmentsCommand(options.database);
  struct sigaction action {};
  action.sa_handler = docstore::RequestStop;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  return docstore::Sidecar(options).Run();
}
