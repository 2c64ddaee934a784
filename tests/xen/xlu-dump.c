/* xlu-dump: parse an xl domain config with Xen's own libxlutil (the parser `xl create` uses) and print what
 * it understood, one `key=value` per line, so tests can compare it with what scripts/xen-config was asked for.
 *
 *   xlu-dump CONFIG
 *
 * Prints name, type, kernel, ramdisk, extra, memory, vcpus, on_poweroff, on_reboot, on_crash (those present),
 * then per disk `disk.I.vdev`, `disk.I.target`, `disk.I.format`, `disk.I.access` (ro/rw) as xlu_disk_parse
 * read them, and `vif.I=SPEC` per vif entry.  Exit: 0 ok, 1 the config does not parse, 2 usage. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libxl.h>
#include <libxlutil.h>

static const char *const string_keys[] = {
    "name", "type", "kernel", "ramdisk", "extra", "on_poweroff", "on_reboot", "on_crash",
};
static const char *const long_keys[] = { "memory", "vcpus" };

static void print_strings(const XLU_Config *cfg)
{
    for (size_t i = 0; i < sizeof string_keys / sizeof string_keys[0]; i++) {
        const char *v;
        if (xlu_cfg_get_string(cfg, string_keys[i], &v, 1) == 0)
            printf("%s=%s\n", string_keys[i], v);
    }
    for (size_t i = 0; i < sizeof long_keys / sizeof long_keys[0]; i++) {
        long v;
        if (xlu_cfg_get_long(cfg, long_keys[i], &v, 1) == 0)
            printf("%s=%ld\n", long_keys[i], v);
    }
}

/* Each disk spec goes through xlu_disk_parse, exactly as xl does for `disk = [ ... ]`. */
static int print_disks(XLU_Config *cfg, const char *path)
{
    XLU_ConfigList *list;
    int n;
    if (xlu_cfg_get_list(cfg, "disk", &list, &n, 1) != 0)
        return 0;
    for (int i = 0; i < n; i++) {
        const char *spec = xlu_cfg_get_listitem(list, i);
        libxl_device_disk disk;
        libxl_device_disk_init(&disk);
        int err = spec ? xlu_disk_parse(cfg, 1, &spec, &disk) : EINVAL;
        if (err) {
            fprintf(stderr, "xlu-dump: %s: disk %d (%s): %s\n", path, i, spec ? spec : "not a string",
                    strerror(err));
            libxl_device_disk_dispose(&disk);
            return -1;
        }
        printf("disk.%d.vdev=%s\n", i, disk.vdev ? disk.vdev : "");
        printf("disk.%d.target=%s\n", i, disk.pdev_path ? disk.pdev_path : "");
        printf("disk.%d.format=%s\n", i, libxl_disk_format_to_string(disk.format));
        printf("disk.%d.access=%s\n", i, disk.readwrite ? "rw" : "ro");
        libxl_device_disk_dispose(&disk);
    }
    return 0;
}

static void print_vifs(const XLU_Config *cfg)
{
    XLU_ConfigList *list;
    int n;
    if (xlu_cfg_get_list(cfg, "vif", &list, &n, 1) != 0)
        return;
    for (int i = 0; i < n; i++) {
        const char *spec = xlu_cfg_get_listitem(list, i);
        printf("vif.%d=%s\n", i, spec ? spec : "");
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: xlu-dump CONFIG\n");
        return 2;
    }
    XLU_Config *cfg = xlu_cfg_init(stderr, argv[1]);
    if (!cfg) {
        fprintf(stderr, "xlu-dump: %s: xlu_cfg_init: %s\n", argv[1], strerror(errno));
        return 1;
    }
    int err = xlu_cfg_readfile(cfg, argv[1]);
    if (err) {
        fprintf(stderr, "xlu-dump: %s: does not parse: %s\n", argv[1], strerror(err));
        xlu_cfg_destroy(cfg);
        return 1;
    }
    print_strings(cfg);
    int rc = print_disks(cfg, argv[1]) ? 1 : 0;
    print_vifs(cfg);
    xlu_cfg_destroy(cfg);
    return rc;
}
