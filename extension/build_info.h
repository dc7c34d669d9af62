// Facts about this build of the extension, fixed at compile time.
#ifndef DOCSTORE_EXTENSION_BUILD_INFO_H_
#define DOCSTORE_EXTENSION_BUILD_INFO_H_

#include "docstore_version.h"
#include "sqlite_api.h"

namespace docstore {

#ifdef DOCSTORE_SQLCIPHER_BUILD
inline constexpr const char* kBuildVariant = "sqlcipher";
#else
inline constexpr const char* kBuildVariant = "sqlite";
#endif

// The sqlite3_api_routines table grows with each release; calling an entry a
// runtime does not have jumps through garbage. So the runtime must be at least
// the minor release whose headers this build was compiled against.
inline constexpr int kMinimumRuntimeVersion = SQLITE_VERSION_NUMBER / 1000 * 1000;
inline constexpr const char* kBuiltAgainstVersion = SQLITE_VERSION;

}  // namespace docstore

#endif  // DOCSTORE_EXTENSION_BUILD_INFO_H_
