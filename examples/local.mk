# libsipnat - the host event-loop examples (included by the top Makefile.am;
# paths are relative to the top source directory).
#
# One program per kind of host loop, each sending one OPTIONS request:
#   epoll     pull mode: sipnat_ctx_get_fd() in the host's own epoll set
#   glib      push mode, the default GMainContext (GLib is always there:
#             the library needs it)
#   uv        push mode, libuv (built when configure found it)
#   libevent  push mode, libevent (built when configure found it)
# tests/examples-sipp.sh runs each against SIPp.

noinst_PROGRAMS += examples/sipnat-example-epoll
examples_sipnat_example_epoll_SOURCES = examples/epoll.c
examples_sipnat_example_epoll_LDADD = lib/libsipnat.la

noinst_PROGRAMS += examples/sipnat-example-glib
examples_sipnat_example_glib_SOURCES = examples/glib.c
examples_sipnat_example_glib_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS)
examples_sipnat_example_glib_LDADD = lib/libsipnat.la $(GLIB_LIBS)

if HAVE_LIBUV
noinst_PROGRAMS += examples/sipnat-example-uv
examples_sipnat_example_uv_SOURCES = examples/uv.c
examples_sipnat_example_uv_CFLAGS = $(AM_CFLAGS) $(LIBUV_CFLAGS)
examples_sipnat_example_uv_LDADD = lib/libsipnat.la $(LIBUV_LIBS)
endif

if HAVE_LIBEVENT
noinst_PROGRAMS += examples/sipnat-example-libevent
examples_sipnat_example_libevent_SOURCES = examples/libevent.c
examples_sipnat_example_libevent_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
examples_sipnat_example_libevent_LDADD = lib/libsipnat.la $(LIBEVENT_LIBS)
endif

# The softphone: a real program on the library, installed.
bin_PROGRAMS = examples/sipnat-phone
examples_sipnat_phone_SOURCES = examples/sipnat-phone.c
examples_sipnat_phone_CFLAGS = $(AM_CFLAGS) $(SNDFILE_CFLAGS)
examples_sipnat_phone_LDADD = lib/libsipnat.la $(SNDFILE_LIBS) -lm
TESTS += tests/phone-help.sh tests/phone-config.sh tests/phone-audio.sh tests/phone-codecs.sh
EXTRA_DIST += tests/phone-help.sh tests/phone-config.sh tests/phone-audio.sh tests/phone-codecs.sh \
	tests/phone/loopback.conf tests/phone/audio-check.py

EXTRA_DIST += tests/examples-sipp.sh
