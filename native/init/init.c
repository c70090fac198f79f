/* carton-init: executes a plan sent by carton-runtime. Placeholder until the interpreter lands. */
int main(void) { return 1; }
