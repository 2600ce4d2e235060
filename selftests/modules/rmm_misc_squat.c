// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Test helper: holds a misc device name, so that a driver that registers a
 * device of that name fails its init with -EEXIST after the devices it made
 * before (selftests/init/init_fail_test.c). Its own device answers nothing.
 */

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

static char *name = "rmm_squat";
module_param(name, charp, 0444);
MODULE_PARM_DESC(name, "the misc device name to hold");

static const struct file_operations squat_fops = {
	.owner = THIS_MODULE,
};

static struct miscdevice squat_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.fops = &squat_fops,
	.mode = 0600,
};

static int __init rmm_misc_squat_init(void)
{
	squat_dev.name = name;
	return misc_register(&squat_dev);
}

static void __exit rmm_misc_squat_exit(void)
{
	misc_deregister(&squat_dev);
}

module_init(rmm_misc_squat_init);
module_exit(rmm_misc_squat_exit);
MODULE_DESCRIPTION("rmm test helper: squats a misc device name");
MODULE_AUTHOR("The rmm authors");
MODULE_LICENSE("GPL");
