/* Carton's N-API addon: host-side syscalls Node lacks. No policy lives here. */
#include <node_api.h>

static napi_value init(napi_env env, napi_value exports) { (void)env; return exports; }
NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
