package testenv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// commandAny sends one command in RESP on a new connection and returns
// the reply: string for simple, bulk and integer replies, nil for a null,
// []any for arrays (nested as Redis sends them), error for error replies.
func commandAny(addr string, args ...string) (any, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return nil, err
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&req, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write(req.Bytes()); err != nil {
		return nil, err
	}
	return readReply(bufio.NewReader(conn), 0)
}

func readReply(rd *bufio.Reader, depth int) (any, error) {
	if depth > 8 {
		return nil, errors.New("reply nested too deep")
	}
	line, err := rd.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 {
		return nil, fmt.Errorf("short reply line %q", line)
	}
	kind, body := line[0], line[1:len(line)-2]
	switch kind {
	case '+', ':':
		return body, nil
	case '-':
		return nil, fmt.Errorf("redis error reply: %s", body)
	case '$':
		n, err := replyLength(body, "bulk")
		if n < 0 || err != nil {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := replyLength(body, "array")
		if n < 0 || err != nil {
			return nil, err
		}
		out := make([]any, 0, n)
		for i := 0; i < n; i++ {
			v, err := readReply(rd, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported reply %q", line)
}

// replyLength parses the length of a bulk string or array reply; -1 is a
// null reply.
func replyLength(body, kind string) (int, error) {
	n, err := strconv.Atoi(body)
	if err != nil {
		return -1, fmt.Errorf("bad %s length %q", kind, body)
	}
	return n, nil
}

// pairs turns a flat array reply [k1 v1 k2 v2 ...] into a map.
func pairs(v any) map[string]string {
	arr, _ := v.([]any)
	out := map[string]string{}
	for i := 0; i+1 < len(arr); i += 2 {
		k, _ := arr[i].(string)
		val, _ := arr[i+1].(string)
		out[k] = val
	}
	return out
}
