# Warnings and sanitizers for jobtxn's own targets only: nothing here reaches
# a consumer's build through the installed package.
function(jobtxn_target_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
    $<$<COMPILE_LANGUAGE:C>:-Wstrict-prototypes -Wmissing-prototypes>)
  if(NOT JOBTXN_SANITIZE STREQUAL "")
    target_compile_options(${target} PRIVATE -fsanitize=${JOBTXN_SANITIZE} -fno-omit-frame-pointer -g)
    if(JOBTXN_SANITIZE MATCHES "undefined")
      target_compile_options(${target} PRIVATE -fno-sanitize-recover=undefined)
    endif()
  endif()
  jobtxn_target_link_options(${target})
endfunction()

function(jobtxn_target_link_options target)
  if(NOT JOBTXN_SANITIZE STREQUAL "")
    target_link_options(${target} PRIVATE -fsanitize=${JOBTXN_SANITIZE})
  endif()
endfunction()
