// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The etcd client's calls (etcd.h): the request bodies of kv, lease and
 * election, and the streams watch and observe. How they run: etcd_int.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "err.h"
#include "etcd_int.h"

/* --- Requests: the API ------------------------------------------------------------ */

static json_object *body_key(const char *key, size_t key_len, int prefix)
{
	json_object *o = json_object_new_object();
	char *end;
	size_t n;

	if (!o)
		return NULL;
	if (prefix) {
		end = malloc(key_len + 1);
		if (!end)
			goto fail;
		n = etcd_prefix_end(key, key_len, end);
		if (etcd_jadd_bytes(o, "range_end", end, n)) {
			free(end);
			goto fail;
		}
		free(end);
	}
	if (!key_len) {
		key = "";
		key_len = 1; /* "\0".."\0": every key (an empty key is refused) */
	}
	if (etcd_jadd_bytes(o, "key", key, key_len))
		goto fail;
	return o;
fail:
	json_object_put(o);
	return NULL;
}

static int need_key(size_t key_len, int prefix)
{
	if (key_len || prefix)
		return 0;
	err_set("etcd: empty key");
	return -EINVAL;
}

int etcd_get(struct etcd *e, const char *key, size_t key_len, int prefix, etcd_cb cb, void *ctx,
	     struct etcd_req **req)
{
	int err = need_key(key_len, prefix);

	if (err)
		return err;
	return etcd_req_new(e, ETCD_OP_GET, "/v3/kv/range", body_key(key, key_len, prefix), cb, ctx,
			    req);
}

