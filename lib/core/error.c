/*
 * libsipnat - error strings, version, event names.
 */
#include "core/internal.h"

#include <string.h>

SIPNAT_API const char *sipnat_strerror(int err)
{
    if (err < 0)
        err = -err;
    if (err == 0)
        return "Success";
    /* strerror() may format unknown codes into a shared buffer; the
     * description table never does, so this stays thread-safe. */
    const char *s = strerrordesc_np(err);
    return s ? s : "Unknown error";
}

SIPNAT_API unsigned sipnat_version_num(void)
{
    return SIPNAT_VERSION_NUM;
}

SIPNAT_API const char *sipnat_version_string(void)
{
    return SIPNAT_VERSION;
}

SIPNAT_API const char *sipnat_event_type_name(sipnat_event_type type)
{
    switch (type) {
    case SIPNAT_EVENT_NONE:
        return "none";
    case SIPNAT_EVENT_RESPONSE:
        return "response";
    case SIPNAT_EVENT_SHUTDOWN:
        return "shutdown";
    case SIPNAT_EVENT_REGISTRATION:
        return "registration";
    case SIPNAT_EVENT_CONTACT:
        return "contact";
    case SIPNAT_EVENT_SESSION:
        return "session";
    case SIPNAT_EVENT_MEDIA:
        return "media";
    }
    return "unknown";
}
