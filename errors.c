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
    default: return "unknown error";
    }
}
