# Man pages and the krew release archive (included at the end of the
# top-level CMakeLists.txt, after the executables are defined).
#
#   man   (part of ALL)  build/<preset>/man/*.1: every stage prints its page
#                        from its option tables (`EXE __man`, common/manpage.c);
#                        kubectl-eidf.1 is docs/man/kubectl-eidf.1.
#   dist                 build/<preset>/dist/kubectl-eidf-vX.Y.Z-linux-amd64.tar.gz
#                        and the rendered krew manifest eidf.yaml
#                        (krew/make-dist.sh; use a release build).

set(EIDF_RELEASE_URL "https://github.com/EPCCed/kubectl-eidf" CACHE STRING
  "Project URL: krew manifest homepage and base of the release download URI")

# ---- man pages -------------------------------------------------------------------
set(EIDF_MAN_DIR ${CMAKE_BINARY_DIR}/man)
set(EIDF_MAN_PAGES)
foreach(exe ${EIDF_EXECUTABLES})
  set(page ${EIDF_MAN_DIR}/${exe}.1)
  if(exe STREQUAL "kubectl-eidf")
    # the dispatcher has no option tables: hand-written page
    add_custom_command(OUTPUT ${page}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${EIDF_MAN_DIR}
      COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_SOURCE_DIR}/docs/man/kubectl-eidf.1 ${page}
      DEPENDS ${CMAKE_SOURCE_DIR}/docs/man/kubectl-eidf.1 VERBATIM)
  else()
    add_custom_command(OUTPUT ${page}
      COMMAND sh ${CMAKE_SOURCE_DIR}/cmake/gen-man.sh $<TARGET_FILE:${exe}> ${page}
      DEPENDS ${exe} ${CMAKE_SOURCE_DIR}/cmake/gen-man.sh VERBATIM)
  endif()
  list(APPEND EIDF_MAN_PAGES ${page})
endforeach()
add_custom_target(man ALL DEPENDS ${EIDF_MAN_PAGES})
install(FILES ${EIDF_MAN_PAGES} DESTINATION share/man/man1)

# ---- krew archive ------------------------------------------------------------------
if(EIDF_SANITIZE)
  add_custom_target(dist
    COMMAND ${CMAKE_COMMAND} -E echo
      "dist: this is a sanitizer build; make the archive from a release build: cmake --preset release && cmake --build --preset release --target dist"
    COMMAND ${CMAKE_COMMAND} -E false
    VERBATIM)
else()
  add_custom_target(dist
    COMMAND ${CMAKE_SOURCE_DIR}/krew/make-dist.sh
      --bin ${CMAKE_BINARY_DIR}/bin --out ${CMAKE_BINARY_DIR}/dist
      --man ${EIDF_MAN_DIR} --version ${PROJECT_VERSION}
      --url ${EIDF_RELEASE_URL} --src ${CMAKE_SOURCE_DIR}
    COMMENT "krew archive and manifest in ${CMAKE_BINARY_DIR}/dist"
    VERBATIM)
  add_dependencies(dist man ${EIDF_EXECUTABLES})
endif()
