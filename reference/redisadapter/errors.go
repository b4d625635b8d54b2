package redisadapter

import "errors"

var (
	// ErrEncode: a value cannot be encoded for the other nodes.
	ErrEncode = errors.New("redisadapter: cannot encode")
	// ErrDecode: a message from another node is malformed; it is ignored.
	ErrDecode = errors.New("redisadapter: malformed message")
	// ErrTimeout: not every node answered a request in time.
	ErrTimeout = errors.New("redisadapter: timeout reached while waiting for the other nodes")
	// ErrClosed: the adapter or the cluster is closed.
	ErrClosed = errors.New("redisadapter: closed")
	// ErrURL: the Redis URL is not usable.
	ErrURL = errors.New("redisadapter: bad Redis URL")
)
