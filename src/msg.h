/* Messages to the user: one line on stderr, each starting with "memledger: ". A leaf:
 * every other module of the tool may call it, it calls none of them. */
#ifndef MEMLEDGER_MSG_H
#define MEMLEDGER_MSG_H

/* Prints "memledger: " and the message to stderr, then a newline. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
