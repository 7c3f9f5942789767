# Usage: cmake -DIN=docs/configuration.md -DOUT=header -P settings_keys.cmake
# The setting keys are declared once, in the tables of docs/configuration.md
# ("| `key` | default | meaning |"); every stage gets them as a C array so
# that an unknown key in a config file is reported with the closest known one.
file(STRINGS ${IN} lines REGEX "^\\| `[a-z0-9][a-z0-9.-]*` \\|")
set(body "")
foreach(line ${lines})
  string(REGEX REPLACE "^\\| `([a-z0-9][a-z0-9.-]*)` \\|.*" "\\1" key "${line}")
  string(APPEND body "\t\"${key}\",\n")
endforeach()
file(WRITE ${OUT}.tmp "/* generated from ${IN}; do not edit */\nstatic const char *const eidf_settings_keys[] = {\n${body}\tNULL,\n};\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
file(REMOVE ${OUT}.tmp)
