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
    ERR_UNSUPPORTED = -7, /* valid but not supported here */
    /* Writing: told apart so the app can say what the user should do. */
    ERR_WRITE_PROTECTED = -8, /* read-only medium (lock switch, read-only disk) */
    ERR_VOLUME_FULL = -9,     /* no free clusters / directory entries left */
    ERR_ACCESS = -10,         /* refused: read-only file, or file in use */
    ERR_EXISTS = -11,         /* the name is taken (mkdir over a file, FAT rename) */
    /* Network and streams. */
    ERR_AGAIN = -12,     /* not now: try again later (ARP pending, buffer full) */
    ERR_EOF = -13,       /* orderly end of a stream (the peer closed) */
    ERR_TIMEOUT = -14,   /* no answer in time */
    ERR_RESET = -15      /* connection reset by the peer */
};

/* Short English text for an error code; never NULL. */
const char *err_str(int rc);

#endif
