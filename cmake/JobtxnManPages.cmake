# Generate man3 pages from include/jobtxn.h, the one source of the API's
# documentation: jobtxn(3) (the header's opening comment: life cycle,
# synchronization table, error convention, fork; then every type with its
# comment), and one page per JT_API function (its prototype and its comment:
# context, ordering, ownership, return codes).
#
# Run as a script: cmake -DHEADER=... -DOUT_DIR=... -DVERSION=... -P JobtxnManPages.cmake
# tests/docs/check_man_pages.sh checks that every symbol the library
# exports has its page.
#
# The same for another public header of the project (include/jobtxn_uring.h):
# -DPAGE=jobtxn_uring (the overview page; default jobtxn) -DLIB=jobtxn_uring
# (-l name and pkg-config module; default jobtxn) -DPC=jobtxn-uring
# -DCMAKE_TARGET=jobtxn::uring -DCMAKE_TARGET_STATIC=jobtxn::uring_static -DTYPES_START=<the
# typedef line where its types begin> -DSUMMARY=<the overview's NAME line>.

cmake_minimum_required(VERSION 3.25)

if(NOT HEADER OR NOT OUT_DIR OR NOT VERSION)
  message(FATAL_ERROR "usage: cmake -DHEADER=jobtxn.h -DOUT_DIR=dir -DVERSION=x.y.z -P ${CMAKE_CURRENT_LIST_FILE}")
endif()
if(NOT PAGE)
  set(PAGE jobtxn)
endif()
if(NOT LIB)
  set(LIB jobtxn)
endif()
if(NOT PC)
  set(PC jobtxn)
endif()
if(NOT CMAKE_TARGET)
  set(CMAKE_TARGET jobtxn::jobtxn)
endif()
if(NOT CMAKE_TARGET_STATIC)
  set(CMAKE_TARGET_STATIC jobtxn::jobtxn_static)
endif()
if(NOT TYPES_START)
  set(TYPES_START "^typedef struct jt_runtime jt_runtime")
endif()
if(NOT SUMMARY)
  set(SUMMARY "lock-free job completion runtime: transactional completion callbacks")
endif()
get_filename_component(INCLUDE "${HEADER}" NAME)
string(REPLACE "-" "\\-" PC_ROFF "${PC}")

set(SEMI "@JT_SEMICOLON@")
file(READ "${HEADER}" text)
# One list element per line: protect the header's own semicolons first.
string(REPLACE ";" "${SEMI}" text "${text}")
string(REPLACE "\n" ";" lines "${text}")

# roff: escape backslashes, and lines that would start a request.
function(jt_roff_line line out)
  string(REPLACE "\\" "\\e" line "${line}")
  if(line MATCHES "^[.']")
    set(line "\\&${line}")
  endif()
  set(${out} "${line}" PARENT_SCOPE)
endfunction()

function(jt_page_header name summary out)
  string(TOUPPER "${name}" upper)
  set(${out} ".TH ${upper} 3 \"\" \"jobtxn ${VERSION}\" \"jobtxn manual\"\n.SH NAME\n${name} \\- ${summary}\n" PARENT_SCOPE)
endfunction()

function(jt_write_page name body)
  string(REPLACE "${SEMI}" ";" body "${body}")
  file(WRITE "${OUT_DIR}/${name}.3" "${body}")
endfunction()

file(REMOVE_RECURSE "${OUT_DIR}")
file(MAKE_DIRECTORY "${OUT_DIR}")

set(state code)       # code, comment, proto
set(comment "")       # the last comment block, roff-escaped lines
set(first_comment "") # the header's opening comment
set(summary "")       # the comment's first sentence
set(types "")         # typedef .. the first function's comment
set(in_types FALSE)
set(functions "")
set(proto "")

