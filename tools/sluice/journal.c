// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice journal: read the daemon's journal (userspace/journal.c), rebuild
 * the state as of a past time in a scratch pin root, and fold the history
 * into one snapshot. None of these is a write command: they run here, never
 * through the daemon (replay touches only its own scratch pins; compact
 * needs the journal's writer lock, which a running sluiced holds).
 */
#include <errno.h>
#include <ftw.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "cmd.h"
#include "ctl.h"
#include "err.h"
#include "journal.h"
#include "loader.h"
#include "main.h"
#include "out.h"
#include "timefmt.h"

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(out_file(),
		"Usage: sluice journal show [dir DIR] [since TIME] [type TYPE[,TYPE]...]\n"
		"       sluice journal replay at TIME [dir DIR]\n"
		"       sluice journal compact [dir DIR]\n"
		"       sluice journal help\n"
		"\n"
		"Keywords may be written as options too: --dir DIR, --since TIME, --at TIME,\n"
		"--type TYPE.\n"
		"\n"
		"DIR  := the journal folder (default %s, the daemon's --journal)\n"
		"TIME := RFC 3339        2026-11-27T19:00:00Z, 2026-11-27T20:00:00.5+01:00\n"
		"      | relative        -5m, -90s, -2h, -1d (before now), now\n"
		"      | @UNIX_SECONDS   @1795806000\n"
		"TYPE := { command | failed | config | health | breaker | election | snapshot | bgp }\n"
		"\n"
		"  show     Print the records, oldest first: seq, time (UTC), type and what\n"
		"           happened (the command, its error, the health or breaker\n"
		"           transition, the snapshot's size) and who asked for it: [uid U\n"
		"           pid P], the control client or the writing process (unknown in\n"
		"           records written before authors were kept). since keeps records\n"
		"           at or after TIME; type keeps the given types. With -j: a list of\n"
		"           {seq, time, time_ns, type, payload, uid, pid} (uid and pid null\n"
		"           when unknown).\n"
		"  replay   Rebuild the state as of TIME: the commands of the last snapshot\n"
		"           at or before TIME, then every command journaled after it up to\n"
		"           TIME that did not fail, run in order against a private scratch pin\n"
		"           root next to the real one (PINROOT-replay-PID, removed afterwards);\n"
		"           then print `service show` and `backend show` of that state. The\n"
		"           live maps are not touched. Interface commands (iface attach/detach)\n"
		"           and others that do not build map state are skipped and counted.\n"
		"           A replayed command that fails is reported as a warning. Needs root\n"
		"           and bpffs, like any command that creates maps.\n"
		"  compact  Fold the history into one snapshot: the commands replay would run\n"
		"           now become a snapshot record at the start of a fresh segment, and\n"
		"           every segment before it is removed. replay at a time after the\n"
		"           compaction gives the same state as before; history before it is\n"
		"           gone. Needs the journal's writer lock: stop sluiced first.\n"
		"\n"
		"Files: DIR/NNNNNNNNNNNNNNNNNNNN.seg (the live segment, named by its first\n"
		"seq) and NNNNNNNNNNNNNNNNNNNN.seg.z (sealed segments, gzip: zcat reads them).\n"
		"\n"
		"Examples:\n"
		"  sluice journal show since -10m\n"
		"  sluice journal show type command,failed since 2026-11-27T19:00:00Z\n"
		"  sluice -j journal replay at 2026-11-27T19:00:00Z\n"
		"  sluice journal replay --at @1795806000 --dir /srv/sluice/journal\n"
		"  sluice journal compact\n",
		JOURNAL_DIR_DEFAULT);
	return 0;
}

/* Options shared by the commands: "dir D" / "--dir D" / "--dir=D" and so on. */
struct jopts {
	const char *dir;
	const char *since;
	const char *at;
	const char *types;
};

