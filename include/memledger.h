/* memledger: Linux memory accounting. The library reads, parses and aggregates; it never prints. */
#ifndef MEMLEDGER_H
#define MEMLEDGER_H

#include "memledger/capture.h"
#include "memledger/cgroup.h"
#include "memledger/gpu.h"
#include "memledger/ledger.h"
#include "memledger/libs.h"
#include "memledger/maps.h"
#include "memledger/pages.h"
#include "memledger/parse.h"
#include "memledger/scan.h"
#include "memledger/source.h"
#include "memledger/system.h"
#include "memledger/group.h"
#include "memledger/trend.h"
#include "memledger/role.h"
#include "memledger/oom.h"

#endif
