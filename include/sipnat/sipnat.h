/*
 * libsipnat - NAT-aware SIP user agent library
 *
 * sipnat.h: the umbrella header; include this one.
 */
#ifndef SIPNAT_SIPNAT_H
#define SIPNAT_SIPNAT_H

#include <sipnat/version.h>
#include <sipnat/common.h>
#include <sipnat/ctx.h>
#include <sipnat/dns.h>
#include <sipnat/transport.h>
#include <sipnat/policy.h>
#include <sipnat/registration.h>
#include <sipnat/endpoint.h>
#include <sipnat/config.h>
#include <sipnat/anchor.h>
#include <sipnat/session.h>

#endif /* SIPNAT_SIPNAT_H */