static int parse_opts(const char *cmd, int argc, char **argv, const char *const *allowed,
		      size_t nallowed, struct jopts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->dir = JOURNAL_DIR_DEFAULT;
	for (i = 0; i < argc; i++) {
		const char *word = argv[i], *value = NULL, *eq;
		char name[16];
		int k;

		while (*word == '-')
			word++;
		eq = strchr(word, '=');
		if (eq && argv[i][0] == '-' && (size_t)(eq - word) < sizeof(name)) {
			memcpy(name, word, (size_t)(eq - word));
			name[eq - word] = '\0';
			word = name;
			value = eq + 1;
		}
		k = args_keyword_find(word, allowed, nallowed, sizeof(allowed[0]), "keyword");
		if (k < 0)
			return cli_usage_error("journal", "journal %s: %s", cmd, err_msg());
		if (!value) {
			if (i + 1 >= argc || !*argv[i + 1])
				return cli_usage_error("journal", "journal %s: '%s' needs a value",
						       cmd, allowed[k]);
			value = argv[++i];
		}
		if (!strcmp(allowed[k], "dir"))
			o->dir = value;
		else if (!strcmp(allowed[k], "since"))
			o->since = value;
		else if (!strcmp(allowed[k], "at"))
			o->at = value;
		else
			o->types = value;
	}
	return 0;
}

static int parse_time_arg(const char *cmd, const char *text, __u64 *ns)
{
	if (timefmt_parse(text, journal_now_ns(), ns))
		return cli_usage_error("journal", "journal %s: %s", cmd, err_msg());
	return 0;
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return "?";
	return json_object_get_string(v);
}

/* An argv array as one line, words with blanks or quotes quoted. */
static void text_argv(struct json_object *a)
{
	size_t i, n = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;

	for (i = 0; i < n; i++) {
		const char *w = json_object_get_string(json_object_array_get_idx(a, i));

		if (!w || !*w || strpbrk(w, " \t\"'"))
			out_text("%s'%s'", i ? " " : "", w ? w : "");
		else
			out_text("%s%s", i ? " " : "", w);
	}
}

