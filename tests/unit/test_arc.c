/* test_arc.c: lib/arc.c and lib/arc_sig.c (RFC 8617). */
#include "testutil.h"
#include <signet/arc.h>
#include "arc_sig.h"

static void ARC_SET_02_instance_bounds(void **state)
{
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ARC_SET_02_instance_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
