/* Unit tests of the module dependency resolver (init/common/moddep.c): against the real modules.dep of
 * Debian's UML kernel (MODDEP_DEFAULT_DIR from the Makefile's KMODDIR, or $MODDEP_DIR), including a property
 * test over every module in it, and against small fake module directories for the broken cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/moddep.h"

#ifndef MODDEP_DEFAULT_DIR
#error "build with -DMODDEP_DEFAULT_DIR=\"/usr/lib/uml/modules/VERSION\""
#endif

static const char *real_dir(void)
{
	const char *d = getenv("MODDEP_DIR");
	return d && *d ? d : MODDEP_DEFAULT_DIR;
}

static void load_real(struct moddep *md)
{
	char failed[512];
	int rc = moddep_load(md, real_dir(), failed, sizeof failed);
	if (rc < 0)
		fail_msg("moddep_load %s: %s (%s)", real_dir(), strerror(-rc), failed);
	assert_true(md->nentries > 100); /* Debian's UML kernel has ~900 modules */
}

static size_t index_of(const struct modlist *l, const char *path)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->paths[i], path))
			return i;
	return (size_t)-1;
}

static void print_list(const struct modlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		print_message("  [%zu] %s\n", i, l->paths[i]);
}

/* ---- the real modules.dep ---- */

static void test_isofs(void **state)
{
	(void)state;
	struct moddep md;
	load_real(&md);
	struct modlist l = {0};
	assert_int_equal(moddep_resolve(&md, "isofs", &l), MODDEP_OK);
	print_list(&l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.paths[0], "kernel/drivers/cdrom/cdrom.ko");
	assert_string_equal(l.paths[1], "kernel/fs/isofs/isofs.ko");
	modlist_free(&l);
	moddep_free(&md);
}

static void test_squashfs_overlay_loop(void **state)
{
	(void)state;
	struct moddep md;
	load_real(&md);
	struct modlist l = {0};
	assert_int_equal(moddep_resolve(&md, "squashfs", &l), MODDEP_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.paths[0], "kernel/fs/squashfs/squashfs.ko");
	assert_int_equal(moddep_resolve(&md, "overlay", &l), MODDEP_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.paths[1], "kernel/fs/overlayfs/overlay.ko");
	assert_int_equal(moddep_resolve(&md, "loop", &l), MODDEP_OK);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.paths[2], "kernel/drivers/block/loop.ko");
	modlist_free(&l);
	moddep_free(&md);
}

static void test_builtin(void **state)
{
	(void)state;
	struct moddep md;
	load_real(&md);
	struct modlist l = {0};
	assert_int_equal(moddep_resolve(&md, "ext4", &l), MODDEP_BUILTIN);
	assert_int_equal(l.n, 0);
	assert_int_equal(moddep_resolve(&md, "kernel/fs/ext4/ext4.ko", &l), MODDEP_BUILTIN);
	assert_int_equal(l.n, 0);
	modlist_free(&l);
	moddep_free(&md);
}

static void test_missing(void **state)
{
	(void)state;
	struct moddep md;
	load_real(&md);
	struct modlist l = {0};
	static const char *names[] = {"no_such_module", "", "ISOFS", "isof", "isofsx", "-", "..",
				      "kernel/fs/isofs/"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		enum moddep_status st = moddep_resolve(&md, names[i], &l);
		if (st != MODDEP_MISSING)
			fail_msg("\"%s\": status %d, expected MODDEP_MISSING", names[i], st);
		assert_int_equal(l.n, 0);
	}
	/* A name longer than the resolver's buffers. */
	char longname[600];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_int_equal(moddep_resolve(&md, longname, &l), MODDEP_MISSING);
	modlist_free(&l);
	moddep_free(&md);
}

