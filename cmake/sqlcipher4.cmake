# SQLCipher 4 for the programs docstore links with it: docstore-sidecar (which
# SQLCipher 4 lets open keyed databases of both lines), the *_sqlcipher4 tests
# and cipher_bench. Defines the target SQLCipher4::SQLCipher4.
#
# DOCSTORE_SQLCIPHER4 names one of:
#   - an amalgamation directory (sqlite3.c, sqlite3.h), compiled here with
#     the defines SQLCipher's own builds use. The library is staged as an
#     installed prefix, ${PROJECT_BINARY_DIR}/sqlcipher4, so that other build
#     trees (scripts/test's sanitizer trees) can link it without compiling
#     its 9 MB again;
#   - an installed SQLCipher 4: a prefix with include/sqlcipher/sqlite3.h (or
#     include/sqlite3.h) and lib/libsqlcipher.{so,a}.
# Included only when DOCSTORE_SQLCIPHER4 is given: scripts/test and
# scripts/bench give the amalgamation of the npm package
# @journeyapps/sqlcipher, which they install into tests/clients/node_modules.

find_package(Threads REQUIRED)

if(EXISTS ${DOCSTORE_SQLCIPHER4}/sqlite3.c)
  set(SQLCIPHER4_INCLUDE_DIR ${DOCSTORE_SQLCIPHER4})
  file(STRINGS ${DOCSTORE_SQLCIPHER4}/sqlite3.c cipher_version REGEX "^#define CIPHER_VERSION_NUMBER ")
  if(NOT cipher_version MATCHES "CIPHER_VERSION_NUMBER +4\\.")
    message(FATAL_ERROR "${DOCSTORE_SQLCIPHER4}/sqlite3.c is not SQLCipher 4's amalgamation (${cipher_version})")
  endif()
  if(NOT EXISTS ${DOCSTORE_SQLCIPHER4}/sqlite3.h OR NOT EXISTS ${DOCSTORE_SQLCIPHER4}/sqlite3ext.h)
    message(FATAL_ERROR "${DOCSTORE_SQLCIPHER4} has sqlite3.c but not both sqlite3.h and sqlite3ext.h")
  endif()
  add_library(sqlcipher4 STATIC ${DOCSTORE_SQLCIPHER4}/sqlite3.c)
  # Its own flags, not the tree's: C, optimised, no warnings of ours, and no
  # sanitizer (the library is SQLCipher's code, not docstore's).
  set_property(TARGET sqlcipher4 PROPERTY COMPILE_OPTIONS -O2 -w)
  target_compile_options(sqlcipher4 PRIVATE -include stdint.h)
  target_compile_definitions(sqlcipher4 PRIVATE
    _GNU_SOURCE _REENTRANT=1 HAVE_STDINT_H=1 HAVE_USLEEP=1 NDEBUG
    SQLITE_THREADSAFE=1 SQLITE_HAS_CODEC SQLCIPHER_CRYPTO_OPENSSL
    SQLITE_EXTRA_INIT=sqlcipher_extra_init SQLITE_EXTRA_SHUTDOWN=sqlcipher_extra_shutdown
    SQLITE_ENABLE_FTS3 SQLITE_ENABLE_FTS5 SQLITE_ENABLE_JSON1 SQLITE_ENABLE_RTREE
    SQLITE_TEMP_STORE=2 SQLITE_SECURE_DELETE SQLITE_ENABLE_DBSTAT_VTAB=1)
  set(staged ${PROJECT_BINARY_DIR}/sqlcipher4)
  set_target_properties(sqlcipher4 PROPERTIES
    OUTPUT_NAME sqlcipher
    ARCHIVE_OUTPUT_DIRECTORY ${staged}/lib)
  file(COPY ${DOCSTORE_SQLCIPHER4}/sqlite3.h ${DOCSTORE_SQLCIPHER4}/sqlite3ext.h
       DESTINATION ${staged}/include/sqlcipher)
  set(SQLCIPHER4_LIBRARY sqlcipher4)
elseif(EXISTS ${DOCSTORE_SQLCIPHER4}/include/sqlcipher/sqlite3.h OR EXISTS ${DOCSTORE_SQLCIPHER4}/include/sqlite3.h)
  if(EXISTS ${DOCSTORE_SQLCIPHER4}/include/sqlcipher/sqlite3.h)
    set(SQLCIPHER4_INCLUDE_DIR ${DOCSTORE_SQLCIPHER4}/include/sqlcipher)
  else()
    set(SQLCIPHER4_INCLUDE_DIR ${DOCSTORE_SQLCIPHER4}/include)
  endif()
  find_library(SQLCIPHER4_LIBRARY NAMES sqlcipher
    PATHS ${DOCSTORE_SQLCIPHER4}/lib ${DOCSTORE_SQLCIPHER4}/lib64 NO_DEFAULT_PATH NO_CACHE)
  if(NOT SQLCIPHER4_LIBRARY)
    message(FATAL_ERROR "DOCSTORE_SQLCIPHER4=${DOCSTORE_SQLCIPHER4} has SQLCipher's headers but no lib/libsqlcipher.so or .a")
  endif()
else()
  message(FATAL_ERROR
    "No SQLCipher 4 at DOCSTORE_SQLCIPHER4=${DOCSTORE_SQLCIPHER4}.\n"
    "Pass -DDOCSTORE_SQLCIPHER4= an amalgamation directory (sqlite3.c) or an installed prefix "
    "(scripts/test installs the npm package @journeyapps/sqlcipher and passes its amalgamation).")
endif()

# SQLCipher 4.0 is SQLite 3.26; Debian's 3.4 (SQLite 3.15) is not it.
file(STRINGS ${SQLCIPHER4_INCLUDE_DIR}/sqlite3.h version_line REGEX "^#define SQLITE_VERSION_NUMBER ")
string(REGEX REPLACE "^#define SQLITE_VERSION_NUMBER +([0-9]+).*" "\\1" version_number "${version_line}")
file(STRINGS ${SQLCIPHER4_INCLUDE_DIR}/sqlite3.h key_line REGEX "sqlite3_key\\(")
if(NOT version_number OR version_number LESS 3026000 OR NOT key_line)
  message(FATAL_ERROR "${SQLCIPHER4_INCLUDE_DIR}/sqlite3.h is not SQLCipher 4's "
                      "(SQLite ${version_number}, sqlite3_key ${key_line})")
endif()
message(STATUS "SQLCipher 4: ${DOCSTORE_SQLCIPHER4} (SQLite ${version_number})")

add_library(SQLCipher4::SQLCipher4 INTERFACE IMPORTED)
target_include_directories(SQLCipher4::SQLCipher4 INTERFACE ${SQLCIPHER4_INCLUDE_DIR})
target_compile_definitions(SQLCipher4::SQLCipher4 INTERFACE SQLITE_HAS_CODEC)
target_link_libraries(SQLCipher4::SQLCipher4 INTERFACE
  ${SQLCIPHER4_LIBRARY} OpenSSL::Crypto Threads::Threads ${CMAKE_DL_LIBS} m)
