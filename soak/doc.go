// Package soak holds the many-instance and fault suites: real bin/caddy
// processes (two instances on one Redis, Redis killed, hung and failed
// over by Sentinel, config reloads, bbolt crashes) driven over loopback
// with bounded request counts, every non-2xx/3xx answer counted.
//
// The tests carry the build tag soak, so a plain `go test ./...` does not
// build them. Run them with
//
//	make -f xcaddy.mk soak
//
// which builds bin/caddy and runs `go test -tags soak ./soak/` with
// AUTHGATE_CADDY_BIN pointing at it.
package soak
