// Who may trust a database's segment (DESIGN.md invariant 8): the rule that
// keeps a local user from gaining through the cache what the database
// file's permissions deny them.
//
// THE RULE. Whoever can write a segment can change what its readers are
// served (a forged entry), what they count and whether they wait. So a
// segment is used only if everyone who can write it can write the database
// file anyway (they could change the documents there):
//   - its owner is root, this process's user, or a user who may write the
//     database (its owner; a member of its group when the file is
//     group-writable; anyone when it is writable by all);
//   - it is group-writable only if its group is the database's and the
//     database is group-writable (or writable by all);
//   - it is writable by all only if the database is.
// Permissions are read from the mode bits (ACLs are not consulted). A
// segment that fails the rule is ignored as if absent: reads come from the
// database, writes go through (they never depend on the segment), and
// docstore_stats says which segment was ignored and why.
//
// A new segment is given no more than the database grants: the configured
// mode (DOCSTORE_CACHE_MODE), with group or other bits only where the
// database file lets that class read and write it (a segment is always
// mapped for reading and writing, so read bits alone would only leak), and
// the database's group (when the creator belongs to it; otherwise no group
// bits at all). So who may open a segment may read and write the database,
// and the segment passes the rule for every user who shares it.
// One made by root belongs to the database's owner: an administrator's
// maintenance query must not leave the service that owns the database a
// segment it cannot open.
#ifndef DOCSTORE_CORE_SEGMENT_TRUST_H_
#define DOCSTORE_CORE_SEGMENT_TRUST_H_

#include <sys/types.h>

#include "shmcache/shmcache.h"
#include "status.h"

namespace docstore {

// Whether user `uid` may write a file owned as `database` (by its mode
// bits). A process that may not uses no segment: those who may would not
// trust one it made, and one it could open would be one it could change.
bool MayWrite(const shmcache::FileOwner& database, uid_t uid);
// The same for this process, by its own groups (no user database lookup).
bool MayWriteAsThisProcess(const shmcache::FileOwner& database);

// Ok if a process running as `self` may use a segment owned as `segment`
// for a database file owned as `database`; else kError saying why not.
Status CheckSegmentTrust(const shmcache::FileOwner& database, const shmcache::FileOwner& segment, uid_t self);

// The owner, group (-1: the creator's) and mode of a new segment for
// `database`, made by this process under the configured `mode`.
shmcache::FileOwner NewSegmentAccess(const shmcache::FileOwner& database, mode_t mode);

}  // namespace docstore

#endif  // DOCSTORE_CORE_SEGMENT_TRUST_H_
