/* kubectl eidf devrun: placeholder until the stage lands. */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "error: kubectl eidf devrun is not implemented yet\n");
	return 1;
}