static void test_name_forms(void **state)
{
	(void)state;
	struct moddep md;
	load_real(&md);
	/* '-' and '_' are the same in module names; paths and suffixes reduce to the name. */
	static const char *forms[][2] = {
		{"crc-itu-t", "kernel/lib/crc-itu-t.ko"},
		{"crc_itu_t", "kernel/lib/crc-itu-t.ko"},
		{"crc-itu_t", "kernel/lib/crc-itu-t.ko"},
		{"nfs-acl", "kernel/fs/nfs_common/nfs_acl.ko"},
		{"nfs_acl", "kernel/fs/nfs_common/nfs_acl.ko"},
		{"isofs.ko", "kernel/fs/isofs/isofs.ko"},
		{"isofs.ko.xz", "kernel/fs/isofs/isofs.ko"},
		{"kernel/fs/isofs/isofs.ko", "kernel/fs/isofs/isofs.ko"},
	};
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		struct modlist l = {0};
		enum moddep_status st = moddep_resolve(&md, forms[i][0], &l);
		if (st != MODDEP_OK)
			fail_msg("\"%s\": status %d", forms[i][0], st);
		assert_true(l.n >= 1);
		assert_string_equal(l.paths[l.n - 1], forms[i][1]);
		modlist_free(&l);
	}
	char out[64];
	moddep_normalise("kernel/drivers/block/xen-blkfront.ko.zst", out, sizeof out);
	assert_string_equal(out, "xen_blkfront");
	moddep_normalise("a-b-c", out, 4);
	assert_string_equal(out, "a_b");
	moddep_normalise("", out, sizeof out);
	assert_string_equal(out, "");
	moddep_free(&md);
}

static void test_no_duplicates(void **state)
{
	(void)state;
	struct moddep md;
	load_real(&md);
	struct modlist l = {0};
	/* isofs, hfs, hfsplus, udf and sr_mod all need cdrom: it is listed once, before the first of them. */
	static const char *names[] = {"isofs", "hfs", "hfsplus", "udf", "sr_mod", "isofs", "cdrom", "ext4", "udf"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		assert_true(moddep_resolve(&md, names[i], &l) >= 0);
	print_list(&l);
	for (size_t i = 0; i < l.n; i++)
		for (size_t j = i + 1; j < l.n; j++)
			if (!strcmp(l.paths[i], l.paths[j]))
				fail_msg("%s listed twice", l.paths[i]);
	assert_int_equal(index_of(&l, "kernel/drivers/cdrom/cdrom.ko"), 0);
	assert_true(index_of(&l, "kernel/fs/udf/udf.ko") != (size_t)-1);
	assert_true(index_of(&l, "kernel/lib/crc-itu-t.ko") < index_of(&l, "kernel/fs/udf/udf.ko"));
	assert_true(index_of(&l, "kernel/drivers/scsi/scsi_mod.ko") < index_of(&l, "kernel/drivers/scsi/sr_mod.ko"));
	/* isofs cdrom hfs hfsplus crc-itu-t udf scsi_mod scsi_common sr_mod (+ whatever scsi_mod needs) */
	assert_true(l.n >= 9);
	modlist_free(&l);
	moddep_free(&md);
}

/* The test's own reading of modules.dep: path and dependency paths of every line. */
struct depline {
	char *path;
	char **deps;
	size_t ndeps;
};

static size_t read_deplines(const char *dir, struct depline **out)
{
	char path[512];
	snprintf(path, sizeof path, "%s/modules.dep", dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = 0, cap = 0;
	struct depline *v = NULL;
	char *line = NULL;
	size_t lcap = 0;
	while (getline(&line, &lcap, f) > 0) {
		char *colon = strchr(line, ':');
		assert_non_null(colon); /* depmod writes no malformed lines */
		*colon = '\0';
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			v = realloc(v, cap * sizeof *v);
			assert_non_null(v);
		}
		struct depline *d = &v[n++];
		d->path = strdup(line);
		d->deps = NULL;
		d->ndeps = 0;
		for (char *save = NULL, *t = strtok_r(colon + 1, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
			d->deps = realloc(d->deps, (d->ndeps + 1) * sizeof *d->deps);
			assert_non_null(d->deps);
			d->deps[d->ndeps++] = strdup(t);
		}
	}
	free(line);
	fclose(f);
	*out = v;
	return n;
}

static const struct depline *find_line(const struct depline *v, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].path, path))
			return &v[i];
	return NULL;
}

/* Property over the whole real file: for every module, the resolved list ends with the module, holds
 * exactly the module and the dependencies on its line (depmod writes the full closure), has no duplicates,
 * and every entry's own dependencies (from its own line) come before it. */
