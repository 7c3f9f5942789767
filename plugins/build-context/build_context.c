/* kubectl eidf build-context: placeholder until the stage lands. */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "error: kubectl eidf build-context is not implemented yet\n");
	return 1;
}
