/* Entry points of the programs in the multi-call binary (init/main.c dispatches on argv[0]).
 * Exit codes of the standalone tools: 0 ok, 1 failure, 2 usage. */
#ifndef LIVEINIT_STAGE2_APPLETS_H
#define LIVEINIT_STAGE2_APPLETS_H

int init_main(int argc, char **argv);     /* PID 1 of the live system (stage2/main.c) */
int halt_main(int argc, char **argv);     /* poweroff, halt, reboot (stage2/ctl.c) */
int shutdown_main(int argc, char **argv); /* shutdown -h|-r|-P|-H now (stage2/ctl.c) */
int mkfstab_main(int argc, char **argv);  /* the partition scan on its own (stage2/mkfstab.c) */
int exitrd_main(int argc, char **argv);   /* PID 1 after leaving the root at shutdown (stage2/exitrd.c) */

#endif
