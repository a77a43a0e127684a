/* cmd_dmarc_digest.h: `signet dmarc digest [--json] [--html FILE] FILE|DIR...`
 * reads received DMARC aggregate reports (issue #15, "Reading"). Called by
 * the `signet dmarc` dispatcher with argv[0] = "digest". */
#ifndef SIGNET_CMD_DMARC_DIGEST_H
#define SIGNET_CMD_DMARC_DIGEST_H

/* Exit status: 0 every input read; 2 some skipped (each named on stderr,
 * the rest read and shown); 1 the output could not be made; 64 usage. */
#define DIGEST_EXIT_SKIPPED 2

int cmd_dmarc_digest(int argc, char **argv);

#endif