foreach(line IN LISTS lines)
  if(state STREQUAL "comment")
    if(in_types)
      jt_roff_line("${line}" l)
      string(APPEND types "${l}\n")
    endif()
    if(line MATCHES "^ \\*/")
      set(state code)
      if(first_comment STREQUAL "")
        set(first_comment "${comment}")
      endif()
      continue()
    endif()
    string(REGEX REPLACE "^ \\* ?" "" body "${line}")
    jt_roff_line("${body}" body)
    string(APPEND comment "${body}\n")
    continue()
  endif()

  if(state STREQUAL "proto")
    string(APPEND proto " ${line}")
    if(NOT line MATCHES "${SEMI}")
      continue()
    endif()
    set(state code)
  elseif(line MATCHES "^/\\*$")
    set(state comment)
    set(comment "")
    string(LENGTH "${types}" types_before_comment)
    if(in_types)
      string(APPEND types "${line}\n")
    endif()
    continue()
  elseif(line MATCHES "^JT_API ")
    set(proto "${line}")
    if(NOT line MATCHES "${SEMI}")
      set(state proto)
      continue()
    endif()
  else()
    if(line MATCHES "${TYPES_START}")
      set(in_types TRUE)
    endif()
    if(in_types)
      jt_roff_line("${line}" l)
      string(APPEND types "${l}\n")
    endif()
    continue()
  endif()

  # A complete JT_API declaration, `comment` above it.
  if(in_types)
    # The types end where the first function's comment began.
    string(SUBSTRING "${types}" 0 ${types_before_comment} types)
    set(in_types FALSE)
  endif()
  string(REGEX REPLACE "^JT_API " "" proto "${proto}")
  string(REGEX REPLACE "[ \t]+" " " proto "${proto}")
  if(NOT proto MATCHES "(jt_[a-z_]+)\\(")
    message(FATAL_ERROR "JobtxnManPages: no function name in: ${proto}")
  endif()
  set(name "${CMAKE_MATCH_1}")
  # Summary: the first sentence after "name: ".
  string(REPLACE "\n" " " flat "${comment}")
  if(NOT flat MATCHES "^${name}: ([^.]*)")
    message(FATAL_ERROR "JobtxnManPages: the comment above ${name} must start with '${name}: '")
  endif()
  set(summary "${CMAKE_MATCH_1}")
  string(REGEX REPLACE "^(.*[^ ]) *$" "\\1" summary "${summary}")
  jt_page_header("${name}" "${summary}" page)
  string(APPEND page ".SH SYNOPSIS\n.nf\n.B #include <${INCLUDE}>\n.PP\n${proto}\n.fi\n.PP\n"
    "Link with \\fB\\-l${LIB}\\fP (\\fBpkg\\-config \\-\\-libs ${PC_ROFF}\\fP, or the CMake target \\fB${CMAKE_TARGET}\\fP).\n"
    ".SH DESCRIPTION\n.nf\n${comment}.fi\n"
    ".SH SEE ALSO\n.BR ${PAGE} (3)\n")
  jt_write_page("${name}" "${page}")
  list(APPEND functions "${name}")
endforeach()

if(first_comment STREQUAL "" OR types STREQUAL "" OR NOT functions)
  message(FATAL_ERROR "JobtxnManPages: ${HEADER} has no opening comment, types or functions")
endif()

jt_page_header("${PAGE}" "${SUMMARY}" page)
string(APPEND page ".SH SYNOPSIS\n.nf\n.B #include <${INCLUDE}>\n.fi\n.PP\n"
  "Link with \\fB\\-l${LIB}\\fP (\\fBpkg\\-config \\-\\-libs ${PC_ROFF}\\fP), or in CMake "
  "\\fBfind_package(jobtxn)\\fP and the target \\fB${CMAKE_TARGET}\\fP or \\fB${CMAKE_TARGET_STATIC}\\fP.\n"
  ".SH DESCRIPTION\n.nf\n${first_comment}.fi\n"
  ".SH TYPES\n.nf\n${types}.fi\n"
  ".SH FUNCTIONS\nEach has its own page.\n.PP\n")
foreach(name IN LISTS functions)
  string(APPEND page ".BR ${name} (3)\n.br\n")
endforeach()
string(APPEND page ".SH SEE ALSO\nIn the source tree: docs/guide.md, docs/uring.md (the io_uring adapter) (concepts, thread model, error table, examples, tracing), docs/design.md (how it works), docs/contract\\-notes.md (where jobtxn refines its contract).\n")
jt_write_page("${PAGE}" "${page}")
