/* memledger gpu: GPU devices and dma-buf exporters, each with its clients or buffers. */
#ifndef MEMLEDGER_GPU_VIEW_H
#define MEMLEDGER_GPU_VIEW_H

#include "cli.h"

/* Runs the view. Returns an exit status. */
int gpu_run(struct cli *cli);

#endif
