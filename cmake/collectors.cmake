# The collectors gcheap has, in collectors/collectors.def order (the default
# first), into the variable named by `out`.
function(gcheap_read_collectors out)
  file(STRINGS ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../collectors/collectors.def lines
       REGEX "^GC_COLLECTOR\\([a-z0-9_]+,")
  set(names)
  foreach(line ${lines})
    string(REGEX REPLACE "^GC_COLLECTOR\\(([a-z0-9_]+),.*" "\\1" name "${line}")
    list(APPEND names ${name})
  endforeach()
  set(${out} ${names} PARENT_SCOPE)
endfunction()