static void test_every_module_ordered(void **state)
{
	(void)state;
	struct moddep md;
	load_real(&md);
	/* The property is about modules.dep alone: softdeps (tested below on fake directories) would add to it. */
	size_t nsoftdeps = md.nsoftdeps;
	md.nsoftdeps = 0;
	struct depline *v;
	size_t n = read_deplines(real_dir(), &v);
	assert_int_equal(n, md.nentries);
	size_t checked = 0, with_deps = 0;
	for (size_t m = 0; m < n; m++) {
		struct modlist l = {0};
		enum moddep_status st = moddep_resolve(&md, v[m].path, &l);
		if (st != MODDEP_OK)
			fail_msg("%s: status %d", v[m].path, st);
		assert_true(l.n >= 1);
		if (strcmp(l.paths[l.n - 1], v[m].path) != 0)
			fail_msg("%s: list ends with %s", v[m].path, l.paths[l.n - 1]);
		if (l.n != v[m].ndeps + 1) {
			print_list(&l);
			fail_msg("%s: %zu modules listed, its line has %zu dependencies", v[m].path, l.n, v[m].ndeps);
		}
		for (size_t d = 0; d < v[m].ndeps; d++)
			if (index_of(&l, v[m].deps[d]) == (size_t)-1)
				fail_msg("%s: dependency %s not listed", v[m].path, v[m].deps[d]);
		for (size_t i = 0; i < l.n; i++) {
			if (index_of(&l, l.paths[i]) != i)
				fail_msg("%s: %s listed twice", v[m].path, l.paths[i]);
			const struct depline *own = find_line(v, n, l.paths[i]);
			assert_non_null(own);
			for (size_t d = 0; d < own->ndeps; d++) {
				size_t at = index_of(&l, own->deps[d]);
				if (at == (size_t)-1 || at >= i) {
					print_list(&l);
					fail_msg("%s: %s needs %s, which is not listed before it", v[m].path, l.paths[i],
						 own->deps[d]);
				}
			}
		}
		with_deps += v[m].ndeps > 0;
		checked++;
		modlist_free(&l);
	}
	md.nsoftdeps = nsoftdeps;
	print_message("checked %zu modules, %zu with dependencies\n", checked, with_deps);
	assert_true(with_deps > 50);
	for (size_t i = 0; i < n; i++) {
		for (size_t d = 0; d < v[i].ndeps; d++)
			free(v[i].deps[d]);
		free(v[i].deps);
		free(v[i].path);
	}
	free(v);
	moddep_free(&md);
}

/* All modules into one list: still no duplicates and every dependency first. */
static void test_all_modules_one_list(void **state)
{
	(void)state;
	struct moddep md;
	load_real(&md);
	size_t nsoftdeps = md.nsoftdeps;
	md.nsoftdeps = 0; /* modules.dep alone, as above */
	struct modlist l = {0};
	for (size_t i = md.nentries; i-- > 0;)
		assert_int_equal(moddep_resolve(&md, md.entries[i].name, &l), MODDEP_OK);
	assert_int_equal(l.n, md.nentries);
	struct depline *v;
	size_t n = read_deplines(real_dir(), &v);
	for (size_t i = 0; i < l.n; i++) {
		const struct depline *own = find_line(v, n, l.paths[i]);
		assert_non_null(own);
		for (size_t d = 0; d < own->ndeps; d++)
			assert_true(index_of(&l, own->deps[d]) < i);
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t d = 0; d < v[i].ndeps; d++)
			free(v[i].deps[d]);
		free(v[i].deps);
		free(v[i].path);
	}
	free(v);
	md.nsoftdeps = nsoftdeps;
	modlist_free(&l);
	moddep_free(&md);
}

/* ---- fake module directories ---- */

struct fakedir {
	char dir[64];
};

