/* libdevid-core: the one place that talks to the TPM. Front-ends include this header only. */
#ifndef DEVID_H
#define DEVID_H

#include "config.h"
#include "core.h"
#include "error.h"
#include "identity.h"
#include "key.h"
#include "log.h"
#include "nv.h"
#include "provision.h"
#include "cert.h"
#include "store.h"
#include "token.h"
#include "tpm_caps.h"

#endif
