// Package redis is the store.Store backend shared by many authgate
// instances: Redis (single node, Sentinel or Cluster) through a go-redis
// UniversalClient.
//
// # Connection URLs
//
// ParseURL accepts three forms ("rediss" instead of "redis" turns TLS on,
// minimum TLS 1.2, certificates verified against each host name):
//
//	redis://[[user]:password@]host[:port][/db][?options]
//	redis+sentinel://[[user]:password@]host1[:port],host2[:port]/master[/db][?options]
//	redis+cluster://[[user]:password@]host1[:port],host2[:port][?options]
//
// The default port is 6379, and 26379 for Sentinel hosts. In the Sentinel
// form the hosts are the Sentinels, master is the name they monitor, and
// user/password authenticate against the Redis master; the Sentinels' own
// credentials go in the sentinel_username and sentinel_password options.
// The Cluster form lists seed nodes and always uses database 0. Special
// characters in user, password and master name are percent-encoded.
//
// Options (all optional): dial_timeout, read_timeout, write_timeout,
// pool_timeout (Go durations such as "500ms", or whole seconds), pool_size,
// min_idle_conns, dialer_retries, max_retries (integers; max_retries=-1
// disables command retries), client_name, protocol (2 or 3),
// and for Sentinel sentinel_username and sentinel_password. Unknown options
// are an error. Reads always go to the master: replicas could serve stale
// single-use codes.
//
// Without options a client fails fast: dial_timeout 1s, read_timeout and
// write_timeout 500ms, pool_timeout 1s, dialer_retries 1, max_retries 1.
// The deadline of a call's context always applies to the socket as well
// (go-redis ContextTimeoutEnabled), whichever comes first.
//
// # Keys and Redis Cluster
//
// Every key is stored as prefix+key (default prefix "authgate:"). The
// prefix must contain neither '{' nor '}' (see CheckPrefix) so the hash tag
// of a key is kept: "authgate:{u:user_1}:user" hashes on "u:user_1". Multi-key
// calls (Delete with several keys, CreateIndexed, DeleteIndexed) must be
// given keys that share one hash tag, or Redis Cluster refuses them with
// CROSSSLOT. Counters of Incr are decimal strings, sets of AddMember are
// Redis sets, and Allow keeps its GCRA state under "rate:"+prefix+key (the
// key layout of github.com/go-redis/redis_rate). A set key and a value key
// must have different names.
//
// # Errors
//
// Failures to reach Redis (network errors, timeouts, closed client, and the
// replies LOADING, READONLY, MASTERDOWN, CLUSTERDOWN, TRYAGAIN, OOM, BUSY,
// MISCONF, NOREPLICAS, EXECABORT and authentication errors) wrap
// store.ErrUnavailable.
// Other error replies (for example WRONGTYPE) are returned wrapped without
// it.
package redis