static json_object *body_put(const char *key, size_t key_len, const char *val, size_t val_len,
			     __s64 lease)
{
	json_object *o = body_key(key, key_len, 0);

	if (o && (etcd_jadd_bytes(o, "value", val, val_len) ||
		  (lease && etcd_jadd_i64(o, "lease", lease)))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int etcd_put(struct etcd *e, const char *key, size_t key_len, const char *val, size_t val_len,
	     __s64 lease, etcd_cb cb, void *ctx, struct etcd_req **req)
{
	int err = need_key(key_len, 0);

	if (err)
		return err;
	return etcd_req_new(e, ETCD_OP_PUT, "/v3/kv/put",
			    body_put(key, key_len, val, val_len, lease), cb, ctx, req);
}

int etcd_put_if(struct etcd *e, const char *key, size_t key_len, const char *val, size_t val_len,
		__s64 lease, __s64 mod_rev, etcd_cb cb, void *ctx, struct etcd_req **req)
{
	json_object *o, *arr, *cmp, *put, *op, *get;
	int err = need_key(key_len, 0);

	if (err)
		return err;
	o = json_object_new_object();
	cmp = body_key(key, key_len, 0);
	put = body_put(key, key_len, val, val_len, lease);
	get = body_key(key, key_len, 0);
	if (!o || !cmp || !put || !get)
		goto fail;
	/* A missing key has mod_revision 0: "must not exist" is the same compare. */
	json_object_object_add(cmp, "target", json_object_new_string("MOD"));
	json_object_object_add(cmp, "result", json_object_new_string("EQUAL"));
	if (etcd_jadd_i64(cmp, "mod_revision", mod_rev))
		goto fail;
	arr = json_object_new_array();
	if (!arr)
		goto fail;
	json_object_array_add(arr, cmp);
	cmp = NULL;
	json_object_object_add(o, "compare", arr);
	op = json_object_new_object();
	arr = json_object_new_array();
	if (!op || !arr) {
		json_object_put(op);
		json_object_put(arr);
		goto fail;
	}
	json_object_object_add(op, "request_put", put);
	put = NULL;
	json_object_array_add(arr, op);
	json_object_object_add(o, "success", arr);
	op = json_object_new_object();
	arr = json_object_new_array();
	if (!op || !arr) {
		json_object_put(op);
		json_object_put(arr);
		goto fail;
	}
	json_object_object_add(op, "request_range", get);
	get = NULL;
	json_object_array_add(arr, op);
	json_object_object_add(o, "failure", arr);
	return etcd_req_new(e, ETCD_OP_PUT_IF, "/v3/kv/txn", o, cb, ctx, req);
fail:
	json_object_put(o);
	json_object_put(cmp);
	json_object_put(put);
	json_object_put(get);
	if (req)
		*req = NULL;
	return -ENOMEM;
}

int etcd_del(struct etcd *e, const char *key, size_t key_len, int prefix, etcd_cb cb, void *ctx,
	     struct etcd_req **req)
{
	int err = need_key(key_len, prefix);

	if (err)
		return err;
	return etcd_req_new(e, ETCD_OP_DEL, "/v3/kv/deleterange", body_key(key, key_len, prefix),
			    cb, ctx, req);
}

static json_object *body_i64(const char *name, __s64 v)
{
	json_object *o = json_object_new_object();

	if (o && etcd_jadd_i64(o, name, v)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int etcd_lease_grant(struct etcd *e, __s64 ttl_s, etcd_cb cb, void *ctx, struct etcd_req **req)
{
	if (ttl_s <= 0) {
		err_set("etcd: lease TTL %lld s must be positive", (long long)ttl_s);
		return -EINVAL;
	}
	return etcd_req_new(e, ETCD_OP_GRANT, "/v3/lease/grant", body_i64("TTL", ttl_s), cb, ctx,
			    req);
}

int etcd_lease_keepalive(struct etcd *e, __s64 lease, etcd_cb cb, void *ctx, struct etcd_req **req)
{
	/* A stream on the gateway: one request, one {"result":...}, then the end. */
	return etcd_req_new(e, ETCD_OP_KEEPALIVE, "/v3/lease/keepalive", body_i64("ID", lease), cb,
			    ctx, req);
}

int etcd_lease_revoke(struct etcd *e, __s64 lease, etcd_cb cb, void *ctx, struct etcd_req **req)
{
	return etcd_req_new(e, ETCD_OP_REVOKE, "/v3/lease/revoke", body_i64("ID", lease), cb, ctx,
			    req);
}

static json_object *body_name(const char *name)
{
	json_object *o = json_object_new_object();

	if (o && etcd_jadd_bytes(o, "name", name, strlen(name))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int need_name(const char *name)
{
	if (name && *name)
		return 0;
	err_set("etcd: empty election name");
	return -EINVAL;
}

int etcd_campaign(struct etcd *e, const char *name, __s64 lease, const char *val, size_t val_len,
		  etcd_cb cb, void *ctx, struct etcd_req **req)
{
	struct etcd_req *r;
	json_object *o;
	int err = need_name(name);

	if (err)
		return err;
	o = body_name(name);
	if (o && (etcd_jadd_i64(o, "lease", lease) || etcd_jadd_bytes(o, "value", val, val_len))) {
		json_object_put(o);
		o = NULL;
	}
	err = etcd_req_new(e, ETCD_OP_CAMPAIGN, "/v3/election/campaign", o, cb, ctx, &r);
	if (req)
		*req = err ? NULL : r;
	if (err)
		return err;
	r->val = malloc(val_len + 1);
	if (!r->val) {
		list_del(&r->link);
		etcd_req_free(e, r);
		if (req)
			*req = NULL;
		return -ENOMEM;
	}
	if (val_len)
		memcpy(r->val, val, val_len);
	r->val[val_len] = '\0';
	r->val_len = val_len;
	return 0;
}

/* A LeaderKey {name, key, rev, lease} from the caller's copy of kvs[0]. */
static json_object *leader_key(const char *name, const struct etcd_kv *k)
{
	json_object *l = body_name(name);

	if (l &&
	    (etcd_jadd_bytes(l, "key", k->key, k->key_len) ||
	     etcd_jadd_i64(l, "rev", k->create_revision) || etcd_jadd_i64(l, "lease", k->lease))) {
		json_object_put(l);
		return NULL;
	}
	return l;
}

int etcd_proclaim(struct etcd *e, const char *name, const struct etcd_kv *lk, const char *val,
		  size_t val_len, etcd_cb cb, void *ctx, struct etcd_req **req)
{
	json_object *o, *l;
	int err = need_name(name);

	if (err)
		return err;
	o = json_object_new_object();
	l = leader_key(name, lk);
	if (!o || !l || etcd_jadd_bytes(o, "value", val, val_len)) {
		json_object_put(o);
		json_object_put(l);
		return -ENOMEM;
	}
	json_object_object_add(o, "leader", l);
	return etcd_req_new(e, ETCD_OP_PROCLAIM, "/v3/election/proclaim", o, cb, ctx, req);
}

int etcd_leader(struct etcd *e, const char *name, etcd_cb cb, void *ctx, struct etcd_req **req)
{
	int err = need_name(name);

	if (err)
		return err;
	return etcd_req_new(e, ETCD_OP_LEADER, "/v3/election/leader", body_name(name), cb, ctx,
			    req);
}

int etcd_resign(struct etcd *e, const char *name, const struct etcd_kv *lk, etcd_cb cb, void *ctx,
		struct etcd_req **req)
{
	json_object *o, *l;
	int err = need_name(name);

	if (err)
		return err;
	o = json_object_new_object();
	l = leader_key(name, lk);
	if (!o || !l) {
		json_object_put(o);
		json_object_put(l);
		return -ENOMEM;
	}
	json_object_object_add(o, "leader", l);
	return etcd_req_new(e, ETCD_OP_RESIGN, "/v3/election/resign", o, cb, ctx, req);
}

int etcd_watch(struct etcd *e, const char *key, size_t key_len, int prefix, __s64 start_rev,
	       etcd_event_fn fn, void *ctx, struct etcd_stream **s)
{
	return etcd_stream_new(e, 0, key, key_len, prefix, start_rev, fn, ctx, s);
}

int etcd_observe(struct etcd *e, const char *name, etcd_event_fn fn, void *ctx,
		 struct etcd_stream **s)
{
	size_t n = name ? strlen(name) : 0;
	char *pfx;
	int err;

	if (!n) {
		err_set("etcd: observe needs an election name");
		return -EINVAL;
	}
	/* etcd's election keys: "name/" followed by the lease in hex. */
	pfx = malloc(n + 2);
	if (!pfx)
		return -ENOMEM;
	memcpy(pfx, name, n);
	pfx[n] = '/';
	pfx[n + 1] = '\0';
	err = etcd_stream_new(e, 1, pfx, n + 1, 1, 0, fn, ctx, s);
	free(pfx);
	return err;
}
