package cluster

import (
	"bytes"
	"net"
	"net/http"
	"sync"

	"github.com/siospec/siospec/reference/redisadapter"
)

// BrokenAdapter is a Go reference cluster broken on purpose, through its
// adapter (a redisadapter.Fault), a front wrapped around each node's HTTP
// handler, or a node that dies with Redis, and the requirements whose specs
// a cluster of three Go nodes so broken must fail, and only those (the
// cluster suite's proof, TestCluster). The suites' kill matrix counts these
// requirements as killed by a variant.
type BrokenAdapter struct {
	Name  string
	Fault redisadapter.Fault
	// Front, when set, wraps the HTTP handler of every node (a node broken
	// in front of its adapter, for the balancer specs). It is called once
	// per node and may keep per-node state.
	Front func(next http.Handler) http.Handler
	// CrashOnRedisLoss: instead of a Fault, the first node dies when the
	// cluster's Redis is stopped (as a node that crashes when its adapter
	// loses Redis); only the CLU-FAULT specs run on it.
	CrashOnRedisLoss bool
	// Fails lists the requirement IDs, sorted. The proof runs them and one
	// control spec that must pass (see TestCluster).
	Fails []string
}

// BrokenAdapters returns the broken clusters of the proof.
func BrokenAdapters() []BrokenAdapter {
	return []BrokenAdapter{
		{Name: "drop-broadcasts", Fault: redisadapter.FaultDropBroadcasts, Fails: []string{"CLU-ACK-01", "CLU-BC-01", "CLU-BC-02", "CLU-BC-03", "CLU-BC-04"}},
		{Name: "lose-rooms", Fault: redisadapter.FaultLoseRooms, Fails: []string{"CLU-BC-02", "CLU-JOIN-01", "CLU-JOIN-02"}},
		{Name: "crash-on-redis-loss", CrashOnRedisLoss: true, Fails: []string{"CLU-FAULT-01", "CLU-FAULT-02", "CLU-FAULT-03"}},
		{Name: "ignore-remote-disconnect", Fault: redisadapter.FaultIgnoreRemoteDisconnect, Fails: []string{"CLU-DISC-01"}},
		{Name: "fetch-selected-rooms-only", Fault: redisadapter.FaultFetchSelectedRoomsOnly, Fails: []string{"CLU-FETCH-01"}},
		{Name: "fetch-shortcut", Fault: redisadapter.FaultFetchShortcut, Fails: []string{"CLU-ROOM-01"}},
		{Name: "self-server-side-emit", Fault: redisadapter.FaultSelfServerSideEmit, Fails: []string{"CLU-SSE-01"}},
		{Name: "unknown-sid-ok", Front: UnknownSIDOK, Fails: []string{"CLU-LB-01"}},
		{Name: "polling-bound-to-connection", Front: PollingBoundToConnection, Fails: []string{"CLU-LB-02"}},
		{Name: "websocket-host-check", Front: WebSocketHostCheck, Fails: []string{"CLU-LB-03"}},
	}
}

// bufferedWriter holds a response until it is copied to the real writer.
type bufferedWriter struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func newBufferedWriter() *bufferedWriter {
	return &bufferedWriter{h: http.Header{}, code: http.StatusOK}
}

func (b *bufferedWriter) Header() http.Header         { return b.h }
func (b *bufferedWriter) WriteHeader(code int)        { b.code = code }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }

func (b *bufferedWriter) copyTo(w http.ResponseWriter) {
	for k, v := range b.h {
		w.Header()[k] = v
	}
	w.WriteHeader(b.code)
	_, _ = w.Write(b.body.Bytes())
}

func isPolling(r *http.Request) bool { return r.URL.Query().Get("transport") == "polling" }

// sessionUnknown writes the Engine.IO error of a sid the node does not
// hold.
func sessionUnknown(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte(`{"code":1,"message":"Session ID unknown"}`))
}

// UnknownSIDOK is a broken node front: a polling POST for a session the
// node never issued gets HTTP 200 "ok" instead of 400 "Session ID unknown"
// (the data is silently dropped), so a client behind a non-sticky balancer
// never learns that its session is elsewhere.
func UnknownSIDOK(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !isPolling(r) || r.URL.Query().Get("sid") == "" {
			next.ServeHTTP(w, r)
			return
		}
		bw := newBufferedWriter()
		next.ServeHTTP(bw, r)
		if bw.code == http.StatusBadRequest && bytes.Contains(bw.body.Bytes(), []byte(`"code":1`)) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("ok"))
			return
		}
		bw.copyTo(w)
	})
}

// PollingBoundToConnection is a broken node front: it binds a polling
// session to the remote address (IP and port) of the connection that
// opened it and answers requests of that session from any other connection
// with 400 "Session ID unknown". A client that keeps one connection works;
// behind a balancer, which opens an upstream connection per client
// connection, polling fails even when the balancer is sticky.
func PollingBoundToConnection(next http.Handler) http.Handler {
	var mu sync.Mutex
	owner := map[string]string{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isPolling(r) {
			next.ServeHTTP(w, r)
			return
		}
		if sid := r.URL.Query().Get("sid"); sid != "" {
			mu.Lock()
			addr, known := owner[sid]
			mu.Unlock()
			if known && addr != r.RemoteAddr {
				sessionUnknown(w)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		// A handshake: learn the sid from the open packet.
		bw := newBufferedWriter()
		next.ServeHTTP(bw, r)
		body := bw.body.Bytes()
		if i := bytes.Index(body, []byte(`"sid":"`)); i >= 0 {
			rest := body[i+len(`"sid":"`):]
			if j := bytes.IndexByte(rest, '"'); j > 0 {
				mu.Lock()
				if len(owner) >= 1<<16 {
					clear(owner) // bounded memory
				}
				owner[string(rest[:j])] = r.RemoteAddr
				mu.Unlock()
			}
		}
		bw.copyTo(w)
	})
}

// WebSocketHostCheck is a broken node front: it refuses (403) a WebSocket
// request whose Host header is not the node's own listening address, as a
// node whose allowed-hosts list names only itself. Clients that connect to
// the node directly work; behind a balancer, whose address is in the Host
// header, WebSocket does not.
func WebSocketHostCheck(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("transport") == "websocket" {
			la, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
			if la == nil || r.Host != la.String() {
				http.Error(w, "host not allowed", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
