/* app.h - the console application and its single cooperative event loop.
 *
 * The loop polls the keyboard, runs timers and advances the current job
 * (one token of generation, one chunk of a model load) by one step; nothing
 * blocks. llama2_efi.c and main_host.c set up the platform and call app_main. */
#ifndef APP_H
#define APP_H

/* Runs the menu/REPL/kiosk application until the user quits; reads llm.cfg
 * from the volume root. Returns the exit status (0 = normal). */
int app_main(void);

#endif
