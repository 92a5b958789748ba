/* Header-only module: see include/CEventPoll.h. SwiftPM needs one source file. */
#include "CEventPoll.h"
