# Usage: cmake -DIN=file -DOUT=header -DVAR=name -P embed.cmake
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE ${OUT} "/* generated from ${IN}; do not edit */\nstatic const char ${VAR}[] = {${body}0x00};\n")