static void write_text(const char *dir, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void fake_dir(struct fakedir *fd, const char *dep, const char *builtin)
{
	strcpy(fd->dir, "/tmp/test_moddep.XXXXXX");
	assert_non_null(mkdtemp(fd->dir));
	if (dep)
		write_text(fd->dir, "modules.dep", dep);
	if (builtin)
		write_text(fd->dir, "modules.builtin", builtin);
}

static void remove_fake(struct fakedir *fd)
{
	char path[256];
	snprintf(path, sizeof path, "%s/modules.dep", fd->dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/modules.builtin", fd->dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/modules.softdep", fd->dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/modules.alias", fd->dir);
	unlink(path);
	assert_int_equal(rmdir(fd->dir), 0);
}

static void load_fake(struct fakedir *fd, struct moddep *md)
{
	char failed[256];
	int rc = moddep_load(md, fd->dir, failed, sizeof failed);
	if (rc < 0)
		fail_msg("moddep_load %s: %s", failed, strerror(-rc));
}

static void test_loop(void **state)
{
	(void)state;
	static const char *cycles[] = {
		"a.ko: b.ko\nb.ko: a.ko\n",
		"a.ko: a.ko\n",
		"a.ko: b.ko c.ko\nb.ko: c.ko\nc.ko: d.ko\nd.ko: b.ko\n",
		"a.ko: b.ko c.ko d.ko e.ko\nb.ko: c.ko d.ko e.ko a.ko\nc.ko: d.ko e.ko a.ko b.ko\n"
		"d.ko: e.ko a.ko b.ko c.ko\ne.ko: a.ko b.ko c.ko d.ko\n",
	};
	for (size_t i = 0; i < sizeof cycles / sizeof cycles[0]; i++) {
		struct fakedir fd;
		fake_dir(&fd, cycles[i], NULL);
		struct moddep md;
		load_fake(&fd, &md);
		struct modlist l = {0};
		assert_int_equal(moddep_resolve(&md, "a", &l), MODDEP_LOOP);
		modlist_free(&l);
		moddep_free(&md);
		remove_fake(&fd);
	}
	/* A module outside the cycle still resolves. */
	struct fakedir fd;
	fake_dir(&fd, "a.ko: b.ko\nb.ko: a.ko\nok.ko: dep.ko\ndep.ko:\n", NULL);
	struct moddep md;
	load_fake(&fd, &md);
	struct modlist l = {0};
	assert_int_equal(moddep_resolve(&md, "ok", &l), MODDEP_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.paths[0], "dep.ko");
	assert_string_equal(l.paths[1], "ok.ko");
	modlist_free(&l);
	moddep_free(&md);
	remove_fake(&fd);
}

/* Softdeps and aliases, as the PC kernel has them: ext4 pre: crypto-crc32c (two providers, one of them with its
 * own dependency), a post: softdep, a softdep naming nothing, a softdep cycle, a built-in alias target. */
static void test_softdeps_and_aliases(void **state)
{
	(void)state;
	struct fakedir fd;
	fake_dir(&fd,
		 "kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko\n"
		 "kernel/fs/jbd2/jbd2.ko:\n"
		 "kernel/crypto/crc32c_generic.ko:\n"
		 "kernel/arch/x86/crypto/crc32c-intel.ko: kernel/crypto/cryptd.ko\n"
		 "kernel/crypto/cryptd.ko:\n"
		 "kernel/drivers/ipmi/ipmi_msghandler.ko:\n"
		 "kernel/drivers/ipmi/ipmi_devintf.ko: kernel/drivers/ipmi/ipmi_msghandler.ko\n"
		 "kernel/a.ko:\nkernel/b.ko:\n",
		 "kernel/crypto/sha256_generic.ko\n");
	write_text(fd.dir, "modules.softdep",
		   "# Soft dependencies extracted from modules themselves.\n"
		   "softdep ext4 pre: crypto-crc32c\n"
		   "softdep jbd2 pre: crypto-crc32c\n"
		   "softdep ext4 pre: no-such-thing sha256\n"
		   "softdep ipmi_msghandler post: ipmi_devintf\n"
		   "softdep jbd2 a\n" /* no pre:/post: keyword: ignored, as kmod does */
		   "softdep a pre: b\nsoftdep b pre: a\n");
	write_text(fd.dir, "modules.alias",
		   "alias crypto-crc32c crc32c_generic\n"
		   "alias crypto-crc32c crc32c_intel\n"
		   "alias crc32c crc32c_generic\n"
		   "alias fs-ext4 ext4\n"
		   "alias fs-ext3 ext4\n"
		   "alias sha256 sha256_generic\n");
	struct moddep md;
	load_fake(&fd, &md);
	assert_int_equal(md.nsoftdeps, 7);
	assert_int_equal(md.aliases.n, 6);

	struct modlist l = {0};
	assert_int_equal(moddep_resolve(&md, "fs-ext3", &l), MODDEP_OK);
	print_list(&l);
	/* Both crc32c providers (intel after its own dependency), before jbd2, before ext4; nothing else. */
	assert_int_equal(l.n, 5);
	assert_string_equal(l.paths[0], "kernel/crypto/crc32c_generic.ko");
	assert_string_equal(l.paths[1], "kernel/crypto/cryptd.ko");
	assert_string_equal(l.paths[2], "kernel/arch/x86/crypto/crc32c-intel.ko");
	assert_string_equal(l.paths[3], "kernel/fs/jbd2/jbd2.ko");
	assert_string_equal(l.paths[4], "kernel/fs/ext4/ext4.ko");
	modlist_free(&l);

	assert_int_equal(moddep_resolve(&md, "crypto-crc32c", &l), MODDEP_OK);
	assert_int_equal(l.n, 3);
	modlist_free(&l);
	assert_int_equal(moddep_resolve(&md, "ipmi_msghandler", &l), MODDEP_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.paths[0], "kernel/drivers/ipmi/ipmi_msghandler.ko");
	assert_string_equal(l.paths[1], "kernel/drivers/ipmi/ipmi_devintf.ko");
	modlist_free(&l);
	/* a and b name each other: each is listed once, the other first. */
	assert_int_equal(moddep_resolve(&md, "a", &l), MODDEP_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.paths[0], "kernel/b.ko");
	assert_string_equal(l.paths[1], "kernel/a.ko");
	modlist_free(&l);
	assert_int_equal(moddep_resolve(&md, "sha256", &l), MODDEP_BUILTIN);
	assert_int_equal(moddep_resolve(&md, "crypto-nothing", &l), MODDEP_MISSING);
	assert_int_equal(l.n, 0);
	modlist_free(&l);
	moddep_free(&md);
	remove_fake(&fd);
}

static void test_deep_chain(void **state)
{
	(void)state;
	/* m0 needs m1, m1 needs m2, ... m40: a legitimate deep (acyclic) chain resolves in order. */
	char text[8192] = "";
	for (int i = 0; i < 40; i++) {
		char line[64];
		snprintf(line, sizeof line, "m%d.ko: m%d.ko\n", i, i + 1);
		strcat(text, line);
	}
	strcat(text, "m40.ko:\n");
	struct fakedir fd;
	fake_dir(&fd, text, NULL);
	struct moddep md;
	load_fake(&fd, &md);
	struct modlist l = {0};
	assert_int_equal(moddep_resolve(&md, "m0", &l), MODDEP_OK);
	assert_int_equal(l.n, 41);
	for (int i = 0; i <= 40; i++) {
		char want[16];
		snprintf(want, sizeof want, "m%d.ko", 40 - i);
		assert_string_equal(l.paths[i], want);
	}
	modlist_free(&l);
	moddep_free(&md);
	remove_fake(&fd);
}

static void test_long_dep_line(void **state)
{
	(void)state;
	/* One module with 400 dependencies: a dependency line of ~10 KiB.  Every one is listed, in front. */
	size_t cap = 64 * 1024;
	char *text = malloc(cap);
	assert_non_null(text);
	strcpy(text, "kernel/big/big.ko:");
	for (int i = 0; i < 400; i++)
		snprintf(text + strlen(text), cap - strlen(text), " kernel/drivers/some/dir/dep%03d.ko", i);
	strcat(text, "\n");
	for (int i = 0; i < 400; i++)
		snprintf(text + strlen(text), cap - strlen(text), "kernel/drivers/some/dir/dep%03d.ko:\n", i);
	struct fakedir fd;
	fake_dir(&fd, text, NULL);
	free(text);
	struct moddep md;
	load_fake(&fd, &md);
	struct modlist l = {0};
	assert_int_equal(moddep_resolve(&md, "big", &l), MODDEP_OK);
	assert_int_equal(l.n, 401);
	for (int i = 0; i < 400; i++) {
		char want[64];
		snprintf(want, sizeof want, "kernel/drivers/some/dir/dep%03d.ko", i);
		assert_string_equal(l.paths[i], want);
	}
	assert_string_equal(l.paths[400], "kernel/big/big.ko");
	modlist_free(&l);
	moddep_free(&md);
	remove_fake(&fd);
}

static void test_missing_builtin_file(void **state)
{
	(void)state;
	struct fakedir fd;
	fake_dir(&fd, "kernel/fs/isofs/isofs.ko: kernel/drivers/cdrom/cdrom.ko\nkernel/drivers/cdrom/cdrom.ko:\n",
		 NULL);
	struct moddep md;
	load_fake(&fd, &md);
	assert_int_equal(md.nbuiltin, 0);
	struct modlist l = {0};
	assert_int_equal(moddep_resolve(&md, "isofs", &l), MODDEP_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(moddep_resolve(&md, "ext4", &l), MODDEP_MISSING);
	modlist_free(&l);
	moddep_free(&md);
	remove_fake(&fd);

	/* With modules.builtin: a built-in dependency is skipped, the rest loads. */
	fake_dir(&fd, "kernel/fs/a.ko: kernel/fs/ext4/ext4.ko kernel/fs/b.ko\nkernel/fs/b.ko:\n",
		 "kernel/fs/ext4/ext4.ko\nkernel/fs/jbd2/jbd2.ko\n");
	load_fake(&fd, &md);
	assert_int_equal(md.nbuiltin, 2);
	l = (struct modlist){0};
	assert_int_equal(moddep_resolve(&md, "a", &l), MODDEP_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.paths[0], "kernel/fs/b.ko");
	assert_string_equal(l.paths[1], "kernel/fs/a.ko");
	assert_int_equal(moddep_resolve(&md, "jbd2", &l), MODDEP_BUILTIN);
	modlist_free(&l);
	moddep_free(&md);
	remove_fake(&fd);
}

static void test_missing_dep_file(void **state)
{
	(void)state;
	struct fakedir fd;
	fake_dir(&fd, NULL, "kernel/fs/ext4/ext4.ko\n");
	struct moddep md;
	char failed[256] = "";
	assert_int_equal(moddep_load(&md, fd.dir, failed, sizeof failed), -ENOENT);
	char want[256];
	snprintf(want, sizeof want, "%s/modules.dep", fd.dir);
	assert_string_equal(failed, want);
	assert_null(md.entries);
	assert_int_equal(md.nentries, 0);
	moddep_free(&md); /* safe after a failed load */
	remove_fake(&fd);

	assert_int_equal(moddep_load(&md, "/nonexistent/liveinit-test", failed, sizeof failed), -ENOENT);
	assert_string_equal(failed, "/nonexistent/liveinit-test/modules.dep");
	/* A small failed buffer is truncated, not overrun (ASan). */
	char small[8];
	assert_int_equal(moddep_load(&md, "/nonexistent/liveinit-test", small, sizeof small), -ENOENT);
	assert_string_equal(small, "/nonexi");
}

static void test_malformed_lines(void **state)
{
	(void)state;
	struct fakedir fd;
	fake_dir(&fd,
		 "this line has no colon\n"
		 "\n"
		 ": starts with a colon\n"
		 "   \n"
		 "kernel/a.ko: kernel/b.ko\n"
		 "\n\n"
		 "kernel/b.ko:\n"
		 "garbage \x01\xff\n"
		 "kernel/c.ko:kernel/b.ko\t kernel/a.ko  \n"
		 "kernel/d.ko:", /* last line without a newline */
		 NULL);
	struct moddep md;
	load_fake(&fd, &md);
	assert_int_equal(md.nentries, 4);
	struct modlist l = {0};
	assert_int_equal(moddep_resolve(&md, "c", &l), MODDEP_OK);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.paths[0], "kernel/b.ko");
	assert_string_equal(l.paths[1], "kernel/a.ko");
	assert_string_equal(l.paths[2], "kernel/c.ko");
	assert_int_equal(moddep_resolve(&md, "d", &l), MODDEP_OK);
	assert_int_equal(l.n, 4);
	assert_int_equal(moddep_resolve(&md, "this line has no colon", &l), MODDEP_MISSING);
	modlist_free(&l);
	moddep_free(&md);
	remove_fake(&fd);

	/* A dependency that has no line of its own: the module cannot be loaded. */
	fake_dir(&fd, "kernel/a.ko: kernel/gone.ko\n", NULL);
	load_fake(&fd, &md);
	l = (struct modlist){0};
	assert_int_equal(moddep_resolve(&md, "a", &l), MODDEP_MISSING);
	modlist_free(&l);
	moddep_free(&md);
	remove_fake(&fd);

	/* Empty modules.dep: everything is missing. */
	fake_dir(&fd, "", NULL);
	load_fake(&fd, &md);
	assert_int_equal(md.nentries, 0);
	assert_int_equal(moddep_resolve(&md, "a", &l), MODDEP_MISSING);
	moddep_free(&md);
	remove_fake(&fd);
}

int main(void)
{
	print_message("modules directory: %s\n", real_dir());
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_isofs),
		cmocka_unit_test(test_squashfs_overlay_loop),
		cmocka_unit_test(test_builtin),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_name_forms),
		cmocka_unit_test(test_no_duplicates),
		cmocka_unit_test(test_every_module_ordered),
		cmocka_unit_test(test_all_modules_one_list),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_softdeps_and_aliases),
		cmocka_unit_test(test_deep_chain),
		cmocka_unit_test(test_long_dep_line),
		cmocka_unit_test(test_missing_builtin_file),
		cmocka_unit_test(test_missing_dep_file),
		cmocka_unit_test(test_malformed_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
