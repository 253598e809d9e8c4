// ICU's spoof checker (UTS #39) for the look-alike name rules, from the system's ICU (Debian's libicu-dev).
// This header names no ICU type: Foundation brings its own copy of ICU's headers into every Swift module, and two
// definitions of one C type would clash. ICU's symbols carry its major version (uspoof_open_72); spoof.c calls them
// by their plain names, so this builds against any ICU version.
#ifndef MICROBLOG_CICUSPOOF_H
#define MICROBLOG_CICUSPOOF_H

#include <stdint.h>

/// What microblog_spoof_check reports.
enum {
    /// The identifier mixes scripts past the checker's restriction level.
    MICROBLOG_SPOOF_MIXED_SCRIPTS = 1,
    /// The identifier mixes digits of different number systems.
    MICROBLOG_SPOOF_MIXED_NUMBERS = 2,
};

/// A spoof checker at UTS #39's "moderately restrictive" level; NULL when ICU fails (its data missing).
void *microblog_spoof_open(void);

/// The MICROBLOG_SPOOF_* bits `identifier` (UTF-8, `length` bytes) sets; -1 when ICU fails. Thread-safe on an opened
/// checker (ICU's checks take it as const).
int32_t microblog_spoof_check(const void *checker, const char *identifier, int32_t length);

/// Writes the UTS #39 skeleton of `identifier` (UTF-8) into `buffer` and returns its length, which may exceed
/// `capacity` (then call again with a buffer that large); -1 when ICU fails for another reason. Thread-safe.
int32_t microblog_spoof_skeleton(const void *checker, const char *identifier, int32_t length, char *buffer, int32_t capacity);

/// Writes the Unicode version of the ICU data loaded at run time and ICU's own version, as "15.0.0.0/72.1.0.0",
/// into `buffer` of `capacity` bytes (64 is enough), NUL-terminated.
void microblog_icu_versions(char *buffer, int32_t capacity);

#endif
