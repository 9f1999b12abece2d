// SPDX-License-Identifier: MIT
/* transports.c - the table of transports, one per listener socket type (see transport.h). */
#include <stddef.h>

#include "transport.h"

extern const struct transport tcp_transport;

static const struct transport *const transports[] = {
	&tcp_transport,
};

const struct transport *transport_for(int sock_type)
{
	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
		if (transports[i]->sock_type == sock_type)
			return transports[i];
	return NULL;
}
