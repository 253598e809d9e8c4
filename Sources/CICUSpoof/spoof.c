#include "CICUSpoof.h"

#include <stdio.h>
#include <unicode/uchar.h>
#include <unicode/uspoof.h>
#include <unicode/uversion.h>

void *microblog_spoof_open(void) {
    UErrorCode status = U_ZERO_ERROR;
    USpoofChecker *checker = uspoof_open(&status);
    if (U_FAILURE(status)) return NULL;
    uspoof_setRestrictionLevel(checker, USPOOF_MODERATELY_RESTRICTIVE);
    uspoof_setChecks(checker, USPOOF_RESTRICTION_LEVEL | USPOOF_MIXED_NUMBERS, &status);
    if (U_FAILURE(status)) {
        uspoof_close(checker);
        return NULL;
    }
    return checker;
}

int32_t microblog_spoof_check(const void *checker, const char *identifier, int32_t length) {
    UErrorCode status = U_ZERO_ERROR;
    int32_t failed = uspoof_check2UTF8((const USpoofChecker *)checker, identifier, length, NULL, &status);
    if (U_FAILURE(status)) return -1;
    int32_t found = 0;
    if (failed & USPOOF_RESTRICTION_LEVEL) found |= MICROBLOG_SPOOF_MIXED_SCRIPTS;
    if (failed & USPOOF_MIXED_NUMBERS) found |= MICROBLOG_SPOOF_MIXED_NUMBERS;
    return found;
}

int32_t microblog_spoof_skeleton(const void *checker, const char *identifier, int32_t length, char *buffer, int32_t capacity) {
    UErrorCode status = U_ZERO_ERROR;
    int32_t written = uspoof_getSkeletonUTF8((const USpoofChecker *)checker, 0, identifier, length, buffer, capacity, &status);
    if (status == U_BUFFER_OVERFLOW_ERROR) return written;
    return U_FAILURE(status) ? -1 : written;
}

void microblog_icu_versions(char *buffer, int32_t capacity) {
    UVersionInfo unicode, icu;
    char unicodeText[U_MAX_VERSION_STRING_LENGTH], icuText[U_MAX_VERSION_STRING_LENGTH];
    u_getUnicodeVersion(unicode);
    u_getVersion(icu);
    u_versionToString(unicode, unicodeText);
    u_versionToString(icu, icuText);
    snprintf(buffer, (size_t)capacity, "%s/%s", unicodeText, icuText);
}
