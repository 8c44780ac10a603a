/* errors.h - project error codes. Functions return 0 or one of these. */
#ifndef ERRORS_H
#define ERRORS_H

enum {
    ERR_OK = 0,
    ERR_NOMEM = -1,      /* out of memory */
    ERR_IO = -2,         /* device or file system error */
    ERR_NOT_FOUND = -3,  /* file or directory missing */
    ERR_FORMAT = -4,     /* malformed file or input */
    ERR_RANGE = -5,      /* value outside the allowed range */
    ERR_INVAL = -6,      /* bad argument or usage */
    ERR_UNSUPPORTED = -7 /* valid but not supported here */
};

/* Short English text for an error code; never NULL. */
const char *err_str(int rc);

#endif
