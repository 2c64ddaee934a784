/* The package count of the ready line: how many packages dpkg's status file lists as installed. */
#ifndef LIVEINIT_STAGE2_DPKG_H
#define LIVEINIT_STAGE2_DPKG_H

#define DPKG_STATUS "/var/lib/dpkg/status"

/* Stanzas whose Status field's last word is "installed" (not "config-files", "half-installed", ...).
 * Returns the count, or -errno when the file cannot be read (a root without dpkg: -ENOENT). */
int dpkg_installed_count(const char *status_path);

#endif
