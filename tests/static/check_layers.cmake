# check_layers.cmake — fails when a header under <ROOT>/qsparse/ includes a header of a layer it must not
# depend on. Run: cmake -DROOT=<dir holding qsparse/> -P check_layers.cmake
#
# The layers (docs/design.md, "Layers"), lowest first; a header may include its own layer and the ones
# its row names:
#
#   core       core/                                   (nothing else)
#   numerics   quant/{rounding,storage,quantize_value,fixed_point,sub_byte}.hpp: the scalar numerics every
#              kernel shares
#   spec       spec/: what kernels compute (output stages, packed layouts, *_args, op parameters)
#   dispatch   dispatch/: detection, ceiling, best_isa()
#   kernels    kernels/: how it is computed fast: core, numerics, spec
#   quant      the rest of quant/ (schemes, params, the dispatched element-wise entry points)
#   calibrate, qat, sparsity, cluster, gemm, conv the entry points, as in the table below
#   io, interop                                   leaves on core/
#   umbrella   qsparse.hpp: everything except io/ and interop/
cmake_minimum_required(VERSION 3.16)
if(NOT ROOT)
  message(FATAL_ERROR "check_layers: pass -DROOT=<directory that holds qsparse/>")
endif()
get_filename_component(ROOT "${ROOT}" ABSOLUTE)

set(allowed_core      core)
set(allowed_numerics  core numerics)
set(allowed_spec      core numerics spec)
set(allowed_dispatch  core)
set(allowed_kernels   core numerics spec kernels)
set(allowed_quant     core numerics quant kernels dispatch)
set(allowed_calibrate core numerics quant calibrate kernels dispatch)
set(allowed_qat       core numerics quant calibrate qat kernels dispatch)
set(allowed_sparsity  core numerics quant sparsity)
set(allowed_cluster   core numerics quant sparsity cluster)
set(allowed_gemm      core numerics quant spec kernels dispatch gemm)
set(allowed_conv      core numerics quant spec kernels dispatch gemm conv)
set(allowed_io        core io)
set(allowed_interop   core interop)
set(allowed_umbrella  core numerics spec dispatch kernels quant calibrate qat sparsity cluster gemm conv)

# layer_of(<path relative to ROOT> <out var>)
function(layer_of path out)
  if(path STREQUAL "qsparse/qsparse.hpp")
    set(${out} umbrella PARENT_SCOPE)
  elseif(path MATCHES "^qsparse/quant/(rounding|storage|quantize_value|fixed_point|sub_byte)\\.hpp$")
    set(${out} numerics PARENT_SCOPE)
  elseif(path MATCHES "^qsparse/([a-z_0-9]+)/")
    set(${out} ${CMAKE_MATCH_1} PARENT_SCOPE)
  else()
    set(${out} unknown PARENT_SCOPE)
  endif()
endfunction()

file(GLOB_RECURSE headers RELATIVE ${ROOT} ${ROOT}/qsparse/*.hpp)
list(SORT headers)
set(violations 0)
foreach(header IN LISTS headers)
  layer_of(${header} from)
  if(NOT DEFINED allowed_${from})
    message("check_layers: ${header}: the folder of this header is not a layer; add it to check_layers.cmake and docs/design.md")
    math(EXPR violations "${violations} + 1")
    continue()
  endif()
  file(STRINGS ${ROOT}/${header} includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]qsparse/")
  foreach(line IN LISTS includes)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[<\"](qsparse/[^>\"]+)[>\"].*$" "\\1" target "${line}")
    layer_of(${target} to)
    list(FIND allowed_${from} ${to} found)
    if(found EQUAL -1)
      message("check_layers: ${header} (layer ${from}) includes ${target} (layer ${to}); ${from} may include only: ${allowed_${from}}")
      math(EXPR violations "${violations} + 1")
    endif()
  endforeach()
endforeach()

list(LENGTH headers count)
if(count EQUAL 0)
  message(FATAL_ERROR "check_layers: no headers under ${ROOT}/qsparse")
endif()
if(violations GREATER 0)
  message(FATAL_ERROR "check_layers: ${violations} include(s) against the layer order in ${count} headers")
endif()
message("check_layers: ${count} headers follow the layer order")
