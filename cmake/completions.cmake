# Shell completion scripts and kubectl_complete-* links.
#
# Included at the end of the top-level CMakeLists.txt (needs the kubectl-eidf
# target and EIDF_EXECUTABLES).  Also runs in script mode (cmake -P) to write
# one script: -DEIDF_DISPATCHER=exe -DEIDF_SHELL=bash|zsh|fish -DOUT=file.
#
# Build:   build/<preset>/completions/{kubectl-eidf,_kubectl-eidf,kubectl-eidf.fish}
#          printed by the built dispatcher (`kubectl-eidf completion SHELL`).
# Install: share/bash-completion/completions/kubectl-eidf (+ one link per stage
#          executable, as bash-completion loads scripts by command name),
#          share/zsh/site-functions/_kubectl-eidf,
#          share/fish/vendor_completions.d/kubectl-eidf.fish (+ links per stage),
#          bin/kubectl_complete-eidf* -> the executables (kubectl >= 1.26 runs
#          them to complete `kubectl eidf ...`; each acts on its argv[0]).
# completions/ in the source tree holds the same files, committed; target
# `completions-update` refreshes them and t0620 fails when they are stale.

if(CMAKE_SCRIPT_MODE_FILE)
  # PATH points nowhere so that the stage list in the script is the known
  # stages plus what is next to the dispatcher, never whatever is on the
  # builder's PATH: the output must be the same on every machine.
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env PATH=/nonexistent LC_ALL=C
            ${EIDF_DISPATCHER} completion ${EIDF_SHELL}
    OUTPUT_FILE ${OUT}.tmp
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    file(REMOVE ${OUT}.tmp)
    message(FATAL_ERROR "${EIDF_DISPATCHER} completion ${EIDF_SHELL} failed: ${rc}")
  endif()
  file(RENAME ${OUT}.tmp ${OUT})
  return()
endif()

include(GNUInstallDirs)

set(EIDF_COMPLETIONS_DIR ${CMAKE_BINARY_DIR}/completions)
set(eidf_completion_files)
foreach(pair "bash;kubectl-eidf" "zsh;_kubectl-eidf" "fish;kubectl-eidf.fish")
  list(GET pair 0 shell)
  list(GET pair 1 fname)
  set(out ${EIDF_COMPLETIONS_DIR}/${fname})
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${EIDF_COMPLETIONS_DIR}
    COMMAND ${CMAKE_COMMAND} -DEIDF_DISPATCHER=$<TARGET_FILE:kubectl-eidf>
            -DEIDF_SHELL=${shell} -DOUT=${out} -P ${CMAKE_CURRENT_LIST_FILE}
    DEPENDS kubectl-eidf ${CMAKE_CURRENT_LIST_FILE}
    COMMENT "Generating ${shell} completion completions/${fname}"
    VERBATIM)
  list(APPEND eidf_completion_files ${out})
endforeach()
add_custom_target(completions ALL DEPENDS ${eidf_completion_files})

# Copy the generated scripts over the committed ones in the source tree.
add_custom_target(completions-update
  COMMAND ${CMAKE_COMMAND} -E copy ${eidf_completion_files} ${CMAKE_SOURCE_DIR}/completions/
  DEPENDS ${eidf_completion_files}
  COMMENT "Updating completions/ in the source tree"
  VERBATIM)

set(EIDF_BASH_COMPLETION_DIR ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
    CACHE STRING "Install directory of the bash completion script (relative to the prefix)")
set(EIDF_ZSH_COMPLETION_DIR ${CMAKE_INSTALL_DATADIR}/zsh/site-functions
    CACHE STRING "Install directory of the zsh completion script (relative to the prefix)")
set(EIDF_FISH_COMPLETION_DIR ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d
    CACHE STRING "Install directory of the fish completion script (relative to the prefix)")

install(FILES ${EIDF_COMPLETIONS_DIR}/kubectl-eidf DESTINATION ${EIDF_BASH_COMPLETION_DIR})
install(FILES ${EIDF_COMPLETIONS_DIR}/_kubectl-eidf DESTINATION ${EIDF_ZSH_COMPLETION_DIR})
install(FILES ${EIDF_COMPLETIONS_DIR}/kubectl-eidf.fish DESTINATION ${EIDF_FISH_COMPLETION_DIR})

# Links, created at install time under DESTDIR + the (possibly --prefix
# overridden) install prefix.  Relative targets keep the tree relocatable.
set(eidf_stage_exes ${EIDF_EXECUTABLES})
list(REMOVE_ITEM eidf_stage_exes kubectl-eidf)
install(CODE "
  set(_prefix \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}\")
  set(_links)
  string(REPLACE \"kubectl-\" \"kubectl_complete-\" _name kubectl-eidf)
  list(APPEND _links \"${CMAKE_INSTALL_BINDIR}/\${_name}=kubectl-eidf\")
  # the stages live in libexec (off PATH: see the install rules)
  foreach(_exe ${eidf_stage_exes})
    string(REPLACE \"kubectl-\" \"kubectl_complete-\" _name \"\${_exe}\")
    list(APPEND _links \"${CMAKE_INSTALL_BINDIR}/\${_name}=../libexec/kubectl-eidf/\${_exe}\")
  endforeach()
  foreach(_exe ${eidf_stage_exes})
    list(APPEND _links \"${EIDF_BASH_COMPLETION_DIR}/\${_exe}=kubectl-eidf\")
    list(APPEND _links \"${EIDF_FISH_COMPLETION_DIR}/\${_exe}.fish=kubectl-eidf.fish\")
  endforeach()
  foreach(_l \${_links})
    string(REPLACE \"=\" \";\" _l \"\${_l}\")
    list(GET _l 0 _link)
    list(GET _l 1 _target)
    set(_link \"\${_prefix}/\${_link}\")
    message(STATUS \"Installing: \${_link} -> \${_target}\")
    file(REMOVE \"\${_link}\")
    file(CREATE_LINK \"\${_target}\" \"\${_link}\" SYMBOLIC)
  endforeach()
")
