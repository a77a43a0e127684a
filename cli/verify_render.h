/* verify_render.h: how `signet verify` shows DKIM, SPF, DMARC and ARC parts
 * of an evaluation (evaluate.h): a summary line each, the step-by-step
 * walk-through of --explain, the JSON line of --json, and the
 * Authentication-Results field of --ar. Results are the library's; this
 * file only words them. */
#ifndef SIGNET_CLI_VERIFY_RENDER_H
#define SIGNET_CLI_VERIFY_RENDER_H

#include "evaluate.h"

/* verify_render_dkim.c: signature idx (0-based) as a text line or a JSON
 * object and newline; x: the explain data, NULL without --explain (JSON:
 * an "explain" member). */
void render_dkim_result(size_t idx, const struct signet_sig_result *r,
			const struct signet_sig_explain *x, bool json);
/* --explain in text: the steps, body change, header hash input, z=. */
void render_dkim_explain(const struct signet_sig_result *r, const struct signet_sig_explain *x);

/* --explain, before the DKIM signatures: each SPF check, term by term. */
void render_spf_explain(const struct evaluation *ev);
/* After the DKIM signatures: SPF (a summary line each unless explain),
 * DMARC and ARC, summary or walk-through. */
void render_checks_text(const struct evaluation *ev, bool explain);
/* After the per-signature JSON lines: {"spf":..,"spf_helo":..,"dmarc":..,"arc":..}. */
void render_checks_json(const struct evaluation *ev);
/* "Authentication-Results:" and the value, one line per fold (LF ends). */
bool render_ar(const struct evaluation *ev, const char *authserv_id);

#endif
