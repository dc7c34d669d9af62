// The divergence audit: compares every cached entry of a database with its
// row, and lists the entries that differ. In a healthy system the list is
// always empty; docstore_verify (SQL) shows it and the coherence checker
// requires it empty at the end of its run.
//
// What counts as a divergence. The cache may legitimately lag the file:
// after a commit, entries of the changed documents stay until a reader
// catches up, and no hit is served meanwhile (document_cache.h). So an
// entry is compared with its row as of one snapshot S (one read
// transaction), and one that differs is reported only if
//   - the document's last change at or before S (its entry in the change
//     log, or a change of every document) was already applied to the cache
//     (its clock is at or below the position published before the entries
//     were read): an entry still there after its invalidation can only be a
//     fill from a snapshot at or after that change; and
//   - no fill can have come from a snapshot with a newer document than S:
//     after the entries were read, the cache is caught up with the file as
//     it is now, at S's clock (no document changed since S).
// The audit cannot catch the cache up itself when it runs inside a read
// transaction (SQL's SELECT FROM docstore_verify does: its statement holds
// its snapshot from its first step, and the file may have moved on since).
// So while writes go on, entries that differ are not listed (none can be
// proved stale); at rest, after any read caught the cache up, every one is.
// An entry that does not decode (tampered with, sealed under another key)
// is always reported, and dropped (as a read would).
// Only the document is compared, not the access fields of its trailer: a
// flush patches them after its commit, so they may trail the database for a
// moment by design.
//
// Reading an entry counts as a hit in docstore_stats, as any read of the
// segment does.
#ifndef DOCSTORE_CORE_CACHE_VERIFY_H_
#define DOCSTORE_CORE_CACHE_VERIFY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cache_client.h"
#include "status.h"

namespace docstore {

struct Divergence {
  int64_t id = 0;
  uint64_t cached_version = 0;
  std::optional<int64_t> database_version;  // none: no such row
  const char* reason = "";                  // one of the reasons below
};

// Divergence reasons.
inline constexpr char kStale[] = "stale";              // older than the row
inline constexpr char kDeleted[] = "deleted";          // the row is gone
inline constexpr char kNewer[] = "newer than the row";  // a version the row never had
inline constexpr char kBytesDiffer[] = "bytes differ";  // same version, other document
inline constexpr char kUndecodable[] = "undecodable";  // does not decode or authenticate

// The divergences of the cache of `client`'s database, in *out (empty when
// none, or when there is no cache). Catches the cache up first when the
// connection can. kError when this process cannot read the entries (reads
// off: the message says why).
Status VerifyCache(CacheClient* client, std::vector<Divergence>* out);

}  // namespace docstore

#endif  // DOCSTORE_CORE_CACHE_VERIFY_H_
