/* doctor.c: the report signet doctor prints. Each finding is one line an
 * administrator can grep for, with the fix on the next line. */
#include "doctor.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const level_name[] = {"OK", "WARN", "FAIL"};

void doctor_say(struct doctor *d, enum doctor_level lv, const char *area, const char *fix,
		const char *fmt, ...)
{
	va_list ap;
	d->count[lv]++;
	printf("%-5s %-8s ", level_name[lv], area);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (fix != NULL)
		printf("%-5s %-8s fix: %s\n", "", "", fix);
}
