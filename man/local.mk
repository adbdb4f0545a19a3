# Manual pages (section 3), included from the top-level Makefile.am; paths
# are relative to the top source directory. The object pages come first,
# then one ".so" alias per public function. tests/man-lint.sh checks that
# every SIPNAT_API function has its page and that every page is listed here.
dist_man3_MANS += \
	man/sipnat.3 \
	man/sipnat_ctx.3 \
	man/sipnat_io.3 \
	man/sipnat_transport.3 \
	man/sipnat_policy.3 \
	man/sipnat_registration.3 \
	man/sipnat_endpoint.3 \
	man/sipnat_strerror.3 \
	man/sipnat_version_num.3 \
	man/sipnat_version_string.3 \
	man/sipnat_event_type_name.3 \
	man/sipnat_ctx_new.3 \
	man/sipnat_ctx_ref.3 \
	man/sipnat_ctx_unref.3 \
	man/sipnat_ctx_set_log_func.3 \
	man/sipnat_ctx_set_log_level.3 \
	man/sipnat_ctx_get_log_level.3 \
	man/sipnat_ctx_get_fd.3 \
	man/sipnat_ctx_get_timeout.3 \
	man/sipnat_ctx_process.3 \
	man/sipnat_ctx_set_watch_func.3 \
	man/sipnat_ctx_set_timer_func.3 \
	man/sipnat_ctx_assign.3 \
	man/sipnat_ctx_process_fd.3 \
	man/sipnat_ctx_process_timeout.3 \
	man/sipnat_transport_cfg_new.3 \
	man/sipnat_transport_cfg_free.3 \
	man/sipnat_transport_cfg_set_protocol.3 \
	man/sipnat_transport_cfg_set_bind.3 \
	man/sipnat_transport_new.3 \
	man/sipnat_transport_ref.3 \
	man/sipnat_transport_unref.3 \
	man/sipnat_transport_get_port.3 \
	man/sipnat_transport_get_address.3 \
	man/sipnat_transport_get_protocol.3 \
	man/sipnat_transport_send_options.3 \
	man/sipnat_transport_shutdown.3 \
	man/sipnat_policy_new.3 \
	man/sipnat_policy_new_callback.3 \
	man/sipnat_policy_ref.3 \
	man/sipnat_policy_unref.3 \
	man/sipnat_policy_get_type.3 \
	man/sipnat_policy_add_local_net.3 \
	man/sipnat_policy_set_external_signaling_address.3 \
	man/sipnat_policy_set_external_media_address.3 \
	man/sipnat_policy_learn.3 \
	man/sipnat_policy_get_learned.3 \
	man/sipnat_policy_advertise.3 \
	man/sipnat_policy_explain.3 \
	man/sipnat_transport_cfg_set_policy.3 \
	man/sipnat_transport_cfg_set_force_rport.3 \
	man/sipnat_transport_cfg_set_tls.3 \
	man/sipnat_transport_explain.3 \
	man/sipnat_registration_cfg_new.3 \
	man/sipnat_registration_cfg_free.3 \
	man/sipnat_registration_cfg_set_server_uri.3 \
	man/sipnat_registration_cfg_set_client_uri.3 \
	man/sipnat_registration_cfg_set_contact_user.3 \
	man/sipnat_registration_cfg_set_outbound_proxy.3 \
	man/sipnat_registration_cfg_set_credentials.3 \
	man/sipnat_registration_cfg_set_expiration.3 \
	man/sipnat_registration_cfg_set_retry_interval.3 \
	man/sipnat_registration_cfg_set_forbidden_retry_interval.3 \
	man/sipnat_registration_cfg_set_fatal_retry_interval.3 \
	man/sipnat_registration_cfg_set_max_retries.3 \
	man/sipnat_registration_cfg_set_auth_rejection_permanent.3 \
	man/sipnat_registration_cfg_set_max_random_initial_delay.3 \
	man/sipnat_registration_cfg_set_line.3 \
	man/sipnat_registration_cfg_set_keepalive.3 \
	man/sipnat_registration_new.3 \
	man/sipnat_registration_ref.3 \
	man/sipnat_registration_unref.3 \
	man/sipnat_registration_start.3 \
	man/sipnat_registration_stop.3 \
	man/sipnat_registration_get_state.3 \
	man/sipnat_registration_state_name.3 \
	man/sipnat_endpoint_cfg_new.3 \
	man/sipnat_endpoint_cfg_free.3 \
	man/sipnat_endpoint_cfg_set_name.3 \
	man/sipnat_endpoint_cfg_add_match.3 \
	man/sipnat_endpoint_new.3 \
	man/sipnat_endpoint_ref.3 \
	man/sipnat_endpoint_unref.3 \
	man/sipnat_endpoint_get_name.3 \
	man/sipnat_endpoint_cfg_set_auth.3 \
	man/sipnat_endpoint_cfg_set_rewrite_contact.3 \
	man/sipnat_endpoint_cfg_set_max_contacts.3 \
	man/sipnat_endpoint_cfg_set_remove_existing.3 \
	man/sipnat_endpoint_cfg_add_contact.3 \
	man/sipnat_endpoint_cfg_set_qualify_frequency.3 \
	man/sipnat_endpoint_cfg_set_expiration.3 \
	man/sipnat_endpoint_cfg_set_event_func.3 \
	man/sipnat_endpoint_get_contact.3 \
	man/sipnat_endpoint_qualify.3 \
	man/sipnat_transport_identify.3 \
	man/sipnat_config.3 \
	man/sipnat_config_load.3 \
	man/sipnat_config_ref.3 \
	man/sipnat_config_unref.3 \
	man/sipnat_config_type_name.3 \
	man/sipnat_config_count.3 \
	man/sipnat_config_get_name.3 \
	man/sipnat_config_get.3 \
	man/sipnat_config_count_values.3 \
	man/sipnat_config_get_uint.3 \
	man/sipnat_config_get_bool.3 \
	man/sipnat_config_get_location.3 \
	man/sipnat_config_dump.3

# The configuration file (section 5).
dist_man5_MANS = man/sipnat.conf.5

EXTRA_DIST += tests/man-lint.sh
