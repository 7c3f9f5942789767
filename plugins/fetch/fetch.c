/* kubectl eidf fetch: placeholder until the stage lands. */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "error: kubectl eidf fetch is not implemented yet\n");
	return 1;
}
