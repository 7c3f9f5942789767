/* kubectl-eidf dispatcher: placeholder until the foundation lands. */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "error: not implemented yet\n");
	return 1;
}
