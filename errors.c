/* errors.c - err_str: one place that names the project's error codes. */
#include "errors.h"

const char *err_str(int rc)
{
    switch (rc) {
    case ERR_OK: return "ok";
    case ERR_NOMEM: return "out of memory";
    case ERR_IO: return "I/O error";
    case ERR_NOT_FOUND: return "not found";
    case ERR_FORMAT: return "bad format";
    case ERR_RANGE: return "value out of range";
    case ERR_INVAL: return "invalid argument";
    case ERR_UNSUPPORTED: return "not supported";
    case ERR_WRITE_PROTECTED: return "the volume is write-protected";
    case ERR_VOLUME_FULL: return "the volume is full";
    case ERR_ACCESS: return "access denied";
    case ERR_EXISTS: return "already exists";
    case ERR_AGAIN: return "try again";
    case ERR_EOF: return "end of stream";
    case ERR_TIMEOUT: return "timed out";
    case ERR_RESET: return "connection reset";
    default: return "unknown error";
    }
}
