/*
 * libsipnat - outbound registration decisions (see regfsm.h).
 *
 * The rules are Asterisk's res_pjsip_outbound_registration:
 *  - 2xx: registered; refresh 5 s before the granted expiry (at half of
 *    it for short grants);
 *  - 401/407: answer once with the realm's credentials; a second
 *    challenge means the credentials were refused: permanent when
 *    auth_rejection_permanent, else temporary;
 *  - 423: ask again with the registrar's Min-Expires;
 *  - temporary (no response, 408, 500, 502, 503, 504, 6xx): retry every
 *    retry_interval;
 *  - 403: retry every forbidden_retry_interval, or give up when 0;
 *  - any other failure is fatal: retry every fatal_retry_interval, or give
 *    up when 0;
 *  - retries of every kind count against max_retries; past it, give up.
 */
#include "config.h"

#include "sip/regfsm.h"

#include <stddef.h>

#define REFRESH_MARGIN_S 5

void sn_reg_cfg_defaults(sn_reg_cfg *cfg)
{
    cfg->expiration = 3600;
    cfg->retry_interval = 60;
    cfg->forbidden_retry_interval = 0;
    cfg->fatal_retry_interval = 0;
    cfg->max_retries = 10;
    cfg->auth_rejection_permanent = true;
    cfg->max_random_initial_delay = 10;
}

void sn_reg_init(sn_reg *reg, const sn_reg_cfg *cfg)
{
    reg->cfg = *cfg;
    reg->state = SN_REG_IDLE;
    reg->retries = 0;
    reg->challenged = false;
    reg->expires = cfg->expiration;
    reg->granted = 0;
    reg->unregister_after = false;
}

static sn_reg_step step(sn_reg_action a, uint64_t delay_ms, const char *why)
{
    sn_reg_step s = {a, delay_ms, why};
    return s;
}

sn_reg_step sn_reg_start(sn_reg *reg, unsigned random)
{
    uint64_t delay_ms = 0;

    if (reg->cfg.max_random_initial_delay)
        delay_ms = random % ((uint64_t)reg->cfg.max_random_initial_delay * 1000u + 1u);
    reg->state = SN_REG_REGISTERING;
    reg->retries = 0;
    reg->challenged = false;
    reg->expires = reg->cfg.expiration;
    reg->unregister_after = false;
    return step(SN_REG_SEND, delay_ms, "starting");
}

bool sn_reg_status_is_temporary(int status, bool auth_rejection_permanent)
{
    switch (status) {
    case 0:
    case 408:
    case 500:
    case 502:
    case 503:
    case 504:
        return true;
    case 401:
    case 407:
        return !auth_rejection_permanent;
    default:
        return status >= 600 && status < 700;
    }
}

/* A failure: retry after `interval` s (0: give up), within max_retries. */
static sn_reg_step fail(sn_reg *reg, unsigned interval, const char *why,
                        const char *why_final)
{
    reg->challenged = false;
    if (interval == 0) {
        reg->state = SN_REG_FAILED;
        return step(SN_REG_NOTHING, 0, why_final);
    }
    if (reg->retries >= reg->cfg.max_retries) {
        reg->state = SN_REG_FAILED;
        return step(SN_REG_NOTHING, 0, "giving up: max_retries reached");
    }
    reg->retries++;
    reg->state = SN_REG_RETRYING;
    return step(SN_REG_WAIT, (uint64_t)interval * 1000u, why);
}

static unsigned refresh_after_s(unsigned granted)
{
    if (granted > 2 * REFRESH_MARGIN_S)
        return granted - REFRESH_MARGIN_S;
    return granted > 1 ? granted / 2 : 1;
}

static sn_reg_step on_unregister_response(sn_reg *reg, int status)
{
    /* A challenge we cannot (or can no longer) answer ends it too: the
     * binding expires at the registrar on its own. */
    reg->state = SN_REG_UNREGISTERED;
    reg->challenged = false;
    if (status == 401 || status == 407)
        return step(SN_REG_NOTHING, 0, "unregister refused; stopped anyway");
    return step(SN_REG_NOTHING, 0,
                status >= 200 && status < 300 ? "unregistered"
                                               : "unregister failed; stopped anyway");
}