/* The text line's detail of a record. */
static void text_detail(const struct journal_record *r, struct json_object *o)
{
	struct json_object *v;

	if (!o) {
		out_text("(payload not JSON: %.*s)", (int)(r->len > 120 ? 120 : r->len),
			 r->payload);
		return;
	}
	switch (r->type) {
	case JOURNAL_COMMAND:
		if (json_object_object_get_ex(o, "argv", &v))
			text_argv(v);
		break;
	case JOURNAL_FAILED:
		out_text("command %s: %s", get_str(o, "seq"), get_str(o, "error"));
		break;
	case JOURNAL_CONFIG:
		out_text("%s applied (%s commands)", get_str(o, "path"), get_str(o, "commands"));
		break;
	case JOURNAL_HEALTH:
		out_text("service %s backend %s %s: %s", get_str(o, "service"),
			 get_str(o, "backend"),
			 json_object_object_get_ex(o, "up", &v) && json_object_get_boolean(v)
				 ? "up"
				 : "down",
			 get_str(o, "why"));
		break;
	case JOURNAL_BREAKER:
		out_text("service %s backend %s %s -> %s (%s)", get_str(o, "service"),
			 get_str(o, "backend"), get_str(o, "from"), get_str(o, "to"),
			 get_str(o, "cause"));
		break;
	case JOURNAL_PANIC:
		out_text("service %s %s panic (%s of %s active backends healthy)",
			 get_str(o, "service"),
			 json_object_object_get_ex(o, "panic", &v) && json_object_get_boolean(v)
				 ? "entered"
				 : "left",
			 get_str(o, "healthy"), get_str(o, "active"));
		break;
	case JOURNAL_SNAPSHOT:
		out_text("%zu commands", json_object_object_get_ex(o, "commands", &v) &&
							 json_object_is_type(v, json_type_array)
						 ? json_object_array_length(v)
						 : (size_t)0);
		break;
	default:
		out_text("%s", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		break;
	}
}

/* "command,failed" into a bit mask of types. */
static int parse_types(const char *text, unsigned int *mask)
{
	char buf[128], *save = NULL, *w;
	__u16 t;

	*mask = 0;
	snprintf(buf, sizeof(buf), "%s", text);
	for (w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (journal_type_parse(w, &t))
			return cli_usage_error("journal", "journal show: %s", err_msg());
		*mask |= 1u << t;
	}
	if (!*mask)
		return cli_usage_error("journal", "journal show: 'type' needs a type");
	return 0;
}

static int do_show(int argc, char **argv)
{
	static const char *const kw[] = { "dir", "since", "type" };
	struct journal_iter *it = NULL;
	struct journal_record r;
	unsigned int mask = ~0u;
	__u64 since = 0;
	struct jopts o;
	int err, ret;

	err = parse_opts("show", argc, argv, kw, 3, &o);
	if (err)
		return err;
	if (o.since && parse_time_arg("show", o.since, &since))
		return -EINVAL;
	if (o.types && parse_types(o.types, &mask))
		return -EINVAL;
	err = journal_iter_open(o.dir, &it);
	if (err)
		return cli_lib_error(err);
	out_open_array(NULL);
	while ((ret = journal_iter_next(it, &r)) == 1) {
		struct json_object *p;
		char when[40];

		if (r.time_ns < since || !(mask & (1u << (r.type <= 31 ? r.type : 0))))
			continue;
		p = journal_payload_parse(&r);
		timefmt_format(r.time_ns, when, sizeof(when));
		out_open_obj(NULL);
		out_u64("seq", "%llu", r.seq);
		out_str("time", " %s", when);
		out_u64("time_ns", NULL, r.time_ns);
		out_str("type", " %-8s ", journal_type_name(r.type));
		if (out_is_json()) {
			if (p)
				out_json("payload", p);
			else
				out_str("payload", NULL, "");
		} else {
			text_detail(&r, p);
		}
		/* Who asked for it; unknown in records written before authors were kept. */
		if (r.has_author) {
			out_u64("uid", " [uid %llu", r.author.uid);
			out_u64("pid", " pid %llu]", r.author.pid);
		} else {
			out_null("uid", NULL, NULL);
			out_null("pid", NULL, NULL);
		}
		if (!out_is_json())
			out_text("\n");
		out_close_obj();
		json_object_put(p);
	}
	out_close_array();
	journal_iter_close(it);
	if (ret < 0)
		return cli_lib_error(ret);
	return 0;
}

/* ---- replay ---- */

/*
 * Commands that build map state; the rest (interfaces, cgroups, leaders, anything
 * not a write command) is skipped in a replay.
 */
static int is_replayed(enum cmd_kind kind)
{
	switch (kind) {
	case CMD_NONE:
	case CMD_IFACE_ATTACH:
	case CMD_IFACE_DETACH:
	case CMD_HOST_ATTACH:
	case CMD_HOST_DETACH:
	case CMD_LEADER_SET:
	case CMD_KINDS:
		return 0;
	default:
		return 1;
	}
}

/* Where the command words start: after the global options a journaled line may carry. */
static int options_end(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc && argv[i][0] == '-';)
		i += strcmp(argv[i], "--flow-entries") ? 1 : 2;
	return i < argc ? i : argc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

struct scratch {
	char root[512];
	int made;
	size_t run, skipped, failed;
};

/*
 * A failure's message as the CLI prints it on stderr, without its
 * "sluice: " prefix and final newlines, into err_msg().
 */
static void set_cli_error(const char *text)
{
	const char *msg = text && *text ? text : "failed";
	size_t l;

	if (!strncmp(msg, "sluice: ", 8))
		msg += 8;
	l = strlen(msg);
	while (l && msg[l - 1] == '\n')
		l--;
	err_set("%.*s", (int)l, msg);
}

/* Run one read command against the scratch root, its output captured (error kept). */
static int scratch_run(struct scratch *s, int argc, char **argv, int json, char **out_text_p)
{
	char flow[16], **v = calloc((size_t)argc + 7, sizeof(*v));
	char *obuf = NULL, *ebuf = NULL;
	size_t olen = 0, elen = 0;
	FILE *of, *ef;
	int n = 0, i, rc = 1;

	if (!v)
		return -ENOMEM;
	snprintf(flow, sizeof(flow), "%u", LOADER_FLOW_ENTRIES_MIN);
	v[n++] = "--local";
	v[n++] = "--pin-root";
	v[n++] = s->root;
	v[n++] = "--flow-entries";
	v[n++] = flow;
	if (json)
		v[n++] = "-j";
	for (i = 0; i < argc; i++)
		v[n++] = argv[i];
	of = open_memstream(&obuf, &olen);
	ef = open_memstream(&ebuf, &elen);
	if (of && ef)
		rc = cli_run(n, v, of, ef);
	if (of)
		fclose(of);
	if (ef)
		fclose(ef);
	if (rc)
		set_cli_error(ebuf);
	if (out_text_p && !rc)
		*out_text_p = obuf;
	else
		free(obuf);
	free(ebuf);
	free(v);
	return rc ? -EIO : 0;
}

/* Parse and apply one journaled write command on the scratch root, its output dropped. */
static int replay_one(void *ctx, int argc, char **argv)
{
	struct scratch *s = ctx;
	struct sluice_cmd cmd;
	struct out_capture cap;
	char line[400];
	size_t off = 0;
	int i, err;

	i = options_end(argc, argv);
	err = cmd_parse(argc - i, argv + i, &cmd);
	if (!is_replayed(cmd.kind)) {
		s->skipped++;
		return 0;
	}
	s->run++;
	/* The journaled command's flow-table size is not the scratch's. */
	cmd.flow_entries = LOADER_FLOW_ENTRIES_MIN;
	if (out_capture_begin(&cap, 0, 0)) {
		err_set("out of memory");
		err = -ENOMEM;
	} else {
		if (err) {
			cmd_usage_report(cmd_kinds[cmd.kind].object, err_msg());
		} else {
			err = cmd_apply(s->root, &cmd);
			if (err)
				out_error("%s", err_text(err));
		}
		out_capture_end(&cap);
		if (err)
			set_cli_error(cap.err);
		free(cap.out);
		free(cap.err);
	}
	if (!err)
		return 0;
	s->failed++;
	for (i = 0; i < argc && off < sizeof(line); i++)
		off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s", i ? " " : "",
					argv[i]);
	out_warn("replay: '%s' failed: %s", line, err_msg());
	return 0;
}

