# The Debian package (scripts/package runs cpack): the runtime component of
# cmake/install.cmake, as docstore_<version>_<arch>.deb. Library dependencies
# are computed by dpkg-shlibdeps; SQLite itself is named, since the
# extensions call it through the table the loading program hands them and
# link nothing of it.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME docstore)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "The docstore authors")
set(CPACK_PACKAGE_CONTACT "docstore maintainers <docstore@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "document store for SQLite with a cache shared by every process")
set(CPACK_PACKAGE_DESCRIPTION "docstore is a SQLite loadable extension that turns a database into a document
store: plain SQL writes, doc_get(id) reads as JSON served from a
shared-memory cache that every process opening the database shares, and
full-text search. Accesses are counted in shared memory and written by
docstore-sidecar in batches, so a read never becomes a write.
.
This package has the extension for SQLite (.load docstore) and for SQLCipher
3.4 (.load docstore_sqlcipher), docstore-sidecar and its systemd unit.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/docstore/docstore")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libsqlite3-0 (>= 3.40)")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "sqlite3")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "sqlcipher")
set(CPACK_STRIP_FILES ON)
# The extensions are shared objects in the library directory: ldconfig runs
# by trigger when the package comes or goes. postinst makes the sidecar's
# service user and key directory.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/packaging/debian/triggers
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
include(CPack)