sn_reg_step sn_reg_on_response(sn_reg *reg, int status, unsigned expires,
                               unsigned min_expires, bool can_authenticate)
{
    if (reg->state == SN_REG_UNREGISTERING) {
        if ((status == 401 || status == 407) && can_authenticate && !reg->challenged) {
            reg->challenged = true;
            return step(SN_REG_AUTHENTICATE, 0, "unregister challenged");
        }
        return on_unregister_response(reg, status);
    }
    if (reg->state != SN_REG_REGISTERING)
        return step(SN_REG_NOTHING, 0, "stray response");

    if (status >= 200 && status < 300) {
        reg->retries = 0;
        reg->challenged = false;
        reg->granted = expires ? expires : reg->expires;
        if (reg->unregister_after) {
            reg->state = SN_REG_UNREGISTERING;
            return step(SN_REG_SEND, 0, "unregistering");
        }
        reg->state = SN_REG_REGISTERED;
        return step(SN_REG_WAIT, (uint64_t)refresh_after_s(reg->granted) * 1000u,
                    "registered");
    }
    if (reg->unregister_after) {
        reg->state = SN_REG_UNREGISTERED;
        return step(SN_REG_NOTHING, 0, "stopped");
    }
    if (status == 401 || status == 407) {
        if (!reg->challenged && can_authenticate) {
            reg->challenged = true;
            return step(SN_REG_AUTHENTICATE, 0, "challenged");
        }
        if (!can_authenticate)
            return fail(reg, reg->cfg.fatal_retry_interval,
                        "no credentials for the realm",
                        "giving up: no credentials for the realm");
        if (reg->cfg.auth_rejection_permanent) {
            reg->state = SN_REG_FAILED;
            reg->challenged = false;
            return step(SN_REG_NOTHING, 0, "giving up: credentials rejected");
        }
        return fail(reg, reg->cfg.retry_interval, "credentials rejected", NULL);
    }
    if (status == 423 && min_expires > reg->expires) {
        reg->expires = min_expires;
        reg->challenged = false;
        return step(SN_REG_SEND, 0, "interval too brief: using Min-Expires");
    }
    if (sn_reg_status_is_temporary(status, reg->cfg.auth_rejection_permanent))
        return fail(reg, reg->cfg.retry_interval,
                    status ? "temporary failure" : "no response", NULL);
    if (status == 403)
        return fail(reg, reg->cfg.forbidden_retry_interval, "forbidden",
                    "giving up: forbidden");
    return fail(reg, reg->cfg.fatal_retry_interval, "fatal response",
                "giving up: fatal response");
}

sn_reg_step sn_reg_on_timer(sn_reg *reg)
{
    switch (reg->state) {
    case SN_REG_REGISTERED:
        reg->state = SN_REG_REGISTERING;
        reg->challenged = false;
        return step(SN_REG_SEND, 0, "refreshing");
    case SN_REG_RETRYING:
        reg->state = SN_REG_REGISTERING;
        reg->challenged = false;
        return step(SN_REG_SEND, 0, "retrying");
    default:
        return step(SN_REG_NOTHING, 0, "stray timer");
    }
}

sn_reg_step sn_reg_stop(sn_reg *reg)
{
    switch (reg->state) {
    case SN_REG_REGISTERED:
        reg->state = SN_REG_UNREGISTERING;
        reg->challenged = false;
        return step(SN_REG_SEND, 0, "unregistering");
    case SN_REG_REGISTERING:
        /* Its answer decides: registered means unregister then. */
        reg->unregister_after = true;
        return step(SN_REG_NOTHING, 0, "stopping after the pending REGISTER");
    case SN_REG_UNREGISTERING:
        return step(SN_REG_NOTHING, 0, "already unregistering");
    default:
        reg->state = SN_REG_UNREGISTERED;
        return step(SN_REG_NOTHING, 0, "stopped");
    }
}

sn_reg_step sn_reg_refresh_now(sn_reg *reg, const char *why)
{
    switch (reg->state) {
    case SN_REG_REGISTERED:
    case SN_REG_RETRYING:
        reg->state = SN_REG_REGISTERING;
        reg->challenged = false;
        return step(SN_REG_SEND, 0, why);
    default:
        return step(SN_REG_NOTHING, 0, "not now");
    }
}

const char *sn_reg_state_name(sn_reg_state s)
{
    static const char *const names[] = {
        "idle", "registering", "registered", "retrying", "failed",
        "unregistering", "unregistered",
    };

    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}