/* `OBJECT show` of the scratch state: text copied, JSON parsed into the document. */
static int scratch_show(struct scratch *s, const char *object, const char *key)
{
	char *argv[] = { (char *)object, "show" };
	char *text = NULL;
	int err;

	err = scratch_run(s, 2, argv, out_is_json(), &text);
	if (err) {
		out_error("cannot show the replayed %ss: %s", object, err_msg());
		return err;
	}
	if (out_is_json()) {
		struct json_object *o = json_tokener_parse(text);

		if (o) {
			out_json(key, o);
			json_object_put(o);
		}
	} else {
		out_text("%ss:\n%s", object, *text ? text : "  (none)\n");
	}
	free(text);
	return 0;
}

/* The scratch root: next to the pin root, PINROOT-replay-PID. */
static int scratch_make(struct scratch *s)
{
	struct stat st;
	int err;

	snprintf(s->root, sizeof(s->root), "%s-replay-%d", cli.pin_root, (int)getpid());
	if (!stat(s->root, &st)) {
		out_error("the scratch pin root %s exists (a replay running?); remove it first",
			  s->root);
		return -EEXIST;
	}
	s->made = 1;
	loader_set_flow_entries(LOADER_FLOW_ENTRIES_MIN);
	err = loader_maps_ensure(s->root);
	loader_set_flow_entries(0);
	if (err)
		return cli_lib_error(err);
	return 0;
}

