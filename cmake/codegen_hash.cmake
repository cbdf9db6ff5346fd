# Writes OUT with NNC_CODEGEN_HASH: a hash of the sources that determine generated kernels
# (codegen/cpu/*, ir/ops.def, ir/scalar_math.h), so the on-disk kernel cache never serves a
# kernel built by different code. Run at build time whenever one of them changes.
file(GLOB sources "${SRC}/codegen/cpu/*" "${SRC}/ir/ops.def" "${SRC}/ir/scalar_math.h")
list(SORT sources)
set(text "")
foreach(f IN LISTS sources)
  file(SHA256 "${f}" h)
  string(APPEND text "${h}")
endforeach()
string(SHA256 hash "${text}")
string(SUBSTRING "${hash}" 0 16 hash)
set(content "#define NNC_CODEGEN_HASH \"${hash}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT "${old}" STREQUAL "${content}")
  file(WRITE "${OUT}" "${content}")
endif()
