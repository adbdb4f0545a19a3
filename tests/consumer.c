/* A program outside the tree: built with nothing but
 * `pkg-config --cflags --libs libsipnat` against an installed library
 * (tests/installed.sh: make install; tests/debian.sh: the Debian
 * packages), then run. */
#include <sipnat/sipnat.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    sipnat_ctx *ctx;
    sipnat_transport_cfg *cfg;
    sipnat_transport *t;

    if (sipnat_version_num() != SIPNAT_VERSION_NUM ||
        strcmp(sipnat_version_string(), SIPNAT_VERSION) != 0)
        return 1;
    if (sipnat_ctx_new(&ctx) < 0 || sipnat_transport_cfg_new(&cfg) < 0 ||
        sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", 0) < 0 ||
        sipnat_transport_new(&t, ctx, cfg) < 0)
        return 1;
    printf("libsipnat %s bound port %d\n", sipnat_version_string(),
           sipnat_transport_get_port(t));
    sipnat_transport_cfg_free(cfg);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    return 0;
}