static void scratch_remove(struct scratch *s)
{
	if (s->made)
		nftw(s->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	s->made = 0;
}

static int do_replay(int argc, char **argv)
{
	static const char *const kw[] = { "at", "dir" };
	struct journal_cmds cmds = { 0 };
	struct scratch s;
	char when[40];
	struct jopts o;
	__u64 at;
	size_t i;
	int err;

	memset(&s, 0, sizeof(s));
	err = parse_opts("replay", argc, argv, kw, 2, &o);
	if (err)
		return err;
	if (!o.at)
		return cli_usage_error("journal", "journal replay: missing 'at TIME'");
	if (parse_time_arg("replay", o.at, &at))
		return -EINVAL;
	err = journal_replay_commands(o.dir, at, journal_cmds_add, &cmds);
	if (err) {
		journal_cmds_free(&cmds);
		return cli_lib_error(err);
	}
	err = scratch_make(&s);
	if (err)
		goto out;
	for (i = 0; i < cmds.count; i++)
		replay_one(&s, cmds.argc[i], cmds.argv[i]);
	timefmt_format(at, when, sizeof(when));
	out_text("State as of %s: ", when);
	out_str("at", NULL, when);
	out_u64("at_ns", NULL, at);
	out_u64("commands", "%llu commands replayed", s.run);
	out_u64("skipped", ", %llu skipped", s.skipped);
	out_u64("failed", ", %llu failed", s.failed);
	out_text(" (journal %s)\n", o.dir);
	err = scratch_show(&s, "service", "services");
	if (!err)
		err = scratch_show(&s, "backend", "backends");
out:
	scratch_remove(&s);
	journal_cmds_free(&cmds);
	return err;
}

/* ---- compact ---- */

static int count_segments(const char *dir, __u64 *files, __u64 *bytes)
{
	struct journal_iter *it;
	struct journal_record r;
	int ret;

	/* Records rather than files: the iterator is the reader's view. */
	*files = 0;
	*bytes = 0;
	ret = journal_iter_open(dir, &it);
	if (ret)
		return ret;
	while ((ret = journal_iter_next(it, &r)) == 1) {
		(*files)++;
		*bytes += r.size;
	}
	journal_iter_close(it);
	return ret;
}

/*
 * The journal's writer is a running sluiced: ask it to compact (it folds
 * and snapshots on its open journal, between two commands).
 */
static int compact_by_daemon(const char *dir)
{
	const char *path = ctl_socket_path(cli.socket, CLI_SOCKET_DEFAULT);
	struct ctl_reply r;
	int err;

	err = ctl_call(path, "{\"op\":\"compact\"}\n", 60000, &r);
	if (err) {
		err_set("journal %s is held by another process and %s does not answer: %s", dir,
			path, err_text(err));
		return cli_lib_error(-EBUSY);
	}
	err = r.rc;
	if (err)
		fputs(r.err, out_err_file());
	else
		out_str("compacted_by", "%s", r.out);
	ctl_reply_free(&r);
	return err ? 1 : 0;
}

static int do_compact(int argc, char **argv)
{
	static const char *const kw[] = { "dir" };
	struct journal_cmds cmds = { 0 };
	struct journal_recovery rec;
	__u64 seq, n_before, b_before, n_after, b_after;
	struct journal *j = NULL;
	struct jopts o;
	int err;

	err = parse_opts("compact", argc, argv, kw, 1, &o);
	if (err)
		return err;
	/* The writer lock first, so nothing is appended between fold and snapshot. */
	err = journal_open(o.dir, NULL, &j, &rec);
	if (err == -EBUSY)
		return compact_by_daemon(o.dir);
	if (err)
		return cli_lib_error(err);
	if (rec.cut)
		out_warn("journal %s: cut a torn tail of %llu bytes in %s (after seq %llu)", o.dir,
			 rec.bytes_cut, rec.segment, rec.last_good_seq);
	err = count_segments(o.dir, &n_before, &b_before);
	if (!err)
		err = journal_replay_commands(o.dir, UINT64_MAX, journal_cmds_add, &cmds);
	if (!err)
		err = journal_compact_open(j, &cmds, &seq);
	journal_close(j);
	if (!err)
		err = count_segments(o.dir, &n_after, &b_after);
	if (err) {
		journal_cmds_free(&cmds);
		return cli_lib_error(err);
	}
	out_str("dir", "journal %s compacted: ", o.dir);
	out_u64("snapshot_seq", "snapshot seq %llu", seq);
	out_u64("commands", " holds %llu commands; ", cmds.count);
	out_u64("records_before", "%llu records", n_before);
	out_u64("bytes_before", " (%llu bytes)", b_before);
	out_u64("records_after", " -> %llu", n_after);
	out_u64("bytes_after", " (%llu bytes)\n", b_after);
	journal_cmds_free(&cmds);
	return 0;
}

const struct cli_cmd cli_journal_cmds[] = {
	{ "show", do_show, 0, CMD_NONE },
	{ "replay", do_replay, 0, CMD_NONE },
	{ "compact", do_compact, 0, CMD_NONE },
	{ "help", do_help, 0, CMD_NONE },
	{ NULL, NULL, 0, CMD_NONE },
};
