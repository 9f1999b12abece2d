// SPDX-License-Identifier: MIT
/*
 * privdrop.c - `user = NAME;`: once the listening sockets are bound, the BPF program loaded
 * and the control socket created, become NAME (uid, gid, no supplementary groups) and keep
 * one capability, CAP_NET_BIND_SERVICE, so that a reload can still open a listener on a port
 * below 1024. Nothing else is needed afterwards: the sockmap engine's map updates and
 * deletes work on the map descriptors it already holds (since Linux 6.5 bpf() checks
 * privileges only when a map or program is created; tests/e2e/privdrop.sh shows it), and
 * the counters are mmap()ed. A transparent backend (transparent.h) sets IP_TRANSPARENT on
 * each of its connections, so the caller keeps CAP_NET_ADMIN (or CAP_NET_RAW) too. Called
 * while the process has one thread: capabilities are per thread, and threads started later
 * inherit the reduced set.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <string.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "privdrop.h"

static int keep_only(uint64_t caps)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	for (unsigned int i = 0; i < 2; i++)
		data[i].effective = data[i].permitted = (uint32_t)(caps >> (32 * i));
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

bool privdrop_has_cap(unsigned int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (cap > CAP_LAST_CAP || syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

int privdrop(const char *user, uint64_t keep, const char **why)
{
	struct passwd *pw;
	int err;

	keep |= 1ull << CAP_NET_BIND_SERVICE;
	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		*why = errno ? "cannot read the user database" : "no such user";
		return errno ? -errno : -ENOENT;
	}
	if (geteuid() == pw->pw_uid && getuid() == pw->pw_uid)
		return 0;
	if (geteuid() != 0) {
		*why = "only root can change user";
		return -EPERM;
	}
	/* the bounding set too, while CAP_SETPCAP is still there */
	for (unsigned int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (!((keep >> cap) & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
		    errno != EINVAL) {
			*why = "cannot shrink the capability bounding set";
			return -errno;
		}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		*why = "cannot change uid or gid";
		return -errno;
	}
	err = keep_only(keep);
	if (err) {
		*why = "cannot set capabilities";
		return err;
	}
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		*why = "cannot set no_new_privs";
		return -errno;
	}
	return 0;
}
