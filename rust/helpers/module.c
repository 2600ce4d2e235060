// SPDX-License-Identifier: GPL-2.0

#include <linux/module.h>

#include "helpers.h"

void rmm_module_pin(struct module *module)
{
	__module_get(module);
}

/* module_refcount(); 0 without CONFIG_MODULE_UNLOAD, which has none. */
int rmm_module_refcount(struct module *module)
{
#ifdef CONFIG_MODULE_UNLOAD
	return module_refcount(module);
#else
	return 0;
#endif
}

/* READ_ONCE(module->state); live without CONFIG_MODULES. */
int rmm_module_state(struct module *module)
{
#ifdef CONFIG_MODULES
	return READ_ONCE(module->state);
#else
	return MODULE_STATE_LIVE;
#endif
}

bool rmm_try_module_get(struct module *module)
{
	return try_module_get(module);
}
