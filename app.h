/* app.h - the console application and its single cooperative event loop.
 *
 * The loop polls the keyboard, runs timers and advances the current job
 * (one token of generation, one chunk of a model load) by one step; nothing
 * blocks. llama2_efi.c and main_host.c set up the platform and call app_main. */
#ifndef APP_H
#define APP_H

struct config;

/* Runs the menu/REPL/kiosk application until the user quits. Reads llm.cfg
 * from the volume root; settings in cli->set_mask (host command line) override
 * it; cli may be NULL. Returns the exit status (0 = normal). */
int app_main(const struct config *cli);

#endif
