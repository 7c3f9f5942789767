/* kubectl eidf pvc: placeholder until the stage lands. */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "error: kubectl eidf pvc is not implemented yet\n");
	return 1;
}
