# What `cmake --install build --prefix P` puts where (GNUInstallDirs), by
# component:
#   runtime   the two extensions under lib/<multiarch>/ (where SQLite's
#             `.load docstore` finds them by name under /usr), docstore-sidecar
#             under bin/, its systemd unit with its sysusers.d and tmpfiles.d
#             entries, the README, changelog, licence and
#             design contract under share/doc/docstore/: what the .deb holds
#   shmcache  the cache library for C++ users (shmcache/CMakeLists.txt)
install(TARGETS docstore docstore_sqlcipher LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime)
install(TARGETS docstore-sidecar RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(FILES ${PROJECT_BINARY_DIR}/sidecar/docstore-sidecar@.service
        DESTINATION lib/systemd/system COMPONENT runtime)
# Its service user and group, and /etc/docstore for key files.
install(FILES sidecar/docstore.sysusers.conf DESTINATION lib/sysusers.d RENAME docstore.conf COMPONENT runtime)
install(FILES sidecar/docstore.tmpfiles.conf DESTINATION lib/tmpfiles.d RENAME docstore.conf COMPONENT runtime)
install(FILES README.md CHANGELOG.md LICENSE docs/DESIGN.md docs/operations.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
# Debian's policy files for the same directory: the licence in Debian's
# format, and a changelog in Debian's, compressed, that points to CHANGELOG.md.
install(FILES packaging/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
string(TIMESTAMP DOCSTORE_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(WRITE ${PROJECT_BINARY_DIR}/changelog
  "docstore (${PROJECT_VERSION}) unstable; urgency=medium\n\n"
  "  * Release ${PROJECT_VERSION}: see /usr/share/doc/docstore/CHANGELOG.md.\n\n"
  " -- docstore maintainers <docstore@example.org>  ${DOCSTORE_CHANGELOG_DATE}\n")
add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/changelog.gz
  COMMAND gzip -9nc ${PROJECT_BINARY_DIR}/changelog > ${PROJECT_BINARY_DIR}/changelog.gz
  DEPENDS ${PROJECT_BINARY_DIR}/changelog)
add_custom_target(docstore_changelog ALL DEPENDS ${PROJECT_BINARY_DIR}/changelog.gz)
install(FILES ${PROJECT_BINARY_DIR}/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
