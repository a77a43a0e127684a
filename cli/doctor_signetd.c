/* doctor_signetd.c: is signetd there? A real milter negotiation on the
 * configured socket (what Postfix does first on every connection), and a
 * unix socket that the postfix user can open. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "doctor.h"

#define SD_AREA "signetd"
#define SD_TIMEOUT_MS 5000 /* connect, and each reply: Postfix's milter_connect_timeout is 30 s */
#define SD_MAX_GROUPS 256  /* groups of the postfix user we look at */

/* Milter wire (sendmail's libmilter protocol, version 6). */
#define MILTER_OPTNEG 'O'
#define MILTER_QUIT 'Q'
#define MILTER_VERSION 6
#define MILTER_ALL_ACTIONS 0x1ffu     /* every action Postfix 3 offers */
#define MILTER_ALL_PROTOCOL 0x1fffffu /* every step and no-reply flag */

static int connect_socket(const struct config_socket *s, char *why, size_t cap)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	if (s->family == CONFIG_SOCK_UNIX) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;
		un->sun_family = AF_UNIX;
		if (strlen(s->path) >= sizeof un->sun_path) {
			snprintf(why, cap, "socket path too long");
			return -1;
		}
		strcpy(un->sun_path, s->path);
		len = sizeof *un;
	} else {
		const char *host = s->address != NULL               ? s->address
				   : s->family == CONFIG_SOCK_INET6 ? "::1"
								    : "127.0.0.1";
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
		char port[8];
		snprintf(port, sizeof port, "%u", s->port);
		int rc = getaddrinfo(host, port, &hints, &ai);
		if (rc != 0) {
			snprintf(why, cap, "cannot resolve %s: %s", host, gai_strerror(rc));
			return -1;
		}
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		len = ai->ai_addrlen;
		freeaddrinfo(ai);
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(why, cap, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS) {
		snprintf(why, cap, "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int err = 0;
	socklen_t elen = sizeof err;
	if (poll(&p, 1, SD_TIMEOUT_MS) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
		snprintf(why, cap, "connect: %s", err ? strerror(err) : "timed out");
		close(fd);
		return -1;
	}
	return fd;
}

static bool read_full(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, SD_TIMEOUT_MS) != 1)
			return false;
		ssize_t r = read(fd, buf + got, n - got);
		if (r <= 0 && !(r < 0 && (errno == EINTR || errno == EAGAIN)))
			return false;
		if (r > 0)
			got += (size_t)r;
	}
	return true;
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

/* Sends Postfix's first packet (SMFIC_OPTNEG) and reads the reply's
 * header: signetd answers with 'O' and its version. */
static bool negotiate(int fd, unsigned *version, char *why, size_t cap)
{
	uint8_t pkt[17];
	put32(pkt, 13);
	pkt[4] = MILTER_OPTNEG;
	put32(pkt + 5, MILTER_VERSION);
	put32(pkt + 9, MILTER_ALL_ACTIONS);
	put32(pkt + 13, MILTER_ALL_PROTOCOL);
	if (write(fd, pkt, sizeof pkt) != (ssize_t)sizeof pkt) {
		snprintf(why, cap, "write: %s", strerror(errno));
		return false;
	}
	uint8_t hdr[9];
	if (!read_full(fd, hdr, sizeof hdr)) {
		snprintf(why, cap, "no answer to the option negotiation within %d s",
			 SD_TIMEOUT_MS / 1000);
		return false;
	}
	uint32_t len, v;
	memcpy(&len, hdr, 4);
	memcpy(&v, hdr + 5, 4);
	if (hdr[4] != MILTER_OPTNEG || ntohl(len) < 13) {
		snprintf(why, cap,
			 "answered the option negotiation with command '%c' (not a milter?)",
			 hdr[4] >= 0x20 && hdr[4] < 0x7f ? hdr[4] : '?');
		return false;
	}
	*version = ntohl(v);
	uint8_t quit[5] = {0, 0, 0, 1, MILTER_QUIT};
	(void)!write(fd, quit, sizeof quit);
	return true;
}

static void check_answers(struct doctor *d, const struct signetd_config *cfg)
{
	char why[512] = "";
	unsigned version = 0;
	int fd = connect_socket(&cfg->socket, why, sizeof why);
	bool ok = fd >= 0 && negotiate(fd, &version, why, sizeof why);
	if (fd >= 0)
		close(fd);
	if (ok)
		doctor_say(d, DOCTOR_OK, SD_AREA, NULL,
			   "answers a milter negotiation on %s (protocol version %u)",
			   cfg->socket.spec, version);
	else
		doctor_say(d, DOCTOR_FAIL, SD_AREA,
			   "start it (systemctl start signetd, or signetd -f -c FILE) and read its "
			   "log; signetd -t -c FILE checks the config",
			   "does not answer on %s: %s", cfg->socket.spec, why);
}

static bool in_group(const struct passwd *pw, gid_t gid)
{
	gid_t groups[SD_MAX_GROUPS];
	int n = SD_MAX_GROUPS;
	if (pw->pw_gid == gid)
		return true;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
		return false;
	for (int k = 0; k < n; k++)
		if (groups[k] == gid)
			return true;
	return false;
}

/* Connecting to a unix socket needs write permission on it. */
static void check_unix_permissions(struct doctor *d, const struct signetd_config *cfg)
{
	struct stat st;
	struct passwd *pw = getpwnam("postfix");
	if (cfg->socket.family != CONFIG_SOCK_UNIX || pw == NULL ||
	    stat(cfg->socket.path, &st) != 0)
		return;
	bool may = st.st_uid == pw->pw_uid   ? (st.st_mode & S_IWUSR) != 0
		   : in_group(pw, st.st_gid) ? (st.st_mode & S_IWGRP) != 0
					     : (st.st_mode & S_IWOTH) != 0;
	struct group *gr = getgrgid(st.st_gid);
	const char *gname = gr != NULL ? gr->gr_name : "?";
	if (may) {
		doctor_say(d, DOCTOR_OK, SD_AREA, NULL,
			   "the postfix user may connect to %s (mode %04o, group %s)",
			   cfg->socket.path, (unsigned)(st.st_mode & 07777), gname);
		return;
	}
	char fix[512];
	snprintf(fix, sizeof fix,
		 "usermod -aG %s postfix (and restart Postfix), or set socket_mode", gname);
	doctor_say(d, DOCTOR_FAIL, SD_AREA, fix,
		   "the postfix user cannot connect to %s (mode %04o, owner uid %u, group %s)",
		   cfg->socket.path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, gname);
}

void doctor_signetd(struct doctor *d, const struct signetd_config *cfg)
{
	check_answers(d, cfg);
	check_unix_permissions(d, cfg);
}
